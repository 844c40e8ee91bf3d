"""Fixtures for whole-bot conversations: the real app on a real server, talked to over the local channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.open311.catalog import CATALOG_DIR
from tests.conversation.harness import RunningBot, running_bot
from tests.intents.toronto_gazetteer import (  # noqa: F401 (runtime: the fixture)
    TORONTO_BOUNDARY,
    TORONTO_CITY,
    city_street_names,
    toronto_gazetteer,
)


@pytest.fixture
def bot(settings: Settings) -> Iterator[RunningBot]:
    with running_bot(settings) as running:
        yield running


@pytest.fixture
def toronto_graffiti(settings: Settings, tmp_path: Path) -> Iterator[RunningBot]:
    """The bot with the bundled Toronto catalog (four graffiti services share the class ``graffiti``) and a
    Toronto-style gazetteer; a test that uses it also uses ``city_street_names``."""
    geocoder = {
        "options": {"data_dir": str(toronto_gazetteer(tmp_path / "gazetteer")), "city": TORONTO_CITY},
        "boundary": list(TORONTO_BOUNDARY),
    }
    catalog = {"catalog_file": CATALOG_DIR / "toronto.toml"}
    with running_bot(settings, intents={"geocoder": geocoder}, open311=catalog) as running:
        yield running
