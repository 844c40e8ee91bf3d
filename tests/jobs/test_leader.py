"""Scheduler election on a real database: exactly one leader, and a successor when the leader's
connection dies (as it does when its process is killed)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from bot.jobs.leader import Leadership
from tests.support.databases import fresh_postgres_schema, postgres_server_url


@pytest.mark.postgres
def test_one_leader_and_a_successor_when_its_connection_dies(postgres_url: str) -> None:
    first = Leadership(postgres_url, "auto")
    second = Leadership(postgres_url, "auto")
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        assert second.try_lead() is False  # asking again changes nothing while the leader lives
        assert first.still_leading() is True

        # The leader's session dies (kill -9, a lost machine): PostgreSQL drops its lock with it.
        assert first._connection is not None
        pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        admin.dispose()

        assert first.still_leading() is False
        assert second.try_lead() is True
        assert first.try_lead() is False  # the old leader, reconnected, is now a follower
    finally:
        first.resign()
        second.resign()


@pytest.mark.postgres
def test_resigning_hands_over_at_once(postgres_url: str) -> None:
    first = Leadership(postgres_url, "auto")
    second = Leadership(postgres_url, "auto")
    try:
        assert first.try_lead() is True
        first.resign()
        assert second.try_lead() is True
    finally:
        first.resign()
        second.resign()


@pytest.mark.postgres
def test_deployments_in_other_schemas_elect_their_own(postgres_url: str) -> None:
    with fresh_postgres_schema() as other_url:
        ours, theirs = Leadership(postgres_url, "auto"), Leadership(other_url, "auto")
        try:
            assert ours.try_lead() is True
            assert theirs.try_lead() is True
        finally:
            ours.resign()
            theirs.resign()


def test_sqlite_leads_alone_and_the_modes_override_the_election(sqlite_database_url: str) -> None:
    assert Leadership(sqlite_database_url, "auto").try_lead() is True
    assert Leadership(sqlite_database_url, "always").try_lead() is True
    assert Leadership(sqlite_database_url, "never").try_lead() is False


@pytest.mark.postgres
def test_never_and_always_skip_the_lock_on_postgresql(postgres_url: str) -> None:
    elected = Leadership(postgres_url, "auto")
    try:
        assert elected.try_lead() is True
        assert Leadership(postgres_url, "never").try_lead() is False
        assert Leadership(postgres_url, "always").try_lead() is True
    finally:
        elected.resign()
