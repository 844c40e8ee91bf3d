"""Job: send what the outbox has due (every worker runs it; the claim query keeps senders apart)."""

from __future__ import annotations

import logging

from bot.jobs.context import current

log = logging.getLogger(__name__)

BATCH = 100


async def run() -> None:
    dispatcher = current().dispatcher
    # Keep going while full batches come back, so a burst drains in one run rather than one per interval.
    while True:
        report = await dispatcher.deliver_due(limit=BATCH)
        handled = report.delivered + report.retried + report.failed + report.suppressed + report.lost
        if report.errors:
            log.warning(
                "outbox: %d delivered, %d retried, %d failed: %s",
                report.delivered,
                report.retried,
                report.failed,
                "; ".join(report.errors[:3]),
            )
        if handled < BATCH:
            return
