"""Confirming a place where a wrong one is plausible, through the real app and intents pipeline.

A corrected street name, a street without a number or cross street: the bot asks "Is it at ...?" with
Yes / No (numbered lines on the local channel); No asks for the place again. Exact addresses,
intersections of the streets written and shared GPS points are filed without the question (the clear
reports of test_dialogue.py, unchanged).
"""

from __future__ import annotations

import re

import pytest

from bot.conversation import ConversationEngine, DialogueState, Turn
from bot.state import Resident
from tests.conversation.harness import LocalResident, RunningBot, filed_id
from tests.conversation.test_prepared import CountingUnderstander

TYPO_REPORT = "There is a huge pothole in the road at Valenica St and 16th St"


def test_no_to_a_corrected_street_asks_for_the_place_again(bot: RunningBot) -> None:
    mia = bot.resident("mia")
    question = mia.ask(TYPO_REPORT)
    assert question == "Is it at VALENCIA ST & 16TH ST, San Francisco, CA?\n1. Yes\n2. No"
    assert bot.request_count() == 0

    again = mia.ask("2")
    assert "Where is it exactly?" in again
    assert bot.request_count() == 0

    request = bot.request(filed_id(mia.ask("1355 Market St")))
    # The answer is the place, not part of the description; the rejected place is gone.
    assert request["description"] == TYPO_REPORT
    assert request["address"] == "1355 MARKET ST, San Francisco, CA"
    assert request["lat"] == pytest.approx(37.777, abs=0.01)


def asked_for_the_place_again(bot: RunningBot, resident: str, answer: str) -> LocalResident:
    """``answer`` to "Where is it?" is no place: the bot asks again (no "Is it at ...?")."""
    talker = bot.resident(resident)
    assert "Where is it?" in talker.ask("There is a huge pothole in the road")
    reply = talker.ask(answer)
    assert "Is it at" not in reply, (answer, reply)
    assert "share your location" in reply, (answer, reply)
    return talker


def test_here_or_home_as_the_place_is_no_street_of_a_similar_name(bot: RunningBot) -> None:
    # Before: "Is it at HARE ST, San Francisco, CA?" and "Is it at HOMER ST...?" (typo corrections).
    for resident, answer in (("quinn", "here"), ("rosa", "at home"), ("sam", "near here")):
        talker = asked_for_the_place_again(bot, resident, answer)
    # A street written with a slip is still offered.
    assert "Is it at VALENCIA ST, San Francisco, CA?" in talker.ask("valenica")


def test_the_building_named_by_an_everyday_word_is_no_street_of_that_name(bot: RunningBot) -> None:
    # Before: "Is it at CHURCH ST, San Francisco, CA?" and "Is it at SCHOOL ALY...?".
    for resident, answer in (("una", "near the church"), ("vic", "by the school")):
        talker = asked_for_the_place_again(bot, resident, answer)
    # Without the article it is the street; with its type after "the" too (before: the Great Highway
    # was found only after "on the").
    assert "Is it at CHURCH ST, San Francisco, CA?" in talker.ask("on Church")
    wes = bot.resident("wes")
    assert "Where is it?" in wes.ask("There is a huge pothole in the road")
    assert "Is it at GREAT HWY, San Francisco, CA?" in wes.ask("the Great Highway")


def test_yes_keeps_the_place_and_files(bot: RunningBot) -> None:
    noah = bot.resident("noah")
    assert "Is it at MARKET ST, San Francisco, CA?" in noah.ask(
        "There is a huge pothole in the road on Market St"
    )
    # HELP in the middle repeats the question.
    assert noah.ask("help").endswith("Is it at MARKET ST, San Francisco, CA?\n1. Yes\n2. No")
    request = bot.request(filed_id(noah.ask("yes")))
    assert request["address"] == "MARKET ST, San Francisco, CA"


def test_another_place_instead_of_yes_or_no_is_the_answer(bot: RunningBot) -> None:
    olga = bot.resident("olga")
    assert "Is it at" in olga.ask(TYPO_REPORT)
    request = bot.request(filed_id(olga.ask("no, it is at 5th St and Market St")))
    assert request["address"] == "05TH ST & MARKET ST, San Francisco, CA"
    assert request["description"] == TYPO_REPORT


def test_exact_places_and_shared_points_are_not_asked_about(bot: RunningBot) -> None:
    pat = bot.resident("pat")
    filed_id(pat.ask("There is a huge pothole in the road at 1355 Market St"))
    filed_id(pat.ask("There is a huge pothole in the road at 5th and Market"))
    assert "Where is it?" in pat.ask("There is a big pothole in the road")
    filed_id(pat.ask(lat=37.7793, long=-122.4193))


def test_the_question_in_spanish(bot: RunningBot) -> None:
    rosa = bot.resident("rosa")
    question = rosa.ask("Hay un bache muy grande en la calle en Valenica St y 16th St")
    assert question == "¿Es en VALENCIA ST & 16TH ST, San Francisco, CA?\n1. Sí\n2. No"
    assert "¿Dónde está exactamente?" in rosa.ask("no")


def test_a_cantonese_yes_confirms_the_place(bot: RunningBot) -> None:
    # Before: "係呀" was taken for the place ("not on the map"), and "係" sent the report to a person.
    ming = bot.resident("ming")
    question = ming.ask("Clay St 有个大坑")
    assert question.startswith("是在 CLAY ST, San Francisco, CA 吗？"), question
    filed = ming.ask("係呀")
    assert "您的报告已登记" in filed, filed
    assert bot.request_count() == 1


def test_the_answer_to_the_question_asks_nothing_new_inside_the_transaction(bot: RunningBot) -> None:
    messaging = bot.messaging
    counting = CountingUnderstander(messaging.understander)
    engine = ConversationEngine(
        counting,  # type: ignore[arg-type]
        messaging.backend,
        messaging.templates,
        messaging.review_queue,
    )
    asked = {
        "stage": "confirm_location",
        "words": [TYPO_REPORT],
        "service_code": "pothole",
        "lat": 37.765,
        "long": -122.4219,
        "address_string": "VALENCIA ST & 16TH ST, San Francisco, CA",
    }
    on_a_street = {
        **asked,
        "location_text": "Valencia",
        "location_kind": "street",
        "address_string": "VALENCIA ST, San Francisco, CA",
    }
    for text, before in (
        ("Yes", asked),
        ("no, it is at 5th St and Market St", asked),
        ("between 16th and 17th", on_a_street),
    ):
        turn, state = Turn("local", "q", f"m-{text}", text=text), DialogueState(**before)  # type: ignore[arg-type]
        prepared = engine.prepare(turn, state)
        asked_before = sum(counting.calls.values())
        with bot.runtime.sessions() as session:
            replies = engine.respond(
                session, turn, state, Resident(channel="local", resident_id="q"), prepared
            )
            session.rollback()
        assert sum(counting.calls.values()) == asked_before, (text, counting.calls)
        assert state.stage == "idle", replies  # filed, at the place confirmed or given instead
    # For the other place; for the spot on the street, its words alone and on the street (in prepare).
    assert counting.calls["geocode"] == 3


def test_a_spot_on_the_street_asked_about_narrows_it_down(bot: RunningBot) -> None:
    sam = bot.resident("sam")
    report = "There is a huge pothole in the road on Valencia"
    assert "Is it at VALENCIA ST, San Francisco, CA?" in sam.ask(report)
    # Before: 'I could not find "16th and 17th" on the map' (two parallel streets never meet).
    request = bot.request(filed_id(sam.ask("between 16th and 17th")))
    assert request["address"] == "VALENCIA ST between 16TH ST & 17TH ST, San Francisco, CA"
    assert request["description"] == report
    # Before: filed on 16th Street as a whole, nowhere near Valencia.
    tom = bot.resident("tom")
    assert "Where is it?" in tom.ask("There is a big pothole in the road")
    assert "Is it at VALENCIA ST, San Francisco, CA?" in tom.ask("Valencia")
    assert (
        bot.request(filed_id(tom.ask("near 16th")))["address"] == "VALENCIA ST & 16TH ST, San Francisco, CA"
    )
    # In Spanish, numbered streets by their number: "calle Valencia" + "entre la 16 y la 17".
    rita = bot.resident("rita")
    assert "¿Es en VALENCIA ST" in rita.ask("Hay un bache muy grande en la calle Valencia")
    filed = re.search(r"#(\d+)", rita.ask("entre la 16 y la 17"))
    assert filed is not None
    assert (
        bot.request(filed.group(1))["address"] == "VALENCIA ST between 16TH ST & 17TH ST, San Francisco, CA"
    )
    # Named cross streets: before, "between Valencia St and Mission St" asked about 16th St was filed where
    # Valencia meets Mission, 2 km south, and "near Valencia" asked about Valencia Street itself.
    ada = bot.resident("ada")
    assert "Is it at 16TH ST, San Francisco, CA?" in ada.ask("pothole on 16th St")
    assert (
        bot.request(filed_id(ada.ask("between Valencia St and Mission St")))["address"]
        == "16TH ST between VALENCIA ST & MISSION ST, San Francisco, CA"
    )
    bea = bot.resident("bea")
    assert "Is it at 16TH ST, San Francisco, CA?" in bea.ask("pothole on 16th St")
    corner = bot.request(filed_id(bea.ask("near Valencia")))
    assert corner["address"] == "16TH ST & VALENCIA ST, San Francisco, CA"
    # A whole place of its own is still the answer as it is.
    uma = bot.resident("uma")
    assert "Is it at VALENCIA ST, San Francisco, CA?" in uma.ask(report)
    assert bot.request(filed_id(uma.ask("1355 Market St")))["address"] == "1355 MARKET ST, San Francisco, CA"


def test_yes_or_no_in_a_few_more_words_answers_the_question(bot: RunningBot) -> None:
    # Before: 'I could not find "yes it is" on the map', and "yes it is!" sent again was filed as the address.
    yan = bot.resident("yan")
    assert "Is it at GUERRERO ST, San Francisco, CA?" in yan.ask("pothole on Guerrero St")
    request = bot.request(filed_id(yan.ask("Yes, that's right")))
    assert request["address"] == "GUERRERO ST, San Francisco, CA"
    noa = bot.resident("noa")
    assert "Is it at GUERRERO ST, San Francisco, CA?" in noa.ask("pothole on Guerrero St")
    assert noa.ask("no it's not").startswith("Sorry about that. Where is it exactly?")
