"""A point an operator gives is held to the area the city serves, as the Open311 API holds a client's
(``[intents.geocoder] boundary``): a dropped minus sign or another city's coordinates are refused, on the page
next to the fields with what was typed kept, and by the JSON API (400). Against the served app, real HTTP."""

from __future__ import annotations

import re

from bot.review.models import ReviewItem
from tests.operator.support import PASSWORDS, Deployment, enqueue_report
from tests.operator.test_console_access import signed_in_client


def queued(deployment: Deployment, resident_id: str) -> int:
    return enqueue_report(
        deployment.runtime,
        resident_id=resident_id,
        text="graffiti on the wall at 24th and Mission",
        suggestions=[{"service_code": "graffiti", "confidence": 0.5}],
        address_string="24TH ST & MISSION ST",
        lat=37.7524,
        long=-122.4184,
    )


def still_undecided(deployment: Deployment, item_id: int) -> None:
    with deployment.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == "claimed"
        assert item.service_request_id is None


def test_a_point_outside_the_city_is_refused_next_to_the_field_with_what_was_typed(
    deployment: Deployment,
) -> None:
    item_id = queued(deployment, "res-sign")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    form = {
        "csrf_token": csrf,
        "service_code": "graffiti",
        "address_string": "24TH ST & MISSION ST",
        "lat": "37.7524",
        "long": "122.4768",  # the minus sign dropped
    }
    refused = client.post(f"/operator/queue/{item_id}/approve", data=form)
    assert refused.status_code == 400, refused.text
    problem = re.search(r'id="long-error">(.*?)</p>', refused.text, re.S)
    assert problem is not None, refused.text
    assert "outside the area the city serves" in problem.group(1)
    assert 'id="lat-error"' not in refused.text  # the latitude is the city's
    assert 'value="122.4768"' in refused.text
    assert 'value="37.7524"' in refused.text
    # New York's point with San Francisco's address: both fields are named.
    refused = client.post(
        f"/operator/queue/{item_id}/approve", data={**form, "lat": "40.7128", "long": "-74.006"}
    )
    assert refused.status_code == 400, refused.text
    assert 'id="lat-error"' in refused.text
    assert 'id="long-error"' in refused.text
    assert 'value="40.7128"' in refused.text
    still_undecided(deployment, item_id)

    as_json = client.post(
        f"/operator/api/queue/{item_id}/approve", json={"lat": 0, "long": 0}, headers={"X-CSRF-Token": csrf}
    )
    assert as_json.status_code == 400, as_json.text
    assert "outside the area the city serves" in as_json.json()["error"]
    still_undecided(deployment, item_id)

    # The point fixed: filed there.
    filed = client.post(f"/operator/queue/{item_id}/approve", data={**form, "long": "-122.4184"})
    assert filed.status_code == 303, filed.text


def test_every_wrong_coordinate_is_named_at_once(deployment: Deployment) -> None:
    item_id = queued(deployment, "res-both")
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    refused = client.post(
        f"/operator/queue/{item_id}/approve",
        data={"csrf_token": csrf, "service_code": "graffiti", "lat": "abc", "long": "-200"},
    )
    assert refused.status_code == 400, refused.text
    assert "Latitude must be a number" in refused.text
    assert "Longitude must be between -180 and 180." in refused.text
    still_undecided(deployment, item_id)
