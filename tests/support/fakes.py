"""The providers' fakes on a real server, for tests that point the bot's real client libraries at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.messaging import Messaging, build_messaging
from bot.runtime import Runtime
from channels.fakes.twilio import FakeTwilio
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_schema
from tests.support.live_server import live_server


@contextmanager
def served_twilio() -> Iterator[FakeTwilio]:
    """The Twilio fake, served until the block ends; its ``base_url`` is where the bot's Twilio client must
    send (``api_base_url`` in the bot's settings)."""
    twilio = FakeTwilio()
    with live_server(twilio.app) as url:
        twilio.base_url = url
        yield twilio


def twilio_settings(twilio: FakeTwilio) -> dict[str, Any]:
    """The bot's ``[twilio]`` settings that send SMS through this served fake."""
    return {
        "enabled": True,
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "from_number": "+14155550100",
        "api_base_url": twilio.base_url,
    }


@contextmanager
def sms_on_postgres(tmp_path: Path, twilio: FakeTwilio) -> Iterator[tuple[Runtime, Messaging]]:
    """The bot's runtime and messaging on a fresh PostgreSQL schema, its SMS sent through this served fake."""
    with fresh_postgres_schema() as url:
        runtime = Runtime.build(make_settings(tmp_path / "data", url, twilio=twilio_settings(twilio)))
        try:
            yield runtime, build_messaging(runtime)
        finally:
            runtime.close()
