"""A provider's webhook during a database outage: the message cannot be handled, and the webhook answers
non-2xx on purpose so the provider delivers it again (Twilio's fallback URL or retries, Telegram, X). Each
such message was logged with a full traceback (about 100 lines; a busy number's outage filled the log);
now one WARNING line per message says the database is unavailable and that the provider delivers it
again, and the message is handled when it comes back with the database. A fault that is no outage still
logs its traceback.

The database is made unreachable for real: the bot reaches PostgreSQL through the TCP proxy of
``tests/test_health.py``, which the test closes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from channels.fakes.telegram import FakeTelegram
from channels.fakes.twitter import FakeX
from tests.conftest import make_settings
from tests.conversation.harness import CLEAR_REPORT, running_bot
from tests.support.fakes import served_twilio
from tests.support.live_server import live_server
from tests.support.sms import sms_settings, twiml_messages
from tests.test_health import TcpProxy, proxied_postgres  # noqa: F401 (the fixture)

PAYLOADS = Path(__file__).parent.parent / "payloads"
RESIDENT = "+14155550123"
SECRET = "s3cret-Token_1"
CHAT = 424242
CONSUMER_SECRET = "consumer-secret-for-tests"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at INFO and above, uvicorn's "Exception in ASGI application" included (its own set-up
    replaced its logger's handlers)."""
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            yield caplog
    finally:
        uvicorn_errors.removeHandler(caplog.handler)


def _assert_one_line_each(logs: pytest.LogCaptureFixture, logger: str, count: int, provider: str) -> None:
    lines = [r for r in logs.records if r.name == logger and "not handled" in r.getMessage()]
    assert len(lines) == count, [r.getMessage() for r in logs.records]
    for line in lines:
        assert line.levelname == "WARNING", line.getMessage()
        assert "database unreachable" in line.getMessage(), line.getMessage()
        assert f"{provider} delivers it again" in line.getMessage(), line.getMessage()
        assert "\n" not in line.getMessage(), line.getMessage()
    assert all(r.exc_info is None for r in logs.records), [r.getMessage() for r in logs.records if r.exc_info]
    assert "Traceback" not in logs.text
    assert "Exception in ASGI application" not in logs.text


@pytest.mark.postgres
def test_an_sms_during_an_outage_is_one_line_and_handled_when_twilio_delivers_it_again(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    with served_twilio() as twilio, running_bot(settings, **sms_settings(twilio)) as bot:
        webhook = bot.url + "/webhooks/twilio"
        assert twiml_messages(twilio.inbound(webhook, from_=RESIDENT, body="hello", message_sid="SM1"))
        proxy.close()
        logs.clear()
        answers = [
            twilio.inbound(webhook, from_=RESIDENT, body=CLEAR_REPORT, message_sid=f"SM{n}") for n in (2, 3)
        ]
        assert [answer.status_code for answer in answers] == [503, 503], answers[0].text
        _assert_one_line_each(logs, "channels.sms", 2, "Twilio")

        proxy.open()  # the database is back: Twilio's next delivery is handled as usual
        again = twiml_messages(twilio.inbound(webhook, from_=RESIDENT, body=CLEAR_REPORT, message_sid="SM2"))
        assert again, "answered"
        assert bot.inbox_count() == 2


@pytest.mark.postgres
def test_a_telegram_update_during_an_outage_is_one_line_and_handled_when_delivered_again(
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
            "secret_token": SECRET,
            "mode": "webhook",
            "base_url": fake.base_url(),
            "base_file_url": fake.base_file_url(),
        }
        with running_bot(settings, telegram=telegram) as bot:
            fake.send_text(CHAT, "hello")
            assert fake.webhook_statuses == [200]
            proxy.close()
            logs.clear()
            fake.send_text(CHAT, CLEAR_REPORT)
            fake.redeliver_pending()  # Telegram's next try, still during the outage
            assert fake.webhook_statuses == [200, 503, 503]
            _assert_one_line_each(logs, "channels.telegram", 2, "Telegram")

            proxy.open()
            fake.redeliver_pending()
            assert fake.webhook_statuses[-1] == 200
            assert bot.inbox_count() == 2


@pytest.mark.postgres
def test_an_x_event_during_an_outage_is_one_line_and_handled_when_delivered_again(
    proxied_postgres: tuple[TcpProxy, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    proxy, database_url = proxied_postgres
    settings = make_settings(tmp_path / "data", database_url)
    mention = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
    fake = FakeX()
    with live_server(fake.app) as fake_url:
        fake.server_url = fake_url
        twitter = {
            "enabled": True,
            "user_id": fake.user_id,
            "bearer_token": "app-bearer-token",
            "consumer_key": "consumer-key",
            "consumer_secret": CONSUMER_SECRET,
            "access_token": "access-token",
            "access_token_secret": "access-token-secret",
            "api_base_url": fake.server_url,
        }
        with running_bot(settings, twitter=twitter) as bot:
            webhook = f"{bot.url}/webhooks/twitter"
            assert bot.request_count() == 0  # the pool has its connections, which the outage cuts
            proxy.close()
            logs.clear()
            answer = fake.post_activity(webhook, mention, CONSUMER_SECRET)
            assert answer.status_code == 503, answer.text
            _assert_one_line_each(logs, "channels.twitter", 1, "X")

            proxy.open()
            assert fake.post_activity(webhook, mention, CONSUMER_SECRET).status_code == 200
            assert bot.inbox_count() == 1


def test_a_database_fault_that_is_no_outage_still_logs_its_traceback(
    tmp_path: Path, sqlite_database_url: str, logs: pytest.LogCaptureFixture
) -> None:
    """SQLite's "no such table" (a migration half-run) is a fault: a 500 and its traceback, as before."""
    settings = make_settings(tmp_path / "data", sqlite_database_url)
    with served_twilio() as twilio, running_bot(settings, **sms_settings(twilio)) as bot:
        with bot.runtime.engine.begin() as connection:
            connection.execute(text("DROP TABLE inbox"))
        answer: httpx.Response = twilio.inbound(
            bot.url + "/webhooks/twilio", from_=RESIDENT, body=CLEAR_REPORT, message_sid="SM9"
        )
    assert answer.status_code == 500, answer.text
    failed = [r for r in logs.records if r.name == "channels.sms" and r.exc_info is not None]
    assert len(failed) == 1, [r.getMessage() for r in logs.records]
    assert "no such table" in logs.text
    assert "not handled" not in logs.text
