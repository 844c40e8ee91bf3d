"""What operators publish of a resident's words, over real HTTP: the description an approval files (the
item page's form and the JSON call), the description of a request already filed, and the JSON calls'
refusal of a field they do not take (before, ``description`` was dropped without a word, and the resident's
SSN was published by an approval whose operator thought it was taken out)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import httpx
from sqlmodel import col, select

from bot.open311.models import ServiceRequestRow, StatusChangeRow
from bot.review.audit import AuditEntry
from bot.review.models import ReviewItem
from tests.operator.support import PASSWORDS, Deployment, csrf_token, enqueue_report, file_at
from tests.operator.test_console_access import signed_in_client

WORDS = "Something strange at my house 77 Dolores St, my SSN is 123-45-6789 if you need it, Gina Ortiz"
REWRITTEN = "Something strange at 77 Dolores St"


def queued(deployment: Deployment, resident_id: str) -> int:
    return enqueue_report(
        deployment.runtime,
        resident_id=resident_id,
        text=WORDS,
        suggestions=[{"service_code": "noise", "confidence": 0.4}],
        address_string="77 DOLORES ST",
        lat=37.7687,
        long=-122.4266,
    )


def published(deployment: Deployment, request_id: str) -> dict[str, object]:
    answer = httpx.get(f"{deployment.url}/open311/v2/requests/{request_id}.json", timeout=10)
    assert answer.status_code == 200, answer.text
    [record] = answer.json()
    assert isinstance(record, dict)
    return record


def entries(deployment: Deployment, action: str) -> list[AuditEntry]:
    with deployment.runtime.sessions() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def status_rows(deployment: Deployment, request_id: str) -> int:
    with deployment.runtime.sessions() as session:
        return len(
            session.exec(
                select(StatusChangeRow).where(col(StatusChangeRow.request_id) == int(request_id))
            ).all()
        )


def test_the_item_page_files_the_description_the_operator_wrote(deployment: Deployment) -> None:
    item_id = queued(deployment, "gina")
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    page = client.get(f"/operator/queue/{item_id}")
    client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf_token(page.text)})
    page = client.get(f"/operator/queue/{item_id}")
    # The form holds the resident's words, to edit, and says they are public.
    field = re.search(r'<textarea id="description" name="description"[^>]*>([^<]*)</textarea>', page.text)
    assert field is not None, "the approve form has a description field"
    assert html.unescape(field.group(1)) == WORDS
    assert "public" in page.text.split('for="description"')[1].split("</label>")[0]

    form = {
        "csrf_token": csrf_token(page.text),
        "service_code": "noise",
        "address_string": "77 DOLORES ST",
        "lat": "37.7687",
        "long": "-122.4266",
        "description": REWRITTEN,
    }
    answer = client.post(f"/operator/queue/{item_id}/approve", data=form)
    assert answer.status_code == 303, answer.text
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.service_request_id is not None
        request_id = item.service_request_id
    assert published(deployment, request_id)["description"] == REWRITTEN
    [approved] = entries(deployment, "review.approve")
    assert json.loads(approved.after_json)["description"] == REWRITTEN, "the log says what was published"


def test_the_json_approval_files_the_description_and_refuses_fields_it_does_not_take(
    deployment: Deployment,
) -> None:
    item_id = queued(deployment, "gina")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    path = f"/operator/api/queue/{item_id}/approve"

    misspelt = client.post(path, json={"service_code": "noise", "descripton": REWRITTEN}, headers=headers)
    assert misspelt.status_code == 400
    assert "'descripton'" in misspelt.json()["error"]
    assert "description" in misspelt.json()["error"], "the error names the fields the call takes"
    for call, body in (
        (f"/operator/api/queue/{item_id}/reject", {"reason": "not ours", "notify": False}),
        (f"/operator/api/queue/{item_id}/approve", {"description": 7}),
    ):
        refused = client.post(call, json=body, headers=headers)
        assert refused.status_code == 400, refused.text
    with deployment.runtime.sessions() as session:
        assert session.exec(select(ServiceRequestRow)).first() is None, "nothing filed by a refused call"
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == "pending", "nor rejected"

    approved = client.post(path, json={"service_code": "noise", "description": REWRITTEN}, headers=headers)
    assert approved.status_code == 200, approved.text
    request_id = approved.json()["service_request_id"]
    assert published(deployment, request_id)["description"] == REWRITTEN


def test_an_operator_changes_a_filed_requests_description_and_it_is_logged(deployment: Deployment) -> None:
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "sms")
    photo = "https://photos.example.org/p/2.jpg"
    with deployment.runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        row.description = f"{WORDS}\n\nMore photos: {photo}"
        session.add(row)
        session.commit()
    history = status_rows(deployment, request_id)
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

    # The JSON API: the old error ("give at least one of status, ...") is now the change.
    path = f"/operator/api/requests/{request_id}/status"
    changed = client.post(path, json={"description": REWRITTEN}, headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200, changed.text
    assert published(deployment, request_id)["description"] == f"{REWRITTEN}\n\nMore photos: {photo}"
    refused = client.post(path, json={"descripton": "x"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400, refused.text

    # The page: its form holds the words (not the photos listed after them).
    page = client.get(f"/operator/requests/{request_id}")
    field = re.search(r'<textarea id="description" name="description"[^>]*>([^<]*)</textarea>', page.text)
    assert field is not None, "the request's form has a description field"
    assert html.unescape(field.group(1)) == REWRITTEN
    shown = published(deployment, request_id)  # the form shows the request as it is
    form = {
        "csrf_token": csrf_token(page.text),
        "status": "open",
        "status_notes": str(shown["status_notes"] or ""),
        "agency_responsible": str(shown["agency_responsible"] or ""),
        "expected_datetime": "",
        "description": "Something strange",
    }
    answer = client.post(f"/operator/requests/{request_id}/status", data=form)
    assert answer.status_code == 303, answer.text
    assert published(deployment, request_id)["description"] == f"Something strange\n\nMore photos: {photo}"

    # Nothing happened to the problem: no status note, so no one following it is told.
    assert status_rows(deployment, request_id) == history
    logged = [
        (json.loads(entry.before_json).get("description"), json.loads(entry.after_json).get("description"))
        for entry in entries(deployment, "request.update")
    ]
    assert logged == [(WORDS, REWRITTEN), (REWRITTEN, "Something strange")]


def test_the_request_page_says_status_notes_are_public(deployment: Deployment) -> None:
    # Before: "Status notes (residents following the request see them)", while the API publishes them to
    # anyone (status_notes, notes) and staff wrote internal remarks there.
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    page = client.get(f"/operator/requests/{request_id}")
    label = re.search(r'<label for="status_notes">(.*?)</label>', page.text, re.S)
    assert label is not None
    said = re.sub(r"<[^>]+>", "", label.group(1))
    assert "public" in said
    assert "anyone can read them on the Open311 API" in said
    assert "nothing internal" in said
