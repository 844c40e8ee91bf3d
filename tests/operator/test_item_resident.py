"""A review item's page says which language its resident speaks with the bot and whether they sent STOP:
an operator deciding it knows the resident will read the bot's answer in Spanish, or will not be told at
all (they unsubscribed), before deciding, not after (the "untold" flash)."""

from __future__ import annotations

import re

import pytest

from tests.operator.support import PASSWORDS, Deployment, report_as_resident, review_item_of
from tests.operator.test_console_access import signed_in_client


def resident_section(html: str) -> str:
    found = re.search(r'<section class="card" aria-labelledby="words">(.*?)</section>', html, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_item_page_shows_the_residents_language_and_their_stop(deployment: Deployment) -> None:
    words = "Hay un bache enorme en la calle, nadie lo ha arreglado todavía"
    report_as_resident(deployment.url, "res-es-5501", words, "5th St and Market St")
    item_id = review_item_of(deployment.runtime, "res-es-5501")
    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])

    before = resident_section(client.get(f"/operator/queue/{item_id}").text)
    assert "Spanish (es)" in before
    assert "STOP" not in before

    report_as_resident(deployment.url, "res-es-5501", "STOP")
    after = resident_section(client.get(f"/operator/queue/{item_id}").text)
    client.close()
    assert "Spanish (es)" in after
    assert 'id="opted-out"' in after
    assert "sent STOP" in after
    assert "START" in after  # what would undo it
