"""Answers said with more words than the choice itself, found by black-box testers: "Thanks!" and more to
"Is it at ...?" was taken for another place (the place asked about forgotten, "Where is it?" asked), "the
first one obviously" was not understood as choice 1, and "yes it's offensive, it's a slur" was not taken
as Yes for a Yes/No attribute."""

from __future__ import annotations

import pytest

from tests.conversation.harness import RunningBot
from tests.conversation.test_shared_class_choices import CHOICES, FIRST_REPORT, OFFENSIVE, filed

CONFIRM = "Is it at VALENCIA ST & 16TH ST, San Francisco, CA?\n1. Yes\n2. No"
MISSPELT = "There is a huge pothole at Valenica St and 16th St"


@pytest.mark.parametrize(
    "thanks", ["Thanks! I appreciate it", "thanks for the quick reply", "thank you so much"]
)
def test_thanks_to_is_it_at_is_no_answer_and_keeps_the_place(bot: RunningBot, thanks: str) -> None:
    ana = bot.resident("ana")
    assert ana.ask(MISSPELT) == CONFIRM
    assert ana.ask(thanks) == CONFIRM
    request = filed(bot, ana.ask("yes"), "Pothole")
    assert request["address"] == "VALENCIA ST & 16TH ST, San Francisco, CA"


@pytest.mark.parametrize("answer", ["thanks, yes", "the first one obviously", "the first one"])
def test_a_yes_said_otherwise_files_at_the_place_asked_about(bot: RunningBot, answer: str) -> None:
    ben = bot.resident("ben")
    assert ben.ask(MISSPELT) == CONFIRM
    request = filed(bot, ben.ask(answer), "Pothole")
    assert request["address"] == "VALENCIA ST & 16TH ST, San Francisco, CA"


@pytest.mark.usefixtures("city_street_names")
def test_a_choice_by_its_place_with_more_words(toronto_graffiti: RunningBot) -> None:
    cy = toronto_graffiti.resident("cy")
    assert cy.ask(FIRST_REPORT) == CHOICES
    assert cy.ask("the first one obviously") == OFFENSIVE
    request = filed(toronto_graffiti, cy.ask("the second one, thanks"), "Bridge - Graffiti Complaint")
    assert request["service_code"] == "CSROWBM-03"


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("yes it's offensive, it's a slur", "Y"),
        ("yeah, racist words", "Y"),
        ("no, just tags", "N"),
        ("2", "N"),
    ],
)
@pytest.mark.usefixtures("city_street_names")
def test_a_yes_or_no_attribute_answered_with_a_yes_or_no_and_more(
    toronto_graffiti: RunningBot, answer: str, value: str
) -> None:
    dee = toronto_graffiti.resident("dee")
    dee.ask(FIRST_REPORT)
    assert dee.ask("Road") == OFFENSIVE
    request = filed(toronto_graffiti, dee.ask(answer), "Road - Graffiti Complaint")
    stored = toronto_graffiti.runtime.open311.get_request(str(request["service_request_id"]))
    assert dict(stored.attributes) == {"offensive": value}


@pytest.mark.usefixtures("city_street_names")
def test_no_idea_is_no_no(toronto_graffiti: RunningBot) -> None:
    eve = toronto_graffiti.resident("eve")
    eve.ask(FIRST_REPORT)
    eve.ask("Road")
    assert eve.ask("no idea").startswith("Sorry, I did not understand that answer.")
