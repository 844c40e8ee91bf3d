"""Who hears about a request's status changes: the resident who filed it and anyone who FOLLOWs it.

One row per (request, channel, resident). Filing a request through the bot adds the filer
(``reason="filed"``); ``FOLLOW <id>`` adds a follower; ``UNFOLLOW <id>`` removes either. Notifications go
to every row of the request, on the channel of that row (the channel the resident used).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from bot.clock import utcnow
from bot.open311.models import UTCDateTime

FollowReason = Literal["filed", "followed"]


class Follow(SQLModel, table=True):
    __tablename__ = "follow"
    __table_args__ = (
        UniqueConstraint("service_request_id", "channel", "resident_id", name="uq_follow_request_resident"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The Open311 service_request_id (of the embedded core, or of the remote city when filing there).
    service_request_id: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=32)
    resident_id: str = Field(max_length=128)
    reason: str = Field(default="followed", max_length=16)
    # The provider's id of the message the report was made in (a tweet, a Telegram message): updates answer
    # in its thread, in public where the report was public (on X a mention, not a DM). None: a plain message.
    reply_to: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _find(session: Session, service_request_id: str, channel: str, resident_id: str) -> Follow | None:
    return session.exec(
        select(Follow).where(
            Follow.service_request_id == service_request_id,
            Follow.channel == channel,
            Follow.resident_id == resident_id,
        )
    ).first()


def follow(
    session: Session,
    service_request_id: str,
    channel: str,
    resident_id: str,
    *,
    reason: FollowReason = "followed",
    reply_to: str | None = None,
) -> bool:
    """Adds the resident to the request's followers in the caller's transaction; False if already there."""
    if _find(session, service_request_id, channel, resident_id) is not None:
        return False
    session.add(
        Follow(
            service_request_id=service_request_id,
            channel=channel,
            resident_id=resident_id,
            reason=reason,
            reply_to=reply_to,
        )
    )
    return True


def unfollow(session: Session, service_request_id: str, channel: str, resident_id: str) -> bool:
    """Removes the resident from the request's followers; False if they were not following it."""
    row = _find(session, service_request_id, channel, resident_id)
    if row is None:
        return False
    session.delete(row)
    return True


def followers(session: Session, service_request_id: str) -> Sequence[Follow]:
    return session.exec(
        select(Follow).where(Follow.service_request_id == service_request_id).order_by(col(Follow.id))
    ).all()


def filed_in_thread(
    session: Session, references: Sequence[str], channel: str, resident_id: str
) -> bool | None:
    """Whether the resident filed the request known by any of ``references`` in a message with a thread
    (on X a mention, in public: True) or without one (a direct message: False); None when no row says they
    filed it (someone else's request, or one they have UNFOLLOWed since)."""
    rows = session.exec(
        select(Follow).where(
            col(Follow.service_request_id).in_(references),
            Follow.channel == channel,
            Follow.resident_id == resident_id,
            Follow.reason == "filed",
        )
    ).all()
    return any(row.reply_to is not None for row in rows) if rows else None


def follow_filed(
    session: Session,
    service_request_id: str | None,
    token: str | None,
    channel: str,
    resident_id: str,
    *,
    reply_to: str | None = None,
) -> None:
    """The resident who filed a request follows it, by its number or, until it has one, by its token;
    ``reply_to`` is the message the report was made in, whose thread its updates answer in."""
    reference = service_request_id or token
    if reference:
        follow(session, reference, channel, resident_id, reason="filed", reply_to=reply_to)
