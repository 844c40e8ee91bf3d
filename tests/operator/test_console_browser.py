"""The operator console in a real browser against the running app.

On SQLite and PostgreSQL, one operator works through the queue the way a person would (keyboard and
mouse in headless chromium): approves a report, corrects another (another service, a fixed location),
rejects a third, then closes a request; each resident's message arrives at the local channel. A second
browser shows that two operators cannot hold the same item. Screenshots of the queue, an item, a request,
the learning page and the dashboard go to tests/artifacts/.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.operator.support import (
    PASSWORDS,
    Deployment,
    assert_outcome,
    enqueue_report,
    file_at,
    report_as_resident,
    review_item_of,
    screenshot,
    sign_in,
    wait_for_message,
)
from tests.operator.test_kind_corrections import file_and_correct_kind
from tests.operator.test_place_corrections import AT_16TH, AT_17TH, FILING, file_and_correct
from tests.support.live_server import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUGGESTIONS_GRAFFITI = [
    {"service_code": "graffiti", "confidence": 0.44},
    {"service_code": "illegal_dumping", "confidence": 0.31},
]


def _request_json(base_url: str, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/open311/v2/requests/{request_id}.json", timeout=10)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    assert len(found) == 1
    return found[0]


def test_an_operator_approves_corrects_rejects_and_closes(deployment: Deployment, open_browser: Any) -> None:
    url, runtime = deployment.url, deployment.runtime
    # A resident reports through the local channel; the bot is unsure and hands it to a person.
    replies = report_as_resident(
        url, "res-approve", "There is a big pothole in the road", "5th St and Market St"
    )
    assert "A person will look" in replies[-1]
    approve_id = review_item_of(runtime, "res-approve")
    correct_id = enqueue_report(
        runtime,
        resident_id="res-correct",
        text="someone left a sofa and paint cans by the church on Valencia",
        suggestions=SUGGESTIONS_GRAFFITI,
        reason="low confidence",
        location_text="Valencia",
        location_kind="street",
    )
    reject_id = enqueue_report(
        runtime,
        resident_id="res-reject",
        text="why are the parking meters so expensive",
        suggestions=[{"service_code": "illegal_parking", "confidence": 0.3}],
        reason="low confidence",
    )

    page = open_browser().new_page()
    sign_in(page, url, "alice", PASSWORDS["alice"])
    # Oldest first, each with the resident's words and the bot's suggestions.
    cards = page.locator("ol.queue > li")
    assert [cards.nth(i).get_attribute("data-item-id") for i in range(3)] == [
        str(approve_id),
        str(correct_id),
        str(reject_id),
    ]
    assert "There is a big pothole in the road" in cards.nth(0).inner_text()
    assert "Pothole" in cards.nth(0).inner_text()
    screenshot(page, "operator-queue")

    # 1. Approve as suggested: the request is filed and the resident told its id on their channel.
    page.get_by_role("button", name=f"Claim #{approve_id}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{approve_id}\?done=claimed"))
    # What was just done is said where a screen reader starts reading: the title and the focus.
    assert_outcome(page, f"Claimed \u2013 Review #{approve_id}", "Claimed: no one else can take this item")
    # The conversation so far: what the resident said and what the bot answered.
    conversation = page.locator("ol.conversation").inner_text()
    assert "5th St and Market St" in conversation
    assert "Where is it?" in conversation
    assert page.locator("svg.street-map").count() == 1  # the offline map of 5th and Market
    assert "MARKET ST" in page.locator("svg.street-map").inner_html()
    assert "openstreetmap.org" in (
        page.get_by_role("link", name=re.compile("OpenStreetMap")).get_attribute("href") or ""
    )
    screenshot(page, "operator-item")
    # Each confidence is read once, as the percentage written beside it, not again as a meter.
    assert page.get_by_role("meter").count() == 0
    assert "%" in page.locator("ol.suggestions").inner_text()
    page.get_by_role("button", name="Approve and file").click()
    page.wait_for_url(re.compile(r"/operator/\?done=approved"))
    assert_outcome(page, "Approved \u2013 Review queue", "Approved and filed")
    told = wait_for_message(url, "res-approve", "filed as #")
    approved_request = re.search(r"#(\d+)", told)
    assert approved_request is not None
    filed = _request_json(url, approved_request.group(1))
    assert filed["service_code"] == "pothole"
    assert filed["lat"] == pytest.approx(37.7838, abs=0.01)
    assert filed["description"] == "There is a big pothole in the road"

    # 2. Correct: another service and a fixed location, typed with the keyboard.
    page.goto(f"{url}/operator/queue/{correct_id}")
    page.get_by_role("button", name=f"Claim #{correct_id}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{correct_id}"))
    page.get_by_label("Another service:").check()
    page.locator("#other_service").select_option("illegal_dumping")
    page.get_by_label("Address or intersection").fill("VALENCIA ST & 16TH ST")
    page.get_by_label("Latitude").fill("37.76502")
    page.get_by_label("Longitude").fill("-122.42196")
    page.get_by_label("Longitude").press("Enter")  # submits the approval form from the keyboard
    page.wait_for_url(re.compile(r"/operator/\?done=approved"))
    told = wait_for_message(url, "res-correct", "filed as #")
    corrected_request = re.search(r"#(\d+)", told)
    assert corrected_request is not None
    corrected = _request_json(url, corrected_request.group(1))
    assert corrected["service_code"] == "illegal_dumping"
    assert corrected["lat"] == pytest.approx(37.76502)
    assert corrected["long"] == pytest.approx(-122.42196)
    assert corrected["address"] == "VALENCIA ST & 16TH ST"

    # 3. Reject with a reason: the resident is told the reason.
    page.goto(f"{url}/operator/queue/{reject_id}")
    page.get_by_role("button", name=f"Claim #{reject_id}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{reject_id}"))
    reason = "Meter prices are set by the transport agency."
    # The reason must be given, and its label says so where everyone sees it.
    assert page.locator("label[for=reason]").inner_text().startswith("Reason for rejecting (required)")
    page.get_by_label(re.compile("Reason for rejecting")).fill(reason)
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(re.compile(r"/operator/\?done=rejected"))
    assert_outcome(page, "Rejected \u2013 Review queue", "Rejected; the resident is being told why")
    wait_for_message(url, "res-reject", reason)
    assert "Nothing to review" in page.locator("main").inner_text()
    # Recently decided: the reason under its own header, not under "Request".
    recent = page.get_by_role("region", name="Recently decided")
    headers = recent.locator("th").all_inner_texts()
    rejected_row = recent.locator("tbody tr", has_text="rejected").locator("td").all_inner_texts()
    by_header = dict(zip((h.casefold() for h in headers), rejected_row, strict=True))
    assert by_header["reason for rejecting"] == reason
    assert by_header["request"] == ""

    # What the bot learns: one agreement (approve), one correction graffiti -> illegal_dumping.
    page.get_by_role("link", name="Learning").click()
    page.wait_for_url(re.compile(r"/operator/learning$"))
    learning_text = page.locator("main").inner_text()
    screenshot(page, "operator-learning")
    assert "50%" in learning_text
    assert "The model running now" in learning_text  # the classifier in use, re-run on the examples
    confused = page.locator("#confused ~ div table, section[aria-labelledby=confused] table").inner_text()
    assert "Graffiti" in confused or "graffiti" in confused
    export = httpx.get(
        f"{url}/operator/learning/corrections.csv",
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
        timeout=10,
    )
    assert export.status_code == 200
    assert "someone left a sofa" in export.text
    assert "illegal_dumping" in export.text

    # 4. Requests: filter, open, close with notes; the resident following it hears about it.
    page.get_by_role("link", name="Requests").click()
    page.wait_for_url(re.compile(r"/operator/requests$"))
    page.get_by_label("Service").select_option("illegal_dumping")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"service_code=illegal_dumping"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    page.get_by_role("link", name=corrected_request.group(1), exact=True).click()
    page.wait_for_url(re.compile(rf"/operator/requests/{corrected_request.group(1)}$"))
    page.get_by_label("Status", exact=True).select_option("closed")
    page.get_by_label(re.compile("Status notes")).fill("Collected by the sanitation crew.")
    page.get_by_label("Agency responsible").fill("Public Works")
    page.get_by_role("button", name="Save and notify").click()
    page.wait_for_url(re.compile(r"\?done=updated"))
    assert_outcome(page, f"Saved \u2013 Request {corrected_request.group(1)}", "Saved; residents following")
    assert f"review #{correct_id} by alice" in page.locator("main").inner_text()
    screenshot(page, "operator-request")
    history = page.locator("section[aria-labelledby=history]").inner_text()
    assert "open → closed" in history
    assert "operator:alice" in history
    closed = _request_json(url, corrected_request.group(1))
    assert closed["status"] == "closed"
    assert closed["agency_responsible"] == "Public Works"
    wait_for_message(url, "res-correct", "Collected by the sanitation crew.")

    # Every action is in the audit log with who and before/after.
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url(re.compile(r"/operator/audit$"))
    audit_text = page.locator("main").inner_text()
    for action in ("review.claim", "review.approve", "review.reject", "request.update", "sign_in"):
        assert action in audit_text
    assert "open → closed" in audit_text

    # A month of earlier requests from every channel, so the dashboard has something to draw.
    now = datetime.now(UTC)
    for day in range(1, 29):
        for n in range(day % 4 + 1):
            channel = ("sms", "telegram", "twitter", "api")[(day + n) % 4]
            service = ("pothole", "graffiti", "streetlight", "street_cleaning", "tree")[(day * 3 + n) % 5]
            file_at(runtime, now - timedelta(days=day, hours=n), service, channel)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(re.compile(r"/operator/dashboard$"))
    assert page.get_by_role("link", name="30 days").get_attribute("aria-current") == "page"
    # The heading is the page's name, as in the title and the navigation.
    assert page.get_by_role("heading", level=1).inner_text().startswith("Dashboard")
    # A chart's text grows with the text size an operator sets (here twice the browser's default).
    axis = page.locator("svg.chart text.axis").first
    before = axis.bounding_box()
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    after = axis.bounding_box()
    assert before is not None
    assert after is not None
    assert after["height"] >= 1.9 * before["height"], (before, after)
    page.evaluate("document.documentElement.style.fontSize = ''")
    # Each "As a table" says which figures it holds.
    tables = [page.locator("summary").nth(i).text_content() for i in range(page.locator("summary").count())]
    assert tables == [
        "As a table: requests per day by channel",
        "As a table: requests per day by service",
        "As a table: open requests by age",
    ]
    assert page.locator("svg.chart").count() >= 4
    assert "median time in the review queue" in page.locator("main").inner_text()
    screenshot(page, "operator-dashboard")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/operator/sign-in\?done=signed-out"))
    assert_outcome(page, "Signed out \u2013 Sign in", "You have signed out.")


def test_two_operators_cannot_hold_the_same_item(deployment: Deployment, open_browser: Any) -> None:
    url = deployment.url
    # A resident sends a photo hosted on another site (as X and app developers host them), then says what
    # and where.
    fetched: list[str] = []
    with live_server(photo_host(fetched)) as photos:
        photo_url = f"{photos}/streetlight.png"
        sent = httpx.post(
            f"{url}/local/messages", json={"from": "res-both", "media_url": photo_url}, timeout=30
        )
        assert sent.status_code == 200, sent.text
        report_as_resident(url, "res-both", "The streetlight is out at 24th St and Mission St")
        item_id = review_item_of(deployment.runtime, "res-both")
        check_claims_and_photo(url, item_id, photo_url, open_browser)
    # The operator's browser never loaded it: that site learns nothing of who opens the report, and cannot
    # point the browser at the city's own network (before, the page showed it as an image from there).
    assert fetched == []


def test_an_operator_moves_a_report_to_the_place_its_resident_corrected(
    deploy: Callable[..., AbstractContextManager[Deployment]], open_browser: Any
) -> None:
    with deploy(**FILING) as deployment:
        url = deployment.url
        # The resident files graffiti at Valencia and 16th, then says it is at 17th.
        number = file_and_correct(url, "res-moved", "no, valencia and 17th")
        item_id = review_item_of(deployment.runtime, "res-moved")

        page = open_browser().new_page()
        sign_in(page, url, "alice", PASSWORDS["alice"])
        # The queue says it is a correction of report #N, from the old place to the new, not a report.
        card = page.locator(f"ol.queue > li[data-item-id='{item_id}']")
        summary = f"Resident corrected the place of report #{number}: from {AT_16TH} to {AT_17TH}"
        assert summary in card.inner_text()
        page.get_by_role("button", name=f"Claim #{item_id}").click()
        page.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading.startswith(f"Review #{item_id}: place correction")
        assert page.get_by_role("heading", name=summary).is_visible()
        assert f"filed at {AT_16TH}" in page.get_by_role("region", name="The report").inner_text()
        assert f"Address: {AT_17TH}" in page.get_by_role("region", name="The new place").inner_text()
        # The move goes to the resident's new place; there is no filing, and nothing to reject.
        assert page.get_by_label("Address or intersection").input_value() == AT_17TH
        assert page.get_by_role("button", name="Approve and file").count() == 0
        assert page.get_by_role("button", name="Reject").count() == 0
        screenshot(page, "operator-place-correction")
        page.get_by_role("button", name=f"Move report #{number} here").click()
        page.wait_for_url(re.compile(r"/operator/\?done=moved"))
        assert_outcome(page, "Moved \u2013 Review queue", "Report moved to the place the resident gave")

        # The API shows the report at its new place, and the resident is told where it is now.
        moved = _request_json(url, number)
        assert moved["address"] == AT_17TH
        assert moved["lat"] == pytest.approx(37.7633, abs=0.002)
        wait_for_message(url, "res-moved", f"its place is now {AT_17TH}")
        # Its page has the move in its history, under the operator's name.
        page.goto(f"{url}/operator/requests/{number}")
        history = page.locator("section[aria-labelledby=history]").inner_text()
        assert f"moved to {AT_17TH}" in history
        assert "operator:alice" in history


def test_an_operator_changes_a_reports_kind_as_its_resident_corrected(
    deploy: Callable[..., AbstractContextManager[Deployment]], open_browser: Any
) -> None:
    # Before: the item was an ordinary report, whose Approve filed a second request (a streetlight) and whose
    # Reject told the resident their report was not filed.
    with deploy(**FILING) as deployment:
        url = deployment.url
        # The resident files a pothole at Mission and 24th, then says it is a broken streetlight.
        number = file_and_correct_kind(url, "res-kind")
        item_id = review_item_of(deployment.runtime, "res-kind")

        page = open_browser().new_page()
        sign_in(page, url, "alice", PASSWORDS["alice"])
        card = page.locator(f"ol.queue > li[data-item-id='{item_id}']")
        summary = f"Resident corrected the kind of report #{number}: from Pothole to Streetlight"
        assert summary in card.inner_text()
        page.get_by_role("button", name=f"Claim #{item_id}").click()
        page.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
        assert (
            page.get_by_role("heading", level=1)
            .inner_text()
            .startswith(f"Review #{item_id}: kind correction")
        )
        assert page.get_by_role("heading", name=summary).is_visible()
        report = page.get_by_role("region", name="The report").inner_text()
        assert f"Report #{number}: Pothole (pothole)" in report
        assert "pothole at Mission and 24th" in report
        assert "Streetlight (streetlight)" in page.get_by_role("region", name="The new kind").inner_text()
        # Change it, or keep it: nothing that files a request or tells the resident it was not filed.
        assert page.get_by_role("button", name="Approve and file").count() == 0
        assert page.get_by_role("button", name="Reject").count() == 0
        assert page.get_by_role("button", name="Keep it as it is").is_visible()
        # The streetlight's questions may be answered on the way.
        page.get_by_label("What is the light doing?").select_option("out")
        screenshot(page, "operator-kind-correction")
        page.get_by_role("button", name=f"Change report #{number} to Streetlight").click()
        page.wait_for_url(re.compile(r"/operator/\?done=changed"))
        assert_outcome(page, "Changed \u2013 Review queue", "Report changed to the kind the resident gave")

        # The API shows report #N as a streetlight, with the answer; the resident is told what it is now.
        changed = _request_json(url, number)
        assert (changed["service_code"], changed["service_name"]) == ("streetlight", "Streetlight")
        public = httpx.get(f"{url}/open311/v2/requests/{number}.json?extensions=true", timeout=10).json()[0]
        assert {"code": "condition", "value": "out"} in public["extended_attributes"]["attributes"]
        wait_for_message(url, "res-kind", f"Update on report #{number}: it is now filed as Streetlight.")
        # Its page has the change in its history, under the operator's name.
        page.goto(f"{url}/operator/requests/{number}")
        history = page.locator("section[aria-labelledby=history]").inner_text()
        assert "service changed to Streetlight" in history
        assert "operator:alice" in history


def check_claims_and_photo(url: str, item_id: int, photo_url: str, open_browser: Any) -> None:
    alice = open_browser().new_page()
    bob = open_browser().new_page()
    bob.set_viewport_size({"width": 390, "height": 844})  # bob works from a phone
    sign_in(alice, url, "alice", PASSWORDS["alice"])
    sign_in(bob, url, "bob", PASSWORDS["bob"])
    # Readable on a phone: nothing wider than the screen, so no sideways scrolling.
    assert bob.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(bob, "operator-queue-phone")
    # Both see the item as free to claim; alice is first, from the keyboard alone.
    assert bob.get_by_role("button", name=f"Claim #{item_id}").is_visible()
    tab_to(alice, "Skip to content")
    tab_to(alice, f"Claim #{item_id}")
    alice.keyboard.press("Enter")
    alice.wait_for_url(re.compile(rf"/operator/queue/{item_id}"))
    bob.get_by_role("button", name=f"Claim #{item_id}").click()
    assert "claimed by alice" in bob.get_by_role("alert").inner_text()
    assert bob.get_by_role("button", name="Approve and file").count() == 0
    bob.goto(f"{url}/operator/")
    assert "Being handled by alice" in bob.locator("main").inner_text()
    # alice sees a link to the resident's photo, on the site it is on; the page loads no image from there.
    host = photo_url.split("/")[2]
    link = alice.get_by_role("link", name=f"Photo 1 on {host} (another site, new tab)")
    assert link.get_attribute("href") == photo_url
    assert alice.locator(".photos img").count() == 0
    # alice puts it back; now bob may take it.
    alice.get_by_role("button", name="Put back in the queue").click()
    alice.wait_for_url(re.compile(r"/operator/\?done=released"))
    bob.reload()
    bob.get_by_role("button", name=f"Claim #{item_id}").click()
    bob.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
    assert bob.get_by_role("button", name="Approve and file").is_visible()


def tab_to(page: Any, text: str, limit: int = 30) -> None:
    """Presses Tab until the focused element's text is ``text`` (keyboard users can reach it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement ? document.activeElement.textContent.trim() : ''")
        if focused == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with the Tab key")


def photo_host(fetched: list[str]) -> Starlette:
    """Another web site holding a resident's photo (a 4x4 PNG), as a provider's media host would; each
    request for it goes into ``fetched``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\xd0\x00" * 4 for _ in range(4))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )

    async def photo(request: Request) -> Response:
        fetched.append(request.headers.get("user-agent", ""))
        return Response(png, media_type="image/png")

    return Starlette(routes=[Route("/streetlight.png", photo)])
