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

Exactly one persistent scheduler runs jobs at a time, even when the leader's lock goes while its process
lives (its connection terminated, a network cut): the leader checks its lock on the lock's own connection
right before each job starts (``_LeaderOnlyExecutor``), so it starts no job once the lock is gone, and
steps down at once; and a worker that takes the lock over from a live leader waits
``leader_check_seconds`` + ``DRAIN_SECONDS`` before starting its scheduler, by which time the old leader
has noticed (at its next check) and let the jobs it was running finish (``_shutdown_gently``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_coroutine_job, run_job
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.util import iscoroutinefunction_partial
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


class LostSchedulerLock(RuntimeError):
    """A job was due in a process that no longer holds the scheduler lock: it did not run."""


class _LeaderOnlyExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """apscheduler's asyncio executor, but each job first asks ``may_run`` (is the lock still ours?).

    The election notices a lost lock only at its next check, up to ``leader_check_seconds`` later, and
    another worker may take the lock in between; asking right before each run closes that window. A job
    that may not run ends as an error event (``LostSchedulerLock``), which keeps ``_RunningJobs`` even.
    """

    def __init__(self, may_run: Callable[[], Awaitable[bool]]) -> None:
        super().__init__()
        self._may_run = may_run

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        # As AsyncIOExecutor._do_submit_job, with the run behind the check.
        def callback(done: asyncio.Future[list[JobEvent]]) -> None:
            self._pending_futures.discard(done)
            try:
                events = done.result()
            except BaseException as exc:  # cancelled on shutdown: apscheduler logs it as a failed run
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        task = self._eventloop.create_task(self._run_if_leading(job, run_times))
        task.add_done_callback(callback)
        self._pending_futures.add(task)

    async def _run_if_leading(self, job: Job, run_times: list[datetime]) -> list[JobEvent]:
        alias, logger_name = job._jobstore_alias, self._logger.name
        if not await self._may_run():
            log.warning("job %s not run: this process no longer holds the scheduler lock", job.id)
            lost = LostSchedulerLock("the scheduler lock was lost")
            return [JobExecutionEvent(EVENT_JOB_ERROR, job.id, alias, run_times[-1], exception=lost)]
        if iscoroutinefunction_partial(job.func):
            events: list[JobEvent] = await run_coroutine_job(job, alias, run_times, logger_name)
            return events
        return await self._eventloop.run_in_executor(None, run_job, job, alias, run_times, logger_name)  # type: ignore[no-any-return]


class _QuietOverlaps(logging.Filter):
    """apscheduler says at WARNING that it skipped a run of a job still running from the last one (with
    ``max_instances`` 1). For our periodic jobs that is the intended behaviour, not a problem: a send that
    takes longer than ``outbox_seconds`` did it 20 times in one load test. It is said at DEBUG instead; a
    job that fails is logged by apscheduler's executor logger, which this does not touch."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and "maximum number of running instances" in str(record.msg):
            log.debug("%s", record.getMessage())
            return False
        return True


_QUIET_OVERLAPS = _QuietOverlaps()


def _new_scheduler(jobstore: Any, executor: AsyncIOExecutor | None = None) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        jobstores={"default": jobstore},
        executors={"default": executor or AsyncIOExecutor()},
        # A job that fell behind (a slow send, a pause) runs once, not once per missed interval, and never
        # overlaps itself.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone=UTC,
    )
    scheduler._logger.addFilter(_QUIET_OVERLAPS)  # the same filter once per logger, however many schedulers
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
        # Taking the lock over from a leader that may still live: wait until it has noticed (its next
        # check) and let its running jobs finish (the drain) before starting another scheduler.
        self.takeover_grace_seconds = self.settings.jobs.leader_check_seconds + DRAIN_SECONDS
        # Whether this process has found the lock held (by a leader that may still be running jobs).
        self._saw_another_leader = False
        self._stepping_down: set[asyncio.Task[None]] = set()

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
        for task in list(self._stepping_down):
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
                await self._step_down()
            return
        if not await asyncio.to_thread(self.leadership.try_lead):
            self._saw_another_leader = True
            return
        if self._saw_another_leader and self.leadership.uses_election:
            # The lock was held a moment ago, perhaps by a process that lives on without its connection
            # and has not noticed yet: it starts no new job (it checks first), and this wait covers the
            # jobs it was already running.
            log.info(
                "waiting %.0f s for the previous scheduler to stop before starting this one",
                self.takeover_grace_seconds,
            )
            await asyncio.sleep(self.takeover_grace_seconds)
            if not await asyncio.to_thread(self.leadership.still_leading):
                return
        self._start_persistent()

    async def _step_down(self) -> None:
        # The lock is gone (its connection died): another worker may be scheduling already.
        scheduler, self.persistent = self.persistent, None
        if scheduler is not None:
            log.warning("lost the scheduler election; stopping this process's scheduler")
            await _shutdown_gently(scheduler)

    async def _may_run_job(self) -> bool:
        """Asked by the persistent scheduler right before each job: is the lock still this process's?"""
        if not self.leadership.uses_election:
            return self.leadership.leading
        if await asyncio.to_thread(self.leadership.still_leading):
            return True
        # Stop now rather than at the next election step; a task, as this runs inside a job of the
        # scheduler being stopped (which waits for its running jobs).
        task = asyncio.create_task(self._step_down(), name="scheduler-step-down")
        self._stepping_down.add(task)
        task.add_done_callback(self._stepping_down.discard)
        return False

    def _start_persistent(self) -> None:
        # The job store gets an engine of its own: apscheduler disposes of it when the scheduler stops,
        # which must not reset the pool everyone else in this process uses.
        store = SQLAlchemyJobStore(
            engine=make_engine(self.leadership.database_url, pool_size=1), tablename=JOBS_TABLE
        )
        scheduler = _new_scheduler(store, _LeaderOnlyExecutor(self._may_run_job))
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
