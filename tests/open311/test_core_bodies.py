"""POST requests bodies beyond the spec's form encoding, over real HTTP: JSON and XML bodies (clients that
send them), multipart with percent-encoded field names; each lands as the same stored request."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.open311.api import MAX_FIELDS
from bot.open311.keys import KeyStore


@pytest.fixture
def key(app: Any) -> str:
    store: KeyStore = app.state.runtime.keys
    return store.create("bodies-test")[1]


def _stored(live_url: str, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    request_id = response.json()[0]["service_request_id"]
    found = httpx.get(f"{live_url}/open311/v2/requests/{request_id}.json", params={"extensions": "true"})
    record: dict[str, Any] = found.json()[0]
    return record


def _attributes(record: dict[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for entry in record["extended_attributes"]["attributes"]:
        values.setdefault(entry["code"], []).append(entry["value"])
    return values


def test_json_xml_and_multipart_bodies_file_the_same_request(live_url: str, key: str) -> None:
    url = f"{live_url}/open311/v2/requests.json"
    as_json = httpx.post(
        url,
        content=json.dumps(
            {
                "api_key": key,
                "service_code": "graffiti",
                "lat": 37.76151,
                "long": -122.42173,
                "description": "Tags on the utility box",
                "attribute": {"surface": "pole_or_box", "offensive": "no"},
            }
        ),
        headers={"content-type": "application/json"},
    )
    as_xml = httpx.post(
        url,
        content=(
            f"<?xml version='1.0' encoding='utf-8'?><request><api_key>{key}</api_key>"
            "<service_code>graffiti</service_code><lat>37.76151</lat><long>-122.42173</long>"
            "<description>Tags on the utility box</description>"
            "<attributes><surface>pole_or_box</surface><offensive>no</offensive></attributes></request>"
        ).encode(),
        headers={"content-type": "text/xml; charset=utf-8"},
    )
    as_form_reencoded = httpx.post(
        url,
        data={
            "api_key": key,
            "service_code": "graffiti",
            "lat": "37.76151",
            "long": "-122.42173",
            "description": "Tags on the utility box",
            "attribute%5Bsurface%5D": "pole_or_box",
            "attribute[offensive]": "no",
        },
    )
    records = [_stored(live_url, response) for response in (as_json, as_xml, as_form_reencoded)]
    for record in records:
        assert record["service_code"] == "graffiti"
        assert record["lat"] == pytest.approx(37.76151)
        assert record["description"] == "Tags on the utility box"
        assert _attributes(record) == {"surface": ["pole_or_box"], "offensive": ["no"]}


def test_multipart_field_names_may_be_percent_encoded(live_url: str, key: str) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = httpx.post(
        f"{live_url}/open311/v2/requests.xml",
        data={
            "api_key": key,
            "service_code": "illegal_dumping",
            "address_string": "200 Valencia St",
            "attribute%5Bitems%5D%5B%5D": ["furniture", "tires"],
        },
        files={"media": ("sofa.png", png, "image/png")},
    )
    assert response.status_code == 200, response.text
    listed = httpx.get(f"{live_url}/open311/v2/requests.json", params={"extensions": "true"}).json()
    assert len(listed) == 1
    assert _attributes(listed[0]) == {"items": ["furniture", "tires"]}
    assert httpx.get(listed[0]["media_url"].replace("http://127.0.0.1:8311", live_url)).content == png


@pytest.mark.parametrize("kind", ["JSON", "XML", "form"])
def test_a_body_of_thousands_of_attributes_is_one_short_error(live_url: str, key: str, kind: str) -> None:
    # Each unknown attribute is an error of its own: 300,000 of them in a JSON body were a 26 MB answer.
    codes = [f"a{n}" for n in range(MAX_FIELDS * 5)]
    bodies = {
        "JSON": (
            json.dumps({"api_key": key, "service_code": "pothole", "attribute": dict.fromkeys(codes, "x")}),
            "application/json",
        ),
        "XML": (
            f"<request><api_key>{key}</api_key><service_code>pothole</service_code><attributes>"
            + "".join(f"<{code}>x</{code}>" for code in codes)
            + "</attributes></request>",
            "application/xml",
        ),
        "form": (
            urlencode({"api_key": key, "service_code": "pothole", **{f"attribute[{c}]": "x" for c in codes}}),
            "application/x-www-form-urlencoded",
        ),
    }
    content, content_type = bodies[kind]
    response = httpx.post(
        f"{live_url}/open311/v2/requests.json", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert len(response.content) < 500
    [error] = response.json()
    assert error["code"] == 400
    assert "body" in error["description"]
    assert kind == "form" or f"more than {MAX_FIELDS} fields" in error["description"]
    listed = httpx.get(f"{live_url}/open311/v2/requests.json").json()
    assert listed == []
