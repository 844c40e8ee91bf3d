"""Mounts the background jobs on the app (one line in ``bot.app.APP_PARTS``, after ``bot.messaging``).

The app's lifespan starts them (``JobRunner.start``: the per-worker outbox sender, and the scheduler if
this process is, or becomes, the elected one) and stops them. ``open311-bot worker`` runs the same
lifespan without serving HTTP.
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.config import ConfigError
from bot.jobs.context import JobContext
from bot.jobs.scheduler import JobRunner
from bot.messaging import Messaging
from bot.remote.sync import RemoteSync
from bot.review.queue import ReviewQueue
from bot.runtime import Runtime


def build_remote_sync(runtime: Runtime, review_queue: ReviewQueue) -> RemoteSync | None:
    remote = runtime.settings.remote
    if not remote.enabled:
        return None
    if not remote.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"remote.base_url must be the city's GeoReport v2 endpoint (http/https), not {remote.base_url!r}"
        )
    # Reports the city refuses go to the conversation's review queue.
    return RemoteSync.from_settings(remote, runtime.sessions, review_queue)


def build_job_runner(runtime: Runtime, messaging: Messaging) -> JobRunner:
    context = JobContext(
        settings=runtime.settings,
        sessions=runtime.sessions,
        templates=messaging.templates,
        open311=runtime.open311,
        dispatcher=messaging.dispatcher,
        channels=messaging.channels,
        remote=build_remote_sync(runtime, messaging.review_queue),
    )
    return JobRunner(context, runtime.engine)


def mount(app: FastAPI, runtime: Runtime) -> None:
    messaging: Messaging = app.state.messaging
    runner = build_job_runner(runtime, messaging)
    app.state.jobs = runner

    async def stop() -> None:
        await runner.stop()
        if runner.context.remote is not None:
            await runner.context.remote.client.aclose()

    runtime.add_lifecycle(runner.start, stop)
