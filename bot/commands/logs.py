"""Logging for the long-running commands (``serve``, ``worker``): the bot's own INFO lines (which process
runs the scheduler, jobs started, channels connecting) on stderr, without the per-request chatter of the
libraries under it."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # apscheduler logs every run of every job at INFO, httpx every request a channel makes: seconds-apart
    # jobs and long polls would drown everything else.
    for noisy in ("apscheduler.executors", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
