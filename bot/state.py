"""The conversation engine's tables: residents, their dialogue state, and the inbox of handled messages.

- ``Resident``: one row per (channel, resident id): language, opt-out, the latest request they filed, their
  public name there (X).
- ``ConversationRecord``: the dialogue in progress (a JSON document of ``bot.conversation.DialogueState``),
  so a restart of the app loses no conversation, and whether it was begun privately.
- ``InboxRecord``: every inbound message handled, keyed by (channel, sender, message id), with the replies it
  produced; a redelivery of the same message returns these and does nothing else. The id is the sender's:
  two local clients that each number their messages from 1 do not collide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel

from bot.clock import utcnow
from bot.open311.models import UTCDateTime

# SQLite lets one writer at a time, and a transaction that read before writing can lose its snapshot to
# another writer ("database is locked" at once, not after the busy timeout): such a transaction is run
# again from the start, up to this many times.
LOCK_RETRIES = 10


def is_lock_conflict(exc: OperationalError) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


class Resident(SQLModel, table=True):
    __tablename__ = "resident"

    channel: str = Field(primary_key=True, max_length=32)
    resident_id: str = Field(primary_key=True, max_length=128)
    language: str | None = Field(default=None, max_length=8)
    # SMS opt-out rules: after STOP nothing more is sent until START.
    opted_out: bool = False
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What "STATUS" alone looks up: the request id, or the token while a batch service has given no id.
    last_request_id: str | None = Field(default=None, max_length=64)
    last_token: str | None = Field(default=None, max_length=64)
    # Their public name on the channel, where its messages carry one (an X @username, without the @; as in
    # their latest public message): how an operator finds a resident no reply reached.
    username: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationRecord(SQLModel, table=True):
    __tablename__ = "conversation"

    channel: str = Field(primary_key=True, max_length=32)
    resident_id: str = Field(primary_key=True, max_length=128)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # On a channel with a public and a private side (X's mentions and direct messages): the report in
    # progress was told, at least in part, privately, so what the bot says of it goes privately, also in
    # answer to a public message.
    private: bool = False


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "resident_id", "provider_message_id", name="uq_inbox_sender_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    provider_message_id: str = Field(max_length=128)
    resident_id: str = Field(max_length=128, index=True)
    text: str = ""
    # The replies produced, as OutboundMessage dicts (see ``bot.outbox.message_to_dict``).
    replies: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def get_resident(session: Session, channel: str, resident_id: str) -> Resident | None:
    return session.get(Resident, (channel, resident_id))


def get_or_create_resident(session: Session, channel: str, resident_id: str) -> Resident:
    resident = get_resident(session, channel, resident_id)
    if resident is None:
        resident = Resident(channel=channel, resident_id=resident_id)
        session.add(resident)
    return resident


def is_opted_out(session: Session, channel: str, resident_id: str) -> bool:
    resident = get_resident(session, channel, resident_id)
    return resident is not None and resident.opted_out


def mark_opted_out(session: Session, channel: str, resident_id: str, *, opted_out: bool = True) -> Resident:
    resident = get_or_create_resident(session, channel, resident_id)
    resident.opted_out = opted_out
    resident.opted_out_at = utcnow() if opted_out else None
    resident.updated_at = utcnow()
    session.add(resident)
    return resident
