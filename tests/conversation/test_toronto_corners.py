"""A Toronto corner written without its street's direction is filed without a question when the gazetteer
found the one place meant, through the real app, the intents pipeline and a Toronto-style gazetteer.

Before, "Queen and Bay" (QUEEN ST W & BAY ST, exact) and "Dundas and Spadina" (DUNDAS ST W & SPADINA AVE)
were asked about, "Is it at QUEEN ST W & BAY ST, Toronto, ON?": the check that the streets found are the
ones written left out a street's last word (its type), and in QUEEN ST W that is the direction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conversation.harness import RunningBot, filed_id, running_bot
from tests.intents.toronto_gazetteer import (  # noqa: F401 (runtime: the fixture)
    TORONTO_BOUNDARY,
    TORONTO_CITY,
    city_street_names,
    toronto_gazetteer,
)

# The gazetteer's street names (QUEEN of QUEEN ST W) stay in these tests.
pytestmark = pytest.mark.usefixtures("city_street_names")


@pytest.fixture
def toronto(settings: Settings, tmp_path: Path) -> Iterator[RunningBot]:
    geocoder = {
        "options": {"data_dir": str(toronto_gazetteer(tmp_path / "gazetteer")), "city": TORONTO_CITY},
        "boundary": list(TORONTO_BOUNDARY),
    }
    with running_bot(settings, intents={"geocoder": geocoder}) as bot:
        yield bot


@pytest.mark.parametrize(
    ("corner", "address"),
    [
        ("Queen and Bay", "QUEEN ST W & BAY ST"),
        ("Dundas and Spadina", "DUNDAS ST W & SPADINA AVE"),
        ("Yonge and Dundas", "YONGE ST & DUNDAS ST E"),
        ("Queen St West and Bay", "QUEEN ST W & BAY ST"),  # the direction written, as before
        ("10 Dundas St", "10 DUNDAS ST E"),  # a house number only one direction has
    ],
)
def test_a_corner_found_exactly_without_its_direction_is_filed_without_asking(
    toronto: RunningBot, corner: str, address: str
) -> None:
    reply = toronto.resident("ann").ask(f"There is a huge pothole in the road at {corner}")

    assert "Is it at" not in reply, reply
    request = toronto.request(filed_id(reply))
    assert request["address"] == f"{address}, {TORONTO_CITY}"


def test_where_the_direction_left_out_fits_several_streets_the_bot_still_asks(toronto: RunningBot) -> None:
    # 100 Queen St E and 100 Queen St W both exist: the geocoder offers the first, not exact.
    reply = toronto.resident("bob").ask("There is a huge pothole in the road at 100 Queen St")

    assert reply == f"Is it at 100 QUEEN ST E, {TORONTO_CITY}?\n1. Yes\n2. No"
    assert toronto.request_count() == 0
