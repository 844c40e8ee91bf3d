"""Job: send what the outbox has due (every worker runs it; the claim query keeps senders apart).

While the database is unreachable the job says so in one line with the driver's reason, no traceback (not
even the first time: an outage is no fault of the code, and its 60 lines buried the reason), and waits
longer between tries (``Backoff``, up to a minute) instead of failing every second with a full traceback:
a database outage of 23 s once wrote 3,000 lines to the log. A database error that is no outage (a table
missing, SQLite busy) is raised, and the scheduler logs it with its traceback.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.backoff import Backoff
from bot.db_outage import UNREACHABLE_ERRORS, drivers_words, unreachable
from bot.jobs.context import current
from bot.state import is_lock_conflict

log = logging.getLogger(__name__)

BATCH = 100
OUTAGE_BACKOFF = Backoff(first_seconds=1.0, max_seconds=60.0, jitter=0.0)
# What a database that does not answer raises here; ``unreachable`` sorts out the faults among them.
_OUTAGE_ERRORS: tuple[type[Exception], ...] = (*UNREACHABLE_ERRORS, InterfaceError)


class _Outage:
    """This process's view of a database outage: how many rounds failed in a row, when to try again."""

    def __init__(self) -> None:
        self.failures = 0
        self.retry_at = 0.0

    def waiting(self) -> bool:
        return time.monotonic() < self.retry_at

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        delay = OUTAGE_BACKOFF.delay(self.failures)
        self.retry_at = time.monotonic() + delay
        reason = drivers_words(exc)
        if self.failures == 1:
            log.warning("outbox: database unreachable, retrying in %.0f s: %s", delay, reason)
        else:
            log.warning(
                "outbox: database still unreachable (%d tries), retrying in %.0f s: %s",
                self.failures,
                delay,
                reason,
            )

    def ended(self) -> None:
        if self.failures:
            log.warning("outbox: database reachable again after %d failed tries", self.failures)
        self.failures = 0
        self.retry_at = 0.0


_outage = _Outage()


async def run() -> None:
    if _outage.waiting():
        return
    try:
        await _drain()
    except _OUTAGE_ERRORS as exc:
        if isinstance(exc, OperationalError) and is_lock_conflict(exc):
            raise  # SQLite busy: not an outage, and rare (the outbox retries those itself)
        if not unreachable(exc):
            raise  # "no such table" and the like: a fault, traced by the scheduler
        _outage.failed(exc)
        return
    _outage.ended()


async def _drain() -> None:
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
