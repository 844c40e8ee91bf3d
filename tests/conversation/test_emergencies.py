"""A message that sounds like an emergency is told to call 911 before anything else. Found by a black-box
tester working the operator console: "smells like gas???" was answered "I cannot answer questions here",
and a gas smell, a downed live wire or a man collapsed on the sidewalk got "A person will look at your
report", which may be hours later."""

from __future__ import annotations

from bot.templates import load_templates
from tests.conversation.harness import RunningBot


def test_danger_is_told_to_call_911_first_and_the_report_still_goes_on(bot: RunningBot) -> None:
    templates = load_templates()
    for number, (message, language) in enumerate(
        [
            ("I smell gas near 24th St and Mission St", "en"),
            ("downed power line sparking on Market St and 5th St", "en"),
            ("a man collapsed on the sidewalk at Castro St and 18th St", "en"),
            ("huele a gas en Mission y 24", "es"),
            ("闻到煤气味 Mission St 和 24th St", "zh"),
        ]
    ):
        reply = bot.resident(f"danger{number}").ask(message)
        notice = templates.render("emergency", language)
        assert reply.startswith(notice), (message, reply)
        assert reply != notice, "the report goes on after the notice"

    # Not a question for information: the gas smell is a report, asked where it is.
    resident = bot.resident("gas")
    reply = resident.ask("smells like gas???")
    assert reply.startswith(templates.render("emergency", "en")), reply
    assert templates.render("ask_location", "en") in reply, reply
    assert "cannot answer questions" not in reply
    resident.ask("24th St and Mission St")
    assert len(bot.review_items()) + bot.request_count() == 6, "every report is kept"


def test_words_that_only_share_a_word_with_danger_get_no_notice(bot: RunningBot) -> None:
    notice = load_templates().render("emergency", "en")
    for number, message in enumerate(
        [
            "fire hydrant leaking at 5th St and Market St",
            "car parked in the fire lane at 16th St and Valencia St",
            "the sidewalk collapsed near 24th St and Mission St",
            "trash all over behind the gas station at Castro St and 18th St",
        ]
    ):
        assert notice not in bot.resident(f"calm{number}").ask(message), message
