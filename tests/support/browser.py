"""Debian's chromium driven by Playwright (never a downloaded browser), for tests of what runs in a browser:
the operator console's pages, and third-party web apps calling the Open311 API from another origin.

Without chromium the browser tests fail in CI (it must run them) and are skipped elsewhere, with the reason.
Import the fixtures into a conftest or test module: ``from tests.support.browser import open_browser,
playwright_driver``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import in_ci

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
