"""The Service Discovery document (discovery.xml / discovery.json) for this deployment's endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Open311Settings

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
_URL = re.compile(r"https?://\S+")
_EMAIL = re.compile(r"(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+")


def catalog_changeset(catalog_file: Path) -> str:
    """The discovery document's changeset: when the service catalog file was last modified, in UTC.

    The spec's changeset is a sortable "last time this document was updated", and a changed one tells
    clients to refresh the service list and definitions they cache. Those come from the catalog file,
    so its modification time changes exactly when they may have (a restart alone does not change it,
    as the server's start time did), and it sorts like a date. The settings the document also shows
    (contact, public_url) are not covered: changing only them keeps the changeset.
    """
    modified = datetime.fromtimestamp(catalog_file.stat().st_mtime, UTC)
    return modified.strftime("%Y-%m-%d %H:%M:%S")


def discovery_record(
    settings: Open311Settings, public_url: str, changeset: str, sandbox: bool
) -> dict[str, Any]:
    endpoint_url = public_url.rstrip("/") + settings.base_path.rstrip("/")
    key_service = "The sandbox needs no API key." if sandbox else _key_service(settings)
    return {
        "changeset": changeset,
        "contact": settings.contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": "test" if sandbox else "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _key_service(settings: Open311Settings) -> str:
    """How a third-party developer gets an API key (``[open311] key_service``): a page, in the spec's
    example's words; an e-mail address to ask; a sentence as written; unset, the contact to ask. Never the
    city's own command that creates the key (it is run by whoever runs the server)."""
    given = settings.key_service.strip()
    if not given:
        return f"Ask {settings.contact} for an API key (one per application)."
    if _EMAIL.fullmatch(given):
        return f"Ask {given.removeprefix('mailto:')} for an API key (one per application)."
    if _URL.fullmatch(given):
        return f"You can request a key here: {given}"
    return given
