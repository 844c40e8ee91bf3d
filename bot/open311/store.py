"""Queries on the core's tables, written with SQLAlchemy Core for speed: one statement per operation,
rows turned straight into the public dataclasses (no ORM identity map, no N+1 for histories)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, bindparam, insert, select
from sqlalchemy.orm import Session

from bot.open311.models import (
    ServiceRequest,
    ServiceRequestRow,
    StatusChangeRow,
    StatusNote,
)

requests_table = ServiceRequestRow.__table__  # type: ignore[attr-defined]
changes_table = StatusChangeRow.__table__  # type: ignore[attr-defined]

_REQUEST_COLUMNS = (
    "id",
    "jurisdiction_id",
    "status",
    "service_code",
    "service_name",
    "requested_datetime",
    "updated_datetime",
    "status_notes",
    "description",
    "agency_responsible",
    "service_notice",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
    "channel",
    "account_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "device_id",
    "token",
    "attributes",
)
_SELECT_REQUESTS = select(*(requests_table.c[name] for name in _REQUEST_COLUMNS))
# Lists without extensions leave out the attributes: decoding 1000 JSON documents is a third of the cost.
_SELECT_REQUESTS_LEAN = select(*(requests_table.c[name] for name in _REQUEST_COLUMNS[:-1]))


# Statements built once: building one per call (values(**...), where(...)) costs more than running it.
# Parameters are passed at execution, so SQLAlchemy compiles each of these once and caches it.
_INSERT_REQUEST = insert(requests_table).returning(requests_table.c.id)
_INSERT_CHANGE = insert(changes_table).returning(changes_table.c.id)
# A number a resident or client types is bound as a BIGINT: bound as the column's INTEGER, PostgreSQL
# refused one above 2,147,483,647 (a 12-digit ticket number from another system) with a 500, where such a
# request simply does not exist. SQLite's INTEGER holds 64 bits (the sandbox's 12-digit test cases).
REQUEST_BY_ID = _SELECT_REQUESTS.where(requests_table.c.id == bindparam("request_id", type_=BigInteger))


def ids_among(ids: Sequence[int]) -> Any:
    """The WHERE clause "the request's id is one of ``ids``", bound as BIGINTs (see REQUEST_BY_ID)."""
    return requests_table.c.id.in_(bindparam("request_ids", list(ids), expanding=True, type_=BigInteger))


Executor = Session | Connection


def select_requests(with_attributes: bool = True) -> Any:
    """A SELECT of every public column of service_requests (the submitted attributes only when asked
    for), ready for where/order_by/limit."""
    return _SELECT_REQUESTS if with_attributes else _SELECT_REQUESTS_LEAN


def to_request(row: Row[Any], notes: tuple[StatusNote, ...] = ()) -> ServiceRequest:
    values = tuple(row)
    attributes = values[26] if len(values) > 26 else None
    (id_, jurisdiction, status, code, name, requested, updated, status_notes, description, agency, notice,
     expected, address, address_id, zipcode, lat, long, media_url, channel, account_id, email, phone,
     first_name, last_name, device_id, token) = values[:26]  # fmt: skip
    return ServiceRequest(
        str(id_), jurisdiction, status, code, name, requested, updated, status_notes, description, agency,
        notice, expected, address, address_id, zipcode, lat, long, media_url, channel, account_id, email,
        phone, first_name, last_name, device_id, token, attributes or {}, notes,
    )  # fmt: skip


def insert_request(session: Session, values: dict[str, Any]) -> int:
    new_id: int = session.execute(_INSERT_REQUEST, values).scalar_one()
    return new_id


def request_by_id(db: Executor, request_id: int) -> Row[Any] | None:
    return db.execute(REQUEST_BY_ID, {"request_id": request_id}).first()


def insert_change(
    session: Session,
    *,
    request_id: int,
    kind: str,
    status: str,
    previous_status: str | None,
    status_notes: str | None,
    agency_responsible: str | None,
    expected_datetime: datetime | None,
    changed_at: datetime,
    actor: str,
) -> int:
    values = {
        "request_id": request_id,
        "kind": kind,
        "status": status,
        "previous_status": previous_status,
        "status_notes": status_notes,
        "agency_responsible": agency_responsible,
        "expected_datetime": expected_datetime,
        "changed_at": changed_at,
        "actor": actor,
    }
    change_id: int = session.execute(_INSERT_CHANGE, values).scalar_one()
    return change_id


def notes_for(session: Executor, request_ids: Sequence[int]) -> dict[int, tuple[StatusNote, ...]]:
    """Every request's history in one query (chunked to stay under bound-parameter limits)."""
    found: dict[int, list[StatusNote]] = defaultdict(list)
    c = changes_table.c
    for start in range(0, len(request_ids), 900):
        chunk = request_ids[start : start + 900]
        query = (
            select(c.request_id, c.id, c.kind, c.status, c.status_notes, c.changed_at, c.actor)
            .where(c.request_id.in_(chunk))
            .order_by(c.id)
        )
        for request_id, change_id, kind, status, status_notes, changed_at, actor in session.execute(query):
            found[request_id].append(StatusNote(change_id, kind, status, status_notes, changed_at, actor))
    return {request_id: tuple(notes) for request_id, notes in found.items()}


def parse_request_ids(values: Iterable[str]) -> list[int]:
    """Our ids are integers; anything else cannot exist (and must not reach the database as a bind)."""
    ids: list[int] = []
    for value in values:
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:  # "³".isdigit() but int("³") fails
            ids.append(int(text))
    return ids
