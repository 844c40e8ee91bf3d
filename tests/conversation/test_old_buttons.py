"""A button of an earlier question pressed later, on any channel: the engine takes a choice only while its
question is the one waiting.

Found by a Telegram tester: after CANCEL, pressing the old "Illegal Dumping" button and sending a place
filed a report whose description was the button's label. The Telegram channel checks its own buttons; the
engine now checks every channel's choices (here the local channel's ``choice``).
"""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from tests.conversation.harness import CLEAR_REPORT, LocalResident, RunningBot, filed_id, running_bot

CLOSED = "Those buttons are from an earlier question that is no longer open."
UNSURE = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}


def press(resident: LocalResident, choice: dict[str, Any]) -> str:
    """Presses a button the bot offered: its label as the text, its value as the choice (as Telegram's)."""
    return resident.ask(choice["label"], choice=choice["value"])


def test_a_dropped_reports_button_pressed_later_starts_no_report(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        ada = bot.resident("ada")
        [question] = ada.say(CLEAR_REPORT)
        first = question["choices"][0]
        assert ada.ask("CANCEL").startswith("Cancelled.")
        # Before: the label began a report ("Where is it?"), and the place filed it.
        assert (
            press(ada, first)
            == CLOSED + " Reply STATUS for your latest report, or send a new problem and where it is."
        )
        ada.ask("5th St and Market St")
        assert bot.request_count() == 0
        assert bot.review_items() == []


def test_a_filed_reports_button_pressed_later_changes_nothing(bot: RunningBot) -> None:
    bea = bot.resident("bea")
    [question] = bea.say("There is a huge pothole in the road at Valenica St and 16th St")
    no = next(choice for choice in question["choices"] if choice["value"] == "no")
    filed_id(bea.ask("yes"))
    # Before: "No" reopened the filed report's place ("Where is it?").
    assert press(bea, no).startswith(CLOSED)
    assert bea.ask("graffiti on the wall").startswith("Where is it?")
    assert bot.request_count() == 1


def test_a_button_of_another_question_is_not_an_answer_to_the_one_waiting(settings: Settings) -> None:
    with running_bot(settings, **UNSURE) as bot:
        cal = bot.resident("cal")
        [where] = cal.say("There is a huge pothole in the road at Valenica St and 16th St")
        yes = next(choice for choice in where["choices"] if choice["value"] == "yes")
        [kind] = cal.say(yes["label"], choice=yes["value"])
        assert kind["text"].startswith("What kind of problem is it?"), kind["text"]
        # The place confirmed, the kind is asked: "Yes" again answers nothing, and the kind is asked again,
        # its buttons with it.
        [closed] = cal.say(yes["label"], choice=yes["value"])
        assert closed["text"].startswith(CLOSED)
        assert closed["text"].endswith(kind["text"])
        assert closed["choices"] == kind["choices"]
        # A button of the question waiting is still its answer.
        pothole = next(choice for choice in kind["choices"] if choice["label"] == "Pothole")
        filed_id(press(cal, pothole))
        assert bot.request_count() == 1
