"""The default batch-acceptance job: accepts due batch submissions every few seconds.

It runs in the app's lifespan when jobs are enabled and ``batch_acceptance = "auto"``. The step itself is
``Open311Service.accept_pending_tokens``, safe to run from several workers at once.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from bot.open311.service import Open311Service

log = logging.getLogger(__name__)


async def run_batch_acceptance(service: Open311Service, interval_seconds: float) -> None:
    """Loops until cancelled; a failing step is logged and retried at the next tick."""
    while True:
        try:
            accepted = await run_in_threadpool(service.accept_pending_tokens)
            if accepted:
                log.info("accepted %d batch submission(s)", len(accepted))
        except Exception:
            log.exception("batch acceptance failed; retrying in %.1f s", interval_seconds)
        await asyncio.sleep(interval_seconds)
