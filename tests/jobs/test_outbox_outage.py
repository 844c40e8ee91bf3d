"""A database outage does not flood the log: the outbox job says "database unreachable" in one line with
the driver's reason and no traceback, then one line now and then, less and less often, and that the
database is back when it is. Before, every worker logged a 60-line traceback every second (3,000 lines in
23 s), and then the first line still carried one. PostgreSQL: the real server, then a URL where none
answers. A database error that is no outage (a table missing) is no such line: it is raised, and the
scheduler logs its traceback."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, make_session_factory
from bot.jobs import context, outbox_delivery
from bot.jobs.context import JobContext
from bot.messaging import build_messaging
from bot.outbox import enqueue
from bot.runtime import Runtime
from channels.base import Channel, SendProgress, SendResult
from channels.messages import OutboundMessage
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_schema
from tests.support.live_server import bound_socket
from tests.test_health import TcpProxy, proxied_postgres  # noqa: F401 (the fixture)


@pytest.mark.postgres
def test_a_database_outage_is_logged_in_a_few_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fresh_postgres_schema() as url:
        runtime = Runtime.build(make_settings(tmp_path / "data", url))
        messaging = build_messaging(runtime)
        closed = bound_socket("127.0.0.1")  # a port nothing answers on (bound, never listening)
        port = closed.getsockname()[1]
        down = make_engine(f"postgresql+psycopg://bot:bot@127.0.0.1:{port}/bot")
        working = messaging.dispatcher.sessions
        context.install(
            JobContext(
                settings=runtime.settings,
                sessions=runtime.sessions,
                templates=messaging.templates,
                open311=runtime.open311,
                dispatcher=messaging.dispatcher,
                channels=messaging.channels,
            )
        )
        try:
            messaging.dispatcher.sessions = make_session_factory(down)
            with caplog.at_level(logging.INFO):
                # The job runs every second in a worker; here every 0.1 s for 3.5 s.
                deadline = time.monotonic() + 3.5
                while time.monotonic() < deadline:
                    asyncio.run(outbox_delivery.run())
                    time.sleep(0.1)
                outage = [r for r in caplog.records if r.name.startswith("bot")]
                first = outage[0].getMessage()
                assert "database unreachable, retrying in 1 s: " in first, first
                assert "refused" in first.lower(), first  # the driver's reason, in the one line
                assert "\n" not in first, first
                assert 2 <= len(outage) <= 3, [r.getMessage() for r in outage]  # after 1 s, 2 s (then 4 s)
                assert all("still unreachable" in r.getMessage() for r in outage[1:])
                assert all(
                    r.exc_info is None for r in caplog.records
                )  # no traceback, not even the first time

                caplog.clear()
                messaging.dispatcher.sessions = working
                with runtime.sessions() as session:
                    enqueue(session, OutboundMessage(channel="local", resident_id="ana", text="Filed as #7."))
                    session.commit()
                while outbox_delivery._outage.waiting():
                    time.sleep(0.1)
                asyncio.run(outbox_delivery.run())
                assert "database reachable again after" in caplog.text
                assert outbox_delivery._outage.failures == 0
        finally:
            messaging.dispatcher.sessions = working
            context.install(None)
            closed.close()
            down.dispose()
            runtime.close()


def test_a_database_error_that_is_no_outage_is_raised_with_its_traceback(
    tmp_path: Path, sqlite_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's OperationalError is also "no such table": a fault (a migration half-run), not the database
    being away; it was logged as "database unreachable" and retried quietly for ever."""
    runtime = Runtime.build(make_settings(tmp_path / "data", sqlite_database_url))
    messaging = build_messaging(runtime)
    context.install(
        JobContext(
            settings=runtime.settings,
            sessions=runtime.sessions,
            templates=messaging.templates,
            open311=runtime.open311,
            dispatcher=messaging.dispatcher,
            channels=messaging.channels,
        )
    )
    try:
        with runtime.engine.begin() as connection:
            connection.execute(text("DROP TABLE outbox"))
        with caplog.at_level(logging.INFO), pytest.raises(OperationalError, match="no such table"):
            asyncio.run(outbox_delivery.run())  # raised to the scheduler, which logs its traceback
        assert "unreachable" not in caplog.text
        assert outbox_delivery._outage.failures == 0
    finally:
        context.install(None)
        runtime.close()


class _DatabaseGoesAwayWhileSending(Channel):
    """Sends a message in two parts; the database goes away while the first is with the provider."""

    name = "local"

    def __init__(self, proxy: TcpProxy) -> None:
        super().__init__(lambda message: None)  # type: ignore[arg-type,return-value]
        self.proxy = proxy

    @classmethod
    def from_config(cls, config: Any, handler: Any, *, public_url: str) -> Channel:
        raise NotImplementedError

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        raise NotImplementedError

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        assert progress is not None
        self.proxy.close()
        progress.part_sent("part-1")  # the outbox records it: the database is gone
        return SendResult(provider_message_id="part-2")


@pytest.mark.postgres
def test_a_database_lost_in_the_middle_of_a_send_is_the_outage_line_not_a_send_failure(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The send itself caught the outage as a message that "failed unexpectedly", with its traceback (one
    per message in the round), before the job said "database unreachable"."""
    monkeypatch.setattr(outbox_delivery, "_outage", outbox_delivery._Outage())
    proxy, url = proxied_postgres
    runtime = Runtime.build(make_settings(tmp_path / "data", url))
    messaging = build_messaging(runtime)
    messaging.dispatcher.channels["local"] = _DatabaseGoesAwayWhileSending(proxy)
    with runtime.sessions() as session:
        enqueue(session, OutboundMessage(channel="local", resident_id="ana", text="Filed as #7."))
        session.commit()
    context.install(
        JobContext(
            settings=runtime.settings,
            sessions=runtime.sessions,
            templates=messaging.templates,
            open311=runtime.open311,
            dispatcher=messaging.dispatcher,
            channels=messaging.channels,
        )
    )
    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(outbox_delivery.run())
        said = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
        assert len(said) == 1, said
        assert said[0].startswith("outbox: database unreachable, retrying in 1 s: "), said
        assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records]
    finally:
        context.install(None)
        runtime.close()
