"""The schema comes only from the alembic migrations, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import bot.open311.models  # noqa: F401  (the core's tables on SQLModel.metadata)
from bot.db import alembic_config, make_engine, migrate

CORE_TABLES = {"service_requests", "status_changes", "request_tokens", "api_keys"}


def test_migrations_create_the_core_schema_and_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert not CORE_TABLES & set(inspect(engine).get_table_names()), "a fresh database"
        migrate(engine)
        migrate(engine)  # applying again is a no-op, as on every start-up
        tables = set(inspect(engine).get_table_names())
        assert tables >= CORE_TABLES
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
            differences = [
                diff
                for diff in compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
                if _table_of(diff) in CORE_TABLES
            ]
        assert differences == [], f"the core's models and migrations disagree: {differences}"
        indexes = {index["name"] for index in inspect(engine).get_indexes("service_requests")}
        assert {"ix_service_requests_requested_id", "ix_service_requests_code_requested_id"} <= indexes
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_database_url: str) -> None:
    engine = make_engine(sqlite_database_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def _table_of(diff: object) -> str | None:
    """The table an autogenerate difference is about (its shapes vary by kind of difference)."""
    item = diff[0] if isinstance(diff, list) else diff
    assert isinstance(item, tuple)
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in CORE_TABLES:
            return part
        if name in CORE_TABLES:
            return str(name)
    return None
