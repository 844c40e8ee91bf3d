"""The Open311 core as a library (no HTTP), on SQLite and PostgreSQL: the six operations, validation,
status changes with their history and events, batch acceptance, and joining a caller's transaction."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.open311.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.open311.models import (
    NewRequest,
    RequestQuery,
    ServiceRequestRow,
    StatusChangeEvent,
    StatusChangeRow,
)
from bot.open311.service import Open311Service
from bot.runtime import Runtime
from tests.conftest import make_settings


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(settings)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def core(runtime: Runtime) -> Open311Service:
    return runtime.open311


def pothole(**changes: object) -> NewRequest:
    fields: dict[str, object] = {
        "service_code": "pothole",
        "lat": 37.7837,
        "long": -122.4089,
        "description": "Deep pothole in the right lane",
        "attributes": {"size": "large"},
        "channel": "sms",
    }
    fields.update(changes)
    return NewRequest(**fields)  # type: ignore[arg-type]


def count(runtime: Runtime, table: type[ServiceRequestRow] | type[StatusChangeRow]) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_catalog_and_definitions(core: Open311Service) -> None:
    codes = [service.code for service in core.list_services()]
    assert len(codes) == 16
    assert "other" not in codes
    graffiti = core.get_service_definition("graffiti")
    assert graffiti.metadata
    assert [a.code for a in graffiti.attributes] == ["surface", "offensive"]
    assert {v.key for v in graffiti.attributes[0].values} >= {"road", "sidewalk", "bridge", "litter_bin"}
    with pytest.raises(NotFound) as missing:
        core.get_service_definition("nope")
    assert missing.value.field == "service_code"


def test_realtime_request_is_stored_with_everything_and_its_history(
    core: Open311Service, runtime: Runtime
) -> None:
    events: list[StatusChangeEvent] = []
    core.subscribe(events.append)
    submission = core.create_request(
        pothole(
            email="ana@example.org", phone="+14155550100", account_id="A-1", media_url="https://x.org/p.jpg"
        )
    )
    assert submission.token is None
    assert submission.service_request_id
    assert submission.service_notice
    assert submission.account_id == "A-1"

    stored = core.get_request(submission.service_request_id, with_notes=True)
    assert stored.status == "open"
    assert stored.channel == "sms"
    assert stored.service_name == "Pothole"
    assert stored.agency_responsible
    assert stored.email == "ana@example.org"
    assert stored.phone == "+14155550100"
    assert stored.media_url == "https://x.org/p.jpg"
    assert stored.attributes == {"size": "large"}
    assert stored.requested_datetime.tzinfo is not None
    assert [note.kind for note in stored.notes] == ["submitted"]
    assert [(e.kind, e.status, e.service_request_id, e.channel) for e in events] == [
        ("submitted", "open", submission.service_request_id, "sms")
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_code": "nope"}, "service_code"),
        ({"lat": None, "long": None}, "address_string"),
        ({"lat": 91.0}, "lat"),
        ({"long": -181.0}, "long"),
        ({"long": None}, "long"),
        ({"media_url": "ftp://example.org/a.jpg"}, "media_url"),
        ({"email": "not-an-email"}, "email"),
        ({"description": "x" * 4001}, "description"),
        ({"attributes": {"size": "enormous"}}, "attribute[size]"),
        ({"attributes": {"colour": "red"}}, "attribute[colour]"),
        ({"attributes": {"size": ["small", "large"]}}, "attribute[size]"),
        ({"jurisdiction_id": "elsewhere.gov"}, "jurisdiction_id"),
    ],
)
def test_bad_submissions_name_their_field_and_store_nothing(
    core: Open311Service, runtime: Runtime, changes: dict[str, object], field: str
) -> None:
    with pytest.raises((InvalidInput, NotFound)) as refused:
        core.create_request(pothole(**changes))
    assert refused.value.field == field
    assert field.split("[")[0] in refused.value.description
    assert count(runtime, ServiceRequestRow) == 0


def test_every_problem_of_a_submission_is_raised_at_once(core: Open311Service, runtime: Runtime) -> None:
    with pytest.raises(InvalidInput) as refused:
        core.create_request(
            pothole(lat="north", email="nope", attributes={"colour": "red", "size": "enormous"})
        )
    errors = refused.value.errors
    # The spec's parameter order, then the definition's attributes, then codes the service does not have.
    assert [error.field for error in errors] == ["lat", "email", "attribute[size]", "attribute[colour]"]
    assert all(isinstance(error, InvalidInput) and error.errors == (error,) for error in errors)
    # One exception for callers that read one message (the bot's FilingRefused, the operator pages).
    assert refused.value.field == "lat"
    assert refused.value.description == "; ".join(error.description for error in errors)
    assert str(refused.value) == refused.value.description
    assert count(runtime, ServiceRequestRow) == 0
    # The gates come alone: without the service, its attributes cannot be checked.
    with pytest.raises(NotFound) as unknown:
        core.create_request(pothole(service_code="nope", lat="north", email="nope"))
    assert unknown.value.errors == (unknown.value,)


def test_attribute_datatypes_against_a_city_catalog(tmp_path: Path, database_url: str) -> None:
    catalog = tmp_path / "city.toml"
    catalog.write_text(
        """
name = "city"
[[services]]
code = "bulk"
name = "Bulk"
description = "d"
group = "g"
[[services.attributes]]
code = "ITEMS"
datatype = "multivaluelist"
description = "Which items?"
required = true
values = [{ key = "sofa", name = "Sofa" }, { key = "fridge", name = "Fridge" }]
[[services.attributes]]
code = "COUNT"
datatype = "number"
description = "How many?"
[[services.attributes]]
code = "WHEN"
datatype = "datetime"
description = "When?"
[[services.attributes]]
code = "POLE"
datatype = "string"
description = "Pole"
""",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path / "data", database_url, open311={"catalog_file": catalog})
    runtime = Runtime.build(settings)
    try:
        core = runtime.open311
        base = {"service_code": "bulk", "address_string": "1 Main St"}
        bad = [
            ({}, "attribute[ITEMS]"),  # required
            ({"ITEMS": ["sofa", "piano"]}, "attribute[ITEMS]"),
            ({"ITEMS": ["sofa"], "COUNT": "many"}, "attribute[COUNT]"),
            ({"ITEMS": ["sofa"], "WHEN": "yesterday"}, "attribute[WHEN]"),
            # Not in the calendar (a time without a timezone is an ISO 8601 date, the spec's datetime:
            # an HTML datetime-local input's value; tests/open311/test_http_post_requests.py).
            ({"ITEMS": ["sofa"], "WHEN": "2024-02-30T10:00:00"}, "attribute[WHEN]"),
            ({"ITEMS": ["sofa"], "POLE": "two\nlines"}, "attribute[POLE]"),
        ]
        for attributes, field in bad:
            with pytest.raises(InvalidInput) as refused:
                core.create_request(NewRequest(**base, attributes=attributes))  # type: ignore[arg-type]
            assert refused.value.field == field, attributes
        ok = core.create_request(
            NewRequest(
                **base,
                attributes={
                    "ITEMS": ["sofa", "fridge", "sofa"],
                    "COUNT": "2",
                    "WHEN": "2024-05-01T10:00:00Z",
                },
            )
        )
        assert ok.service_request_id is not None
        stored = core.get_request(ok.service_request_id)
        assert stored.attributes == {
            "ITEMS": ["sofa", "fridge"],
            "COUNT": "2",
            "WHEN": "2024-05-01T10:00:00Z",
        }
    finally:
        runtime.close()


def test_status_changes_keep_history_and_emit_after_commit(core: Open311Service, runtime: Runtime) -> None:
    request_id = core.create_request(pothole()).service_request_id
    assert request_id is not None
    events: list[StatusChangeEvent] = []
    unsubscribe = core.subscribe(events.append)
    before = core.get_request(request_id)
    expected = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    updated = core.update_status(
        request_id, "closed", "Filled with cold patch.", "Street Repair", expected, actor="crew-7"
    )
    assert updated.status == "closed"
    assert updated.status_notes == "Filled with cold patch."
    assert updated.agency_responsible == "Street Repair"
    assert updated.expected_datetime == expected
    assert updated.updated_datetime >= before.updated_datetime
    reopened = core.update_status(request_id, "open", "Came back after the rain", actor="operator:lee")
    assert reopened.agency_responsible == "Street Repair", "kept when not given"

    history = core.get_request(request_id, with_notes=True).notes
    assert [(n.kind, n.status, n.actor) for n in history] == [
        ("submitted", "open", "sms"),
        ("status", "closed", "crew-7"),
        ("status", "open", "operator:lee"),
    ]
    assert [n.id for n in history] == sorted(n.id for n in history), "the event log's ids only grow"
    assert [(e.status, e.previous_status, e.actor) for e in events] == [
        ("closed", "open", "crew-7"),
        ("open", "closed", "operator:lee"),
    ]
    assert [e.id for e in events] == [n.id for n in history[1:]]

    # In a caller's transaction that rolls back: nothing changes and nothing is announced.
    with runtime.sessions() as session:
        core.update_status(request_id, "closed", "never happened", session=session)
        session.rollback()
    assert core.get_request(request_id).status == "open"
    assert len(events) == 2
    unsubscribe()

    with pytest.raises(InvalidInput):
        core.update_status(request_id, "resolved")
    with pytest.raises(NotFound):
        core.update_status("999999", "closed")
    with pytest.raises(InvalidInput):
        core.update_status(request_id, "closed", expected_datetime=datetime(2030, 1, 1))  # naive


def test_create_request_joins_the_callers_transaction(core: Open311Service, runtime: Runtime) -> None:
    events: list[StatusChangeEvent] = []
    core.subscribe(events.append)
    with runtime.sessions() as session:
        submission = core.create_request(pothole(), session=session)
        assert submission.service_request_id is not None
        session.rollback()
    assert count(runtime, ServiceRequestRow) == 0
    assert count(runtime, StatusChangeRow) == 0
    assert events == []

    with runtime.sessions() as session:
        submission = core.create_request(pothole(), session=session)
        assert events == [], "not announced before the caller commits"
        session.commit()
    assert submission.service_request_id is not None
    assert core.get_request(submission.service_request_id).status == "open"
    assert len(events) == 1


def test_batch_service_answers_with_a_token_accepted_after_the_delay(core: Open311Service) -> None:
    submission = core.create_request(
        NewRequest(
            service_code="missed_collection", address_string="12 Elm St", attributes={"stream": "trash"}
        )
    )
    assert submission.service_request_id is None
    assert submission.token
    token = core.get_token(submission.token)
    assert token.service_request_id is None
    assert token.accepted_at is None

    assert core.accept_pending_tokens(now=token.created_at) == [], "not before the delay has passed"
    later = token.created_at + timedelta(seconds=core.settings.batch_accept_delay_seconds + 1)
    accepted = core.accept_pending_tokens(now=later)
    assert [a.token for a in accepted] == [submission.token]
    assert core.accept_pending_tokens(now=later) == [], "accepted once only"

    resolved = core.get_token(submission.token)
    assert resolved.service_request_id == accepted[0].service_request_id
    request = core.get_request(resolved.service_request_id or "")
    assert request.service_code == "missed_collection"
    assert request.token == submission.token
    assert request.attributes == {"stream": "trash"}
    with pytest.raises(NotFound):
        core.get_token("no-such-token")


def test_operator_acceptance_waits_for_a_person(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "data", database_url, open311={"batch_acceptance": "operator"})
    runtime = Runtime.build(settings)
    try:
        core = runtime.open311
        token = core.create_request(
            NewRequest(service_code="missed_collection", address_string="12 Elm St")
        ).token
        assert token is not None
        far_future = datetime.now(UTC) + timedelta(days=30)
        assert core.accept_pending_tokens(now=far_future) == []
        assert [p.token for p in core.pending_tokens()] == [token]
        accepted = core.accept_token(token, actor="operator:kim")
        assert accepted.service_request_id is not None
        assert core.get_token(token).service_request_id == accepted.service_request_id
        assert core.get_request(accepted.service_request_id, with_notes=True).notes[0].actor == "operator:kim"
        with pytest.raises(Conflict):
            core.accept_token(token, actor="operator:kim")
        assert core.pending_tokens() == []
    finally:
        runtime.close()


def test_query_filters_window_and_paging(core: Open311Service) -> None:
    ids = [core.create_request(pothole()).service_request_id for _ in range(5)]
    graffiti = core.create_request(
        NewRequest(service_code="graffiti", address_string="Valencia & 18th", attributes={"surface": "road"})
    ).service_request_id
    assert all(ids)
    assert graffiti
    core.update_status(ids[0] or "", "closed", "done")

    everything = core.query_requests(RequestQuery())
    assert len(everything) == 6
    assert [r.requested_datetime for r in everything] == sorted(
        (r.requested_datetime for r in everything), reverse=True
    )
    assert {r.service_request_id for r in core.query_requests(RequestQuery(service_codes=("graffiti",)))} == {
        graffiti
    }
    assert [r.service_request_id for r in core.query_requests(RequestQuery(statuses=("closed",)))] == [ids[0]]
    assert len(core.query_requests(RequestQuery(statuses=("open", "closed")))) == 6
    # service_request_id overrides every other filter.
    chosen = core.query_requests(
        RequestQuery(service_request_ids=(ids[1] or "", "nonsense"), service_codes=("x",))
    )
    assert [r.service_request_id for r in chosen] == [ids[1]]

    pages = [core.query_requests(RequestQuery(page=page, page_size=4)) for page in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 2, 0]
    assert {r.service_request_id for p in pages for r in p} == {*ids, graffiti}

    extended = core.query_requests(RequestQuery(extensions=True))
    assert all(r.notes for r in extended)
    assert [n.status for n in next(r for r in extended if r.service_request_id == ids[0]).notes] == [
        "open",
        "closed",
    ]

    now = datetime.now(UTC)
    assert core.query_requests(RequestQuery(end_date=now - timedelta(days=1))) == []
    assert len(core.query_requests(RequestQuery(start_date=now - timedelta(hours=1)))) == 6
    for bad, field in [
        (RequestQuery(start_date=now - timedelta(days=91), end_date=now), "end_date"),
        (RequestQuery(start_date=now, end_date=now - timedelta(days=1)), "start_date"),
        (RequestQuery(statuses=("pending",)), "status"),
        (RequestQuery(page_size=1001), "page_size"),
        (RequestQuery(page=0), "page"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            core.query_requests(bad)
        assert refused.value.field == field


def test_api_keys_are_hashed_and_revocable(core: Open311Service, runtime: Runtime) -> None:
    record, plain = runtime.keys.create("CityFix iOS")
    assert plain not in {record.key_prefix, record.app_name}
    assert runtime.keys.verify(plain).app_name == "CityFix iOS"
    submission = core.create_request(pothole(), api_key=plain, require_api_key=True)
    assert submission.service_request_id
    for wrong in (None, "", "guess"):
        with pytest.raises(Forbidden) as refused:
            core.create_request(pothole(), api_key=wrong, require_api_key=True)
        assert refused.value.field == "api_key"
    assert runtime.keys.revoke_app("CityFix iOS") == 1
    with pytest.raises(Forbidden, match="revoked"):
        core.create_request(pothole(), api_key=plain, require_api_key=True)
    assert [k.revoked_at is not None for k in runtime.keys.list()] == [True]


def test_several_jurisdictions_require_one(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path / "data", database_url, open311={"jurisdictions": ["sfgov.org", "oakland.gov"]}
    )
    runtime = Runtime.build(settings)
    try:
        core = runtime.open311
        with pytest.raises(InvalidInput) as missing:
            core.list_services()
        assert missing.value.field == "jurisdiction_id"
        oakland = core.create_request(pothole(jurisdiction_id="oakland.gov")).service_request_id
        assert oakland is not None
        core.create_request(pothole(jurisdiction_id="sfgov.org"))
        found = core.query_requests(RequestQuery(jurisdiction_id="oakland.gov"))
        assert [r.service_request_id for r in found] == [oakland]
        with pytest.raises(NotFound):
            core.get_request(oakland, "sfgov.org")
    finally:
        runtime.close()


def test_sandbox_has_fixed_cases_needs_no_key_and_leaves_production_alone(
    tmp_path: Path, database_url: str
) -> None:
    production = Runtime.build(make_settings(tmp_path / "data", database_url))
    try:
        production.open311.create_request(pothole())
    finally:
        production.close()

    sandbox = Runtime.build(make_settings(tmp_path / "data", database_url, open311={"sandbox": True}))
    try:
        core = sandbox.open311
        cases = core.query_requests(RequestQuery())
        assert {r.service_code for r in cases} == {"pothole", "graffiti"}
        assert {r.service_request_id for r in cases} == {"1001", "1002", "2001", "2002"}
        assert core.get_request("1002").status == "closed"
        filed = core.create_request(pothole(), api_key=None, require_api_key=True)
        assert filed.service_request_id
        assert int(filed.service_request_id) > 2002
    finally:
        sandbox.close()

    restarted = Runtime.build(make_settings(tmp_path / "data", database_url, open311={"sandbox": True}))
    try:
        ids = {r.service_request_id for r in restarted.open311.query_requests(RequestQuery())}
        assert ids == {"1001", "1002", "2001", "2002"}, "a restart resets the sandbox to its fixed cases"
    finally:
        restarted.close()

    production = Runtime.build(make_settings(tmp_path / "data", database_url))
    try:
        assert len(production.open311.query_requests(RequestQuery())) == 1, "the sandbox wrote elsewhere"
        assert production.open311.query_requests(RequestQuery())[0].channel == "sms"
    finally:
        production.close()


def test_concurrent_writers_and_acceptors_lose_nothing_and_accept_once(core: Open311Service) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def file_both(_: int) -> str:
        filed = core.create_request(pothole())
        assert filed.service_request_id is not None
        core.update_status(filed.service_request_id, "closed", "done")
        token = core.create_request(
            NewRequest(service_code="missed_collection", address_string="1 Elm St")
        ).token
        assert token is not None
        return token

    with ThreadPoolExecutor(6) as pool:
        tokens = list(pool.map(file_both, range(60)))
    later = datetime.now(UTC) + timedelta(minutes=1)
    with ThreadPoolExecutor(4) as pool:
        rounds = list(pool.map(lambda _: core.accept_pending_tokens(now=later, limit=7), range(16)))
    accepted = [status.token for batch in rounds for status in batch]
    # Without SKIP LOCKED (SQLite) concurrent rounds may find their batch already taken; later ticks
    # take the rest. What matters: nobody accepts a token twice, and none is lost.
    while drained := core.accept_pending_tokens(now=later):
        accepted += [status.token for status in drained]
    assert sorted(accepted) == sorted(tokens), "every token accepted exactly once"
    resolved = {core.get_token(token).service_request_id for token in tokens}
    assert None not in resolved
    assert len(resolved) == len(tokens)
    requests = core.query_requests(RequestQuery())
    assert len(requests) == 120
    by_id = {r.service_request_id: r for r in requests}
    token_request = by_id[core.get_token(tokens[0]).service_request_id or ""]
    assert token_request.requested_datetime == core.get_token(tokens[0]).created_at, "when it was submitted"


def test_concurrent_status_changes_keep_a_consistent_history(core: Open311Service) -> None:
    from concurrent.futures import ThreadPoolExecutor

    request_id = core.create_request(pothole()).service_request_id
    assert request_id is not None

    def flip(n: int) -> None:
        core.update_status(request_id, "closed" if n % 2 else "open", f"change {n}", actor=f"worker-{n}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(flip, range(40)))
    notes = core.get_request(request_id, with_notes=True).notes
    assert len(notes) == 41
    # Every change saw the status the previous one left: the history is a chain.
    with core._sessions() as session:  # the stored previous_status column, in event-log order
        rows = session.execute(
            select(StatusChangeRow.status, StatusChangeRow.previous_status)
            .where(StatusChangeRow.request_id == int(request_id))
            .order_by(StatusChangeRow.id)
        ).all()
    for before, after in itertools.pairwise(rows):
        assert after.previous_status == before.status
    assert core.get_request(request_id).status == rows[-1].status


def test_the_key_is_checked_before_the_submission(core: Open311Service) -> None:
    with pytest.raises(Forbidden):
        core.create_request(pothole(lat=123.0), api_key="wrong", require_api_key=True)
