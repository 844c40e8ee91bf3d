"""Whether a database error means the database did not answer (an outage: refused, dropped, timed out, no
pooled connection free in time) or that a statement was wrong (a fault of ours), and the driver's words for
it in one log line. The web layer (``bot.health``: 503 and one line), the dispatcher and the channels' cursor
store (a signal the channels answer with a redelivery or a retry) and the outbox job (its one outage line)
all sort errors by it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from channels.base import TemporarilyUnavailable

_REASON_CHARS = 200
# The errors a database that does not answer raises: OperationalError (among others, ``unreachable``
# sorts them) and TimeoutError (no pooled connection free in time). IntegrityError, ProgrammingError...
# are faults of ours.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (sa_exc.OperationalError, sa_exc.TimeoutError)
# PostgreSQL's SQLSTATEs of a connection lost or refused: class 08, the server shutting down or starting
# (57P01-57P03), too many connections (53300). A connection that never opened has none (psycopg: None).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's: the file cannot be opened, or another process holds it longer than the busy timeout.
_UNREACHABLE_SQLITE_ERRORS = frozenset({"SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED"})


def unreachable_reason(error: BaseException) -> str:
    """``database unreachable: <the driver's words>`` in a line, without SQLAlchemy's SQL and link."""
    return f"database unreachable: {drivers_words(error)}"[:_REASON_CHARS]


def drivers_words(error: BaseException) -> str:
    """What the database driver said of ``error``, in a line (psycopg's span two), without SQLAlchemy's
    SQL and link."""
    cause = getattr(error, "orig", None) or error
    return " ".join(str(cause).split())[:_REASON_CHARS]


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database did not answer, not that a statement was wrong: SQLite's
    OperationalError is also "no such table" (a migration half-run), a fault that stays a 500."""
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:  # SQLAlchemy's dialect read it as a disconnect
        return True
    cause = error.orig
    sqlite_name = getattr(cause, "sqlite_errorname", None)
    if sqlite_name is not None:
        return sqlite_name in _UNREACHABLE_SQLITE_ERRORS
    if not hasattr(cause, "sqlstate"):  # neither SQLite's nor psycopg's
        return False
    state = getattr(cause, "sqlstate", None)
    return state is None or str(state).startswith(_UNREACHABLE_SQLSTATES)


@contextlib.contextmanager
def unavailable_while_the_database_is_down() -> Iterator[None]:
    """Raises ``channels.base.TemporarilyUnavailable`` for a database that does not answer (``unreachable``:
    refused, dropped, timed out, no pooled connection free), so the channels, which know no SQLAlchemy, can
    say it in one line and try again; any other database error (a statement wrong, a table missing) is
    raised as it is. Every database error is sorted, as a connection dropped mid-statement is not always an
    OperationalError."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
        if not unreachable(exc):
            raise
        raise TemporarilyUnavailable(unreachable_reason(exc)) from exc
