"""A review item whose resident's words sound like an emergency (``bot.emergencies``) is flagged for operators
and listed first: the bot tells the resident to call 911, but a person may be in danger now, and before,
"I smell gas near 16th and Valencia" waited in the queue as an ordinary item behind older ones, possibly for
hours. Residents report over the local channel, the console is read over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.db import make_engine, migrate
from bot.review.models import ReviewItem
from tests.operator.support import PASSWORDS, Deployment, report_as_resident, review_item_of, sign_in
from tests.operator.test_console_access import signed_in_client

GAS = "I smell gas near 16th and Valencia"


def queue_order(html: str) -> list[int]:
    """The ids of the items on the queue page, in the order listed."""
    return [int(found) for found in re.findall(r'<li class="card[^"]*" data-item-id="(\d+)"', html)]


def queue_entry(html: str, item_id: int) -> str:
    found = re.search(rf'<li class="card[^"]*" data-item-id="{item_id}">(.*?)</li>', html, re.S)
    assert found is not None, f"item {item_id} is not on the queue page"
    return found.group(1)


def test_an_item_that_sounds_like_an_emergency_is_flagged_and_listed_first(deployment: Deployment) -> None:
    report_as_resident(deployment.url, "res-pothole-1", "There is a big pothole", "5th St and Market St")
    ordinary = review_item_of(deployment.runtime, "res-pothole-1")
    replies = report_as_resident(deployment.url, "res-gas-1", GAS)
    assert any("call 911" in reply for reply in replies), replies  # what the conversation tells them
    gas = review_item_of(deployment.runtime, "res-gas-1")
    assert gas > ordinary  # the ordinary item is older

    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    try:
        page = client.get("/operator/").text
        order = queue_order(page)
        assert order.index(gas) < order.index(ordinary), order
        assert "Sounds like an emergency" in queue_entry(page, gas)
        assert "Sounds like an emergency" not in queue_entry(page, ordinary)

        listed = client.get("/operator/api/queue").json()["items"]
        assert [item["id"] for item in listed].index(gas) < [item["id"] for item in listed].index(ordinary)
        flags = {item["id"]: item["emergency"] for item in listed}
        assert flags[gas] is True
        assert flags[ordinary] is False
        assert client.get(f"/operator/api/queue/{gas}").json()["emergency"] is True
        assert client.get(f"/operator/api/queue/{ordinary}").json()["emergency"] is False

        item_page = client.get(f"/operator/queue/{gas}").text
        notice = re.search(r'<p id="emergency"[^>]*>(.*?)</p>', item_page, re.S)
        assert notice is not None, "the item's page does not flag it"
        assert "Sounds like an emergency" in notice.group(1)
        assert "The bot told the resident to call 911" in notice.group(1)
        assert 'id="emergency"' not in client.get(f"/operator/queue/{ordinary}").text
    finally:
        client.close()


def test_emergency_words_added_to_a_waiting_report_flag_it(deployment: Deployment) -> None:
    report_as_resident(deployment.url, "res-wire-1", "There is a big pothole", "5th St and Market St")
    item_id = review_item_of(deployment.runtime, "res-wire-1")
    replies = report_as_resident(deployment.url, "res-wire-1", "and now a power line is down next to it")
    assert any("call 911" in reply for reply in replies), replies
    with deployment.runtime.sessions() as session:
        item = session.exec(select(ReviewItem).where(ReviewItem.id == item_id)).one()
        assert "power line is down" in item.text  # added to the waiting report, not a report of its own
    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    try:
        assert client.get(f"/operator/api/queue/{item_id}").json()["emergency"] is True
    finally:
        client.close()


def test_the_upgrade_flags_the_items_already_waiting(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0016_operator_names_any_case")  # the release before items were flagged
        with engine.begin() as connection:
            for words in (GAS, "Graffiti on the wall", "huele a gas en la esquina"):
                connection.execute(
                    text(
                        "INSERT INTO review_item (channel, resident_id, language, text, media_urls,"
                        " suggestions, reason, attributes, status, created_at, updated_at) VALUES ('local',"
                        " 'r', 'en', :words, '[]', '[]', '', '{}', 'pending', CURRENT_TIMESTAMP,"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"words": words},
                )
        migrate(engine)
        with engine.connect() as connection:
            flags: dict[str, object] = dict(
                connection.execute(text("SELECT text, emergency FROM review_item")).all()
            )
    finally:
        engine.dispose()
    assert {words: bool(flag) for words, flag in flags.items()} == {
        GAS: True,
        "Graffiti on the wall": False,
        "huele a gas en la esquina": True,
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_item_page_does_not_say_a_resident_who_sent_stop_was_told_to_call_911(
    deployment: Deployment,
) -> None:
    report_as_resident(deployment.url, "res-stop-1", "STOP")
    replies = report_as_resident(
        deployment.url, "res-stop-1", "there is a fire in the dumpster at 16th and Valencia"
    )
    assert replies == []  # after STOP the bot sends nothing, not even the call-911 notice
    item_id = review_item_of(deployment.runtime, "res-stop-1")
    client, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    try:
        assert client.get(f"/operator/api/queue/{item_id}").json()["emergency"] is True
        notice = re.search(
            r'<p id="emergency"[^>]*>(.*?)</p>', client.get(f"/operator/queue/{item_id}").text, re.S
        )
    finally:
        client.close()
    assert notice is not None
    assert "told the resident to call 911" not in notice.group(1)
    assert "did not tell them to call 911: they sent STOP" in notice.group(1)


def test_each_waiting_item_can_be_read_before_it_is_claimed(deployment: Deployment) -> None:
    """The emergency card says "Open it to see what they were told", but an unclaimed item offered only
    "Claim #N": reading an item (its conversation, the 911 notice) meant taking it from the queue first."""
    report_as_resident(deployment.url, "res-gas-2", GAS)
    gas = review_item_of(deployment.runtime, "res-gas-2")
    report_as_resident(deployment.url, "res-pothole-2", "There is a big pothole", "5th St and Market St")
    held = review_item_of(deployment.runtime, "res-pothole-2")
    bob, bobs_csrf = signed_in_client(deployment.url, "bob", PASSWORDS["bob"])
    alice, _csrf = signed_in_client(deployment.url, "alice", PASSWORDS["alice"])
    try:
        assert bob.post(f"/operator/queue/{held}/claim", data={"csrf_token": bobs_csrf}).status_code == 303
        page = alice.get("/operator/").text
        for item_id in (gas, held):
            entry = queue_entry(page, item_id)
            # A link named for its item (a list of links all named "View" says nothing out of context).
            link = rf'<a class="button secondary" href="/operator/queue/{item_id}">View #{item_id}</a>'
            assert re.search(link, entry), entry
        assert f">Claim #{gas}</button>" in queue_entry(page, gas)
        assert "Open it to see what they were told" in queue_entry(page, gas)
        # The link leads to the item's page without claiming it.
        opened = alice.get(f"/operator/queue/{gas}")
        assert opened.status_code == 200
        assert f">Claim #{gas}</button>" in opened.text
    finally:
        alice.close()
        bob.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_emergency_badge_is_written_in_the_main_text_colour(
    deployment: Deployment, open_browser: Any
) -> None:
    """The queue card's details are grey; its "Sounds like an emergency" badge, the one thing to see at a
    glance, was grey on pink too: it is in the page's main text colour."""
    report_as_resident(deployment.url, "res-gas-3", GAS)
    page = open_browser().new_page()
    sign_in(page, deployment.url, "alice", PASSWORDS["alice"])
    badge = page.locator(".queue .badge.emergency").first
    assert badge.inner_text() == "Sounds like an emergency"
    colour = badge.evaluate("(element) => getComputedStyle(element).color")
    main_text = page.evaluate("() => getComputedStyle(document.body).color")
    assert colour == main_text, (colour, main_text)
