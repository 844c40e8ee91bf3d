"""Fixtures shared by every test.

- ``database_url``: parametrized over a SQLite file in tmp_path and a fresh PostgreSQL schema.
- ``settings``: Settings for an isolated deployment (data_dir in tmp_path, that database, no background
  jobs racing the test unless it asks for them).
- ``app`` / ``live_url``: the real FastAPI app, and the same served by a real uvicorn on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from tests.support.databases import fresh_postgres_schema, sqlite_url
from tests.support.live_server import live_server

# The browser fixtures (open_browser, playwright_driver), for every test that drives chromium.
pytest_plugins = ["tests.support.browser"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """For tests that only make sense on the embedded default database."""
    return sqlite_url(tmp_path)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """For tests that only make sense on PostgreSQL (advisory locks, several processes): a fresh schema."""
    with fresh_postgres_schema() as url:
        yield url


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for a test deployment; ``overrides`` are nested dicts like load_settings takes."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "jobs": {"enabled": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(None, **base)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return make_settings(data_dir, database_url)


@pytest.fixture
def app(settings: Settings) -> Any:
    from bot.app import create_app

    return create_app(settings)


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    with live_server(app) as url:
        yield url
