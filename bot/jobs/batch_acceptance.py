"""Job: accept batch (token) requests whose acceptance delay has passed (open311.batch_acceptance="auto")."""

from __future__ import annotations

import asyncio

from bot.jobs.context import current


async def run() -> None:
    await asyncio.to_thread(current().open311.accept_pending_tokens)
