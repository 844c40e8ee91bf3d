"""What a job function reaches the running deployment through.

apscheduler's SQLAlchemy job store persists a job as a textual reference to an importable function plus
pickled arguments, so jobs take no arguments (nothing unpicklable, nothing stale after a restart) and
find the live parts of this process here instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(slots=True)
class JobContext:
    settings: Settings
    # The process's runtime (engine, core service, channels, dispatcher...) as bot.runtime builds it.
    runtime: Any


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
