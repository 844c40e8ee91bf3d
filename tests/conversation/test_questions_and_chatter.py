"""A question that is no report opens no report, and a whole report sent while the place of words of no
known kind is asked is a report of its own.

Found by a black-box tester on X. Before: "Anyone know if @SF311 is open on Thanksgiving?" was answered
"Where is it? Send an address…" and began a report that lasted 72 hours; the person's next real report,
"Broken streetlight at Castro St and 18th St", was asked its kind instead of being filed, and the request
published "Anyone know if @SF311 is open on Thanksgiving?\\nBroken streetlight at Castro St and 18th St". A
journalist's press tweet ended up in the description of their next report the same way."""

from __future__ import annotations

from bot.templates import load_templates
from tests.conversation.harness import RunningBot

NOT_A_REPORT = (
    "I take reports of problems in the city: send what it is and where, for example: pothole at 5th St and"
    " Market St. I cannot answer questions here."
)
STREETLIGHT = "Broken streetlight at Castro St and 18th St"


def filed_request(bot: RunningBot, reply: str) -> dict[str, object]:
    assert "filed as #" in reply, reply
    return bot.request(reply.split("filed as #", 1)[1].split(" ", 1)[0])


def test_a_question_that_is_no_report_opens_none(bot: RunningBot) -> None:
    templates = load_templates()
    for number, (question, language) in enumerate(
        [
            ("Anyone know if 311 is open on Thanksgiving?", "en"),
            ("Where do I vote?", "en"),
            ("¿Está abierta la oficina del 311 el Día de Acción de Gracias?", "es"),
            ("感恩节311开门吗？", "zh"),
        ]
    ):
        resident = bot.resident(f"asker{number}")
        reply = resident.ask(question)
        assert reply == templates.render("not_a_report", language)
        # Nothing waits for the next message: a report is a report, a place alone asks what.
        if number == 0:
            assert reply == NOT_A_REPORT
            request = filed_request(bot, resident.ask(STREETLIGHT))
            assert request["description"] == STREETLIGHT
        else:
            what = templates.render("ask_what_point", language)
            assert resident.ask("Castro St and 18th St") == what
    assert bot.request_count() == 1
    assert bot.review_items() == []


def test_a_whole_report_after_words_of_no_known_kind_is_filed_alone(bot: RunningBot) -> None:
    press = bot.resident("press")
    statement = "We are writing a story about 311 response times in the city, please DM our newsroom"
    assert press.ask(statement).startswith("Where is it?")  # no question mark: it may be a report
    request = filed_request(bot, press.ask(STREETLIGHT))
    assert request["description"] == STREETLIGHT
    assert request["address"] == "CASTRO ST & 18TH ST, San Francisco, CA"
    assert bot.review_items() == []
    # Its place, though, is the answer: a report of that kind goes to a person, as before.
    vague = bot.resident("vague")
    assert vague.ask("Something weird is going on").startswith("Where is it?")
    assert "A person will look" in vague.ask("Castro St and 18th St")


def test_a_vague_report_without_a_place_is_still_asked_where(bot: RunningBot) -> None:
    for number, report in enumerate(
        [
            "Can someone fix the pothole?",
            "The streetlight on my block has been out for a week. Can someone take care of it?",
        ]
    ):
        assert bot.resident(f"vague{number}").ask(report).startswith("Where is it?"), report
