"""Fixtures for the operator console: a served app with operators, review items to decide, and a browser.

The browser is Debian's chromium driven by Playwright (never a downloaded browser). Without chromium the
browser tests fail in CI (it must run them) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.review.operators import create_operator
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.operator.support import PASSWORDS, Deployment
from tests.support.live_server import live_server


@pytest.fixture
def deploy(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AbstractContextManager[Deployment]]:
    """Serves the whole app on a real uvicorn server, background jobs on (the outbox reaches residents),
    with two operators, alice and bob, and a bot that sends every report to review. Keyword arguments
    override settings sections (``operator={"claim_minutes": 0.01}``)."""
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)

    @contextmanager
    def serve(**overrides: dict[str, Any]) -> Iterator[Deployment]:
        data_dir = tmp_path / f"data-{uuid.uuid4().hex[:8]}"
        data_dir.mkdir()
        sections: dict[str, dict[str, Any]] = {
            "jobs": {"enabled": True, "outbox_seconds": 0.2, "notify_seconds": 0.2, "scheduler": "always"},
            "operator": {
                "max_sign_in_attempts": 3,
                "max_sign_in_attempts_per_address": 4,
                "sign_in_window_seconds": 60,
            },
            # The bot files nothing by itself and offers no choices: every report reaches the review queue.
            "intents": {"auto_file_threshold": 1.0},
            "conversation": {"offer_choices_min_confidence": 1.0},
        }
        for section, values in overrides.items():
            sections[section] = {**sections.get(section, {}), **values}
        settings = make_settings(data_dir, database_url, **sections)
        runtime = Runtime.build(settings)
        with runtime.sessions() as session:
            for name, password in PASSWORDS.items():
                create_operator(session, name, password)
        app = create_app(settings, runtime)
        try:
            with live_server(app) as url:
                yield Deployment(url, settings, runtime)
        finally:
            runtime.close()

    return serve


@pytest.fixture
def deployment(deploy: Callable[..., AbstractContextManager[Deployment]]) -> Iterator[Deployment]:
    with deploy() as deployed:
        yield deployed
