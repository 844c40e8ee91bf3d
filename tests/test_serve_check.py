"""``open311-bot serve`` and ``serve --check`` as a city's IT administrator meets them, through the real
command: a path it cannot use is a configuration error naming the key (exit 2, no traceback), the check
changes nothing on disk, and it names every problem it finds in one run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import free_port

COMMAND = str(Path(sys.executable).with_name("open311-bot"))


def _run(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    environment.update(env or {})
    return subprocess.run(
        [COMMAND, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def _unusable_data_dir(tmp_path: Path, kind: str) -> tuple[str, dict[str, str]]:
    """A config line and environment giving data_dir a value serve cannot keep its data in."""
    a_file = tmp_path / "README.md"
    a_file.write_text("not a directory\n", encoding="utf-8")
    if kind == "under /proc":
        return 'data_dir = "/proc/open311-bot-no-such"\n', {}
    if kind == "a file":
        return f'data_dir = "{a_file}"\n', {}
    if kind == "under a file, from the environment":
        return "", {"OPEN311_BOT_DATA_DIR": str(a_file / "var")}
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "media").write_text("a file where the photos go\n", encoding="utf-8")
    return 'data_dir = "data"\n', {}


@pytest.mark.parametrize("command", [("serve", "--check"), ("serve", "--port", "0")], ids=["check", "serve"])
@pytest.mark.parametrize(
    "kind", ["under /proc", "a file", "under a file, from the environment", "media is a file"]
)
def test_an_unusable_data_dir_is_a_configuration_error(
    tmp_path: Path, kind: str, command: tuple[str, ...]
) -> None:
    line, env = _unusable_data_dir(tmp_path, kind)
    config = tmp_path / "city.toml"
    config.write_text(line + "[jobs]\nenabled = false\n", encoding="utf-8")

    command = tuple(str(free_port()) if part == "0" else part for part in command)
    result = _run(config, *command, env=env, timeout=90)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "open311-bot: configuration error: data_dir" in result.stderr, result.stderr
    if env:
        assert "OPEN311_BOT_DATA_DIR" in result.stderr, result.stderr
    assert "serving on" not in result.stdout


@pytest.mark.parametrize("key", ["open311.catalog_file", "conversation.templates_file"])
def test_a_directory_given_for_a_file_names_the_key(tmp_path: Path, key: str) -> None:
    section, name = key.split(".")
    (tmp_path / "deploy").mkdir()
    config = tmp_path / "city.toml"
    config.write_text(f'data_dir = "data"\n[{section}]\n{name} = "deploy"\n', encoding="utf-8")

    result = _run(config, "serve", "--check")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"open311-bot: configuration error: {key}: " in result.stderr, result.stderr
    assert "is a directory" in result.stderr, result.stderr


def test_the_check_writes_nothing_and_says_what_serve_would_create(tmp_path: Path) -> None:
    """On SQLite with a data_dir that did not exist, --check created it and an empty 4 KB open311.db."""
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "new/var"\n[jobs]\nenabled = false\n', encoding="utf-8")
    before = sorted(path.name for path in tmp_path.rglob("*"))

    result = _run(config, "serve", "--check")

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.rglob("*")) == before
    data = tmp_path / "new" / "var"
    assert f"serve would create data_dir {data}" in result.stdout, result.stdout
    assert f"{data / 'open311.db'}" in result.stdout, result.stdout
    # And serve itself still makes them.
    port = free_port()
    server = subprocess.Popen(
        [COMMAND, "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")},
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "serving on" in line:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (data / "open311.db").is_file()


@pytest.mark.parametrize("command", [("serve", "--check"), ("serve", "--port", "0")], ids=["check", "serve"])
def test_the_check_names_every_problem_in_one_run(tmp_path: Path, command: tuple[str, ...]) -> None:
    """The check stopped at the first problem: a deployer fixed one a round (the tester took five). Plain
    serve still did (create_app stops at the first): it names them all too, as the check does."""
    config = tmp_path / "city.toml"
    config.write_text(
        'data_dir = "README.md"\n'
        'database_url = "postgresql+psycopg://bot:hunter2@127.0.0.1:1/city"\n'
        '[conversation]\ntemplates_file = "no-templates.toml"\n'
        '[intents]\nmodel_path = "no-model"\n'
        '[twilio]\nenabled = true\naccount_sid = "AC123"\nfrom_number = "+16145550100"\n'
        'auth_token = "${NO_SUCH_TWILIO_TOKEN}"\n',
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("a file\n", encoding="utf-8")

    command = tuple(str(free_port()) if part == "0" else part for part in command)
    result = _run(config, *command)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "serving on" not in result.stdout
    for expected in (
        "configuration error: data_dir",
        "configuration error: conversation.templates_file: ",
        "configuration error: intents.model_path: ",
        "configuration error: twilio.auth_token: not set",
        "cannot connect to the database at postgresql+psycopg://bot:***@127.0.0.1:1/city",
    ):
        assert expected in result.stderr, result.stderr
    assert "hunter2" not in result.stderr


def test_a_section_given_a_value_in_the_environment_says_how_to_set_its_keys(tmp_path: Path) -> None:
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n', encoding="utf-8")

    result = _run(config, "serve", "--check", env={"OPEN311_BOT_SERVER": "8631"})

    assert result.returncode == 2, result.stderr
    assert "ServerSettings" not in result.stderr, result.stderr
    assert "OPEN311_BOT_SERVER" in result.stderr, result.stderr
    assert "OPEN311_BOT_SERVER__<KEY>" in result.stderr, result.stderr  # the shape it expects
    assert "port" in result.stderr, result.stderr
    assert "[server]" in result.stderr, result.stderr


def test_a_port_in_use_is_refused_before_start_up_in_one_line(tmp_path: Path) -> None:
    """A second serve on the same port said "serving on ..." and ran its whole start-up before failing."""
    config = tmp_path / "city.toml"
    config.write_text('data_dir = "data"\n', encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = _run(config, "serve", "--port", str(port), timeout=60)

    assert result.returncode != 0
    assert "serving on" not in result.stdout, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0], lines[0]
    assert "server.port" in lines[0], lines[0]
    assert not (tmp_path / "data" / "open311.db").exists(), "start-up ran before the port was tried"
