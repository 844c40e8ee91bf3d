"""Language detection on what residents actually write: short, full of street names, sometimes mixed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from intents.language import SUPPORTED_LANGUAGES, detect_language
from intents.splits import default_data_dir, labelled_file

MULTILINGUAL = Path(__file__).parent / "data" / "multilingual.jsonl"


def test_spanish_and_chinese_messages_are_recognised() -> None:
    rows = [json.loads(line) for line in MULTILINGUAL.read_text(encoding="utf-8").splitlines() if line]
    wrong = [
        (row["text"], detect_language(row["text"]))
        for row in rows
        if detect_language(row["text"]) != row["language"]
    ]
    assert {row["language"] for row in rows} == {"es", "zh"}
    assert len(wrong) <= len(rows) // 20, wrong


def test_real_english_messages_stay_english() -> None:
    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("the shared data directory (../shared/data) is not beside this checkout")
    with labelled_file(data_dir).open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    not_english = [text for text in texts if detect_language(text) != "en"]
    # Boston's messages are English (a handful are only a street name or an emoji).
    assert len(not_english) / len(texts) < 0.02, not_english[:20]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Pothole", "en"),
        ("hello", "en"),  # lingua alone says Spanish (0.61): too unsure to overrule the default
        ("Pothole on Mission", "en"),
        ("bache", "es"),
        ("Hay un bache enorme en la calle Mission", "es"),  # lingua alone says English
        ("Nieve sin palear", "es"),
        ("Hola", "es"),  # a greeting alone: lingua is too unsure either way
        ("Buenas tardes, necesito ayuda", "es"),
        ("Market街的路灯坏了", "zh"),  # a Latin street name inside Chinese
        ("路燈不亮", "zh"),  # traditional characters
    ],
)
def test_short_and_mixed_messages(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "   ", "12345", "!!!", "👍"])
def test_nothing_to_go_on_gives_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="es") == "es"


def test_only_supported_languages_come_out() -> None:
    for text in ["Bonjour, il y a un nid-de-poule", "Guten Tag, Schlagloch hier", "こんにちは", "Привет"]:
        assert detect_language(text) in SUPPORTED_LANGUAGES
