"""Runs an ASGI app on a real uvicorn server in a background thread, on a free port.

Tests talk to it over real HTTP (httpx, a browser, third-party clients), exactly as a deployment would be
reached; nothing is mocked between the socket and the app.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port: for an app that must know its own URL before it starts (webhooks
    it registers with a provider); pass it to ``live_server(app, sock=...)``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def live_server(
    app: Any, host: str = "127.0.0.1", startup_timeout: float = 30.0, sock: socket.socket | None = None
) -> Iterator[str]:
    """Serves ``app`` until the block ends; yields its base URL (``http://127.0.0.1:PORT``).

    The listening socket is bound before the thread starts, so the port cannot be taken by someone else
    between choosing it and serving on it. The app's lifespan runs (start-up and shutdown hooks included).
    """
    sock = sock or bound_socket(host)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the test below, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"live-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if errors or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the server did not start: {errors[0] if errors else 'thread exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            raise TimeoutError(f"the server did not start within {startup_timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        if errors:
            raise RuntimeError(f"the server failed: {errors[0]}") from errors[0]
