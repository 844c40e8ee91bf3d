"""A request moved to another place (an operator applying its filer's correction) is a change like a status
change: an entry of its history, an event after commit, and one message to each resident who filed or
follows it, in their language. Before, a move left no history entry and told no one.

On a real database (SQLite and PostgreSQL), through the core and the notification step.
"""

from __future__ import annotations

import pytest

from bot.open311.errors import NotFound
from bot.open311.models import StatusChangeEvent
from bot.runtime import Runtime
from tests.jobs.test_notifications import (  # noqa: F401 (runtime: the fixture)
    follow_in_each_language,
    new_request,
    notify,
    outbox,
    runtime,
)

AT_17TH = "VALENCIA ST & 17TH ST, San Francisco, CA"


def test_each_follower_is_told_the_new_place_once_in_their_language(runtime: Runtime) -> None:  # noqa: F811
    request_id, _ = new_request(runtime)
    assert request_id is not None
    follow_in_each_language(runtime, request_id)
    events: list[StatusChangeEvent] = []
    runtime.open311.subscribe(events.append)

    moved = runtime.open311.move_request(
        request_id, lat=37.7633, long=-122.4217, address=AT_17TH, actor="operator:alice"
    )
    assert (moved.address, moved.lat, moved.status) == (AT_17TH, 37.7633, "open")
    assert [(e.kind, e.status_notes, e.actor) for e in events] == [("moved", AT_17TH, "operator:alice")]
    notes = runtime.open311.get_request(request_id, with_notes=True).notes
    assert [(note.kind, note.status_notes) for note in notes] == [("submitted", None), ("moved", AT_17TH)]

    assert notify(runtime) == 3
    assert notify(runtime) == 0
    sent = {row.resident_id: row.text for row in outbox(runtime)}
    assert sent["ann"].startswith(f"Update on report #{request_id} (")
    assert f"its place is now {AT_17TH}. Reply UNFOLLOW {request_id}" in sent["ann"]
    assert f"ahora su lugar es {AT_17TH}. Responda DEJAR DE SEGUIR" in sent["lucia"]
    assert f"地点已改为 {AT_17TH}。回复 取消关注" in sent["mei"]


def test_a_change_after_a_move_is_news_only_when_it_changes_what_residents_are_told(
    runtime: Runtime,  # noqa: F811
) -> None:
    request_id, _ = new_request(runtime)
    assert request_id is not None
    follow_in_each_language(runtime, request_id)
    runtime.open311.move_request(request_id, lat=None, long=None, address=AT_17TH, actor="operator:alice")
    assert notify(runtime) == 3
    # Only the agency: the entry before the move's (the move's notes are its place) says all the rest.
    runtime.open311.update_status(request_id, "open", None, agency_responsible="Streets", actor="crew")
    assert notify(runtime) == 0
    runtime.open311.update_status(request_id, "closed", None, actor="crew")
    assert notify(runtime) == 3
    english = [row.text for row in outbox(runtime) if row.resident_id == "ann"]
    assert [text.split("): ")[1].split(".")[0] for text in english] == [
        f"its place is now {AT_17TH}",
        "it is now closed",
    ]


def test_a_move_that_is_rolled_back_leaves_no_trace(runtime: Runtime) -> None:  # noqa: F811
    request_id, _ = new_request(runtime)
    assert request_id is not None
    events: list[StatusChangeEvent] = []
    runtime.open311.subscribe(events.append)
    with runtime.sessions() as session:
        runtime.open311.move_request(request_id, lat=None, long=None, address=AT_17TH, session=session)
        session.rollback()
    assert events == []
    kept = runtime.open311.get_request(request_id, with_notes=True)
    assert kept.address != AT_17TH
    assert [note.kind for note in kept.notes] == ["submitted"]
    with pytest.raises(NotFound):
        runtime.open311.move_request("99999", lat=None, long=None, address=AT_17TH)
