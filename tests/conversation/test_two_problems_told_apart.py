"""Two problems in one message, joined by words that add one ("y también", "and also"), when the classifier
reads the shorter part less surely than a whole message.

Found by an SMS tester: "Hay un bache en 5th y Market y también una luz rota en 16th y Mission" was asked
its kind, "1" filed the pothole, and the streetlight at 16th and Mission was lost in its description.
"""

from __future__ import annotations

from bot.config import Settings
from tests.conversation.harness import running_bot

# About the shipped model's threshold: "una luz rota en 16th y Mission" reads as a streetlight at 0.81, under
# it; the split must not depend on where a part lands against the threshold.
SHIPPED_THRESHOLD = 0.82


def test_a_second_problem_joined_by_y_tambien_is_a_report_of_its_own(settings: Settings) -> None:
    with running_bot(settings, intents={"auto_file_threshold": SHIPPED_THRESHOLD}) as bot:
        ana = bot.resident("ana")
        reply = ana.ask("Hay un bache en 5th y Market y también una luz rota en 16th y Mission")
        # The pothole is filed, and the streetlight taken up after it (asked its kind: the bot is unsure).
        assert "#1 (Bache)" in reply, reply
        assert reply.splitlines()[0].endswith(
            "¿Qué tipo de problema es? Responda con el número o con palabras."
        )
        assert "registrado con el número #2 (Alumbrado público)" in ana.ask("1")
        pothole, streetlight = bot.request("1"), bot.request("2")
        assert pothole["description"] == "Hay un bache en 5th y Market"
        assert pothole["address"] == "05TH ST & MARKET ST, San Francisco, CA"
        assert streetlight["description"] == "una luz rota en 16th y Mission"
        assert streetlight["address"] == "16TH ST & MISSION ST, San Francisco, CA"
        # The unsure part first: its kind asked, then the pothole filed after it.
        bo = bot.resident("bo")
        assert "¿Qué tipo de problema es?" in bo.ask(
            "Hay una luz rota en 16th y Mission y también un bache en 5th y Market"
        )
        reply = bo.ask("1")
        assert "#3 (Alumbrado público)" in reply, reply
        assert "#4 (Bache)" in reply, reply
        assert bot.request("4")["description"] == "un bache en 5th y Market"


def test_one_problem_told_with_y_tambien_stays_one_report(settings: Settings) -> None:
    with running_bot(settings, intents={"auto_file_threshold": SHIPPED_THRESHOLD}) as bot:
        words = "Hay un bache enorme en 5th y Market y también está muy profundo, es peligroso"
        assert "#1 (Bache)" in bot.resident("cy").ask(words)
        assert bot.request("1")["description"] == words
        assert bot.request_count() == 1
