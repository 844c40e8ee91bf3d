"""Telegram in polling mode during a database outage: an update the database is down for is one WARNING line
per try (no traceback), its tries are not counted towards giving it up, and it is handled once the database
is back. Before, each try logged two lines (the dispatcher's "not handled ...; Telegram delivers it again",
which is the webhook's wording, and "failed (try n of 18)"), and the tries counted: an outage longer than
about an hour ended in give_up, one traceback more per try ("could not be kept for review") while the
database stayed down, or the update on the review queue if it came back by then. Nor does the poller's
own use of the database (its cursor) end in a traceback: a poller that starts while the database is down
(reading where it left off) said nothing and never polled again until a restart, and a cursor save that met
the outage was "telegram polling failed" with SQLAlchemy's traceback at every try.

Through python-telegram-bot against the fake Telegram, with the database made unreachable for real: the
bot reaches PostgreSQL through the TCP proxy of ``tests/test_health.py``, which the test closes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cursors import DatabaseCursorStore
from bot.db import make_engine, make_session_factory, migrate
from channels.fakes.telegram import FakeTelegram
from channels.telegram import TelegramChannel
from tests.channels.serving import Recorder, serve_channel
from tests.channels.test_telegram import echo, make_channel
from tests.conftest import make_settings
from tests.conversation.harness import CLEAR_REPORT, filed_id, running_bot
from tests.support.live_server import live_server
from tests.test_health import TcpProxy, proxied_postgres  # noqa: F401 (the fixture)

CHAT = 424242


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


@pytest.mark.postgres
def test_a_polled_update_during_an_outage_is_one_line_a_try_and_handled_when_the_database_is_back(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    fake = FakeTelegram()
    with live_server(fake.app) as fake_url:
        fake.server_url = fake_url
        telegram = {
            "enabled": True,
            "token": fake.token,
            "mode": "polling",
            "base_url": fake.base_url(),
            "base_file_url": fake.base_file_url(),
            "poll_timeout_seconds": 1,
        }
        with running_bot(settings, telegram=telegram) as bot:
            channel = bot.messaging.channels["telegram"]
            assert isinstance(channel, TelegramChannel)
            channel.retry_seconds = channel.pending_poll_seconds = 0.05
            channel.max_attempts = 2  # counted, the second try would give the update up
            fake.send_text(CHAT, "hello")
            fake.wait_for(lambda: fake.pending_update_count == 0)  # handled and acknowledged

            proxy.close()
            logs.clear()
            update = fake.send_text(CHAT, CLEAR_REPORT)
            prefix = f"telegram update {update['update_id']} not handled: database unreachable: "

            def said() -> list[logging.LogRecord]:
                return [r for r in logs.records if r.name == "channels.telegram"]

            fake.wait_for(lambda: len(said()) >= 3)  # three tries, the database still down
            for line in said():
                assert line.levelname == "WARNING", line.getMessage()
                message = line.getMessage()
                assert message.startswith(prefix), message
                assert "; next try in " in message, message
                assert "\n" not in message
            assert all(r.exc_info is None for r in logs.records), [
                r.getMessage() for r in logs.records if r.exc_info
            ]
            assert "Traceback" not in logs.text
            assert fake.pending_update_count == 1  # not acknowledged: Telegram keeps it

            proxy.open()  # the database is back: the next try handles the update
            fake.wait_for(lambda: fake.pending_update_count == 0, timeout=30)
            assert bot.inbox_count() == 2
            bot.deliver()
            assert bot.request(filed_id(fake.sent_to(CHAT)[-1]["text"]))["description"] == CLEAR_REPORT
            assert bot.request_count() == 1
        lines = [r.getMessage() for r in said()]
        assert not [line for line in lines if "given up" in line or "(try" in line or "kept" in line], lines


def telegram_lines(logs: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    return lambda: [r for r in logs.records if r.name == "channels.telegram"]


def assert_one_line_each(lines: list[logging.LogRecord], prefix: str, logs: pytest.LogCaptureFixture) -> None:
    for line in lines:
        message = line.getMessage()
        assert line.levelname == "WARNING", message
        assert message.startswith(prefix), message
        assert "; retrying in " in message, message
        assert "\n" not in message
    assert all(r.exc_info is None for r in logs.records), [r.getMessage() for r in logs.records if r.exc_info]
    assert "Traceback" not in logs.text


@pytest.mark.postgres
def test_polling_that_starts_during_an_outage_keeps_trying_and_handles_updates_once_the_database_is_back(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    # Telegram unreachable at start-up, the poller starts when it comes back: by then the database is down.
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    fake = FakeTelegram()
    fake.outage("getMe")
    with live_server(fake.app) as fake_url:
        fake.server_url = fake_url
        telegram = {
            "enabled": True,
            "token": fake.token,
            "mode": "polling",
            "base_url": fake.base_url(),
            "base_file_url": fake.base_file_url(),
            "poll_timeout_seconds": 1,
        }
        with running_bot(settings, telegram=telegram) as bot:
            channel = bot.messaging.channels["telegram"]
            assert isinstance(channel, TelegramChannel)
            channel.reconnect_seconds = 0.05  # the poller's backoff (reconnecting already waits its 5 s)
            proxy.close()
            logs.clear()
            said = telegram_lines(logs)
            fake.wait_for(lambda: len(said()) >= 4, timeout=30)  # connected, then three tries
            assert said()[0].getMessage() == "telegram connected"
            assert_one_line_each(said()[1:], "telegram polling not started: database unreachable: ", logs)
            assert fake.get_updates_offsets == []  # nothing read before it knows where it left off

            proxy.open()  # the database is back: the poller starts and handles what comes
            fake.send_text(CHAT, CLEAR_REPORT)
            fake.wait_for(lambda: fake.pending_update_count == 0, timeout=30)
            bot.deliver()
            assert bot.request(filed_id(fake.sent_to(CHAT)[-1]["text"]))["description"] == CLEAR_REPORT
            assert bot.request_count() == 1


@pytest.mark.postgres
def test_a_cursor_save_during_an_outage_is_one_line_a_try_and_saved_when_the_database_is_back(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    logs: pytest.LogCaptureFixture,
) -> None:
    # The handler (here not the database's) handles the update; saving where the poller is fails.
    proxy, database_url = proxied_postgres
    engine = make_engine(database_url)
    migrate(engine)
    cursors = DatabaseCursorStore(make_session_factory(engine))
    fake = FakeTelegram()
    recorder = Recorder(reply=echo)
    with contextlib.ExitStack() as cleanup, live_server(fake.app) as fake_url:
        cleanup.callback(engine.dispose)
        fake.server_url = fake_url
        channel = make_channel(fake, recorder, "polling")
        channel.cursor_store = cursors
        channel.reconnect_seconds = 0.05
        with serve_channel(channel):
            first = fake.send_text(CHAT, "hello")
            fake.wait_for(lambda: cursors.get(channel.cursor_name) == str(first["update_id"]))

            proxy.close()
            logs.clear()
            second = fake.send_text(CHAT, "Broken streetlight on Mission")
            said = telegram_lines(logs)
            fake.wait_for(lambda: len(said()) >= 3)  # handled, then three tries to save the cursor
            assert_one_line_each(
                said(),
                f"telegram updates up to {second['update_id']} handled but not acknowledged: "
                "database unreachable: ",
                logs,
            )
            assert fake.pending_update_count == 1  # not acknowledged: Telegram still holds it

            proxy.open()
            fake.wait_for(lambda: fake.pending_update_count == 0, timeout=30)
            assert cursors.get(channel.cursor_name) == str(second["update_id"])
    assert [m.text for m in recorder.messages()] == ["hello", "Broken streetlight on Mission"]  # once each
    assert len(fake.sent_to(CHAT)) == 2
