"""Closing a request ends what it said while open, over real HTTP on SQLite and PostgreSQL: a request noted
"Crew scheduled", expected on a date, then closed with no notes of its own, read "Crew scheduled" (and
still expected, when closed through the core) to a resident asking STATUS and in GET /requests/<id>.json.
Now closing clears the notes and the expected date it does not set, whether the operator closes it on the
request's page, through the console's JSON API or a program through the core; the request's history keeps
the earlier notes. Notes given with the closing are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.operator.support import PASSWORDS, Deployment, file_at, report_as_resident
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_published_words import published
from tests.operator.test_request_edits import open_page, save

SCHEDULED = "Crew scheduled"


def history(deployment: Deployment, request_id: str) -> list[str]:
    """The request's history as GET /requests/<id>.json?extensions=true publishes it."""
    answer = httpx.get(
        f"{deployment.url}/open311/v2/requests/{request_id}.json",
        params={"extensions": "true"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    [record] = answer.json()
    return [note["description"] for note in record["notes"]]


def status_reply(deployment: Deployment, request_id: str) -> str:
    [reply] = report_as_resident(deployment.url, "res-closing", f"STATUS {request_id}")
    return reply


def assert_closed_with(deployment: Deployment, request_id: str, notes: str | None) -> None:
    """Closed, with these notes and no expected date, in the API and in the resident's STATUS; the notes the
    request had before are still in its history."""
    record: dict[str, Any] = published(deployment, request_id)
    assert (record["status"], record["status_notes"], record.get("expected_datetime")) == (
        "closed",
        notes,
        None,
    )
    reply = status_reply(deployment, request_id)
    assert f"Report #{request_id} (Pothole) is closed." in reply, reply
    assert SCHEDULED not in reply, reply
    if notes:
        assert notes in reply, reply
    assert f"Status open: {SCHEDULED}" in history(deployment, request_id)


def scheduled_by_operator(deployment: Deployment, client: httpx.Client, csrf: str) -> str:
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    expected = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0).isoformat()
    noted = client.post(
        f"/operator/api/requests/{request_id}/status",
        json={"status_notes": SCHEDULED, "expected_datetime": expected},
        headers={"X-CSRF-Token": csrf},
    )
    assert noted.status_code == 200, noted.text
    assert SCHEDULED in status_reply(deployment, request_id)
    return request_id


def test_closing_on_the_request_page_clears_the_notes_and_the_expected_date(deployment: Deployment) -> None:
    alice, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    request_id = scheduled_by_operator(deployment, alice, csrf)
    form = open_page(alice, request_id)
    assert form["status_notes"] == SCHEDULED  # the page still holds them: only the status is changed
    assert save(alice, request_id, {**form, "status": "closed"}).status_code == 303
    assert_closed_with(deployment, request_id, None)
    assert open_page(alice, request_id)["status_notes"] == ""


def test_closing_through_the_console_api_clears_the_notes(deployment: Deployment) -> None:
    alice, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    path = "/operator/api/requests/{}/status"
    request_id = scheduled_by_operator(deployment, alice, csrf)
    closed = alice.post(path.format(request_id), json={"status": "closed"}, headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status_notes"] is None
    assert_closed_with(deployment, request_id, None)

    # Notes given with the closing are the closed request's.
    other = scheduled_by_operator(deployment, alice, csrf)
    body = {"status": "closed", "status_notes": "Filled with cold patch."}
    assert alice.post(path.format(other), json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert_closed_with(deployment, other, "Filled with cold patch.")


def test_closing_through_the_core_clears_the_expected_date(deployment: Deployment) -> None:
    core = deployment.runtime.open311
    request_id = file_at(deployment.runtime, datetime.now(UTC), "pothole", "api")
    expected = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    core.update_status(request_id, "open", SCHEDULED, expected_datetime=expected, actor="crew-7")
    assert published(deployment, request_id).get("expected_datetime") is not None
    closed = core.update_status(request_id, "closed", actor="crew-7")
    assert (closed.status_notes, closed.expected_datetime) == (None, None)
    assert_closed_with(deployment, request_id, None)

    # A date given with the closing is kept, and a closed request's notes and date stay when it is
    # changed again without closing it.
    core.update_status(request_id, "open", actor="crew-7")
    again = core.update_status(request_id, "closed", "Done", expected_datetime=expected, actor="crew-7")
    assert again.expected_datetime == expected
    assert core.update_status(request_id, "closed", "Done", actor="crew-7").expected_datetime == expected
