"""The core's data: database tables (SQLModel) and the typed public models the service returns.

Tables are the storage shape; the public models (frozen dataclasses, cheap to build by the thousand) are
what callers see. Every datetime is timezone-aware UTC in Python; the database keeps naive UTC so SQLite
and PostgreSQL behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

Status = Literal["open", "closed"]
STATUSES: tuple[Status, ...] = ("open", "closed")
AttributeValues = dict[str, str | list[str]]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive datetimes so no local time sneaks in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- tables


class ServiceRequestRow(SQLModel, table=True):
    __tablename__ = "service_requests"
    __table_args__ = (
        # GET requests filters on these and reads newest first (requested_datetime, then id): with id in
        # the index, PostgreSQL reads the page in order instead of sorting the whole 90-day window.
        Index("ix_service_requests_requested_id", "requested_datetime", "id"),
        Index("ix_service_requests_code_requested_id", "service_code", "requested_datetime", "id"),
        Index("ix_service_requests_status_requested_id", "status", "requested_datetime", "id"),
        Index("ix_service_requests_updated", "updated_datetime"),
        # Covers the operator dashboard's volumes (by day, channel, service) without reading the rows.
        Index("ix_service_requests_requested_channel_code", "requested_datetime", "channel", "service_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    jurisdiction_id: str = Field(max_length=255)
    service_code: str = Field(max_length=64)
    service_name: str = Field(max_length=255)
    status: str = Field(max_length=16)
    status_notes: str | None = Field(default=None, sa_type=Text)
    agency_responsible: str | None = Field(default=None, max_length=255)
    service_notice: str | None = Field(default=None, sa_type=Text)
    description: str | None = Field(default=None, sa_type=Text)
    requested_datetime: datetime = Field(sa_type=UTCDateTime)
    updated_datetime: datetime = Field(sa_type=UTCDateTime)
    expected_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    address: str | None = Field(default=None, max_length=1024)
    address_id: str | None = Field(default=None, max_length=255)
    zipcode: str | None = Field(default=None, max_length=32)
    lat: float | None = None
    long: float | None = None
    media_url: str | None = Field(default=None, max_length=2048)
    email: str | None = Field(default=None, max_length=320)
    device_id: str | None = Field(default=None, max_length=255)
    account_id: str | None = Field(default=None, max_length=255)
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    # Where the request came from: "api", "sms", "telegram", "twitter", "local", ...
    channel: str = Field(default="api", max_length=32)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    token: str | None = Field(default=None, max_length=64)


class StatusChangeRow(SQLModel, table=True):
    """The durable event log: one row per change, ids only ever grow (a notification job's cursor)."""

    __tablename__ = "status_changes"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_requests.id", index=True)
    # "submitted" for the request's first row, "status" for changes afterwards, "moved" for a move to
    # another place (its status_notes are the new place; the request's own notes are unchanged),
    # "recategorised" for a change of its service (its status_notes are the new service's name).
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    previous_status: str | None = Field(default=None, max_length=16)
    status_notes: str | None = Field(default=None, sa_type=Text)
    agency_responsible: str | None = Field(default=None, max_length=255)
    expected_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)


class RequestTokenRow(SQLModel, table=True):
    """A batch submission waiting to be accepted; ``request_id`` is set once it is."""

    __tablename__ = "request_tokens"
    __table_args__ = (Index("ix_request_tokens_pending", "request_id", "due_at"),)

    token: str = Field(primary_key=True, max_length=64)
    service_code: str = Field(max_length=64)
    # The validated submission, as NewRequest fields; becomes the request on acceptance.
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    # When automatic acceptance may take it; None waits for an operator.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    request_id: int | None = Field(default=None, foreign_key="service_requests.id")
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_by: str | None = Field(default=None, max_length=255)


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    app_name: str = Field(max_length=255, index=True)
    # SHA-256 of the key: keys are 256 random bits, so a fast hash is safe and keeps POST cheap.
    key_hash: str = Field(max_length=64, unique=True)
    # The first characters, to tell keys apart in listings without revealing them.
    key_prefix: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --------------------------------------------------------------------------------------- public models


@dataclass(frozen=True, slots=True)
class StatusNote:
    """One entry of a request's history (the `notes` extension)."""

    id: int
    kind: str
    status: str
    status_notes: str | None
    changed_at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    service_request_id: str
    jurisdiction_id: str
    status: str
    service_code: str
    service_name: str
    requested_datetime: datetime
    updated_datetime: datetime
    status_notes: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    channel: str = "api"
    account_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    device_id: str | None = None
    token: str | None = None
    attributes: AttributeValues = field(default_factory=dict)
    # Filled only when asked for (extensions=true / get_request(..., with_notes=True)).
    notes: tuple[StatusNote, ...] = ()


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A submission, as the HTTP layer or the bot hands it to the core (validated by the service).

    ``lat`` and ``long`` are numbers (the bot) or the text a client sent (the HTTP layer), which the core
    reads as plain decimals, so that a malformed one is refused together with the submission's other
    problems.
    """

    service_code: str
    jurisdiction_id: str | None = None
    lat: float | str | None = None
    long: float | str | None = None
    address_string: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: AttributeValues = field(default_factory=dict)
    channel: str = "api"


@dataclass(frozen=True, slots=True)
class Submission:
    """What POST requests answers: a request id (realtime) or a token (batch), never both."""

    service_request_id: str | None
    token: str | None
    service_notice: str | None
    account_id: str | None


@dataclass(frozen=True, slots=True)
class TokenStatus:
    token: str
    service_request_id: str | None
    created_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """GET requests filters. ``service_request_ids`` overrides every other filter (per the spec).
    ``extensions`` also loads each request's history (notes) and submitted attributes."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start_date: datetime | None = None
    end_date: datetime | None = None
    statuses: tuple[str, ...] = ()
    page: int = 1
    page_size: int | None = None
    extensions: bool = False
    jurisdiction_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusChangeEvent:
    """Emitted after a status change (or a new request) is committed; ``id`` is the event log's id."""

    id: int
    service_request_id: str
    kind: str
    status: str
    previous_status: str | None
    status_notes: str | None
    changed_at: datetime
    actor: str
    channel: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    app_name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
