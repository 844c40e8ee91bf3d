"""Changing requests from the console over real HTTP, on SQLite and PostgreSQL: what a change leaves out
stays as it is, an emptied field is cleared, and a change that changes nothing (a double submit, Save
without edits, claiming an item one holds) records nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlmodel import col, select

from bot.open311.models import ServiceRequestRow, StatusChangeRow
from bot.review.audit import AuditEntry
from intents.evaluation import read_examples
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    enqueue_report,
    file_at,
    report_as_resident,
    review_item_of,
)
from tests.operator.test_console_access import signed_in_client


def history(deployment: Deployment, request_id: str) -> list[tuple[str | None, str]]:
    with deployment.runtime.sessions() as session:
        rows = session.exec(
            select(StatusChangeRow)
            .where(StatusChangeRow.request_id == int(request_id))
            .order_by(col(StatusChangeRow.id))
        ).all()
        return [(row.previous_status, row.status) for row in rows if row.kind == "status"]


def audit_actions(deployment: Deployment, action: str) -> list[AuditEntry]:
    with deployment.runtime.sessions() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def stored(deployment: Deployment, request_id: str) -> ServiceRequestRow:
    with deployment.runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        return row


def test_a_change_keeps_the_fields_it_leaves_out(deployment: Deployment) -> None:
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    path = f"/operator/api/requests/{request_id}/status"
    first = client.post(
        path,
        json={"status": "open", "status_notes": "crew booked", "agency_responsible": "DPW"},
        headers=headers,
    )
    assert first.status_code == 200, first.text
    closed = client.post(path, json={"status": "closed"}, headers=headers)
    assert closed.status_code == 200, closed.text
    # The agency is kept; the notes go with the closing (test_closing_clears_notes).
    assert (closed.json()["status_notes"], closed.json()["agency_responsible"]) == (None, "DPW")
    # No status: only the notes change.
    noted = client.post(path, json={"status_notes": "note only"}, headers=headers)
    assert noted.status_code == 200, noted.text
    assert (noted.json()["status"], noted.json()["status_notes"]) == ("closed", "note only")
    assert noted.json()["agency_responsible"] == "DPW"
    empty = client.post(path, json={}, headers=headers)
    assert empty.status_code == 400
    assert "give at least one of" in empty.json()["error"]


def test_emptying_the_expected_date_clears_it(deployment: Deployment) -> None:
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    form = {"csrf_token": csrf, "status": "open", "status_notes": "", "agency_responsible": ""}
    path = f"/operator/requests/{request_id}/status"
    assert client.post(path, data={**form, "expected_datetime": "2030-05-01T09:30"}).status_code == 303
    assert stored(deployment, request_id).expected_datetime is not None
    cleared = client.post(path, data={**form, "expected_datetime": ""})
    assert cleared.status_code == 303
    assert stored(deployment, request_id).expected_datetime is None
    [_, last] = audit_actions(deployment, "request.update")
    assert '"expected_datetime": null' in last.after_json
    assert "2030-05-01" in last.before_json


def test_a_change_that_changes_nothing_records_nothing(deployment: Deployment) -> None:
    url, runtime = deployment.url, deployment.runtime
    request_id = file_at(runtime, datetime.now(UTC), "pothole", "api")
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    cookies = dict(client.cookies)

    def close() -> int:
        answer = httpx.post(
            f"{url}/operator/api/requests/{request_id}/status",
            json={"status": "closed", "status_notes": "done"},
            headers={"X-CSRF-Token": csrf},
            cookies=cookies,
            timeout=30,
        )
        return answer.status_code

    # Three identical submits at once: one change.
    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(lambda _: close(), range(3))) == [200, 200, 200]
    assert history(deployment, request_id) == [("open", "closed")]
    assert len(audit_actions(deployment, "request.update")) == 1
    # Save with nothing changed (the form as the page shows it): nothing recorded, and the page says so.
    form = {
        "csrf_token": csrf,
        "status": "closed",
        "status_notes": "done",
        "agency_responsible": stored(deployment, request_id).agency_responsible or "",
        "expected_datetime": "",
    }
    saved = client.post(f"/operator/requests/{request_id}/status", data=form, follow_redirects=True)
    assert "Nothing was changed" in saved.text
    assert history(deployment, request_id) == [("open", "closed")]
    assert len(audit_actions(deployment, "request.update")) == 1

    # Claiming an item one already holds: logged once.
    item_id = enqueue_report(runtime, resident_id="res-twice", text="graffiti on the door")
    for _ in range(2):
        claimed = client.post(f"/operator/api/queue/{item_id}/claim", headers={"X-CSRF-Token": csrf})
        assert claimed.status_code == 200
    assert len(audit_actions(deployment, "review.claim")) == 1


def test_the_audit_log_shows_a_corrected_location(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-moved",
        text="graffiti on the bakery's shutter",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="VALENCIA ST & 16TH ST",
        lat=37.76502,
        long=-122.42196,
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    corrected = {"address_string": "MISSION ST & 24TH ST", "lat": 37.7524, "long": -122.4184}
    approved = client.post(
        f"/operator/api/queue/{item_id}/approve", json=corrected, headers={"X-CSRF-Token": csrf}
    )
    assert approved.status_code == 200, approved.text
    [entry] = audit_actions(deployment, "review.approve")
    before, after = json.loads(entry.before_json), json.loads(entry.after_json)
    assert (before["address_string"], before["lat"], before["long"]) == (
        "VALENCIA ST & 16TH ST",
        37.76502,
        -122.42196,
    )
    assert (after["address_string"], after["lat"], after["long"]) == (
        "MISSION ST & 24TH ST",
        37.7524,
        -122.4184,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_small_things_an_operator_sees(
    deploy: Callable[..., AbstractContextManager[Deployment]], tmp_path: Path
) -> None:
    with deploy(operator={"claim_minutes": 0.5, "page_size": 1}) as deployment:
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-formula",
            text='=HYPERLINK("https://evil.example/","click me")',
            suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
            location_text="+1 MISSION ST",
            address_string="VALENCIA ST & 16TH ST",
            lat=37.76502,
            long=-122.42196,
        )
        client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        assert "a claim lapses after 30 seconds" in client.get("/operator/").text
        headers = {"X-CSRF-Token": csrf}
        assert client.post(f"/operator/api/queue/{item_id}/claim", headers=headers).status_code == 200
        assert "Claimed: no one else" in client.get(f"/operator/queue/{item_id}?done=claimed").text
        assert (
            client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers).status_code == 200
        )
        # The back button to the claimed page, after approving: no claim to speak of any more.
        back = client.get(f"/operator/queue/{item_id}?done=claimed")
        assert "Claimed: no one else" not in back.text
        # Residents' words cannot run as spreadsheet formulas in the export.
        exported = client.get("/operator/learning/corrections.csv")
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert row["text"] == '\'=HYPERLINK("https://evil.example/","click me")'
        assert row["location_text"] == "'+1 MISSION ST"
        # Read back for training (train --corrections), the words are the resident's, quote gone.
        saved = tmp_path / "corrections.csv"
        saved.write_text(exported.text, encoding="utf-8")
        [example] = read_examples(saved)
        assert example.text == '=HYPERLINK("https://evil.example/","click me")'
        assert example.location_text == "+1 MISSION ST"

        # The request list's page links only when there is another page (an empty "Pages" landmark was
        # announced on a list of one page).
        file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
        two_pages = client.get("/operator/requests").text
        assert '<nav class="pager" aria-label="Pages">' in two_pages
        assert 'rel="next">Next</a>' in two_pages
        one_page = client.get("/operator/requests", params={"service_code": "pothole"}).text
        assert "1 request." in one_page
        assert 'aria-label="Pages"' not in one_page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_model_running_now_is_compared_by_the_same_rule_as_the_stored_suggestions(
    deployment: Deployment,
) -> None:
    # Vague reports whose top class is "other" (no service receives it): the operator approves the top
    # suggestion the page shows, a service. Before, the learning page compared the model's raw top class
    # now ("other") with those services and read 0% where the stored suggestions agreed 100%.
    texts = (
        "something weird going on at 16th St and Valencia St",
        "the thing at 5th St and Market St is broken",
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    for number, text in enumerate(texts):
        resident = f"res-vague-{number}"
        assert "A person will look" in report_as_resident(deployment.url, resident, text)[0]
        item_id = review_item_of(deployment.runtime, resident)
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert item["suggestions"], item
        approved = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
        assert approved.status_code == 200, approved.text
    learning = client.get("/operator/api/learning").json()
    assert learning["agreed"] == len(texts), learning
    assert learning["current_model"]["agreed"] == len(texts), learning["current_model"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_residents_words_carry_their_language(deployment: Deployment) -> None:
    """A screen reader reads a resident's Spanish in Spanish: their words carry ``lang`` wherever the
    console shows them (WCAG 3.1.2)."""
    url = deployment.url
    replies = report_as_resident(url, "res-es", "Hay un bache muy grande en la calle", "5th St y Market St")
    assert "persona" in replies[-1]  # a person will look, said in Spanish
    item_id = review_item_of(deployment.runtime, "res-es")
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    item_page = client.get(f"/operator/queue/{item_id}").text
    conversation = re.findall(r'<li class="(in|out)" lang="([a-z]+)">', item_page)
    assert ("in", "es") in conversation
    assert ("out", "es") in conversation
    approved = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers={"X-CSRF-Token": csrf})
    assert approved.status_code == 200, approved.text
    request_id = approved.json()["service_request_id"]
    # Another request, from the API: no language is known for it, so none is claimed.
    file_at(deployment.runtime, datetime.now(UTC), "graffiti", "api")
    request_page = client.get(f"/operator/requests/{request_id}").text
    assert '<blockquote lang="es">Hay un bache muy grande en la calle</blockquote>' in request_page
    listed = client.get("/operator/requests").text
    assert '<td lang="es">Hay un bache muy grande en la calle</td>' in listed
    assert "<td>x</td>" in listed  # file_at's description, with no language


class _Landmarks(HTMLParser):
    """The landmarks of a page as a screen reader lists them: (role, name), names read as axe reads them
    (``aria-label``, or the text of the element ``aria-labelledby`` names)."""

    ROLES: ClassVar[dict[str, str]] = {
        "nav": "navigation",
        "main": "main",
        "header": "banner",
        "aside": "complementary",
    }

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []  # (role, aria-label, labelledby id)
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []  # (tag, id) of elements with an id, while open

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        role = a.get("role") or self.ROLES.get(tag, "")
        if tag in ("section", "form") and ("aria-label" in a or "aria-labelledby" in a):
            role = role or ("region" if tag == "section" else "form")
        if role in ("region", "navigation", "main", "banner", "complementary", "form", "search"):
            self.found.append((role, a.get("aria-label", ""), a.get("aria-labelledby", "")))
        if a.get("id"):
            self._open.append((tag, a["id"]))
            self.texts.setdefault(a["id"], "")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for _tag, element_id in self._open:
            self.texts[element_id] += data

    def names(self) -> list[tuple[str, str]]:
        return [(role, " ".join((label or self.texts.get(by, "")).split())) for role, label, by in self.found]


def test_no_two_landmarks_of_a_page_share_a_name(deployment: Deployment) -> None:
    """axe's landmark-unique: a request's "History" section held a scrolling table's region also named
    "History" (the learning page's "Per service" too); a screen reader's list of landmarks read each twice."""
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    deployment.runtime.open311.update_status(request_id, "closed", "Patched.", actor="city")
    report_as_resident(deployment.url, "res-landmarks", "There is a big pothole", "5th St and Market St")
    item_id = review_item_of(deployment.runtime, "res-landmarks")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers).status_code == 200
    try:
        for path in (
            "/operator/",
            f"/operator/requests/{request_id}",
            "/operator/requests",
            "/operator/learning",
            "/operator/dashboard",
            "/operator/undelivered",
            "/operator/audit",
            f"/operator/queue/{item_id}",
        ):
            page = client.get(path)
            assert page.status_code == 200, (path, page.text)
            parser = _Landmarks()
            parser.feed(page.text)
            names = parser.names()
            assert names, path
            repeated = sorted({name for name in names if names.count(name) > 1})
            assert not repeated, (path, repeated)
    finally:
        client.close()


def test_a_map_is_named_by_its_place_on_the_item_and_request_pages(deployment: Deployment) -> None:
    """The item page's map (an image to a screen reader) was named with the resident's raw words ("16th and
    Valencia"), the request page's with the bare address: both are "Map of" the geocoded address."""
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-map",
        text="graffiti on the wall",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        location_text="16th and Valencia",
        address_string="16TH ST & VALENCIA ST",
        lat=37.76502,
        long=-122.42196,
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    try:
        names = re.findall(
            r'<svg class="street-map"[^>]*aria-label="([^"]*)"', client.get(f"/operator/queue/{item_id}").text
        )
        assert names == ["Map of 16TH ST &amp; VALENCIA ST"], names
        approved = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
        assert approved.status_code == 200, approved.text
        request_page = client.get(f"/operator/requests/{approved.json()['service_request_id']}").text
        names = re.findall(r'<svg class="street-map"[^>]*aria-label="([^"]*)"', request_page)
        assert names == ["Map of 16TH ST &amp; VALENCIA ST"], names
    finally:
        client.close()
