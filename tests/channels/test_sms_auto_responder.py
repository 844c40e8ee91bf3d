"""An auto-responder on the other end (an out-of-office reply to every message) meets the bot over SMS,
through the Twilio fake: the bot answers a few of its messages, then stays silent, and the exchange stops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.loop_guard import HELD_BACK
from channels.fakes.twilio import FakeTwilio
from tests.channels.test_sms import RESIDENT, sms_settings, text
from tests.conversation.harness import RunningBot, running_bot
from tests.conversation.test_dialogue import CLEAR_REPORT
from tests.support.live_server import live_server

AWAY = "Thanks for your message. I am away from my phone until Monday and will reply when I can."
LIMIT = {"conversation": {"reply_limit": 4, "reply_limit_minutes": 60}}
# Far more rounds than the limit: before, the bot answered every one of them ("Where is it?").
ROUNDS = 40


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    twilio = FakeTwilio()
    with live_server(twilio.app) as url:
        twilio.base_url = url
        yield twilio


@pytest.fixture
def bot(settings: Settings, fake: FakeTwilio) -> Iterator[RunningBot]:
    with running_bot(settings, **sms_settings(fake), **LIMIT) as running:
        yield running


def test_an_auto_responder_gets_a_few_answers_then_silence(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    answered = [text(fake, bot, "There is a big pothole in the road")]
    with caplog.at_level("WARNING", logger="bot.loop_guard"):
        for _ in range(ROUNDS):
            # The auto-responder answers each message it gets, and only those.
            replies = text(fake, bot, AWAY)
            if not replies:
                break
            answered.append(replies)
        assert text(fake, bot, AWAY) == []  # a stray one more: still silent, logged no second time
    assert len(answered) == 4
    assert caplog.text.count("held back") == 1
    assert "4 of this sender's messages answered in the last 60 minutes" in caplog.text
    assert RESIDENT not in caplog.text
    held = [row for row in bot.outbox() if row.last_error == HELD_BACK]
    assert len(held) == 2
    assert {row.status for row in held} == {"suppressed"}
    assert bot.deliver().delivered == 0
    assert fake.sent == []
    # A real report from the number is still answered: its number is what a resident needs.
    [filed] = text(fake, bot, CLEAR_REPORT)
    assert "filed as #" in filed
    assert bot.request_count() == 1
    # Other residents are not affected.
    assert "Where is it?" in text(fake, bot, "There is a big pothole in the road", from_="+14155550124")[0]


def test_the_limit_can_be_turned_off(settings: Settings, fake: FakeTwilio) -> None:
    with running_bot(settings, **sms_settings(fake), conversation={"reply_limit": 0}) as bot:
        for _ in range(6):
            assert text(fake, bot, AWAY)
