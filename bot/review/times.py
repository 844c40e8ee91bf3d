"""The console's times: stored in UTC, shown in the city's time zone (``Settings.time_zone``) with its
abbreviation ("2026-12-01 20:00 CST"), and a date and time typed into a form read in it too.

An operator in Chicago read "2026-12-02 02:00 UTC" for a crew's 8 pm on the 1st.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from jinja2 import pass_context
from jinja2.runtime import Context

from bot.clock import as_utc, local_minute
from bot.review.web import console_of

# What an <input type="datetime-local"> holds.
FORM_FORMAT = "%Y-%m-%dT%H:%M"


@pass_context
def city_time(context: Context, moment: datetime | None, seconds: bool = False) -> str:
    """The template filter ``city_time``: ``moment`` as the city reads it; empty for none."""
    if moment is None:
        return ""
    zone = console_of(context["request"]).settings.city_zone
    if seconds:
        return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return local_minute(moment, zone)


@pass_context
def city_zone(context: Context) -> str:
    """The template global ``city_zone()``: the zone's name ("America/Chicago"), for a form's label."""
    return console_of(context["request"]).settings.time_zone


def form_value(moment: datetime | None, zone: tzinfo) -> str:
    """``moment`` as a datetime-local field holds it, in the city's time; empty for none."""
    return as_utc(moment).astimezone(zone).strftime(FORM_FORMAT) if moment is not None else ""
