"""A local stand-in for a Nominatim server, speaking its real HTTP API (``/search`` and ``/reverse`` with
``format=json``), so geopy's own Nominatim client can be tested end to end over real HTTP.

It knows a few places by their query text and records every request it receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeNominatim:
    # query text (lower case) -> (lat, lon, display_name)
    places: dict[str, tuple[float, float, str]]
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    # The next this-many requests fail with HTTP 503, as an overloaded server does.
    fail_next: int = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/search", self.search), Route("/reverse", self.reverse)])

    def _record(self, request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        self.requests.append((request.url.path, params, request.headers.get("user-agent", "")))
        return params

    def _failure(self) -> JSONResponse | None:
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "Service Unavailable"}, status_code=503)
        return None

    async def search(self, request: Request) -> JSONResponse:
        params = self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        if params.get("format") != "json":
            return JSONResponse({"error": "this fake speaks format=json only"}, status_code=400)
        found = self.places.get(params.get("q", "").strip().lower())
        if found is None:
            return JSONResponse([])
        lat, lon, name = found
        # Nominatim sends coordinates as strings.
        place = {"place_id": 1, "lat": str(lat), "lon": str(lon), "display_name": name, "type": "house"}
        return JSONResponse([place])

    async def reverse(self, request: Request) -> JSONResponse:
        params = self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        lat, lon = float(params["lat"]), float(params["lon"])
        nearest = min(self.places.values(), key=lambda p: (p[0] - lat) ** 2 + (p[1] - lon) ** 2)
        return JSONResponse(
            {"place_id": 2, "lat": str(nearest[0]), "lon": str(nearest[1]), "display_name": nearest[2]}
        )
