"""Job: forget dialogue state nobody has touched for conversation.state_ttl_hours.

A report abandoned half-way (no location ever sent) must not surprise the resident days later by
treating their next message as its answer. Requests, follows, the inbox and the outbox are records and
are kept.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlmodel import col, delete

from bot.clock import utcnow
from bot.db import SessionFactory
from bot.jobs.context import current
from bot.state import ConversationRecord


def forget_stale_conversations(
    sessions: SessionFactory, ttl: timedelta, *, now: datetime | None = None
) -> int:
    """Deletes dialogue state untouched for ``ttl``; returns how many conversations were forgotten."""
    cutoff = (now or utcnow()) - ttl
    with sessions() as session:
        result = session.exec(delete(ConversationRecord).where(col(ConversationRecord.updated_at) < cutoff))
        session.commit()
        return int(result.rowcount or 0)


async def run() -> None:
    context = current()
    ttl = timedelta(hours=context.settings.conversation.state_ttl_hours)
    await asyncio.to_thread(forget_stale_conversations, context.sessions, ttl)
