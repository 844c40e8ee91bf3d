"""The audit log: who did what to which thing, when, and what it looked like before and after.

Every operator action in the console writes one entry in the same transaction as the change it records
(callers add the entry to their session and commit once), so the log never claims a change that did not
happen nor misses one that did. Entries are only ever added.

Sign-ins are recorded too, each with the client's address: a successful one under the operator's name, a
failed one and a lockout under "(not signed in)", about the operator name tried (or the address locked out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, and_, col, func, or_, select

from bot.clock import as_utc, utcnow
from bot.open311.models import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "operator_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    actor: str = Field(index=True, max_length=64)
    # e.g. "sign_in", "review.approve", "review.reject", "request.update"
    action: str = Field(index=True, max_length=64)
    subject_type: str = Field(default="", max_length=32)
    subject_id: str = Field(default="", index=True, max_length=64)
    before_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    after_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    client: str = Field(default="", max_length=64)


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    client: str

    @property
    def changed_keys(self) -> list[str]:
        keys = sorted(set(self.before) | set(self.after))
        return [key for key in keys if self.before.get(key) != self.after.get(key)]


def _dump(values: dict[str, Any] | None) -> str:
    # default=str: datetimes and decimals are logged as text rather than refused.
    return json.dumps(values or {}, default=str, ensure_ascii=False, sort_keys=True)


def add_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str = "",
    subject_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client: str = "",
) -> AuditEntry:
    """Adds an entry to ``session`` without committing: it lands with the change it describes."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before_json=_dump(before),
        after_json=_dump(after),
        client=client[:64],
    )
    session.add(entry)
    return entry


def record(session: Session, **fields: Any) -> AuditEntry:
    """Adds an entry and commits it, for actions whose change lives elsewhere (sign-in, sign-out)."""
    entry = add_entry(session, **fields)
    session.commit()
    return entry


def recent_entries(
    session: Session,
    *,
    limit: int = 100,
    actor: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> list[AuditView]:
    """The latest entries, newest first. ``actor``: what that operator did, and what was done to their account
    or tried with their name (sign-ins that failed under it), in any case, as names are: "BOB" is bob (the
    actor matched exactly found, for "BOB", the entries about bob's account but none of bob's decisions)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if actor:
        named = func.lower(AuditEntry.subject_id) == actor.lower()
        about = and_(AuditEntry.subject_type == "operator", named)
        query = query.where(or_(func.lower(AuditEntry.actor) == actor.lower(), about))
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEntry.subject_id == subject_id)
    return [_view(entry) for entry in session.exec(query).all()]


def _view(entry: AuditEntry) -> AuditView:
    assert entry.id is not None
    return AuditView(
        id=entry.id,
        at=as_utc(entry.at),
        actor=entry.actor,
        action=entry.action,
        subject_type=entry.subject_type,
        subject_id=entry.subject_id,
        before=json.loads(entry.before_json),
        after=json.loads(entry.after_json),
        client=entry.client,
    )
