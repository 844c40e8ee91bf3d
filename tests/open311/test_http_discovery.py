"""Service discovery (discovery.xml / discovery.json) and the served OpenAPI description, over real HTTP."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.open311.conformance import (
    CONFORMANCE_CATALOG,
    Deployment,
    deployment,
    element_record,
    json_records,
    parse_json,
    parse_xml,
)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
SIX_METHODS = (
    ("get", "services"),
    ("get", "services/{service_code}"),
    ("post", "requests"),
    ("get", "tokens/{token_id}"),
    ("get", "requests"),
    ("get", "requests/{service_request_id}"),
)


@pytest.fixture
def api(tmp_path: Path, sqlite_database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", sqlite_database_url) as running:
        yield running


def discovery_url(api: Deployment, fmt: str) -> str:
    return api.url(f"discovery.{fmt}")


def test_discovery_in_both_formats_points_at_a_working_endpoint(api: Deployment) -> None:
    tree = parse_xml(api.http.get(discovery_url(api, "xml")), "discovery")
    as_xml = element_record(tree)
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(as_xml)
    as_json = parse_json(api.http.get(discovery_url(api, "json")))
    assert isinstance(as_json, dict)
    for field in ("changeset", "contact", "key_service"):
        assert as_json[field], field
        assert as_json[field] == as_xml[field], field

    xml_endpoints = tree.find("endpoints")
    assert xml_endpoints is not None
    assert [endpoint.tag for endpoint in xml_endpoints] == ["endpoint"] * len(as_json["endpoints"])
    assert as_json["endpoints"], "at least one endpoint"
    for element, endpoint in zip(xml_endpoints, as_json["endpoints"], strict=True):
        assert endpoint["specification"] == SPECIFICATION
        assert element.findtext("specification") == SPECIFICATION
        assert endpoint["type"] in ("production", "test")
        assert element.findtext("url") == endpoint["url"]
        formats = element.find("formats")
        assert formats is not None
        assert [f.text for f in formats] == endpoint["formats"]
        assert set(endpoint["formats"]) == {"text/xml", "application/json"}
        assert endpoint["changeset"]

    production = [e for e in as_json["endpoints"] if e["type"] == "production"]
    assert production, "a production endpoint is listed"
    url = production[0]["url"].rstrip("/")
    public = api.settings.server.public_url.rstrip("/")
    assert url == public + api.settings.open311.base_path.rstrip("/")
    # The advertised endpoint really serves GeoReport v2 (reached here through the test server's address).
    services = json_records(api.http.get(api.root + url[len(public) :] + "/services.json"))
    assert services


def test_openapi_description_lists_the_six_methods_in_both_formats(api: Deployment) -> None:
    response = api.http.get(api.root + "/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert str(document["openapi"]).startswith("3.")
    paths: dict[str, Any] = document["paths"]
    base = api.settings.open311.base_path.rstrip("/")
    for method, resource in SIX_METHODS:
        for fmt in ("xml", "json"):
            candidates = {f"{base}/{resource}.{fmt}", f"{base}/{resource}.{{format}}"}
            found = [path for path in candidates if method in paths.get(path, {})]
            assert found, f"{method.upper()} {base}/{resource}.{fmt} is described (paths: {sorted(paths)})"
    post = next(paths[p]["post"] for p in paths if p.startswith(f"{base}/requests.") and "post" in paths[p])
    body = post.get("requestBody", {}).get("content", {})
    assert "application/x-www-form-urlencoded" in body, "POST requests is described as a form"


def test_the_interactive_documentation_works_without_reaching_a_cdn(api: Deployment) -> None:
    """/docs and /redoc loaded Swagger UI and ReDoc from cdn.jsdelivr.net: blank on a city network with no way
    out, and third-party scripts on the city's own pages. Every script and style they name is served here."""
    import re

    for page in ("/docs", "/redoc"):
        response = api.http.get(api.root + page)
        assert response.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', response.text)
        assert assets, f"{page} names its scripts"
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from another site"
            served = api.http.get(api.root + asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 10_000, asset


def test_changeset_changes_with_the_catalog_not_with_a_restart(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CONFORMANCE_CATALOG, encoding="utf-8")
    os.utime(catalog, (1_600_000_000, 1_600_000_000))
    overrides: dict[str, Any] = {"open311": {"catalog_file": catalog}}

    def changeset() -> str:
        with deployment(tmp_path / "data", sqlite_database_url, **overrides) as running:
            as_json = parse_json(running.http.get(discovery_url(running, "json")))
            assert as_json["endpoints"][0]["changeset"] == as_json["changeset"]
            return str(as_json["changeset"])

    first = changeset()
    time.sleep(1.1)  # a start time would differ by now
    assert changeset() == first, "a restart alone changes nothing the document describes"
    catalog.write_text(CONFORMANCE_CATALOG + "\n# a new service would go here\n", encoding="utf-8")
    changed = changeset()
    assert changed != first
    assert sorted([first, changed]) == [first, changed], "changesets sort by when the catalog changed"


def test_key_service_tells_a_developer_how_to_get_a_key(tmp_path: Path, sqlite_database_url: str) -> None:
    # Before, it told third-party developers to run `open311-bot keys create NAME`, the city's own
    # command; it says how they get a key: from [open311] key_service (a page, an address or a sentence),
    # or by asking the contact.
    contact = "SF311 Open Data, open311@sfgov.org"
    said: dict[str, str] = {}
    for key_service in ("", "https://sf311.org/developers", "open311@sfgov.org", "Sign up at the portal."):
        settings = {"open311": {"contact": contact, "key_service": key_service}}
        with deployment(tmp_path / "data", sqlite_database_url, **settings) as running:
            as_xml = element_record(parse_xml(running.http.get(discovery_url(running, "xml")), "discovery"))
            as_json = parse_json(running.http.get(discovery_url(running, "json")))
            assert as_xml["key_service"] == as_json["key_service"]
            said[key_service] = as_json["key_service"]
    for text in said.values():
        assert "open311-bot" not in text
        assert "keys create" not in text
    assert contact in said[""]
    assert "API key" in said[""]
    assert said["https://sf311.org/developers"] == "You can request a key here: https://sf311.org/developers"
    assert "open311@sfgov.org" in said["open311@sfgov.org"]
    assert "API key" in said["open311@sfgov.org"]
    assert said["Sign up at the portal."] == "Sign up at the portal."
