"""What a channel adds to a message besides its words: a language tag (X's ``lang``, the local channel's
``language``) and a location (a phone that adds one to every tweet), as black-box testers on X met them.

Before: the tag overrode the words ("AYUDA" and "帮助" tagged "en" got the English help, "Hay un bache
enorme en Mission St y 24th St" tagged "en" was answered in English); STOP, STATUS or thanks sent with a
location became a report at that point ("Thanks. A person will look at your report...")."""

from __future__ import annotations

from bot.templates import load_templates
from tests.conversation.harness import RunningBot

# Near 5th St and Market St, where the phone is.
PHONE = {"lat": 37.7838, "long": -122.4079}


def test_the_words_language_comes_before_the_channels_tag(bot: RunningBot) -> None:
    templates = load_templates()
    assert bot.resident("ana").ask("AYUDA", language="en") == templates.render("help", "es")
    assert bot.resident("bo").ask("帮助", language="en") == templates.render("help", "zh")
    filed = bot.resident("cy").ask("Hay un bache enorme en Mission St y 24th St", language="en")
    assert filed.startswith("¡Gracias! Su reporte quedó registrado"), filed
    # Where the words tell no language (a place alone, a photo), the tag does, as before.
    assert bot.resident("di").ask("Mission St y 24th St", language="es") == templates.render(
        "ask_what_point", "es"
    )
    photo = bot.resident("ed").ask(media_url="https://example.org/p.jpg", language="es")
    assert photo == templates.render("ask_what_photo", "es")


def test_commands_and_thanks_with_a_location_are_no_report(bot: RunningBot) -> None:
    templates = load_templates()
    fay = bot.resident("fay", **PHONE)
    assert fay.ask("STATUS") == templates.render("status_none", "en")
    assert fay.say("thanks") == []
    assert fay.ask("hi") == templates.render("help", "en")
    stopped = fay.say("STOP")
    assert [reply["text"] for reply in stopped] == [templates.render("stopped", "en")]
    assert bot.request_count() == 0
    assert bot.review_items() == []


def test_a_location_sent_when_the_bot_asks_where_is_the_answer(bot: RunningBot) -> None:
    gus = bot.resident("gus")
    assert gus.ask("There is a huge pothole in the road").startswith("Where is it?")
    # "ok" with the location: the location answers (the words are no command or report).
    filed = gus.ask("ok", **PHONE)
    assert "filed as #" in filed, filed
