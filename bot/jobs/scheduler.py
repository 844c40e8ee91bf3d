"""Runs the background jobs on apscheduler 3.11.

Two schedulers per process, because apscheduler 3.x job stores must never be shared by two running
schedulers:

- the *persistent* scheduler keeps its jobs in our database (table ``scheduled_jobs``) so they survive a
  restart; only the elected leader runs it (see ``leader.py``), and another worker starts it when the
  leader dies;
- the *local* scheduler (in memory) runs in every process the jobs that are safe and useful to run
  everywhere: draining the outbox, whose claim query (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) lets any
  number of senders work side by side without sending a message twice.

Jobs have stable ids and are added with ``replace_existing=True``; their functions are importable module
attributes that take no arguments (they find the process's runtime through ``bot.jobs.context``).
Their timing comes from ``JobsSettings``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from bot.db import make_engine
from bot.jobs import context
from bot.jobs.leader import Leadership

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

JOBS_TABLE = "scheduled_jobs"
# How long a stopping process waits for its running jobs to finish.
DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    # "module:function" — what the job store records, so it must stay importable under this name.
    func: str
    seconds: Callable[[Settings], float]
    wanted: Callable[[Settings], bool]
    # True: runs in every process from the local scheduler; False: only in the elected leader.
    every_worker: bool = False


def _always(_: Settings) -> bool:
    return True


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "outbox-delivery",
        "bot.jobs.outbox_delivery:run",
        lambda s: s.jobs.outbox_seconds,
        _always,
        every_worker=True,
    ),
    JobSpec("status-notifications", "bot.jobs.notifications:run", lambda s: s.jobs.notify_seconds, _always),
    JobSpec(
        "batch-acceptance",
        "bot.jobs.batch_acceptance:run",
        lambda s: s.jobs.batch_accept_seconds,
        lambda s: s.open311.batch_acceptance == "auto",
    ),
    JobSpec(
        "x-mentions",
        "bot.jobs.x_mentions:run",
        lambda s: s.jobs.twitter_poll_seconds,
        lambda s: s.twitter.enabled,
    ),
    JobSpec(
        "remote-submit",
        "bot.jobs.remote_sync:submit",
        lambda s: s.jobs.remote_submit_seconds,
        lambda s: s.remote.enabled,
    ),
    JobSpec(
        "remote-sync",
        "bot.jobs.remote_sync:run",
        lambda s: s.jobs.remote_sync_seconds,
        lambda s: s.remote.enabled,
    ),
    JobSpec("conversation-cleanup", "bot.jobs.cleanup:run", lambda s: s.jobs.cleanup_seconds, _always),
)


class _RunningJobs:
    """Counts the jobs a scheduler has started and not finished, so a shutdown can let them finish."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: JobEvent) -> None:
        self.count += 1 if event.code == EVENT_JOB_SUBMITTED else -1


def _new_scheduler(jobstore: Any) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        jobstores={"default": jobstore},
        # A job that fell behind (a slow send, a pause) runs once, not once per missed interval, and never
        # overlaps itself.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone=UTC,
    )
    running = _RunningJobs()
    scheduler.add_listener(running, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.running_jobs = running
    return scheduler


async def _shutdown_gently(scheduler: AsyncIOScheduler, timeout: float = DRAIN_SECONDS) -> None:
    """Starts nothing new and lets what runs finish (a send half done is not cut off), then shuts down.

    apscheduler's asyncio executor cancels running jobs on shutdown; waiting first keeps a stopping
    worker from abandoning a claimed batch until its lease runs out.
    """
    if not scheduler.running:
        return
    scheduler.pause()
    running: _RunningJobs = scheduler.running_jobs
    deadline = asyncio.get_running_loop().time() + timeout
    while running.count > 0 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    scheduler.shutdown(wait=False)


def _add_jobs(scheduler: AsyncIOScheduler, settings: Settings, specs: list[JobSpec]) -> None:
    now = datetime.now(UTC)
    for spec in specs:
        scheduler.add_job(
            spec.func,
            "interval",
            seconds=spec.seconds(settings),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            # First run at once: what piled up while no scheduler ran (a restart, a takeover) goes out now.
            next_run_time=now,
        )


class JobRunner:
    """Starts and stops this process's share of the jobs; built once per process from its runtime."""

    def __init__(self, job_context: context.JobContext, engine: Engine) -> None:
        self.context = job_context
        self.settings = job_context.settings
        self.engine = engine
        # The engine's URL, not the settings': in sandbox mode the runtime runs on the sandbox's database.
        self.leadership = Leadership(
            engine.url.render_as_string(hide_password=False), self.settings.jobs.scheduler
        )
        self.local: AsyncIOScheduler | None = None
        self.persistent: AsyncIOScheduler | None = None
        self._election: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self.persistent is not None

    def wanted(self, *, every_worker: bool) -> list[JobSpec]:
        return [spec for spec in JOBS if spec.every_worker == every_worker and spec.wanted(self.settings)]

    async def start(self) -> None:
        if not self.settings.jobs.enabled:
            return
        context.install(self.context)
        local_jobs = self.wanted(every_worker=True)
        if local_jobs:
            self.local = _new_scheduler(MemoryJobStore())
            _add_jobs(self.local, self.settings, local_jobs)
            self.local.start()
        if self.settings.jobs.scheduler != "never":
            await self._step()
            self._election = asyncio.create_task(self._elect_forever(), name="scheduler-election")

    async def stop(self) -> None:
        if self._election is not None:
            self._election.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._election
            self._election = None
        if self.persistent is not None:
            await _shutdown_gently(self.persistent)
            self.persistent = None
        if self.local is not None:
            await _shutdown_gently(self.local)
            self.local = None
        await asyncio.to_thread(self.leadership.resign)
        context.install(None)

    async def _elect_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.jobs.leader_check_seconds)
            try:
                await self._step()
            except Exception:  # the election must outlive any one failure; it asks again next time
                log.exception("scheduler election step failed")

    async def _step(self) -> None:
        if self.persistent is not None:
            if not await asyncio.to_thread(self.leadership.still_leading):
                # The lock is gone (its connection died): another worker may be scheduling already.
                log.warning("lost the scheduler election; stopping this process's scheduler")
                scheduler, self.persistent = self.persistent, None
                await _shutdown_gently(scheduler)
            return
        if await asyncio.to_thread(self.leadership.try_lead):
            self._start_persistent()

    def _start_persistent(self) -> None:
        # The job store gets an engine of its own: apscheduler disposes of it when the scheduler stops,
        # which must not reset the pool everyone else in this process uses.
        store = SQLAlchemyJobStore(
            engine=make_engine(self.leadership.database_url, pool_size=1), tablename=JOBS_TABLE
        )
        scheduler = _new_scheduler(store)
        wanted = self.wanted(every_worker=False)
        _add_jobs(scheduler, self.settings, wanted)
        scheduler.start()
        # Jobs a previous configuration wanted (the remote backend switched off...) leave the store.
        wanted_ids = {spec.id for spec in wanted}
        for job in scheduler.get_jobs():
            if job.id not in wanted_ids:
                job.remove()
        self.persistent = scheduler
        log.info("scheduler started with jobs: %s", ", ".join(sorted(wanted_ids)))
