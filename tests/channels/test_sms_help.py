"""What US carriers require of a 311 SMS program's HELP (CTIA messaging principles), end to end through the
Twilio fake: the program's name, a person to contact, "Msg&data rates may apply" and how to opt out, in one
or two segments; and HELP answered after STOP without opting the resident back in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import outbox
from bot.config import Settings
from bot.state import Resident
from channels.fakes.twilio import FakeTwilio
from channels.gsm7 import is_gsm7
from channels.messages import OutboundMessage
from tests.channels.conftest import RESIDENT, sms_settings, text
from tests.conversation.harness import RunningBot, running_bot

# Two concatenated GSM-7 segments hold 2 x 153 characters.
TWO_SEGMENTS = 306


def segments(text: str) -> int:
    """The SMS segments a text takes: GSM-7 160 characters alone or 153 a part, UCS-2 70 or 67."""
    if is_gsm7(text):
        return 1 if len(text) <= 160 else -(-len(text) // 153)
    return 1 if len(text) <= 70 else -(-len(text) // 67)


CITY = {"conversation": {"program_name": "SF311", "help_contact": "311, sf311.org"}}


@pytest.fixture
def city_bot(settings: Settings, fake: FakeTwilio) -> Iterator[RunningBot]:
    with running_bot(settings, **sms_settings(fake), **CITY) as running:
        yield running


def test_help_over_sms_names_the_program_a_person_the_rates_and_stop(
    fake: FakeTwilio,
    city_bot: RunningBot,
) -> None:
    [help_text] = text(fake, city_bot, "HELP")
    assert help_text.startswith("SF311: ")
    assert "Help from a person: 311, sf311.org." in help_text
    assert "Msg&data rates may apply." in help_text
    assert "Reply STOP to opt out." in help_text
    assert "STATUS" in help_text
    assert is_gsm7(help_text)
    assert len(help_text) <= TWO_SEGMENTS
    # Spanish and Chinese say the same: the name, the contact, the rates, STOP.
    [ayuda] = text(fake, city_bot, "AYUDA", from_="+14155550124")
    assert ayuda.startswith("SF311: ")
    assert "Para hablar con una persona: 311, sf311.org." in ayuda
    assert "Pueden aplicar tarifas de mensajes y datos." in ayuda
    assert "Responda STOP" in ayuda
    assert segments(ayuda) <= 2  # was 5: á, í, ó made it UCS-2
    [bangzhu] = text(fake, city_bot, "帮助", from_="+14155550125")
    assert bangzhu.startswith("SF311：")
    assert "人工帮助：311, sf311.org。" in bangzhu
    assert "可能收取短信和数据费用。" in bangzhu
    assert "回复 STOP 退订。" in bangzhu


def test_help_without_a_contact_configured_leaves_that_sentence_out(
    settings: Settings,
    fake: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level("WARNING", logger="bot.templates"),
        running_bot(settings, **sms_settings(fake)) as bot,
    ):
        [help_text] = text(fake, bot, "help")
    assert help_text.startswith("311: ")
    assert "Help from a person" not in help_text
    assert "Msg&data rates may apply. Reply STOP to opt out." in help_text
    assert "conversation.help_contact is not set" in caplog.text


def test_help_after_stop_is_answered_and_opts_no_one_back_in(
    fake: FakeTwilio,
    city_bot: RunningBot,
) -> None:
    assert text(fake, city_bot, "STOP") == []  # Twilio confirms its own keyword
    [help_text] = text(fake, city_bot, "HELP")
    assert "Msg&data rates may apply" in help_text
    assert "Help from a person: 311, sf311.org." in help_text
    # Found by a black-box tester: it said "Reply STATUS for updates" to someone who gets no updates.
    assert help_text.startswith("SF311: you opted out"), help_text
    assert "Reply START to get them again." in help_text
    assert "STATUS" not in help_text
    assert is_gsm7(help_text)
    assert len(help_text) <= TWO_SEGMENTS
    # Still opted out: a report gets no answer, a status update is not sent.
    assert text(fake, city_bot, "There is another pothole at 4th St and Mission St") == []
    with city_bot.runtime.sessions() as session:
        resident = session.get(Resident, ("sms", RESIDENT))
        assert resident is not None
        assert resident.opted_out
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="Status changed"))
        session.commit()
    assert city_bot.deliver().delivered == 0
    assert fake.sent == []
    # The answer to HELP is recorded as sent, the update as never sent.
    rows = city_bot.outbox()
    assert [(row.text[:6], row.status) for row in rows] == [("SF311:", "delivered"), ("Status", "suppressed")]
    # A Spanish opt-out word the bot answers itself, then AYUDA: answered in Spanish, still opted out.
    assert text(fake, city_bot, "ALTO", from_="+14155550126")[0].startswith("No recibirá más mensajes")
    [ayuda] = text(fake, city_bot, "ayuda", from_="+14155550126")
    assert "tarifas de mensajes y datos" in ayuda
    assert "START" in ayuda, ayuda
    assert "ESTADO" not in ayuda, ayuda
    assert segments(ayuda) <= 2
    assert text(fake, city_bot, "停止", from_="+14155550129")[0].startswith("您将不会再收到")
    [bangzhu] = text(fake, city_bot, "帮助", from_="+14155550129")
    assert "START" in bangzhu, bangzhu
    assert "状态" not in bangzhu, bangzhu
    assert segments(bangzhu) <= 2
    assert text(fake, city_bot, "hay un bache en 4th St y Mission St", from_="+14155550126") == []


def test_help_stays_within_two_segments_with_the_longest_name_and_contact(
    settings: Settings, fake: FakeTwilio
) -> None:
    longest = {"conversation": {"program_name": "P" * 20, "help_contact": "c" * 60}}
    with running_bot(settings, **sms_settings(fake), **longest) as bot:
        for number, word in (("+14155550127", "HELP"), ("+14155550128", "AYUDA")):
            [help_text] = text(fake, bot, word, from_=number)
            assert "c" * 60 in help_text
            assert segments(help_text) <= 2, (word, len(help_text), is_gsm7(help_text))
