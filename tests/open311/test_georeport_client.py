"""The third-party PyPI client ``georeport``, used unchanged, against our running server.

It is GET-only and parses XML with xmltodict and JSON with requests; every one of its four methods is
run in both of its output formats, and what it returns is compared with what we stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from georeport import GeoReport

from tests.open311.conformance import (
    DEFAULT_SERVICE_CODES,
    FORMATS,
    Deployment,
    Format,
    deployment,
    insert_requests,
)


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url) as running:
        yield running


def _as_list(value: Any) -> list[Any]:
    # xmltodict turns a single child element into a dict and several into a list.
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("fmt", FORMATS)
def test_georeport_client_reads_every_get_method(api: Deployment, fmt: Format) -> None:
    now = datetime.now(UTC)
    pothole, graffiti = insert_requests(
        api,
        [
            {
                "service_code": "pothole",
                "description": "Deep pothole",
                "address": "Market St & 5th St",
                "lat": 37.7837,
                "long": -122.4089,
                "requested_datetime": now - timedelta(days=2),
            },
            {
                "service_code": "graffiti",
                "service_name": "Graffiti",
                "status": "closed",
                "status_notes": "Removed",
                "requested_datetime": now - timedelta(days=1),
            },
        ],
    )
    client = GeoReport(
        api.base, jurisdiction=api.settings.open311.jurisdictions[0], api_key=None, output_format=fmt
    )

    services = _as_list(client.get_service_list())
    assert {service["service_code"] for service in services} == DEFAULT_SERVICE_CODES
    graffiti_service = next(s for s in services if s["service_code"] == "graffiti")
    assert str(graffiti_service["metadata"]).lower() == "true"

    definition = client.get_service_definition("graffiti")
    assert definition["service_code"] == "graffiti"
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = _as_list(attributes["attribute"])
    assert attributes, "graffiti's definition has attributes"
    assert all(attribute["code"] and attribute["datatype"] for attribute in attributes)

    listed = _as_list(client.get_service_requests())
    assert {str(request["service_request_id"]) for request in listed} == {pothole, graffiti}
    only_closed = _as_list(client.get_service_requests(status="closed"))
    assert [str(request["service_request_id"]) for request in only_closed] == [graffiti]
    by_code = _as_list(client.get_service_requests(service_code="pothole"))
    assert [str(request["service_request_id"]) for request in by_code] == [pothole]
    window = _as_list(
        client.get_service_requests(
            start_date=(now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            end_date=(now - timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
    assert [str(request["service_request_id"]) for request in window] == [pothole]
    by_ids = _as_list(client.get_service_requests(service_request_id=f"{pothole},{graffiti}"))
    assert len(by_ids) == 2

    one = client.get_service_request(pothole)
    assert str(one["service_request_id"]) == pothole
    assert one["description"] == "Deep pothole"
    assert one["address"] == "Market St & 5th St"
    assert float(one["lat"]) == pytest.approx(37.7837)
    closed = client.get_service_request(graffiti)
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Removed"
