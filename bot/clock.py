"""UTC time, the one clock of every table (the core's, the conversation's, the console's), and the city's
time, in which residents and operators read it.

Everything is stored in UTC. SQLite hands datetimes back without a zone, PostgreSQL with one; ``as_utc``
makes both comparable. What a person reads (a status update's "Expected by", the console's pages) is in
the city's zone (``Settings.time_zone``): a crew's "2026-12-01T20:00-06:00" is the 1st in Chicago, though
the 2nd in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

# The city's time zone when none is configured: San Francisco's, like the other defaults.
DEFAULT_TIME_ZONE = "America/Los_Angeles"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_date(moment: datetime, zone: tzinfo) -> str:
    """The day of ``moment`` in ``zone``: "2026-12-01"."""
    return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d")


def local_minute(moment: datetime, zone: tzinfo) -> str:
    """``moment`` to the minute in ``zone``, with the zone's abbreviation: "2026-12-01 20:00 CST"."""
    return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
