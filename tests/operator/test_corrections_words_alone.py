"""An operator's decision is exported as a training example only when the resident's words alone carry it.

A black-box tester found ``what is this??,graffiti,sure`` in the corrections export: the operator read the
photo, not the words, and training on the row teaches that "what is this??" means graffiti. Residents
report through the local channel (the shipped classifier suggests, every report goes to review), an
operator decides each through the console's JSON calls, and the deployer exports with
``open311-bot operators export-corrections`` for ``open311-bot train --corrections``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import httpx

from tests.operator.support import (
    PASSWORDS,
    Deployment,
    operators_cli,
    report_as_resident,
    review_item_of,
)
from tests.operator.test_console_access import signed_in_client

PLACE = "5th St and Market St"
PHOTO = "https://photos.example.org/report.jpg"


def reported(deployment: Deployment, resident_id: str, text: str, *, photo: bool = False) -> int:
    """A resident's report as the bot queued it for a person: its review item's id."""
    if photo:
        sent = httpx.post(
            f"{deployment.url}/local/messages", json={"from": resident_id, "media_url": PHOTO}, timeout=30
        )
        assert sent.status_code == 200, sent.text
    report_as_resident(deployment.url, resident_id, text, PLACE)
    return review_item_of(deployment.runtime, resident_id)


def test_only_words_that_name_the_problem_are_exported(deployment: Deployment, tmp_path: Path) -> None:
    decisions = {
        # The operator decided these from the photo or from what they know: the words name no problem.
        reported(deployment, "res-what", "what is this??", photo=True): "graffiti",
        reported(deployment, "res-problem", "this is a problem"): "illegal_parking",
        reported(deployment, "res-again", "the thing is broken again", photo=True): "pothole",
        # Beside a photo, words that led the classifier elsewhere (street cleaning): the photo decided.
        reported(deployment, "res-mess-photo", "this mess", photo=True): "illegal_dumping",
        # The words carry these: a problem word, or words the classifier reads as the problem.
        reported(deployment, "res-tags", "graffiti all over the wall", photo=True): "graffiti",
        reported(deployment, "res-hole", "big hole in the road"): "pothole",
        # A correction of the suggestion, to a service the words name.
        reported(deployment, "res-car", "car blocking my driveway again"): "illegal_parking",
        # Without a photo the operator corrected what the words were read as: that is what to learn.
        reported(deployment, "res-mess", "this mess"): "illegal_dumping",
    }
    client, csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    for item_id, service_code in decisions.items():
        approved = client.post(
            f"/operator/api/queue/{item_id}/approve",
            json={"service_code": service_code},
            headers={"X-CSRF-Token": csrf},
        )
        assert approved.status_code == 200, approved.text
    # Words that name no problem teach ``other`` when a person says it is none of the city's.
    weather = reported(deployment, "res-weather", "what is the weather tomorrow", photo=True)
    rejected = client.post(
        f"/operator/api/queue/{weather}/reject",
        json={"reason": "We cannot help with that.", "not_city_problem": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert rejected.status_code == 200, rejected.text

    target = tmp_path / "corrections.csv"
    settings = deployment.settings
    exported = operators_cli(
        settings.data_dir, settings.effective_database_url, "export-corrections", str(target)
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [(row["text"], row["service_code"], row["sure"]) for row in rows] == [
        ("graffiti all over the wall", "graffiti", "sure"),
        ("big hole in the road", "pothole", "sure"),
        ("car blocking my driveway again", "illegal_parking", "sure"),
        ("this mess", "illegal_dumping", "sure"),
        ("what is the weather tomorrow", "other", "sure"),
    ]
    assert "wrote 5 labelled examples" in exported.stdout
