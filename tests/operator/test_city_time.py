"""The city's time zone (``time_zone``), as a Chicago deployer met it: a crew's "expected by 8 pm on the
1st" reached residents as "Expected by 2026-12-02", and the console showed every time in UTC. Stored
times stay UTC; residents and operators read the city's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import as_utc, local_minute
from bot.open311.models import ServiceRequestRow
from bot.review.models import ReviewItem
from tests.operator.support import (
    PASSWORDS,
    Deployment,
    enqueue_report,
    file_at,
    report_as_resident,
    wait_for_message,
)
from tests.operator.test_console_access import signed_in_client

CHICAGO = "America/Chicago"
# What the city sent: 8 pm on 1 December in Chicago, 02:00 on the 2nd in UTC.
CREWS_EXPECTED = datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=-6)))


@pytest.fixture
def chicago(
    deploy: Callable[..., AbstractContextManager[Deployment]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    monkeypatch.setenv("OPEN311_BOT_TIME_ZONE", CHICAGO)
    with deploy() as deployed:
        assert deployed.settings.time_zone == CHICAGO
        yield deployed


def test_a_followers_expected_date_is_the_citys_day(chicago: Deployment) -> None:
    request_id = file_at(chicago.runtime, datetime.now(UTC), "streetlight", "api")
    [followed] = report_as_resident(chicago.url, "ann", f"FOLLOW {request_id}")
    assert f"#{request_id}" in followed

    chicago.runtime.open311.update_status(
        request_id, "open", "Crew booked.", expected_datetime=CREWS_EXPECTED, actor="city"
    )

    update = wait_for_message(chicago.url, "ann", "Expected by")
    assert "Expected by 2026-12-01." in update, update  # was 2026-12-02, the day in UTC


def test_the_console_shows_and_reads_times_in_the_citys_zone(chicago: Deployment) -> None:
    # Filed at 03:30 UTC on 2 December: 21:30 on the 1st in Chicago.
    request_id = file_at(chicago.runtime, datetime(2026, 12, 2, 3, 30, tzinfo=UTC), "pothole", "api")
    chicago.runtime.open311.update_status(
        request_id, "open", "", expected_datetime=CREWS_EXPECTED, actor="city"
    )
    item_id = enqueue_report(chicago.runtime, resident_id="res-1", text="graffiti on the wall")
    client, csrf = signed_in_client(chicago.url, "alice", PASSWORDS["alice"])

    page = client.get(f"/operator/requests/{request_id}").text
    assert "2026-12-01 21:30 CST" in page  # filed, and its history
    assert "2026-12-01 20:00 CST" in page  # expected
    assert "UTC" not in page
    assert 'value="2026-12-01T20:00"' in page  # the form holds the city's time too
    assert f"({CHICAGO} time)" in page

    # What the operator types is read in the city's time: 09:30 in Chicago (in December, CST) is 15:30 UTC.
    # Next year's: a date already past is refused.
    year = datetime.now(UTC).year + 1
    form = {"csrf_token": csrf, "status": "open", "status_notes": "", "agency_responsible": ""}
    saved = client.post(
        f"/operator/requests/{request_id}/status", data={**form, "expected_datetime": f"{year}-12-03T09:30"}
    )
    assert saved.status_code == 303, saved.text
    with chicago.runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        assert row.expected_datetime is not None
        assert as_utc(row.expected_datetime) == datetime(year, 12, 3, 15, 30, tzinfo=UTC)

    item = client.get(f"/operator/queue/{item_id}").text
    shown = re.search(r"On local, (\d{4}-\d\d-\d\d \d\d:\d\d) (\w+) \(", item)
    assert shown is not None, item
    assert shown.group(2) in ("CST", "CDT")
    audit = client.get("/operator/audit").text
    assert "When (UTC)" not in audit
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d C[SD]T", audit), audit


def test_the_item_page_says_until_when_a_claim_holds_and_renews_it(chicago: Deployment) -> None:
    item_id = enqueue_report(chicago.runtime, resident_id="res-claim", text="graffiti on the wall")
    client, csrf = signed_in_client(chicago.url, "alice", PASSWORDS["alice"])

    def held_until() -> datetime:
        with chicago.runtime.sessions() as session:
            item = session.get(ReviewItem, item_id)
            assert item is not None
            assert item.claimed_at is not None
            return as_utc(item.claimed_at) + timedelta(minutes=chicago.settings.operator.claim_minutes)

    assert client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf}).status_code == 303
    until = held_until()
    page = client.get(f"/operator/queue/{item_id}").text
    # A claim lapses silently: the page says when, in the city's time, and offers to renew it.
    assert f"Your claim holds until {local_minute(until, ZoneInfo(CHICAGO))}" in page, page
    renew = re.search(
        rf'action="/operator/queue/{item_id}/claim">.*?<button[^>]*>([^<]+)</button>', page, re.S
    )
    assert renew is not None, page
    assert renew.group(1) == "Renew my claim"

    renewed = client.post(f"/operator/queue/{item_id}/claim", data={"csrf_token": csrf})
    assert renewed.status_code == 303
    assert renewed.headers["location"].endswith("done=renewed")
    assert held_until() > until
    again = client.get(renewed.headers["location"]).text
    assert "Claim renewed: it holds until" in again, again
