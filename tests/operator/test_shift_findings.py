"""What a black-box tester working a shift in the console found, against the served app (real HTTP, both
databases): an expired reject form keeps its "Not a problem for a city service" tick; a rejection reason has
a length limit as status notes do; request search finds "#15", service names and area words; and the
console refuses what it cannot do instead of saying something untrue.
"""

from __future__ import annotations

import re

from tests.operator.support import PASSWORDS, Deployment, csrf_token, enqueue_report
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
