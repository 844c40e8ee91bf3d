"""A geocoding service that is down or too slow is not "not on the map": the whole bot, with geopy's own
Nominatim client against the local fake Nominatim answering 503.

Before, a Chicago resident read "I could not find "1060 W Addison St" on the map" for a good address,
retyped it, and the second try went to a person as "the place is not on the map"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.review import decisions
from bot.review.queue import ReviewError
from tests.conversation.harness import RunningBot, running_bot
from tests.intents.fake_nominatim import FakeNominatim
from tests.support.live_server import live_server

ADDISON = "1060 W Addison St"
REPORT = f"huge pothole in the crosswalk at {ADDISON}"
TOLD = f'The map service is not answering just now, so I could not look up "{ADDISON}".'
REASON = f'the map service was not answering, so "{ADDISON}" could not be looked up'
# Far more failures than geopy's retries of one lookup.
DOWN = 1000


@pytest.fixture
def nominatim() -> Iterator[tuple[FakeNominatim, str]]:
    fake = FakeNominatim({ADDISON.lower(): (41.9474, -87.6559, "1060 West Addison Street, Chicago")})
    with live_server(fake.app()) as url:
        yield fake, url


@pytest.fixture
def bot(settings: Settings, nominatim: tuple[FakeNominatim, str]) -> Iterator[RunningBot]:
    _fake, url = nominatim
    geocoder = {
        "provider": "nominatim",
        "options": {"domain": url.removeprefix("http://"), "scheme": "http"},
        "min_delay_seconds": 0.0,
        "boundary": [41.644, -87.940, 42.023, -87.524],
    }
    with running_bot(settings, intents={"geocoder": geocoder}) as running:
        yield running


def test_a_report_while_the_map_is_down_goes_to_a_person_saying_so(
    bot: RunningBot, nominatim: tuple[FakeNominatim, str]
) -> None:
    fake, _url = nominatim
    fake.fail_next = DOWN

    reply = bot.resident("ann").ask(REPORT)

    assert reply.startswith(TOLD), reply
    assert "A person will look at your report" in reply
    assert "on the map" not in reply
    [item] = bot.review_items()
    assert item.reason == REASON
    assert item.text == REPORT
    assert item.location_text == ADDISON
    assert item.lat is None

    # Once it answers, the same words are found: the failure was not remembered as a miss.
    fake.fail_next = 0
    found = bot.resident("bob").ask(REPORT)
    assert "not answering" not in found
    assert "on the map" not in found
    assert len(bot.review_items()) == 1


def test_a_place_given_when_asked_while_the_map_is_down_keeps_the_report_for_a_person(
    bot: RunningBot, nominatim: tuple[FakeNominatim, str]
) -> None:
    fake, _url = nominatim
    cleo = bot.resident("cleo")
    assert cleo.ask("There is a huge pothole in the road").startswith("Where is it?")
    fake.fail_next = DOWN

    reply = cleo.ask(ADDISON)

    assert reply.startswith(TOLD), reply
    [item] = bot.review_items()
    assert item.reason == REASON
    assert item.text == "There is a huge pothole in the road"  # the place is kept as the place
    assert item.location_text == ADDISON
    # The conversation is over: the next message starts afresh, not "Where is it?" again.
    assert "STATUS" in cleo.ask("help")


def test_an_operators_address_while_the_map_is_down_is_refused_saying_so(
    bot: RunningBot, nominatim: tuple[FakeNominatim, str]
) -> None:
    fake, _url = nominatim
    fake.fail_next = DOWN
    bot.resident("dan").ask(REPORT)
    [item] = bot.review_items()
    assert item.id is not None
    console = bot.app.state.operator_console
    olivia = decisions.Actor("olivia")
    with bot.runtime.sessions() as session:
        decisions.claim(console, session, olivia, item.id)
        session.commit()

    with bot.runtime.sessions() as session, pytest.raises(ReviewError) as refused:
        decisions.approve(console, session, olivia, item.id, decisions.Approval(address_string=ADDISON))

    assert "the map service is not answering" in str(refused.value)  # was "no place called ... was found"
    assert refused.value.field == "address_string"
