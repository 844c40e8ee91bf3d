"""Polling X during a database outage: a mention the database is down for is one WARNING line per try (no
traceback), is not counted towards giving it up, and is handled at the first poll after the database is
back. Before, each try logged "X message ... failed (try n of 15)" with SQLAlchemy's traceback through the
dispatcher, and the tries counted, so an outage longer than the 15 polls ended with the mention on the
review queue (or, the database still down, in a traceback more per poll); a poll that could not even read
its cursor ended the job in apscheduler's "Job raised an exception" and its traceback.

Through tweepy against the fake X, with the database made unreachable for real: the bot reaches PostgreSQL
through the TCP proxy of ``tests/test_health.py``, which the test closes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.jobs import x_mentions
from channels.fakes.twitter import FakeX
from tests.channels.test_twitter import CONSUMER_SECRET, RESIDENT
from tests.channels.test_twitter_polling import job_context
from tests.conftest import make_settings
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot
from tests.support.live_server import live_server
from tests.test_health import TcpProxy, proxied_postgres  # noqa: F401 (the fixture)


class CutsTheDatabase:
    """The fake X, which closes the database proxy as it answers the next mentions request: the poll has
    read its cursor, and the database is gone by the time the mention is handed to the dispatcher."""

    def __init__(self, app: ASGIApp, proxy: TcpProxy) -> None:
        self.app = app
        self.proxy = proxy
        self.armed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.armed and scope["type"] == "http" and str(scope["path"]).endswith("/mentions"):
            self.armed = False
            self.proxy.close()
        await self.app(scope, receive, send)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


def x_settings(fake: FakeX) -> dict[str, Any]:
    return {
        "enabled": True,
        "user_id": fake.user_id,
        "bearer_token": "app-bearer-token",
        "consumer_key": "consumer-key",
        "consumer_secret": CONSUMER_SECRET,
        "access_token": "access-token",
        "access_token_secret": "access-token-secret",
        "max_rate_limit_wait_seconds": 5,
    }


def assert_no_traceback(logs: pytest.LogCaptureFixture) -> None:
    assert all(r.exc_info is None for r in logs.records), [r.getMessage() for r in logs.records if r.exc_info]
    assert "Traceback" not in logs.text


def answered(bot: RunningBot, fake: FakeX, tweet: str) -> None:
    """The mention was filed as a request and answered in its thread, not kept for review."""
    bot.deliver()
    assert bot.request(filed_id(fake.replies_to(tweet)[0].text))["description"] == CLEAR_REPORT
    assert bot.request_count() == 1


@pytest.mark.postgres
def test_a_mention_polled_during_an_outage_is_one_line_a_try_and_handled_when_the_database_is_back(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    proxy, database_url = proxied_postgres
    fake = FakeX()
    cutter = CutsTheDatabase(fake.app, proxy)
    with live_server(cutter) as fake_url:
        fake.server_url = fake_url
        twitter = {**x_settings(fake), "api_base_url": fake_url}
        settings = make_settings(tmp_path / "data", database_url)
        with running_bot(settings, twitter=twitter) as bot, job_context(bot) as channel:
            channel.max_poll_attempts = 2  # counted, the second try would give the mention up
            tweet = fake.mention(RESIDENT, CLEAR_REPORT)
            logs.clear()
            # Each poll reads its cursor, then the database goes as the mention is handed over.
            for poll in range(3):
                if poll:
                    proxy.open()
                cutter.armed = True
                assert asyncio.run(channel.poll_mentions_once()) == 0

            lines = [r for r in logs.records if r.name == "channels.twitter"]
            assert len(lines) == 3, [r.getMessage() for r in logs.records]
            for line in lines:
                assert line.levelname == "WARNING"
                message = line.getMessage()
                assert message.startswith(f"X message {tweet} not handled: database unreachable: "), message
                assert message.endswith("; read again at the next poll"), message
                assert "\n" not in message
            assert_no_traceback(logs)
            assert fake.replies_to(tweet) == []

            proxy.open()  # the database is back: the next poll handles the mention
            assert asyncio.run(channel.poll_mentions_once()) == 1
            answered(bot, fake, tweet)
        said = [r.getMessage() for r in logs.records if r.name == "channels.twitter"]
        assert not [line for line in said if "given up" in line or "(try" in line], said


@pytest.mark.postgres
def test_a_poll_that_cannot_read_its_cursor_during_an_outage_is_one_line(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    # Once the database is down, the next polls fail at their first step, reading the cursor: the job's
    # one line for each of mentions and direct messages, as for X being unreachable.
    proxy, database_url = proxied_postgres
    fake = FakeX()
    with live_server(fake.app) as fake_url:
        fake.server_url = fake_url
        twitter = {**x_settings(fake), "api_base_url": fake_url}
        settings = make_settings(tmp_path / "data", database_url)
        with running_bot(settings, twitter=twitter) as bot, job_context(bot):
            tweet = fake.mention(RESIDENT, CLEAR_REPORT)
            proxy.close()
            logs.clear()
            asyncio.run(x_mentions.run())
            asyncio.run(x_mentions.run())

            lines = sorted(r.getMessage() for r in logs.records if r.levelno >= logging.WARNING)
            assert len(lines) == 4, lines
            assert [line.split(": database unreachable: ")[0] for line in lines] == [
                "X direct messages not read",
                "X direct messages not read",
                "X mentions not read",
                "X mentions not read",
            ]
            assert all("\n" not in line for line in lines)
            assert_no_traceback(logs)

            proxy.open()
            asyncio.run(x_mentions.run())
            answered(bot, fake, tweet)
