"""Jobs for the remote city: submitting reports and resolving tokens (often), polling statuses and the
service catalog (less often). A city that is down is a warning in the log, not a traceback per run: the
reports wait in the database and every step is tried again next time."""

from __future__ import annotations

import logging

from bot.jobs.context import current
from bot.remote.client import RemoteError

log = logging.getLogger(__name__)


async def submit() -> None:
    remote = current().remote
    if remote is not None:
        await remote.run_submissions()  # failures are per report, recorded on it and retried


async def run() -> None:
    remote = current().remote
    if remote is None:
        return
    for step in (remote.refresh_catalog, remote.poll_statuses):
        try:
            await step()
        except RemoteError as exc:
            log.warning("remote sync: %s failed, will try again: %s", step.__name__, exc)
