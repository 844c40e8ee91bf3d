"""``open311-bot worker``: a process that runs only the background jobs, no HTTP.

It builds the same app as ``serve`` (runtime, channels, jobs) and runs its start-up and shutdown without
listening anywhere. Run one next to ``serve`` processes configured with ``jobs.scheduler = "never"``, or
several: on PostgreSQL they elect one scheduler among themselves and all of them drain the outbox.
SIGTERM or Ctrl-C stops it cleanly (the scheduler lock is released for the next worker at once).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from bot.commands.logs import configure_logging
from bot.config import load_settings
from bot.files import make_data_dir


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "worker", help="run the background jobs (outbox, notifications, scheduler) without serving HTTP"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # The worker exists to run jobs, whatever the shared file says for the HTTP processes.
    settings = load_settings(args.config, jobs={"enabled": True})
    configure_logging(settings)
    make_data_dir(settings)
    from bot.app import create_app  # here: every other command would load the whole app too

    app = create_app(settings)
    asyncio.run(_run_jobs(app))
    return 0


async def _run_jobs(app: Any) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with app.router.lifespan_context(app):
        print("open311-bot worker: running jobs (SIGTERM or Ctrl-C stops)", flush=True)
        await stopping.wait()
    print("open311-bot worker: stopped", flush=True)
