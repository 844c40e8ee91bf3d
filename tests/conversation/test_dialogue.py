"""A scripted conversation for each branch of the dialogue, through the real app and intents pipeline.

Texts are picked so their branch does not hinge on the classifier's mood: a report that names the problem
and the intersection plainly, or a threshold set in configuration that makes every category unsure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.backend import Draft
from bot.config import Settings
from bot.open311.models import RequestQuery
from bot.templates import load_templates
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot


def test_a_clear_report_is_filed_at_once_with_the_residents_words(bot: RunningBot) -> None:
    alice = bot.resident("alice")
    reply = alice.ask(CLEAR_REPORT)
    request_id = filed_id(reply)
    assert "STATUS" in reply
    request = bot.request(request_id)
    assert request["service_code"] == "pothole"
    assert request["description"] == CLEAR_REPORT
    assert request["lat"] == pytest.approx(37.7838, abs=0.01)
    assert request["long"] == pytest.approx(-122.4079, abs=0.01)
    stored = bot.runtime.open311.get_request(request_id)
    assert stored.channel == "local"


def test_status_of_the_latest_or_a_named_request_with_typos_and_any_case(bot: RunningBot) -> None:
    alice = bot.resident("alice")
    assert "not filed a report" in alice.ask("STATUS")
    first = filed_id(alice.ask(CLEAR_REPORT))
    second = filed_id(alice.ask("Another pothole at 4th St and Mission St, deep one"))
    assert f"Report #{second} (Pothole) is open" in alice.ask("status")
    assert f"Report #{first} (Pothole) is open" in alice.ask(f"Stauts #{first}")
    assert "could not find a report 999999" in alice.ask("STATUS 999999")
    bot.runtime.open311.update_status(first, "closed", status_notes="Filled today.", actor="crew")
    assert f"Report #{first} (Pothole) is closed. Filled today." in alice.ask(f"status {first}")


def test_the_problem_given_where_the_place_was_asked_is_the_problem(bot: RunningBot) -> None:
    # Before: 'I could not find "a broken streetlight" on the map', and the report went to a person as
    # "I want to report something".
    sol = bot.resident("sol")
    assert "Where is it?" in sol.ask("I want to report something")
    assert "Where is it?" in sol.ask("a broken streetlight")
    filed = re.search(r"filed as #(\d+) \(Streetlight\)", sol.ask("5th St and Market St"))
    assert filed is not None
    request = bot.request(filed.group(1))
    assert request["description"] == "I want to report something\na broken streetlight"
    # A place the map does not know is still a place: looked up, then kept for a person.
    ted = bot.resident("ted")
    assert "Where is it?" in ted.ask("graffiti")
    assert "could not find" in ted.ask("the playground behind the school")


def test_a_missing_location_is_asked_for_and_the_answer_is_not_the_description(bot: RunningBot) -> None:
    bob = bot.resident("bob")
    question = bob.ask("There is a big pothole in the road")
    assert "Where is it?" in question
    # "Not sure" is no place: asked twice, it was kept as the address and the pothole filed there.
    for answer in ("not sure", "I don't know the address sorry"):
        assert bob.ask(answer).startswith("No problem. If you are there now, share your location.")
    assert bot.request_count() == 0
    request_id = filed_id(bob.ask("5th St and Market St"))
    request = bot.request(request_id)
    assert request["description"] == "There is a big pothole in the road"
    assert request["lat"] == pytest.approx(37.7838, abs=0.01)
    assert bot.resident("ling").ask("路上有个大坑")
    assert bot.resident("ling").ask("不知道").startswith("没关系")


def test_words_sent_with_the_place_or_instead_of_it_are_kept(bot: RunningBot) -> None:
    # Before: the description was "there's a pothole" alone each time, the rest lost.
    mia = bot.resident("mia")
    assert "Where is it?" in mia.ask("there's a pothole")
    answer = "at 16th St and Mission St, right in the bike lane, really deep"
    request = bot.request(filed_id(mia.ask(answer)))
    assert request["description"] == f"there's a pothole\n{answer}"
    assert request["address"] == "16TH ST & MISSION ST, San Francisco, CA"
    pam = bot.resident("pam")
    assert "Where is it?" in pam.ask("there's a pothole")
    pam.ask("it's really deep and my tire got flat")
    request = bot.request(filed_id(pam.ask("Valencia St and 22nd St")))
    assert request["description"] == "there's a pothole\nit's really deep and my tire got flat"
    # Another kind of problem said with the place is not filed as the first (it was: "filed as ...
    # (Streetlight)", the pothole nowhere).
    wyn = bot.resident("wyn")
    assert "Where is it?" in wyn.ask("broken streetlight")
    reply = wyn.ask("wait, it's actually a pothole at Valencia St and 21st St")
    assert "(Streetlight)" not in reply
    assert "(Pothole)" in reply or "What kind of problem" in reply


def test_a_report_longer_than_the_core_keeps_is_filed_cut(bot: RunningBot) -> None:
    # Telegram allows 4,096 characters; the core keeps 4,000. Before: the bot's filing was refused and the
    # report sent to a person, whose approval (the same filing) was refused too.
    long_report = CLEAR_REPORT + ". " + "It is really deep and getting worse every day. " * 85
    assert 4000 < len(long_report) <= 4096
    draft = Draft(
        service_code="pothole", description=long_report, channel="telegram", lat=37.7838, long=-122.408
    )
    with bot.runtime.sessions() as session:
        filed = bot.messaging.backend.file(draft, session)
        session.commit()
    assert filed.service_request_id is not None
    request = bot.request(filed.service_request_id)
    assert len(request["description"]) == 4000
    assert request["description"].endswith("…")
    assert request["description"].startswith(CLEAR_REPORT)


def test_second_round_answers_are_read_as_meant(bot: RunningBot) -> None:
    # A location shared first, then a spot written far from it: the spot (it was filed at the phone).
    ana = bot.resident("ana")
    assert "I have your location" in ana.ask(lat=37.7599, long=-122.4148)
    request = bot.request(filed_id(ana.ask("pothole at 5th St and Market St")))
    assert request["address"] == "05TH ST & MARKET ST, San Francisco, CA"
    # More of the problem instead of the place: the question again, no try at a place spent (it was
    # "I could not find ... on the map", and the second such sentence sent the report to a person).
    ben = bot.resident("ben")
    assert "Where is it?" in ben.ask("there's a pothole")
    assert ben.ask("it's really deep and my tire got flat").startswith("Where is it?")
    assert ben.ask("it's in the bike lane and cars swerve around it").startswith("Where is it?")
    request = bot.request(filed_id(ben.ask("16th St and Mission St")))
    assert "my tire got flat" in request["description"]
    assert "cars swerve around it" in request["description"]
    # Yes and more words: yes, and the words join the description (they were looked up on the map).
    cai = bot.resident("cai")
    assert "Is it at GUERRERO ST" in cai.ask("pothole on Guerrero St")
    request = bot.request(filed_id(cai.ask("yes, right by the laundromat")))
    assert request["description"] == "pothole on Guerrero St\nright by the laundromat"
    # Another kind of problem said instead of the place: the resident chooses (it was filed as the first).
    dee = bot.resident("dee")
    assert "Where is it?" in dee.ask("there's a pothole")
    question = dee.ask("actually it's a broken streetlight")
    assert "What kind of problem" in question
    assert "Streetlight" in question
    # An answer keeps the report's language (it was read as English and the report filed in English).
    eva = bot.resident("eva")
    assert "¿Dónde" in eva.ask("hay un bache enorme en la calle")
    assert "Su reporte quedó registrado" in eva.ask("5th St and Market St")
    # STOP with politeness around it (each began a report).
    for number, text in enumerate(("please stop", "stop it", "Stop please", "por favor paren")):
        assert "START" in bot.resident(f"fay{number}").ask(text), text


def test_a_place_sent_while_the_kind_is_asked_replaces_the_one_before(settings: Settings) -> None:
    overrides = {
        "intents": {"auto_file_threshold": 1.0},
        "conversation": {"offer_choices_min_confidence": 0.0},
    }
    with running_bot(settings, **overrides) as bot:
        # Before: "17th St y Mission St", read as words for a kind, filed the report at once at 16th St.
        gil = bot.resident("gil")
        assert "¿Qué tipo de problema" in gil.ask("basura y ratas en 16th St y Mission St")
        assert "¿Qué tipo de problema" in gil.ask("17th St y Mission St")
        reply = gil.ask("la segunda")
        filed = re.search(r"#(\d+)", reply)
        assert filed is not None, reply
        assert bot.request(filed.group(1))["address"] == "17TH ST & MISSION ST, San Francisco, CA"
        # A choice by its number in words.
        hal = bot.resident("hal")
        options = hal.ask(CLEAR_REPORT).splitlines()[1:]
        second = options[1].split(". ", 1)[1]
        assert f"({second})" in hal.ask("option 2")


def test_a_place_sent_while_the_kind_is_asked_is_kept_in_any_language(settings: Settings) -> None:
    # Found by a black-box tester: "在Stockton街和Clay街的路口" was "抱歉，我没有看懂这个回答" and lost, where
    # "at the corner of Stockton and Clay" was kept.
    overrides = {
        "intents": {"auto_file_threshold": 1.0},
        "conversation": {"offer_choices_min_confidence": 0.0},
    }
    said = {
        "en": ("trash and rats everywhere", "at the corner of Stockton and Clay", "What kind of problem"),
        "es": ("basura y ratas por todos lados", "en la esquina de Stockton y Clay", "¿Qué tipo"),
        "zh": ("到处都是垃圾和老鼠", "在Stockton街和Clay街的路口", "这是哪类问题"),
        "zh2": ("到处都是垃圾和老鼠", "就在Stockton街和Clay街附近", "这是哪类问题"),
    }
    with running_bot(settings, **overrides) as bot:
        for name, (problem, place, question) in said.items():
            resident = bot.resident(name)
            assert question in resident.ask(problem)
            asked = resident.ask(place)
            assert asked.startswith(question), (place, asked)
            reply = resident.ask("2")
            filed = re.search(r"#(\d+)", reply)
            assert filed is not None, reply
            assert bot.request(filed.group(1))["address"] == "STOCKTON ST & CLAY ST, San Francisco, CA"


def test_a_photo_sent_right_after_a_report_is_its_photo(bot: RunningBot) -> None:
    # Before: "Thanks for the photo. What is the problem, and where is it?", a new report, then a duplicate
    # in the review queue; the filed request never had the photo.
    photo = "https://example.org/photos/pothole-after.jpg"
    ivy = bot.resident("ivy")
    request_id = filed_id(ivy.ask(CLEAR_REPORT))
    assert (
        ivy.ask("here's a photo of it", media_url=photo)
        == f"Thanks, the photo is added to report #{request_id}."
    )
    assert bot.request(request_id)["media_url"] == photo
    # Another one is listed in its description, as a report filed with several photos lists them. Before:
    # "Where is it?", and the second photo a report of its own in the review queue.
    another = "https://example.org/photos/another.jpg"
    assert (
        ivy.ask("here's another pic", media_url=another)
        == f"Thanks, the photo is added to report #{request_id}."
    )
    assert ivy.ask(media_url=f"{another}?3") == f"Thanks, the photo is added to report #{request_id}."
    request = bot.request(request_id)
    assert request["media_url"] == photo
    assert request["description"] == f"{CLEAR_REPORT}\n\nMore photos: {another} {another}?3"
    assert bot.request_count() == 1
    assert bot.review_items() == []


@pytest.mark.parametrize(
    ("report", "photo_words", "added"),
    [
        (
            "Hay un bache muy grande en la calle en 5th St y Market St",
            ("le mando foto", "aqui esta otra foto"),
            "Gracias, la foto quedó agregada al reporte #{id}.",
        ),
        ("路上有个大坑 5th St and Market St", ("再来一张照片", "多張相"), "谢谢，照片已添加到报告 #{id}。"),
    ],
)
def test_each_photo_sent_after_a_report_is_added_to_it(
    bot: RunningBot, report: str, photo_words: tuple[str, str], added: str
) -> None:
    resident = bot.resident("noa")
    number = re.search(r"#(\d+)", resident.ask(report))
    assert number is not None
    request_id = number.group(1)
    first, second = (f"https://example.org/photos/{n}.jpg" for n in (1, 2))
    assert resident.ask(photo_words[0], media_url=first) == added.format(id=request_id)
    assert resident.ask(photo_words[1], media_url=second) == added.format(id=request_id)
    request = bot.request(request_id)
    assert request["media_url"] == first
    assert request["description"].endswith(f"\n\nMore photos: {second}")
    assert bot.request_count() == 1
    assert bot.review_items() == []


def test_a_shared_location_answers_where(bot: RunningBot) -> None:
    bob = bot.resident("bob")
    assert "Where is it?" in bob.ask("There is a big pothole in the road")
    request_id = filed_id(bob.ask(lat=37.7793, long=-122.4193))
    request = bot.request(request_id)
    assert (request["lat"], request["long"]) == pytest.approx((37.7793, -122.4193))


def test_a_spot_written_far_from_a_shared_location_is_the_place_meant(bot: RunningBot) -> None:
    # Sent from 2331 Folsom St, about 2.5 km away: it was filed there.
    sol = bot.resident("sol")
    request = bot.request(filed_id(sol.ask(CLEAR_REPORT, lat=37.7599, long=-122.4148)))
    assert request["address"] == "05TH ST & MARKET ST, San Francisco, CA"
    assert request["lat"] == pytest.approx(37.7838, abs=0.002)
    # Near it, the shared point is the more precise of the two and is kept.
    tia = bot.resident("tia")
    request = bot.request(filed_id(tia.ask(CLEAR_REPORT, lat=37.78381, long=-122.40812)))
    assert (request["lat"], request["long"]) == pytest.approx((37.78381, -122.40812))


def test_a_shared_location_outside_the_city_is_refused(bot: RunningBot) -> None:
    erin = bot.resident("erin")
    refused = erin.ask(lat=37.8044, long=-122.2712)  # Oakland
    # Plain words: it was "37.80440, -122.27120 is outside the area we serve" (found by a black-box tester).
    assert refused.startswith("That point is outside the area we serve."), refused
    assert "37.8" not in refused
    # A map link to it, in Spanish too.
    eva = bot.resident("eva")
    assert "¿Dónde" in eva.ask("hay un bache enorme en la calle")
    refused = eva.ask("https://maps.google.com/?q=37.8044,-122.2712")
    assert refused.startswith("Ese punto está fuera del área que atendemos."), refused
    assert "I have your location" in erin.ask(lat=37.7793, long=-122.4193)
    request_id = filed_id(erin.ask("There is a big pothole in the road"))
    assert bot.request(request_id)["lat"] == pytest.approx(37.7793)


def test_a_place_not_found_in_another_town_is_told_the_city_is_all_we_serve(bot: RunningBot) -> None:
    # Found by a black-box tester: "pothole at Broadway and 14th St in Oakland" got only 'I could not find
    # "Broadway and 14th St" on the map', never that the bot serves one city. Whether "Oakland" is another
    # town the map cannot tell ("in Chinatown" is in the city): the reply says what is true either way.
    told = 'I could not find "Broadway and 14th St" on our map. We serve one city only:'
    ray = bot.resident("ray")
    assert ray.ask("pothole at Broadway and 14th St in Oakland").startswith(told)
    sue = bot.resident("sue")
    assert "Where is it?" in sue.ask("There is a big pothole in the road")
    assert sue.ask("Broadway and 14th St, Oakland, CA").startswith(told)
    eva = bot.resident("eva")
    assert eva.ask("hay un bache en Broadway y 14th St en Oakland").startswith(
        'No encontré "Broadway y 14th St" en nuestro mapa. Atendemos una sola ciudad:'
    )
    # No town named: as before.
    plain = bot.resident("tom").ask("pothole at Broadway and 14th St")
    assert plain.startswith('I could not find "Broadway and 14th St" on the map.'), plain


def test_a_place_not_on_the_map_is_asked_again_then_a_person_finds_it(bot: RunningBot) -> None:
    carol = bot.resident("carol")
    assert "Where is it?" in carol.ask("There is a big pothole in the road")
    again = carol.ask("behind the old blue bakery")
    assert "could not find" in again
    # Before: filed at once, its address the words ("yes it is!", "Times Square, New York" were filed so).
    assert "A person will look at your report" in carol.ask("behind the old blue bakery near my house")
    assert bot.request_count() == 0
    (item,) = bot.review_items()
    assert item.reason == "the place is not on the map"
    assert item.location_text == "behind the old blue bakery near my house"
    assert item.text == "There is a big pothole in the road"
    # Small talk is no place: the question again, never looked up ("ok" was filed as the address).
    sam = bot.resident("sam")
    assert "Where is it?" in sam.ask("pothole")
    for answer in ("ok", "ok", "👍", "yes", "no"):
        assert sam.ask(answer).startswith("Where is it?"), answer
    assert bot.request_count() == 0


def test_a_photo_alone_is_asked_what_and_where(bot: RunningBot) -> None:
    dave = bot.resident("dave")
    photo = "https://example.org/photos/pothole.jpg"
    assert "Thanks for the photo" in dave.ask(media_url=photo)
    request_id = filed_id(dave.ask(CLEAR_REPORT))
    request = bot.request(request_id)
    assert request["media_url"] == photo
    assert request["description"] == CLEAR_REPORT


def test_a_location_alone_is_asked_what(bot: RunningBot) -> None:
    # With a photo, or written after one, the place is not asked for again (it was: "Thanks for the photo.
    # What is the problem, and where is it?").
    photo = "https://example.org/photos/pothole.jpg"
    assert "I have your location" in bot.resident("finn").ask(lat=37.7793, long=-122.4193, media_url=photo)
    gus = bot.resident("gus")
    assert "where is it?" in gus.ask(media_url=photo)
    assert "I have your location" in gus.ask("Valencia St and 16th St")
    filed = re.search(r"filed as #(\d+) \(Graffiti\)", gus.ask("graffiti all over the wall"))
    assert filed is not None
    request = bot.request(filed.group(1))
    assert request["address"] == "VALENCIA ST & 16TH ST, San Francisco, CA"
    assert request["media_url"] == photo
    erin = bot.resident("erin")
    assert "I have your location" in erin.ask(lat=37.7793, long=-122.4193)
    request_id = filed_id(erin.ask("There is a big pothole in the road"))
    request = bot.request(request_id)
    assert (request["lat"], request["long"]) == pytest.approx((37.7793, -122.4193))


def test_an_unsure_category_offers_the_top_choices_answered_by_number_or_words(settings: Settings) -> None:
    # No message is sure enough to file alone: every report offers choices.
    overrides = {
        "intents": {"auto_file_threshold": 1.0},
        "conversation": {"offer_choices_min_confidence": 0.0},
    }
    with running_bot(settings, **overrides) as bot:
        frank = bot.resident("frank")
        question = frank.ask(CLEAR_REPORT)
        assert "What kind of problem is it?" in question
        options = question.splitlines()[1:]
        assert options[-1].endswith("Something else")
        number = next(line.split(".")[0] for line in options if line.endswith("Pothole"))
        filed_id(frank.ask(number))

        grace = bot.resident("grace")
        assert "What kind of problem" in grace.ask(CLEAR_REPORT)
        assert "did not understand" in grace.ask("purple elephants")  # not an option: asked again
        filed_id(grace.ask("pothole"))
        assert bot.request_count() == 2


def test_the_choice_in_the_residents_own_words_and_a_place_sent_instead_are_taken(settings: Settings) -> None:
    overrides = {
        "intents": {"auto_file_threshold": 1.0},
        "conversation": {"offer_choices_min_confidence": 0.0},
    }
    with running_bot(settings, **overrides) as bot:
        # Before: "Sorry, I did not understand that answer." to each of these.
        for resident, answer in (("nina", "it's the rats"), ("olga", "ratas")):
            question = bot.resident(resident).ask("rats and trash everywhere at Mission St and 20th St")
            assert "Rodents and Pests" in question, question
            assert "(Rodents and Pests)" in bot.resident(resident).ask(answer), answer
        pia = bot.resident("pia")
        options = pia.ask(CLEAR_REPORT).splitlines()[1:]
        second = options[1].split(". ", 1)[1]
        assert f"({second})" in pia.ask("the second one")
        # The place sent before the kind was chosen is kept, and the kind asked again (it was refused as
        # an answer and lost).
        quinn = bot.resident("quinn")
        assert "What kind of problem" in quinn.ask("There is a huge pothole in the road")
        assert "What kind of problem" in quinn.ask("5th St and Market St")
        request = bot.request(filed_id(quinn.ask("pothole")))
        assert request["address"] == "05TH ST & MARKET ST, San Francisco, CA"
        assert request["description"] == "There is a huge pothole in the road"


def test_a_city_serving_several_jurisdictions_files_in_the_first(settings: Settings) -> None:
    # Before: the core refused every report ("jurisdiction_id is required") and each went to a person.
    with running_bot(settings, open311={"jurisdictions": ["sfgov.org", "oakland.gov"]}) as bot:
        request_id = filed_id(bot.resident("uli").ask(CLEAR_REPORT))
        found = bot.client.get(f"/open311/v2/requests/{request_id}.json?jurisdiction_id=sfgov.org")
        assert found.status_code == 200, found.text
        assert found.json()[0]["service_code"] == "pothole"
        assert "(Pothole) is open" in bot.resident("uli").ask("STATUS")
        assert bot.review_items() == []


def test_something_else_or_a_very_unsure_report_goes_to_review(settings: Settings) -> None:
    overrides = {
        "intents": {"auto_file_threshold": 1.0},
        "conversation": {"offer_choices_min_confidence": 0.0},
    }
    with running_bot(settings, **overrides) as bot:
        heidi = bot.resident("heidi")
        question = heidi.ask(CLEAR_REPORT)
        reply = heidi.ask(str(len(question.splitlines()) - 1))  # the last option: something else
        assert "A person will look at your report" in reply
        [item] = bot.review_items()
        assert item.text == CLEAR_REPORT
        assert item.channel == "local"
        assert item.resident_id == "heidi"
        assert item.status == "pending"
        assert item.lat == pytest.approx(37.7838, abs=0.01)
        assert item.suggestions[0]["service_code"] == "pothole"
        assert 0 < item.suggestions[0]["confidence"] <= 1
        assert bot.request_count() == 0

    overrides["conversation"]["offer_choices_min_confidence"] = 1.0  # nothing is even worth offering
    with running_bot(settings, **overrides) as bot:
        ivan = bot.resident("ivan")
        assert "Where is it?" in ivan.ask("There is a big pothole in the road")
        assert "A person will look" in ivan.ask("5th St and Market St")
        items = bot.review_items()
        assert len(items) == 2
        assert items[1].location_text == "5th St and Market St"
        assert bot.request_count() == 0


def test_cancel_help_and_unknown_words(bot: RunningBot) -> None:
    judy = bot.resident("judy")
    assert "There is nothing to cancel" in judy.ask("cancel")
    assert "Where is it?" in judy.ask("There is a big pothole in the road")
    # STATUS in the middle of a report answers, then asks again what the report still needs (before:
    # "You have not filed a report yet. Text a problem and where it is to file one. Where is it?...").
    status = judy.ask("status")
    assert status.startswith("Your report is not filed yet: it needs one more answer.")
    assert status.endswith(load_templates().render("ask_location"))
    assert "Cancelled" in judy.ask("CANCLE")
    assert "Where is it?" not in judy.ask("5th St and Market St")  # a fresh start, not an answer
    assert bot.request_count() == 0
    help_text = judy.ask("hlep")
    assert "STATUS" in help_text
    assert "STOP" in help_text
    assert "Where is it?" not in judy.ask("FOLLOW 12")  # a command (status updates'), not a report
    assert bot.request_count() == 0


def test_greetings_and_thanks_start_no_report(bot: RunningBot) -> None:
    # Read as reports, "Hi" and "Thanks!" each started one ("Where is it?"), and the resident's next
    # message, the real problem, was then taken for its location.
    tom = bot.resident("tom")
    assert tom.ask("Hi there!").startswith("Text a problem and where it is")
    first = filed_id(tom.ask(CLEAR_REPORT))
    assert tom.say("Thanks!") == []  # no answer owed (an SMS each, and two bots would thank forever)
    assert tom.say("ok 👍") == []
    assert f"Report #{first}" in tom.ask("status")
    second = filed_id(tom.ask("Another pothole at 4th St and Mission St, a deep one"))
    assert second != first
    assert bot.request_count() == 2
    # "Yes" with no question waiting (one asked long ago) started a report of "yes": "Where is it?".
    assert tom.ask("yes").startswith("Text a problem and where it is")
    assert bot.resident("lu").ask("是的").startswith("请发送问题和地点")
    # A greeting or a command word in Spanish or Chinese is answered in that language.
    rosa = bot.resident("rosa")
    assert rosa.ask("¡Hola!").startswith("Escriba el problema y dónde está")
    assert bot.resident("pilar").ask("AYUDA").startswith("Escriba el problema y dónde está")
    assert bot.resident("wei").ask("你好").startswith("请发送问题和地点")
    assert bot.resident("fang").ask("帮助").startswith("请发送问题和地点")
    # In a language the city has no replies in, the help in its default language; thanks, nothing.
    amelie = bot.resident("amelie")
    assert amelie.ask("Bonjour").startswith("Text a problem and where it is")
    assert amelie.say("merci") == []
    # During a report "ok" is no greeting: the question it does not answer, again.
    judy = bot.resident("judy")
    assert "Where is it?" in judy.ask("There is a big pothole in the road")
    assert judy.ask("ok").startswith("Where is it?")


def test_the_same_report_sent_again_is_not_filed_twice(bot: RunningBot) -> None:
    # Sent again before the reply was seen (or tapped twice), it was a second request for one pothole.
    eve = bot.resident("eve")
    first = filed_id(eve.ask(CLEAR_REPORT))
    again = eve.ask(CLEAR_REPORT.upper() + "!!")
    assert again == f"You reported this already: #{first} (Pothole). Reply STATUS for updates."
    # In two messages this time, the same report all the same.
    assert "Where is it?" in eve.ask("There is a huge pothole in the road")
    assert eve.ask("5th St and Market St").startswith("You reported this already")
    assert bot.request_count() == 1
    # Another place, another problem, a photo or another resident is another report.
    assert filed_id(eve.ask(CLEAR_REPORT, media_url="https://example.org/pothole.jpg")) != first
    assert filed_id(eve.ask("There is a huge pothole in the road at 4th St and Mission St")) != first
    assert filed_id(bot.resident("flo").ask(CLEAR_REPORT)) != first
    assert bot.request_count() == 4


def test_another_one_is_filed_as_the_residents_last_report(bot: RunningBot) -> None:
    ida = bot.resident("ida")
    first = filed_id(ida.ask(CLEAR_REPORT))
    # "one" could be anything to the classifier; to the resident it is the pothole just reported.
    second = filed_id(ida.ask("There's another one at 4th St and Mission St"))
    assert second != first
    assert bot.request(second)["service_code"] == "pothole"
    assert bot.request(second)["description"] == "There's another one at 4th St and Mission St"
    # With no report before it, the same words are for a person to read.
    assert "filed as" not in bot.resident("joe").ask("There's another one at 4th St and Mission St")


def test_several_problems_in_one_message_are_one_report_each(bot: RunningBot) -> None:
    # The streetlight used to end up in the pothole's description, never seen by the crew that fixes it.
    ana = bot.resident("ana")
    reply = ana.ask("pothole on 5th St and Market St and also a broken streetlight at 16th St and Mission St")
    pothole, streetlight = re.findall(r"filed as #(\w+)", reply)
    assert bot.request(pothole)["service_code"] == "pothole"
    assert bot.request(pothole)["description"] == "pothole on 5th St and Market St"
    assert bot.request(streetlight)["service_code"] == "streetlight"
    assert bot.request(streetlight)["description"] == "a broken streetlight at 16th St and Mission St"
    assert bot.request(streetlight)["lat"] == pytest.approx(37.765, abs=0.002)
    # The first asks a question: the second waits for it, then is filed too.
    ben = bot.resident("ben")
    message = "Graffiti on the wall at 123 Main St. Also a broken streetlight at 16th St and Mission St"
    assert ben.ask(message).startswith("Is it at 123 MAIN ST")
    graffiti, streetlight = re.findall(r"filed as #(\w+)", ben.ask("yes"))
    assert bot.request(graffiti)["description"] == "Graffiti on the wall at 123 Main St."
    assert bot.request(streetlight)["service_code"] == "streetlight"
    # CANCEL drops the report asked about; the one waiting after it comes next, and is filed here (before,
    # it went too, unsaid).
    cy = bot.resident("cy")
    assert cy.ask(message).startswith("Is it at 123 MAIN ST")
    cancelled = cy.ask("cancel")
    assert cancelled.startswith(
        'Cancelled: nothing of that report was filed. Now your other report ("Also a broken streetlight at'
    ), cancelled
    assert bot.request(filed_id_in(cancelled.split("filed as")[1]))["service_code"] == "streetlight"
    # One car told twice is one report.
    dee = bot.resident("dee")
    one = "There's an abandoned car at 5th St and Market St. It's been parked at 6th St and Market St a month"
    (car,) = re.findall(r"filed as #(\w+)", dee.ask(one))
    assert bot.request(car)["description"] == one
    assert bot.request_count() == 6


def test_a_place_alone_is_kept_and_the_problem_asked(bot: RunningBot) -> None:
    kim = bot.resident("kim")
    asked = "Thanks, I have your location. What is the problem there?"
    assert kim.ask("at 16th St and Valencia St") == asked
    assert kim.ask("sorry, I meant 5th St and Market St") == asked  # the place written last counts
    request_id = filed_id(kim.ask("There is a huge pothole in the road"))
    request = bot.request(request_id)
    assert request["description"] == "There is a huge pothole in the road"
    assert request["lat"] == pytest.approx(37.784, abs=0.002)
    assert request["long"] == pytest.approx(-122.408, abs=0.002)


def test_never_mind_drops_the_report_in_progress(bot: RunningBot) -> None:
    # Taken for a place twice, "never mind" was kept as the report's address and the report filed.
    lee = bot.resident("lee")
    assert "Where is it?" in lee.ask("There is a big pothole in the road")
    assert lee.ask("Never mind!") == "Cancelled. Nothing was filed."
    assert bot.resident("ramon").ask("Hay un bache enorme en la calle")
    assert bot.resident("ramon").ask("olvídalo").startswith("Cancelado")
    assert bot.request_count() == 0


def test_a_question_about_the_last_report_is_answered_as_status(bot: RunningBot) -> None:
    uma = bot.resident("uma")
    request_id = filed_id(uma.ask(CLEAR_REPORT))
    status = f"Report #{request_id} (Pothole) is open."
    assert uma.ask("I reported a pothole last week, any update?") == status
    assert uma.ask("Why hasn't it been fixed yet??") == status
    assert uma.ask("is it fixed yet") == status  # before: a new report, "Where is it?"
    assert bot.request_count() == 1
    # A report still waiting for a person is asked about the same way (before: "any update?" started a
    # new report and was asked "Where is it?").
    wes = bot.resident("wes")
    assert "A person will look at your report" in wes.ask("something weird going on at 5th St and Mission St")
    waiting = wes.ask("any update?")
    assert waiting.startswith('Your report "something weird going on at 5th St and Mission St" is waiting')
    assert len(bot.review_items()) == 1
    # A short question from someone who reported nothing is answered too (it was asked "Where is it?").
    assert bot.resident("yul").ask("any update?").startswith("You have not filed a report yet.")
    # Someone who reported nothing here is making a report, not asking about one.
    reply = bot.resident("vic").ask("Why hasn't the pothole at 5th St and Market St been fixed? It's huge")
    assert "have not filed" not in reply
    # The question's own words say its language: a resident who reported in Chinese and asks in English
    # reads the answer in English (before: in Chinese, "any update?" being too short to tell).
    mei = bot.resident("mei")
    reported = mei.ask("路上有个大坑 5th St and Market St")
    number = re.search(r"您的报告已登记，编号 #(\d+)", reported)
    assert number is not None, reported
    chinese_id = number.group(1)
    assert mei.ask("any update?") == f"Report #{chinese_id} (Pothole) is open."
    assert "报告" in mei.ask("修好了吗")
    assert mei.ask("¿Alguna novedad?") == f"El reporte #{chinese_id} (Bache) está abierto."


def test_stop_silences_everything_until_start(bot: RunningBot) -> None:
    mallory = bot.resident("mallory")
    request_id = filed_id(mallory.ask(CLEAR_REPORT))
    # One answer, so the resident knows it worked; then nothing at all, not even the status update.
    assert "Text START" in mallory.ask("STOP")
    assert mallory.say("There is a big pothole in the road") == []
    assert mallory.say("status") == []
    # The report sent meanwhile is kept for a person, not dropped (it was, without a trace).
    [kept] = bot.review_items()
    assert (kept.text, kept.resident_id) == ("There is a big pothole in the road", "mallory")
    assert kept.reason.startswith("sent after STOP")
    bot.runtime.open311.update_status(request_id, "closed", actor="crew")
    assert "Welcome back" in mallory.ask("start")
    assert f"Report #{request_id}" in mallory.ask("status")
    # START from someone who never stopped (Telegram's /start, a new user's first message) is a hello,
    # not "Welcome back".
    assert bot.resident("newton").ask("START").startswith("Text a problem and where it is")


def test_replies_in_the_residents_language(bot: RunningBot) -> None:
    sofia = bot.resident("sofia")
    reply = sofia.ask("Hay un bache muy grande en la calle en 5th St y Market St")
    # Whichever branch the report takes, the reply is one of the Spanish templates.
    openings = [t.split("{")[0] for t in load_templates()._by_language["es"].values() if t.split("{")[0]]
    assert any(reply.startswith(opening) for opening in openings), reply
    li = bot.resident("li", language="zh")
    # The words' language, which the hint agrees with (a hint the words contradict is the channel's guess).
    reply = li.ask("5th St和Market St路上有一个很大的坑")
    assert "报告" in reply
    assert "（坑洞）" in reply  # the bundled catalog's Chinese name of the service
    # A short Chinese message is enough to tell the language (no hint given here).
    wang = bot.resident("wang")
    assert "问题在哪里" in wang.ask("路上有个大坑")


def test_city_templates_reword_replies(settings: Settings, tmp_path: Path) -> None:
    custom = tmp_path / "replies.toml"
    custom.write_text('[en]\nfiled = "Got it. Case {id}: {service}."\n', encoding="utf-8")
    with running_bot(settings, conversation={"templates_file": custom}) as bot:
        assert re.fullmatch(r"Got it\. Case \d+: Pothole\.", bot.resident("ken").ask(CLEAR_REPORT))


def test_a_language_the_city_has_replies_in_is_answered_in_it(settings: Settings, tmp_path: Path) -> None:
    # The city adds Portuguese replies (here: the English ones marked "PT:"); the bundled set has none.
    english = load_templates()._by_language["en"]
    custom = tmp_path / "replies.toml"
    lines = [
        "[pt]",
        *(f"{key} = {json.dumps('PT: ' + text, ensure_ascii=False)}" for key, text in english.items()),
    ]
    custom.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with running_bot(settings, conversation={"templates_file": custom}) as bot:
        joana = bot.resident("joana")
        assert joana.ask("Tem um buraco enorme na rua em frente ao 1355 Market St").startswith("PT: ")
        # French: no French replies, so the default language's; before, French was taken for Spanish.
        reply = bot.resident("amelie").ask(
            "Il y a un nid de poule énorme sur la rue devant le 1355 Market St"
        )
        openings = [text.split("{")[0] for text in english.values() if text.split("{")[0]]
        assert any(reply.startswith(opening) for opening in openings), reply


def test_the_problem_still_there_after_an_update_is_offered_the_reports_place(bot: RunningBot) -> None:
    # Before: "¿Dónde está?", as if it were a new problem somewhere, after the city closed the report.
    rosa = bot.resident("rosa", language="es")
    first = filed_id_in(rosa.ask("Hay un bache enorme en 5th St y Market St"))
    bot.runtime.open311.update_status(first, "closed", "Bache reparado.", actor="crew")
    question = rosa.ask("pero no lo arreglaron bien, el hoyo sigue ahi!!")
    assert question.startswith("¿Es en 05TH ST & MARKET ST, San Francisco, CA?"), question
    again = bot.request(filed_id_in(rosa.ask("sí")))
    assert again["address"] == "05TH ST & MARKET ST, San Francisco, CA"
    assert again["service_code"] == bot.request(first)["service_code"]
    assert again["description"] == "pero no lo arreglaron bien, el hoyo sigue ahi!!"
    # A resident with no report before is asked where, as before.
    assert "Where is it?" in bot.resident("sol").ask("the pothole is still there, nobody fixed it")


def filed_id_in(reply: str) -> str:
    """The number of the request a reply in any language says was filed."""
    number = re.search(r"#(\d+)", reply)
    assert number is not None, reply
    return number.group(1)


def test_a_message_of_only_numbers_or_signs_starts_no_report(bot: RunningBot) -> None:
    """A Chicago tester's late "1" after a report was filed started a report of "1": "Where is it?", then
    "21" was looked up on the map."""
    ana = bot.resident("ana")
    request_id = filed_id(ana.ask(CLEAR_REPORT))
    ask_what = "What is the problem, and where is it? For example: pothole at 5th St and Market St."
    # A lone letter is a slip too ("x" opened a report: found by a black-box tester).
    for nothing in ("1", "21", "?", "#2 !!", "x", "X."):
        assert ana.ask(nothing) == ask_what, nothing
    assert bot.resident("xia").ask("x") == ask_what
    # Nothing is in progress: a report is still a report, and STATUS tells of the one filed.
    assert ana.ask("status").startswith(f"Report #{request_id} (Pothole) is open")
    assert [r.service_request_id for r in bot.runtime.open311.query_requests(RequestQuery())] == [request_id]


def test_a_place_not_on_the_map_is_quoted_back_short(bot: RunningBot) -> None:
    """The whole answer was quoted: 1,500 characters with one curly apostrophe cost 24 SMS segments."""
    ana = bot.resident("ana")
    ana.ask("There is a pothole")
    long_answer = "Behind the old Kwazulu warehouse where my friend’s dog lives and the long blue fence " * 10
    reply = ana.ask(long_answer)
    assert reply.startswith('I could not find "Behind the old Kwazulu warehouse where..." on the map.'), reply
    assert len(reply) < 200
