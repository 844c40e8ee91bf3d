"""Fixtures of the job tests: the Twilio fake the outbox sends SMS through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels.fakes.twilio import FakeTwilio
from tests.support.fakes import served_twilio


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """The Twilio fake on a real server; ``base_url`` is where the bot's Twilio client must send."""
    with served_twilio() as fake:
        yield fake
