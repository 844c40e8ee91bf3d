"""SMS/MMS end to end: the real app on a real server, Twilio played by ``channels.fakes.twilio`` over real
HTTP (signed webhooks in, the real twilio client out)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from bot import outbox
from bot.app import create_app
from bot.clock import utcnow
from bot.config import Settings
from bot.state import Resident
from channels.fakes.twilio import OPTED_OUT_NUMBER, FakeTwilio
from channels.messages import OutboundMessage
from tests.channels.conftest import BOT_NUMBER, RESIDENT, sms_settings, text, twiml_messages, webhook
from tests.conversation.harness import RunningBot, running_bot, with_public_url
from tests.conversation.test_dialogue import CLEAR_REPORT
from tests.support.live_server import bound_socket, live_server, socket_url

# A tiny valid JPEG header is enough for the media store's type sniffing.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def test_a_signed_webhook_files_the_request_and_replies_in_twiml(fake: FakeTwilio, bot: RunningBot) -> None:
    [reply] = text(fake, bot, CLEAR_REPORT, message_sid="SM" + "1" * 32)
    match = re.search(r"filed as #(\d+) \(Pothole\)", reply)
    assert match, reply
    stored = bot.runtime.open311.get_request(match.group(1))
    assert stored.description == CLEAR_REPORT
    assert stored.channel == "sms"
    assert stored.phone == RESIDENT
    # Twilio redelivers the same webhook (it timed out on its side): the same TwiML, nothing else.
    assert text(fake, bot, CLEAR_REPORT, message_sid="SM" + "1" * 32) == [reply]
    assert bot.request_count() == 1
    assert [row.status for row in bot.outbox()] == ["delivered"]  # answered inline: never sent again
    assert bot.deliver().delivered == 0
    assert fake.sent == []


def test_the_fake_plays_residents_over_http_for_demos(fake: FakeTwilio, bot: RunningBot) -> None:
    # ``python -m channels.fakes twilio``: a resident texts with curl and reads the bot's answers.
    fake.webhook_url = webhook(bot)
    with httpx.Client(base_url=fake.base_url, timeout=30) as demo:
        answer = demo.post("/fake/messages", json={"from": RESIDENT, "body": CLEAR_REPORT})
        assert answer.status_code == 200, answer.text
        [reply] = answer.json()["replies"]
        filed = re.search(r"filed as #(\d+)", reply)
        assert filed, reply
        bot.runtime.open311.update_status(filed.group(1), "closed", "Patched.", actor="crew")
        bot.notify()
        bot.deliver()
        [update] = demo.get(f"/fake/numbers/{RESIDENT}").json()["messages"]
        assert "Patched." in update["body"]
        assert demo.post("/fake/messages", json={"body": "no sender"}).status_code == 400


def test_control_characters_in_a_text_are_dropped_and_the_report_filed(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    # Before: the core refused "description contains a NUL character" and the report went to a person.
    [reply] = text(fake, bot, "There is a huge pothole\x00 in the road at 5th St and Market St\x07")
    match = re.search(r"filed as #(\d+) \(Pothole\)", reply)
    assert match, reply
    assert bot.runtime.open311.get_request(match.group(1)).description == CLEAR_REPORT
    assert bot.review_items() == []


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "wrong-url"])
def test_unsigned_or_wrongly_signed_requests_get_403_and_change_nothing(
    fake: FakeTwilio, bot: RunningBot, signature: str
) -> None:
    if signature == "wrong-url":
        response = fake.inbound(
            webhook(bot), from_=RESIDENT, body=CLEAR_REPORT, signed_url=bot.url + "/elsewhere"
        )
    elif signature:
        response = fake.inbound(webhook(bot), from_=RESIDENT, body=CLEAR_REPORT, signature=signature)
    else:
        response = httpx.post(
            webhook(bot), data={"From": RESIDENT, "Body": CLEAR_REPORT, "MessageSid": "SMx"}
        )
    assert response.status_code == 403
    # A parameter changed after signing is refused too (the signature covers all of them).
    signed = {"From": RESIDENT, "Body": "hello", "MessageSid": "SMy", "AccountSid": fake.account_sid}
    header = {"X-Twilio-Signature": fake.signature(webhook(bot), signed)}
    tampered = httpx.post(webhook(bot), data={**signed, "Body": CLEAR_REPORT}, headers=header)
    assert tampered.status_code == 403
    assert bot.request_count() == 0
    assert bot.inbox_count() == 0
    assert bot.outbox() == []


def test_behind_a_tls_proxy_the_signature_is_checked_against_the_public_url(
    settings: Settings, fake: FakeTwilio
) -> None:
    # Twilio calls https://311.example.org; the proxy forwards to the app's local http:// address.
    public = "https://311.example.org"
    sock = bound_socket()
    local = socket_url(sock)
    configured = with_public_url(settings, public, **sms_settings(fake))
    with live_server(create_app(configured), sock=sock):
        as_proxy = fake.inbound(
            local + "/webhooks/twilio", from_=RESIDENT, body="HELP", signed_url=public + "/webhooks/twilio"
        )
        assert "STATUS" in twiml_messages(as_proxy)[0]
        as_seen = fake.inbound(local + "/webhooks/twilio", from_=RESIDENT, body="HELP")
        assert as_seen.status_code == 403


def test_mms_media_is_stored_by_us_and_served_without_provider_credentials(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    media_url = fake.add_media(JPEG, "image/jpeg")
    assert httpx.get(media_url).status_code == 401  # Twilio's copy needs the account's credentials
    [question] = text(fake, bot, "", media=[(media_url, "image/jpeg")])
    assert "Thanks for the photo" in question
    [reply] = text(fake, bot, CLEAR_REPORT)
    request_id = re.search(r"#(\d+)", reply).group(1)  # type: ignore[union-attr]
    stored = bot.runtime.open311.get_request(request_id)
    assert stored.media_url is not None
    assert stored.media_url.startswith(bot.url + "/")
    assert fake.account_sid not in stored.media_url
    assert fake.auth_token not in stored.media_url
    served = httpx.get(stored.media_url)
    assert served.status_code == 200
    assert served.content == JPEG


def test_an_mms_with_several_photos_keeps_them_all(fake: FakeTwilio, bot: RunningBot) -> None:
    # GeoReport v2 has one media_url: the first photo is it, the others are listed in the description.
    # Before, all but the first were dropped.
    photos = [fake.add_media(JPEG + bytes([n]), "image/jpeg") for n in range(3)]
    [reply] = text(fake, bot, CLEAR_REPORT, media=[(url, "image/jpeg") for url in photos])
    request_id = re.search(r"#(\d+)", reply).group(1)  # type: ignore[union-attr]
    stored = bot.runtime.open311.get_request(request_id)
    assert stored.media_url is not None
    assert stored.description is not None
    words, _, listed = stored.description.partition("\n\nMore photos: ")
    assert words == CLEAR_REPORT
    urls = [stored.media_url, *listed.split(" ")]
    assert len(set(urls)) == 3
    assert [httpx.get(url).content for url in urls] == [JPEG + bytes([n]) for n in range(3)]


def test_a_shared_location_becomes_the_requests_point(fake: FakeTwilio, bot: RunningBot) -> None:
    [question] = text(fake, bot, "", extra={"Latitude": "37.7793", "Longitude": "-122.4193"})
    assert "I have your location" in question
    [reply] = text(fake, bot, "There is a big pothole in the road")
    request_id = re.search(r"#(\d+)", reply).group(1)  # type: ignore[union-attr]
    stored = bot.runtime.open311.get_request(request_id)
    assert (stored.lat, stored.long) == pytest.approx((37.7793, -122.4193))


def test_notifications_go_through_the_twilio_client_and_delivery_status_keeps_the_furthest(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    with bot.runtime.sessions() as session:
        outbox.enqueue(
            session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="Your pothole is fixed.")
        )
        session.commit()
    report = bot.deliver()
    assert report.delivered == 1
    [sent] = fake.sent
    assert (sent.to, sent.from_, sent.body) == (RESIDENT, BOT_NUMBER, "Your pothole is fixed.")
    assert sent.status_callback == bot.url + "/webhooks/twilio/status"
    [row] = bot.outbox()
    assert row.provider_message_id == sent.sid
    assert fake.status_callback(sent.sid, "delivered").status_code == 204
    assert fake.status_callback(sent.sid, "sent").status_code == 204  # late: must not win
    assert fake.status_callback(sent.sid, "queued", signature="forged").status_code == 403
    [row] = bot.outbox()
    assert row.delivery_status == "delivered"


def test_error_21610_records_the_opt_out_and_is_never_retried(fake: FakeTwilio, bot: RunningBot) -> None:
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=OPTED_OUT_NUMBER, text="Update 1"))
        session.commit()
    report = bot.deliver()
    assert (report.delivered, report.failed) == (0, 1)
    with bot.runtime.sessions() as session:
        resident = session.get(Resident, ("sms", OPTED_OUT_NUMBER))
        assert resident is not None
        assert resident.opted_out
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=OPTED_OUT_NUMBER, text="Update 2"))
        session.commit()
    assert [row.status for row in bot.outbox()] == ["failed", "suppressed"]
    assert bot.deliver().delivered == 0
    assert fake.sent == []


def test_failures_are_retried_with_backoff_and_permanent_errors_are_not(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="Retry me"))
        session.commit()
    fake.fail_next(503, 20503, "Service Unavailable")
    assert bot.deliver().retried == 1
    [row] = bot.outbox()
    assert row.status == "pending"
    assert row.attempts == 1
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 3 < wait <= 5.5  # the first backoff step (outbox_backoff_seconds = 5)
    assert bot.deliver().delivered == 0  # not due yet
    channels = bot.messaging.channels
    later = utcnow() + timedelta(seconds=6)
    fake.fail_next(500)
    asyncio.run(outbox.deliver_due(bot.runtime.sessions, channels, now=later))
    [row] = bot.outbox()
    assert row.attempts == 2
    assert (row.next_attempt_at - later).total_seconds() > 9  # doubled
    report = asyncio.run(
        outbox.deliver_due(bot.runtime.sessions, channels, now=later + timedelta(seconds=11))
    )
    assert report.delivered == 1
    assert [sms.body for sms in fake.sent] == ["Retry me"]

    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id="+1555", text="Bad number"))
        session.commit()
    fake.fail_next(400, 21211, "Invalid 'To' Phone Number")
    assert bot.deliver().failed == 1
    assert bot.outbox()[-1].status == "failed"


def test_several_senders_draining_at_once_send_each_message_once(fake: FakeTwilio, bot: RunningBot) -> None:
    with bot.runtime.sessions() as session:
        for number in range(40):
            outbox.enqueue(
                session, OutboundMessage(channel="sms", resident_id=RESIDENT, text=f"Update {number}")
            )
        session.commit()
    channels = bot.messaging.channels

    def drain() -> int:
        delivered = 0
        for _ in range(100):  # bounded: each round claims at most 5
            report = asyncio.run(outbox.deliver_due(bot.runtime.sessions, channels, limit=5))
            delivered += report.delivered
            if not any(row.status == "pending" for row in bot.outbox()):
                break
        return delivered

    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = list(pool.map(lambda _: drain(), range(3)))
    assert sum(counts) == 40
    assert sorted(sms.body for sms in fake.sent) == sorted(f"Update {number}" for number in range(40))
    assert {row.status for row in bot.outbox()} == {"delivered"}


def test_stop_means_silence(fake: FakeTwilio, bot: RunningBot) -> None:
    [reply] = text(fake, bot, CLEAR_REPORT)
    assert "filed as" in reply
    assert text(fake, bot, "STOP") == []
    assert text(fake, bot, "There is another pothole at 4th St and Mission St") == []
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="Status changed"))
        session.commit()
    assert bot.deliver().delivered == 0
    assert fake.sent == []
    assert bot.request_count() == 1
    assert "Welcome back" in text(fake, bot, "START")[0]
    # YES is one of the carrier's opt-in words too: after it Twilio delivers again, and so must the bot
    # (it stayed silent, the resident opted in at the carrier and out here).
    assert text(fake, bot, "STOP") == []
    assert "Welcome back" in text(fake, bot, "Yes")[0]
    assert "Report #" in text(fake, bot, "STATUS")[0]


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("ALTO", "No recibirá más mensajes nuestros."),
        ("please stop texting me", "You will get no more messages from us."),
        ("STOP STOP", "You will get no more messages from us."),
    ],
)
def test_stop_words_twilio_does_not_answer_are_answered_by_the_bot(
    fake: FakeTwilio, bot: RunningBot, body: str, answer: str
) -> None:
    # Twilio answers its own keywords alone ("STOP"), not Spanish ones nor a sentence: before, the bot
    # left those to Twilio as well, and the resident heard nothing.
    [reply] = text(fake, bot, body)
    assert reply.startswith(answer)
    assert text(fake, bot, "There is another pothole at 4th St and Mission St") == []
    assert text(fake, bot, "Stop.") == []  # still opted out; Twilio answers its keyword


def test_long_replies_are_split_at_sentence_boundaries(settings: Settings, fake: FakeTwilio) -> None:
    with running_bot(settings, **sms_settings(fake, max_message_chars=160)) as bot:
        parts = text(fake, bot, "HELP")
    assert len(parts) >= 2
    assert all(len(part) <= 160 for part in parts)
    assert all(part.rstrip().endswith((".", ":")) for part in parts[:-1])
    assert " ".join(parts).startswith("311: text a problem and where it is")


def test_an_sms_conversation_spans_a_restart(settings: Settings, fake: FakeTwilio) -> None:
    with running_bot(settings, **sms_settings(fake)) as bot:
        assert "Where is it?" in text(fake, bot, "There is a big pothole in the road")[0]
    with running_bot(settings, **sms_settings(fake)) as bot:
        [reply] = text(fake, bot, "5th St and Market St")
        assert "filed as" in reply
        assert bot.request_count() == 1


def test_a_status_update_a_crash_left_mid_send_goes_out_when_the_bot_restarts(
    settings: Settings, fake: FakeTwilio
) -> None:
    with running_bot(settings, **sms_settings(fake)) as bot, bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="Pothole filled."))
        session.commit()
        # A sender claims it, and the process dies before sending it.
        [claimed] = outbox.claim_due(session, now=utcnow(), limit=10, lease_seconds=120)
    with running_bot(settings, **sms_settings(fake)) as bot:
        report = bot.deliver()
    if settings.database_url.startswith("sqlite"):
        # One process per SQLite database: the lease can only be the dead one's. Before, the update waited
        # out the two-minute lease.
        assert report.delivered == 1
        assert [sms.body for sms in fake.sent_to(RESIDENT)] == ["Pothole filled."]
    else:
        # Several workers share PostgreSQL: the lease may be a live sender's, and is left to run out.
        assert report.delivered == 0
    assert claimed.text == "Pothole filled."


def test_an_enabled_sms_channel_without_credentials_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[twilio]\nenabled = true\naccount_sid = "AC1"\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_BOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert "twilio.auth_token" in result.stderr
    assert "Traceback" not in result.stderr


def test_choices_arrive_as_numbered_lines_and_are_answered_by_number(
    settings: Settings, fake: FakeTwilio
) -> None:
    unsure = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}
    with running_bot(settings, **sms_settings(fake), **unsure) as bot:
        [question] = text(fake, bot, CLEAR_REPORT)
        lines = question.splitlines()
        assert lines[0] == "What kind of problem is it? Reply with the number or the words."
        assert lines[1] == ""
        options = lines[2:]
        assert [line.split(". ", 1)[0] for line in options] == [str(n) for n in range(1, len(options) + 1)]
        number = next(line.split(".")[0] for line in options if line.endswith("Pothole"))
        [reply] = text(fake, bot, number)
        assert "filed as" in reply


def test_an_mms_whose_photo_cannot_be_fetched_yet_fails_and_is_filed_with_it_when_delivered_again(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    # Twilio's media host refuses connections for a moment (the bot calls that retryable): filing the
    # report now would lose the photo for good. Before, the webhook answered 200 and filed it without.
    sock = bound_socket()  # bound, not listening: connection refused
    media_host = FakeTwilio(fake.account_sid, fake.auth_token, base_url=socket_url(sock))
    media_url = media_host.add_media(JPEG)
    sid = "MM" + "2" * 32
    first = fake.inbound(
        webhook(bot), from_=RESIDENT, body=CLEAR_REPORT, media=[(media_url, "image/jpeg")], message_sid=sid
    )
    assert first.status_code == 500  # Twilio delivers it again (its fallback URL, its retries)
    assert (bot.request_count(), bot.inbox_count(), bot.review_items()) == (0, 0, [])
    with live_server(media_host.app, sock=sock):
        again = fake.inbound(
            webhook(bot),
            from_=RESIDENT,
            body=CLEAR_REPORT,
            media=[(media_url, "image/jpeg")],
            message_sid=sid,
        )
    [reply] = twiml_messages(again)
    request_id = re.search(r"filed as #(\d+)", reply).group(1)  # type: ignore[union-attr]
    stored = bot.runtime.open311.get_request(request_id)
    assert stored.media_url is not None
    assert httpx.get(stored.media_url).content == JPEG
    assert bot.request_count() == 1


def test_an_mms_whose_photo_stays_unreachable_goes_to_a_person_with_the_photo_noted(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    sock = bound_socket()  # never listening
    media_url = FakeTwilio(fake.account_sid, fake.auth_token, base_url=socket_url(sock)).add_media(JPEG)
    sid = "MM" + "3" * 32

    def deliver() -> httpx.Response:
        return fake.inbound(
            webhook(bot),
            from_=RESIDENT,
            body=CLEAR_REPORT,
            media=[(media_url, "image/jpeg")],
            message_sid=sid,
        )

    with caplog.at_level("ERROR", logger="channels.sms"):
        assert deliver().status_code == 500
        given_up = deliver()  # the second delivery (Twilio's fallback or retry) is the last the bot waits for
    assert twiml_messages(given_up) == []
    (item,) = bot.review_items()
    assert (item.channel, item.resident_id, item.text) == ("sms", RESIDENT, CLEAR_REPORT)
    assert item.reason == f"the bot could not handle this message (1 photo not kept: {media_url})"
    assert bot.request_count() == 0
    assert bot.deliver().delivered == 1
    [told] = fake.sent_to(RESIDENT)
    assert "A person will look at your report" in told.body
    assert f"sms message {sid} given up after 2 tries" in caplog.text
    # A later delivery of it is recognised: nothing new is kept or filed.
    assert deliver().status_code == 200
    assert (len(bot.review_items()), bot.request_count()) == (1, 0)
    sock.close()


def test_a_long_message_that_fails_partway_is_resumed_after_the_parts_sent(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    # A ~2,000-character status note is two SMS. Twilio refuses the second (503): before, the outbox's
    # retry sent the whole message again and the resident got part 1 twice.
    note = " ".join(f"The crew checked section {n} of the block and it is fine." for n in range(35))
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text=note))
        session.commit()
    fake.fail_next(503, 20503, "Service Unavailable", after=1)
    assert bot.deliver().retried == 1
    [row] = bot.outbox()
    assert (row.status, row.parts_sent, row.last_part_id) == ("pending", 1, fake.sent[0].sid)
    later = utcnow() + timedelta(seconds=10)
    report = asyncio.run(outbox.deliver_due(bot.runtime.sessions, bot.messaging.channels, now=later))
    assert report.delivered == 1
    bodies = [sms.body for sms in fake.sent_to(RESIDENT)]
    assert len(bodies) == 2
    assert " ".join(bodies) == note
    [row] = bot.outbox()
    assert (row.status, row.parts_sent, row.provider_message_id) == ("delivered", 2, fake.sent[1].sid)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[1,2]"),
        ("application/x-www-form-urlencoded", b"NumMedia=2&MediaUrl0=x"),
        ("application/x-www-form-urlencoded", b"From=%2B1&MessageSid=SM1&NumMedia=-1&Latitude=nan"),
        ("application/x-www-form-urlencoded", b"From=%2B1&MessageSid=SM2&NumMedia=99999999999999999999"),
    ],
)
def test_a_signed_webhook_that_is_not_a_message_is_refused_or_read_safely(
    fake: FakeTwilio, bot: RunningBot, content_type: str, body: bytes
) -> None:
    # Before, a signed NumMedia of 10**20 had the bot count to it, holding the request (and a worker)
    # for ever; a JSON body is no Twilio form: 400.
    params = dict(parse_qsl(body.decode())) if "form" in content_type else {}
    headers = {"content-type": content_type, "X-Twilio-Signature": fake.signature(webhook(bot), params)}
    response = httpx.post(webhook(bot), content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    if "MessageSid" not in params:
        assert response.status_code == 400


def test_typography_that_alone_would_make_a_reply_ucs2_is_sent_as_gsm7(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    """A curly apostrophe or an em dash pasted by an operator made a one-segment update three (UCS-2:
    70 characters a segment, not 160); Spanish accents or Chinese keep their text as it is."""
    note = "Update on report #7 (Pothole): it is now closed. We’ll send a crew on Tuesday — thanks… “Fixed”."
    spanish = "El reporte #7 (Bache) está cerrado — gracias."
    with bot.runtime.sessions() as session:
        for body in (note, spanish):
            outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text=body))
        session.commit()
    assert bot.deliver().delivered == 2
    sent = [message.body for message in fake.sent]
    assert sent[0] == (
        'Update on report #7 (Pothole): it is now closed. We\'ll send a crew on Tuesday - thanks... "Fixed".'
    )
    assert sent[0].isascii()
    assert sent[1] == spanish  # UCS-2 whatever is done: its typography stays
    # Inline replies too: the bot's own "…" cutting the excerpt of a report waiting for a person.
    text(
        fake,
        bot,
        "Something strange is going on with the thing next to my neighbour’s fence at 5th St and Market St",
    )
    [reply] = text(fake, bot, "status")
    assert "..." in reply
    assert reply.isascii(), reply


def test_a_refused_signature_logs_the_url_it_was_checked_against(
    settings: Settings, fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong ``server.public_url`` is the likeliest production mistake: a tester saw only ``POST
    /webhooks/twilio 403`` in the log. One WARNING names the URL the signature was checked against, and
    neither the signature, the auth token nor the resident's number or words; a flood of them is one line."""
    public = "https://311.example.org"
    sock = bound_socket()
    local = socket_url(sock)
    configured = with_public_url(settings, public, **sms_settings(fake))
    with caplog.at_level(logging.WARNING, logger="channels"), live_server(create_app(configured), sock=sock):
        for _ in range(3):  # Twilio signed the URL it called, the app's own address, not public_url
            assert (
                fake.inbound(local + "/webhooks/twilio", from_=RESIDENT, body=CLEAR_REPORT).status_code == 403
            )
        unsigned = httpx.post(local + "/webhooks/twilio/status", data={"MessageSid": "SM1", "From": RESIDENT})
        assert unsigned.status_code == 403
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelname for r in refusals] == ["WARNING", "WARNING"], caplog.text
    inbound, status = (r.getMessage() for r in refusals)
    assert "wrong X-Twilio-Signature" in inbound
    assert f"checked against {public}/webhooks/twilio (server.public_url + twilio.webhook_path)" in inbound
    assert f"{public}/webhooks/twilio/status (server.public_url + twilio.status_path)" in status
    assert "no X-Twilio-Signature" in status
    signature = fake.signature(local + "/webhooks/twilio", {"From": RESIDENT})
    for private in (fake.auth_token, RESIDENT, RESIDENT.removeprefix("+"), CLEAR_REPORT, signature[:12]):
        assert private not in caplog.text
