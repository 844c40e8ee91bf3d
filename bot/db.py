"""The database: one engine and session factory per process, and the one place the schema is created.

SQLite (the embedded default) lives in ``data_dir/open311.db`` with WAL, so readers never wait for the
writer; PostgreSQL is used by URL (``postgresql+psycopg://...``) and lets several workers share the load.
The schema is created and upgraded only by the alembic migrations in ``bot/migrations`` (``migrate``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from bot.config import ConfigError, StartupError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Pragmas for every SQLite connection: WAL for concurrent readers, NORMAL sync (durable across
# application crashes, and fast: no fsync per commit in WAL mode), enforced foreign keys, and a busy
# timeout so a second writer waits instead of failing.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-20000",
)

SessionFactory = sessionmaker[Session]


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    """An engine for the URL; for SQLite it creates the file's directory and sets the pragmas."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            folder = Path(url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # keys, operators, ... with a data_dir they cannot use: no traceback
                raise ConfigError(
                    f"data_dir (or database_url): cannot create {folder}, the SQLite database's directory: "
                    f"{exc.strerror or exc}"
                ) from exc
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=pool_size,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _json_dumps(value: Any) -> str:
    # orjson: JSON columns are read by the thousand in list queries; the standard library is ~5x slower.
    return orjson.dumps(value).decode("utf-8")


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> SessionFactory:
    # expire_on_commit=False: objects stay readable after commit (the service returns them to callers).
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


class UnknownSchemaRevision(StartupError):
    """The database's schema is at a revision this release does not have: a newer release upgraded it (the
    CLI says so in one line, as for any start-up error)."""


def schema_revision(connection: Connection) -> str | None:
    """The migration the database's schema is at (None: no schema yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def pending_migrations(connection: Connection) -> tuple[str | None, list[str]]:
    """The database's schema revision and the migrations ``serve`` would apply to it, oldest first."""
    current = schema_revision(connection)
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        pending = [script.revision for script in scripts.iterate_revisions("head", current)]
    except (CommandError, RevisionError) as exc:
        raise UnknownSchemaRevision(
            f"the database's schema is at revision {current}, which this release does not have: a newer "
            "release has upgraded it (migrations go one way; run that release, or restore the backup taken "
            "before the upgrade)"
        ) from exc
    return current, list(reversed(pending))


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Applies the migrations up to ``revision`` (run by ``serve`` on start-up and by tests). An upgrade of
    an existing schema is a one-way change the operator should hear of: it is logged, and its description
    returned (None when there was none). Creating the schema of an empty database is logged too (the
    operator hears which revision it is at), and returns None: nothing ran on it before."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers starting at once: one migrates, the others wait here and then find the
            # schema at head. The lock is per schema and ends with this transaction.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('open311-bot:migrate:' || current_schema()))")
            )
        current, pending = pending_migrations(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if not pending:
        return None
    if current is None:
        log.info("created the database schema at %s", pending[-1])
        return None
    upgraded = f"upgraded the database schema from {current} to {pending[-1]}"
    log.warning(upgraded)
    return upgraded
