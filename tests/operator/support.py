"""Helpers for the console tests: put reports in the review queue as the conversation engine does, sign in
through the real form, and read what residents received on the local channel."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bot.config import Settings
from bot.review.queue import ReviewQueue
from bot.runtime import Runtime
from bot.templates import load_templates

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORDS = {"alice": "alice's long passphrase", "bob": "bob's long passphrase"}


def operators_cli(
    data_dir: Path, database_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``open311-bot operators ...`` as a deployer runs it, against this data directory and database."""
    env = {
        "OPEN311_BOT_DATA_DIR": str(data_dir),
        "OPEN311_BOT_DATABASE_URL": database_url,
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "operators", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@dataclass
class Deployment:
    url: str
    settings: Settings
    runtime: Runtime


def enqueue_report(runtime: Runtime, *, resident_id: str, text: str, **fields: Any) -> int:
    """A report the bot was unsure about, queued through the review queue's own API (as the engine does)."""
    from bot.embedded_backend import EmbeddedBackend

    queue = ReviewQueue(EmbeddedBackend(runtime.open311), load_templates())
    with runtime.sessions() as session:
        item = queue.enqueue(session, channel="local", resident_id=resident_id, text=text, **fields)
        session.commit()
        assert item.id is not None
        return item.id


def file_at(runtime: Runtime, when: datetime, service_code: str, channel: str) -> str:
    """Files a request through the core as if it were ``when`` (the core's own clock, not a hand insert)."""
    from bot.open311.models import NewRequest
    from bot.open311.service import Open311Service

    core = Open311Service(
        runtime.sessions, runtime.catalog, runtime.settings.open311, runtime.keys, clock=lambda: when
    )
    submission = core.create_request(
        NewRequest(service_code=service_code, lat=37.7793, long=-122.4193, description="x", channel=channel)
    )
    assert submission.service_request_id is not None
    return submission.service_request_id


def report_as_resident(base_url: str, resident_id: str, *messages: str) -> list[str]:
    """Talks to the bot over the local channel, as a resident; returns the bot's replies."""
    replies: list[str] = []
    for text in messages:
        response = httpx.post(
            f"{base_url}/local/messages", json={"from": resident_id, "text": text}, timeout=30
        )
        response.raise_for_status()
        replies.extend(reply["text"] for reply in response.json()["replies"])
    return replies


def review_item_of(runtime: Runtime, resident_id: str) -> int:
    """The id of the one review item the bot made for this resident."""
    from sqlmodel import select

    from bot.review.models import ReviewItem

    with runtime.sessions() as session:
        [item_id] = session.exec(select(ReviewItem.id).where(ReviewItem.resident_id == resident_id)).all()
    assert item_id is not None
    return item_id


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token a console page's form carries, which a browser would post back."""
    found = CSRF_FIELD.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def sign_in(page: Any, base_url: str, name: str, password: str) -> None:
    page.goto(f"{base_url}/operator/")
    # Not signed in: the console sends the browser to its sign-in form.
    assert "/operator/sign-in" in page.url
    page.get_by_label("Operator name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/operator/")


def assert_focus(page: Any, element_id: str) -> None:
    """The focus is (or, once the page has applied its autofocus, comes) on the element with this id."""
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id)


def assert_outcome(page: Any, title: str, words: str) -> None:
    """The page says what was just done: first in its title, and in the status message the focus is on."""
    assert page.title().startswith(title), page.title()
    assert_focus(page, "flash")
    assert words in page.locator("#flash").inner_text()


def resident_messages(base_url: str, resident_id: str) -> list[str]:
    response = httpx.get(f"{base_url}/local/messages", params={"to": resident_id}, timeout=10)
    response.raise_for_status()
    return [message["text"] for message in response.json()["messages"]]


def wait_for_message(base_url: str, resident_id: str, contains: str, timeout: float = 20.0) -> str:
    """Waits until the resident has received a message containing ``contains``; returns it."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = resident_messages(base_url, resident_id)
        for text in seen:
            if contains in text:
                return text
        time.sleep(0.2)
    raise AssertionError(f"{resident_id} never received a message containing {contains!r}; got {seen!r}")


def screenshot(page: Any, name: str) -> Path:
    """Saves a full-page screenshot under tests/artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
