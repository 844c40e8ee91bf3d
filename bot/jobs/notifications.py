"""Job: turn new status changes (embedded core and remote city) into one message per follower."""

from __future__ import annotations

import asyncio

from bot.embedded_backend import EmbeddedBackend
from bot.jobs.context import JobContext, current
from bot.notifications import CORE, REMOTE, notify_once


def notify_all(context: JobContext) -> int:
    queued = 0
    # The catalog's translations of the services' names (a remote city's services keep their own names).
    services = EmbeddedBackend(context.open311).services()
    for source in (CORE, REMOTE):
        with context.sessions() as session:
            queued += notify_once(
                session,
                context.templates,
                source,
                limit=context.settings.jobs.notify_batch_size,
                services=services,
            )
    return queued


async def run() -> None:
    await asyncio.to_thread(notify_all, current())
