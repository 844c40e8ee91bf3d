"""Operator names are one account in any case ("Alice" is alice), in the database as well as in the CLI, on
SQLite and PostgreSQL; a database that already holds such twins upgrades all the same and says so, and
each of those accounts still signs in to the console by its exact name."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import make_engine, make_session_factory, migrate
from bot.review import operators
from bot.review.operators import Operator, OperatorError, create_operator
from tests.operator.support import Deployment, csrf_token, operators_cli

PASSPHRASE = "a long enough passphrase"


def cli(tmp_path: Path, database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``open311-bot operators ...`` as a deployer runs it, against this database."""
    return operators_cli(tmp_path / "data", database_url, *args, stdin=stdin)


def not_written(sessions: Callable[[], Session], name: str) -> bool:
    """True when the database refuses an account row named ``name`` written straight into the table."""
    with sessions() as session:
        session.add(Operator(name=name, password_hash="x"))
        try:
            session.commit()
        except IntegrityError:
            return True
    return False


def test_a_name_differing_only_in_case_is_refused_by_the_cli_and_the_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(tmp_path, database_url, "create", "Carol", stdin=PASSPHRASE + "\n").returncode == 0
    twin = cli(tmp_path, database_url, "create", "carol", stdin=PASSPHRASE + "\n")
    assert twin.returncode == 1
    assert "an operator named 'Carol' already exists" in twin.stderr

    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        # Whatever writes the account (a second `operators create` at the same moment, a hand-made row):
        # the database itself refuses the twin.
        assert not_written(sessions, "CAROL")

        # Two `operators create` at once both found the name free; the second to write is told plainly.
        real_named = operators._named
        checks: list[str] = []

        def not_yet_there(session: object, name: str) -> list[Operator]:
            checks.append(name)
            return [] if len(checks) == 1 else real_named(session, name)  # type: ignore[arg-type]

        monkeypatch.setattr(operators, "_named", not_yet_there)
        with sessions() as session, pytest.raises(OperatorError, match="an operator named 'Carol' already"):
            create_operator(session, "CaRoL", PASSPHRASE)
    finally:
        engine.dispose()
    assert cli(tmp_path, database_url, "list").stdout.count("\tactive") == 1


def test_an_upgrade_over_existing_twins_keeps_them_names_them_and_refuses_new_ones(
    database_url: str, tmp_path: Path, deploy: Callable[..., AbstractContextManager[Deployment]]
) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0015_resident_usernames")  # the release before names were unique in any case
        with engine.begin() as connection:
            for name in ("carol", "Carol", "erin", "CAROL", "Dave", "dave"):
                connection.execute(
                    text(
                        "INSERT INTO operator_account (name, password_hash, disabled, created_at) "
                        "VALUES (:name, :hash, false, CURRENT_TIMESTAMP)"
                    ),
                    {"name": name, "hash": operators._hasher.hash(passphrase_of(name))},
                )
    finally:
        engine.dispose()

    # The first command after the release upgrades the schema: it does not stop over the twins, it names them.
    listed = cli(tmp_path, database_url, "list")
    assert listed.returncode == 0, listed.stderr
    assert "operator accounts 'carol', 'Carol', 'CAROL' differ only in case" in listed.stderr
    assert "operator accounts 'Dave', 'dave' differ only in case" in listed.stderr
    assert "erin" not in listed.stderr
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()) == sorted(
        ["carol", "Carol", "erin", "CAROL", "Dave", "dave"]
    )

    with deploy() as deployment:
        # Each twin still signs in to the console by its exact name; another spelling is a guess.
        for name in ("carol", "Carol", "CAROL"):
            assert sign_in(deployment.url, name, passphrase_of(name)) == 303
        assert sign_in(deployment.url, "cArOl", passphrase_of("Carol")) == 401
        # No new account takes any of those names, nor erin's, even written straight into the table.
        for name in ("cAROL", "DAVE", "Erin"):
            assert not_written(deployment.runtime.sessions, name)
    refused = cli(tmp_path, database_url, "create", "ERIN", stdin=PASSPHRASE + "\n")
    assert refused.returncode == 1
    assert "an operator named 'erin' already exists" in refused.stderr
    assert cli(tmp_path, database_url, "create", "frank", stdin=PASSPHRASE + "\n").returncode == 0


def passphrase_of(name: str) -> str:
    return f"{name}'s long passphrase"


def sign_in(url: str, name: str, password: str) -> int:
    """One sign-in through the console's form, as a browser sends it; the answer's status."""
    with httpx.Client(base_url=url, timeout=10) as client:
        token = csrf_token(client.get("/operator/sign-in").text)
        data = {"csrf_token": token, "name": name, "password": password}
        return client.post("/operator/sign-in", data=data).status_code
