"""UTC time, the one clock of every table (the core's, the conversation's, the console's).

Everything is stored in UTC. SQLite hands datetimes back without a zone, PostgreSQL with one; ``as_utc``
makes both comparable.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
