"""The figures at a glance: volumes per day by channel and by service, the share filed without a person, the
median time an item waits in the review queue, and open requests by age.

Counting is done by the database (grouped by day, channel, service); only the small grouped result comes
back. ``render_charts`` turns the figures into inline SVG (``charts.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.clock import as_utc, utcnow
from bot.open311.models import ServiceRequestRow
from bot.remote.records import RemoteSubmission
from bot.review import charts, city_requests
from bot.review.models import DECIDED_STATUSES, ReviewItem

AGE_BRACKETS: tuple[tuple[str, timedelta], ...] = (
    ("under 1 day", timedelta(days=1)),
    ("1–3 days", timedelta(days=3)),
    ("3–7 days", timedelta(days=7)),
    ("1–4 weeks", timedelta(days=28)),
)
OLDEST_BRACKET = "over 4 weeks"
# Requests filed through the Open311 API by apps, not by the bot.
API_CHANNEL = "api"
MAX_SERIES = 6


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: list[str]
    by_channel: dict[str, list[int]]
    by_service: dict[str, list[int]]
    bot_filed: int
    filed_after_review: int
    review_waits_seconds: list[float]
    open_by_age: list[tuple[str, int]]
    waiting_now: int

    @property
    def share_without_person(self) -> float | None:
        if not self.bot_filed:
            return None
        return max(0.0, (self.bot_filed - self.filed_after_review) / self.bot_filed)

    @property
    def median_review_wait_seconds(self) -> float | None:
        return statistics.median(self.review_waits_seconds) if self.review_waits_seconds else None

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "volumes_by_channel": self.by_channel,
            "volumes_by_service": self.by_service,
            "bot_filed": self.bot_filed,
            "filed_after_review": self.filed_after_review,
            "share_filed_without_person": self.share_without_person,
            "median_review_wait_seconds": self.median_review_wait_seconds,
            "open_by_age": dict(self.open_by_age),
            "waiting_in_queue": self.waiting_now,
        }


def _as_day(value: Any) -> str:
    # SQLite's date() gives text, PostgreSQL's a date.
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def compute(
    session: Session, *, days: int = 30, now: datetime | None = None, remote: bool = False
) -> Dashboard:
    """The figures over the last ``days`` days; with ``remote``, of the reports the bot filed at the remote
    city (``city_requests``) instead of the embedded core's requests."""
    now = now or utcnow()
    first_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    day_labels = [(first_day + timedelta(days=i)).isoformat() for i in range(days)]
    index = {label: i for i, label in enumerate(day_labels)}

    # One pass over the window, grouped by day, channel and service; every volume is summed from it.
    grouped = city_requests.volumes(session, since) if remote else _core_volumes(session, since)
    channels: dict[str, list[int]] = {}
    services: dict[str, list[int]] = {}
    bot_filed = 0
    for raw_day, channel_name, service_code, count in grouped:
        if channel_name != API_CHANNEL:
            bot_filed += int(count)
        position = index.get(_as_day(raw_day))
        if position is None:
            continue  # filed "in the future" by a skewed clock: counted in the total, not drawn
        channels.setdefault(str(channel_name), [0] * days)[position] += int(count)
        services.setdefault(str(service_code), [0] * days)[position] += int(count)
    by_channel, by_service = _top_series(channels), _top_series(services)
    decided = session.exec(
        select(ReviewItem.created_at, ReviewItem.decided_at, ReviewItem.service_request_id, ReviewItem.token)
        .where(col(ReviewItem.status).in_(DECIDED_STATUSES))
        .where(col(ReviewItem.decided_at) >= since)
    ).all()
    waits = [
        (as_utc(decided_at) - as_utc(created_at)).total_seconds()
        for created_at, decided_at, _, _ in decided
        if decided_at is not None
    ]
    filed_after_review = sum(1 for _, _, request_id, token in decided if request_id or token)
    waiting_now = session.exec(
        select(func.count()).where(col(ReviewItem.status).in_(("pending", "claimed")))
    ).one()
    return Dashboard(
        days=day_labels,
        by_channel=by_channel,
        by_service=by_service,
        bot_filed=int(bot_filed),
        filed_after_review=filed_after_review,
        review_waits_seconds=waits,
        open_by_age=open_by_age(session, now, remote=remote),
        waiting_now=int(waiting_now),
    )


def _core_volumes(session: Session, since: datetime) -> Sequence[tuple[Any, str, str, int]]:
    """The embedded core's requests since ``since``, counted by day, channel and service."""
    day = func.date(col(ServiceRequestRow.requested_datetime))
    channel, service = col(ServiceRequestRow.channel), col(ServiceRequestRow.service_code)
    return session.exec(
        select(day, channel, service, func.count())
        .where(col(ServiceRequestRow.requested_datetime) >= since)
        .group_by(day, channel, service)
    ).all()


def open_by_age(session: Session, now: datetime, *, remote: bool = False) -> list[tuple[str, int]]:
    """Open requests (with ``remote``, the bot's open reports to the city) counted per age bracket
    (youngest first), each bracket counted by the database."""
    if remote:
        count_open, opened = city_requests.open_count(), col(RemoteSubmission.created_at)
    else:
        count_open = select(func.count()).where(col(ServiceRequestRow.status) == "open")
        opened = col(ServiceRequestRow.requested_datetime)
    counts: list[tuple[str, int]] = []
    younger_than: datetime | None = None
    for label, age in AGE_BRACKETS:
        older_than = now - age
        query = count_open.where(opened > older_than)
        if younger_than is not None:
            query = query.where(opened <= younger_than)
        counts.append((label, int(session.exec(query).one())))
        younger_than = older_than
    query = count_open
    if younger_than is not None:
        query = query.where(opened <= younger_than)
    counts.append((OLDEST_BRACKET, int(session.exec(query).one())))
    return counts


def _top_series(series: dict[str, list[int]]) -> dict[str, list[int]]:
    """The biggest series by total, the rest summed as "others", so a chart stays legible."""
    ordered = sorted(series.items(), key=lambda item: (-sum(item[1]), item[0]))
    if len(ordered) <= MAX_SERIES:
        return dict(ordered)
    kept = dict(ordered[: MAX_SERIES - 1])
    others = [sum(values) for values in zip(*(v for _, v in ordered[MAX_SERIES - 1 :]), strict=True)]
    kept["others"] = others
    return kept


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "no data yet"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class DashboardCharts:
    by_channel: str
    by_service: str
    share: str
    open_by_age: str


def render_charts(figures: Dashboard, names: dict[str, str] | None = None) -> DashboardCharts:
    """The charts; ``names`` gives service codes their city names in the legends."""
    names = names or {}
    short_days = [label[5:] for label in figures.days]  # "MM-DD"
    return DashboardCharts(
        by_channel=charts.stacked_bars(
            "Requests per day by channel", short_days, list(figures.by_channel.items())
        ),
        by_service=charts.stacked_bars(
            "Requests per day by service",
            short_days,
            [(names.get(code, code), values) for code, values in figures.by_service.items()],
        ),
        share=charts.share_meter(
            "Share of bot-filed requests filed without a person", figures.share_without_person
        ),
        open_by_age=charts.horizontal_bars("Open requests by age", figures.open_by_age),
    )
