"""Moving a city from the embedded SQLite file to PostgreSQL: ``open311-bot database copy --to URL``.

Found by a city IT tester: setting database_url to PostgreSQL started an empty city (request ids from #1
again though residents were told #1 to #3; API keys and operators gone), and ``serve --check`` only said
the database was empty. Here a city is filled through the real app over HTTP, copied by the real
command into a new PostgreSQL database, and served from there.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, migrate
from tests.jobs.processes import BOT, REPO, BotProcess, wait_until_serving
from tests.open311.conformance import catalog_overrides, create_key, deployment, json_records
from tests.operator.support import operators_cli, report_as_resident, resident_messages
from tests.operator.test_console_access import signed_in_client
from tests.support.databases import no_postgres, postgres_server_url, sqlite_url
from tests.support.live_server import free_port

pytestmark = pytest.mark.postgres

PASSPHRASE = "a long enough passphrase"
COPY_HINT = "open311-bot database copy --to"


@pytest.fixture
def new_database() -> Iterator[str]:
    """A URL of a new, empty PostgreSQL database (a deployment's own, not a schema); dropped afterwards."""
    server = make_url(postgres_server_url())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"dbcopy_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        no_postgres(server.render_as_string(), exc)
    try:
        yield server.set(database=name, query={}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bot(data_dir: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """``open311-bot ARGS`` as a deployer runs it in this data directory (database_url unset: SQLite)."""
    env = {"PATH": "/usr/bin:/bin", "OPEN311_BOT_DATA_DIR": str(data_dir)}
    if database_url:
        env["OPEN311_BOT_DATABASE_URL"] = database_url
    return subprocess.run(
        [*BOT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def pothole(key: str, description: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "37.7749",
        "long": "-122.4194",
        "description": description,
    }


def table_names(url: str) -> list[str]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


def assert_same_rows(source_url: str, target_url: str) -> None:
    """Every table holds the same rows on both sides (read back as values: datetimes, JSON, booleans)."""
    engines = [make_engine(source_url, pool_size=1), make_engine(target_url, pool_size=1)]
    try:
        with engines[0].connect() as source, engines[1].connect() as target:
            tables = MetaData()
            tables.reflect(bind=target)
            for table in tables.sorted_tables:
                if table.name == "alembic_version":
                    continue
                query = select(table).order_by(*table.primary_key.columns)
                rows = [list(connection.execute(query)) for connection in (source, target)]
                assert rows[0] == rows[1], table.name
    finally:
        for engine in engines:
            engine.dispose()


def test_a_city_moves_from_sqlite_to_postgresql_with_its_ids_keys_and_operators(
    tmp_path: Path, new_database: str
) -> None:
    data_dir = tmp_path / "data"
    overrides = catalog_overrides(tmp_path)
    with deployment(data_dir, sqlite_url(data_dir), **overrides) as city:
        key = create_key(city, "CityFix iOS")
        told = []
        for words in ("deep pothole", "second pothole", "third pothole"):
            answer = city.post("requests.json", data=pothole(key, words))
            assert answer.status_code == 200, answer.text
            told.append(json_records(answer)[0]["service_request_id"])
        assert told == ["1", "2", "3"]
        replies = report_as_resident(city.root, "res-copy", "hello")
        assert replies
    assert (
        operators_cli(data_dir, sqlite_url(data_dir), "create", "alice", stdin=PASSPHRASE + "\n").returncode
        == 0
    )

    # Pointed at the empty PostgreSQL database, the check says the data is left behind and how to move it.
    check = bot(data_dir, "serve", "--check", database_url=new_database)
    assert check.returncode == 0, check.stderr
    assert COPY_HINT in check.stderr, check.stderr
    assert "holds no data" in check.stderr
    # As if serve had started there once: the empty schema it created is no obstacle to the copy.
    target = make_engine(new_database, pool_size=1)
    migrate(target)
    target.dispose()

    copied = bot(data_dir, "database", "copy", "--to", new_database)
    assert copied.returncode == 0, copied.stderr
    counts = dict(line.split() for line in copied.stdout.splitlines() if line.startswith("  "))
    assert counts["service_requests"] == "3"
    assert counts["api_keys"] == "1"
    assert counts["operator_account"] == "1"
    assert int(counts["outbox"]) >= 1

    assert_same_rows(sqlite_url(data_dir), new_database)

    check = bot(data_dir, "serve", "--check", database_url=new_database)
    assert check.returncode == 0, check.stderr
    assert COPY_HINT not in check.stderr, check.stderr

    with deployment(data_dir, new_database, **overrides) as moved:
        listed = json_records(moved.get("requests.json"))
        assert sorted(r["service_request_id"] for r in listed) == ["1", "2", "3"]
        assert {r["service_request_id"]: r["description"] for r in listed}["1"] == "deep pothole"
        answer = moved.post("requests.json", data=pothole(key, "a new pothole"))  # the key still works
        assert answer.status_code == 200, answer.text
        assert json_records(answer)[0]["service_request_id"] == "4"
        assert resident_messages(moved.root, "res-copy") == list(replies)
        client, _ = signed_in_client(moved.root, "alice", PASSPHRASE)
        client.close()


def test_a_target_with_data_is_refused_and_a_failed_copy_leaves_the_target_untouched(
    tmp_path: Path, new_database: str
) -> None:
    data_dir = tmp_path / "data"
    with deployment(data_dir, sqlite_url(data_dir), **catalog_overrides(tmp_path)) as city:
        key = create_key(city, "CityFix iOS")
        assert city.post("requests.json", data=pothole(key, "fine")).status_code == 200
    # A description PostgreSQL cannot store (a NUL character, which SQLite keeps): the copy fails at
    # service_requests, after the schema and the tables before it were written.
    source = make_engine(sqlite_url(data_dir), pool_size=1)
    with source.begin() as connection:
        connection.execute(text("UPDATE service_requests SET description = 'bad' || char(0) || 'byte'"))
    source.dispose()  # a process with the file open is a running bot to `database copy`: it refuses
    failed = bot(data_dir, "database", "copy", "--to", new_database)
    assert failed.returncode == 1
    assert failed.stderr.startswith("open311-bot: the copy failed at table service_requests"), failed.stderr
    assert "nothing was written" in failed.stderr
    assert table_names(new_database) == []

    source = make_engine(sqlite_url(data_dir), pool_size=1)
    with source.begin() as connection:
        connection.execute(text("UPDATE service_requests SET description = 'fine'"))
    source.dispose()
    assert bot(data_dir, "database", "copy", "--to", new_database).returncode == 0
    again = bot(data_dir, "database", "copy", "--to", new_database)
    assert again.returncode == 1
    assert "the target database already holds data (api_keys (1 row)" in again.stderr, again.stderr
    assert (
        bot(data_dir, "database", "copy", "--to", "sqlite:////tmp/elsewhere.db").stderr
        == "open311-bot database copy: --to names a PostgreSQL database (postgresql://user@host:5432/name); "
        "to copy a SQLite file, copy the file with the bot stopped\n"
    )


def test_serve_says_at_start_up_that_the_data_was_left_behind(tmp_path: Path, new_database: str) -> None:
    data_dir = tmp_path / "data"
    with deployment(data_dir, sqlite_url(data_dir)) as city:
        create_key(city, "CityFix iOS")
    config = tmp_path / "city.toml"
    port = free_port()
    config.write_text(
        f'data_dir = "{data_dir.as_posix()}"\ndatabase_url = "{new_database}"\n\n'
        f"[server]\nport = {port}\n\n[jobs]\nenabled = false\n",
        encoding="utf-8",
    )
    serve = BotProcess(["serve"], config=config, log_path=tmp_path / "serve.log").start()
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", serve)
    finally:
        serve.stop()
    log = serve.log()
    assert log.count(COPY_HINT) == 1, log[-3000:]
    assert "holds no data, but" in log


def test_a_sqlite_file_a_running_bot_uses_is_not_copied(tmp_path: Path, new_database: str) -> None:
    """`database copy` copied the file a live serve was writing: what it handled after the copy was left
    behind without a word. It now names the process and says to stop the bot; once stopped, it copies."""
    data_dir, port = tmp_path / "data", free_port()
    config = tmp_path / "city.toml"
    config.write_text(
        f'data_dir = "{data_dir}"\n[server]\nport = {port}\n[jobs]\nenabled = false\n', encoding="utf-8"
    )
    serve = BotProcess(["serve"], config=config, log_path=tmp_path / "serve.log").start()
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", serve)
        refused = bot(data_dir, "database", "copy", "--to", new_database)
    finally:
        serve.stop()
    assert refused.returncode == 1, refused.stderr
    assert f"process {serve.pid}" in refused.stderr, refused.stderr
    assert "stop the bot first" in refused.stderr, refused.stderr
    assert "Copied" not in refused.stdout

    copied = bot(data_dir, "database", "copy", "--to", new_database)
    assert copied.returncode == 0, copied.stderr
    assert "Copied" in copied.stdout
