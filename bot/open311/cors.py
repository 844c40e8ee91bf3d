"""Cross-origin access to the GeoReport v2 API, so that an app running in a resident's browser (a map of
open requests, a report form on a neighbourhood site) can call it directly, as it can call other public
Open311 servers.

Only the API's own paths get CORS headers: the operator console, the webhooks and the local channel stay
same-origin. Credentials are never allowed: a GeoReport client sends its ``api_key`` as a parameter, not as a
cookie, so a page on another origin can do nothing here that it could not do with the key from a server.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# What GeoReport v2 clients send: GET for the reads, POST (form or multipart) for requests.*; custom headers
# beyond the CORS-safelisted ones are rare but harmless to allow, since no credentials ride along.
_METHODS = ("GET", "POST")
_PREFLIGHT_CACHE_SECONDS = 3600


class Open311CorsMiddleware:
    """Applies Starlette's CORSMiddleware to requests under ``base_path`` and passes every other one by."""

    def __init__(self, app: ASGIApp, base_path: str, allow_origins: list[str]) -> None:
        self.app = app
        self.prefix = base_path.rstrip("/") + "/"
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=_METHODS,
            allow_headers=["*"],
            allow_credentials=False,
            max_age=_PREFLIGHT_CACHE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
