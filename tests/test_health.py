"""What a load balancer asks a process: ``/healthz`` (alive: the bare no-op) and ``/readyz`` (ready: the
database answers). A tester found ``/healthz`` answering ok while the database was down and every real
request failed with 500: nothing told the balancer to send the traffic elsewhere.

The database is made unreachable for real: the bot reaches PostgreSQL through a TCP proxy the test closes
(refusing connections, and dropping the open ones), or one that accepts and never answers."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.review.auth import SESSION_COOKIE
from tests.conftest import make_settings
from tests.support.live_server import live_server


class TcpProxy:
    """Forwards connections on a local port to ``target``; ``close()`` stops listening and cuts every open
    connection (the database host gone), ``open()`` listens on the same port again; with ``silent`` it
    accepts connections and never forwards them (a host that no longer answers)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.silent = False
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            _shut(listener)  # shutdown first: close alone leaves it listening while accept() blocks
        for connection in connections:
            _shut(connection)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._connections.append(client)
            if self.silent:
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _shut(sink)


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy to the test PostgreSQL server, and the test schema's URL through it."""
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.open()
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


@pytest.mark.postgres
def test_readyz_says_the_database_is_unreachable_while_healthz_stays_bare(
    proxied_postgres: tuple[TcpProxy, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        ready = client.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "ok")
        assert client.get("/open311/v2/services.json").status_code == 200

        proxy.close()
        down = client.get("/readyz")
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("text/plain")
        assert down.text.startswith("database unreachable: "), down.text
        assert len(down.text) < 300
        assert client.get("/healthz").status_code == 200, "liveness: the process itself is fine"
        assert client.head("/readyz").status_code == 503

        proxy.open()  # the database is back: so is the process, without a restart
        assert client.get("/readyz").status_code == 200
        assert client.get("/open311/v2/services.json").status_code == 200


@pytest.mark.postgres
def test_readyz_answers_in_time_when_the_database_host_stops_answering(
    proxied_postgres: tuple[TcpProxy, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database host that accepts and never answers must not hold the balancer's check (or pile up one
    waiting thread per check)."""
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        proxy.close()
        proxy.silent = True
        proxy.open()
        threads = threading.active_count()
        for _ in range(3):
            started = time.monotonic()
            down = client.get("/readyz")
            assert down.status_code == 503, down.text
            assert time.monotonic() - started < 10
            assert "no answer within" in down.text, down.text
        assert threading.active_count() <= threads + 2, "one check waits on the database at a time"
        assert client.get("/healthz").status_code == 200


def test_readyz_on_sqlite(tmp_path: Path, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    settings = make_settings(tmp_path / "data", sqlite_database_url)
    with live_server(create_app(settings)) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert (ready.status_code, ready.text) == (200, "ok")


def test_head_is_answered_wherever_get_is(
    tmp_path: Path, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uptime monitors probe with HEAD: a tester found ``HEAD /healthz`` answered 405 while ``HEAD /readyz``
    answered 200. The probes, the API's documents, the console's pages (signed in or not) and its
    stylesheet answer HEAD with GET's status and headers, and no body."""
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    app = create_app(make_settings(tmp_path / "data", sqlite_database_url))
    paths = [
        "/healthz",
        "/readyz",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/open311/v2/discovery.json",
        "/open311/v2/services.xml",
        "/operator/sign-in",
        "/operator/static/console.css",
        "/operator/requests",
        "/operator/api/queue",
        "/local/messages?to=ann",
        "/no/such/page",
    ]
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            got, head = client.get(path), client.head(path)
            assert head.status_code == got.status_code, f"HEAD {path}: {head.status_code} {got.status_code}"
            assert head.headers.get("content-type") == got.headers.get("content-type"), path
            assert head.headers.get("content-length") == got.headers.get("content-length"), path
            assert head.content == b"", path


@pytest.mark.postgres
def test_requests_while_the_database_is_down_get_503_and_one_log_line_each(
    proxied_postgres: tuple[TcpProxy, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tester found every request during a database outage answered 500 and logged as a ~100-line
    traceback ("Exception in ASGI application"; 653 lines for a handful). Each is now a 503 saying the
    database is not answering, in the format of the part asked (the API's error document, the console's
    JSON or page, plain text), with Retry-After, and one WARNING line naming the cause."""
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    with (
        caplog.at_level(logging.INFO),
        live_server(create_app(settings)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        uvicorn_errors = logging.getLogger("uvicorn.error")  # its own set-up replaced the handlers
        uvicorn_errors.addHandler(caplog.handler)
        try:
            assert client.get("/open311/v2/requests.json").status_code == 200
            proxy.close()
            session = {"cookie": f"{SESSION_COOKIE}=a-session-id"}
            answers = {
                "json": client.get("/open311/v2/requests/1.json"),
                "xml": client.get("/open311/v2/requests/1.xml"),
                "local": client.post("/local/messages", json={"from": "ann", "text": "Pothole at 5th St"}),
                "console api": client.get("/operator/api/queue", headers=session),
                "console page": client.get("/operator/requests", headers=session),
            }
        finally:
            uvicorn_errors.removeHandler(caplog.handler)
    for part, answer in answers.items():
        assert answer.status_code == 503, (part, answer.text)
        assert answer.headers["retry-after"] == "5", part
        assert "the database is not answering" in answer.text.lower(), (part, answer.text)
    assert answers["json"].json() == [
        {"code": 503, "description": "the database is not answering just now; try again in a moment"}
    ]
    assert "<code>503</code>" in answers["xml"].text
    assert answers["console api"].json() == {
        "error": "the database is not answering just now; try again in a moment"
    }
    assert answers["console page"].headers["content-type"].startswith("text/html")
    assert "Traceback" not in caplog.text
    assert "Exception in ASGI application" not in caplog.text
    refused = [r for r in caplog.records if r.name == "bot.health" and "503 for" in r.getMessage()]
    assert [r.levelname for r in refused] == ["WARNING"] * 5, caplog.text
    assert (
        refused[0].getMessage().startswith("503 for GET /open311/v2/requests/1.json: database unreachable: ")
    ), refused[0].getMessage()
    assert "Connection refused" in refused[0].getMessage() or "closed" in refused[0].getMessage()
