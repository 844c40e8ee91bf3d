"""The apscheduler runner on a real database: jobs are stored in their own table with stable ids, follow
the configuration across restarts, and the scheduler modes decide who runs what."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.jobs.part import build_job_runner
from bot.jobs.scheduler import JOBS_TABLE, JobRunner
from bot.messaging import build_messaging
from bot.runtime import Runtime
from intents.pipeline import load_pipeline
from tests.conftest import make_settings
from tests.support.live_server import free_port

LEADER_JOBS = {"status-notifications", "batch-acceptance", "conversation-cleanup"}
REMOTE_JOBS = {"remote-submit", "remote-sync"}


def stored_job_ids(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as connection:
        return {row[0] for row in connection.execute(text(f"SELECT id FROM {JOBS_TABLE}"))}


def runner_for(settings: Settings) -> tuple[Runtime, JobRunner]:
    runtime = Runtime.build(settings)
    messaging = build_messaging(runtime, understander=load_pipeline(None))
    return runtime, build_job_runner(runtime, messaging)


async def start_then_stop(runner: JobRunner) -> dict[str, Any]:
    await runner.start()
    try:
        return {
            "leading": runner.leading,
            "local": {job.id for job in runner.local.get_jobs()} if runner.local else set(),
        }
    finally:
        await runner.stop()


def settings_with(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    jobs = {"enabled": True, "cleanup_seconds": 600.0, **overrides.pop("jobs", {})}
    return make_settings(tmp_path / "data", database_url, jobs=jobs, **overrides)


def test_jobs_live_in_their_table_and_follow_the_configuration_across_restarts(
    tmp_path: Path, database_url: str
) -> None:
    runtime, runner = runner_for(settings_with(tmp_path, database_url))
    try:
        seen = asyncio.run(start_then_stop(runner))
        assert seen == {"leading": True, "local": {"outbox-delivery"}}
        assert stored_job_ids(runtime) == LEADER_JOBS  # still there with the scheduler stopped
    finally:
        runtime.close()

    remote = {"enabled": True, "base_url": f"http://127.0.0.1:{free_port()}/open311/v2"}
    runtime, runner = runner_for(settings_with(tmp_path, database_url, remote=remote))
    try:
        asyncio.run(start_then_stop(runner))
        assert stored_job_ids(runtime) == LEADER_JOBS | REMOTE_JOBS
    finally:
        runtime.close()

    by_operator = {"batch_acceptance": "operator"}
    runtime, runner = runner_for(settings_with(tmp_path, database_url, open311=by_operator))
    try:
        asyncio.run(start_then_stop(runner))
        assert stored_job_ids(runtime) == LEADER_JOBS - {"batch-acceptance"}  # and the remote ones left
    finally:
        runtime.close()


def test_a_process_told_never_to_schedule_still_drains_the_outbox(tmp_path: Path, database_url: str) -> None:
    runtime, runner = runner_for(settings_with(tmp_path, database_url, jobs={"scheduler": "never"}))
    try:
        assert asyncio.run(start_then_stop(runner)) == {"leading": False, "local": {"outbox-delivery"}}
    finally:
        runtime.close()


def test_disabled_jobs_start_nothing(tmp_path: Path, sqlite_database_url: str) -> None:
    runtime, runner = runner_for(make_settings(tmp_path / "data", sqlite_database_url))
    try:
        assert asyncio.run(start_then_stop(runner)) == {"leading": False, "local": set()}
    finally:
        runtime.close()


@pytest.mark.postgres
def test_only_one_of_two_runners_on_postgresql_schedules(tmp_path: Path) -> None:
    from tests.support.databases import fresh_postgres_schema

    async def both(first: JobRunner, second: JobRunner) -> tuple[bool, bool, bool]:
        await first.start()
        await second.start()
        # Taking over, a worker waits out the old leader's check and drain (10 s and more); short here.
        second.takeover_grace_seconds = 0.5
        try:
            leading = (first.leading, second.leading)
            await first.stop()  # resigns: the other takes over at its next check
            for _ in range(100):  # at most 10 s
                if second.leading:
                    break
                await asyncio.sleep(0.1)
            return leading[0], leading[1], second.leading
        finally:
            await second.stop()

    with fresh_postgres_schema() as url:
        settings = settings_with(tmp_path, url, jobs={"leader_check_seconds": 0.2})
        (rt1, first), (rt2, second) = runner_for(settings), runner_for(settings)
        try:
            assert asyncio.run(both(first, second)) == (True, False, True)
        finally:
            rt1.close()
            rt2.close()
