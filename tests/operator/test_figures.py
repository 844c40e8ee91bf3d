"""The console's figures, checked against requests filed through the core at known times, on SQLite and
PostgreSQL: the dashboard (grouping by day is done by each database's own date()), what operators taught
the bot, and the offline street map."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import sleep

import pytest

from bot.config import Settings
from bot.embedded_backend import EmbeddedBackend
from bot.review import dashboard, learning
from bot.review.map import load_street_graph, render_map_svg
from bot.review.queue import ReviewQueue
from bot.runtime import Runtime
from bot.templates import load_templates
from tests.operator.support import file_at


def _now_within_the_day() -> datetime:
    """The real "now" (the review queue files with the real clock, so the figures are taken at it), at
    least two minutes from midnight UTC: taken at import, it failed a run that reached the test just after
    midnight, the reports filed then falling on the day after the figures' "today"."""
    now = datetime.now(UTC)
    from_midnight = now - datetime.combine(now.date(), time(0), tzinfo=UTC)
    if from_midnight < timedelta(minutes=2) or from_midnight > timedelta(hours=23, minutes=58):
        tomorrow_or_today = now.date() + timedelta(days=1 if from_midnight > timedelta(hours=12) else 0)
        start = datetime.combine(tomorrow_or_today, time(0, 2), tzinfo=UTC)
        sleep((start - now).total_seconds())
        now = datetime.now(UTC)
    return now


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(settings)
    yield built
    built.close()


def test_dashboard_counts_what_was_filed(runtime: Runtime) -> None:
    now = _now_within_the_day()
    two_days_ago = datetime.combine((now - timedelta(days=2)).date(), time(10), tzinfo=UTC)
    file_at(runtime, two_days_ago, "pothole", "sms")
    file_at(runtime, two_days_ago + timedelta(hours=1), "pothole", "sms")
    file_at(runtime, two_days_ago, "graffiti", "api")
    today = file_at(runtime, now - timedelta(seconds=5), "pothole", "local")
    file_at(runtime, now - timedelta(days=10), "tree", "telegram")
    file_at(runtime, now - timedelta(days=40), "tree", "telegram")  # before the window, still open
    runtime.open311.update_status(today, "closed", "fixed", actor="test")

    # Two reports went through the review queue: one waited 10 minutes, one 30 (median 20).
    queue = ReviewQueue(EmbeddedBackend(runtime.open311), load_templates())
    with runtime.sessions() as session:
        for minutes, resident in ((10, "a"), (30, "b")):
            item = queue.enqueue(
                session, channel="sms", resident_id=resident, text="hole", lat=37.78, long=-122.41
            )
            assert item.id is not None
            queue.approve(session, item.id, "alice", service_code="pothole")
            item.created_at = now - timedelta(minutes=minutes + 1)
            item.decided_at = now - timedelta(minutes=1)
            session.add(item)
        queue.enqueue(session, channel="sms", resident_id="c", text="waiting")
        session.commit()

    with runtime.sessions() as session:
        figures = dashboard.compute(session, days=30, now=now)

    assert len(figures.days) == 30
    assert figures.days[-1] == now.date().isoformat()
    day = figures.days.index(two_days_ago.date().isoformat())
    assert figures.by_channel["sms"][day] == 2
    assert figures.by_channel["api"][day] == 1
    assert sum(figures.by_channel["telegram"]) == 1  # the 40-day-old one is outside the window
    assert figures.by_service["pothole"][day] == 2
    assert figures.by_service["pothole"][-1] == 3  # today: the local one and the two approved reports
    assert figures.median_review_wait_seconds == pytest.approx(20 * 60)
    assert figures.waiting_now == 1
    assert figures.filed_after_review == 2
    ages = dict(figures.open_by_age)
    assert ages["under 1 day"] == 2  # the two approved reports; today's local one was closed
    assert ages["1–3 days"] == 3
    assert ages["1–4 weeks"] == 1
    assert ages["over 4 weeks"] == 1
    charts = dashboard.render_charts(figures)
    assert "Requests per day by channel" in charts.by_channel
    assert ">sms<" in charts.by_channel
    assert "under 1 day" in charts.open_by_age


def test_operator_decisions_become_labelled_examples(runtime: Runtime, tmp_path: Path) -> None:
    decisions = [
        ("1", "pothole", "pothole", False),
        ("2", "graffiti", "illegal_dumping", False),
        ("3", "graffiti", "illegal_dumping", False),
        ("4", "noise", "", True),
        ("5", "tree", "tree", False),
    ]
    with runtime.sessions() as session:
        for item_id, predicted, chosen, rejected in decisions:
            learning.record_decision(
                session,
                review_item_id=item_id,
                operator="alice",
                text=f"message {item_id}, with a comma",
                predicted_code=predicted,
                predicted_confidence=0.5,
                service_code=chosen,
                rejected=rejected,
            )
        # A second decision on the same item replaces the first.
        learning.record_decision(
            session,
            review_item_id="5",
            operator="bob",
            text="message 5, with a comma",
            predicted_code="tree",
            predicted_confidence=0.5,
            service_code="street_cleaning",
        )
        session.commit()
    with runtime.sessions() as session:
        report = learning.agreement_report(session)
        exported = learning.export_corrections_csv(session, tmp_path / "out" / "corrections.csv")
    assert report.examples == 4  # the rejection is not a label for a service
    assert report.agreed == 1
    assert report.agreement_rate == pytest.approx(0.25)
    assert report.confused_pairs[0] == ("graffiti", "illegal_dumping", 2)
    assert ("tree", "street_cleaning", 1) in report.confused_pairs
    assert exported == 4
    # A model that now says "illegal_dumping" for everything agrees on the two corrected graffiti reports.
    with runtime.sessions() as session:
        now = learning.current_model_report(session, lambda text: "illegal_dumping")
    assert (now.examples, now.agreed) == (4, 2)
    assert ("illegal_dumping", "pothole", 1) in now.confused_pairs
    with (tmp_path / "out" / "corrections.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["service_code"] for row in rows] == [
        "pothole",
        "illegal_dumping",
        "illegal_dumping",
        "street_cleaning",
    ]
    assert rows[0]["text"] == "message 1, with a comma"
    assert rows[3]["operator"] == "bob"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_offline_map_draws_the_streets_around_a_point(database_url: str) -> None:
    graph = load_street_graph()
    assert graph is not None, "the bundled intersections file is missing from intents/data/sf"
    svg = render_map_svg(37.78336, -122.40779, label="5th and Market")
    assert svg.startswith("<svg")
    assert "MARKET ST" in svg
    assert "<line" in svg
    assert 'aria-label="5th and Market"' in svg
    # Far out at sea there is nothing to draw, but the point and a note still are.
    empty = render_map_svg(37.5, -123.5)
    assert "<line" not in empty
    assert "No street data near this point" in empty
