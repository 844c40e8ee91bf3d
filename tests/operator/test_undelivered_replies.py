"""Replies the bot could not deliver, as operators see them on the console's Undelivered page.

The whole app is served with SMS pointed at the Twilio fake (over real HTTP, through the twilio client);
residents text the bot, an operator decides on their reports through the console's JSON calls, and the
fake plays the carrier: a delivery report of 30007 (filtered as spam), a number that texted STOP (21610).
A sender that writes too often has a reply held back by the loop guard. The page (and its JSON) lists the
three, masked, in plain words, each linked to what it was about; a browser reads it at 320 px.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.review.models import ReviewItem
from bot.review.operators import create_operator
from bot.runtime import Runtime
from channels.fakes.twilio import OPTED_OUT_NUMBER, FakeTwilio, SentSms
from tests.conftest import make_settings
from tests.operator.support import PASSWORDS, Deployment, screenshot, sign_in
from tests.operator.test_console_access import signed_in_client
from tests.support.fakes import served_twilio, twilio_settings
from tests.support.live_server import bound_socket, live_server, socket_url

FILTERED = "+14155550123"  # the carrier filters the bot's reply to this phone
CHATTY = "+14155550177"  # an automated sender: the bot stops answering it
REPORT = "There is a big pothole in the road at 5th St and Market St"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with served_twilio() as fake:
        yield fake


def text_the_bot(deployment: Deployment, twilio: FakeTwilio, number: str, body: str) -> None:
    answer = twilio.inbound(f"{deployment.url}/webhooks/twilio", from_=number, body=body)
    assert answer.status_code == 200, answer.text


def item_of(deployment: Deployment, number: str) -> int:
    from sqlmodel import select

    with deployment.runtime.sessions() as session:
        [item_id] = session.exec(select(ReviewItem.id).where(ReviewItem.resident_id == number)).all()
    assert item_id is not None
    return item_id


def sent_by_rest(twilio: FakeTwilio, number: str, contains: str, timeout: float = 20.0) -> SentSms:
    """The message the outbox job sent to ``number`` through Twilio's REST API."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for sms in twilio.sent_to(number):
            if contains in sms.body:
                return sms
        time.sleep(0.1)
    raise AssertionError(f"nothing containing {contains!r} was sent to {number}")


def wait_for_rows(client: httpx.Client, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    replies: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = client.get("/operator/api/undelivered")
        assert answer.status_code == 200, answer.text
        replies = answer.json()["replies"]
        if len(replies) >= count:
            return replies
        time.sleep(0.2)
    raise AssertionError(f"expected {count} undelivered replies, got {replies!r}")


@pytest.fixture
def served(
    tmp_path: Path, database_url: str, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """The whole app as ``deploy`` serves it (background jobs on, alice and bob, every report to review),
    with SMS on the Twilio fake and its public URL where it really listens: Twilio's signed webhooks and
    delivery reports are checked against it."""
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    sock = bound_socket()
    url = socket_url(sock)
    settings = make_settings(
        tmp_path,
        database_url,
        server={"public_url": url},
        jobs={"enabled": True, "outbox_seconds": 0.2, "notify_seconds": 0.2, "scheduler": "always"},
        intents={"auto_file_threshold": 1.0},
        # The same text answered twice in ten minutes, then silence (the loop guard): the third time it
        # is not answered.
        conversation={"offer_choices_min_confidence": 1.0, "reply_limit_repeats": 2},
        twilio=twilio_settings(twilio),
    )
    runtime = Runtime.build(settings)
    with runtime.sessions() as session:
        for name, password in PASSWORDS.items():
            create_operator(session, name, password)
    app = create_app(settings, runtime)
    try:
        with live_server(app, sock=sock):
            yield Deployment(url, settings, runtime)
    finally:
        runtime.close()


def undelivered_happen(deployment: Deployment, twilio: FakeTwilio) -> tuple[str, int]:
    """Three replies that do not reach their resident; returns the filed request's id and the rejected
    report's review item."""
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    # 1. Filed by an operator; the carrier filters the "filed as #N" text as spam (Twilio 30007).
    text_the_bot(deployment, twilio, FILTERED, REPORT)
    approved = client.post(
        f"/operator/api/queue/{item_of(deployment, FILTERED)}/approve", json={}, headers=headers
    )
    assert approved.status_code == 200, approved.text
    request_id = str(approved.json()["service_request_id"])
    filed = sent_by_rest(twilio, FILTERED, f"#{request_id}")
    assert twilio.status_callback(filed.sid, "sent").status_code == 204
    assert twilio.status_callback(filed.sid, "undelivered", error_code="30007").status_code == 204
    # 2. Rejected by an operator; the resident had texted STOP to the carrier, so Twilio refuses (21610).
    text_the_bot(deployment, twilio, OPTED_OUT_NUMBER, "The streetlight outside 300 Howard St is out")
    rejected_item = item_of(deployment, OPTED_OUT_NUMBER)
    rejected = client.post(
        f"/operator/api/queue/{rejected_item}/reject",
        json={"reason": "Already reported this morning"},
        headers=headers,
    )
    assert rejected.status_code == 200, rejected.text
    # 3. An automated sender: the third time the same text comes in a few minutes it is not answered.
    for body in ("I am driving and will reply when I can",) * 3:
        text_the_bot(deployment, twilio, CHATTY, body)
    client.close()
    return request_id, rejected_item


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operators_see_the_replies_that_did_not_reach_residents(
    served: Deployment, twilio: FakeTwilio
) -> None:
    request_id, rejected_item = undelivered_happen(served, twilio)
    client, _ = signed_in_client(served.url, "alice", PASSWORDS["alice"])
    replies = wait_for_rows(client, 3)
    by_recipient = {reply["recipient"]: reply for reply in replies}
    assert set(by_recipient) == {"phone ending in 0123", "phone ending in 0004", "phone ending in 0177"}

    filtered = by_recipient["phone ending in 0123"]
    assert filtered["state"] == "failed"
    assert "filtered it as spam" in filtered["reason"]
    assert filtered["service_request_id"] == request_id
    unsubscribed = by_recipient["phone ending in 0004"]
    assert unsubscribed["state"] == "failed"
    assert "unsubscribed" in unsubscribed["reason"]
    assert unsubscribed["review_item_id"] == rejected_item
    held = by_recipient["phone ending in 0177"]
    assert held["state"] == "suppressed"
    assert "stopped answering" in held["reason"]

    page = client.get("/operator/undelivered")
    assert page.status_code == 200
    html = page.text
    assert '<h1>Undelivered replies <span class="hint">(last 30 days)</span></h1>' in html
    assert 'role="region" aria-label="Undelivered replies"' in html
    assert 'href="/operator/undelivered" aria-current="page"' in html
    assert f'href="/operator/requests/{request_id}">request {request_id}</a>' in html
    assert f'href="/operator/queue/{rejected_item}">review #{rejected_item}</a>' in html
    assert "The resident&#39;s carrier filtered it as spam" in html
    assert "Already reported this morning" in html  # what the resident did not hear
    # Never a full phone number: not the residents', not inside a provider's error.
    for number in (FILTERED, OPTED_OUT_NUMBER, CHATTY, "4155550123", "5005550004", "4155550177"):
        assert number not in html
        assert number not in str(replies)
    # Delivered replies are not listed ("A person will look", answered in the webhook itself).
    assert "A person will look" not in html
    # The period is chosen like the dashboard's, and a wrong one is refused.
    assert client.get("/operator/undelivered", params={"days": "7"}).status_code == 200
    assert client.get("/operator/undelivered", params={"days": "8"}).status_code == 400
    # Behind the sign-in, like every console page.
    anonymous = httpx.get(f"{served.url}/operator/undelivered", timeout=10)
    assert anonymous.status_code in (303, 307) or "/operator/sign-in" in str(anonymous.url)
    assert httpx.get(f"{served.url}/operator/api/undelivered", timeout=10).status_code == 401


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_undelivered_page_in_a_browser_at_320_px(
    served: Deployment, twilio: FakeTwilio, open_browser: Any
) -> None:
    request_id, _ = undelivered_happen(served, twilio)
    client, _ = signed_in_client(served.url, "alice", PASSWORDS["alice"])
    wait_for_rows(client, 3)
    page = open_browser().new_page()
    sign_in(page, served.url, "alice", PASSWORDS["alice"])
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Undelivered").click()
    page.wait_for_url(re.compile(r"/operator/undelivered$"))
    assert page.title() == "Undelivered replies \u00b7 311 operator console"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Undelivered replies")
    table = page.get_by_role("region", name="Undelivered replies").get_by_role("table")
    headers = table.get_by_role("columnheader").all_inner_texts()
    assert [h.lower() for h in headers] == [
        "when",
        "channel",
        "to",
        "what happened",
        "why",
        "about",
        "the reply",
    ]
    assert table.get_by_role("row").count() == 4  # the header and three replies
    for width in (320, 640):
        page.set_viewport_size({"width": width, "height": 780})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, "operator-undelivered")
    # The table's frame is reached with the keyboard and scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 780})
    page.reload()
    screenshot(page, "operator-undelivered-phone")
    frame = page.get_by_role("region", name="Undelivered replies")
    assert frame.evaluate("frame => frame.scrollWidth > frame.clientWidth")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Undelivered replies":
            break
    else:
        raise AssertionError("the undelivered replies' table cannot be reached with the Tab key")
    # The link to the request the filtered reply named leads to it.
    page.get_by_role("link", name=f"request {request_id}").click()
    page.wait_for_url(re.compile(rf"/operator/requests/{request_id}$"))
