"""More of the problem said while the bot waits for the place ("it's very dark, dangerous at night", "很暗，
晚上很危险"): kept in the description, and no try at the place spent.

Found by a black-box QA of the Telegram channel: the words were looked up on the map ("I could not find ...")
and left out of the report, in English and Chinese (Spanish was read right).
"""

from __future__ import annotations

from bot.config import Settings
from tests.conversation.harness import running_bot
from tests.conversation.test_changing_ones_mind import filed_as


def test_more_of_the_problem_while_the_place_is_asked_is_kept_and_spends_no_try(settings: Settings) -> None:
    # Before: 'I could not find "it's very dark, dangerous at night" on the map' ("at night" read as a
    # place's cue) and "在地图上找不到“很暗，晚上很危险”" (a Chinese sentence counted as two words): a try
    # at the place spent and the words left out of the report. The threshold is about the shipped model's:
    # the classifier reads the English words as a streetlight's less surely than that.
    with running_bot(settings, intents={"auto_file_threshold": 0.82}) as bot:
        sam = bot.resident("sam")
        assert sam.ask("streetlight is broken").startswith("Where is it?")
        assert sam.ask("it's very dark, dangerous at night").startswith("Where is it?")
        assert sam.ask("the Zzyzx plaza").startswith("I could not find")  # the first try
        number, service = filed_as(sam.ask("Mission St and 20th St"))
        assert service == "Streetlight"
        assert (
            bot.request(number)["description"] == "streetlight is broken\nit's very dark, dangerous at night"
        )
        lin = bot.resident("lin")
        assert lin.ask("路灯坏了").startswith("问题在哪里？")
        assert lin.ask("很暗，晚上很危险").startswith("问题在哪里？")
        number, service = filed_as(lin.ask("Mission St和20th St"))
        assert service == "路灯"
        assert bot.request(number)["description"] == "路灯坏了\n很暗，晚上很危险"
        assert bot.review_items() == []


def test_a_map_link_answering_where_is_the_point_it_holds(settings: Settings) -> None:
    # Found by a black-box tester over SMS: 'I could not find "37.7599,-122.4148" on the map' (the link's
    # coordinates looked up as an address), and an Apple Maps pin after it went to a person as "the place is
    # not on the map". A link sent with the report was read: the same link as the answer is too.
    links = [
        "https://maps.google.com/?q=37.7599,-122.4148",
        "Dropped Pin\nhttps://maps.apple.com/?ll=37.7599,-122.4148&q=Dropped%20Pin",
    ]
    with running_bot(settings, intents={"auto_file_threshold": 0.82}) as bot:
        for n, link in enumerate(links):
            sam = bot.resident(f"sam{n}")
            assert sam.ask("streetlight is broken").startswith("Where is it?")
            number, service = filed_as(sam.ask(link))
            assert service == "Streetlight"
            request = bot.request(number)
            assert (request["lat"], request["long"]) == (37.7599, -122.4148)
            assert "FOLSOM ST" in request["address"], request["address"]
            assert request["description"] == "streetlight is broken"
        assert bot.review_items() == []


def test_words_sent_with_a_map_link_answering_where_are_kept_with_the_point(settings: Settings) -> None:
    # Before: the point was taken from the link and "it's by the bus stop" was lost, where the same words
    # with a written place ("at 16th St and Mission St, right in the bike lane") are kept in the description.
    answers = [
        "it's by the bus stop https://maps.google.com/?q=37.7599,-122.4148",
        "Dropped Pin\nhttps://maps.apple.com/?ll=37.7599,-122.4148&q=Dropped%20Pin\nright by the bus stop",
        "37.7599,-122.4148 in front of the school",
        "在公交车站旁边 https://maps.google.com/?q=37.7599,-122.4148",
    ]
    with running_bot(settings, intents={"auto_file_threshold": 0.82}) as bot:
        for n, answer in enumerate(answers):
            sam = bot.resident(f"sam{n}")
            assert sam.ask("streetlight is broken").startswith("Where is it?")
            number, service = filed_as(sam.ask(answer))
            assert service == "Streetlight"
            request = bot.request(number)
            assert (request["lat"], request["long"]) == (37.7599, -122.4148)
            assert request["description"] == f"streetlight is broken\n{answer}"
        # Words that only say where add nothing, as with a written place (a bare link, or Apple's "Dropped
        # Pin" with it: ``test_a_map_link_answering_where_is_the_point_it_holds``).
        kim = bot.resident("kim")
        assert kim.ask("streetlight is broken").startswith("Where is it?")
        number, _ = filed_as(kim.ask("it's here https://maps.google.com/?q=37.7599,-122.4148"))
        assert bot.request(number)["description"] == "streetlight is broken"
        assert bot.review_items() == []
