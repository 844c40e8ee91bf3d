"""Required attributes: asked one at a time in their ``order``, lists as numbered options answered by number
or words, what the message already says filled in without asking, information-only ones never asked."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from tests.conversation.harness import running_bot
from tests.conversation.test_dialogue import filed_id

CATALOG = Path(__file__).with_name("attributes_catalog.toml")


def test_required_attributes_are_asked_in_order_with_inference(settings: Settings) -> None:
    with running_bot(settings, open311={"catalog_file": CATALOG}) as bot:
        olga = bot.resident("olga")
        # "larger than a car tire" answers `size` (order 2) before it is asked.
        lane = olga.ask("There is a pothole at 5th St and Market St, larger than a car tire")
        assert lane.splitlines() == [
            "Is it in a lane where cars or bikes travel? Reply with the number or the words.",
            "1. Yes",
            "2. No",
        ]
        assert "did not understand" in olga.ask("maybe")
        depth = olga.ask("yes")
        assert depth == "About how deep is it, in inches?"
        assert "did not understand" in olga.ask("quite deep")
        hazards = olga.ask("about 4 inches")
        assert hazards.splitlines()[0].startswith("Anything else wrong there?")
        assert hazards.splitlines()[1:] == [
            "1. Standing water",
            "2. Loose debris",
            "3. Missing warning signs",
        ]
        request_id = filed_id(olga.ask("1 and 3"))
        stored = bot.runtime.open311.get_request(request_id)
        assert dict(stored.attributes) == {
            "lane": "yes",
            "size": "large",
            "depth": "4",
            "hazards": ["water", "signs"],
        }

        # The same report without the size: asked, and answered by number.
        pat = bot.resident("pat")
        pat.ask("There is a pothole at 5th St and Market St")
        assert pat.ask("2").startswith("About how big is it?")
        pat.ask("1")
        pat.ask("2")
        request_id = filed_id(pat.ask("standing water"))
        attributes = bot.runtime.open311.get_request(request_id).attributes
        assert attributes["lane"] == "no"
        assert attributes["size"] == "small"
        assert attributes["hazards"] == ["water"]
