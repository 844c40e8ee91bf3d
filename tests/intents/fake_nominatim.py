"""A local stand-in for a Nominatim server, speaking its real HTTP API (``/search`` and ``/reverse`` with
``format=json``), so geopy's own Nominatim client can be tested end to end over real HTTP.

It knows a few places and records every request it receives. A search matches as Nominatim's free-form
search does, word by word: a place is found when every word of the query is one of the words it is indexed
by (its name and the parts of its address), punctuation and case aside, so "Main St" finds every Main St
and "Main St, Columbus, OH" only the one in Columbus, Ohio. The places found come most important first;
an unbounded ``viewbox`` is only a preference, weighed against importance (here it never outweighs it, as
on the public server, where "Main St" near Columbus found a Main St elsewhere), and ``bounded=1`` keeps the
places inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


@dataclass
class FakeNominatim:
    # What a place is indexed by (its name and the parts of its address, "main st, columbus, ohio, oh") ->
    # (lat, lon, display_name), most important first; the display name's words are searched too.
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

    def _found(self, params: dict[str, str]) -> list[tuple[float, float, str]]:
        asked = _words(params.get("q", ""))
        if not asked:
            return []
        found = [
            (lat, lon, name)
            for indexed, (lat, lon, name) in self.places.items()
            if asked <= _words(indexed) | _words(name)
        ]
        if params.get("bounded") == "1" and params.get("viewbox"):
            # viewbox=west,south,east,north (either pair of corners, as Nominatim accepts)
            x1, y1, x2, y2 = (float(value) for value in params["viewbox"].split(","))
            found = [
                place
                for place in found
                if min(y1, y2) <= place[0] <= max(y1, y2) and min(x1, x2) <= place[1] <= max(x1, x2)
            ]
        return found[: int(params.get("limit", 10))]

    async def search(self, request: Request) -> JSONResponse:
        params = self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        if params.get("format") != "json":
            return JSONResponse({"error": "this fake speaks format=json only"}, status_code=400)
        # Nominatim sends coordinates as strings.
        return JSONResponse(
            [
                {"place_id": number, "lat": str(lat), "lon": str(lon), "display_name": name, "type": "house"}
                for number, (lat, lon, name) in enumerate(self._found(params), start=1)
            ]
        )

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
