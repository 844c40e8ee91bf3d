"""The operator review queue: reports the bot was not sure enough about to file by itself.

An item keeps everything a person needs to decide without going back to the resident: their own words,
their media, where they said it was (text, kind, point), the codes the classifier suggested with their
confidences, and which conversation it came from so the answer reaches them on the same channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel, col

from bot.clock import utcnow
from bot.open311.models import UTCDateTime

# "moved" and "closed" end a resident's correction of a filed report's place (``corrections``): the report
# was moved there, or the item was closed with the operator's note and nothing moved. "changed" and "kept"
# end a correction of its kind: the report was made one of the service the resident said, or kept as filed
# (the resident is told). "closed" ends one too (a remote city's report, changed in the city's system). None
# of them files anything.
ReviewStatus = Literal["pending", "claimed", "approved", "rejected", "moved", "changed", "kept", "closed"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = (
    "pending",
    "claimed",
    "approved",
    "rejected",
    "moved",
    "changed",
    "kept",
    "closed",
)
# An item with one of these is decided: nothing more can be done with it.
DECIDED_STATUSES: tuple[ReviewStatus, ...] = ("approved", "rejected", "moved", "changed", "kept", "closed")


class ReviewItem(SQLModel, table=True):
    __tablename__ = "review_item"

    id: int | None = Field(default=None, primary_key=True)
    # The conversation it came from: the channel and the resident's id there.
    channel: str = Field(max_length=32, index=True)
    resident_id: str = Field(max_length=128)
    # The inbound message that completed the report (its provider id), for tracing.
    provider_message_id: str | None = Field(default=None, max_length=128)
    # The message to answer in the thread of (the channel's reply_to), once a person has decided.
    reply_to: str | None = Field(default=None, max_length=128)
    language: str = Field(default="en", max_length=8)
    # The resident's own words: they become the request's description.
    text: str
    # Whether those words sound like an emergency (``bot.emergencies``): the console flags the item and lists
    # it first, as a person may be in danger now. Stored, set from the words when they are written (queued,
    # or added to while waiting), so the queue is sorted on it in SQL: the cues are regular expressions in
    # three languages, which SQLite cannot run, and sorting after a LIMIT would miss one past the oldest.
    emergency: bool = False
    media_urls: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"service_code": ..., "confidence": ...}, ...], best first.
    suggestions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Why a person must look ("low confidence", "the core refused: ...").
    reason: str = ""
    location_text: str | None = None
    location_kind: str | None = Field(default=None, max_length=32)
    address_string: str | None = None
    lat: float | None = None
    long: float | None = None
    # Attribute answers already collected, if any.
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Approved: the filed request (id, or token for a batch service). Rejected: the reason told the resident.
    # Closed (a correction): the operator's note, told no one. Kept (a correction of a kind): the operator's
    # note, if any, told no one. Changed: the service the report was made.
    service_code: str | None = Field(default=None, max_length=64)
    service_request_id: str | None = Field(default=None, max_length=64)
    token: str | None = Field(default=None, max_length=64)
    rejection_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The order items wait in: those whose words sound like an emergency first (a person may be in danger now),
# then oldest first.
QUEUE_ORDER = (col(ReviewItem.emergency).desc(), col(ReviewItem.created_at), col(ReviewItem.id))
