"""Fixtures for the operator console: a served app with operators, review items to decide, and a browser.

The browser is Debian's chromium driven by Playwright (never a downloaded browser). Without chromium the
browser tests fail in CI (it must run them) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
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
from tests.support.databases import in_ci
from tests.support.live_server import live_server

CHROMIUM = Path(os.environ.get("OPEN311_BOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
            "operator": {"max_sign_in_attempts": 3, "sign_in_window_seconds": 60},
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


# Per module, not per session: Playwright's sync driver keeps an event loop of its own, which should not
# outlive the browser tests into the rest of the suite's asyncio tests.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = (
            f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium chromium-driver)"
        )
        if in_ci():
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def open_browser(playwright_driver: Any, tmp_path: Path) -> Iterator[Any]:
    """Opens a fresh browser (its own user-data dir: its own cookies) per call; closes them all at the end."""
    contexts: list[Any] = []

    def open_one() -> Any:
        profile = tmp_path / f"chromium-profile-{len(contexts)}"
        context = playwright_driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1100, "height": 900},
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_one
    for context in contexts:
        context.close()
