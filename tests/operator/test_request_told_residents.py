"""What residents were told about a request, on its console page: a caller asks "what did your bot tell me?".

The whole app is served with SMS on the Twilio fake (real HTTP, the twilio client); a resident texts a
report, an operator files it and changes its status through the console's JSON calls, and the fake plays
the carrier, which filters the "filed as #N" text as spam (30007). The request's page lists both replies
(when, channel, the resident masked, the words, whether they arrived) and links to the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from channels.fakes.twilio import FakeTwilio
from tests.operator.support import PASSWORDS, Deployment, report_as_resident
from tests.operator.test_console_access import signed_in_client
from tests.operator.test_undelivered_replies import (
    FILTERED,
    REPORT,
    item_of,
    sent_by_rest,
    served,
    text_the_bot,
    twilio,
)

__all__ = ["served", "twilio"]  # fixtures, used by name


def told_section(html: str) -> str:
    found = re.search(r'<section class="card" aria-labelledby="told">(.*?)</section>', html, re.S)
    assert found is not None, "the request page has no section of what residents were told"
    return found.group(1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_request_page_lists_what_residents_were_told(served: Deployment, twilio: FakeTwilio) -> None:
    client, csrf = signed_in_client(served.url, "alice", PASSWORDS["alice"])
    headers = {"X-CSRF-Token": csrf}
    text_the_bot(served, twilio, FILTERED, REPORT)
    item_id = item_of(served, FILTERED)
    approved = client.post(f"/operator/api/queue/{item_id}/approve", json={}, headers=headers)
    assert approved.status_code == 200, approved.text
    request_id = str(approved.json()["service_request_id"])
    filed = sent_by_rest(twilio, FILTERED, f"#{request_id}")
    assert twilio.status_callback(filed.sid, "sent").status_code == 204
    assert twilio.status_callback(filed.sid, "undelivered", error_code="30007").status_code == 204
    changed = client.post(
        f"/operator/api/requests/{request_id}/status",
        json={"status": "closed", "status_notes": "Patched by the road crew"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    sent_by_rest(twilio, FILTERED, "Patched by the road crew")

    page = client.get(f"/operator/requests/{request_id}")
    assert page.status_code == 200
    told = told_section(page.text)
    assert "What residents were told" in told
    rows = re.findall(r"<tr>(.*?)</tr>", told, re.S)[1:]  # the header row left out
    assert len(rows) == 2, rows
    filing, update = rows
    assert f"filed as #{request_id}" in filing
    assert "phone ending in 0123" in filing
    assert "sms" in filing
    assert "Not delivered" in filing
    assert "filtered it as spam" in filing
    assert "Patched by the road crew" in update
    assert "Delivered" in update
    # The conversation the report came in, on the review item's page.
    assert f'href="/operator/queue/{item_id}#conv"' in told
    # Never the resident's full phone number.
    for number in (FILTERED, FILTERED.removeprefix("+1")):
        assert number not in told
    client.close()


def test_a_request_the_bot_filed_by_itself_shows_the_conversation_it_came_in(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    with deploy(intents={"auto_file_threshold": 0.0}) as deployment:
        replies = report_as_resident(deployment.url, "tg-resident-4417", REPORT)
        filing = next((reply for reply in replies if "filed as #" in reply), None)
        assert filing is not None, replies
        found = re.search(r"#(\d+)", filing)
        assert found is not None
        client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        told = told_section(client.get(f"/operator/requests/{found.group(1)}").text)
        client.close()
    assert "The conversation it was filed in" in told
    assert "big pothole in the road" in told  # what the resident wrote
    assert f"filed as #{found.group(1)}" in told
    assert "Delivered" in told
    assert "resident ending in 4417" in told
    assert "tg-resident-4417" not in told


def test_what_residents_were_told_is_marked_with_the_language_it_is_in(
    deploy: Callable[..., AbstractContextManager[Deployment]],
) -> None:
    """WCAG 3.1.2: a screen reader reads a Spanish resident's words and the bot's Spanish replies as Spanish
    (the item page's conversation does; the request page's carried no lang, so they were read as English)."""
    with deploy(intents={"auto_file_threshold": 0.0}) as deployment:
        replies = report_as_resident(
            deployment.url, "tg-resident-5521", "Hay un bache enorme en la calle en 5th St y Market St"
        )
        found = next((re.search(r"#(\d+)", reply) for reply in replies if re.search(r"#\d+", reply)), None)
        assert found is not None, replies
        client, _ = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
        told = told_section(client.get(f"/operator/requests/{found.group(1)}").text)
        client.close()
    lines = re.findall(r'<li class="(in|out)" lang="([A-Za-z-]+)">', told)
    assert ("in", "es") in lines, told
    assert ("out", "es") in lines, told
    # Each message in the table is in its resident's language; the console's own words stay English.
    message_cells = re.findall(r'<td lang="([A-Za-z-]+)">[^<]*#' + found.group(1), told)
    assert message_cells == ["es"], told
