"""A resident's messages while their report waits for a person (the review queue): more about it is added
to it, CANCEL withdraws it. Found by a black-box tester on the local channel."""

from __future__ import annotations

import re

from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id

CRACK = "https://example.org/photos/crack.jpg"


def test_a_photo_and_words_right_after_a_report_went_to_a_person_are_added_to_it(bot: RunningBot) -> None:
    # Before: "Where is it?" to both, then "Church St and Market St" filed #57 on its own, and the item
    # waited without the photo (approving it filed a duplicate).
    b03 = bot.resident("b03")
    sent = b03.ask("can someone check out Church and Market? not sure who to call")
    assert "A person will look" in sent
    assert b03.ask("here is a photo of it", media_url=CRACK) == "Added to your report waiting for a person."
    assert b03.ask("it is a big crack in the sidewalk") == "Added to your report waiting for a person."
    assert b03.ask("Church St and Market St") == "Added to your report waiting for a person."
    assert bot.request_count() == 0
    [item] = bot.review_items()
    assert item.status == "pending"
    assert item.media_urls == [CRACK]
    assert item.text == (
        "can someone check out Church and Market? not sure who to call\n"
        "it is a big crack in the sidewalk\nChurch St and Market St"
    )
    # A question that is no report is not added to it.
    assert b03.ask("Anyone know if 311 is open on Thanksgiving?").startswith("I take reports of problems")
    # A whole other report (a sure kind at another place) is still a report of its own.
    assert filed_id(b03.ask(CLEAR_REPORT))
    assert len(bot.review_items()) == 1
    # The operator files the report waiting with its photo.
    assert item.id is not None
    with bot.runtime.sessions() as session:
        approved = bot.messaging.review_queue.approve(session, item.id, "olivia", service_code="sidewalk")
        session.commit()
    assert approved.service_request_id is not None
    assert bot.request(approved.service_request_id)["media_url"] == CRACK


def test_never_mind_withdraws_the_report_waiting_for_a_person(bot: RunningBot) -> None:
    # Before: "There is nothing to cancel: no report is in progress." to both, and the item still waited.
    ana = bot.resident("ana")
    assert "A person will look" in ana.ask("can someone check out Church and Market? not sure who to call")
    withdrawn = "Withdrawn: your report waiting for a person is cancelled. Nothing was filed."
    assert ana.ask("never mind, it has been cleaned") == withdrawn
    [item] = bot.review_items()
    assert item.status == "closed"
    assert item.rejection_reason == 'Withdrawn by the resident: "never mind, it has been cleaned"'
    assert ana.ask("CANCEL") == "There is nothing to cancel: no report is in progress."
    assert "A person will look" in ana.ask("Something strange at 4th St and Mission St")
    assert ana.ask("CANCEL") == withdrawn
    assert [item.status for item in bot.review_items()] == ["closed", "closed"]


def test_a_photo_while_the_place_is_asked_about_keeps_the_place(bot: RunningBot) -> None:
    # Before: the words were looked up as the place, "Where is it?", and "yes" then "Where is it?" again.
    cy = bot.resident("cy")
    asked = cy.ask("sidewalk is cracked and lifted at 2000 Mission St")
    assert asked.startswith("Is it at 2000 MISSION ST")
    assert cy.ask("here is a photo of it", media_url=CRACK) == asked
    filed = re.search(r"filed as #(\d+) \(Sidewalk or Curb Repair\)", cy.ask("yes"))
    assert filed is not None
    assert bot.request(filed.group(1))["media_url"] == CRACK


def test_another_place_after_no_moves_the_report_waiting_for_a_person(bot: RunningBot) -> None:
    # Found by the operator-console tester: "no, valencia and 17th" began a new report ("What is the problem
    # there?"), filed on the next words, while the item waited at 16th St (approving it filed a duplicate).
    h1 = bot.resident("h1")
    assert "A person will look" in h1.ask("there is a problem with the thing at Valencia St and 16th St")
    moved = h1.ask("no, valencia and 17th")
    assert moved == (
        "Thanks, your report waiting for a person is now at VALENCIA ST & 17TH ST, San Francisco, CA."
    )
    assert h1.ask("it's a broken streetlight actually") == "Added to your report waiting for a person."
    assert bot.request_count() == 0
    [item] = bot.review_items()
    assert item.status == "pending"
    assert (item.location_text, item.address_string) == (
        "valencia and 17th",
        "VALENCIA ST & 17TH ST, San Francisco, CA",
    )
    assert item.text is not None
    assert item.text.endswith("no, valencia and 17th\nit's a broken streetlight actually")
