"""What the bot's replies cost over SMS, counted in segments through the Twilio fake (GSM-7: 160 characters
alone, 153 a part; one character outside it makes the message UCS-2: 70 alone, 67 a part). A tester found
HELP in the middle of a report answered with the help and the pending question in one message: AYUDA 6
segments (the question's accents made the accent-free help UCS-2), HELP and 帮助 3 each, where the README
promises the help in two."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.clock import utcnow
from bot.config import Settings
from bot.open311.models import ServiceRequestRow
from channels.fakes.twilio import FakeTwilio
from channels.gsm7 import segments
from tests.channels.conftest import sms_settings, text
from tests.conversation.harness import RunningBot, running_bot

CITY = {"conversation": {"program_name": "SF311", "help_contact": "311, sf311.org"}}


@pytest.fixture
def city_bot(settings: Settings, fake: FakeTwilio) -> Iterator[RunningBot]:
    with running_bot(settings, **sms_settings(fake), **CITY) as running:
        yield running


@pytest.mark.parametrize(
    ("number", "report", "help_word", "pending"),
    [
        ("+14155550131", "there is a pothole", "HELP", "answer to the question above"),
        ("+14155550132", "hay un bache", "AYUDA", "respuesta a la pregunta anterior"),
        ("+14155550133", "这里有个坑洞", "帮助", "回答上面的问题"),
    ],
)
def test_help_in_the_middle_of_a_report_costs_at_most_two_segments(
    fake: FakeTwilio, city_bot: RunningBot, number: str, report: str, help_word: str, pending: str
) -> None:
    text(fake, city_bot, report, from_=number)  # the question the report waits on
    replies = text(fake, city_bot, help_word, from_=number)
    assert sum(segments(reply) for reply in replies) <= 2, [(len(r), segments(r), r) for r in replies]
    # Still the help the carriers require, and the resident still knows the report waits on an answer.
    assert "STOP" in replies[0]
    assert pending in replies[-1], replies


def test_segments_counts_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("á" * 70) == 1
    assert segments("á" * 71) == 2
    assert segments("á" * 134) == 2
    assert segments("坑" * 135) == 3
    assert segments("{" * 80) == 1  # the extension table's characters count two
    assert segments("{" * 81) == 2


def test_a_batch_report_costs_two_segments_and_names_a_short_reference(
    fake: FakeTwilio, city_bot: RunningBot
) -> None:
    """A missed collection (a batch service: filed under a token, numbered later) cost 4 segments, each of
    its two messages naming the 32-digit token; STATUS takes the short reference shown, and the token."""
    number = "+14155550134"
    [received] = text(fake, city_bot, "my trash was not picked up at 5th St and Market St", from_=number)
    city_bot.runtime.open311.accept_pending_tokens(now=utcnow() + timedelta(hours=1))
    city_bot.notify()
    city_bot.deliver()
    [filed] = [sms.body for sms in fake.sent if sms.to == number]
    assert "was received with reference" in received
    assert "is now filed as #" in filed
    assert segments(received) + segments(filed) <= 2, (received, filed)
    [token] = [row.token for row in _requests(city_bot)]
    assert token is not None
    assert len(token) == 32
    assert token not in received + filed
    reference = token[:8]
    assert f"reference {reference}." in received
    assert filed.startswith(f"Your report {reference} is now filed as #")
    [by_short] = text(fake, city_bot, f"STATUS {reference}", from_=number)
    [by_token] = text(fake, city_bot, f"STATUS {token}", from_=number)
    assert by_short == by_token
    assert by_short.startswith("Report #")
    # Someone else's short reference is no reference of theirs.
    [stranger] = text(fake, city_bot, f"STATUS {reference}", from_="+14155550135")
    assert stranger == f"I could not find a report {reference}."


def _requests(bot: RunningBot) -> list[ServiceRequestRow]:
    with bot.runtime.sessions() as session:
        return list(session.exec(select(ServiceRequestRow)).all())
