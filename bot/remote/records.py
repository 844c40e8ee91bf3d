"""The remote backend's tables.

- ``RemoteSubmission``: a resident's report on its way to the city. Written in the same transaction as
  the conversation step that completed it, and kept until the city has it (pending → token → filed, or
  rejected with the city's reason), so no timeout, 5xx burst or restart loses a report.
- ``RemoteRequestState``: the last status seen for each request filed at the city.
- ``RemoteStatusChange``: every change seen when polling — an event log with a monotonically increasing
  id, scanned by the notification job exactly like the embedded core's status history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.open311.models import UTCDateTime, utcnow

SubmissionState = Literal["pending", "token", "filed", "rejected"]


class RemoteSubmission(SQLModel, table=True):
    __tablename__ = "remote_submission"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    resident_id: str = Field(max_length=128)
    # The GeoReport form fields to POST (``attribute[CODE]`` keys included; lists for multivaluelist).
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16, index=True)
    token: str | None = Field(default=None, max_length=128)
    service_request_id: str | None = Field(default=None, max_length=64, index=True)
    service_notice: str | None = None
    attempts: int = 0
    # When the next step is due (POST again, ask for the token again); also a sender's lease.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_error: str | None = None
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


class RemoteStatusChange(SQLModel, table=True):
    __tablename__ = "remote_status_change"

    id: int | None = Field(default=None, primary_key=True)
    service_request_id: str = Field(max_length=64, index=True)
    service_name: str = Field(default="", max_length=255)
    status: str = Field(max_length=32)
    status_notes: str = ""
    expected_datetime: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
