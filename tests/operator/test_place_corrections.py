"""A resident's correction of the place of a report just filed ("no, valencia and 17th" right after report
#N was filed at Valencia and 16th) is a correction in the console, not a report: it says so, and approving
it (or pressing Move) moves report #N, logged as the operator's change of that request, and files nothing.
Before, it looked like any report awaiting approval, and approving it filed a second request.

Through the real conversation over the local channel, the console's page forms (with the CSRF token the
pages carry) and its JSON calls, on a served app. A bot filing into a city's own Open311 cannot move the
city's report: the item says so and is closed with a note.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from html import escape

import httpx
from sqlmodel import func, select

from bot.open311.models import ServiceRequestRow
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    csrf_token,
    enqueue_report,
    report_as_resident,
    resident_messages,
    review_item_of,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client

Deploy = Callable[..., AbstractContextManager[Deployment]]
# The bot files what it is sure of by itself (the console tests' default sends every report to review).
FILING = {"intents": {"auto_file_threshold": 0.6}, "conversation": {"offer_choices_min_confidence": 0.2}}
AT_16TH = "VALENCIA ST & 16TH ST, San Francisco, CA"
AT_17TH = "VALENCIA ST & 17TH ST, San Francisco, CA"
AT_18TH = "VALENCIA ST & 18TH ST, San Francisco, CA"


def file_and_correct(url: str, resident: str, correction: str) -> str:
    """The resident reports graffiti at Valencia and 16th, then corrects its place; the report's number."""
    replies = report_as_resident(url, resident, "There is graffiti on the wall", "valencia near 16th")
    filed = re.search(r"filed as #(\d+) \(Graffiti\)", " ".join(replies))
    assert filed, replies
    [told] = report_as_resident(url, resident, correction)
    assert "A person will change its place" in told, told
    return filed.group(1)


def request_count(deployment: Deployment) -> int:
    with deployment.runtime.sessions() as session:
        return int(session.exec(select(func.count()).select_from(ServiceRequestRow)).one())


def place_of(deployment: Deployment, request_id: str) -> tuple[str | None, float | None, float | None]:
    with deployment.runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        return row.address, row.lat, row.long


def test_approving_a_correction_moves_the_report_and_files_nothing(deploy: Deploy) -> None:
    with deploy(**FILING) as deployment:
        url = deployment.url
        number = file_and_correct(url, "cal", "no, valencia and 17th")
        item_id = review_item_of(deployment.runtime, "cal")
        assert request_count(deployment) == 1
        filed_at = place_of(deployment, number)
        assert filed_at[0] == AT_16TH
        client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])

        # The queue and the item say what it is.
        summary = escape(f"Resident corrected the place of report #{number}: from {AT_16TH} to {AT_17TH}")
        assert summary in client.get("/operator/").text
        assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
        page = client.get(f"/operator/queue/{item_id}").text
        assert summary in page
        assert f"Move report #{number} here" in page
        assert "Approve and file" not in page
        assert f'action="/operator/queue/{item_id}/reject"' not in page

        # An approve form as the page had it before (a service, the resident's words) moves the report.
        approved = client.post(
            f"/operator/queue/{item_id}/approve",
            data={
                "csrf_token": csrf_token(page),
                "service_code": "graffiti",
                "address_string": AT_17TH,
                "description": "no, valencia and 17th",
            },
        )
        assert approved.status_code == 303, approved.text
        assert request_count(deployment) == 1
        address, lat, long = place_of(deployment, number)
        assert address == AT_17TH
        assert lat is not None
        assert (lat, long) != filed_at[1:]
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert item["status"] == "moved"
        assert item["service_request_id"] is None  # nothing filed
        assert item["correction"]["reference"] == f"#{number}"
        # The audit log has the operator's change of the request, its place before and after.
        audit = client.get("/operator/audit").text
        assert "request.move" in audit
        assert "review.move" in audit
        assert escape(AT_16TH) in audit
        assert escape(AT_17TH) in audit
        decided = client.get(f"/operator/queue/{item_id}").text
        moved = f'Moved report <a href="/operator/requests/{number}">#{number}</a> to {escape(AT_17TH)}'
        assert moved in decided
        # Once decided, it cannot be decided again.
        again = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409
        assert request_count(deployment) == 1


def test_the_json_api_moves_a_correction_and_never_files_it(deploy: Deploy) -> None:
    with deploy(**FILING) as deployment:
        url = deployment.url
        number = file_and_correct(url, "dot", "I mean valencia and 18th")
        item_id = review_item_of(deployment.runtime, "dot")
        client, csrf = signed_in_client(url, "bob", PASSWORDS["bob"])
        headers = {"X-CSRF-Token": csrf}
        listed = client.get("/operator/api/queue").json()["items"]
        [correction] = [item["correction"] for item in listed if item["id"] == item_id]
        assert correction["reference"] == f"#{number}"
        assert correction["service_request_id"] == number
        assert (correction["from"], correction["to"]) == (AT_16TH, AT_18TH)
        assert correction["cannot_move"] is None

        # Filing it as a new report (another service, words to publish) is refused; so is rejecting it
        # ("Your report was not filed" would be untrue).
        as_report = client.post(
            f"/operator/api/queue/{item_id}/approve", json={"service_code": "pothole"}, headers=headers
        )
        assert as_report.status_code == 409
        assert "files nothing new" in as_report.json()["error"]
        rejected = client.post(
            f"/operator/api/queue/{item_id}/reject", json={"reason": "dup"}, headers=headers
        )
        assert rejected.status_code == 409
        # A field the call does not take is refused and changes nothing.
        typo = client.post(f"/operator/api/queue/{item_id}/move", json={"adress": "x"}, headers=headers)
        assert typo.status_code == 400
        assert request_count(deployment) == 1
        assert place_of(deployment, number)[0] == AT_16TH

        moved = client.post(f"/operator/api/queue/{item_id}/move", json={}, headers=headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "moved"
        assert place_of(deployment, number)[0] == AT_18TH
        assert request_count(deployment) == 1
        # The report's own page shows where it is now; the public API too.
        base = deployment.settings.open311.base_path.rstrip("/")
        public = httpx.get(f"{url}{base}/requests/{number}.json", timeout=10).json()
        assert public[0]["address"] == AT_18TH


def test_a_move_is_in_the_reports_history_and_its_filer_is_told_the_new_place_once(deploy: Deploy) -> None:
    # Before: the move left no history entry (the console's History and the API's notes had none) and the
    # resident who corrected the place was never told that a person had moved the report.
    with deploy(**FILING) as deployment:
        url = deployment.url
        number = file_and_correct(url, "eve", "no, valencia and 17th")
        item_id = review_item_of(deployment.runtime, "eve")
        with deployment.runtime.sessions() as session:
            filed = session.get(ServiceRequestRow, int(number))
            assert filed is not None
            filed_updated = filed.updated_datetime
        client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        moved = client.post(f"/operator/api/queue/{item_id}/move", json={}, headers={"X-CSRF-Token": csrf})
        assert moved.status_code == 200, moved.text

        # The resident is told, once, by the status notifications (the jobs run every 0.2 s here).
        told = wait_for_message(url, "eve", "its place is now")
        assert told == (
            f"Update on report #{number} (Graffiti): its place is now {AT_17TH}."
            f" Reply UNFOLLOW {number} to stop these updates."
        )
        time.sleep(1.5)
        assert [m for m in resident_messages(url, "eve") if "its place is now" in m] == [told]

        # The history has the move: the console's page of the request, and the API's notes.
        history = client.get(f"/operator/requests/{number}").text
        assert f"moved to {escape(AT_17TH)}" in history
        assert "operator:alice" in history
        base = deployment.settings.open311.base_path.rstrip("/")
        [public] = httpx.get(f"{url}{base}/requests/{number}.json?extensions=true", timeout=10).json()
        assert public["address"] == AT_17TH
        assert [(note["type"], note["description"]) for note in public["notes"]][-1] == (
            "moved",
            f"Moved to {AT_17TH}",
        )
        assert public["status"] == "open"  # a move is no change of status
        # Polling clients see it changed.
        with deployment.runtime.sessions() as session:
            row = session.get(ServiceRequestRow, int(number))
            assert row is not None
            assert row.updated_datetime > filed_updated


def test_a_report_that_is_not_a_correction_cannot_be_moved_or_closed(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-plain",
        text="graffiti on the wall at 24th and Mission",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="24TH ST & MISSION ST",
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/operator/api/queue/{item_id}/move", json={}, headers=headers).status_code == 409
    closed = client.post(f"/operator/api/queue/{item_id}/close", json={"note": "x"}, headers=headers)
    assert closed.status_code == 409
    page = client.get(f"/operator/queue/{item_id}").text
    assert "Resident corrected the place" not in page


def test_a_remote_citys_report_is_not_moved_but_closed_with_a_note(deploy: Deploy) -> None:
    city_url = "https://open311.city.example/v2"
    with deploy(remote={"enabled": True, "base_url": city_url}, jobs={"enabled": False}) as deployment:
        # Queued as the conversation queues a correction of a report filed at the city (R7).
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-remote",
            text="no, valencia and 17th",
            reason=(
                f"a correction of the place of report R7, sent right after it was filed at {AT_16TH}:"
                f" move R7 to {AT_17TH} (not a new report)"
            ),
            location_text="valencia and 17th",
            address_string=AT_17TH,
            lat=37.7633,
            long=-122.4216,
            service_code="CSROWC-05",
        )
        client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
        page = client.get(f"/operator/queue/{item_id}").text
        assert escape(f"Resident corrected the place of report R7: from {AT_16TH} to {AT_17TH}") in page
        assert "This bot cannot move it" in page
        assert "own system" in page
        assert f'action="/operator/queue/{item_id}/move"' not in page
        assert client.get(f"/operator/api/queue/{item_id}").json()["correction"]["cannot_move"]
        refused = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
        assert refused.status_code == 409
        assert "city's own system" in refused.json()["error"]
        # A note is required; then it closes, and says so.
        empty = client.post(f"/operator/queue/{item_id}/close", data={"csrf_token": csrf, "note": " "})
        assert empty.status_code == 409
        assert 'id="note-error"' in empty.text
        note = "Asked 311 to move R7 to Valencia and 17th."
        closed = client.post(f"/operator/queue/{item_id}/close", data={"csrf_token": csrf, "note": note})
        assert closed.status_code == 303, closed.text
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert (item["status"], item["correction"]["note"], item["token"]) == ("closed", note, None)
        assert note in client.get(f"/operator/queue/{item_id}").text
