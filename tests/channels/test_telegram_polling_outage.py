"""Telegram in polling mode during a database outage: an update the database is down for is one WARNING line
per try (no traceback), its tries are not counted towards giving it up, and it is handled once the database
is back. Before, each try logged two lines (the dispatcher's "not handled ...; Telegram delivers it again",
which is the webhook's wording, and "failed (try n of 18)"), and the tries counted: an outage longer than
about an hour ended in give_up, one traceback more per try ("could not be kept for review") while the
database stayed down, or the update on the review queue if it came back by then.

Through python-telegram-bot against the fake Telegram, with the database made unreachable for real: the
bot reaches PostgreSQL through the TCP proxy of ``tests/test_health.py``, which the test closes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.fakes.telegram import FakeTelegram
from channels.telegram import TelegramChannel
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
