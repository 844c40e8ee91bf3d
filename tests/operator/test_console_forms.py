"""The item page's decision form in a real browser: the service that is filed is the one the operator
chose (two chosen at once are refused, never one silently dropped), and a form refused for a mistake comes
back as the operator filled it in."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.review.models import ReviewItem
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    assert_focus,
    enqueue_report,
    file_at,
    sign_in,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUGGESTIONS = [
    {"service_code": "graffiti", "confidence": 0.44},
    {"service_code": "illegal_dumping", "confidence": 0.31},
]


def queue_report(deployment: Deployment, resident_id: str) -> int:
    return enqueue_report(
        deployment.runtime,
        resident_id=resident_id,
        text="paint cans and a sofa dumped by the church",
        suggestions=SUGGESTIONS,
        address_string="VALENCIA ST & 16TH ST",
        lat=37.76502,
        long=-122.42196,
    )


def claimed_item_page(deployment: Deployment, open_browser: Any, item_id: int) -> Any:
    page = open_browser().new_page()
    sign_in(page, deployment.url, "alice", PASSWORDS["alice"])
    page.goto(f"{deployment.url}/operator/queue/{item_id}")
    page.get_by_role("button", name=f"Claim #{item_id}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
    return page


def filed_service(url: str, resident_id: str) -> str:
    told = wait_for_message(url, resident_id, "filed as #")
    found = re.search(r"#(\d+)", told)
    assert found is not None
    answer = httpx.get(f"{url}/open311/v2/requests/{found.group(1)}.json", timeout=10)
    return str(answer.json()[0]["service_code"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_service_chosen_in_the_list_is_never_silently_ignored(
    deployment: Deployment, open_browser: Any
) -> None:
    item_id = queue_report(deployment, "res-radio")
    page = claimed_item_page(deployment, open_browser, item_id)
    # "Another service" checked but nothing chosen from the list: refused, not filed as the bot's guess.
    page.get_by_label("Another service:").check()
    page.get_by_role("button", name="Approve and file").click()
    assert "choose a service" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Approve and file").is_visible()

    # From the keyboard: Tab from the pre-checked suggestion goes to the list (past "Another service",
    # a radio of the same group), and a service is picked there. Two services are chosen: nothing is
    # filed, the page asks which one, and keeps both as they were.
    page.goto(f"{deployment.url}/operator/queue/{item_id}")
    page.locator("input[name=service_code][value=graffiti]").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "other_service"
    assert page.locator("#other_service").input_value() == ""  # the list starts at "choose"
    page.locator("#other_service").select_option("tree")
    page.get_by_role("button", name="Approve and file").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Two services are chosen" in alert
    assert "nothing was filed" in alert
    assert page.locator("input[name=service_code][value=graffiti]").is_checked()
    assert page.locator("#other_service").input_value() == "tree"
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == "claimed"
    # The list back at "choose": the checked radio decides.
    page.locator("#other_service").select_option("")
    page.get_by_label(re.compile(r"Illegal Dumping")).check()
    page.get_by_role("button", name="Approve and file").click()
    page.wait_for_url(re.compile(r"/operator/\?done=approved"))
    assert filed_service(deployment.url, "res-radio") == "illegal_dumping"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_form_comes_back_as_the_operator_filled_it(
    deployment: Deployment, open_browser: Any
) -> None:
    item_id = queue_report(deployment, "res-kept")
    page = claimed_item_page(deployment, open_browser, item_id)
    page.get_by_label("Another service:").check()
    page.locator("#other_service").select_option("tree")
    page.get_by_label("Address or intersection").fill("MISSION ST & 24TH ST")
    page.get_by_label("Latitude").fill("abc")
    page.get_by_label("Longitude").fill("-122.41")
    page.get_by_role("button", name="Approve and file").click()
    # The refusal is said first: in the title, and in a summary at the top, where the focus is.
    assert page.title().startswith("Error: Review #")
    assert_focus(page, "error-summary")
    assert "Latitude must be a number, like 37.7749." in page.get_by_role("alert").inner_text()
    # The message stands next to the field, tied to it; the summary's link leads there.
    assert_problem(page, "lat", "Latitude must be a number, like 37.7749.")
    assert page.locator("#long").get_attribute("aria-invalid") is None
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "lat"
    assert page.get_by_label("Another service:").is_checked()
    assert page.locator("#other_service").input_value() == "tree"
    assert page.get_by_label("Address or intersection").input_value() == "MISSION ST & 24TH ST"
    assert page.get_by_label("Latitude").input_value() == "abc"
    assert page.get_by_label("Longitude").input_value() == "-122.41"

    # An address nowhere on the map (409): the operator's choice and words stay too.
    page.locator("#other_service").select_option("")
    page.get_by_label(re.compile(r"Illegal Dumping")).check()
    page.get_by_label("Address or intersection").fill("zzqx nowhere blvd")
    page.get_by_label("Latitude").fill("")
    page.get_by_label("Longitude").fill("")
    page.get_by_role("button", name="Approve and file").click()
    assert "No place called 'zzqx nowhere blvd' was found" in page.get_by_role("alert").inner_text()
    assert_problem(page, "address_string", "No place called 'zzqx nowhere blvd' was found; give its")
    assert page.get_by_label(re.compile(r"Illegal Dumping")).is_checked()
    assert page.get_by_label("Address or intersection").input_value() == "zzqx nowhere blvd"
    assert page.get_by_label("Latitude").input_value() == ""

    # Fixed and sent again: filed as the operator chose, where they said.
    page.get_by_label("Latitude").fill("37.7524")
    page.get_by_label("Longitude").fill("-122.4184")
    page.get_by_label("Address or intersection").fill("MISSION ST & 24TH ST")
    page.get_by_role("button", name="Approve and file").click()
    page.wait_for_url(re.compile(r"/operator/\?done=approved"))
    assert filed_service(deployment.url, "res-kept") == "illegal_dumping"


def assert_problem(page: Any, field_id: str, message: str) -> None:
    """The field is marked as refused, and described by the message shown next to it."""
    control = page.locator(f"#{field_id}")
    assert control.get_attribute("aria-invalid") == "true"
    assert control.get_attribute("aria-describedby") == f"{field_id}-error"
    assert message in page.locator(f"#{field_id}-error").inner_text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refusal_names_the_field_by_its_label_next_to_it(deployment: Deployment, open_browser: Any) -> None:
    url = deployment.url
    browser = open_browser()
    # Sign-in: the focus goes to what went wrong, not past it to the name field.
    page = browser.new_page()
    page.goto(f"{url}/operator/sign-in")
    assert_focus(page, "name")
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    assert page.title().startswith("Error: Sign in")
    assert_focus(page, "error-summary")
    assert_problem(page, "password", "That name and password do not match.")
    page.get_by_label("Password").fill(PASSWORDS["alice"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/operator/")

    # A request's expected date that is not a date (typed where the browser offers no date picker).
    request_id = file_at(deployment.runtime, datetime.now(UTC), "graffiti", "api")
    page.goto(f"{url}/operator/requests/{request_id}")
    page.get_by_label(re.compile("Status notes")).fill("crew booked")
    page.locator("#expected_datetime").evaluate("field => field.type = 'text'")
    page.locator("#expected_datetime").fill("next tuesday")
    page.get_by_role("button", name="Save and notify").click()
    assert page.title().startswith("Error: Request ")
    assert_focus(page, "error-summary")
    assert_problem(page, "expected_datetime", "Expected by must be a date and time, like 2026-11-27 09:30.")
    assert page.get_by_label(re.compile("Status notes")).input_value() == "crew booked"

    # A service's question answered wrongly: named by its label, not attribute[item_count].
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-count",
        text="a sofa and a mattress dumped by the church",
        suggestions=[{"service_code": "illegal_dumping", "confidence": 0.5}],
        address_string="VALENCIA ST & 16TH ST",
        lat=37.76502,
        long=-122.42196,
    )
    page.goto(f"{url}/operator/queue/{item_id}")
    page.get_by_role("button", name=f"Claim #{item_id}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
    page.get_by_label("About how many items are there?").fill("a few")
    page.get_by_role("button", name="Approve and file").click()
    summary = page.get_by_role("alert").inner_text()
    assert "attribute[" not in summary
    assert "“About how many items are there?” must be a plain decimal number" in summary
    assert_focus(page, "error-summary")
    assert_problem(page, "attr-item_count", "“About how many items are there?” must be a plain")
    assert page.get_by_label("About how many items are there?").input_value() == "a few"


# Words in table cells that the layout broke across lines ("ali/ce", a date one digit per line): each word's
# text as laid out takes more than one line box. A word is what lies between spaces and hyphens (a break
# after a hyphen is a proper one); visually hidden text (a button's name) is left out.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('.table-wrap td, .table-wrap th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.visually-hidden')) continue;
      for (const word of node.data.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const boxes = [...range.getClientRects()].filter(r => r.width > 0);
        const lines = new Set(boxes.map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_pages_fit_a_small_phone(
    deploy: Callable[..., AbstractContextManager[Deployment]], open_browser: Any
) -> None:
    with deploy(open311={"batch_acceptance": "operator"}) as deployment:
        check_the_pages_fit_a_small_phone(deployment, open_browser)


def check_the_pages_fit_a_small_phone(deployment: Deployment, open_browser: Any) -> None:
    url, runtime = deployment.url, deployment.runtime
    long_address = (
        "1234 SOUTH VAN NESS AVENUE AT THE CORNER OF CESAR CHAVEZ STREET, SAN FRANCISCO, CALIFORNIA"
    )
    item_id = enqueue_report(
        runtime,
        resident_id="res-phone",
        text="Graffiti-on-the-whole-wall-of-the-building-next-to-the-laundromat-and-the-bakery",
        suggestions=SUGGESTIONS,
        location_text=long_address,
        address_string=long_address,
        lat=37.74818,
        long=-122.41793,
    )
    page = claimed_item_page(deployment, open_browser, item_id)
    page.get_by_role("button", name="Approve and file").click()
    page.wait_for_url(re.compile(r"/operator/\?done=approved"))
    told = wait_for_message(url, "res-phone", "filed as #")
    found = re.search(r"#(\d+)", told)
    assert found is not None
    request_id = found.group(1)
    # Something in every table: the request's history, a rejection, a batch submission waiting.
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    changed = client.post(
        f"/operator/api/requests/{request_id}/status",
        json={"status_notes": "Painted over by the crew from the northeast yard"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    rejected = queue_report(deployment, "res-phone-3")
    refusal = {"reason": "A duplicate of the report made at Valencia and 16th this morning"}
    assert client.post(f"/operator/api/queue/{rejected}/reject", json=refusal, headers=headers).is_success
    batch = enqueue_report(
        runtime,
        resident_id="res-phone-4",
        text="they skipped our recycling again",
        suggestions=[{"service_code": "missed_collection", "confidence": 0.5}],
        address_string="300 HOWARD ST",
    )
    assert client.post(f"/operator/api/queue/{batch}/approve", json={}, headers=headers).is_success

    tables = ["/operator/", "/operator/requests", "/operator/audit", "/operator/batch", "/operator/dashboard"]
    with_map = [f"/operator/queue/{item_id}", f"/operator/requests/{request_id}"]
    for width in (320, 360, 640):
        page.set_viewport_size({"width": width, "height": 780})
        for path in [*with_map, *tables]:
            page.goto(url + path)
            # Nothing wider than the screen: the page itself never scrolls sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, path)
            # Tables scroll inside their frame instead, and no word in them is broken across lines.
            assert page.evaluate(BROKEN_WORDS) == [], (width, path)
            if path in with_map:
                link = page.get_by_role("link", name=re.compile("OpenStreetMap")).bounding_box()
                assert link is not None
                assert link["x"] + link["width"] <= width, (width, path)

    # A table wider than the phone is a region the keyboard reaches and scrolls.
    page.set_viewport_size({"width": 320, "height": 780})
    page.goto(f"{url}/operator/audit")
    frame = page.get_by_role("region", name="Audit log entries")
    assert frame.evaluate("frame => frame.scrollWidth > frame.clientWidth")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Audit log entries":
            break
    else:
        raise AssertionError("the audit log's table cannot be reached with the Tab key")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")

    # A claimed item's decision form too.
    other = queue_report(deployment, "res-phone-2")
    page.goto(f"{url}/operator/queue/{other}")
    page.get_by_role("button", name=f"Claim #{other}").click()
    page.wait_for_url(re.compile(rf"/operator/queue/{other}\?done=claimed"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
