"""An operator teaches the bot `other` ("a person must look"): rejecting a report as not a problem for a
city service makes it a training example labelled `other` in the corrections export that
`open311-bot train --corrections` reads; any other rejection teaches nothing.

Through the console's real page form (with the CSRF token the page carries) and its JSON call, on a served
app; the export is the console's CSV download.
"""

from __future__ import annotations

import csv
import io

import httpx

from tests.operator.support import PASSWORDS, Deployment, csrf_token, enqueue_report
from tests.operator.test_console_access import signed_in_client

SUGGESTED = [{"service_code": "illegal_parking", "confidence": 0.31}]


def corrections(client: httpx.Client) -> list[dict[str, str]]:
    answer = client.get("/operator/learning/corrections.csv")
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_a_report_rejected_as_not_a_city_problem_is_learnt_as_other(deployment: Deployment) -> None:
    runtime = deployment.runtime
    meters = enqueue_report(
        runtime,
        resident_id="res-meters",
        text="why are the parking meters so expensive",
        suggestions=SUGGESTED,
    )
    duplicate = enqueue_report(
        runtime, resident_id="res-dup", text="car parked on the sidewalk on Valencia", suggestions=SUGGESTED
    )
    weather = enqueue_report(
        runtime, resident_id="res-weather", text="what is the weather tomorrow", suggestions=SUGGESTED
    )
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

    # The page's reject form offers it, as a labelled checkbox.
    claimed = client.post(f"/operator/queue/{meters}/claim", data={"csrf_token": csrf})
    assert claimed.status_code == 303
    item_page = client.get(f"/operator/queue/{meters}").text
    assert 'name="not_city_problem"' in item_page
    assert "Not a problem for a city service" in item_page
    rejected = client.post(
        f"/operator/queue/{meters}/reject",
        data={
            "csrf_token": csrf_token(item_page),
            "reason": "Parking prices are set by the council, not by 311.",
            "not_city_problem": "yes",
        },
    )
    assert rejected.status_code == 303, rejected.text
    # A rejection for another reason (a duplicate) teaches nothing.
    client.post(f"/operator/queue/{duplicate}/claim", data={"csrf_token": csrf})
    plain = client.post(
        f"/operator/queue/{duplicate}/reject", data={"csrf_token": csrf, "reason": "Duplicate."}
    )
    assert plain.status_code == 303, plain.text
    # The JSON call takes it too.
    headers = {"X-CSRF-Token": csrf}
    answered = client.post(
        f"/operator/api/queue/{weather}/reject",
        json={"reason": "We cannot help with that.", "not_city_problem": True},
        headers=headers,
    )
    assert answered.status_code == 200, answered.text
    refused = client.post(
        f"/operator/api/queue/{weather}/reject",
        json={"reason": "x", "not_city_problem": "yes"},
        headers=headers,
    )
    assert refused.status_code == 400

    rows = corrections(client)
    assert [(row["text"], row["service_code"]) for row in rows] == [
        ("why are the parking meters so expensive", "other"),
        ("what is the weather tomorrow", "other"),
    ]
    assert {row["predicted_code"] for row in rows} == {"illegal_parking"}
    # The learning page counts them as corrections of the bot's suggestion.
    learning = client.get("/operator/learning").text
    assert "Not a city problem (other)" in learning
