"""Which process runs the scheduler.

apscheduler 3.x job stores must not be shared between running schedulers, so among all the workers that
share one database exactly one runs the persistent scheduler. On PostgreSQL the workers elect it with a
session-level advisory lock held on a dedicated connection: the lock lives exactly as long as that
connection, so when the leader dies (crash, kill -9, lost machine) PostgreSQL releases it and the next
worker that asks takes over. On SQLite (one process by design) this process leads.

The lock can also go while the leader lives (its connection terminated, a network cut): the runner then
checks the lock right before each job (``still_leading``) and a worker that takes over waits until the
old leader must have stopped (``bot.jobs.scheduler``), so two schedulers never run jobs at once.

``JobsSettings.scheduler`` overrides the election: "always" leads without asking, "never" never leads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from typing import Literal

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SchedulerMode = Literal["auto", "always", "never"]


def is_postgresql(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def advisory_lock_key(name: str, schema: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``.

    The schema is part of the key: deployments (and test runs) that share one PostgreSQL database in
    different schemas elect their schedulers independently.
    """
    digest = hashlib.blake2b(f"open311-bot:{name}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """Asks, and keeps asking, whether this process is the one that runs the scheduler.

    ``try_lead`` and ``still_leading`` are quick blocking calls; the caller decides how often to make them.
    They may come from several threads at once (the election and each job's check before it runs), and
    one connection serves them all, so they take turns.
    """

    def __init__(self, database_url: str, mode: SchedulerMode, name: str = "scheduler") -> None:
        self.database_url = database_url
        self.mode = mode
        self.name = name
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._key: int | None = None
        self._leading = False
        self._turn = threading.Lock()

    @property
    def uses_election(self) -> bool:
        return self.mode == "auto" and is_postgresql(self.database_url)

    @property
    def leading(self) -> bool:
        return self._leading

    def try_lead(self) -> bool:
        """Becomes the leader if nobody is; returns whether this process leads now."""
        with self._turn:
            return self._try_lead()

    def _try_lead(self) -> bool:
        if self._leading:
            return True
        if self.mode == "never":
            return False
        if not self.uses_election:
            self._leading = True
            return True
        try:
            connection = self._dedicated_connection()
            assert self._key is not None
            acquired = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            )
        except DBAPIError as exc:
            log.warning("scheduler election failed, will ask again: %s", exc)
            self._drop_connection()
            return False
        if acquired:
            log.info("this process now runs the scheduler (advisory lock %s)", self._key)
        self._leading = acquired
        return acquired

    def still_leading(self) -> bool:
        """False once the lock's connection is gone (the server then released the lock to another)."""
        with self._turn:
            return self._still_leading()

    def _still_leading(self) -> bool:
        if not self._leading:
            return False
        if not self.uses_election:
            return True
        try:
            assert self._connection is not None
            self._connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            log.warning("lost the scheduler lock's connection, stepping down: %s", exc)
            self._drop_connection()
            self._leading = False
        return self._leading

    def resign(self) -> None:
        """Steps down (on shutdown) so another worker can take over at once."""
        with self._turn:
            self._resign()

    def _resign(self) -> None:
        if self._connection is not None and self._leading and self._key is not None:
            # If this fails the connection is going away anyway, which releases the lock too.
            with contextlib.suppress(DBAPIError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        self._leading = False
        self._drop_connection()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _dedicated_connection(self) -> Connection:
        if self._connection is None:
            if self._engine is None:
                # Its own engine without a pool: the lock must live on a connection nobody else borrows,
                # and in autocommit so it never sits "idle in transaction".
                self._engine = create_engine(
                    self.database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
                )
            self._connection = self._engine.connect()
            schema = str(self._connection.execute(text("SELECT current_schema()")).scalar() or "public")
            self._key = advisory_lock_key(self.name, schema)
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                self._connection.close()
            self._connection = None
