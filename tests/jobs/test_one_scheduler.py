"""Exactly one scheduler runs jobs, also when the leader's lock goes while its process lives.

Found by a black-box tester: with the lock holder's connection terminated (``pg_terminate_backend``), the
old leader noticed only at its next check (``leader_check_seconds`` later) and went on running jobs while
the other worker, which had taken the lock at once, ran them too. Now the leader checks the lock right
before each job and steps down at once, and a worker taking over waits out the old leader's grace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from sqlalchemy import create_engine, text

from bot.jobs.scheduler import JobRunner
from tests.jobs.test_scheduler import runner_for, settings_with
from tests.support.databases import fresh_postgres_schema, postgres_server_url

pytestmark = pytest.mark.postgres

# The old leader would not notice at its periodic check during the test: only the check before each job can.
SLOW_CHECK = 60.0
GRACE = 1.0


class Runs:
    """When each runner's persistent scheduler submitted and finished a job (monotonic seconds)."""

    def __init__(self) -> None:
        self.submitted: dict[int, list[float]] = {}
        self.executed: dict[int, list[float]] = {}

    def listen(self, runner: JobRunner) -> None:
        assert runner.persistent is not None

        def record(event: JobEvent) -> None:
            times = self.submitted if event.code == EVENT_JOB_SUBMITTED else self.executed
            times.setdefault(id(runner), []).append(time.monotonic())

        runner.persistent.add_listener(record, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED)

    def executed_by(self, runner: JobRunner) -> list[float]:
        return self.executed.get(id(runner), [])

    def submitted_by(self, runner: JobRunner) -> list[float]:
        return self.submitted.get(id(runner), [])


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    runs = Runs()
    start_persistent = JobRunner._start_persistent

    def start_and_listen(runner: JobRunner) -> None:
        start_persistent(runner)
        runs.listen(runner)  # before the loop runs again: the first (immediate) run is seen too

    monkeypatch.setattr(JobRunner, "_start_persistent", start_and_listen)
    return runs


def terminate_lock_session(runner: JobRunner) -> None:
    connection = runner.leadership._connection
    assert connection is not None
    pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    finally:
        admin.dispose()


async def wait_until(condition: Callable[[], object], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def test_a_leader_whose_lock_is_gone_runs_no_job_once_another_worker_can_take_over(
    tmp_path: Path, runs: Runs
) -> None:
    async def scenario(first: JobRunner, second: JobRunner) -> None:
        await first.start()
        await second.start()
        try:
            assert (first.leading, second.leading) == (True, False)
            await wait_until(lambda: len(runs.executed_by(first)) >= 3, 10)
            assert len(runs.executed_by(first)) >= 3

            # The leader's lock session dies; its process lives on and its periodic check is far away.
            await asyncio.to_thread(terminate_lock_session, first)
            await asyncio.sleep(0.5)  # several of its jobs fall due
            second.takeover_grace_seconds = GRACE
            took_over = time.monotonic()
            await second._step()  # the other worker asks at once: the lock is free
            assert second.leading
            await wait_until(lambda: len(runs.executed_by(second)) >= 3, 10)

            # The old leader ran no job after its lock went, and stopped its scheduler without waiting
            # for its next check.
            assert not first.leading
            assert not first.leadership.leading
            assert [t for t in runs.executed_by(first) if t > took_over] == []
            # The new one started only after the grace, and after the old one's last job.
            assert len(runs.executed_by(second)) >= 3
            assert min(runs.submitted_by(second)) >= took_over + GRACE
            assert max(runs.executed_by(first)) < min(runs.submitted_by(second))
        finally:
            await first.stop()
            await second.stop()

    with fresh_postgres_schema() as url:
        settings = settings_with(
            tmp_path, url, jobs={"leader_check_seconds": SLOW_CHECK, "notify_seconds": 0.1}
        )
        (rt1, first), (rt2, second) = runner_for(settings), runner_for(settings)
        try:
            asyncio.run(scenario(first, second))
        finally:
            rt1.close()
            rt2.close()
