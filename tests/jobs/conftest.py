"""Fixtures of the job tests: the Twilio fake the outbox sends SMS through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels.fakes.twilio import FakeTwilio
from tests.support.live_server import live_server


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """The Twilio fake on a real server; ``base_url`` is where the bot's Twilio client must send."""
    fake = FakeTwilio()
    with live_server(fake.app) as url:
        fake.base_url = url
        yield fake
