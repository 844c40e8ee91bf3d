"""Fixtures for whole-bot conversations: the real app on a real server, talked to over the local channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from tests.conversation.harness import RunningBot, running_bot


@pytest.fixture
def bot(settings: Settings) -> Iterator[RunningBot]:
    with running_bot(settings) as running:
        yield running
