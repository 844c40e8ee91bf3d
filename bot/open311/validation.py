"""Checks a submission against the service definition; every error names the offending field, and a
submission with several independent problems is refused with all of them at once (InvalidInput.of).

Returns the columns to store, normalised (trimmed strings, attribute values as the catalog's keys).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from bot.open311.catalog import Attribute, Service
from bot.open311.errors import InvalidInput, shown
from bot.open311.models import AttributeValues, NewRequest

T = TypeVar("T")
P = ParamSpec("P")
# Whether a point (latitude, longitude) lies in the area a jurisdiction serves.
AreaServed = Callable[[float, float], bool]

MAX_DESCRIPTION = 4000
MAX_MEDIA_URL = 2048
# Column widths of service_requests (models.py), checked here so the database never truncates or fails.
_LIMITS = {
    "address_string": 1024,
    "address_id": 255,
    "zipcode": 32,
    "email": 320,
    "device_id": 255,
    "account_id": 255,
    "first_name": 255,
    "last_name": 255,
    "phone": 64,
    "media_url": MAX_MEDIA_URL,
    "channel": 32,
}
# A plain decimal number, as a person writes one: float() also takes "1_000", "1e3", "nan", "inf" and
# digits of other scripts, none of which a form should carry.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A date and time with its timezone (``Z`` or an offset, ``+05:00`` or, as Java's SimpleDateFormat "Z"
# writes it, ``+0500``); the timezone is optional only where a caller allows it (``_read_datetime``).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
# "...T10:00:00 05:00": a "+05:00" (or "+0500") offset sent without percent-encoding, which a query string
# or a form body decodes to a space. A space is never part of a datetime, so reading it back is unambiguous.
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
_NOT_IN_CALENDAR = (
    "is not a date of the calendar (months 1-12, days of that month, hours 0-23, minutes and seconds 0-59)"
)


def parse_w3c_datetime(value: str, field: str) -> datetime:
    """A w3c datetime with a timezone (``Z``, ``+HH:MM`` or ``+HHMM``), as the spec requires of
    start_date and end_date, in UTC."""
    parsed = _read_datetime(value, field)
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f"{field} must be a w3c datetime with a timezone, e.g. 2010-01-01T00:00:00Z", field=field
        )
    return as_utc(parsed, field)


def check_iso8601_date(value: str, field: str) -> None:
    """A datetime attribute's answer: the spec asks only that it "transform into a valid ISO 8601 date",
    so a date alone (``2026-11-27``) and a local time without an offset (``2026-11-27T07:00``) are taken,
    as is one with a timezone. Stored as written."""
    example = "an ISO 8601 date or date and time, e.g. 2026-11-27 or 2026-11-27T07:00:00Z"
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            date.fromisoformat(text)
        except ValueError as exc:
            raise InvalidInput(f"{field} {_NOT_IN_CALENDAR}", field=field) from exc
    elif _read_datetime(text, field) is None:
        raise InvalidInput(f"{field} must be {example}", field=field)


def _read_datetime(value: str, field: str) -> datetime | None:
    """A date and time (``_DATETIME``), aware when it has a timezone; None when it is not written as
    one; a 400 for an impossible offset or a date the calendar does not have."""
    text = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    if not _DATETIME.fullmatch(text):
        return None
    offset = _OFFSET.search(text)
    if offset is not None and offset.start() > text.index("T"):  # not the date's own hyphens
        sign, hours, minutes = offset.groups()
        if int(hours) > 23 or int(minutes) > 59:
            raise InvalidInput(
                f"{field} has an impossible timezone offset {offset.group(0)} (from -23:59 to +23:59)",
                field=field,
            )
        text = text[: offset.start()] + f"{sign}{hours}:{minutes}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{field} {_NOT_IN_CALENDAR}", field=field) from exc


def as_utc(moment: datetime, field: str) -> datetime:
    """``moment`` (aware) in UTC; a 400 for one that UTC cannot hold (9999-12-31T23:59:59-14:00)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidInput(
            f"{field} is out of range: in UTC it falls before the year 1 or after the year 9999", field=field
        ) from exc


def parse_decimal(value: str, field: str) -> float:
    """A plain decimal number (``-122.4194``, ``3``); a 400 naming ``field`` for anything else."""
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        raise InvalidInput(f"{field} must be a plain decimal number, e.g. 12 or -122.41", field=field)
    number = float(text)
    if not math.isfinite(number):
        raise InvalidInput(f"{field} is too large a number", field=field)
    return number


def check_http_url(value: str, field: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidInput(f"{field} must be an http(s) URL", field=field)
    return text


def _text(value: str | None, field: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    limit = limit or _LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    if "\x00" in text:
        raise InvalidInput(f"{field} contains a NUL character", field=field)
    return text


def _given(value: float | str | None) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _coordinate(value: float | str | None, field: str, bound: float) -> float | None:
    """A latitude or longitude, given as a number (the bot) or as the text a client sent (the API)."""
    if not _given(value):
        return None
    assert value is not None
    number = parse_decimal(value, field) if isinstance(value, str) else value
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise InvalidInput(f"{field} must be between {-bound:g} and {bound:g}", field=field)
    return number


# The free-text fields of a submission after its location, in the spec's order for POST Service Request
# (zipcode is an extension, kept with the location).
TEXT_FIELDS = (
    "address_string",
    "address_id",
    "zipcode",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
)
# The order errors are reported in: the spec's parameter list (the uploaded media with media_url), then
# the service definition's attributes in its order, then attribute codes it does not have (as sent), then
# anything else (the malformed attribute keys the HTTP layer found).
_FIELD_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "jurisdiction_id",
            "service_code",
            "lat",
            "long",
            *TEXT_FIELDS,
            "description",
            "media_url",
            "media",
            "channel",
        )
    )
}


def _report_order(errors: list[InvalidInput], new: NewRequest, service: Service) -> list[InvalidInput]:
    defined = {f"attribute[{a.code}]": rank for rank, a in enumerate(service.attributes)}
    undefined = {f"attribute[{code}]": rank for rank, code in enumerate(new.attributes)}

    def rank(error: InvalidInput) -> tuple[int, int]:
        field = error.field or ""
        if field in _FIELD_ORDER:
            return (0, _FIELD_ORDER[field])
        if field in defined:
            return (1, defined[field])
        return (2, undefined[field]) if field in undefined else (3, 0)

    return sorted(errors, key=rank)  # stable: several errors of one field keep their order


class _Checks:
    """Runs independent checks, keeping every InvalidInput instead of stopping at the first."""

    def __init__(self, found: Sequence[InvalidInput] = ()) -> None:
        self.found: list[InvalidInput] = list(found)

    def run(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return check(*args, **kwargs)
        except InvalidInput as error:
            self.found.append(error)
            return None

    def refuse(self, description: str, field: str) -> None:
        self.found.append(InvalidInput(description, field=field))


def validate_submission(
    new: NewRequest,
    service: Service,
    also: Sequence[InvalidInput] = (),
    *,
    serves: AreaServed | None = None,
) -> dict[str, Any]:
    """The columns of a new request (without ids, dates or status), or one InvalidInput carrying every
    failed check (with ``also``, the errors the caller met reading the submission) in report order.
    Given ``serves``, a point (lat and long) it says is outside the area is refused."""
    checks = _Checks(also)
    lat_given, long_given = _given(new.lat), _given(new.long)
    if lat_given != long_given:
        missing, present = ("long", "lat") if lat_given else ("lat", "long")
        checks.refuse(f"{missing} is required when {present} is given", missing)
    lat = checks.run(_coordinate, new.lat, "lat", 90.0)
    long = checks.run(_coordinate, new.long, "long", 180.0)
    if serves is not None and lat is not None and long is not None and not serves(lat, long):
        checks.refuse(f"lat and long ({lat}, {long}) are outside the area this jurisdiction serves", "lat")
    if not (lat_given or long_given or _given(new.address_string) or _given(new.address_id)):
        checks.refuse("a location is required: lat and long, address_string or address_id", "address_string")
    texts = {name: checks.run(_text, getattr(new, name), name) for name in TEXT_FIELDS}
    if texts["email"] is not None and not _EMAIL.fullmatch(texts["email"]):
        checks.refuse("email is not an email address", "email")
    description = checks.run(_text, new.description, "description", MAX_DESCRIPTION)
    media_url = checks.run(_text, new.media_url, "media_url")
    if media_url is not None:
        media_url = checks.run(check_http_url, media_url, "media_url")
    channel = checks.run(_text, new.channel, "channel") or "api"
    attributes = validate_attributes(new.attributes, service, checks)
    if checks.found:
        raise InvalidInput.of(_report_order(checks.found, new, service))
    return {
        "service_code": service.code,
        "service_name": service.name,
        "agency_responsible": service.agency_responsible,
        "service_notice": service.service_notice,
        "description": description,
        "address": texts["address_string"],
        "address_id": texts["address_id"],
        "zipcode": texts["zipcode"],
        "lat": lat,
        "long": long,
        "media_url": media_url,
        "email": texts["email"],
        "device_id": texts["device_id"],
        "account_id": texts["account_id"],
        "first_name": texts["first_name"],
        "last_name": texts["last_name"],
        "phone": texts["phone"],
        "channel": channel,
        "attributes": attributes,
    }


def validate_answers(values: AttributeValues, service: Service) -> AttributeValues:
    """Answers to ``service``'s questions checked as a submission's are (a code it does not have, a wrong
    value, a required question unanswered): the answers to store, or one InvalidInput with every problem."""
    checks = _Checks()
    checked = validate_attributes(values, service, checks)
    if checks.found:
        raise InvalidInput.of(checks.found)
    return checked


def validate_attributes(values: AttributeValues, service: Service, checks: _Checks) -> AttributeValues:
    """The answers to store, keyed by the catalog's codes; every refusal goes to ``checks``."""
    checked: AttributeValues = {}
    known = service.attributes_by_code
    for code in values:
        if known.get(code) is None:
            checks.refuse(
                f"attribute[{code}] is not an attribute of service {service.code}", f"attribute[{code}]"
            )
    for attribute in service.attributes:
        if not attribute.variable:
            # Informational (variable=false): a client that echoes it back is not refused, but it is
            # no answer of the resident's, so it is not stored.
            continue
        try:
            value = _check_attribute(attribute, values.get(attribute.code))
        except InvalidInput as error:
            checks.found.append(error)
            continue
        if value is None:
            if attribute.required:
                checks.refuse(
                    f"attribute[{attribute.code}] is required: {attribute.description}",
                    f"attribute[{attribute.code}]",
                )
            continue
        checked[attribute.code] = value
    return checked


def _check_attribute(attribute: Attribute, raw: str | list[str] | None) -> str | list[str] | None:
    field = f"attribute[{attribute.code}]"
    items = [raw] if isinstance(raw, str) else list(raw or [])
    items = [item.strip() for item in items if item is not None and item.strip()]
    if not items:
        return None
    if attribute.datatype == "multivaluelist":
        unknown = [item for item in items if item not in attribute.value_keys]
        if unknown:
            raise InvalidInput(f"{field}: {shown(unknown[0])} is not one of its value keys", field=field)
        return list(dict.fromkeys(items))
    if len(items) > 1:
        raise InvalidInput(f"{field} takes a single value", field=field)
    value = items[0]
    if attribute.datatype == "singlevaluelist":
        if value not in attribute.value_keys:
            keys = ", ".join(sorted(attribute.value_keys))
            raise InvalidInput(f"{field}: {shown(value)} is not one of its value keys ({keys})", field=field)
    elif attribute.datatype == "number":
        parse_decimal(value, field)
    elif attribute.datatype == "datetime":
        check_iso8601_date(value, field)
    elif attribute.datatype == "string":
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"{field} is a single line of text", field=field)
        if len(value) > 1000:
            raise InvalidInput(f"{field} is longer than 1000 characters", field=field)
    elif len(value) > MAX_DESCRIPTION:  # text
        raise InvalidInput(f"{field} is longer than {MAX_DESCRIPTION} characters", field=field)
    return value
