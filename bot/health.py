"""Readiness: ``GET /readyz`` answers 200 "ok" when the database answers a trivial query, else 503 with a
short plain reason, so a load balancer sends traffic only to processes that can serve it.

``/healthz`` (in bot.app) stays the bare liveness no-op: a process whose database is down is alive, and
restarting it would not help; it is also the benchmarks' baseline for the cost of the stack.

The query runs on the deployment's own engine (its pool, as requests use it) in a daemon thread: a
database host that accepts and never answers holds that thread, not the check (answered 503 after
``CHECK_SECONDS``) nor the process's shutdown; and while one query waits no other is started, so checks
every few seconds cannot pile up threads.

A request that meets an unreachable database (SQLAlchemy's ``OperationalError``: refused, dropped, timed
out; or no pooled connection free in time) is answered 503 with ``Retry-After``, "the database is not
answering just now", in the format of the part asked (through the app's HTTP error handlers: the Open311
API's error document, the console's JSON or page), and logged as one WARNING line naming the cause; before,
each was a 500 and a traceback of about 100 lines. Any other database error stays a fault (500, traced).
So is a request the dispatcher found the database down for (``channels.base.TemporarilyUnavailable``,
the signal it raises in SQLAlchemy's error's place) that its channel does not answer itself: the local
channel, Twilio's delivery reports.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from bot.commands.logs import redact_query
from bot.db_outage import UNREACHABLE_ERRORS, unreachable, unreachable_reason
from bot.runtime import Runtime
from channels.base import TemporarilyUnavailable

log = logging.getLogger(__name__)

READY_PATH = "/readyz"
# Load balancers time their checks out after a few seconds (AWS ALB: 5 by default); answer before that.
CHECK_SECONDS = 4.0
# What a client is told when its request met an unreachable database (the details are for the log).
UNAVAILABLE = "the database is not answering just now; try again in a moment"
RETRY_AFTER_SECONDS = 5


class DatabaseCheck:
    """``problem()``: None when the database answers ``SELECT 1``, else why not, in a line."""

    def __init__(self, engine: Engine, timeout_seconds: float = CHECK_SECONDS) -> None:
        self._engine = engine
        self._timeout = timeout_seconds
        self._pending: asyncio.Future[None] | None = None
        self._started = 0.0
        self._last_problem: str | None = None

    async def problem(self) -> str | None:
        if self._pending is None or self._pending.done():
            self._pending = self._start()
            self._started = time.monotonic()
        remaining = self._timeout - (time.monotonic() - self._started)
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), max(remaining, 0.0))
        except TimeoutError:
            found: str | None = f"database unreachable: no answer within {self._timeout:g} s"
        except SQLAlchemyError as exc:
            found = unreachable_reason(exc)
        else:
            found = None
        if found != self._last_problem:  # said once per change, not at every check of the balancer
            if found is None:
                log.info("ready: the database answers again")
            else:
                log.warning("not ready: %s", found)
            self._last_problem = found
        return found

    def _start(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        def query() -> None:
            error: BaseException | None = None
            try:
                with self._engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception as exc:  # handed to the check, which says why
                error = exc
            if not loop.is_closed():
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=query, name="readiness-check", daemon=True).start()
        # Retrieved here, so a failure no check awaited any more is not logged as never retrieved.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        return future


def mount(app: FastAPI, runtime: Runtime) -> None:
    check = DatabaseCheck(runtime.engine)

    async def readyz() -> PlainTextResponse:
        problem = await check.problem()
        if problem is None:
            return PlainTextResponse("ok")
        return PlainTextResponse(problem, status_code=503)

    app.add_api_route(READY_PATH, readyz, methods=["GET", "HEAD"], include_in_schema=False)
    for error in UNREACHABLE_ERRORS:
        app.add_exception_handler(error, database_unreachable)
    app.add_exception_handler(TemporarilyUnavailable, handler_unavailable)


async def database_unreachable(request: Request, error: Exception) -> Response:
    """503 for a request that met an unreachable database, answered as each part answers its HTTP errors
    (the handler installed last, which defers to the earlier ones off its own paths); one log line. Any
    other error goes on to the app's fault handling (500, its traceback logged), as before."""
    if not unreachable(error):
        raise error
    return await _unavailable(request, unreachable_reason(error))


async def handler_unavailable(request: Request, error: Exception) -> Response:
    """The same 503 for what the dispatcher raised as ``TemporarilyUnavailable`` (it says why)."""
    return await _unavailable(request, str(error))


async def _unavailable(request: Request, reason: str) -> Response:
    target = redact_query(request.url.path)  # the access log's masking: no resident's number in a path
    log.warning("503 for %s %s: %s", request.method, target, reason)
    answer_http_error = request.app.exception_handlers[HTTPException]
    refusal = HTTPException(503, UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    response: Response = await answer_http_error(request, refusal)
    return response
