"""The understanding of a turn (classification, geocoding) is worked out before its transaction: inside
it, the engine asks the understander nothing new, so no database lock waits on a geocoder."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.conversation import ConversationEngine, DialogueState, Turn
from bot.state import Resident
from intents.types import Understander
from tests.conversation.harness import CLEAR_REPORT, RunningBot


class CountingUnderstander:
    """The real pipeline, counting what it is asked."""

    def __init__(self, inner: Understander) -> None:
        self.inner = inner
        self.auto_file_threshold = inner.auto_file_threshold
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return method(*args)

        return counted


def test_nothing_new_is_asked_inside_the_transaction(bot: RunningBot) -> None:
    messaging = bot.messaging
    counting = CountingUnderstander(messaging.understander)
    engine = ConversationEngine(
        counting,  # type: ignore[arg-type]
        messaging.backend,
        messaging.templates,
        messaging.review_queue,
    )
    cases = [
        (Turn("local", "a", "m1", text=CLEAR_REPORT), DialogueState()),
        (
            Turn("local", "b", "m2", text="5th St and Market St"),
            DialogueState(stage="location", words=["pothole"]),
        ),
        (Turn("local", "c", "m3", point=None, media_urls=("https://example.org/p.jpg",)), DialogueState()),
        (Turn("local", "d", "m4", text="STATUS"), DialogueState()),
        (Turn("local", "e", "m5", text=f"{CLEAR_REPORT}. Also graffiti at 452 Hanover St"), DialogueState()),
        (
            Turn("local", "f", "m6", text="yes"),
            DialogueState(
                stage="confirm_location",
                words=["pothole"],
                service_code="pothole",
                lat=37.7838,
                long=-122.4079,
                address_string="5TH ST & MARKET ST",
                queued=["a broken streetlight at 16th St and Mission St"],
            ),
        ),
        # "Where is it?" answered with the problem: classified (alone, then with the words before it).
        (
            Turn("local", "g", "m7", text="a broken streetlight"),
            DialogueState(stage="location", words=["I want to report something"], needs_review=True),
        ),
    ]
    for turn, state in cases:
        prepared = engine.prepare(turn, state)
        asked_before = sum(counting.calls.values())
        with bot.runtime.sessions() as session:
            replies = engine.respond(
                session, turn, state, Resident(channel="local", resident_id=turn.resident_id), prepared
            )
            session.rollback()
        assert replies
        assert sum(counting.calls.values()) == asked_before, (turn, counting.calls)
    # The clear report; the two-report message whole and its two parts; the report waiting its turn; the
    # answer to "Where is it?" after words of no known kind (a whole report of its own, maybe).
    assert counting.calls["understand"] == 6
    assert counting.calls["geocode"] == 2
    assert counting.calls["classify"] == 2


def test_words_that_name_no_place_are_never_sent_to_the_geocoder(bot: RunningBot) -> None:
    """A Chicago tester's Nominatim log showed `q=not sure`: an online geocoder is sent what residents
    write, and each request counts against its rate limit."""
    messaging = bot.messaging
    counting = CountingUnderstander(messaging.understander)
    engine = ConversationEngine(counting, messaging.backend, messaging.templates, messaging.review_queue)  # type: ignore[arg-type]
    for number, text in enumerate(["not sure", "I don't know", "no sé", "ok", "👍", "5th St and Market St"]):
        turn = Turn("local", f"r{number}", f"n{number}", text=text)
        state = DialogueState(stage="location", words=["pothole"])
        prepared = engine.prepare(turn, state)
        with bot.runtime.sessions() as session:
            resident = Resident(channel="local", resident_id=turn.resident_id)
            engine.respond(session, turn, state, resident, prepared)
            session.rollback()
    assert counting.calls["geocode"] == 1  # the corner alone
