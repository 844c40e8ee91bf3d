"""Checks a submission against the service definition; every error names the offending field.

Returns the columns to store, normalised (trimmed strings, attribute values as the catalog's keys).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.open311.catalog import Attribute, Service
from bot.open311.errors import InvalidInput, shown
from bot.open311.models import AttributeValues, NewRequest

MAX_DESCRIPTION = 4000
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
    "media_url": 2048,
    "channel": 32,
}
# A plain decimal number, as a person writes one: float() also takes "1_000", "1e3", "nan", "inf" and
# digits of other scripts, none of which a form should carry.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


# "...T10:00:00 05:00": a "+05:00" offset sent without percent-encoding, which a query string or a form
# body decodes to a space. A space is never part of a w3c datetime, so reading it back is unambiguous.
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$")


def parse_w3c_datetime(value: str, field: str) -> datetime:
    """A w3c datetime with a timezone (``Z`` or ``+HH:MM``), as the spec requires, in UTC."""
    text = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    if not _W3C_DATETIME.fullmatch(text):
        raise InvalidInput(
            f"{field} must be a w3c datetime with a timezone, e.g. 2010-01-01T00:00:00Z", field=field
        )
    offset = re.search(r"[+-](\d{2}):(\d{2})$", text)
    if offset and (int(offset.group(1)) > 23 or int(offset.group(2)) > 59):
        raise InvalidInput(
            f"{field} has an impossible timezone offset {offset.group(0)} (from -23:59 to +23:59)",
            field=field,
        )
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{field} is not a date of the calendar (months 1-12, days of that month, hours 0-23, "
            "minutes and seconds 0-59)",
            field=field,
        ) from exc
    return as_utc(parsed, field)


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


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    limit = _LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    if "\x00" in text:
        raise InvalidInput(f"{field} contains a NUL character", field=field)
    return text


def validate_submission(new: NewRequest, service: Service) -> dict[str, Any]:
    """The columns of a new request (without ids, dates or status), or InvalidInput."""
    lat, long = new.lat, new.long
    if (lat is None) != (long is None):
        missing = "long" if long is None else "lat"
        raise InvalidInput(
            f"{missing} is required when {'lat' if missing == 'long' else 'long'} is given", field=missing
        )
    if lat is not None and long is not None:
        if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
            raise InvalidInput("lat must be between -90 and 90", field="lat")
        if not math.isfinite(long) or not -180.0 <= long <= 180.0:
            raise InvalidInput("long must be between -180 and 180", field="long")
    address = _text(new.address_string, "address_string")
    address_id = _text(new.address_id, "address_id")
    if lat is None and address is None and address_id is None:
        raise InvalidInput(
            "a location is required: lat and long, address_string or address_id", field="address_string"
        )
    description = new.description.strip() if new.description else None
    if description and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description is longer than {MAX_DESCRIPTION} characters", field="description")
    if description and "\x00" in description:
        raise InvalidInput("description contains a NUL character", field="description")
    email = _text(new.email, "email")
    if email is not None and not _EMAIL.fullmatch(email):
        raise InvalidInput("email is not an email address", field="email")
    media_url = _text(new.media_url, "media_url")
    if media_url is not None:
        media_url = check_http_url(media_url, "media_url")
    channel = _text(new.channel, "channel") or "api"
    return {
        "service_code": service.code,
        "service_name": service.name,
        "agency_responsible": service.agency_responsible,
        "service_notice": service.service_notice,
        "description": description or None,
        "address": address,
        "address_id": address_id,
        "zipcode": _text(new.zipcode, "zipcode"),
        "lat": lat,
        "long": long,
        "media_url": media_url,
        "email": email,
        "device_id": _text(new.device_id, "device_id"),
        "account_id": _text(new.account_id, "account_id"),
        "first_name": _text(new.first_name, "first_name"),
        "last_name": _text(new.last_name, "last_name"),
        "phone": _text(new.phone, "phone"),
        "channel": channel,
        "attributes": validate_attributes(new.attributes, service),
    }


def validate_attributes(values: AttributeValues, service: Service) -> AttributeValues:
    checked: AttributeValues = {}
    known = service.attributes_by_code
    for code in values:
        if known.get(code) is None:
            raise InvalidInput(
                f"attribute[{code}] is not an attribute of service {service.code}", field=f"attribute[{code}]"
            )
    for attribute in service.attributes:
        if not attribute.variable:
            # Informational (variable=false): a client that echoes it back is not refused, but it is
            # no answer of the resident's, so it is not stored.
            continue
        raw = values.get(attribute.code)
        value = _check_attribute(attribute, raw)
        if value is None:
            if attribute.required:
                raise InvalidInput(
                    f"attribute[{attribute.code}] is required: {attribute.description}",
                    field=f"attribute[{attribute.code}]",
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
        parse_w3c_datetime(value, field)
    elif attribute.datatype == "string":
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"{field} is a single line of text", field=field)
        if len(value) > 1000:
            raise InvalidInput(f"{field} is longer than 1000 characters", field=field)
    elif len(value) > MAX_DESCRIPTION:  # text
        raise InvalidInput(f"{field} is longer than {MAX_DESCRIPTION} characters", field=field)
    return value
