"""A second real third-party client, used unchanged: ``chicagorequests`` (PyPI), the downloader people use
to pull Chicago's Open311 data. It asks GET requests.json for one local day at a time with
``extensions=true``, ``start_date``/``end_date`` from ``datetime.isoformat()`` (microseconds and a
-06:00 offset) and pages of 200 until a short page. Only its endpoint address is pointed at us.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from chicagorequests import Downloader

from tests.open311.conformance import Deployment, deployment, insert_requests

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url) as running:
        yield running


def test_chicago_downloader_pages_through_a_day_with_extensions(api: Deployment) -> None:
    day = (datetime.now(CHICAGO) - timedelta(days=3)).date()
    start = datetime.combine(day, time.min, tzinfo=CHICAGO)
    end = datetime.combine(day, time.max, tzinfo=CHICAGO)
    inside = insert_requests(
        api,
        [
            {
                "service_code": "pothole" if i % 3 else "graffiti",
                "service_name": "Pothole" if i % 3 else "Graffiti",
                "requested_datetime": start + timedelta(minutes=3 * i + 1),
                "channel": "sms",
            }
            for i in range(450)
        ],
    )
    insert_requests(
        api,
        [
            {"requested_datetime": start - timedelta(minutes=5)},
            {"requested_datetime": end + timedelta(minutes=5)},
        ],
    )

    downloader = Downloader()
    downloader.BASE_URL = api.url("requests.json")
    found = downloader((start, end))
    assert sorted(str(r["service_request_id"]) for r in found) == sorted(inside), "every page, no repeats"
    # extensions=true: the history (empty for these bulk-loaded rows) and the channel come along.
    assert all(isinstance(r["notes"], list) and r["channel"] == "sms" for r in found)

    only_potholes = Downloader(request_type=["pothole"])
    only_potholes.BASE_URL = api.url("requests.json")
    potholes = only_potholes((start, end))
    assert len(potholes) == 300
    assert {r["service_code"] for r in potholes} == {"pothole"}
