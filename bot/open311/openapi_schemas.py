"""JSON Schemas of the GeoReport v2 JSON documents, for the OpenAPI description the app serves.

They describe exactly what formats.py renders, so a client generator (or schemathesis, which checks every
response against them) sees the real shapes: bare arrays for lists, one object for a service definition,
nullable fields as null. The XML documents are described as strings: their shape is the spec's.
"""

from __future__ import annotations

from typing import Any

_TEXT: dict[str, Any] = {"type": "string"}
_NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_NUMBER: dict[str, Any] = {"type": ["number", "null"]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SERVICE = _object(
    {
        "service_code": _TEXT,
        "service_name": _TEXT,
        "description": _TEXT,
        "metadata": {"type": "boolean"},
        "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
        "keywords": _TEXT,
        "group": _TEXT,
    }
)
SERVICE_LIST = {"type": "array", "items": SERVICE}

_ATTRIBUTE = _object(
    {
        "variable": {"type": "boolean"},
        "code": _TEXT,
        "datatype": {
            "type": "string",
            "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"],
        },
        "required": {"type": "boolean"},
        "datatype_description": _NULLABLE_TEXT,
        "order": {"type": "integer", "minimum": 1},
        "description": _TEXT,
        "values": {"type": "array", "items": _object({"key": _TEXT, "name": _TEXT})},
    },
)
SERVICE_DEFINITION = _object({"service_code": _TEXT, "attributes": {"type": "array", "items": _ATTRIBUTE}})

_NOTE = _object({"datetime": _DATETIME, "description": _TEXT, "type": _TEXT, "status": _TEXT})
REQUEST = _object(
    {
        "service_request_id": _TEXT,
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": _NULLABLE_TEXT,
        "service_name": _TEXT,
        "service_code": _TEXT,
        "description": _NULLABLE_TEXT,
        "agency_responsible": _NULLABLE_TEXT,
        "service_notice": _NULLABLE_TEXT,
        "requested_datetime": _DATETIME,
        "updated_datetime": _DATETIME,
        "expected_datetime": _NULLABLE_DATETIME,
        "address": _NULLABLE_TEXT,
        "address_id": _NULLABLE_TEXT,
        "zipcode": _NULLABLE_TEXT,
        "lat": _NULLABLE_NUMBER,
        "long": _NULLABLE_NUMBER,
        "media_url": _NULLABLE_TEXT,
    }
)
# extensions=true adds these to each request.
REQUEST["properties"].update(
    {
        "channel": _TEXT,
        "extended_attributes": {"type": "object"},
        # Each answer: its question (label), the attribute's code (name), a value's name and key.
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label", "name", "value", "code"],
                "properties": {"label": _TEXT, "name": _TEXT, "value": _TEXT, "code": _TEXT},
            },
        },
        "notes": {"type": "array", "items": _NOTE},
    }
)
REQUEST_LIST = {"type": "array", "items": REQUEST}

SUBMISSION_LIST = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "service_request_id": _TEXT,
            "token": _TEXT,
            "service_notice": _NULLABLE_TEXT,
            "account_id": _NULLABLE_TEXT,
        },
        # A realtime service answers with an id, a batch service with a token: one of them, never both.
        "oneOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
    },
}
TOKEN_LIST = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": _object({"token": _TEXT, "service_request_id": _NULLABLE_TEXT}),
}

DISCOVERY = _object(
    {
        "changeset": _TEXT,
        "contact": _TEXT,
        "key_service": _TEXT,
        "endpoints": {
            "type": "array",
            "items": _object(
                {
                    "specification": _TEXT,
                    "url": _TEXT,
                    "changeset": _TEXT,
                    "type": {"type": "string", "enum": ["production", "test"]},
                    "formats": {"type": "array", "items": _TEXT},
                }
            ),
        },
    }
)
