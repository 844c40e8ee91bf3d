"""How the console answers errors, against the served app.

Its pages answer errors as pages in the console's layout (status kept, words for a person, a link back);
a form posted with an expired CSRF token comes back filled in as it was sent; a form posted after signing
out leads to the sign-in form and then back to the page it was on. Its JSON answers ``{"error": ...}``, and
the rest of the app (the Open311 API, the local channel, FastAPI's own 404) keeps its own errors.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from bot.review.models import ReviewItem
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    assert_focus,
    csrf_token,
    enqueue_report,
    file_at,
    screenshot,
    sign_in,
)
from tests.operator.test_console_access import signed_in_client


def queue_report(deployment: Deployment, resident_id: str) -> int:
    return enqueue_report(
        deployment.runtime,
        resident_id=resident_id,
        text="paint cans and a sofa dumped by the church",
        suggestions=[
            {"service_code": "graffiti", "confidence": 0.44},
            {"service_code": "illegal_dumping", "confidence": 0.31},
        ],
        address_string="VALENCIA ST & 16TH ST",
        lat=37.76502,
        long=-122.42196,
    )


def assert_console_page(
    answer: httpx.Response, status: int, *words: str, signed_in: bool = True, error_page: bool = True
) -> str:
    """An HTML page in the console's layout (header, navigation when signed in; an error page has a link
    back) that says ``words``; returns its text."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    html = answer.text
    assert "311 operator console</a>" in html
    assert ('aria-label="Console"' in html) is signed_in
    if error_page:
        assert re.search(r'<a href="/operator/[^"]*">(Back to|Go back)', html), "no link back"
        # Read first by a screen reader on arrival (WCAG 3.3.1), as on a refused form.
        assert re.search(r"<title>Error: [^<]+ · 311 operator console</title>", html), "title"
    for word in words:
        assert word in html, (word, html)
    assert '{"detail"' not in html, "a developer's message reached the page"
    assert "isoformat" not in html, "a developer's message reached the page"
    return html


def test_page_errors_are_console_pages_and_json_errors_stay_json(deployment: Deployment) -> None:
    url = deployment.url
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])

    missing = assert_console_page(client.get("/operator/queue/999"), 404, "There is no review item 999.")
    assert 'href="/operator/">Back to Review queue' in missing
    assert_console_page(client.get("/operator/requests/999"), 404, "There is no request 999.")
    period = assert_console_page(
        client.get("/operator/dashboard", params={"days": 5}), 400, "Days must be one of 7, 30, 90, 365."
    )
    assert 'href="/operator/dashboard">Back to Dashboard' in period
    # Which filter, by its label, and the format it expects: not Python's message.
    bad_date = assert_console_page(
        client.get("/operator/requests", params={"start": "notadate"}), 400, "“From” must be a date"
    )
    assert re.search(r"“From” must be a date like \d{4}-\d\d-\d\d\.", bad_date)
    assert_console_page(client.get("/operator/requests", params={"end": "31/12"}), 400, "“To” must be")
    assert_console_page(client.get("/operator/requests", params={"page": "two"}), 400, "Page must be a whole")
    # Digits that are not ASCII ("²".isdigit() is true) or too long for a database's integer.
    for params in ({"q": "²"}, {"q": "9" * 30}, {"q": "12"}):
        assert client.get("/operator/requests", params=params).status_code == 200, params
    assert_console_page(client.get("/operator/requests", params={"page": "²"}), 400, "Page must be a whole")
    assert_console_page(client.get("/operator/requests/²"), 404, "There is no request ²")
    assert_console_page(client.get("/operator/requests/" + "9" * 30), 404, "There is no request 999")
    assert_console_page(client.get("/operator/dashboard", params={"days": "²"}), 400, "Days must be one of")
    # Addresses that name nothing, and a form's address opened as a page.
    assert_console_page(
        client.get("/operator/nothing-here"), 404, "There is no console page at this address."
    )
    assert_console_page(client.get("/operator/queue/abc"), 404, "There is no console page")
    assert_console_page(client.get("/operator/queue/1/claim"), 405, "does not take that kind of request")
    # Signed out: still the console's page, without the navigation.
    anonymous = httpx.Client(base_url=url, timeout=10)
    assert_console_page(
        anonymous.get("/operator/nothing-here"), 404, "There is no console page", signed_in=False
    )

    # The JSON API: {"error": ...} for every error, whoever raised it.
    for path, status, error in [
        ("/operator/api/queue/999", 404, "there is no review item 999"),
        ("/operator/api/dashboard?days=5", 400, "days must be one of 7, 30, 90, 365"),
        ("/operator/api/requests?start=notadate", 400, "start must be a date like "),
        ("/operator/api/nothing-here", 404, "there is no console page at this address"),
        ("/operator/api/queue/abc", 404, "there is no console page at this address"),
    ]:
        answer = client.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert answer.headers["content-type"] == "application/json", path
        assert set(answer.json()) == {"error"}, (path, answer.json())
        assert answer.json()["error"].startswith(error), (path, answer.json())
    forged = client.post("/operator/api/queue/1/claim", headers={"X-CSRF-Token": "stale"})
    assert (forged.status_code, set(forged.json())) == (403, {"error"})
    bad_body = client.post("/operator/api/queue/1/reject", content=b"{", headers={"X-CSRF-Token": csrf})
    assert (bad_body.status_code, bad_body.json()) == (400, {"error": "the body is not JSON"})
    assert anonymous.get("/operator/api/queue").json() == {"error": "sign in first"}
    assert anonymous.post("/operator/api/queue/1/claim").status_code == 401

    # Everything else keeps its own errors.
    open311 = anonymous.get("/open311/v2/nothing.json")
    assert open311.status_code == 404
    assert open311.json() == [{"code": 404, "description": "no such resource (paths end in .xml or .json)"}]
    xml = anonymous.get("/open311/v2/requests/999999.xml")
    assert xml.status_code == 404
    assert xml.text.startswith("<?xml")
    assert anonymous.get("/nothing-here").json() == {"detail": "Not Found"}
    local = anonymous.post(
        "/local/messages", content=b"not json", headers={"content-type": "application/json"}
    )
    assert local.status_code in (400, 422)
    assert "error" in local.json()


@contextlib.contextmanager
def table_gone(deployment: Deployment, table: str) -> Iterator[None]:
    """A real fault of ours: a table the page reads is not there (a migration half-run, a restore gone
    wrong), then back as it was."""
    with deployment.runtime.sessions() as session:
        session.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        session.commit()
    try:
        yield
    finally:
        with deployment.runtime.sessions() as session:
            session.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
            session.commit()


def test_a_fault_of_ours_is_still_an_answer_each_side_can_read(deployment: Deployment) -> None:
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    anonymous = httpx.Client(base_url=deployment.url, timeout=10)
    with table_gone(deployment, "review_item"):
        page = assert_console_page(client.get("/operator/"), 500, "nothing was changed, try again")
        assert "Traceback" not in page
        assert "review_item" not in page
        answer = client.get("/operator/api/queue")
        assert (answer.status_code, answer.headers["content-type"]) == (500, "application/json")
        assert set(answer.json()) == {"error"}
    with table_gone(deployment, "service_requests"):
        # A GeoReport client parses the spec's error list, in the format it asked for.
        as_json = anonymous.get("/open311/v2/requests.json")
        assert as_json.status_code == 500
        assert as_json.json() == [
            {"code": 500, "description": "the server could not answer; try again later"}
        ]
        as_xml = anonymous.get("/open311/v2/requests.xml")
        assert as_xml.status_code == 500
        assert as_xml.text.startswith("<?xml")
        assert "<code>500</code>" in as_xml.text
        assert "service_requests" not in as_xml.text
    # Back to normal once the fault is gone.
    assert client.get("/operator/").status_code == 200
    assert anonymous.get("/open311/v2/requests.json").status_code == 200


def test_an_expired_form_comes_back_filled_in_and_a_signed_out_form_leads_back(
    deployment: Deployment,
) -> None:
    url = deployment.url
    item_id = queue_report(deployment, "res-stale")
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    # The page was loaded under an earlier session's token: nothing is filed, and the approve form comes
    # back as it was sent, with this session's token, saying why.
    entered = {
        "csrf_token": "from-an-earlier-session",
        "service_code": "illegal_dumping",
        "address_string": "3321 16TH ST",
        "lat": "37.76431",
        "long": "-122.42310",
        "details_for": "illegal_dumping",
    }
    stale = client.post(f"/operator/queue/{item_id}/approve", data=entered)
    html = assert_console_page(stale, 403, "This form had expired", "submit it again", error_page=False)
    assert csrf_token(html) == csrf
    assert 'value="3321 16TH ST"' in html
    assert 'value="37.76431"' in html
    assert 'value="-122.42310"' in html
    assert re.search(r'value="illegal_dumping"[^>]*checked', html)
    rejected = client.post(
        f"/operator/queue/{item_id}/reject", data={"csrf_token": "old", "reason": "a duplicate of #12"}
    )
    assert "a duplicate of #12</textarea>" in assert_console_page(
        rejected, 403, "This form had expired", error_page=False
    )
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == "claimed"
    request_id = file_at(deployment.runtime, datetime.now(UTC), "graffiti", "api")
    change = {"csrf_token": "old", "status": "closed", "status_notes": "painted over on Tuesday"}
    stale_change = client.post(f"/operator/requests/{request_id}/status", data=change)
    changed = assert_console_page(stale_change, 403, "This form had expired", error_page=False)
    assert "painted over on Tuesday</textarea>" in changed
    assert re.search(r'<option value="closed" selected>', changed)
    # Where the form's page cannot be shown, an error page says the same (403 first, not 404).
    nowhere = client.post("/operator/requests/999/status", data={"csrf_token": "old", "status": "closed"})
    assert_console_page(nowhere, 403, "This form had expired")
    sign_out = assert_console_page(
        client.post("/operator/sign-out", data={"csrf_token": "old"}), 403, "expired"
    )
    assert csrf_token(sign_out) == csrf

    # Signed out, a form leads to sign-in, then to the page it was on (not to its action).
    anonymous = httpx.Client(base_url=url, timeout=10)
    for action, referer, page in [
        (
            f"/operator/queue/{item_id}/claim",
            f"{url}/operator/queue/{item_id}?done=x",
            f"/operator/queue/{item_id}",
        ),
        (f"/operator/queue/{item_id}/claim", f"{url}/operator/", "/operator/"),
        (f"/operator/queue/{item_id}/approve", None, f"/operator/queue/{item_id}"),
        (f"/operator/requests/{request_id}/status", None, f"/operator/requests/{request_id}"),
        ("/operator/batch/abc/accept", None, "/operator/batch"),
        ("/operator/sign-out", "https://elsewhere.example/operator/x", "/operator/"),
    ]:
        headers = {"referer": referer} if referer else {}
        answer = anonymous.post(action, data={"csrf_token": "x"}, headers=headers)
        assert answer.status_code == 303, action
        location = urlsplit(answer.headers["location"])
        assert location.path == "/operator/sign-in"
        # The Referer's page when it is this console's (another site's is ignored), else the form's page.
        assert parse_qs(location.query) == {"next": [page], "done": ["form-not-sent"]}, action
    signed_out = anonymous.get(f"/operator/sign-in?next=/operator/queue/{item_id}&done=form-not-sent")
    assert "You were signed out, so that form was not saved" in signed_out.text


@pytest.mark.browser
@pytest.mark.slow
def test_a_form_from_before_signing_in_again_comes_back_with_the_notes(
    deployment: Deployment, open_browser: Any
) -> None:
    url = deployment.url
    request_id = file_at(deployment.runtime, datetime.now(UTC), "graffiti", "api")
    browser = open_browser()
    tab1, tab2 = browser.new_page(), browser.new_page()
    sign_in(tab1, url, "alice", PASSWORDS["alice"])
    tab1.goto(f"{url}/operator/requests/{request_id}")
    # In another tab alice signs out and in again: tab 1's form holds the old session's token.
    tab2.goto(f"{url}/operator/")
    tab2.get_by_role("button", name="Sign out").click()
    tab2.wait_for_url(re.compile(r"/operator/sign-in"))
    sign_in(tab2, url, "alice", PASSWORDS["alice"])

    tab1.get_by_label("Status", exact=True).select_option("closed")
    tab1.get_by_label("Status notes").fill("Painted over by the graffiti crew on Tuesday")
    tab1.get_by_role("button", name="Save and notify").click()
    # Same page, in the layout, saying the form expired; what alice typed is still there.
    assert "This form had expired" in tab1.get_by_role("alert").inner_text()
    assert tab1.get_by_role("navigation", name="Console").is_visible()
    assert tab1.get_by_label("Status notes").input_value() == "Painted over by the graffiti crew on Tuesday"
    assert tab1.get_by_label("Status", exact=True).input_value() == "closed"
    screenshot(tab1, "operator-form-expired")
    # Submitting again saves it.
    tab1.get_by_role("button", name="Save and notify").click()
    tab1.wait_for_url(re.compile(rf"/operator/requests/{request_id}\?done=updated"))
    answer = httpx.get(f"{url}/open311/v2/requests/{request_id}.json", timeout=10).json()[0]
    assert (answer["status"], answer["status_notes"]) == (
        "closed",
        "Painted over by the graffiti crew on Tuesday",
    )


@pytest.mark.browser
@pytest.mark.slow
def test_a_form_sent_after_signing_out_comes_back_filled_in_once_signed_in(
    deployment: Deployment, open_browser: Any
) -> None:
    url = deployment.url
    request_id = file_at(deployment.runtime, datetime.now(UTC), "graffiti", "api")
    browser = open_browser()
    tab1, tab2 = browser.new_page(), browser.new_page()
    sign_in(tab1, url, "alice", PASSWORDS["alice"])
    tab1.goto(f"{url}/operator/requests/{request_id}")
    # In another tab alice signs out (or her session ended while she wrote).
    tab2.goto(f"{url}/operator/")
    tab2.get_by_role("button", name="Sign out").click()
    tab2.wait_for_url(re.compile(r"/operator/sign-in"))

    notes = "Painted over by the graffiti crew on Tuesday;\nthe wall needs a second coat"
    tab1.get_by_label("Status", exact=True).select_option("closed")
    tab1.get_by_label(re.compile("Status notes")).fill(notes)
    tab1.get_by_role("button", name="Save and notify").click()
    # Nothing saved: the sign-in form says so, and what she wrote goes along with it.
    assert "that form was not saved" in tab1.get_by_role("alert").inner_text()
    assert_focus(tab1, "error-summary")
    tab1.get_by_label("Operator name").fill("alice")
    tab1.get_by_label("Password").fill("not her password")
    tab1.get_by_role("button", name="Sign in").click()
    assert "That name and password do not match" in tab1.get_by_role("alert").inner_text()
    tab1.get_by_label("Password").fill(PASSWORDS["alice"])
    tab1.get_by_role("button", name="Sign in").click()
    # Signed in: the request's form as she filled it in, saying it was not saved yet.
    assert "Here it is as you filled it in" in tab1.get_by_role("alert").inner_text()
    assert tab1.get_by_label(re.compile("Status notes")).input_value() == notes
    assert tab1.get_by_label("Status", exact=True).input_value() == "closed"
    answer = httpx.get(f"{url}/open311/v2/requests/{request_id}.json", timeout=10).json()[0]
    assert answer["status"] == "open"
    tab1.get_by_role("button", name="Save and notify").click()
    tab1.wait_for_url(re.compile(rf"/operator/requests/{request_id}\?done=updated"))
    answer = httpx.get(f"{url}/open311/v2/requests/{request_id}.json", timeout=10).json()[0]
    # (A browser sends a text area's line breaks as CRLF, as on any save.)
    assert (answer["status"], answer["status_notes"].replace("\r\n", "\n")) == ("closed", notes)


@pytest.mark.browser
@pytest.mark.slow
def test_claiming_after_signing_out_elsewhere_leads_back_to_the_item(
    deployment: Deployment, open_browser: Any
) -> None:
    url = deployment.url
    item_id = queue_report(deployment, "res-signed-out")
    browser = open_browser()
    tab1, tab2 = browser.new_page(), browser.new_page()
    sign_in(tab1, url, "alice", PASSWORDS["alice"])
    tab1.goto(f"{url}/operator/queue/{item_id}")
    tab2.goto(f"{url}/operator/")
    tab2.get_by_role("button", name="Sign out").click()
    tab2.wait_for_url(re.compile(r"/operator/sign-in"))

    tab1.get_by_role("button", name=f"Claim #{item_id}").click()
    tab1.wait_for_url(re.compile(r"/operator/sign-in\?"))
    assert parse_qs(urlsplit(tab1.url).query)["next"] == [f"/operator/queue/{item_id}"]
    assert "that form was not saved" in tab1.get_by_role("alert").inner_text()
    tab1.get_by_label("Operator name").fill("alice")
    tab1.get_by_label("Password").fill(PASSWORDS["alice"])
    tab1.get_by_role("button", name="Sign in").click()
    tab1.wait_for_url(f"{url}/operator/queue/{item_id}")
    tab1.get_by_role("button", name=f"Claim #{item_id}").click()
    tab1.wait_for_url(re.compile(rf"/operator/queue/{item_id}\?done=claimed"))
    assert tab1.get_by_role("button", name="Approve and file").is_visible()

    # An address that names nothing: a page in the layout, with the way back.
    answer = tab1.goto(f"{url}/operator/queue/999")
    assert answer is not None
    assert answer.status == 404
    assert tab1.get_by_role("heading", name="Not Found").is_visible()
    assert "There is no review item 999." in tab1.get_by_role("alert").inner_text()
    screenshot(tab1, "operator-not-found")
    tab1.get_by_role("link", name="Back to Review queue").click()
    tab1.wait_for_url(f"{url}/operator/")


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
WORDS = "Sofa and paint cans on the sidewalk by the church"


def lapsed_decision(deployment: Deployment, resident_id: str) -> tuple[httpx.Client, int, dict[str, str]]:
    """alice claims an item, fills in its decision, and sends it once her claim has lapsed: the client, the
    item, and the form she sent."""
    item_id = queue_report(deployment, resident_id)
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    time.sleep(1.0)  # the claim (0.6 s here) lapses while she writes
    form = {
        "csrf_token": csrf,
        "service_code": "illegal_dumping",
        "other_service_code": "",
        "address_string": "VALENCIA ST & 16TH ST",
        "lat": "37.76502",
        "long": "-122.42196",
        "description": WORDS,
    }
    return client, item_id, form


def assert_filled_in(html: str) -> None:
    assert f"{WORDS}</textarea>" in html, html
    assert re.search(r'value="illegal_dumping"\s*checked', html), html


def test_a_form_sent_after_the_session_and_the_claim_lapsed_comes_back_claimed_and_filled_in(
    deploy: Any,
) -> None:
    with deploy(operator={"claim_minutes": 0.01}) as deployment:
        client, item_id, form = lapsed_decision(deployment, "res-lapsed")
        assert client.post("/operator/sign-out", data={"csrf_token": form["csrf_token"]}).status_code == 303
        # Sent from the item's page (a browser says where from), after the session ended.
        origin = {"Origin": deployment.url}
        refused = client.post(f"/operator/queue/{item_id}/approve", data=form, headers=origin)
        assert refused.status_code == 403, refused.text
        carried = {name: unescape(value) for name, value in HIDDEN.findall(refused.text)}
        back = client.post(
            "/operator/sign-in", data={**carried, "name": "alice", "password": PASSWORDS["alice"]}
        )
        assert back.status_code == 200, back.text
        assert "Here it is as you filled it in" in back.text
        # Claimed for her again, the decision form as she filled it in (not only a Claim button).
        assert "Approve and file" in back.text
        assert_filled_in(back.text)
        again = client.post(
            f"/operator/queue/{item_id}/approve", data={**form, "csrf_token": csrf_token(back.text)}
        )
        assert again.status_code == 303, again.text
        with deployment.runtime.sessions() as session:
            item = session.get(ReviewItem, item_id)
            assert item is not None
            assert (item.status, item.service_code, item.decided_by) == (
                "approved",
                "illegal_dumping",
                "alice",
            )


def test_a_decision_on_an_item_someone_else_took_over_keeps_what_was_written_to_copy(deploy: Any) -> None:
    with deploy(operator={"claim_minutes": 0.01}) as deployment:
        client, item_id, form = lapsed_decision(deployment, "res-taken")
        bob, bobs_csrf = signed_in_client(deployment.url, "bob", PASSWORDS["bob"])
        assert bob.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": bobs_csrf}).status_code == 303
        refused = client.post(f"/operator/queue/{item_id}/approve", data=form)
        assert refused.status_code == 409, refused.text
        # Why, in words about her claim: it lapsed, and who holds the item now.
        assert "Your claim on this item had lapsed" in refused.text, refused.text
        assert "bob claimed it at " in refused.text, refused.text
        assert "bob is handling this item" in refused.text
        # Not saved, but not lost: her words and place are on the page to copy.
        assert f"{WORDS}</textarea>" in refused.text
        assert "Address: VALENCIA ST &amp; 16TH ST" in refused.text
