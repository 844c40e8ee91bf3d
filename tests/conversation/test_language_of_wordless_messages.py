"""The language of the replies to a message with no words (a photo, a shared location).

Found by an SMS tester: a Spanish resident's question "¿Cuándo van a venir a arreglarlo?" was answered in
English, and so was the photo they sent next. The question is STATUS now, answered in Spanish; a photo or a
location tagged by its channel with another language (Telegram sends the app's language with a message
that has no words) kept the channel's guess over the language the resident writes in.
"""

from __future__ import annotations

from tests.conversation.harness import RunningBot

PHOTO = "https://example.org/photos/bache.jpg"


def test_a_spanish_residents_status_question_and_photo_are_answered_in_spanish(bot: RunningBot) -> None:
    eli = bot.resident("+15550031")
    number = eli.ask("Hay un bache enorme en Mission St y 24th St").split("#", 1)[1].split(" ", 1)[0]
    assert eli.ask("¿Cuándo van a venir a arreglarlo?") == f"El reporte #{number} (Bache) está abierto."
    assert eli.ask(media_url=PHOTO) == f"Gracias, la foto quedó agregada al reporte #{number}."


def test_a_photo_or_a_location_without_words_keeps_the_residents_language(bot: RunningBot) -> None:
    # Before: the channel's language (an English Telegram app's) answered the photo in English, and the
    # dialogue went on in English.
    flo = bot.resident("flo")
    number = flo.ask("Hay una farola rota en Mission St y 24th St").split("#", 1)[1].split(" ", 1)[0]
    assert flo.ask(media_url=PHOTO, language="en") == f"Gracias, la foto quedó agregada al reporte #{number}."
    assert flo.ask(lat=37.7599, long=-122.4148, language="en").startswith("Gracias, tengo su ubicación.")
    assert "registrado con el número" in flo.ask("hay basura", language="en")
    # The channel's language still answers a first message without words.
    assert bot.resident("gus").ask(media_url=PHOTO, language="es").startswith("Gracias")
