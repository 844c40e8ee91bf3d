"""What the job schedulers log: a periodic job still running when its next run comes (a send that takes
longer than ``outbox_seconds``) is routine and skipped quietly, while a job that fails is still logged."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.jobs.test_scheduler import runner_for, settings_with


async def _slow() -> None:
    await asyncio.sleep(0.4)


async def _broken() -> None:
    raise RuntimeError("the provider answered 500")


async def test_an_overlapping_run_of_a_slow_job_is_no_warning_but_an_error_still_is(
    tmp_path: Path, sqlite_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A tester saw 'outbox-delivery ... skipped: maximum number of running instances reached' at WARNING
    20 times in a load test: every time a send took over the outbox's 1 s interval."""
    runtime, runner = runner_for(settings_with(tmp_path, sqlite_database_url))
    caplog.set_level(logging.DEBUG)
    await runner.start()
    try:
        assert runner.local is not None
        # Jobs on the process's own scheduler, with the defaults every job of ours has.
        runner.local.add_job(_slow, "interval", seconds=0.05, id="slow-test-job")
        runner.local.add_job(_broken, "interval", seconds=0.5, id="broken-test-job")
        await asyncio.sleep(1.5)
    finally:
        await runner.stop()
        runtime.close()

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in warnings if "maximum number of running instances" in m], warnings
    assert any("broken-test-job" in m or "_broken" in m for m in warnings), warnings
    assert any("the provider answered 500" in r.getMessage() or r.exc_info for r in caplog.records)
