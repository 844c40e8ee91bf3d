"""Real databases for tests: a SQLite file, and a fresh schema on the PostgreSQL server.

Several test processes share one PostgreSQL database, so each test gets its own schema (set as the
connection's search_path through the URL) and drops it afterwards; no test sees another's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> str:
    return os.environ.get("OPEN311_BOT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def no_postgres(server: str, exc: OperationalError) -> NoReturn:
    """The server at ``server`` could not be reached: a failure in CI (the PostgreSQL tests must run
    there), a skip with the reason elsewhere."""
    reason = f"PostgreSQL is not reachable at {server} ({exc.orig})"
    if in_ci():
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(f"{reason}; set OPEN311_BOT_TEST_POSTGRES_URL to run these tests")


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{(directory / 'open311.db').as_posix()}"


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """Yields a URL whose connections live in a new, empty schema; drops the schema afterwards.

    When the server cannot be reached: a failure in CI (it must run there), a skip with the reason on a
    machine that has no PostgreSQL.
    """
    server_url = postgres_server_url()
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        no_postgres(server_url, exc)
    separator = "&" if "?" in server_url else "?"
    url = f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
