"""What STATUS tells whoever asks: anyone may ask about any request number, so the answer holds no more
than the Open311 API publishes."""

from __future__ import annotations

from bot.config import Settings
from tests.conversation.harness import CLEAR_REPORT, filed_id, running_bot


def test_status_of_anyones_request_masks_the_contact_details_in_its_notes(settings: Settings) -> None:
    with running_bot(settings) as bot:
        request_id = filed_id(bot.resident("filer").say(CLEAR_REPORT)[0]["text"])
        notes = "Towing requested; owner reached at 415-555-0199, email owner@example.com"
        bot.runtime.open311.update_status(request_id, "open", notes, actor="operator:alice")

        [answer] = bot.resident("stranger").say(f"STATUS {request_id}")

        assert answer["text"].startswith(f"Report #{request_id} (Pothole) is open."), answer["text"]
        assert "Towing requested; owner reached at [phone], email [email]" in answer["text"]
        assert "555-0199" not in answer["text"]
        assert "owner@example.com" not in answer["text"]
