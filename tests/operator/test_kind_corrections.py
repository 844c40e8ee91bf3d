"""A resident's correction of the kind of a report just filed ("sorry, it's actually a broken streetlight, not
a pothole" right after report #N was filed as Pothole) is a correction in the console, not a report: it says
so, and **Change report #N to Streetlight** makes report #N one of that service through the core (its
history has the change, the API shows it, whoever filed or follows it is told once), filing nothing; **Keep
it as it is** tells the resident it stays as filed. Before, the item looked like any report: approving it
filed a second request of the new kind (the operator was to close #N by hand), and rejecting it told the
resident their report was "not filed".

Through the real conversation over the local channel, the console's page forms and its JSON calls, on a
served app, on SQLite and PostgreSQL. Also: approving a report the bot guessed as a class several services
share (Toronto's graffiti) with no service chosen names the choices (400); it filed the first of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from html import escape
from typing import Any

import httpx

from bot.open311.catalog import CATALOG_DIR
from bot.open311.models import NewRequest, ServiceRequestRow
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
from tests.operator.test_place_corrections import FILING, request_count

Deploy = Callable[..., AbstractContextManager[Deployment]]
TORONTO = {"catalog_file": str(CATALOG_DIR / "toronto.toml")}
GRAFFITI_CODES = ["CSROWBM-03", "CSROWC-05", "CSROSC-14", "SWLMALB-02"]
POTHOLE = "pothole at Mission and 24th"


def kind_reason(reference: str, before: str, after: str) -> str:
    """A correction's reason as the conversation wrote it before the console could change a report's kind
    (items queued then are still read as corrections)."""
    return (
        f"a correction of the kind of report {reference}, sent right after it was filed as {before}: it is"
        f" {after}, at the same place (not a new report: approving files it as {after};"
        f" then close {reference})"
    )


def file_and_correct_kind(url: str, resident: str) -> str:
    """The resident reports a pothole at Mission and 24th, then says it is a broken streetlight; the report's
    number."""
    filed = re.search(r"filed as #(\d+) \(Pothole\)", " ".join(report_as_resident(url, resident, POTHOLE)))
    assert filed, "not filed"
    number = filed.group(1)
    [told] = report_as_resident(url, resident, "sorry, it's actually a broken streetlight, not a pothole")
    assert told.startswith(
        f"Your report #{number} was filed as Pothole. A person will change it to Streetlight"
    )
    return number


def public_request(deployment: Deployment, number: str) -> dict[str, Any]:
    base = deployment.settings.open311.base_path.rstrip("/")
    url = f"{deployment.url}{base}/requests/{number}.json?extensions=true"
    [found] = httpx.get(url, timeout=10).json()
    assert isinstance(found, dict)
    return found


def test_changing_the_kind_a_resident_corrected_changes_the_report_and_tells_them_once(
    deploy: Deploy,
) -> None:
    with deploy(**FILING) as deployment:
        url = deployment.url
        number = file_and_correct_kind(url, "amy")
        item_id = review_item_of(deployment.runtime, "amy")
        with deployment.runtime.sessions() as session:
            filed = session.get(ServiceRequestRow, int(number))
            assert filed is not None
            filed_updated = filed.updated_datetime
        client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}

        # The queue and the item say what it is, and offer to change the report or keep it: no approve form
        # that files a new request, no reject that tells the resident "not filed".
        summary = f"Resident corrected the kind of report #{number}: from Pothole to Streetlight"
        assert escape(summary) in client.get("/operator/").text
        assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
        page = client.get(f"/operator/queue/{item_id}").text
        assert escape(summary) in page
        assert f"Change report #{number} to Streetlight" in page
        assert "Keep it as it is" in page
        assert "Approve and file" not in page
        assert f'action="/operator/queue/{item_id}/reject"' not in page
        assert f'action="/operator/queue/{item_id}/approve"' not in page
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert item["kind_correction"] == {
            "summary": summary,
            "reference": f"#{number}",
            "service_request_id": number,
            "from": "Pothole",
            "to": "Streetlight",
            "note": None,
            "choices": [{"service_code": "streetlight", "service_name": "Streetlight"}],
            "cannot_change": None,
        }

        # Rejecting it, or approving it as a new report (with words to publish), is refused; nothing is filed.
        rejected = client.post(
            f"/operator/api/queue/{item_id}/reject", json={"reason": "dup"}, headers=headers
        )
        assert rejected.status_code == 409
        assert "keep it as it is" in rejected.json()["error"]
        as_report = client.post(
            f"/operator/api/queue/{item_id}/approve", json={"description": "a streetlight"}, headers=headers
        )
        assert as_report.status_code == 409
        assert "files nothing new" in as_report.json()["error"]
        other = client.post(
            f"/operator/api/queue/{item_id}/change", json={"service_code": "tree"}, headers=headers
        )
        assert other.status_code == 409
        assert request_count(deployment) == 1

        changed = client.post(f"/operator/api/queue/{item_id}/change", json={}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert (changed.json()["status"], changed.json()["service_code"]) == ("changed", "streetlight")
        assert changed.json()["service_request_id"] is None  # nothing filed
        assert request_count(deployment) == 1

        # The API shows report #N as a streetlight, the change in its notes; polling clients see it changed.
        public = public_request(deployment, number)
        assert (public["service_code"], public["service_name"]) == ("streetlight", "Streetlight")
        assert public["agency_responsible"] == "Public Utilities - Streetlights"
        assert public["status"] == "open"
        assert [(note["type"], note["description"]) for note in public["notes"]][-1] == (
            "recategorised",
            "Service changed to Streetlight",
        )
        with deployment.runtime.sessions() as session:
            row = session.get(ServiceRequestRow, int(number))
            assert row is not None
            assert row.updated_datetime > filed_updated

        # The resident who filed it is told once, by the status notifications (the jobs run every 0.2 s).
        told = wait_for_message(url, "amy", "it is now filed as")
        assert told == (
            f"Update on report #{number}: it is now filed as Streetlight."
            f" Reply UNFOLLOW {number} to stop these updates."
        )
        time.sleep(1.5)
        assert [m for m in resident_messages(url, "amy") if "it is now filed as" in m] == [told]
        assert report_as_resident(url, "amy", "STATUS")[-1] == f"Report #{number} (Streetlight) is open."

        # The console: the report's history, the decided item, the audit log.
        history = client.get(f"/operator/requests/{number}").text
        assert "service changed to Streetlight" in history
        assert "operator:alice" in history
        decided = client.get(f"/operator/queue/{item_id}").text
        assert f'Changed report <a href="/operator/requests/{number}">#{number}</a> to Streetlight' in decided
        audit = client.get("/operator/audit").text
        assert "request.change_service" in audit
        assert "review.change" in audit
        again = client.post(f"/operator/api/queue/{item_id}/change", json={}, headers=headers)
        assert again.status_code == 409


def test_keeping_the_report_as_it_is_tells_the_resident_and_changes_nothing(deploy: Deploy) -> None:
    with deploy(**FILING) as deployment:
        url = deployment.url
        number = file_and_correct_kind(url, "bea")
        item_id = review_item_of(deployment.runtime, "bea")
        client, csrf = signed_in_client(url, "bob", PASSWORDS["bob"])
        client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
        page = client.get(f"/operator/queue/{item_id}").text
        note = "The photo shows a pothole."
        kept = client.post(
            f"/operator/queue/{item_id}/keep", data={"csrf_token": csrf_token(page), "note": note}
        )
        assert kept.status_code == 303, kept.text
        told = wait_for_message(url, "bea", "stays filed as")
        assert told == (
            f"A person looked at your correction: report #{number} stays filed as Pothole."
            " Reply STATUS for updates."
        )
        assert public_request(deployment, number)["service_code"] == "pothole"
        assert request_count(deployment) == 1
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert (item["status"], item["kind_correction"]["note"]) == ("kept", note)
        assert not any("not filed" in m for m in resident_messages(url, "bea"))


def test_a_class_the_city_splits_is_chosen_among_and_the_new_services_questions_answered(
    deploy: Deploy,
) -> None:
    with deploy(open311=TORONTO) as deployment:
        # Report #N, filed as a pothole (where on the road: required), corrected to graffiti: Toronto has four
        # graffiti services. Queued as the conversation queues a correction.
        filed = deployment.runtime.open311.create_request(
            NewRequest(
                service_code="CSROWR-12",
                lat=43.6561,
                long=-79.3802,
                address_string="YONGE ST & DUNDAS ST",
                description="big pothole",
                channel="local",
                attributes={"lane": "curb_lane"},
            )
        )
        number = filed.service_request_id
        assert number is not None
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-graffiti",
            text="sorry, it's graffiti, not a pothole",
            reason=kind_reason(f"#{number}", "Road - Pot hole", "Road - Graffiti Complaint"),
            address_string="YONGE ST & DUNDAS ST",
            service_code="CSROWC-05",
        )
        client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        item = client.get(f"/operator/api/queue/{item_id}").json()
        assert [c["service_code"] for c in item["kind_correction"]["choices"]] == GRAFFITI_CODES

        # None chosen: which of the four, the operator says (400 naming them); then the required question.
        unchosen = client.post(f"/operator/api/queue/{item_id}/change", json={}, headers=headers)
        assert unchosen.status_code == 400
        assert all(code in unchosen.json()["error"] for code in GRAFFITI_CODES)
        client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
        page = client.get(f"/operator/queue/{item_id}").text
        radios = re.findall(r'<input type="radio" name="service_code" value="([^"]+)"([^>]*)>', page)
        assert [code for code, _ in radios] == GRAFFITI_CODES
        assert not any("checked" in rest for _, rest in radios)
        no_radio = client.post(f"/operator/queue/{item_id}/change", data={"csrf_token": csrf})
        assert no_radio.status_code == 400
        assert 'id="service_code-error"' in no_radio.text
        unanswered = client.post(
            f"/operator/queue/{item_id}/change", data={"csrf_token": csrf, "service_code": "CSROSC-14"}
        )
        assert unanswered.status_code == 409
        assert "Details for Sidewalk - Graffiti Complaint" in unanswered.text
        assert 'id="attr-offensive-error"' in unanswered.text
        changed = client.post(
            f"/operator/queue/{item_id}/change",
            data={
                "csrf_token": csrf,
                "service_code": "CSROSC-14",
                "details_for": "CSROSC-14",
                "attribute[offensive]": "N",
            },
        )
        assert changed.status_code == 303, changed.text
        public = public_request(deployment, number)
        assert public["service_code"] == "CSROSC-14"
        # Where on the road a pothole is, no question of a sidewalk's graffiti, is dropped; its answer kept.
        assert public["extended_attributes"]["attributes"] == [{"code": "offensive", "value": "N"}]
        assert request_count(deployment) == 1


def test_a_remote_citys_report_is_not_changed_but_kept_or_closed(deploy: Deploy) -> None:
    city_url = "https://open311.city.example/v2"
    with deploy(remote={"enabled": True, "base_url": city_url}, jobs={"enabled": False}) as deployment:
        item_id = enqueue_report(
            deployment.runtime,
            resident_id="res-remote",
            text="sorry, it's actually a broken streetlight, not a pothole",
            reason=kind_reason("R7", "Pothole", "Streetlight"),
            service_code="streetlight",
        )
        client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
        page = client.get(f"/operator/queue/{item_id}").text
        assert "This bot cannot change it" in page
        assert f'action="/operator/queue/{item_id}/change"' not in page
        assert client.get(f"/operator/api/queue/{item_id}").json()["kind_correction"]["cannot_change"]
        refused = client.post(f"/operator/api/queue/{item_id}/change", json={}, headers=headers)
        assert refused.status_code == 409
        note = "Changed R7 to Streetlight in the city's system."
        closed = client.post(f"/operator/api/queue/{item_id}/close", json={"note": note}, headers=headers)
        assert closed.status_code == 200, closed.text
        assert closed.json()["kind_correction"]["note"] == note


def test_approving_a_class_several_services_share_with_no_service_chosen_names_the_choices(
    deploy: Deploy,
) -> None:
    # Before: the server filed the first of them (Bridge - Graffiti Complaint), a choice no one made.
    with deploy(open311=TORONTO) as deployment:
        url = deployment.url
        report_as_resident(url, "ben", "someone tagged the litter bin at Market St and 5th St")
        item_id = review_item_of(deployment.runtime, "ben")
        client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
        headers = {"X-CSRF-Token": csrf}
        as_json = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
        assert as_json.status_code == 400
        assert all(code in as_json.json()["error"] for code in GRAFFITI_CODES)
        client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
        no_radio = client.post(
            f"/operator/queue/{item_id}/approve", data={"csrf_token": csrf, "description": "tag on the bin"}
        )
        assert no_radio.status_code == 400
        assert 'id="service_code-error"' in no_radio.text
        assert "Litter Bin - Graffiti Complaint (SWLMALB-02)" in no_radio.text
        assert request_count(deployment) == 0
        filed = client.post(
            f"/operator/api/queue/{item_id}/approve",
            json={"service_code": "SWLMALB-02", "attributes": {"bin_number": "12"}},
            headers=headers,
        )
        assert filed.status_code == 200, filed.text
        assert request_count(deployment) == 1
