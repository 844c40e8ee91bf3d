"""The remote backend's tables.

- ``RemoteSubmission``: a resident's report on its way to the city. Written in the same transaction as
  the conversation step that completed it, and kept until the city has it (pending → token → filed), so
  no timeout, 5xx burst or restart loses a report. A report the city refuses goes to the operators' review
  queue (review), unless the refusal is of the bot's key (held until the city accepts it).
- ``RemoteRequestState``: the last status seen for each request filed at the city.
- ``RemoteService``: the city's service list and definitions, refreshed by the sync job and read by the
  conversation (which must not wait on the city's HTTP while a resident waits).
- ``RemoteStatusChange``: every change seen when polling — an event log with a monotonically increasing
  id, scanned by the notification job exactly like the embedded core's status history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.clock import utcnow
from bot.open311.models import UTCDateTime

if TYPE_CHECKING:
    from bot.remote.client import RemoteRequest


class RemoteSubmission(SQLModel, table=True):
    __tablename__ = "remote_submission"

    id: int | None = Field(default=None, primary_key=True)
    # The GeoReport form fields to POST (``attribute[CODE]`` keys included; lists for multivaluelist).
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # "pending", "token", "filed"; "held": the city refused the bot's key (401/403), sent again until it
    # takes it; "review": the city refused the report, now a review item (``review_item_id``) a person
    # files again; "rejected": refused before refusals went to review (kept as a record).
    state: str = Field(default="pending", max_length=16, index=True)
    token: str | None = Field(default=None, max_length=128)
    service_request_id: str | None = Field(default=None, max_length=64, index=True)
    service_notice: str | None = None
    attempts: int = 0
    # When the next step is due (POST again, ask for the token again); also a sender's lease.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    # The review item a refused report became: what a person decided is what its reference now means.
    review_item_id: int | None = None
    # When a POST of it was first sent and not answered in time: the city may have stored it, so before
    # each POST after that the city's requests are searched for it (GeoReport v2 has no idempotency key).
    unanswered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RemoteRequestState(SQLModel, table=True):
    __tablename__ = "remote_request_state"

    service_request_id: str = Field(primary_key=True, max_length=64)
    service_name: str = Field(default="", max_length=255)
    status: str = Field(default="open", max_length=32)
    status_notes: str = ""
    agency_responsible: str = ""
    expected_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def take(self, request: RemoteRequest, checked_at: datetime) -> None:
        """Becomes what the city answered about the request at ``checked_at`` (its name is kept)."""
        self.status = request.status
        self.status_notes = request.status_notes
        self.expected_datetime = request.expected_datetime
        self.agency_responsible = request.agency_responsible
        self.updated_datetime = request.updated_datetime
        self.checked_at = checked_at


class RemoteStatusChange(SQLModel, table=True):
    __tablename__ = "remote_status_change"

    id: int | None = Field(default=None, primary_key=True)
    # "submitted": the city gave the report its number; "status": a change seen when polling;
    # "rejected": the city refused the report (``status_notes`` says why; no service_request_id).
    kind: str = Field(default="status", max_length=16)
    # The resident's local reference (R<number>) of the submission, for "submitted"/"rejected".
    token: str | None = Field(default=None, max_length=64)
    service_request_id: str = Field(default="", max_length=64, index=True)
    service_name: str = Field(default="", max_length=255)
    status: str = Field(max_length=32)
    status_notes: str = ""
    expected_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class RemoteService(SQLModel, table=True):
    __tablename__ = "remote_service"

    service_code: str = Field(primary_key=True, max_length=64)
    service_name: str = Field(max_length=255)
    description: str = ""
    group: str = Field(default="", max_length=255)
    keywords: str = ""
    type: str = Field(default="realtime", max_length=16)
    # The city's order of the list, kept so choices are offered as the city lists them.
    position: int = 0
    # The service definition's attributes, as ``bot.backend.AttributeSpec`` fields.
    attributes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
