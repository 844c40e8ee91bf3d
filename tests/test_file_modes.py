"""The files ``open311-bot`` writes are its user's alone, whatever umask it was started with: the database,
the photos, a CSV export (they hold residents' messages and photos). Real subprocesses, started with the
common umask 022 under which they used to be created world-readable (0644)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.jobs.processes import wait_for
from tests.open311.test_http_post_requests import PNG
from tests.support.live_server import free_port

COMMAND = str(Path(sys.executable).with_name("open311-bot"))


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}


def _as_usual() -> None:
    os.umask(0o022)  # a login shell's: files 0644, directories 0755


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        preexec_fn=_as_usual,
        check=False,
    )


@contextmanager
def _serving(config: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [COMMAND, "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(),
        preexec_fn=_as_usual,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert server.poll() is None, "serve exited"
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=60, what="serve")
        yield base
    finally:
        server.terminate()
        server.wait(30)


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def test_the_database_photos_and_exports_are_the_users_alone(tmp_path: Path) -> None:
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n[jobs]\nenabled = false\n', encoding="utf-8")
    created = _run(config, "keys", "create", "CityFix iOS")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    with _serving(config) as base:
        filed = httpx.post(
            f"{base}/open311/v2/requests.json",
            data={"api_key": key, "service_code": "graffiti", "address_string": "1 Market St"},
            files={"media": ("tag.png", PNG, "image/png")},
            timeout=10,
        )
        assert filed.status_code == 200, filed.text
    exported = _run(config, "operators", "export-corrections", str(tmp_path / "out" / "corrections.csv"))
    assert exported.returncode == 0, exported.stderr

    data = tmp_path / "data"
    photos = list((data / "media").iterdir())
    assert len(photos) == 1
    modes = {
        "data_dir": _mode(data),
        "database": _mode(data / "open311.db"),
        "media/": _mode(data / "media"),
        "photo": _mode(photos[0]),
        "export": _mode(tmp_path / "out" / "corrections.csv"),
    }
    assert modes == {
        "data_dir": "0700",
        "database": "0600",
        "media/": "0700",
        "photo": "0600",
        "export": "0600",
    }
    for journal in data.glob("open311.db-*"):  # SQLite's WAL and shared memory, if still there
        assert _mode(journal) == "0600", journal


def test_a_data_dir_others_can_read_is_named_at_start(tmp_path: Path) -> None:
    shared = tmp_path / "var"
    shared.mkdir()
    shared.chmod(0o755)  # made by an earlier release, or by hand
    config = tmp_path / "city.toml"
    config.write_text(f'data_dir = "{shared}"\n[jobs]\nenabled = false\n', encoding="utf-8")
    checked = _run(config, "serve", "--check")
    assert checked.returncode == 0, checked.stderr
    assert f"data_dir {shared} can be read by other users (mode 0755)" in checked.stderr
    assert f"chmod -R go= {shared}" in checked.stderr
    shared.chmod(0o700)
    assert "other users" not in _run(config, "serve", "--check").stderr
