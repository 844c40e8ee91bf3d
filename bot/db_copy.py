"""Moving a deployment to another database: every table copied, in one transaction on the target.

A city that starts on the embedded SQLite file and later points ``database_url`` at PostgreSQL would
otherwise start empty there (request ids from #1 again, its API keys and operators gone).
``copy_database`` creates the target's schema at the source's migration revision, copies each table
in foreign-key order in batches, and sets PostgreSQL's id sequences past the copied ids, so the next
request gets the next number. The target must hold no data (at most the empty schema a ``serve`` on it
created): nothing there is overwritten or mixed with the copy. ``data_left_behind`` is the start-up
warning for a deployment that switched without copying.
"""

from __future__ import annotations

import os
import struct
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, Engine, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning, SQLAlchemyError

from bot.config import Settings, StartupError
from bot.db import alembic_config, make_engine, pending_migrations, schema_revision

BATCH_ROWS = 1000
VERSION_TABLE = "alembic_version"
# apscheduler's job list (bot.jobs.scheduler.JOBS_TABLE): the scheduler writes its jobs again on every
# start (replace_existing), so rows there are not data; a serve on the empty target may have made them.
JOBS_TABLE = "scheduled_jobs"
NOT_DATA = frozenset({VERSION_TABLE, JOBS_TABLE})


# While a connection to a SQLite database in WAL mode (the bot's, bot.db) is open, SQLite's unix VFS holds a
# read lock on this byte of the database's "-shm" file: the "dead man switch" by which a new connection
# learns whether it is the first (os_unix.c: UNIX_SHM_DMS = (22 + SQLITE_SHM_NLOCK) * 4 + SQLITE_SHM_NLOCK).
_SHM_DMS_BYTE = 128
# struct flock as Linux lays it out (short l_type, l_whence; off_t l_start, l_len; pid_t l_pid).
_LINUX_FLOCK = "hhxxxxqqixxxx"


def process_using_sqlite(path: Path) -> int | None:
    """The id of another process that has the SQLite database at ``path`` open (a serve or worker running
    on it), asked of the kernel's lock table without taking any lock; None when no other process has it
    open, or when that cannot be told here (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import fcntl  # here: there is no such module on Windows

    try:
        descriptor = os.open(f"{path}-shm", os.O_RDONLY)
    except OSError:  # no -shm file: no connection is open (the last one to close removes it)
        return None
    try:
        asked = struct.pack(_LINUX_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, _SHM_DMS_BYTE, 1, 0)
        kind, _, _, _, pid = struct.unpack(_LINUX_FLOCK, fcntl.fcntl(descriptor, fcntl.F_GETLK, asked))
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return None if kind == fcntl.F_UNLCK else int(pid)


class CopyRefused(StartupError):
    """The copy cannot be made as asked (the CLI says why in one line; nothing was written)."""


@dataclass(frozen=True, slots=True)
class CopyResult:
    revision: str
    # (table, rows copied) in the order they were copied.
    counts: list[tuple[str, int]]


def shown(url: str) -> str:
    """A database URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def copy_database(source: Engine, target: Engine, *, batch_rows: int = BATCH_ROWS) -> CopyResult:
    """Copies every table of ``source`` into ``target`` (PostgreSQL) in one transaction: on any error
    the target is left as it was. The bot should be stopped meanwhile; the source is read in one
    snapshot where its driver allows, so a write during the copy is not half-copied."""
    with source.connect() as reading, target.begin() as writing:
        _read_one_snapshot(reading)
        revision = schema_revision(reading)
        if revision is None:
            raise CopyRefused(
                f"the database at {shown(str(source.url))} has no schema: there is nothing to copy"
            )
        pending_migrations(reading)  # a schema of a newer release is refused, as serve refuses it
        # Holds off a serve starting on the target meanwhile (it migrates under the same lock).
        writing.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('open311-bot:migrate:' || current_schema()))")
        )
        _prepare_target(writing, revision)
        source_tables = _reflect(reading)
        target_tables = _reflect(writing)
        counts = []
        for table in target_tables.sorted_tables:  # parents before the rows that refer to them
            if table.name == VERSION_TABLE:
                continue
            origin = source_tables.tables.get(table.name)
            if origin is None or set(origin.c.keys()) != set(table.c.keys()):
                raise CopyRefused(
                    f"table {table.name} differs between the source and the schema {revision} made on the "
                    "target: the source's schema was changed by hand; nothing was copied"
                )
            try:
                counts.append((table.name, _copy_rows(reading, writing, origin, table, batch_rows)))
            except SQLAlchemyError as exc:  # the transaction is rolled back as this leaves the block
                reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
                raise CopyRefused(
                    f"the copy failed at table {table.name}: {reason}; nothing was written to the target"
                ) from exc
        _set_sequences_past_ids(writing, target_tables.sorted_tables)
    return CopyResult(revision, counts)


def _reflect(connection: Connection) -> MetaData:
    tables = MetaData()
    with warnings.catch_warnings():
        # Indexes on expressions (lower(name)) are not reflected and need not be: the migration made them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        tables.reflect(bind=connection)
    return tables


def _read_one_snapshot(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # pysqlite starts no transaction before a SELECT, so each would see the file as it is then; one
        # explicit read transaction is one snapshot (WAL: writers are not blocked by it).
        connection.exec_driver_sql("BEGIN")
    else:
        connection.execution_options(isolation_level="REPEATABLE READ")


def _prepare_target(connection: Connection, revision: str) -> None:
    """Creates the schema at ``revision`` on an empty target; accepts the empty schema a ``serve`` on it
    made (at the same revision); refuses anything holding data."""
    existing = inspect(connection).get_table_names()
    if not existing:
        config = alembic_config()
        config.attributes["connection"] = connection  # in this transaction: PostgreSQL's DDL is transactional
        command.upgrade(config, revision)
        return
    held = [
        f"{name} ({rows} row{'s' if rows > 1 else ''})"
        for name, rows in _row_counts(connection, existing)
        if rows
    ]
    if held:
        raise CopyRefused(
            f"the target database already holds data ({', '.join(held)}): the copy goes only into a "
            "database without data, so nothing there is overwritten or mixed with the copy; create a new "
            "database (or drop this one's tables) and run the copy again"
        )
    current = schema_revision(connection)
    if current is None:
        raise CopyRefused(
            f"the target database has tables that are not the bot's ({', '.join(sorted(existing))}): copy "
            "into a new database"
        )
    if current != revision:
        raise CopyRefused(
            f"the target's (empty) schema is at {current} and the source's at {revision}: drop the target's "
            "tables so the copy creates the source's schema (the bot upgrades it when it starts)"
        )
    connection.execute(text(f"DELETE FROM {connection.dialect.identifier_preparer.quote(JOBS_TABLE)}"))


def _row_counts(connection: Connection, names: Iterable[str]) -> Iterator[tuple[str, int]]:
    quote = connection.dialect.identifier_preparer.quote
    for name in sorted(set(names) - NOT_DATA):
        yield name, connection.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one()


def _copy_rows(reading: Connection, writing: Connection, origin: Table, table: Table, batch_rows: int) -> int:
    # Values go through SQLAlchemy's types (a datetime, a dict, bytes), not as text: each side stores them
    # its own way (SQLite's JSON is text, PostgreSQL's is json). Every JSON column is NOT NULL, so a None
    # read is JSON null and is written as JSON null.
    names = [column.name for column in table.columns]
    query = select(*(origin.c[name] for name in names))
    if origin.primary_key:
        query = query.order_by(*origin.primary_key.columns)
    copied = 0
    result = reading.execution_options(yield_per=batch_rows).execute(query)
    for batch in result.partitions():
        writing.execute(insert(table), [dict(zip(names, row, strict=True)) for row in batch])
        copied += len(batch)
    return copied


def _set_sequences_past_ids(connection: Connection, tables: Iterable[Table]) -> None:
    """Inserting explicit ids leaves PostgreSQL's sequences at 1: the next request would collide with
    #1. Each sequence is set so the next id is one past the largest copied."""
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                select(func.pg_get_serial_sequence(quote(table.name), column.name))
            ).scalar_one()
            if sequence is None:
                continue
            largest = connection.execute(select(func.max(column))).scalar_one()
            # setval(seq, n, false): the next value is n itself.
            connection.execute(select(func.setval(sequence, (largest or 0) + 1, False)))


def data_left_behind(settings: Settings, engine: Engine) -> str | None:
    """A warning when the configured database holds no data but ``data_dir/open311.db`` (the embedded
    default, used before ``database_url`` was set) does: starting on it would begin a new city, request
    ids from #1 again. None when there is nothing to say."""
    left = settings.data_dir / "open311.db"
    if not settings.database_url or settings.open311.sandbox or not left.is_file():
        return None
    configured = make_url(settings.effective_database_url)
    if (
        configured.get_backend_name() == "sqlite"
        and Path(configured.database or "").resolve() == left.resolve()
    ):
        return None
    if _holds_data(engine):
        return None
    embedded = make_engine(f"sqlite:///{left.as_posix()}", pool_size=1)
    try:
        with embedded.connect() as connection:
            tables = _tables_with_rows(connection)
    finally:
        embedded.dispose()
    if not tables:
        return None
    return (
        f"the database at {shown(settings.effective_database_url)} holds no data, but {left} does "
        f"({', '.join(tables)}): starting on it begins a new city (request ids from #1 again, no API keys "
        "or operators). To move the data there, stop the bot and run `open311-bot database copy --to "
        "<database_url>`"
    )


def _holds_data(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(_tables_with_rows(connection))


def _tables_with_rows(connection: Connection) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    names = sorted(set(inspect(connection).get_table_names()) - NOT_DATA)
    return [
        name
        for name in names
        if connection.execute(text(f"SELECT 1 FROM {quote(name)} LIMIT 1")).first() is not None
    ]
