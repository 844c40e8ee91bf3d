"""The schema comes only from the alembic migrations, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
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


def test_the_check_leaves_an_older_database_alone_and_a_newer_one_is_refused_clearly(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --check` ran the migrations: a deployer checking the new release against the database the old
    one still served from upgraded it, and the old one then failed at its next start with a traceback."""
    from bot.cli import main

    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    config = tmp_path / "city.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{database_url}"\n', encoding="utf-8"
    )
    engine = make_engine(database_url)
    try:
        migrate(engine, "0007_open311_list_indexes")  # the schema of an earlier release

        assert main(["--config", str(config), "serve", "--check"]) == 0
        said = capsys.readouterr().out
        assert "schema is at 0007_open311_list_indexes: serve would upgrade it to " in said, said
        assert "10 migrations, one way: back it up first" in said
        assert _revision(engine) == "0007_open311_list_indexes"

        # Any other command upgrades it, as serve does, and says so.
        assert main(["--config", str(config), "keys", "list"]) == 0
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert (
            f"upgraded the database schema from 0007_open311_list_indexes to {head}"
            in capsys.readouterr().err
        )
        assert _revision(engine) == head
        assert main(["--config", str(config), "serve", "--check"]) == 0
        assert f"the database's schema is up to date ({head})" in capsys.readouterr().out

        # A release older than the database's schema says so and stops (before: alembic's traceback).
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099_a_later_release'"))
        for command in (["serve", "--check"], ["keys", "list"]):
            assert main(["--config", str(config), *command]) == 1
            error = capsys.readouterr().err
            assert "schema is at revision 0099_a_later_release, which this release does not have" in error
            assert "Traceback" not in error
    finally:
        engine.dispose()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
