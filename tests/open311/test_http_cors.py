"""A web app on another origin calls the Open311 API from a real browser (Debian's chromium): CORS.

The page is served by its own server on another port (another origin), and its script uses fetch() the way a
browser-only GeoReport client would: read the catalog, POST a request with an API key, read it back. The
browser itself enforces CORS, so what passes here passes for real apps. An origin that is not allowed, and
the operator console from any origin, stay closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.open311.conformance import Deployment, create_key, deployment
from tests.support.live_server import bound_socket, live_server, socket_url

pytestmark = [pytest.mark.browser]

FETCH_JSON = """async ([url, init]) => {
    try {
        const response = await fetch(url, init);
        return {status: response.status, body: await response.text()};
    } catch (error) {
        return {error: String(error)};
    }
}"""

POST_REQUEST = """async ([url, key]) => {
    const form = new FormData();
    form.append("api_key", key);
    form.append("service_code", "graffiti");
    form.append("lat", "37.7749");
    form.append("long", "-122.4194");
    form.append("description", "Tags on the wall, reported from a web app");
    const response = await fetch(url, {method: "POST", body: form});
    return {status: response.status, body: await response.text()};
}"""


def _page_server() -> Starlette:
    async def index(_request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>neighbourhood app</title><p>third-party app</p>")

    return Starlette(routes=[Route("/", index)])


@pytest.fixture
def origins() -> tuple[str, str, Any, Any]:
    """Two web origins, each a page served on its own port: (allowed, other, their sockets)."""
    allowed, other = bound_socket(), bound_socket()
    return socket_url(allowed), socket_url(other), allowed, other


@pytest.fixture
def api(tmp_path: Path, sqlite_database_url: str, origins: tuple[str, str, Any, Any]) -> Iterator[Deployment]:
    allowed_origin = origins[0]
    with deployment(
        tmp_path / "data", sqlite_database_url, open311={"cors_origins": [allowed_origin]}
    ) as running:
        yield running


def test_a_web_app_on_an_allowed_origin_reads_posts_and_reads_back(
    api: Deployment, origins: tuple[str, str, Any, Any], open_browser: Any
) -> None:
    allowed_origin, other_origin, allowed_socket, other_socket = origins
    key = create_key(api, "neighbourhood-web-app")
    with (
        live_server(_page_server(), sock=allowed_socket) as allowed_url,
        live_server(_page_server(), sock=other_socket) as other_url,
    ):
        assert (allowed_url, other_url) == (allowed_origin, other_origin)
        browser = open_browser()
        page = browser.new_page()
        page.goto(allowed_url + "/")

        services = page.evaluate(FETCH_JSON, [api.url("services.json"), {}])
        assert services.get("status") == 200, services
        assert "graffiti" in services["body"]

        posted = page.evaluate(POST_REQUEST, [api.url("requests.json"), key])
        assert posted["status"] in (200, 201), posted
        created = json.loads(posted["body"])
        request_id = created[0]["service_request_id"]

        read_back = page.evaluate(FETCH_JSON, [api.url(f"requests/{request_id}.json"), {}])
        assert read_back.get("status") == 200, read_back
        assert "reported from a web app" in read_back["body"]

        # The XML format too, and the operator console is not readable cross-origin from the allowed app.
        as_xml = page.evaluate(FETCH_JSON, [api.url("services.xml"), {}])
        assert as_xml.get("status") == 200, as_xml
        assert "<services>" in as_xml["body"], as_xml
        console = page.evaluate(FETCH_JSON, [api.root + "/operator/", {}])
        assert "error" in console, f"the operator console answered a cross-origin read: {console}"

        # A page on an origin the city did not list cannot read the API's answers.
        stranger = browser.new_page()
        stranger.goto(other_url + "/")
        refused = stranger.evaluate(FETCH_JSON, [api.url("services.json"), {}])
        assert "error" in refused, f"an origin not in cors_origins read the API: {refused}"
