"""The update that a report is closed is not the last one its filer may get: the follow stays, and a note on
the closed report or its reopening reaches them too. So the closing update, like every other, tells them how
to stop (``Reply UNFOLLOW {id} to stop these updates.``), and UNFOLLOW after it is what stops them."""

from __future__ import annotations

from bot.config import Settings
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot


def updates(bot: RunningBot, resident: str) -> list[str]:
    bot.deliver()
    return [m["text"] for m in bot.resident(resident).received() if m["text"].startswith("Update on report")]


def test_a_closed_reports_update_keeps_the_way_to_stop_as_more_can_follow(settings: Settings) -> None:
    with running_bot(settings) as bot:
        ann, bo = bot.resident("ann"), bot.resident("bo")
        request_id = filed_id(ann.ask(CLEAR_REPORT))
        assert bo.ask(f"FOLLOW {request_id}").startswith("You will get updates")
        stop = f"Reply UNFOLLOW {request_id} to stop these updates."
        core = bot.runtime.open311

        core.update_status(request_id, "closed", "Filled with asphalt.", actor="crew")
        assert bot.notify() == 2
        assert updates(bot, "ann") == [
            f"Update on report #{request_id} (Pothole): it is now closed. Filled with asphalt. {stop}"
        ]

        core.update_status(request_id, "closed", "Inspected: it holds.", actor="crew")
        assert bot.notify() == 2
        assert updates(bot, "ann")[-1] == (
            f"Update on report #{request_id} (Pothole): it is still closed. Inspected: it holds. {stop}"
        )

        assert bo.ask(f"UNFOLLOW {request_id}") == f"You will no longer get updates on report #{request_id}."
        core.update_status(request_id, "open", "Reopened: the patch sank.", actor="crew")
        assert bot.notify() == 1
        assert updates(bot, "ann")[-1] == (
            f"Update on report #{request_id} (Pothole): it is now open. Reopened: the patch sank. {stop}"
        )
        assert len(updates(bot, "bo")) == 2  # nothing after UNFOLLOW
