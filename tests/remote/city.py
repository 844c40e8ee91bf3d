"""The "city" for remote-backend tests: this project's own Open311 server as a separate process, and a
small HTTP proxy in front of it that can fail on demand (5xx bursts, bodies that are not XML)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import bot.open311
from tests.jobs.processes import BotProcess, wait_until_serving
from tests.support.live_server import free_port, live_server


@dataclass
class City:
    data_dir: Path
    config: Path
    port: int
    process: BotProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/open311/v2"

    def start(self) -> None:
        self.process = BotProcess(
            ["serve", "--port", str(self.port)], config=self.config, log_path=self.data_dir / "city.log"
        ).start()
        wait_until_serving(self.url, self.process)

    def stop(self) -> None:
        self.process.stop()


# The bundled catalog, with a question the city requires an answer to (as Chicago's pothole service
# requires where the pothole is): the pothole's size.
BUNDLED_CATALOG = Path(bot.open311.__file__).parent / "catalogs" / "default.toml"
REQUIRED_SIZE = 'code = "size"\ndatatype = "singlevaluelist"\n'


def write_city_catalog(data_dir: Path) -> Path:
    catalog = data_dir / "city_catalog.toml"
    bundled = BUNDLED_CATALOG.read_text(encoding="utf-8")
    assert bundled.count(REQUIRED_SIZE) == 1, "the bundled pothole's size question moved"
    catalog.write_text(bundled.replace(REQUIRED_SIZE, REQUIRED_SIZE + "required = true\n"), encoding="utf-8")
    return catalog


def write_city_config(data_dir: Path, port: int) -> Path:
    config = data_dir / "city.toml"
    config.write_text(
        f"""
data_dir = "{data_dir.as_posix()}"

[server]
port = {port}
public_url = "http://127.0.0.1:{port}"

[open311]
catalog_file = "{write_city_catalog(data_dir).as_posix()}"
batch_acceptance = "auto"
batch_accept_delay_seconds = 0.5

[jobs]
batch_accept_seconds = 0.3
outbox_seconds = 0.5
notify_seconds = 0.5

[local]
enabled = false
""",
        encoding="utf-8",
    )
    return config


class FlakyProxy:
    """Forwards every request to the city, except the next ``fail`` (answered with ``status``), the next
    ``garble`` (answered 200 with a body that is not XML) and the next ``stall``; the next ``late`` POSTs
    are answered late. Counts what it saw."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.fail = 0
        self.status = 503
        self.garble = 0
        # The next ``stall`` requests hang for ``stall_seconds`` and are never forwarded (a city that
        # does not answer in time; nothing reaches it, so a retry cannot file twice).
        self.stall = 0
        self.stall_seconds = 2.0
        # While set and not yet released, a GET of one request (requests/{id}) waits before it is forwarded:
        # a city that is slow to answer a lookup, for exactly as long as a test wants.
        self.hold_lookups: threading.Event | None = None
        # The next ``fail_lookups`` GETs of one request are answered 503 (the sync job's lists pass).
        self.fail_lookups = 0
        # The next ``late`` POSTs reach the city, which stores them, and its answer comes ``late_seconds``
        # later: a slow city under load, whose answer the bot may stop waiting for.
        self.late = 0
        self.late_seconds = 2.0
        # Request id -> bytes put into that request's record in every answer the city gives: a city that
        # serves one record broken (b"Fish & chips" is not well-formed XML), as any vendor's may.
        self.broken: dict[str, bytes] = {}
        self.seen: list[str] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])

    async def _forward(self, request: Request) -> Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if self.fail > 0:
            self.fail -= 1
            body = "<html><body>Service Unavailable</body></html>"
            return Response(body, self.status, media_type="text/html")
        if self.stall > 0:
            self.stall -= 1
            await asyncio.sleep(self.stall_seconds)
            return Response("", 504)
        lookup = request.method == "GET" and "/requests/" in request.url.path
        held = self.hold_lookups
        if held is not None and lookup:
            while not held.is_set():
                await asyncio.sleep(0.02)
        if lookup and self.fail_lookups > 0:
            self.fail_lookups -= 1
            return Response("<html><body>Service Unavailable</body></html>", 503, media_type="text/html")
        if self.garble > 0:
            self.garble -= 1
            return Response("<html><body>Maintenance</body>", 200, media_type="text/xml")
        async with httpx.AsyncClient(timeout=10.0) as client:
            upstream = await client.request(
                request.method,
                f"{self.upstream}/{request.path_params['path']}",
                params=list(request.query_params.multi_items()),
                content=await request.body(),
                headers={"content-type": request.headers.get("content-type", "")},
            )
        if request.method == "POST" and self.late > 0:
            self.late -= 1
            await asyncio.sleep(self.late_seconds)
        return Response(
            self._break_records(upstream.content),
            upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )

    def _break_records(self, body: bytes) -> bytes:
        for request_id, junk in self.broken.items():
            number = f"<service_request_id>{request_id}</service_request_id>".encode()
            body = body.replace(number, number + b"<crew_note>" + junk + b"</crew_note>")
        return body


@contextmanager
def running_city(data_dir: Path) -> Iterator[City]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_city_config(data_dir, port)
    city = City(data_dir, config, port, BotProcess([], config=config, log_path=data_dir / "city.log"))
    city.start()
    try:
        yield city
    finally:
        city.stop()


@contextmanager
def proxy_in_front(city: City) -> Iterator[tuple[FlakyProxy, str]]:
    proxy = FlakyProxy(city.api)
    with live_server(proxy.app) as url:
        yield proxy, url
