"""The Service Discovery document (discovery.xml / discovery.json) for this deployment's endpoint."""

from __future__ import annotations

from typing import Any

from bot.config import Open311Settings

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def discovery_record(
    settings: Open311Settings, public_url: str, changeset: str, sandbox: bool
) -> dict[str, Any]:
    endpoint_url = public_url.rstrip("/") + settings.base_path.rstrip("/")
    key_service = (
        "The sandbox needs no API key."
        if sandbox
        else f"Ask {settings.contact} for an API key (one per application; the city creates it with "
        "`open311-bot keys create NAME`)."
    )
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
