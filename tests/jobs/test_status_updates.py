"""Status updates end to end: the real app on a real server with its jobs running (apscheduler), a status
change made through the Open311 core, and residents on the local channel and on SMS (through the twilio
library against the local fake of Twilio's REST API, counted there)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.open311.models import NewRequest
from bot.runtime import Runtime
from channels.fakes.twilio import FakeTwilio
from tests.conversation.harness import RunningBot, running_bot
from tests.jobs.processes import wait_for
from tests.support.answers import required_answers
from tests.support.live_server import live_server

SMS_RESIDENT = "+14155550111"
SMS_QUITTER = "+14155550122"
# Long enough for several rounds of every job at the intervals below, so a second send would show.
SETTLE_SECONDS = 2.0
# Residents on the local channel, by the language they write in.
LANGUAGES = {"ann": "en", "lucia": "es", "mei": "zh"}


def overrides(twilio_url: str, fake: FakeTwilio) -> dict[str, Any]:
    return {
        "jobs": {
            "enabled": True,
            "outbox_seconds": 0.2,
            "notify_seconds": 0.2,
            "batch_accept_seconds": 0.5,
            "leader_check_seconds": 0.5,
        },
        "twilio": {
            "enabled": True,
            "account_sid": fake.account_sid,
            "auth_token": fake.auth_token,
            "from_number": "+14155550100",
            "api_base_url": twilio_url,
        },
    }


def new_pothole(runtime: Runtime) -> str:
    submission = runtime.open311.create_request(
        NewRequest(
            service_code="pothole",
            lat=37.7793,
            long=-122.4193,
            description="pothole in the bike lane",
            attributes=required_answers(runtime, "pothole"),
        ),
        actor="test",
    )
    assert submission.service_request_id is not None
    return submission.service_request_id


def sms_say(bot: RunningBot, fake: FakeTwilio, number: str, body: str) -> str:
    response = fake.inbound(f"{bot.url}/webhooks/twilio", from_=number, body=body)
    assert response.status_code == 200, response.text
    return response.text


def updates_for(bot: RunningBot, resident: str) -> list[str]:
    return [m["text"] for m in bot.resident(resident).received() if m["text"].startswith("Update on report")]


def sms_updates(fake: FakeTwilio, number: str) -> list[str]:
    return [sms.body for sms in fake.sent_to(number) if sms.body.startswith("Update on report")]


def test_a_status_change_reaches_each_follower_once_on_their_channel(
    settings: Settings, twilio: FakeTwilio
) -> None:
    fake, twilio_url = twilio, twilio.base_url
    with running_bot(settings, **overrides(twilio_url, fake)) as bot:
        request_id = new_pothole(bot.runtime)

        assert bot.resident("ana").ask(f"follow {request_id}") == (
            f"You will get updates on report #{request_id} (Pothole). Reply UNFOLLOW {request_id} to stop."
        )
        assert bot.resident("ana").ask(f"FOLLOW #{request_id}").startswith("You already get updates")
        assert f"updates on report #{request_id}" in sms_say(bot, fake, SMS_RESIDENT, f"Follow {request_id}")
        sms_say(bot, fake, SMS_QUITTER, f"FOLLOW {request_id}")
        sms_say(bot, fake, SMS_QUITTER, "STOP")
        assert bot.resident("bo").ask("FOLLOW 999999") == "I could not find a report 999999."
        # In Chinese, the service's name too comes from the catalog's translation.
        mei = bot.resident("mei", language="zh")
        assert mei.ask(f"关注 {request_id}").startswith(f"您将收到报告 #{request_id}（坑洞）的更新")

        bot.runtime.open311.update_status(request_id, "closed", "Filled with asphalt.", actor="crew")

        expected = (
            f"Update on report #{request_id} (Pothole): it is now closed. Filled with asphalt. "
            f"Reply UNFOLLOW {request_id} to stop these updates."
        )
        in_chinese = f"报告 #{request_id}（坑洞）有更新：当前状态为已关闭。Filled with asphalt."
        wait_for(
            lambda: (
                updates_for(bot, "ana")
                and sms_updates(fake, SMS_RESIDENT)
                and any(m["text"].startswith(in_chinese) for m in mei.received())
            ),
            timeout=60.0,
            what="the three updates",
        )
        time.sleep(SETTLE_SECONDS)
        assert updates_for(bot, "ana") == [expected]
        assert sms_updates(fake, SMS_RESIDENT) == [expected]
        assert fake.sent_to(SMS_QUITTER) == []  # after STOP, nothing
        assert updates_for(bot, "bo") == []  # never followed

        # UNFOLLOW: the next change reaches the SMS resident only.
        assert bot.resident("ana").ask(f"unfollow {request_id}") == (
            f"You will no longer get updates on report #{request_id}."
        )
        bot.runtime.open311.update_status(request_id, "open", "Reopened: the patch sank.", actor="crew")
        wait_for(
            lambda: len(sms_updates(fake, SMS_RESIDENT)) == 2, timeout=60.0, what="the second SMS update"
        )
        time.sleep(SETTLE_SECONDS)
        assert len(sms_updates(fake, SMS_RESIDENT)) == 2
        assert "it is now open. Reopened: the patch sank." in sms_updates(fake, SMS_RESIDENT)[1]
        assert updates_for(bot, "ana") == [expected]


def test_a_change_made_while_the_bot_is_down_is_sent_once_after_the_restart(
    settings: Settings, twilio: FakeTwilio
) -> None:
    fake, twilio_url = twilio, twilio.base_url
    options = overrides(twilio_url, fake)
    with running_bot(settings, **options) as bot:
        request_id = new_pothole(bot.runtime)
        bot.resident("ana").ask(f"FOLLOW {request_id}")
        sms_say(bot, fake, SMS_RESIDENT, f"FOLLOW {request_id}")

    # Between the change and the send, nothing of the bot runs: the change waits in the event log.
    offline = Runtime.build(settings, apply_migrations=False)
    try:
        offline.open311.update_status(request_id, "closed", "Done while you slept.", actor="crew")
    finally:
        offline.close()
    assert sms_updates(fake, SMS_RESIDENT) == []

    with running_bot(settings, **options) as bot:
        wait_for(
            lambda: updates_for(bot, "ana") and sms_updates(fake, SMS_RESIDENT),
            timeout=60.0,
            what="updates after restart",
        )
        time.sleep(SETTLE_SECONDS)
        assert len(updates_for(bot, "ana")) == 1
        assert len(sms_updates(fake, SMS_RESIDENT)) == 1

    # And a second restart sends nothing again.
    with running_bot(settings, **options) as bot:
        time.sleep(SETTLE_SECONDS)
        assert len(updates_for(bot, "ana")) == 1
    assert len(sms_updates(fake, SMS_RESIDENT)) == 1


def test_x_mentions_are_polled_by_the_job_and_updates_reach_the_resident_in_the_thread(
    settings: Settings, twilio: FakeTwilio
) -> None:
    from channels.fakes.twitter import FakeX

    x = FakeX()
    with live_server(x.app) as x_url:
        x.server_url = x_url
        twitter = {
            "enabled": True,
            "user_id": x.user_id,
            "bearer_token": "app-bearer-token",
            "consumer_key": "consumer-key",
            "consumer_secret": "consumer-secret",
            "access_token": "access-token",
            "access_token_secret": "access-token-secret",
            "api_base_url": x_url,
            "max_rate_limit_wait_seconds": 5.0,
        }
        jobs = {"enabled": True, "twitter_poll_seconds": 0.3, "notify_seconds": 0.2, "outbox_seconds": 0.2}
        with running_bot(settings, twitter=twitter, jobs=jobs) as bot:
            request_id = new_pothole(bot.runtime)
            tweet = x.mention("4242", f"FOLLOW {request_id}")
            wait_for(lambda: bool(x.replies_to(tweet)), timeout=60.0, what="the reply to the mention")
            assert f"updates on report #{request_id}" in x.replies_to(tweet)[0].text

            bot.runtime.open311.update_status(request_id, "closed", "Filled.", actor="crew")

            def updates() -> list[str]:
                return [
                    post.text
                    for post in x.posted
                    if f"report #{request_id}" in post.text and "now" in post.text
                ]

            wait_for(lambda: bool(updates()), timeout=60.0, what="the status update on X")
            time.sleep(SETTLE_SECONDS)
            assert len(updates()) == 1
            # The mention was read once and answered once, and the update came under it: a FOLLOW tweeted
            # in public is updated in public, as a report tweeted is.
            assert [post.text for post in x.replies_to(tweet)][1:] == updates()
            assert x.dms_to("4242") == []


def test_the_resident_who_filed_a_report_hears_about_it_without_following(
    settings: Settings, twilio: FakeTwilio
) -> None:
    fake, twilio_url = twilio, twilio.base_url
    with running_bot(settings, **overrides(twilio_url, fake)) as bot:
        reply = sms_say(bot, fake, SMS_RESIDENT, "There is a huge pothole at Market St and 5th St")
        assert "Your report is filed as #" in reply, reply
        request_id = reply.split("filed as #")[1].split(" ")[0]

        bot.runtime.open311.update_status(request_id, "closed", "Patched this morning.", actor="crew")
        wait_for(lambda: bool(sms_updates(fake, SMS_RESIDENT)), timeout=60.0, what="the filer's update")
        time.sleep(SETTLE_SECONDS)
        assert len(sms_updates(fake, SMS_RESIDENT)) == 1
        assert sms_updates(fake, SMS_RESIDENT)[0].startswith(f"Update on report #{request_id} (Pothole)")


def test_status_updates_run_when_several_jurisdictions_are_served(settings: Settings) -> None:
    jobs = {"enabled": True, "notify_seconds": 0.2, "outbox_seconds": 0.2, "leader_check_seconds": 0.5}
    open311 = {"jurisdictions": ["toronto.ca", "york.ca"]}
    with running_bot(settings, jobs=jobs, open311=open311) as bot:
        submission = bot.runtime.open311.create_request(
            NewRequest(
                service_code="pothole",
                jurisdiction_id="york.ca",
                address_string="1 Yonge St",
                attributes={"size": "large"},
            ),
            actor="test",
        )
        request_id = submission.service_request_id
        assert request_id is not None
        assert (
            bot.resident("ana")
            .ask(f"follow {request_id}")
            .startswith(f"You will get updates on report #{request_id} (Pothole).")
        )

        bot.runtime.open311.update_status(request_id, "closed", "Filled.", actor="crew")

        wait_for(lambda: bool(updates_for(bot, "ana")), timeout=60.0, what="the update")
        time.sleep(SETTLE_SECONDS)
        assert updates_for(bot, "ana") == [
            f"Update on report #{request_id} (Pothole): it is now closed. Filled. "
            f"Reply UNFOLLOW {request_id} to stop these updates."
        ]


def test_an_update_reads_as_written_in_each_language_and_says_whether_the_status_changed(
    settings: Settings,
) -> None:
    jobs = {"enabled": True, "notify_seconds": 0.2, "outbox_seconds": 0.2, "leader_check_seconds": 0.5}
    with running_bot(settings, jobs=jobs) as bot:
        request_id = new_pothole(bot.runtime)
        residents = {name: bot.resident(name, language=language) for name, language in LANGUAGES.items()}
        for resident in residents.values():
            assert f"#{request_id}" in resident.ask(f"FOLLOW {request_id}")
        core = bot.runtime.open311
        core.update_status(request_id, "closed", "Lamp replaced.", actor="crew")
        core.update_status(request_id, "open", "Flickering again.", actor="crew")
        # Only the expected date: before, "ahora está abierto", as if it had just been opened.
        expected = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
        core.update_status(request_id, "open", "Flickering again.", expected_datetime=expected, actor="crew")

        def updates() -> dict[str, list[str]]:
            return {name: [m["text"] for m in r.received()][1:] for name, r in residents.items()}

        wait_for(lambda: all(len(sent) == 3 for sent in updates().values()), timeout=60.0, what="9 updates")
        time.sleep(SETTLE_SECONDS)
        sent = updates()
        en = f"Update on report #{request_id} (Pothole): "
        en_stop = f"Reply UNFOLLOW {request_id} to stop these updates."
        assert sent["ann"] == [
            f"{en}it is now closed. Lamp replaced. {en_stop}",
            f"{en}it is now open. Flickering again. {en_stop}",
            f"{en}it is still open. Flickering again. Expected by 2026-12-02. {en_stop}",
        ]
        es = f"Novedad del reporte #{request_id} (Bache): "
        es_stop = f"Responda DEJAR DE SEGUIR {request_id} para no recibir más novedades."
        assert sent["lucia"] == [
            f"{es}ahora está cerrado. Lamp replaced. {es_stop}",
            f"{es}ahora está abierto. Flickering again. {es_stop}",
            f"{es}sigue abierto. Flickering again. Fecha prevista: 2026-12-02. {es_stop}",
        ]
        # Before: "已关闭。Lamp replaced.回复 UNFOLLOW", the English note run into the Chinese after it.
        zh = f"报告 #{request_id}（坑洞）有更新："
        zh_stop = f"回复 取消关注 {request_id} 停止接收更新。"
        assert sent["mei"] == [
            f"{zh}当前状态为已关闭。Lamp replaced. {zh_stop}",
            f"{zh}当前状态为处理中。Flickering again. {zh_stop}",
            f"{zh}状态仍为处理中。Flickering again. 预计完成日期：2026-12-02。{zh_stop}",
        ]
        # STATUS ends with the note: no space is left after it.
        assert (
            residents["mei"].ask(f"STATUS {request_id}")
            == f"报告 #{request_id}（坑洞）的状态：处理中。Flickering again."
        )
