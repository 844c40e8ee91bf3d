"""POST requests holds a client's lat/long to the area the jurisdiction serves, as residents are held to it
(``[intents.geocoder] boundary`` and ``boundary_file``): a point outside is the spec's 400, in XML and JSON.
Two black-box testers filed New York (40.7128, -74.0060) and a San Francisco longitude without its minus
sign (37.75, 122.41: China) into a Toronto deployment."""

from __future__ import annotations

import json
from pathlib import Path

from bot.open311.catalog import CATALOG_DIR
from tests.open311.conformance import (
    FORMATS,
    assert_error,
    catalog_overrides,
    create_key,
    deployment,
    json_records,
    records,
)

TORONTO_BOX = [43.58, -79.64, 43.86, -79.11]
CITY_HALL = {"lat": "43.6532", "long": "-79.3832"}
NEW_YORK = {"lat": "40.7128", "long": "-74.0060"}
CHINA = {"lat": "37.75", "long": "122.41"}


def test_a_point_outside_the_area_served_is_refused(tmp_path: Path, database_url: str) -> None:
    overrides = catalog_overrides(tmp_path)
    overrides["intents"] = {"geocoder": {"boundary": TORONTO_BOX}}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "area")
        for fmt in FORMATS:
            for point in (NEW_YORK, CHINA):
                for service_code in ("pothole", "bulk_pickup"):  # realtime and batch alike
                    refused = api.post(
                        f"requests.{fmt}", data={"api_key": key, "service_code": service_code, **point}
                    )
                    error = assert_error(refused, 400, fmt, "lat", "long", "outside the area")
                    assert len(error.errors) == 1, error.errors
                    assert point["lat"] in error.text, error.text
            inside = api.post(
                f"requests.{fmt}", data={"api_key": key, "service_code": "pothole", **CITY_HALL}
            )
            assert inside.status_code == 200, inside.text
            assert records(inside, fmt, "service_requests", "request")[0]["service_request_id"]
            # An address alone is not a point: it is filed as before.
            address = {"api_key": key, "service_code": "pothole", "address_string": "100 Queen St W"}
            assert api.post(f"requests.{fmt}", data=address).status_code == 200
        filed = json_records(api.get("requests.json"))
        assert sorted(str(r["lat"]) for r in filed if r["lat"] is not None) == ["43.6532", "43.6532"]
        assert len(filed) == 4, "nothing outside was filed"


def test_a_point_in_the_box_but_outside_the_drawn_limits_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    # A triangle whose box is Toronto's: its north-east corner is in the box, outside the limits.
    south, west, north, east = TORONTO_BOX
    triangle = [[west, south], [east, south], [west, north], [west, south]]
    limits = tmp_path / "limits.geojson"
    limits.write_text(json.dumps({"type": "Polygon", "coordinates": [triangle]}), encoding="utf-8")
    overrides = catalog_overrides(tmp_path)
    overrides["intents"] = {"geocoder": {"boundary": TORONTO_BOX, "boundary_file": limits}}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "limits")
        for fmt in FORMATS:
            corner = {"lat": "43.85", "long": "-79.12"}
            refused = api.post(f"requests.{fmt}", data={"api_key": key, "service_code": "pothole", **corner})
            assert_error(refused, 400, fmt, "lat", "long", "outside the area")
            near = {"lat": "43.6", "long": "-79.6"}
            filed = api.post(f"requests.{fmt}", data={"api_key": key, "service_code": "pothole", **near})
            assert filed.status_code == 200, filed.text


def test_the_sandbox_takes_its_catalogs_points_whatever_the_boundary(
    tmp_path: Path, database_url: str
) -> None:
    # The boundary left at its default (San Francisco's) and Toronto's catalog in the sandbox: its cases and
    # a client's trial points are anywhere, nothing filed there is acted upon.
    overrides = {"open311": {"catalog_file": CATALOG_DIR / "toronto.toml", "sandbox": True}}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        for fmt in FORMATS:
            for point in (CITY_HALL, NEW_YORK):
                accepted = api.post(
                    f"requests.{fmt}",
                    data={"service_code": "CSROWR-12", "attribute[lane]": "curb_lane", **point},
                )
                assert accepted.status_code == 200, accepted.text
