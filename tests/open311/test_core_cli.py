"""The console command as a user runs it: real subprocesses of ``open311-bot``."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.db import make_engine, make_session_factory
from bot.open311.errors import Forbidden
from bot.open311.keys import KeyStore
from tests.open311.test_http_post_requests import PNG
from tests.support.live_server import free_port

COMMAND = str(Path(sys.executable).with_name("open311-bot"))


def _config(tmp_path: Path, database_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "data"\ndatabase_url = "{database_url}"\n[jobs]\nenabled = false\n', encoding="utf-8"
    )
    return config


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    return subprocess.run(
        [COMMAND, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def test_keys_create_list_revoke(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url)
    created = _run(config, "keys", "create", "CityFix iOS")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    assert " " not in key
    second = _run(config, "keys", "create", "Pothole Pal").stdout.strip().splitlines()[-1]
    assert second != key

    settings = load_settings(config)
    engine = make_engine(settings.effective_database_url)
    try:
        keys = KeyStore(make_session_factory(engine))
        assert keys.verify(key).app_name == "CityFix iOS"
        stored = [k.key_prefix for k in keys.list()]
        assert key[:8] in stored

        listing = _run(config, "keys", "list")
        assert listing.returncode == 0
        assert "CityFix iOS" in listing.stdout
        assert "Pothole Pal" in listing.stdout
        assert key not in listing.stdout, "listings never show a key"

        revoked = _run(config, "keys", "revoke", "CityFix iOS")
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(Forbidden):
            keys.verify(key)
        assert keys.verify(second).app_name == "Pothole Pal"
        assert _run(config, "keys", "revoke", "CityFix iOS").returncode == 1, "nothing left to revoke"
        assert "CityFix iOS" not in _run(config, "keys", "list", "--active").stdout
    finally:
        engine.dispose()


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[twilio]\nauth_token = "literal-secret"\n', encoding="utf-8")
    result = _run(config, "keys", "list")
    assert result.returncode == 2
    assert "twilio.auth_token" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_starts_on_the_given_port_with_migrations_applied(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    config = _config(tmp_path, sqlite_database_url)
    with _serving(config, "--host", "127.0.0.1") as (base, _output):
        services = httpx.get(f"{base}/open311/v2/services.json", timeout=10)
        assert services.status_code == 200
        assert len(services.json()) == 16
        listed = httpx.get(f"{base}/open311/v2/requests.json", timeout=10)
        assert listed.json() == [], "the schema was created on start-up"


def test_serve_on_another_port_announces_that_port(tmp_path: Path, sqlite_database_url: str) -> None:
    """Without a public_url of its own, the deployment's URL follows the port it is served on: in the
    discovery document and in the URLs of uploaded media."""
    config = _config(tmp_path, sqlite_database_url)
    key = _run(config, "keys", "create", "port-check").stdout.strip().splitlines()[-1]
    with _serving(config) as (base, _output):
        discovery = httpx.get(f"{base}/open311/v2/discovery.json", timeout=10).json()
        assert [endpoint["url"] for endpoint in discovery["endpoints"]] == [f"{base}/open311/v2"]
        filed = httpx.post(
            f"{base}/open311/v2/requests.json",
            data={"api_key": key, "service_code": "graffiti", "address_string": "1 Market St"},
            files={"media": ("tag.png", PNG, "image/png")},
            timeout=10,
        )
        assert filed.status_code == 200, filed.text
        request_id = filed.json()[0]["service_request_id"]
        media_url = httpx.get(f"{base}/open311/v2/requests/{request_id}.json", timeout=10).json()[0][
            "media_url"
        ]
        assert media_url.startswith(f"{base}/"), media_url
        assert httpx.get(media_url, timeout=10).content == PNG


def test_serve_writes_no_api_key_to_its_access_log(tmp_path: Path, sqlite_database_url: str) -> None:
    """A GeoReport client may send its key in the query string; the access log names the request, not the
    key."""
    config = _config(tmp_path, sqlite_database_url)
    key = _run(config, "keys", "create", "query-string client").stdout.strip().splitlines()[-1]
    with _serving(config) as (base, output):
        report = {"service_code": "graffiti", "address_string": "1 Market St"}
        for name in ("api_key", "api%5Fkey"):  # the app decodes the name, so must the log
            filed = httpx.post(
                f"{base}/open311/v2/requests.json?{name}={key}&page=1", data=report, timeout=10
            )
            assert filed.status_code == 200, filed.text
        # Other forms of the same key: after a ";" (which the app does not read as a separator, but the
        # value is the key all the same), in capitals, as an array.
        for query in (f"page_size=1;api_key={key}", f"API_KEY={key}", f"api_key%5B%5D={key}&page=1"):
            httpx.get(f"{base}/open311/v2/requests.json?{query}", timeout=10)
    logged = "".join(output)
    assert key not in logged
    assert '"POST /open311/v2/requests.json?api_key=<redacted>&page=1 HTTP/1.1" 200' in logged
    assert '"POST /open311/v2/requests.json?api%5Fkey=<redacted>&page=1 HTTP/1.1" 200' in logged
    for query in ("page_size=1;api_key=<redacted>", "API_KEY=<redacted>", "api_key%5B%5D=<redacted>&page=1"):
        assert f'"GET /open311/v2/requests.json?{query} HTTP/1.1"' in logged, query


@contextlib.contextmanager
def _serving(config: Path, *arguments: str) -> Iterator[tuple[str, list[str]]]:
    """`open311-bot serve` on a free port, as a deployer starts it (none of this process's OPEN311_BOT_*
    variables), until it answers /healthz: its URL, and a list that holds all it printed once it stopped."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    server = subprocess.Popen(
        [COMMAND, "--config", str(config), "serve", *arguments, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    output: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                printed = server.stdout.read() if server.stdout else ""
                pytest.fail(f"serve exited early with {server.returncode}: {printed[-2000:]}")
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.2)
        yield base, output
    finally:
        server.terminate()
        output.append(server.communicate(timeout=30)[0])


def test_serve_check_in_sandbox_mode_writes_no_database(tmp_path: Path, sqlite_database_url: str) -> None:
    # The README says --check never changes the database; in sandbox mode it created data_dir/sandbox.db
    # with the whole schema (and on a deployment whose sandbox was serving, deleted that one's file).
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "data"\ndatabase_url = "{sqlite_database_url}"\n[open311]\nsandbox = true\n',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    checked = _run(config, "serve", "--check")
    assert checked.returncode == 0, checked.stderr
    assert "sandbox" in checked.stdout, checked.stdout
    assert not data.exists(), "--check makes no data_dir (it says serve would)"
    # A sandbox database already there (a sandbox serving from it) is left as it is.
    data.mkdir(mode=0o700)
    (data / "sandbox.db").write_bytes(b"the serving sandbox's database")
    assert _run(config, "serve", "--check").returncode == 0
    assert (data / "sandbox.db").read_bytes() == b"the serving sandbox's database"


def test_the_readme_shows_every_command() -> None:
    """Every command and action `open311-bot --help` lists is in the README (operators enable was not)."""
    import argparse

    from bot.cli import build_parser

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

    def actions(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    missing = []
    for command, command_parser in actions(build_parser()).items():
        for action in actions(command_parser) or {"": command_parser}:
            shown = f"open311-bot {command} {action}".strip()
            if shown not in readme:
                missing.append(shown)
    assert missing == [], f"the README does not show: {missing}"


def test_serve_logs_which_process_runs_the_scheduler(tmp_path: Path, postgres_url: str) -> None:
    """Like `worker`, `serve` says when it becomes the elected scheduler (it said nothing before)."""
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "data"\ndatabase_url = "{postgres_url}"\n', encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    server = subprocess.Popen(
        [COMMAND, "--config", str(config), "serve", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    assert server.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout or ()], daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        while not any("this process now runs the scheduler" in line for line in seen):
            assert time.monotonic() < deadline, "".join(seen[-30:])
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
    finally:
        server.terminate()
        server.wait(timeout=30)
