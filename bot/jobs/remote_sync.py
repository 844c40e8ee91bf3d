"""Jobs for the remote city: submitting reports and resolving tokens (often), polling statuses and the
service catalog (less often)."""

from __future__ import annotations

from bot.jobs.context import current


async def submit() -> None:
    remote = current().remote
    if remote is not None:
        await remote.run_submissions()


async def run() -> None:
    remote = current().remote
    if remote is not None:
        await remote.refresh_catalog()
        await remote.poll_statuses()
