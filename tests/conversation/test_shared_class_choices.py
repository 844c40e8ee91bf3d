"""Services that share a classifier class, with the bundled Toronto catalog: graffiti on a bridge, a road, a
sidewalk and a litter bin are four services the classifier's one ``graffiti`` goes to, and the bot offers
three of them at a time (``max_choices``).

Found by a black-box tester deploying for Toronto. Before: "graffiti on the sidewalk at 220 Yonge St" in
answer to "What kind of problem is it?" was read loosely as the label "Road - Graffiti Complaint" and filed
as that, at the old place, without the resident's words; the litter bin's service was never offered and no
words reached it ("litter bin", "SWLMALB-02", its whole name: "Sorry, I did not understand"); and "There is
graffiti all over the sidewalk" was asked which surface although the catalog's keywords say sidewalk."""

from __future__ import annotations

import pytest

from tests.conversation.harness import RunningBot
from tests.intents.toronto_gazetteer import TORONTO_CITY

# The gazetteer's street names stay in these tests (the ``toronto`` fixture, tests/conversation/conftest.py).
pytestmark = pytest.mark.usefixtures("city_street_names")

CHOICES = (
    "What kind of problem is it? Reply with the number or the words.\n"
    "1. Bridge - Graffiti Complaint\n"
    "2. Road - Graffiti Complaint\n"
    "3. Sidewalk - Graffiti Complaint\n"
    "4. Something else"
)
OFFENSIVE = (
    "Is the graffiti offensive (hate, racist or obscene)? Reply with the number or the words.\n1. Yes\n2. No"
)
FIRST_REPORT = "graffiti at 100 Queen St W"


def filed(bot: RunningBot, reply: str, service: str) -> dict[str, object]:
    """The request a reply says was filed as ``service``, as the API publishes it."""
    marker = "filed as #"
    assert marker in reply, reply
    assert f"({service})" in reply, reply
    number = reply.split(marker, 1)[1].split(" ", 1)[0]
    return bot.request(number)


def test_a_choice_answered_in_words_with_a_new_place_is_that_service_at_that_place(
    toronto_graffiti: RunningBot,
) -> None:
    ana = toronto_graffiti.resident("ana")
    assert ana.ask(FIRST_REPORT) == CHOICES
    assert ana.ask("graffiti on the sidewalk at 300 Yonge St") == OFFENSIVE
    request = filed(toronto_graffiti, ana.ask("2"), "Sidewalk - Graffiti Complaint")
    assert request["address"] == f"300 YONGE ST, {TORONTO_CITY}"
    assert request["description"] == f"{FIRST_REPORT}\ngraffiti on the sidewalk at 300 Yonge St"

    # The service's name and a place after it: the place alone replaces the old one.
    ben = toronto_graffiti.resident("ben")
    ben.ask(FIRST_REPORT)
    assert ben.ask("Sidewalk, 300 Yonge St") == OFFENSIVE
    request = filed(toronto_graffiti, ben.ask("no"), "Sidewalk - Graffiti Complaint")
    assert request["address"] == f"300 YONGE ST, {TORONTO_CITY}"

    # A location shared with the words: the point is where it is.
    cy = toronto_graffiti.resident("cy")
    cy.ask(FIRST_REPORT)
    assert cy.ask("graffiti on the sidewalk", lat=43.6570, long=-79.3810) == OFFENSIVE
    request = filed(toronto_graffiti, cy.ask("2"), "Sidewalk - Graffiti Complaint")
    assert (request["lat"], request["long"]) == (43.657, -79.381)
    assert request["description"] == f"{FIRST_REPORT}\ngraffiti on the sidewalk"


def test_the_catalogs_words_for_one_of_the_services_sharing_a_class_pick_it(
    toronto_graffiti: RunningBot,
) -> None:
    dee = toronto_graffiti.resident("dee")
    assert dee.ask("There is graffiti all over the sidewalk at 300 Yonge St") == OFFENSIVE
    filed(toronto_graffiti, dee.ask("2"), "Sidewalk - Graffiti Complaint")
    # Words no one of them has alone ("graffiti", "tag"): the resident is asked which, as before.
    assert toronto_graffiti.resident("eve").ask("someone tagged graffiti at 100 Queen St W") == CHOICES


@pytest.mark.parametrize(
    "answer",
    ["litter bin", "it's on a litter bin", "Litter Bin - Graffiti Complaint", "SWLMALB-02", "swlmalb-02"],
)
def test_a_service_not_shown_is_chosen_by_its_words_name_or_code(
    toronto_graffiti: RunningBot, answer: str
) -> None:
    fay = toronto_graffiti.resident("fay")
    assert fay.ask(FIRST_REPORT) == CHOICES
    request = filed(toronto_graffiti, fay.ask(answer), "Litter Bin - Graffiti Complaint")
    assert request["service_code"] == "SWLMALB-02"
    assert request["address"] == f"100 QUEEN ST W, {TORONTO_CITY}"


def test_something_else_offers_the_services_that_did_not_fit_before_a_person(
    toronto_graffiti: RunningBot,
) -> None:
    gus = toronto_graffiti.resident("gus")
    gus.ask(FIRST_REPORT)
    others = "What kind of problem is it? Reply with the number or the words.\n"
    others += "1. Litter Bin - Graffiti Complaint\n2. Something else"
    assert gus.ask("4") == others
    filed(toronto_graffiti, gus.ask("1"), "Litter Bin - Graffiti Complaint")

    hal = toronto_graffiti.resident("hal")
    hal.ask(FIRST_REPORT)
    assert hal.ask("something else") == others
    assert hal.ask("something else") == "Thanks. A person will look at your report and get back to you here."
    [item] = toronto_graffiti.review_items()
    assert item.text == FIRST_REPORT
    # The first choices can still be answered after "something else".
    ivy = toronto_graffiti.resident("ivy")
    ivy.ask(FIRST_REPORT)
    ivy.ask("something else")
    assert ivy.ask("it's on the sidewalk") == OFFENSIVE
