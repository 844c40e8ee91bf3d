"""What a black-box tester working a shift in the console found, against the served app (real HTTP, both
databases): an expired reject form keeps its "Not a problem for a city service" tick; a rejection reason has
a length limit as status notes do; request search finds "#15", service names and area words; and the
console refuses what it cannot do instead of saying something untrue.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from bot.open311.models import NewRequest
from bot.open311.service import Open311Service
from bot.review.models import ReviewItem
from bot.review.operators import OperatorError, create_operator
from bot.runtime import Runtime
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    csrf_token,
    enqueue_report,
    report_as_resident,
    resident_messages,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_not_a_city_problem import SUGGESTED, corrections
from tests.operator.test_request_edits import open_page


def test_an_expired_reject_form_comes_back_with_its_tick(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-meters",
        text="why are parking meters so dear",
        suggestions=SUGGESTED,
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    entered = {"reason": "Prices are set by the council.", "not_city_problem": "yes"}
    # Another tab signed out and in again since this page was loaded: its token is an earlier session's.
    stale = client.post(f"/operator/queue/{item_id}/reject", data={"csrf_token": "earlier", **entered})
    assert stale.status_code == 403, stale.text
    assert "This form had expired" in stale.text
    assert "Prices are set by the council.</textarea>" in stale.text
    assert re.search(r'name="not_city_problem" value="yes" checked', stale.text), stale.text
    # Submitting it again as it came back rejects it as not a city problem: the example is learnt.
    again = client.post(
        f"/operator/queue/{item_id}/reject", data={"csrf_token": csrf_token(stale.text), **entered}
    )
    assert again.status_code == 303, again.text
    assert [row["service_code"] for row in corrections(client)] == ["other"]


def test_a_rejection_reason_longer_than_a_message_is_refused(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime, resident_id="res-long", text="pothole on 5th", suggestions=SUGGESTED
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    pasted = "This was reported already. " * 800  # 21,600 characters
    refused = client.post(
        f"/operator/queue/{item_id}/reject",
        data={"csrf_token": csrf, "reason": pasted, "not_city_problem": "yes"},
    )
    # Refused as any decision that does not fit the item is (409), next to the field.
    assert refused.status_code == 409, refused.text
    assert "\u201cReason for rejecting\u201d is longer than 500 characters." in refused.text
    # What was entered stays, to shorten.
    assert f"{pasted.strip()}</textarea>" in refused.text
    assert re.search(r'name="not_city_problem" value="yes" checked', refused.text)
    as_json = client.post(
        f"/operator/api/queue/{item_id}/reject", json={"reason": pasted}, headers={"X-CSRF-Token": csrf}
    )
    assert as_json.status_code == 409, as_json.text
    assert as_json.json()["error"] == "reason is longer than 500 characters"
    # A body without a reason is malformed (400), as one with an unknown field is.
    for blank in ({"reason": "   "}, {}, {"reason": None}):
        as_json = client.post(
            f"/operator/api/queue/{item_id}/reject", json=blank, headers={"X-CSRF-Token": csrf}
        )
        assert as_json.status_code == 400, as_json.text
        assert "give the resident a reason" in as_json.json()["error"]
    # Nothing was sent or decided; one that fits is.
    assert not [text for text in resident_messages(deployment.url, "res-long") if "not filed" in text]
    fits = "x" * 500
    assert (
        client.post(
            f"/operator/queue/{item_id}/reject", data={"csrf_token": csrf, "reason": fits}
        ).status_code
        == 303
    )
    assert wait_for_message(deployment.url, "res-long", "not filed").endswith(fits)


def file_request(runtime: Runtime, service_code: str, description: str, **place: Any) -> str:
    """Files a request through the core, as the bot does (an address, no zip code) or an API client may."""
    core = Open311Service(runtime.sessions, runtime.catalog, runtime.settings.open311, runtime.keys)
    filed = core.create_request(
        NewRequest(service_code=service_code, lat=37.76502, long=-122.42196, description=description, **place)
    )
    assert filed.service_request_id is not None
    return filed.service_request_id


def ids_found(client: httpx.Client, **params: str) -> list[str]:
    listed = client.get("/operator/api/requests", params=params)
    assert listed.status_code == 200, listed.text
    return sorted(str(row["service_request_id"]) for row in listed.json()["requests"])


def test_request_search_finds_the_number_as_residents_see_it_service_names_and_streets(
    deployment: Deployment,
) -> None:
    runtime = deployment.runtime
    sofa = file_request(runtime, "illegal_dumping", "a sofa", address_string="VALENCIA ST & 16TH ST")
    tag = file_request(runtime, "graffiti", "tag on the wall", address_string="MISSION ST & 24TH ST")
    zipped = file_request(
        runtime, "graffiti", "more paint", address_string="3321 16TH ST", zipcode="94110", channel="api"
    )
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    # The number as the bot writes it in every reply ("#15"), and bare.
    assert ids_found(client, q=f"#{sofa}") == [sofa]
    assert ids_found(client, q=sofa) == [sofa]
    # Words of the service's name, as of the description.
    assert ids_found(client, q="graffiti") == sorted([tag, zipped])
    assert ids_found(client, q="dumping sofa") == [sofa]
    # The area: words of the address; a zip code where the request has one (the bot's have none), and the
    # page says so.
    assert ids_found(client, area="valencia") == [sofa]
    assert ids_found(client, area="94110") == [zipped]
    page = client.get("/operator/requests", params={"area": "94110"}).text
    assert "the requests it files are found by the words of their address" in page
    assert "where the request has one" in page
    assert "zip-note" not in client.get("/operator/requests", params={"area": "valencia"}).text


def test_a_filter_that_cannot_match_is_refused_and_a_page_past_the_end_says_so(
    deployment: Deployment,
) -> None:
    for number in range(3):
        file_request(deployment.runtime, "graffiti", f"tag {number}", address_string="MISSION ST & 24TH ST")
    client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    refusals = {
        "start=2026-03-02&end=2026-03-01": (
            "\u201cFrom\u201d (2026-03-02) is later than \u201cTo\u201d (2026-03-01)"
        ),
        "status=bogus": "\u201cStatus\u201d must be one of: open, closed",
        "service_code=nope": "\u201cService\u201d has no service &#39;nope&#39;",
    }
    for query, message in refusals.items():
        answer = client.get(f"/operator/requests?{query}")
        assert answer.status_code == 400, (query, answer.status_code)
        assert message in answer.text, answer.text
        as_json = client.get(f"/operator/api/requests?{query}")
        assert as_json.status_code == 400, (query, as_json.text)
    assert client.get("/operator/requests?status=open&service_code=graffiti").status_code == 200
    past = client.get("/operator/requests", params={"page": "99999"})
    assert past.status_code == 200
    assert "3 requests; page 99999 is past the last page" in past.text
    assert "None on this page." in past.text


def test_the_confirmation_says_who_is_told(deployment: Deployment) -> None:
    url, runtime = deployment.url, deployment.runtime
    place = {"address_string": "VALENCIA ST & 16TH ST", "lat": 37.76502, "long": -122.42196}
    report_as_resident(url, "res-stopped", "STOP")
    stopped = enqueue_report(
        runtime, resident_id="res-stopped", text="graffiti on the wall", suggestions=SUGGESTED, **place
    )
    other = enqueue_report(runtime, resident_id="res-stopped", text="more graffiti", suggestions=SUGGESTED)
    client, csrf = signed_in_client(url, "alice", PASSWORDS["alice"])
    approve = {
        "csrf_token": csrf,
        "service_code": "graffiti",
        **{key: str(value) for key, value in place.items()},
    }
    approved = client.post(f"/operator/queue/{stopped}/approve", data=approve, follow_redirects=True)
    assert approved.status_code == 200, approved.text
    assert "Approved and filed; the resident is not told the request id (they sent STOP" in approved.text
    assert "being told" not in approved.text
    rejected = client.post(
        f"/operator/queue/{other}/reject",
        data={"csrf_token": csrf, "reason": "Duplicate."},
        follow_redirects=True,
    )
    assert "Rejected; the resident is not told why (they sent STOP" in rejected.text

    request_id = file_request(runtime, "graffiti", "tag", address_string="MISSION ST & 24TH ST")
    form = open_page(client, request_id)
    words = client.post(
        f"/operator/requests/{request_id}/status",
        data={**form, "description": "tag on the wall"},
        follow_redirects=True,
    )
    assert "Saved; no one is notified of this change." in words.text, words.text
    form = open_page(client, request_id)
    closed = client.post(
        f"/operator/requests/{request_id}/status", data={**form, "status": "closed"}, follow_redirects=True
    )
    assert "Saved; residents following this request are being told." in closed.text


def test_approving_with_the_place_cleared_asks_for_one(deployment: Deployment) -> None:
    item_id = enqueue_report(
        deployment.runtime,
        resident_id="res-place",
        text="graffiti on the wall",
        suggestions=SUGGESTED,
        address_string="VALENCIA ST & 16TH ST",
        lat=37.76502,
        long=-122.42196,
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    cleared = {"csrf_token": csrf, "service_code": "graffiti", "address_string": "", "lat": "", "long": ""}
    refused = client.post(f"/operator/queue/{item_id}/approve", data=cleared)
    assert refused.status_code == 400, refused.text
    assert "Give the place to file this report at" in refused.text
    assert re.search(
        r'id="address_string" name="address_string" type="text" aria-invalid="true"', refused.text
    )
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.service_request_id is None
        assert item.status == "claimed"


def test_operator_names_are_case_insensitive(deployment: Deployment) -> None:
    runtime = deployment.runtime
    taken = pytest.raises(OperatorError, match="an operator named 'alice' already exists")
    with runtime.sessions() as session, taken:
        create_operator(session, "Alice", "another long passphrase")
    # "ALICE" signs in to alice's account.
    client, _ = signed_in_client(deployment.url, "ALICE", PASSWORDS["alice"])
    assert "Signed in as <strong>alice</strong>" in client.get("/operator/").text
    # Accounts made before that which differ only in case (the database refuses new ones since): each signs
    # in by its exact name, another spelling is a guess (test_operator_names, from the schema before).
