"""What residents ask instead of reporting: about the report they made, for information, or to be left
alone; and thanks with praise. Found by a black-box tester texting the bot as residents: each below opened a
new report ("Where is it?"), and one question was filed as a public Missed Trash request with the
resident's next message as its place."""

from __future__ import annotations

from bot.templates import load_templates
from tests.conversation.harness import RunningBot

STREETLIGHT = "Broken streetlight at Castro St and 18th St"


def filed_number(reply: str) -> str:
    assert "filed as #" in reply, reply
    return reply.split("filed as #", 1)[1].split(" ", 1)[0]


def test_a_question_after_a_report_asks_its_status(bot: RunningBot) -> None:
    questions = [
        "did anybody pick up the mattress yet?",
        "Is anyone coming to fix it?",
        "how long will it take",
        "when?",
        "WHEN WILL SOMEBODY COME OUT TO FIX THE LIGHT",
        "¿Cuándo van a venir a arreglarlo?",
        "什么时候修好？",
    ]
    for number, question in enumerate(questions):
        resident = bot.resident(f"asker{number}")
        request_id = filed_number(resident.ask(STREETLIGHT))
        reply = resident.ask(question)
        assert f"#{request_id}" in reply, (question, reply)
        assert "Where is it?" not in reply, (question, reply)
        assert "¿Dónde" not in reply, (question, reply)
    # One request each, nothing more filed or queued.
    assert bot.request_count() == len(questions)
    assert bot.review_items() == []


def test_a_question_for_information_opens_no_report(bot: RunningBot) -> None:
    templates = load_templates()
    for number, (question, language) in enumerate(
        [
            ("what are your hours on Sunday?", "en"),
            ("is the trash pickup delayed for thanksgiving", "en"),
            ("How do I get a parking permit?", "en"),
            ("¿Cómo consigo un permiso de estacionamiento?", "es"),
        ]
    ):
        resident = bot.resident(f"info{number}")
        assert resident.ask(question) == templates.render("not_a_report", language), question
        # Nothing waits for a place: the resident's address alone files nothing.
        assert resident.ask("1200 Clay St") == templates.render("ask_what_point", language), question
    assert bot.request_count() == 0
    assert bot.review_items() == []


def test_asking_to_be_removed_opts_out_and_thanks_with_praise_opens_nothing(bot: RunningBot) -> None:
    templates = load_templates()
    for number, words in enumerate(["REMOVE ME", "please take me off your list", "I want to unsubscribe"]):
        resident = bot.resident(f"leaver{number}")
        assert resident.ask(words) == templates.render("stopped", "en"), words
        assert resident.say("pothole at 5th St and Market St") == [], words  # opted out: no reply
    thankful = bot.resident("thankful")
    filed_number(thankful.ask(STREETLIGHT))
    praise = ["THANK YOU SO MUCH YOU ARE VERY KIND", "THANK YOU VERY MUCH FOR FIXING THE LIGHT GOD BLESS"]
    for words in praise:
        for reply in thankful.say(words):
            assert "Where is it?" not in reply["text"], (words, reply)
            assert not reply["choices"], (words, reply)
    assert bot.request_count() == 1
    # (What the opted-out residents sent is kept for a person, as every report after STOP is.)
    assert [item.resident_id for item in bot.review_items() if item.resident_id == "thankful"] == []
