"""What a black-box tester working a shift in the console found, against the served app (real HTTP, both
databases): an expired reject form keeps its "Not a problem for a city service" tick; a rejection reason has
a length limit as status notes do; request search finds "#15", service names and area words; and the
console refuses what it cannot do instead of saying something untrue.
"""

from __future__ import annotations

import re

from tests.operator.support import (
    PASSWORDS,
    Deployment,
    csrf_token,
    enqueue_report,
    resident_messages,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_not_a_city_problem import SUGGESTED, corrections


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
