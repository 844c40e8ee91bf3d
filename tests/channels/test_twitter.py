"""X through tweepy against the local fake of the X API v2, over real HTTP, with the since_id cursor in a
real database.

The first tests hold the channel to its contract with X (what tweepy reads and posts, the webhook's CRC
and signature); the end-to-end tests at the bottom run the whole bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import outbox
from bot.clock import utcnow
from bot.config import Settings
from bot.cursors import DatabaseCursorStore
from bot.db import make_engine, make_session_factory, migrate
from channels.base import DeliveryError
from channels.fakes import __main__ as fakes_main
from channels.fakes.twitter import FakeX
from channels.messages import Choice, InboundMessage, OutboundMessage
from channels.twitter import PollFailed, TwitterChannel
from tests.channels.serving import Recorder, serve_channel
from tests.conftest import make_settings
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot
from tests.support.live_server import live_server
from tests.support.photos import assert_published_without_metadata, photo_with_metadata

PAYLOADS = Path(__file__).parent.parent / "payloads"
CONSUMER_SECRET = "consumer-secret-for-tests"
RESIDENT = "987654321"


@pytest.fixture
def fake() -> Iterator[FakeX]:
    x = FakeX()
    with live_server(x.app) as url:
        x.server_url = url
        yield x


@pytest.fixture
def cursors(database_url: str) -> Iterator[DatabaseCursorStore]:
    engine = make_engine(database_url)
    migrate(engine)
    yield DatabaseCursorStore(make_session_factory(engine))
    engine.dispose()


def make_channel(
    fake: FakeX, handler: Recorder, cursors: DatabaseCursorStore | None = None
) -> TwitterChannel:
    channel = TwitterChannel(
        handler,
        user_id=fake.user_id,
        bearer_token="app-bearer-token",
        consumer_key="consumer-key",
        consumer_secret=CONSUMER_SECRET,
        access_token="access-token",
        access_token_secret="access-token-secret",
        api_base_url=fake.server_url,
        cursor_store=cursors,
        max_rate_limit_wait_seconds=5,
    )
    handler.channel = channel
    return channel


def test_mentions_with_text_geo_place_and_photo(fake: FakeX, cursors: DatabaseCursorStore) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder, cursors)
    text_id = fake.mention(
        RESIDENT, "Huge pothole at 5th & Market, a car lost a hubcap", username="ana_in_sf"
    )
    geo_id = fake.mention(RESIDENT, "Tree branch blocking the sidewalk", coordinates=(37.7793, -122.4193))
    poi = {
        "id": "07d9db48bc083000",
        "full_name": "Mission Dolores Park",
        "place_type": "poi",
        "geo": {"type": "Feature", "bbox": [-122.4281, 37.7585, -122.4261, 37.7605], "properties": {}},
    }
    place_id = fake.mention(RESIDENT, "Overflowing trash can here", place=poi)
    city = {
        "id": "5a110d312052166f",
        "full_name": "San Francisco, CA",
        "place_type": "city",
        "geo": {"type": "Feature", "bbox": [-122.5149, 37.7081, -122.3570, 37.8332], "properties": {}},
    }
    city_id = fake.mention(RESIDENT, "Graffiti on the library", place=city)
    photo_id = fake.mention(RESIDENT, "Look at this", photo_urls=("https://pbs.twimg.com/media/Gd1.jpg",))

    assert asyncio.run(channel.poll_mentions_once()) == 5

    text, geo, place, whole_city, photo = recorder.messages()  # oldest first
    assert [m.provider_message_id for m in recorder.messages()] == [
        f"tweet:{i}" for i in (text_id, geo_id, place_id, city_id, photo_id)
    ]
    assert text.text == "Huge pothole at 5th & Market, a car lost a hubcap"  # no @SF311, entities decoded
    assert (text.resident_id, text.reply_to, text.channel) == (RESIDENT, text_id, "twitter")
    assert text.metadata["username"] == "ana_in_sf"
    assert text.point is None
    assert (geo.point.lat, geo.point.long) == (37.7793, -122.4193)  # type: ignore[union-attr]
    # A point of interest is precise enough to file at; a whole city is not, only its name is kept.
    assert place.point is not None
    assert (round(place.point.lat, 4), round(place.point.long, 4)) == (37.7595, -122.4271)
    assert place.metadata["place"] == "Mission Dolores Park"
    assert whole_city.point is None
    assert whole_city.metadata["place"] == "San Francisco, CA"
    assert photo.text == "Look at this"  # the t.co link to the photo is not the resident's words
    assert [(a.url, a.content_type, a.needs_auth) for a in photo.attachments] == [
        ("https://pbs.twimg.com/media/Gd1.jpg", "image/jpeg", False)
    ]
    # tweepy asked for what the bot needs, with the app's bearer token.
    query = fake.mention_requests[0]
    assert set(query["expansions"].split(",")) >= {"author_id", "geo.place_id", "attachments.media_keys"}


def test_a_restart_between_two_polls_neither_misses_nor_rereads(
    fake: FakeX, cursors: DatabaseCursorStore
) -> None:
    first_run = Recorder()
    first = fake.mention(RESIDENT, "Streetlight out on Valencia")
    second = fake.mention("111", "Abandoned car on Folsom")
    assert asyncio.run(make_channel(fake, first_run, cursors).poll_mentions_once()) == 2

    # The process restarts: a new channel object, the same database.
    third = fake.mention("222", "Illegal dumping on 16th")
    after_restart = Recorder()
    assert asyncio.run(make_channel(fake, after_restart, cursors).poll_mentions_once()) == 1
    assert asyncio.run(make_channel(fake, after_restart, cursors).poll_mentions_once()) == 0

    assert [m.reply_to for m in first_run.messages()] == [first, second]
    assert [m.reply_to for m in after_restart.messages()] == [third]
    assert fake.mention_requests[1]["since_id"] == second


class FailsOn(Recorder):
    """Fails every message with ``words`` in it (a fault only that message meets) and keeps what the channel
    gives up on for a person (``channels.base.KeepsUnhandled``, as the dispatcher does)."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.tries: list[str] = []
        self.given_up: list[tuple[InboundMessage, str]] = []

    async def handle(self, message: InboundMessage) -> Sequence[OutboundMessage]:
        self.tries.append(message.provider_message_id)
        if self.words in message.text.lower():
            raise RuntimeError("the engine fails on this message")
        return await super().handle(message)

    async def give_up(self, message: InboundMessage, reason: str) -> None:
        self.given_up.append((message, reason))


def test_a_message_that_keeps_failing_holds_back_no_one_then_goes_to_a_person(
    fake: FakeX, cursors: DatabaseCursorStore, caplog: pytest.LogCaptureFixture
) -> None:
    before = fake.mention("111", "Pothole on Guerrero")
    failing = fake.mention(RESIDENT, "Sinkhole at 16th and Valencia")
    after = fake.mention("222", "Broken bench at the park")
    failing_dm = fake.direct_message(RESIDENT, "the sinkhole is getting bigger")
    later_dm = fake.direct_message("222", "it is the one by the playground")
    handler = FailsOn("sinkhole")
    channel = make_channel(fake, handler, cursors)
    channel.max_poll_attempts = 3

    # The first poll answers everyone but the failing ones; the cursors wait before those.
    assert asyncio.run(channel.poll_once()) == 3
    assert [m.reply_to for m in handler.messages()] == [before, after, None]
    assert cursors.get(channel.cursor_name) == before
    assert cursors.get(channel.dm_cursor_name) is None

    # The next polls read them again, and only they are tried again (not the ones handled after them).
    with caplog.at_level("ERROR", logger="channels.twitter"):
        assert asyncio.run(channel.poll_once()) == 0
        assert cursors.get(channel.cursor_name) == before
        assert asyncio.run(channel.poll_once()) == 0
    assert handler.tries.count(f"tweet:{failing}") == 3
    assert handler.tries.count(f"tweet:{after}") == 1
    assert handler.tries.count(f"dm:{later_dm}") == 1

    # At the third failure each is given up to a person and the cursors move past everything read.
    kept = {message.provider_message_id: message for message, _ in handler.given_up}
    assert set(kept) == {f"tweet:{failing}", f"dm:{failing_dm}"}
    assert kept[f"tweet:{failing}"].reply_to == failing  # a person's answer goes under the mention
    assert kept[f"dm:{failing_dm}"].text == "the sinkhole is getting bigger"
    assert (cursors.get(channel.cursor_name), cursors.get(channel.dm_cursor_name)) == (after, later_dm)
    assert sum("given up after 3 tries" in r.getMessage() for r in caplog.records) == 2

    # Nothing is read again.
    assert asyncio.run(channel.poll_once()) == 0
    assert len(handler.tries) == 3 + 2 * 3


def test_a_crash_mid_poll_keeps_the_unhandled_mentions(fake: FakeX, cursors: DatabaseCursorStore) -> None:
    first = fake.mention(RESIDENT, "Pothole on Guerrero")
    second = fake.mention("111", "Broken bench at the park")
    handler = FailsOn("bench")  # as if the process died at the second mention
    channel = make_channel(fake, handler, cursors)
    assert asyncio.run(channel.poll_mentions_once()) == 1
    assert cursors.get(channel.cursor_name) == first  # moved past the handled mention only

    recovered = Recorder()
    assert asyncio.run(make_channel(fake, recovered, cursors).poll_mentions_once()) == 1
    assert [m.reply_to for m in recovered.messages()] == [second]


def test_a_new_deployment_does_not_answer_the_accounts_old_mentions(
    fake: FakeX, cursors: DatabaseCursorStore
) -> None:
    # Before, the first poll answered the newest page of mentions, however old: a bot put on an account
    # residents had been mentioning for years replied publicly under each of them.
    long_ago = utcnow() - timedelta(days=40)
    fake.mention("111", "Pothole on Guerrero, anyone?", created_at=long_ago)
    fake.direct_message("111", "is this account run by the city?", created_at=long_ago)
    during_set_up = fake.mention(
        RESIDENT, "Streetlight out on Valencia", created_at=utcnow() - timedelta(minutes=5)
    )
    recorder = Recorder()
    channel = make_channel(fake, recorder, cursors)
    assert asyncio.run(channel.poll_once()) == 1
    assert [m.reply_to for m in recorder.messages()] == [during_set_up]

    # The cursors are past the old ones: later polls answer what is new, and only that.
    later = fake.mention("222", "Illegal dumping on 16th")
    assert asyncio.run(make_channel(fake, recorder, cursors).poll_once()) == 1
    assert [m.reply_to for m in recorder.messages()] == [during_set_up, later]


def test_direct_messages_are_read_once_across_restarts(fake: FakeX, cursors: DatabaseCursorStore) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder, cursors)
    mention = fake.mention(RESIDENT, "Pothole at 1450 Valencia St")
    asyncio.run(
        channel.send(OutboundMessage("twitter", RESIDENT, "What number can the crew call?", private=True))
    )
    answer = fake.direct_message(RESIDENT, "415-555-0134 &amp; after 5pm")
    assert asyncio.run(channel.poll_once()) == 2  # the mention and the answer, not the bot's own DM

    later = fake.direct_message("111", "Is my report still open?")
    after_restart = Recorder()
    assert asyncio.run(make_channel(fake, after_restart, cursors).poll_once()) == 1

    mentioned, direct = recorder.messages()
    assert mentioned.provider_message_id == f"tweet:{mention}"
    assert (direct.provider_message_id, direct.resident_id, direct.reply_to) == (
        f"dm:{answer}",
        RESIDENT,
        None,
    )
    assert (direct.text, direct.metadata["public"]) == ("415-555-0134 & after 5pm", "false")
    assert [m.provider_message_id for m in after_restart.messages()] == [f"dm:{later}"]


def test_rate_limit_on_polling_is_waited_out_then_read(fake: FakeX, cursors: DatabaseCursorStore) -> None:
    recorder = Recorder()
    tweet = fake.mention(RESIDENT, "Water leak on Mission St")
    fake.rate_limit("mentions", reset_in=1)
    started = time.monotonic()
    assert asyncio.run(make_channel(fake, recorder, cursors).poll_mentions_once()) == 1
    assert time.monotonic() - started >= 0.9  # it waited for x-rate-limit-reset instead of giving up
    assert [m.reply_to for m in recorder.messages()] == [tweet]
    assert len(fake.mention_requests) == 1  # one answered request after the 429


def test_a_rate_limit_longer_than_allowed_ends_the_poll_and_loses_nothing(
    fake: FakeX, cursors: DatabaseCursorStore
) -> None:
    recorder = Recorder()
    tweet = fake.mention(RESIDENT, "Sidewalk cracked on Castro")
    fake.rate_limit("mentions", reset_in=600)
    channel = make_channel(fake, recorder, cursors)
    with pytest.raises(PollFailed, match=r"rate limited until \d\d:\d\d UTC"):
        asyncio.run(channel.poll_mentions_once())
    assert cursors.get(channel.cursor_name) is None
    assert asyncio.run(channel.poll_mentions_once()) == 1
    assert [m.reply_to for m in recorder.messages()] == [tweet]


def test_replies_in_thread_dms_for_private_details_and_redaction(fake: FakeX) -> None:
    channel = make_channel(fake, Recorder())
    tweet = fake.mention(RESIDENT, "Pothole at 1450 Valencia St")

    public = OutboundMessage(
        channel="twitter",
        resident_id=RESIDENT,
        text=(
            "Thanks! Request 101004263 filed for 1450 Valencia St. "
            "We'll call 415-555-0134 or ana@example.org."
        ),
        reply_to=tweet,
    )
    private = OutboundMessage(
        channel="twitter",
        resident_id=RESIDENT,
        text="What phone number can the crew call?",
        reply_to=tweet,
        private=True,
    )
    question = OutboundMessage(
        channel="twitter",
        resident_id=RESIDENT,
        text="Which of these is it?",
        choices=(Choice("Pothole", "pothole"), Choice("Sinkhole", "sinkhole")),
        reply_to=tweet,
    )
    unsolicited = OutboundMessage(
        channel="twitter", resident_id=RESIDENT, text="Your request 101004263 is closed."
    )
    for message in (public, private, question, unsolicited):
        asyncio.run(channel.send(message))

    replies = fake.replies_to(tweet)
    assert [r.text for r in replies] == [
        "Thanks! Request 101004263 filed for the 1400 block of Valencia St. We'll call [phone] or [email].",
        "Which of these is it?\n\n1. Pothole\n2. Sinkhole",
    ]
    # Private details and anything with no mention to answer under go by direct message, never a new tweet.
    assert [d.text for d in fake.dms_to(RESIDENT)] == [
        "What phone number can the crew call?",
        "Your request 101004263 is closed.",
    ]
    assert all(p.kind == "dm" or p.in_reply_to_tweet_id == tweet for p in fake.posted)


def test_long_replies_continue_as_a_thread_and_refusals_are_not_retried(fake: FakeX) -> None:
    channel = make_channel(fake, Recorder())
    tweet = fake.mention(RESIDENT, "Several problems on my block")
    long_text = " ".join(f"item{n}" for n in range(100))  # 589 characters: three tweets
    result = asyncio.run(
        channel.send(OutboundMessage(channel="twitter", resident_id=RESIDENT, text=long_text, reply_to=tweet))
    )
    thread = [p for p in fake.posted if p.kind == "tweet"]
    assert len(thread) == 3
    assert all(len(p.text) <= 280 for p in thread)
    assert " ".join(p.text for p in thread) == long_text
    assert [p.in_reply_to_tweet_id for p in thread] == [tweet, thread[0].id, thread[1].id]
    assert result.provider_message_id == thread[-1].id

    # X refuses a reply where the account was not mentioned: not retryable.
    with pytest.raises(DeliveryError) as refused:
        asyncio.run(
            channel.send(
                OutboundMessage(channel="twitter", resident_id=RESIDENT, text="hi", reply_to="12345")
            )
        )
    assert not refused.value.retryable


def test_rate_limit_on_sending_becomes_a_retry_later(fake: FakeX) -> None:
    channel = make_channel(fake, Recorder())
    tweet = fake.mention(RESIDENT, "Graffiti on Market")
    reply = OutboundMessage(channel="twitter", resident_id=RESIDENT, text="Filed as 42.", reply_to=tweet)
    fake.rate_limit("tweets", reset_in=30)
    with pytest.raises(DeliveryError) as limited:
        asyncio.run(channel.send(reply))
    assert limited.value.retryable
    assert limited.value.retry_after is not None
    assert 25 <= limited.value.retry_after <= 32
    asyncio.run(channel.send(reply))  # the outbox's retry after the reset
    assert [r.text for r in fake.replies_to(tweet)] == ["Filed as 42."]


def test_account_activity_webhook_crc_signature_and_events(fake: FakeX) -> None:
    recorder = Recorder()
    channel = make_channel(fake, recorder)
    with serve_channel(channel) as url:
        webhook = f"{url}/webhooks/twitter"
        assert fake.crc_check(webhook, CONSUMER_SECRET)
        assert not fake.crc_check(webhook, "another app's secret")
        assert httpx.get(webhook).status_code == 400  # no crc_token

        mention = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
        dm = json.loads((PAYLOADS / "twitter_direct_message_event.json").read_text())
        forged = fake.post_activity(webhook, mention, CONSUMER_SECRET, signature="sha256=Zm9yZ2Vk")
        wrong_key = fake.post_activity(webhook, mention, "not the consumer secret")
        assert (forged.status_code, wrong_key.status_code) == (403, 403)
        assert recorder.messages() == []

        assert fake.post_activity(webhook, mention, CONSUMER_SECRET).status_code == 200
        assert fake.post_activity(webhook, dm, CONSUMER_SECRET).status_code == 200

    tweet, direct = recorder.messages()
    assert tweet.provider_message_id == "tweet:1861234567890123456"  # the same id polling would give
    assert tweet.text == "Streetlight out on the corner, very dark at night & unsafe"
    assert (tweet.point.lat, tweet.point.long) == (37.76019, -122.42102)  # type: ignore[union-attr]
    assert [a.url for a in tweet.attachments] == ["https://pbs.twimg.com/media/GdStreetlight.jpg"]
    assert (tweet.reply_to, tweet.resident_id) == ("1861234567890123456", RESIDENT)
    assert direct.provider_message_id == "dm:1861234999999999999"
    assert (direct.reply_to, direct.metadata["public"]) == (None, "false")
    assert direct.text.startswith("My number is 415-555-0134")


# -- end to end: the whole bot (app, dispatcher, outbox, database) behind X ---------------------------------


@pytest.fixture
def app_settings(tmp_path: Path, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The whole bot on SQLite: the exactly-once machinery on both databases is the dispatcher's own tests'.
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    (tmp_path / "data").mkdir()
    return make_settings(tmp_path / "data", sqlite_database_url)


@contextlib.contextmanager
def x_bot(settings: Settings, fake: FakeX, **overrides: Any) -> Iterator[RunningBot]:
    twitter = {
        "enabled": True,
        "user_id": fake.user_id,
        "bearer_token": "app-bearer-token",
        "consumer_key": "consumer-key",
        "consumer_secret": CONSUMER_SECRET,
        "access_token": "access-token",
        "access_token_secret": "access-token-secret",
        "api_base_url": fake.server_url,
        "max_rate_limit_wait_seconds": 5,
    }
    with running_bot(settings, twitter=twitter, **overrides) as bot:
        yield bot


def poll_and_deliver(bot: RunningBot) -> int:
    """One run of the mention-polling job, then one of the outbox sender."""
    channel = bot.messaging.channels["twitter"]
    assert isinstance(channel, TwitterChannel)
    handled = asyncio.run(channel.poll_mentions_once())
    bot.deliver()
    return handled


def test_mentions_are_filed_and_answered_in_their_thread_end_to_end(
    app_settings: Settings, fake: FakeX
) -> None:
    with x_bot(app_settings, fake) as bot:
        text = fake.mention(RESIDENT, CLEAR_REPORT)
        geo = fake.mention("111", "There is a big pothole in the road", coordinates=(37.7793, -122.4193))
        photo = fake.mention("222", CLEAR_REPORT, photo_urls=("https://pbs.twimg.com/media/GdPothole.jpg",))
        fake.rate_limit("mentions", reset_in=1)  # the first read is refused: waited out, nothing lost
        assert poll_and_deliver(bot) == 3

        by_text = bot.request(filed_id(fake.replies_to(text)[0].text))
        assert (by_text["description"], by_text["service_code"]) == (CLEAR_REPORT, "pothole")
        assert bot.runtime.open311.get_request(by_text["service_request_id"]).channel == "twitter"
        by_geo = bot.request(filed_id(fake.replies_to(geo)[0].text))
        assert (by_geo["lat"], by_geo["long"]) == pytest.approx((37.7793, -122.4193))
        by_photo = bot.request(filed_id(fake.replies_to(photo)[0].text))
        assert by_photo["media_url"] == "https://pbs.twimg.com/media/GdPothole.jpg"
        # Every public post is a reply in a thread where the account was mentioned.
        assert all(p.kind == "dm" or p.in_reply_to_tweet_id in (text, geo, photo) for p in fake.posted)

        assert poll_and_deliver(bot) == 0  # nothing new: nothing re-read, nothing re-sent
        assert bot.request_count() == 3
        assert len(fake.posted) == 3


def test_a_restart_of_the_app_between_two_polls(app_settings: Settings, fake: FakeX) -> None:
    with x_bot(app_settings, fake) as bot:
        before = fake.mention(RESIDENT, CLEAR_REPORT)
        assert poll_and_deliver(bot) == 1
    after = fake.mention("111", CLEAR_REPORT)
    with x_bot(app_settings, fake) as bot:  # the same database, a new process
        assert poll_and_deliver(bot) == 1
        assert bot.request_count() == 2
    assert [len(fake.replies_to(t)) for t in (before, after)] == [1, 1]


def test_a_forged_account_activity_event_changes_nothing(app_settings: Settings, fake: FakeX) -> None:
    mention = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
    with x_bot(app_settings, fake) as bot:
        webhook = f"{bot.url}/webhooks/twitter"
        assert fake.crc_check(webhook, CONSUMER_SECRET)
        assert fake.post_activity(webhook, mention, "a guessed secret").status_code == 403
        assert bot.outbox() == []
        assert fake.post_activity(webhook, mention, CONSUMER_SECRET).status_code == 200
        assert fake.post_activity(webhook, mention, CONSUMER_SECRET).status_code == 200  # X retried
        replies = [m for m in bot.outbox() if m.channel == "twitter"]
        assert len(replies) == 1
        assert replies[0].reply_to == "1861234567890123456"


def test_the_crc_challenge_signs_no_event_body(app_settings: Settings, fake: FakeX) -> None:
    # The CRC answer is the HMAC that signs events: asked to "challenge" with a whole event body, it would
    # hand out that body's signature. A forged direct message from anyone, filing a report in their name.
    forged = json.loads((PAYLOADS / "twitter_direct_message_event.json").read_text())
    forged["direct_message_events"][0]["id"] = "77001"
    forged["direct_message_events"][0]["message_create"]["sender_id"] = "31337"
    forged["direct_message_events"][0]["message_create"]["message_data"]["text"] = CLEAR_REPORT
    with x_bot(app_settings, fake) as bot:
        webhook = f"{bot.url}/webhooks/twitter"
        challenge = httpx.get(webhook, params={"crc_token": json.dumps(forged)})
        assert challenge.status_code == 400
        assert "response_token" not in challenge.json()
        assert "crc_token" in challenge.json()["error"]
        stolen = str(challenge.json().get("response_token", "sha256="))
        assert fake.post_activity(webhook, forged, CONSUMER_SECRET, signature=stolen).status_code == 403
        bot.deliver()
        assert (bot.outbox(), bot.inbox_count(), bot.request_count(), fake.posted) == ([], 0, 0, [])
        assert fake.crc_check(webhook, CONSUMER_SECRET)  # X's own challenge is still answered


def test_the_scheduler_answers_mentions_and_direct_messages_on_its_own(
    app_settings: Settings, fake: FakeX
) -> None:
    # As deployed: the polling job and the outbox sender run on the scheduler, nobody calls them.
    jobs = {"enabled": True, "scheduler": "always", "twitter_poll_seconds": 0.3, "outbox_seconds": 0.2}
    with x_bot(app_settings, fake, jobs=jobs) as bot:
        tweet = fake.mention(RESIDENT, CLEAR_REPORT)
        wait_for(lambda: len(fake.replies_to(tweet)) == 1)
        filed = filed_id(fake.replies_to(tweet)[0].text)
        fake.direct_message(RESIDENT, f"STATUS {filed}")
        wait_for(lambda: len(fake.dms_to(RESIDENT)) == 1)
        assert f"Report #{filed} (Pothole) is open" in fake.dms_to(RESIDENT)[0].text
        assert bot.request_count() == 1


def test_status_updates_answer_in_the_thread_the_report_was_made_in(
    app_settings: Settings, fake: FakeX
) -> None:
    # A report made in public is answered in public, under the resident's own tweet: residents who do not
    # accept DMs from the city's account still hear about it. A report made by DM is answered by DM.
    jobs = {"enabled": True, "scheduler": "always", "twitter_poll_seconds": 0.3, "outbox_seconds": 0.2}
    jobs |= {"notify_seconds": 0.2}
    with x_bot(app_settings, fake, jobs=jobs) as bot:
        tweet = fake.mention(RESIDENT, CLEAR_REPORT)
        wait_for(lambda: len(fake.replies_to(tweet)) == 1)
        in_public = filed_id(fake.replies_to(tweet)[0].text)
        fake.direct_message("555", CLEAR_REPORT)
        wait_for(lambda: len(fake.dms_to("555")) == 1)
        by_dm = filed_id(fake.dms_to("555")[0].text)

        bot.runtime.open311.update_status(in_public, "closed", "Filled with asphalt.", actor="crew")
        bot.runtime.open311.update_status(by_dm, "closed", "Filled with asphalt too.", actor="crew")
        wait_for(lambda: len(fake.replies_to(tweet)) == 2 and len(fake.dms_to("555")) == 2)

        update = fake.replies_to(tweet)[1].text
        assert f"Update on report #{in_public} (Pothole): it is now closed. Filled with asphalt." in update
        assert f"#{by_dm}" in fake.dms_to("555")[1].text
        assert fake.dms_to(RESIDENT) == [], "the public reporter got a DM"
        assert all(p.kind == "dm" or p.in_reply_to_tweet_id == tweet for p in fake.posted)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the bot did not answer in time"
        time.sleep(0.05)


def test_the_fake_plays_residents_over_http_for_demos(app_settings: Settings, fake: FakeX) -> None:
    with x_bot(app_settings, fake) as bot, httpx.Client(base_url=fake.server_url) as demo:
        tweet = demo.post("/fake/mentions", json={"author_id": RESIDENT, "text": CLEAR_REPORT}).json()["id"]
        assert poll_and_deliver(bot) == 1
        (reply,) = demo.get("/fake/posted").json()["posted"]
        assert (reply["kind"], reply["in_reply_to_tweet_id"]) == ("tweet", tweet)
        filed = filed_id(reply["text"])
        demo.post("/fake/direct_messages", json={"sender_id": RESIDENT, "text": f"status {filed}"})
        channel = bot.messaging.channels["twitter"]
        assert isinstance(channel, TwitterChannel)
        assert asyncio.run(channel.poll_once()) == 1
        bot.deliver()
        answer = demo.get("/fake/posted").json()["posted"][-1]
        assert (answer["kind"], answer["participant_id"]) == ("dm", RESIDENT)
        assert f"Report #{filed} (Pothole) is open" in answer["text"]


def test_the_accounts_handle_anywhere_in_a_tweet_is_not_the_residents_words(
    app_settings: Settings, fake: FakeX
) -> None:
    # Before, only a handle at the very start was taken out: "STOP @SF311", "STATUS @SF311", "Thanks @SF311!",
    # "hi @SF311" and "help @SF311" were each read as a report and answered "Where is it? Send an address...".
    with x_bot(app_settings, fake) as bot:
        report = fake.mention(RESIDENT, CLEAR_REPORT)
        assert poll_and_deliver(bot) == 1
        filed = filed_id(fake.replies_to(report)[0].text)
        said = {
            "STOP @SF311": fake.mention("101", "STOP @SF311"),
            "@SF311 STOP @SF311": fake.mention("102", "@SF311 STOP @SF311"),
            "STATUS @SF311": fake.mention(RESIDENT, "STATUS @SF311"),
            "Thanks @SF311!": fake.mention("103", "Thanks @SF311!"),
            "hi @SF311": fake.mention("104", "hi @SF311"),
            "help @sf311": fake.mention("105", "help @sf311"),
            # Leading handles are the reply chain; the account's own, further on, is not the report's either.
            "@bob the pothole": fake.mention("106", "@bob the pothole @SF311 at 5th St and Market St"),
        }
        assert poll_and_deliver(bot) == len(said)
        answers = {words: [r.text for r in fake.replies_to(tweet)] for words, tweet in said.items()}
        assert not any("Where is it" in text for texts in answers.values() for text in texts), answers
        assert "You will get no more messages from us" in answers["STOP @SF311"][0]
        assert "You will get no more messages from us" in answers["@SF311 STOP @SF311"][0]
        assert f"Report #{filed} (Pothole) is open" in answers["STATUS @SF311"][0]
        # The same answer twice: the second starts with the resident's handle (X refuses a duplicate).
        assert answers["help @sf311"] == [f"@resident {answers['hi @SF311'][0]}"]
        assert "Tell us a problem and where it is" in answers["help @sf311"][0]
        described = bot.request(filed_id(answers["@bob the pothole"][0]))["description"]
        assert described == "the pothole at 5th St and Market St"

        # The Account Activity webhook reads the words the same way.
        event = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
        tweet = event["tweet_create_events"][0]
        tweet |= {"id_str": "1861234567890123999", "text": "STOP @SF311", "in_reply_to_user_id_str": None}
        tweet["entities"] |= {
            "media": [],
            "user_mentions": [{**tweet["entities"]["user_mentions"][0], "indices": [5, 11]}],
        }
        tweet["user"] |= {"id_str": "107", "screen_name": "carlos_sf"}
        for shown_only_with_a_report in ("extended_entities", "coordinates", "geo", "place"):
            del tweet[shown_only_with_a_report]
        assert fake.post_activity(f"{bot.url}/webhooks/twitter", event, CONSUMER_SECRET).status_code == 200
        [stopped] = [m for m in bot.outbox() if m.reply_to == "1861234567890123999"]
        assert "You will get no more messages from us" in stopped.text


def test_retweets_are_passed_over_and_a_quote_is_the_quoters_own_words(
    app_settings: Settings, fake: FakeX
) -> None:
    # Before, mentions were read without referenced_tweets: "RT @maria_sf: @SF311 Huge pothole ..." filed a
    # second report whose public description carried @maria_sf, and a retweet of the bot's own reply got a
    # public "Where is it?".
    with x_bot(app_settings, fake) as bot:
        original = fake.mention("555", CLEAR_REPORT, username="maria_sf")
        assert poll_and_deliver(bot) == 1
        [filed] = fake.replies_to(original)
        retweet = fake.mention("556", retweeted_tweet_id=original)
        our_reply_retweeted = fake.mention("557", retweeted_tweet_id=filed.id)
        quote = fake.mention(
            "558",
            "Another one: a huge pothole in the road at 16th St and Mission St",
            quoted_tweet_id=original,
        )
        assert poll_and_deliver(bot) == 1  # the quote
        assert fake.replies_to(retweet) == fake.replies_to(our_reply_retweeted) == []
        quoted = bot.request(filed_id(fake.replies_to(quote)[0].text))
        # The quoter's words only: neither the quoted tweet nor the t.co link to it.
        assert quoted["description"] == "Another one: a huge pothole in the road at 16th St and Mission St"
        assert bot.request_count() == 2
    assert "referenced_tweets" in fake.mention_requests[-1]["tweet.fields"].split(",")


def test_a_direct_messages_photo_is_fetched_signed_and_filed_with_the_report(
    app_settings: Settings, fake: FakeX
) -> None:
    # Before, a direct message's photo (message_data.attachment.media, on ton.twitter.com) was dropped: the
    # report had no media_url and its description kept the dead t.co link; a DM of only a photo was answered
    # "Where is it?".
    with x_bot(app_settings, fake) as bot:
        webhook = f"{bot.url}/webhooks/twitter"
        event = fake.direct_message_event(
            RESIDENT, "Graffiti on my fence at 1400 Valencia St", photo=photo_with_metadata()
        )
        media = event["direct_message_events"][0]["message_create"]["message_data"]["attachment"]["media"]
        unsigned = httpx.get(
            fake.server_url + media["media_url_https"].removeprefix("https://ton.twitter.com")
        )
        assert unsigned.status_code == 401  # X serves it to the account's signed request only
        assert fake.post_activity(webhook, event, CONSUMER_SECRET).status_code == 200
        bot.deliver()
        assert "Is it at 1400 VALENCIA ST" in fake.dms_to(RESIDENT)[-1].text
        assert fake.post_activity(
            webhook, fake.direct_message_event(RESIDENT, "yes"), CONSUMER_SECRET
        ).is_success
        bot.deliver()
        number = re.search(r"filed as #(\d+)", fake.dms_to(RESIDENT)[-1].text)
        assert number is not None, fake.dms_to(RESIDENT)[-1].text
        request = bot.request(number.group(1))
        assert request["description"] == "Graffiti on my fence at 1400 Valencia St"
        assert request["media_url"].startswith(bot.url + "/"), "our own copy, not X's private URL"
        assert_published_without_metadata(httpx.get(request["media_url"]).content)

        only_a_photo = fake.direct_message_event("111", "", photo=photo_with_metadata())
        assert fake.post_activity(webhook, only_a_photo, CONSUMER_SECRET).status_code == 200
        bot.deliver()
        assert fake.dms_to("111")[-1].text == "Thanks for the photo. What is the problem, and where is it?"


def test_the_fake_plays_threads_quotes_retweets_places_and_languages_over_http(
    app_settings: Settings, fake: FakeX
) -> None:
    # Before, POST /fake/mentions took only the author, text, username, lat/long and a photo: a demo could
    # not answer the bot in its thread, quote, retweet, tag a place or a language.
    park = {
        "id": "07d9db48bc083000",
        "full_name": "Mission Dolores Park",
        "place_type": "poi",
        "geo": {"type": "Feature", "bbox": [-122.4281, 37.7585, -122.4261, 37.7605], "properties": {}},
    }
    with x_bot(app_settings, fake) as bot, httpx.Client(base_url=fake.server_url) as demo:

        def tweet(**body: Any) -> str:
            response = demo.post("/fake/mentions", json={"author_id": RESIDENT} | body)
            assert response.status_code == 200, response.text
            return str(response.json()["id"])

        first = tweet(text="There is a big pothole in the road")
        spanish = tweet(author_id="111", text="Hay un bache enorme en la calle", lang="es", place=park)
        assert poll_and_deliver(bot) == 2
        [question] = fake.replies_to(first)
        assert question.text.startswith("Where is it?")
        [answered_in_spanish] = fake.replies_to(spanish)
        assert answered_in_spanish.text.startswith("¡Gracias!")

        in_thread = tweet(text="5th St and Market St", in_reply_to=question.id)
        tweet(author_id="222", retweeted=first)
        quote = tweet(author_id="333", text="Same at 16th St and Mission St, a huge pothole", quoted=first)
        assert poll_and_deliver(bot) == 2  # the retweet is passed over
        filed = bot.request(filed_id(fake.replies_to(in_thread)[0].text))
        assert filed["description"] == "There is a big pothole in the road"
        assert filed_id(fake.replies_to(quote)[0].text)
        number = re.search(r"#(\d+)", answered_in_spanish.text)
        assert number is not None
        spanish_request = bot.request(number.group(1))
        assert (spanish_request["lat"], spanish_request["long"]) == pytest.approx((37.7595, -122.4271))
        assert demo.post("/fake/mentions", json={"author_id": "444", "retweeted": "12345"}).status_code == 404


def test_the_printed_demo_configuration_polls_x_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, it left the poll at its 60 s default: each answer in a demo took up to a minute.
    monkeypatch.setattr(fakes_main.uvicorn, "run", lambda *args, **kwargs: None)
    fakes_main.main(["x", "--port", "8499"])
    printed = tomllib.loads(capsys.readouterr().out)
    assert printed["twitter"]["api_base_url"] == "http://127.0.0.1:8499"
    assert printed["jobs"]["twitter_poll_seconds"] <= 5


def test_a_photo_url_longer_than_a_report_keeps_is_left_out_and_the_report_filed(
    app_settings: Settings, fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    # The provider's URL is not the resident's fault (before: the core refused the report, sent to a person).
    long_url = "https://pbs.twimg.com/media/" + "G" * 2100 + ".jpg"
    with x_bot(app_settings, fake) as bot, caplog.at_level(logging.WARNING, logger="bot.dispatcher"):
        photo = fake.mention(RESIDENT, CLEAR_REPORT, photo_urls=(long_url,))
        assert poll_and_deliver(bot) == 1
        filed = bot.request(filed_id(fake.replies_to(photo)[0].text))
        assert filed["description"] == CLEAR_REPORT
        assert filed.get("media_url") in (None, "")
        assert bot.review_items() == []
    assert f"media of twitter message tweet:{photo} left out: its URL is longer than 2048" in caplog.text


def test_a_long_reply_rate_limited_partway_goes_on_under_the_last_tweet_posted(
    app_settings: Settings, fake: FakeX
) -> None:
    # X answers 429 after the first tweet of a thread: before, the outbox's retry posted the first tweet
    # again. Now the retry posts the rest, the next tweet replying to the last one posted.
    long_text = " ".join(f"item{n}" for n in range(100))  # 589 characters: three tweets
    with x_bot(app_settings, fake) as bot:
        mention = fake.mention(RESIDENT, "Several problems on my block")
        with bot.runtime.sessions() as session:
            outbox.enqueue(
                session,
                OutboundMessage(channel="twitter", resident_id=RESIDENT, text=long_text, reply_to=mention),
            )
            session.commit()
        fake.rate_limit("tweets", reset_in=1, after=1)
        assert bot.deliver().retried == 1
        [first] = [p for p in fake.posted if p.kind == "tweet"]
        [row] = bot.outbox()
        assert (row.parts_sent, row.last_part_id) == (1, first.id)
        later = utcnow() + timedelta(seconds=30)
        report = asyncio.run(outbox.deliver_due(bot.runtime.sessions, bot.messaging.channels, now=later))
        assert report.delivered == 1
        thread = [p for p in fake.posted if p.kind == "tweet"]
        assert " ".join(p.text for p in thread) == long_text
        assert len(thread) == 3
        assert [p.in_reply_to_tweet_id for p in thread] == [mention, thread[0].id, thread[1].id]
        [row] = bot.outbox()
        assert (row.status, row.provider_message_id) == ("delivered", thread[-1].id)


@pytest.mark.parametrize(
    "body",
    [
        b"[1,2]",
        b"null",
        b"not json",
        b"[" * 100_000,  # too deep for the JSON parser: was a RecursionError, a 500
        b'{"for_user_id": "%s", "tweet_create_events": 5}',
        b'{"for_user_id": "%s", "tweet_create_events": [1]}',
        b'{"for_user_id": "%s", "direct_message_events": [{"type": "message_create", "message_create": 7}]}',
        b'{"for_user_id": "%s", "tweet_create_events": [{"id_str": "1", "user": 5}]}',
    ],
)
def test_a_signed_account_activity_event_that_is_not_one_is_refused_with_400(
    app_settings: Settings, fake: FakeX, body: bytes
) -> None:
    body = body.replace(b"%s", fake.user_id.encode())
    with x_bot(app_settings, fake) as bot:
        headers = {
            "content-type": "application/json",
            "x-twitter-webhooks-signature": fake.sign(CONSUMER_SECRET, body),
        }
        response = bot.client.post("/webhooks/twitter", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert bot.outbox() == []


def test_a_polled_direct_messages_photo_is_fetched_signed_and_filed_with_the_report(
    app_settings: Settings, fake: FakeX
) -> None:
    # Before, direct messages read by polling (GET /2/dm_events) asked for no attachments: their photo was
    # lost and the t.co link standing for it was published in the report's description.
    with x_bot(app_settings, fake) as bot:
        channel = bot.messaging.channels["twitter"]
        assert isinstance(channel, TwitterChannel)

        def poll_direct_messages() -> int:
            handled = asyncio.run(channel.poll_direct_messages_once())
            bot.deliver()
            return handled

        fake.direct_message(RESIDENT, "Graffiti on my fence at 1400 Valencia St", photo=photo_with_metadata())
        assert poll_direct_messages() == 1
        assert "Is it at 1400 VALENCIA ST" in fake.dms_to(RESIDENT)[-1].text
        fake.direct_message(RESIDENT, "yes")
        assert poll_direct_messages() == 1
        number = re.search(r"filed as #(\d+)", fake.dms_to(RESIDENT)[-1].text)
        assert number is not None, fake.dms_to(RESIDENT)[-1].text
        request = bot.request(number.group(1))
        assert request["description"] == "Graffiti on my fence at 1400 Valencia St"
        assert request["media_url"].startswith(bot.url + "/"), "our own copy, not X's private URL"
        assert_published_without_metadata(httpx.get(request["media_url"]).content)


def test_a_refused_signature_is_logged_once_without_the_signature(
    fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    """A tester saw only the access line of a refused webhook: one WARNING says the signature was wrong and
    which setting signs it, without the signature, the secret or the event's words."""
    channel = make_channel(fake, Recorder())
    mention = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
    with caplog.at_level(logging.WARNING, logger="channels"), serve_channel(channel) as url:
        webhook = f"{url}/webhooks/twitter"
        for _ in range(3):
            forged = fake.post_activity(webhook, mention, "not the consumer secret")
            assert forged.status_code == 403
    [refused] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refused.levelname == "WARNING"
    said = refused.getMessage()
    assert "a wrong x-twitter-webhooks-signature on a POST to /webhooks/twitter" in said
    assert "twitter.consumer_secret" in said
    text = mention["tweet_create_events"][0]["text"]
    for private in (CONSUMER_SECRET, "not the consumer secret", "sha256=", text):
        assert private not in caplog.text
