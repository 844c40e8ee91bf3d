"""GeoReport v2 documents in XML and JSON, built from plain dicts.

JSON follows the Spark convention (the spec's mapping of its XML): a list of records is a bare array,
nested lists are arrays named like the XML's wrapper element. XML starts with the utf-8 declaration, has
no namespace, and names each nested list's items by the wrapper's singular (``notes`` -> ``note``).
Records are built as dicts in the spec's field order; every field is present, empty ones as null / an
empty element, so clients that index fields never miss one. A request's words (``description``,
``status_notes``, its notes) are published with phone numbers, emails and SSN-like numbers masked
(``public_words``); the store keeps them as written, for the operators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from xml.sax.saxutils import escape

import orjson

from bot.open311.catalog import Attribute, Catalog, Service
from bot.open311.media import more_photos, with_more_photos
from bot.open311.models import ServiceRequest, StatusNote, Submission, TokenStatus
from bot.redaction import mask_contact_details

Format = Literal["xml", "json"]
# How a stored photo URL is given out (``MediaStore.link``); ``str`` gives it as stored.
Link = Callable[[str], str]
FORMATS: tuple[Format, ...] = ("xml", "json")
CONTENT_TYPES: dict[Format, str] = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

# What XML 1.0 cannot carry (outside its Char production): the C0 controls but tab and the newlines,
# surrogates, and the non-characters U+FFFE and U+FFFF. One of them makes the whole document not
# well-formed, so a client cannot read any request of a list that holds it.
NOT_XML_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Item element names of nested lists (Spark convention: the wrapper's singular).
_ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
    "endpoints": "endpoint",
    "formats": "format",
    "services": "service",
}


class _PlainNumber(float):
    """A float JSON would write with an exponent (orjson writes ``1e-6``): ``render`` writes it as a
    plain decimal (``plain_decimal``) instead."""


def plain_decimal(number: float) -> str:
    """``number`` as a plain decimal (``-0.00005``, never ``-5e-05``): the form the API takes lat, long
    and number attributes in, so a client can send back what it was given."""
    text = repr(number)
    return text if "e" not in text else format(Decimal(text), "f")


def decimal_number(number: float | None) -> float | None:
    """A number for a record, written as a plain decimal in both formats (``_PlainNumber``)."""
    if number is None or "e" not in repr(number):
        return number
    return _PlainNumber(number)


def w3c(value: datetime | None) -> str | None:
    """A w3c datetime in UTC with the ``Z`` designator, seconds precision, as the spec shows."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"  # faster than strftime


# --------------------------------------------------------------------------------------- records


def service_record(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.metadata,
        "type": service.type,
        "keywords": ", ".join(service.keywords),
        "group": service.group,
    }


def attribute_record(attribute: Attribute) -> dict[str, Any]:
    record: dict[str, Any] = {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description,
        "order": attribute.order,
        "description": attribute.description,
        # Every attribute has it, as the spec's table lists it: empty ([] / <values></values>) for one
        # that is not a list, as every other empty field is sent, so clients that index it find it.
        "values": [{"key": value.key, "name": value.name} for value in attribute.values],
    }
    return record


def definition_record(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [attribute_record(attribute) for attribute in service.attributes],
    }


def public_words(text: str | None, link: Link = str) -> str | None:
    """What the API publishes of a resident's or an operator's words: phone numbers, emails and SSN-like
    numbers masked (``bot.redaction``, as the bot's public replies on X are), the photos listed at the end
    of a description given out through ``link``. Residents write them in reports they think private (an
    SMS, a direct message), and anyone may read the API."""
    if not text:
        return text
    words, photos = more_photos(text)
    return with_more_photos(mask_contact_details(words), [link(photo) for photo in photos])


def _note_record(note: StatusNote) -> dict[str, Any]:
    if note.kind == "submitted":
        description = f"Submitted ({note.actor})"
    elif note.kind == "moved":  # its notes are the new place, published as given (as the address is)
        description = f"Moved to {note.status_notes}"
    elif note.kind == "recategorised":  # its notes are the service it is now, as its service_name
        description = f"Service changed to {note.status_notes}"
    else:
        notes = public_words(note.status_notes)
        description = f"Status {note.status}" + (f": {notes}" if notes else "")
    return {
        "datetime": w3c(note.changed_at),
        "description": description,
        "type": note.kind,
        "status": note.status,
    }


def request_record(
    request: ServiceRequest, extensions: bool = False, catalog: Catalog | None = None, link: Link = str
) -> dict[str, Any]:
    """``link`` gives out a stored photo URL (``MediaStore.link``: our own files at today's address)."""
    record: dict[str, Any] = {
        "service_request_id": request.service_request_id,
        "status": request.status,
        "status_notes": public_words(request.status_notes),
        "service_name": request.service_name,
        "service_code": request.service_code,
        "description": public_words(request.description, link),
        "agency_responsible": request.agency_responsible,
        "service_notice": request.service_notice,
        "requested_datetime": w3c(request.requested_datetime),
        "updated_datetime": w3c(request.updated_datetime),
        "expected_datetime": w3c(request.expected_datetime),
        "address": request.address,
        "address_id": request.address_id,
        "zipcode": request.zipcode,
        "lat": decimal_number(request.lat),
        "long": decimal_number(request.long),
        "media_url": link(request.media_url) if request.media_url else None,
    }
    if extensions:
        record["channel"] = request.channel
        record["extended_attributes"] = {
            "channel": request.channel,
            "attributes": _attribute_entries(request.attributes),
        }
        # The form San Francisco's, Chicago's and Boston's endpoints give (the GeoReport v2 extensions
        # page): each answer with its question as ``label``, the attribute's code as ``name``, and a
        # list value's name and key as ``value`` and ``code``.
        service = catalog.get(request.service_code) if catalog is not None else None
        record["attributes"] = _labelled_attributes(request.attributes, service)
        record["notes"] = [_note_record(note) for note in request.notes]
    return record


def _labelled_attributes(
    values: Mapping[str, str | list[str]], service: Service | None
) -> list[dict[str, str]]:
    definitions = {attribute.code: attribute for attribute in service.attributes} if service else {}
    entries: list[dict[str, str]] = []
    for code, value in values.items():
        attribute = definitions.get(code)
        names = {v.key: v.name for v in attribute.values} if attribute is not None else {}
        for each in value if isinstance(value, list) else [value]:
            entries.append(
                {
                    "label": attribute.description if attribute is not None else code,
                    "name": code,
                    "value": names.get(each, each),
                    "code": each,
                }
            )
    return entries


def _attribute_entries(values: Mapping[str, str | list[str]]) -> list[dict[str, str]]:
    """A request's attribute answers as {code, value} entries, one per value of a multivaluelist.

    Not a mapping keyed by code: in XML the keys would become element names, and the spec lets a code
    be any identifier ("311_REF" is not a well-formed element name)."""
    entries: list[dict[str, str]] = []
    for code, value in values.items():
        for each in value if isinstance(value, list) else [value]:
            entries.append({"code": code, "value": each})
    return entries


def submission_record(submission: Submission) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if submission.token is not None:
        record["token"] = submission.token
    else:
        record["service_request_id"] = submission.service_request_id
    record["service_notice"] = submission.service_notice
    record["account_id"] = submission.account_id
    return record


def token_record(status: TokenStatus) -> dict[str, Any]:
    return {"service_request_id": status.service_request_id, "token": status.token}


def error_records(errors: Iterable[tuple[int | str, str]]) -> list[dict[str, Any]]:
    return [{"code": code, "description": description} for code, description in errors]


# -------------------------------------------------------------------------------------- rendering


def render(
    fmt: Format, root: str, item: str | None, body: Sequence[Mapping[str, Any]] | Mapping[str, Any]
) -> bytes:
    """``body`` as a document: a list of records under ``<root><item>...`` / a JSON array, or one
    record (``item`` None) as ``<root>...`` / a JSON object."""
    if fmt == "json":
        return orjson.dumps(body, default=_json_default)
    parts = [XML_DECLARATION, f"<{root}>"]
    if item is None:
        assert isinstance(body, Mapping)
        _xml_fields(parts, body)
    else:
        assert not isinstance(body, Mapping)
        for record in body:
            parts.append(f"<{item}>")
            _xml_fields(parts, record)
            parts.append(f"</{item}>")
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, _PlainNumber):
        return orjson.Fragment(plain_decimal(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _xml_fields(parts: list[str], record: Mapping[str, Any]) -> None:
    append = parts.append
    for name, value in record.items():
        # Fast paths for the common leaves (a list of 1000 requests has 17,000 of them).
        kind = type(value)
        if kind is str:
            append(f"<{name}>{escape(_xml_safe(value))}</{name}>")
        elif value is None:
            append(f"<{name}/>")
        elif kind is int:
            append(f"<{name}>{value}</{name}>")
        elif kind is float:
            append(f"<{name}>{plain_decimal(value)}</{name}>")
        else:
            _xml_value(parts, name, value)


def _xml_value(parts: list[str], name: str, value: Any) -> None:
    if value is None:
        parts.append(f"<{name}/>")
    elif isinstance(value, bool):
        parts.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif isinstance(value, Mapping):
        parts.append(f"<{name}>")
        _xml_fields(parts, value)
        parts.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        item = _ITEM_NAMES.get(name, name)
        parts.append(f"<{name}>")
        for element in value:
            _xml_value(parts, item, element)
        parts.append(f"</{name}>")
    elif isinstance(value, str):
        parts.append(f"<{name}>{escape(_xml_safe(value))}</{name}>")
    elif isinstance(value, float):
        parts.append(f"<{name}>{plain_decimal(value)}</{name}>")
    else:
        parts.append(f"<{name}>{value}</{name}>")


def _xml_safe(text: str) -> str:
    """Drops the characters XML 1.0 cannot carry (``NOT_XML_CHARACTER``): a request stored with one
    (pasted text, another channel, a row older than the API's refusal) is published without it."""
    if text.isprintable():  # never true of a text holding one of them (they are not printable)
        return text
    return NOT_XML_CHARACTER.sub("", text)
