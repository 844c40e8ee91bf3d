"""Several operators editing one request, over real HTTP on SQLite and PostgreSQL, as a black-box tester met
it with three operators: a save from a page opened earlier wrote back every field the page showed, undoing a
colleague's changes (a privacy edit of the published description, their notes and agency). Now the form
carries what it showed: only what its operator changed is applied, and a field a colleague changed meanwhile
is refused (409) with both values shown. A status change alone tells residents the status (not the notes and
expected date they were already told), closing clears the notes and the expected date, and a date before
today is refused.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from tests.operator.support import (
    PASSWORDS,
    Deployment,
    file_at,
    report_as_resident,
    resident_messages,
    screenshot,
    sign_in,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_console_changes import audit_actions, stored
from tests.operator.test_published_words import published


class ChangeForm(HTMLParser):
    """The fields the request page's change form sends when its Save button is pressed, as a browser sends
    them: every input's value (hidden ones too), every textarea's text, every select's chosen option."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and found.get("action", "").endswith("/status"):
            self._in_form = True
        if not self._in_form:
            return
        name = found.get("name", "")
        if tag == "input" and name and found.get("type") not in ("submit", "button"):
            self.fields[name] = found.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select":
            self._select = name
        elif (
            tag == "option"
            and self._select is not None
            and (self._select not in self.fields or "selected" in found)
        ):
            self.fields[self._select] = found.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the newline that opens a textarea's text.
            self.fields[self._textarea] = self.fields[self._textarea].removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_of(html: str) -> dict[str, str]:
    parser = ChangeForm()
    parser.feed(html)
    assert "status" in parser.fields, "the page has no change form"
    return parser.fields


def open_page(client: httpx.Client, request_id: str) -> dict[str, str]:
    """The request's change form as the operator's browser got it."""
    page = client.get(f"/operator/requests/{request_id}")
    assert page.status_code == 200, page.text
    return form_of(page.text)


def save(client: httpx.Client, request_id: str, form: dict[str, str]) -> httpx.Response:
    return client.post(f"/operator/requests/{request_id}/status", data=form)


def test_a_page_opened_earlier_saves_only_what_its_operator_changed(deployment: Deployment) -> None:
    url = deployment.url
    alice, alice_csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    bob, _ = signed_in_client(url, "bob", PASSWORDS["bob"])

    # Request 12's case: alice takes a plate number and a phone out of the published words, while bob, on
    # the page he opened before, adds a status note.
    request_id = file_at(deployment.runtime, datetime.now(UTC), "abandoned_vehicle", "api")
    words = "Blue sedan parked on the sidewalk for weeks, plate 7ABC123, call me 415-555-0134"
    set_words = alice.post(
        f"/operator/api/requests/{request_id}/status",
        json={"description": words},
        headers={"X-CSRF-Token": alice_csrf},
    )
    assert set_words.status_code == 200, set_words.text
    alices, bobs = open_page(alice, request_id), open_page(bob, request_id)
    cleaned = save(
        alice, request_id, {**alices, "description": "Blue sedan parked on the sidewalk for weeks"}
    )
    assert cleaned.status_code == 303, cleaned.text
    assert published(deployment, request_id)["description"] == "Blue sedan parked on the sidewalk for weeks"
    saved = save(bob, request_id, {**bobs, "status_notes": "Parking enforcement notified"})
    assert saved.status_code == 303, saved.text
    now = published(deployment, request_id)
    # Before: "... plate 7ABC123, call me [phone]" again.
    assert now["description"] == "Blue sedan parked on the sidewalk for weeks"
    assert now["status_notes"] == "Parking enforcement notified"

    # Request 7's case: alice saves a note and an agency; bob, on his older page, only closes it.
    request_id = file_at(deployment.runtime, datetime.now(UTC), "encampment", "api")
    [followed] = report_as_resident(url, "res-7", f"FOLLOW {request_id}")
    assert f"#{request_id}" in followed
    alices, bobs = open_page(alice, request_id), open_page(bob, request_id)
    note = "Outreach team visiting at 2pm today."
    noted = save(
        alice, request_id, {**alices, "status_notes": note, "agency_responsible": "HSH Outreach Team B"}
    )
    assert noted.status_code == 303, noted.text
    wait_for_message(url, "res-7", note)
    closed = save(bob, request_id, {**bobs, "status": "closed"})
    assert closed.status_code == 303, closed.text
    now = published(deployment, request_id)
    # Before: the agency put back. The notes go with the closing: a closed request read "Outreach team
    # visiting at 2pm today." (test_closing_clears_notes).
    assert (now["status"], now["status_notes"], now["agency_responsible"]) == (
        "closed",
        None,
        "HSH Outreach Team B",
    )
    [bobs_change] = [entry for entry in audit_actions(deployment, "request.update") if entry.actor == "bob"][
        -1:
    ]
    # Before: "agency_responsible, status, status_notes" (the agency his page showed, put back). Closing
    # clears no expected date here: it had none.
    assert changed(bobs_change) == ["status", "status_notes"]
    told = wait_for_message(url, "res-7", "it is now closed")
    # The note was news when alice wrote it, and the resident was told then.
    assert told == closed_update(request_id, "Encampment or Person in Need")


def closed_update(request_id: str, service: str) -> str:
    """A status update that says the request was closed, and nothing more."""
    stop = f"Reply UNFOLLOW {request_id} to stop these updates."
    return f"Update on report #{request_id} ({service}): it is now closed. {stop}"


def changed(entry: Any) -> list[str]:
    before, after = json.loads(entry.before_json), json.loads(entry.after_json)
    return [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def test_a_field_a_colleague_changed_meanwhile_is_refused_with_both_values(deployment: Deployment) -> None:
    url = deployment.url
    alice, _ = signed_in_client(url, "alice", PASSWORDS["alice"])
    bob, _ = signed_in_client(url, "bob", PASSWORDS["bob"])
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    agency = stored(deployment, request_id).agency_responsible  # the service's
    alices, bobs = open_page(alice, request_id), open_page(bob, request_id)
    assert save(alice, request_id, {**alices, "status_notes": "Crew booked for Monday"}).status_code == 303

    refused = save(bob, request_id, {**bobs, "status_notes": "Duplicate of #3", "agency_responsible": "DPW"})
    assert refused.status_code == 409, refused.text
    # Nothing of bob's was saved, not even the agency no one else changed.
    row = stored(deployment, request_id)
    assert (row.status_notes, row.agency_responsible) == ("Crew booked for Monday", agency)
    # The page shows what it is now next to the field, and keeps what bob wrote.
    page = refused.text
    assert "Error: Request" in page
    message = re.search(r'<p class="field-error" id="status_notes-error">(.*?)</p>', page, re.S)
    assert message is not None, page
    assert "Crew booked for Monday" in message.group(1)
    again = form_of(page)
    assert (again["status_notes"], again["agency_responsible"]) == ("Duplicate of #3", "DPW")

    # Saving that page again is bob's choice, made seeing alice's: his values replace hers.
    assert save(bob, request_id, again).status_code == 303
    row = stored(deployment, request_id)
    assert (row.status_notes, row.agency_responsible) == ("Duplicate of #3", "DPW")
    # The same change made by both is no conflict.
    alices, bobs = open_page(alice, request_id), open_page(bob, request_id)
    assert save(alice, request_id, {**alices, "agency_responsible": "SFMTA"}).status_code == 303
    assert save(bob, request_id, {**bobs, "agency_responsible": "SFMTA"}).status_code == 303


def test_the_json_api_takes_the_version_it_read(deployment: Deployment) -> None:
    url = deployment.url
    alice, alice_csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    bob, bob_csrf = signed_in_client(url, "bob", PASSWORDS["bob"])
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    path = f"/operator/api/requests/{request_id}/status"
    read = alice.post(path, json={"status_notes": "Crew booked"}, headers={"X-CSRF-Token": alice_csrf})
    assert read.status_code == 200, read.text
    version = read.json()["updated_datetime"]

    changed = alice.post(
        path, json={"agency_responsible": "DPW", "version": version}, headers={"X-CSRF-Token": alice_csrf}
    )
    assert changed.status_code == 200, changed.text
    stale = bob.post(path, json={"status": "closed", "version": version}, headers={"X-CSRF-Token": bob_csrf})
    assert stale.status_code == 409, stale.text
    assert "changed" in stale.json()["error"]
    assert stale.json()["request"]["agency_responsible"] == "DPW"
    assert stored(deployment, request_id).status == "open"
    fresh = bob.post(
        path,
        json={"status": "closed", "version": stale.json()["request"]["updated_datetime"]},
        headers={"X-CSRF-Token": bob_csrf},
    )
    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["status"], fresh.json()["agency_responsible"]) == ("closed", "DPW")
    wrong = bob.post(
        path, json={"status": "open", "version": "yesterday"}, headers={"X-CSRF-Token": bob_csrf}
    )
    assert wrong.status_code == 400, wrong.text


def test_a_status_change_alone_is_news_of_the_status_alone(deployment: Deployment) -> None:
    url = deployment.url
    alice, _ = signed_in_client(url, "alice", PASSWORDS["alice"])
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    [followed] = report_as_resident(url, "res-5", f"FOLLOW {request_id}")
    assert f"#{request_id}" in followed
    day = (datetime.now(deployment.settings.city_zone) + timedelta(days=5)).strftime("%Y-%m-%d")
    form = open_page(alice, request_id)
    noted = save(
        alice, request_id, {**form, "status_notes": "Crew scheduled", "expected_datetime": f"{day}T09:00"}
    )
    assert noted.status_code == 303, noted.text
    assert f"Crew scheduled. Expected by {day}." in wait_for_message(url, "res-5", "Crew scheduled")

    # Later, only the status: the page still holds the notes and the date.
    form = open_page(alice, request_id)
    assert (form["status_notes"], form["expected_datetime"]) == ("Crew scheduled", f"{day}T09:00")
    assert save(alice, request_id, {**form, "status": "closed"}).status_code == 303
    told = wait_for_message(url, "res-5", "it is now closed")
    # Before: "it is now closed. Crew scheduled. Expected by ...".
    assert told == closed_update(request_id, "Pothole")
    now = published(deployment, request_id)
    # Closed, it is expected by no date and no longer says "Crew scheduled" (test_closing_clears_notes).
    assert (now["status"], now["status_notes"], now.get("expected_datetime")) == ("closed", None, None)

    # The agency alone is no news at all.
    form = open_page(alice, request_id)
    assert save(alice, request_id, {**form, "agency_responsible": "DPW Street Repair"}).status_code == 303
    assert stored(deployment, request_id).agency_responsible == "DPW Street Repair"
    count = len(resident_messages(url, "res-5"))
    reopened = save(alice, request_id, {**open_page(alice, request_id), "status": "open"})
    assert reopened.status_code == 303
    wait_for_message(url, "res-5", "it is now open")
    assert len(resident_messages(url, "res-5")) == count + 1


def test_an_expected_date_before_today_is_refused(deployment: Deployment) -> None:
    url = deployment.url
    alice, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    refused = save(
        alice, request_id, {**open_page(alice, request_id), "expected_datetime": "2020-01-01T09:00"}
    )
    assert refused.status_code == 400, refused.text
    message = re.search(r'<p class="field-error" id="expected_datetime-error">(.*?)</p>', refused.text, re.S)
    assert message is not None, refused.text
    assert "Expected by" in message.group(1)
    assert "today" in message.group(1)
    assert form_of(refused.text)["expected_datetime"] == "2020-01-01T09:00"
    assert stored(deployment, request_id).expected_datetime is None
    answer = alice.post(
        f"/operator/api/requests/{request_id}/status",
        json={"expected_datetime": "2020-01-01T09:00:00Z"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 400, answer.text
    assert stored(deployment, request_id).expected_datetime is None
    # Earlier today, in the city's zone, is still today.
    today = datetime.now(deployment.settings.city_zone).strftime("%Y-%m-%d")
    kept = save(alice, request_id, {**open_page(alice, request_id), "expected_datetime": f"{today}T00:01"})
    assert kept.status_code == 303, kept.text


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_refused_save_shows_both_values_in_the_browser(deployment: Deployment, open_browser: Any) -> None:
    url = deployment.url
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    pages = {}
    for name in ("alice", "bob"):
        page = open_browser().new_page()
        sign_in(page, url, name, PASSWORDS[name])
        page.goto(f"{url}/operator/requests/{request_id}")
        pages[name] = page
    notes = re.compile("Status notes")
    pages["alice"].get_by_label(notes).fill("Crew booked for Monday")
    pages["alice"].get_by_role("button", name="Save and notify").click()
    pages["alice"].wait_for_url(re.compile(r"done=updated"))

    bob = pages["bob"]
    bob.get_by_label(notes).fill("Crew booked for Tuesday")
    bob.get_by_label("Agency responsible").fill("DPW")
    bob.get_by_role("button", name="Save and notify").click()
    assert bob.title().startswith("Error: Request "), bob.title()
    summary = bob.get_by_role("alert").inner_text()
    assert "since you opened" in summary
    field = bob.locator("#status_notes")
    assert field.get_attribute("aria-invalid") == "true"
    assert "Crew booked for Monday" in bob.locator("#status_notes-error").inner_text()
    assert field.input_value() == "Crew booked for Tuesday"
    assert bob.get_by_label("Agency responsible").input_value() == "DPW"
    assert stored(deployment, request_id).status_notes == "Crew booked for Monday"
    screenshot(bob, "operator-request-changed-meanwhile")

    bob.get_by_role("button", name="Save and notify").click()
    bob.wait_for_url(re.compile(r"done=updated"))
    row = stored(deployment, request_id)
    assert (row.status_notes, row.agency_responsible) == ("Crew booked for Tuesday", "DPW")


def test_a_refused_save_says_every_field_changed_meanwhile_and_by_whom(deployment: Deployment) -> None:
    url = deployment.url
    alice, _ = signed_in_client(url, "alice", PASSWORDS["alice"])
    bob, _ = signed_in_client(url, "bob", PASSWORDS["bob"])
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    alices, bobs = open_page(alice, request_id), open_page(bob, request_id)
    assert bobs["status"] == "open"
    closing = {**alices, "status": "closed", "status_notes": "Filled on Tuesday"}
    assert save(alice, request_id, closing).status_code == 303
    # bob writes a note on his page, which showed the request open.
    refused = save(bob, request_id, {**bobs, "status_notes": "Crew booked for Monday"})
    assert refused.status_code == 409, refused.text
    page = refused.text
    # His Status list now reads closed: the page says so, and who closed it, not only about the notes.
    status = re.search(r'<p class="field-error" id="status-error">(.*?)</p>', page, re.S)
    assert status is not None, page
    assert "closed" in status.group(1)
    assert "alice" in status.group(1)
    notes = re.search(r'<p class="field-error" id="status_notes-error">(.*?)</p>', page, re.S)
    assert notes is not None, page
    assert "alice" in notes.group(1)
    assert form_of(page)["status"] == "closed"
