"""The loop guard over SMS, through the Twilio fake: an auto-responder on the other end (an out-of-office
reply to every message) gets a few answers, then silence, and fills no operator's queue; a resident who
writes a lot (several reports, a long search for the place, HELP, STATUS) gets every answer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.loop_guard import HELD_BACK
from bot.review.models import ReviewItem
from channels.fakes.twilio import FakeTwilio
from tests.channels.conftest import RESIDENT, sms_settings, text
from tests.conversation.harness import RunningBot, running_bot
from tests.conversation.test_dialogue import CLEAR_REPORT

# What QA saw (a phone number was read as the place "415-555" then): every second message went to review.
AWAY = (
    "Auto-reply: I am out of the office until Monday Dec 1. For urgent matters contact my colleague at "
    "415-555-0188."
)
# Far more rounds than the guard answers: before, the bot answered every one of them.
ROUNDS = 40
# The default: the same text is answered this many times within reply_limit_minutes (10).
REPEATS = 5
# 25 messages in a few minutes, all different: reports filed at once, reports whose place takes a few
# tries (some end with a person), then HELP and STATUS. Before, the 16th on got no answer.
BUSY_RESIDENT = (
    CLEAR_REPORT,
    "Another pothole at 4th St and Mission St, deep one",
    "The streetlight is broken",
    "near the bakery",
    "the one by my house",
    "it is close to the park on the hill",
    "5th St and Market St",
    "Graffiti on the wall",
    "somewhere downtown",
    "by the big church",
    "4th St and Mission St",
    "Someone dumped a mattress on the sidewalk",
    "the corner near the school",
    "outside the library",
    "I am not sure of the street name",
    "Mission St and 4th St",
    "Garbage overflowing at 5th St and Market St",
    "There is a pothole",
    "on my street",
    "behind the grocery store",
    "5th and market",
    "a pothole near the bus stop",
    "Another broken streetlight at 4th St and Mission St",
    "HELP",
    "STATUS",
)


def review_items(bot: RunningBot) -> list[ReviewItem]:
    with bot.runtime.sessions() as session:
        return list(session.exec(select(ReviewItem).where(ReviewItem.resident_id == RESIDENT)).all())


def test_an_auto_responder_gets_a_few_answers_then_silence(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    answered = [text(fake, bot, "There is a big pothole in the road")]
    with caplog.at_level("INFO", logger="bot"):
        for _ in range(ROUNDS):
            # The auto-responder answers each message it gets, and only those.
            replies = text(fake, bot, AWAY)
            if not replies:
                break
            answered.append(replies)
        assert text(fake, bot, AWAY) == []  # a stray one more: still silent, logged no second time
    assert len(answered) == 1 + REPEATS
    assert caplog.text.count("held back") == 1
    assert f"its sender sent the same text {REPEATS + 1} times in the last 10 minutes" in caplog.text
    assert RESIDENT not in caplog.text
    held = [row for row in bot.outbox() if row.last_error == HELD_BACK]
    assert held
    assert {row.status for row in held} == {"suppressed"}
    assert bot.deliver().delivered == 0
    assert fake.sent == []
    # One item for a person, however often the auto-reply came (before: one every second message): the
    # resident's first report, whose place never came, with the auto-reply's words added to it once (they
    # came while it waited; before 6f84e9a's dedupe of them, six times over).
    [item] = review_items(bot)
    assert item.text == f"There is a big pothole in the road\n{AWAY}"
    assert item.status == "pending"
    # The operator rejects it; the rejection goes out, the auto-reply answers it: no answer.
    with bot.runtime.sessions() as session:
        bot.messaging.review_queue.reject(session, item.id or 0, "alice", "Not a city problem")
        session.commit()
    assert bot.deliver().delivered == 1
    assert text(fake, bot, AWAY) == []
    assert [entry.status for entry in review_items(bot)] == ["rejected"]
    # A command is answered, and a real report from the number: its number is what a resident needs.
    assert "Reply STOP to opt out" in text(fake, bot, "HELP")[0]
    [filed] = text(fake, bot, CLEAR_REPORT)
    assert "filed as #" in filed
    assert bot.request_count() == 1
    # Other residents are not affected.
    assert "Where is it?" in text(fake, bot, "There is a big pothole in the road", from_="+14155550124")[0]


def test_a_resident_who_writes_a_lot_gets_every_answer(fake: FakeTwilio, bot: RunningBot) -> None:
    answers = [text(fake, bot, body) for body in BUSY_RESIDENT]
    unanswered = [body for body, replies in zip(BUSY_RESIDENT, answers, strict=True) if not replies]
    assert unanswered == []
    assert "Reply STOP to opt out" in answers[-2][0]
    assert "Report #" in answers[-1][0]
    assert [row for row in bot.outbox() if row.last_error == HELD_BACK] == []


def test_an_absurd_rate_of_different_messages_is_held_back_but_commands(
    settings: Settings, fake: FakeTwilio
) -> None:
    with running_bot(settings, **sms_settings(fake), conversation={"reply_limit_max_messages": 3}) as bot:
        for body in ("Graffiti on the wall", "The streetlight is broken", "hello"):
            assert text(fake, bot, body)
        assert text(fake, bot, "what is this") == []
        assert "Reply STOP to opt out" in text(fake, bot, "HELP")[0]


def test_the_guard_can_be_turned_off(settings: Settings, fake: FakeTwilio) -> None:
    with running_bot(settings, **sms_settings(fake), conversation={"reply_limit_repeats": 0}) as bot:
        for _ in range(REPEATS + 3):
            assert text(fake, bot, AWAY)
