"""Resident commands end to end over the local channel: STATUS of a reference still waiting for a number,
and STOP in the words residents really text (Spanish too, and a short request in English)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.templates import load_templates
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot

# Its pothole service answers with a token; the catalog names it in English only.
BATCH_CATALOG = "batch_catalog.toml"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Report {token} (Pothole) was received and is waiting for a number."),
        ("es", "El reporte {token} (Pothole) fue recibido y espera un número."),
        ("zh", "报告 {token}（Pothole）已收到，正在等待编号。"),
    ],
)
def test_status_of_a_reference_waiting_for_its_number_reads_as_words(
    settings: Settings, language: str, expected: str
) -> None:
    # Before: "... waiting for a number (received)", the core's status code, in every language.
    catalog = Path(__file__).with_name(BATCH_CATALOG)
    with running_bot(settings, open311={"catalog_file": catalog}) as bot:
        resident = bot.resident("rosa", language=language)
        filed = resident.ask(CLEAR_REPORT)
        match = re.search(r"[0-9a-f]{8,}", filed)
        assert match, filed
        token = match.group(0)
        assert resident.ask("status") == expected.format(token=token)
        assert resident.ask(f"status {token}") == expected.format(token=token)


@pytest.mark.parametrize("language", ["en", "es", "zh"])
@pytest.mark.parametrize("status", ["open", "closed", "received", "pending", "rejected"])
def test_every_status_a_resident_can_be_told_has_a_word_in_each_language(language: str, status: str) -> None:
    # A city's rewording that keeps {status} in status_token reads a word, never the code.
    templates = load_templates()
    word = templates._by_language[language][f"status_word_{status}"]
    assert templates.status_word(status, language) == word


STOPPED = {
    "en": "You will get no more messages from us.",
    "es": "No recibirá más mensajes nuestros.",
    "zh": "您将不会再收到我们的消息。",
    # Written in traditional characters, answered in them.
    "zh-Hant": "您將不會再收到我們的消息。",
}


@pytest.mark.parametrize(
    ("text", "language", "start"),
    [
        ("STOP STOP", "en", "start"),
        ("please stop texting me", "en", "START"),
        ("Stop messaging me!", "en", "start"),
        ("unsubscribe me please", "en", "start"),
        ("ALTO", "es", "INICIAR"),
        ("parar", "es", "empezar"),
        ("Basta ya", "es", "Iniciar"),
        ("dejen de enviarme mensajes por favor", "es", "INICIAR"),
        ("别再发了", "zh", "开始"),
        # Each of these started a report, and the resident kept getting messages.
        ("ya no me manden mensajes porfa", "es", "INICIAR"),
        ("no quiero recibir mas mensajes", "es", "INICIAR"),
        ("別再發了", "zh-Hant", "開始"),
        ("唔好再send嘢俾我", "zh", "開始"),
        ("唔該停止發送", "zh-Hant", "开始"),
        # An SMS program reviewer's: each began a report, and the updates went on (the FCC counts them as
        # revoking consent).
        ("Please stop. I don't want these texts", "en", "START"),
        ("STOP 🛑", "en", "start"),
        ("END ✋", "en", "start"),
        ("Cancel my subscription", "en", "start"),
        ("Stop sending me updates about the pothole", "en", "start"),
        ("退订，谢谢", "zh", "开始"),
    ],
)
def test_stop_in_the_words_residents_text(bot: RunningBot, text: str, language: str, start: str) -> None:
    # Before: all but a single English word started a report ("Where is it?").
    resident = bot.resident("nina")
    request_id = filed_id(resident.ask(CLEAR_REPORT))
    assert resident.ask(text).startswith(STOPPED[language])
    assert resident.say("There is a big pothole in the road") == []
    bot.runtime.open311.update_status(request_id, "closed", actor="crew")
    assert bot.deliver().delivered == 0
    assert resident.say(start) != []  # back again, in the words of the same language
    assert f"#{request_id}" in resident.ask("status")


@pytest.mark.parametrize(
    "text",
    [
        "bus stop sign is down at 5th St and Market St",
        "stop sign missing at 5th and Market",
        "stop the leak",
        "Stop. There is a pothole at 5th St and Market St",
    ],
)
def test_a_report_that_only_has_the_word_stop_in_it_is_a_report(bot: RunningBot, text: str) -> None:
    resident = bot.resident("omar")
    assert not resident.ask(text).startswith(STOPPED["en"])
    assert resident.say("status") != []  # not opted out


def test_cancel_or_status_with_a_reference_is_a_command_not_a_report(bot: RunningBot) -> None:
    # Before: "CANCEL 109" and "status -1" were reports ("Where is it?"), and went to a person.
    ada = bot.resident("ada")
    request_id = filed_id(ada.ask(CLEAR_REPORT))
    assert ada.ask(f"CANCEL {request_id}").startswith(f"Report #{request_id} is already filed")
    assert ada.ask("status -1") == "I could not find a report -1."
    assert bot.request(request_id)["status"] == "open"
    assert bot.review_items() == []


def test_stop_during_a_report_says_nothing_was_filed(bot: RunningBot) -> None:
    bea = bot.resident("bea")
    assert "Where is it?" in bea.ask("There is a big pothole in the road")
    # Before: only "You will get no more messages from us...", the report silently dropped.
    assert bea.ask("STOP").startswith("Cancelled. Nothing was filed. You will get no more messages")
    assert bot.request_count() == 0
