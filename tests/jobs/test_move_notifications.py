"""A request moved to another place (an operator applying its filer's correction) is a change like a status
change: an entry of its history, an event after commit, and one message to each resident who filed or
follows it, in their language. Before, a move left no history entry and told no one.

So is a request made one of another service (its filer said "a broken streetlight, not a pothole"): before,
the core had no way to change a request's service, and an operator filed a second request instead.

On a real database (SQLite and PostgreSQL), through the core and the notification step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.embedded_backend import EmbeddedBackend
from bot.open311.catalog import CATALOG_DIR
from bot.open311.errors import Conflict, InvalidInput, NotFound
from bot.open311.models import NewRequest, ServiceRequestRow, StatusChangeEvent
from bot.runtime import Runtime
from tests.conftest import make_settings
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


def test_each_follower_is_told_the_new_service_once_in_their_language(runtime: Runtime) -> None:  # noqa: F811
    request_id, _ = new_request(runtime, "pothole")
    assert request_id is not None
    follow_in_each_language(runtime, request_id)
    with runtime.sessions() as session:
        row = session.get(ServiceRequestRow, int(request_id))
        assert row is not None
        filed_updated = row.updated_datetime
    events: list[StatusChangeEvent] = []
    runtime.open311.subscribe(events.append)

    changed = runtime.open311.change_service(request_id, "streetlight", actor="operator:alice")
    assert (changed.service_code, changed.service_name, changed.status) == (
        "streetlight",
        "Streetlight",
        "open",
    )
    assert (
        changed.agency_responsible == "Public Utilities - Streetlights"
    )  # the new service's, not Street Repair
    assert changed.service_notice == "Streetlight outages are repaired within 3 business days."
    assert changed.updated_datetime > filed_updated
    assert (changed.description, changed.lat) == ("dark corner", 37.77)  # its words and place stay
    assert [(e.kind, e.status_notes, e.actor) for e in events] == [
        ("recategorised", "Streetlight", "operator:alice")
    ]
    notes = runtime.open311.get_request(request_id, with_notes=True).notes
    assert [(note.kind, note.status_notes) for note in notes] == [
        ("submitted", None),
        ("recategorised", "Streetlight"),
    ]

    # The job names the service in each follower's language from the catalog.
    services = EmbeddedBackend(runtime.open311).services()
    assert notify(runtime, services=services) == 3
    assert notify(runtime, services=services) == 0
    sent = {row.resident_id: row.text for row in outbox(runtime)}
    assert sent["ann"] == (
        f"Update on report #{request_id}: it is now filed as Streetlight."
        f" Reply UNFOLLOW {request_id} to stop these updates."
    )
    assert (
        f"ahora está registrado como Alumbrado público. Responda DEJAR DE SEGUIR {request_id}"
        in sent["lucia"]
    )
    assert f"报告 #{request_id} 有更新：类别已改为路灯。回复 取消关注 {request_id}" in sent["mei"]
    # A change of status after it is news as before; one of the agency alone is not (the entry before the
    # change of service, not its notes, is what the status change is compared with).
    runtime.open311.update_status(request_id, "open", None, agency_responsible="Crew 7", actor="crew")
    assert notify(runtime) == 0
    runtime.open311.update_status(request_id, "closed", "Lamp replaced", actor="crew")
    assert notify(runtime) == 3


def test_the_new_services_questions_keep_what_fits_and_refuse_what_is_missing(
    tmp_path: Path, database_url: str
) -> None:
    # Toronto's catalog: a pothole asks where on the road it is (required); graffiti whether it is offensive.
    toronto = {"catalog_file": str(CATALOG_DIR / "toronto.toml")}
    settings = make_settings(tmp_path / "data", database_url, open311=toronto)
    toronto_runtime = Runtime.build(settings)
    try:
        core = toronto_runtime.open311
        filed = core.create_request(
            NewRequest(
                service_code="CSROWBM-03",
                lat=43.65,
                long=-79.38,
                description="tags",
                attributes={"offensive": "Y"},
            ),
            actor="test",
        ).service_request_id
        assert filed is not None
        # Graffiti on a bridge made a road's keeps whether it is offensive: both ask it.
        assert core.change_service(filed, "CSROWC-05").attributes == {"offensive": "Y"}
        # A pothole asks where it is, required: refused, naming it, and nothing changes.
        with pytest.raises(InvalidInput) as refused:
            core.change_service(filed, "CSROWR-12")
        assert [error.field for error in refused.value.errors] == ["attribute[lane]"]
        assert core.get_request(filed).service_code == "CSROWC-05"
        # Answered, it is a pothole; whether graffiti is offensive, no question of a pothole's, is dropped.
        pothole = core.change_service(filed, "CSROWR-12", attributes={"lane": "curb_lane"})
        assert (pothole.service_code, pothole.attributes) == ("CSROWR-12", {"lane": "curb_lane"})
        # An answer the new service refuses is refused; the same service again is no change.
        with pytest.raises(InvalidInput):
            core.change_service(filed, "CSROSC-14", attributes={"offensive": "maybe"})
        with pytest.raises(Conflict):
            core.change_service(filed, "CSROWR-12", attributes={"lane": "curb_lane"})
        with pytest.raises(NotFound):
            core.change_service(filed, "no_such_service")
        kinds = [note.kind for note in core.get_request(filed, with_notes=True).notes]
        assert kinds == ["submitted", "recategorised", "recategorised"]
    finally:
        toronto_runtime.close()


def test_a_change_of_service_that_is_rolled_back_leaves_no_trace(runtime: Runtime) -> None:  # noqa: F811
    request_id, _ = new_request(runtime, "pothole")
    assert request_id is not None
    events: list[StatusChangeEvent] = []
    runtime.open311.subscribe(events.append)
    with runtime.sessions() as session:
        runtime.open311.change_service(request_id, "streetlight", session=session)
        session.rollback()
    assert events == []
    kept = runtime.open311.get_request(request_id, with_notes=True)
    assert kept.service_code == "pothole"
    assert [note.kind for note in kept.notes] == ["submitted"]
    with runtime.sessions() as session:
        assert session.exec(select(ServiceRequestRow.service_code)).all() == ["pothole"]
