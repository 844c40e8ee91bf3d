"""Job: forget dialogue state nobody has touched for conversation.state_ttl_hours, and blank the words of
messages older than retention.message_text_days.

A report abandoned half-way (no location ever sent) must not surprise the resident days later by
treating their next message as its answer. What residents wrote and what the bot answered them is personal
data, kept only as long as the city says: after it, an inbox row keeps its ids but not the message's text
nor its stored replies, and a sent (or given up) outbox row keeps its ids, status and dedupe key but not its
text, choices, photos or last error. The rows stay because exactly-once needs them: a provider's redelivery
of an old message is still recognised (and answered with nothing), and a status update already queued is
not queued again. Requests, follows and review items are records and are kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, or_, update
from sqlmodel import col, delete

from bot.clock import utcnow
from bot.db import SessionFactory
from bot.jobs.context import current
from bot.outbox import OutboxMessage
from bot.state import ConversationRecord, InboxRecord

# How an empty JSON list column reads as text (bot.db writes JSON with orjson: no spaces).
_EMPTY_LIST = "[]"


@dataclass(frozen=True, slots=True)
class BlankedText:
    inbox: int
    outbox: int


def forget_stale_conversations(
    sessions: SessionFactory, ttl: timedelta, *, now: datetime | None = None
) -> int:
    """Deletes dialogue state untouched for ``ttl``; returns how many conversations were forgotten."""
    cutoff = (now or utcnow()) - ttl
    with sessions() as session:
        result = session.exec(delete(ConversationRecord).where(col(ConversationRecord.updated_at) < cutoff))
        session.commit()
        return int(result.rowcount or 0)


def blank_old_message_text(
    sessions: SessionFactory, older_than: timedelta, *, now: datetime | None = None
) -> BlankedText:
    """Blanks the words of inbox rows received, and of finished outbox rows created, before ``older_than``
    ago; returns how many rows of each changed (rows blanked before are not written again)."""
    cutoff = (now or utcnow()) - older_than
    with sessions() as session:
        inbox = session.execute(
            update(InboxRecord)
            .where(
                col(InboxRecord.received_at) < cutoff,
                or_(col(InboxRecord.text) != "", cast(InboxRecord.replies, Text) != _EMPTY_LIST),
            )
            .values(text="", replies=[])
            .execution_options(synchronize_session=False)
        )
        outbox = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.created_at) < cutoff,
                # A pending row is still to be sent (or sent again after a failure partway): it needs them.
                col(OutboxMessage.status) != "pending",
                or_(
                    col(OutboxMessage.text) != "",
                    cast(OutboxMessage.choices, Text) != _EMPTY_LIST,
                    cast(OutboxMessage.media_urls, Text) != _EMPTY_LIST,
                    col(OutboxMessage.last_error).is_not(None),
                ),
            )
            .values(text="", choices=[], media_urls=[], last_error=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return BlankedText(inbox=_count(inbox), outbox=_count(outbox))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def run() -> None:
    context = current()
    settings = context.settings
    ttl = timedelta(hours=settings.conversation.state_ttl_hours)
    await asyncio.to_thread(forget_stale_conversations, context.sessions, ttl)
    days = settings.retention.message_text_days
    if days:
        await asyncio.to_thread(blank_old_message_text, context.sessions, timedelta(days=days))
