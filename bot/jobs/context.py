"""What a job function reaches the running deployment through.

apscheduler's SQLAlchemy job store persists a job as a textual reference to an importable function plus
pickled arguments, so jobs take no arguments (nothing unpicklable, nothing stale after a restart) and
find the live parts of this process here instead. ``JobRunner.start`` installs the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.db import SessionFactory
    from bot.dispatcher import Dispatcher
    from bot.open311.service import Open311Service
    from bot.remote.sync import RemoteSync
    from bot.templates import Templates
    from channels.base import Channel


@dataclass(slots=True)
class JobContext:
    settings: Settings
    sessions: SessionFactory
    templates: Templates
    open311: Open311Service
    # Sends the outbox through the channels it has attached.
    dispatcher: Dispatcher
    channels: Mapping[str, Channel] = field(default_factory=dict)
    # The remote city's sync steps when remote.enabled.
    remote: RemoteSync | None = None


_current: JobContext | None = None


class NoJobContext(RuntimeError):
    """A job ran in a process that has not installed its context (``install``)."""


def install(context: JobContext | None) -> None:
    global _current
    _current = context


def current() -> JobContext:
    if _current is None:
        raise NoJobContext("no job context installed in this process; start jobs through JobRunner")
    return _current
