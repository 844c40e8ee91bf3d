"""What ``worker`` and ``serve`` say when they start, each thing once, as the README has it.

Found by a black-box tester: a worker that could not reach its database wrote seven of alembic's
"setup plugin ..." lines before the error (serve did not); the warning about an unset
``conversation.help_contact`` came twice on every start and from ``serve --check``; and on an empty
database the log showed alembic's "Running upgrade" lines, never the bot's own word on the schema.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.db import alembic_config
from channels.fakes.twilio import FakeTwilio
from tests.jobs.processes import BOT, REPO, BotProcess, wait_for
from tests.jobs.test_workers import write_config
from tests.support.live_server import free_port

HELP_CONTACT_WARNING = "conversation.help_contact is not set"


def run_bot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOT, "--config", str(config), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TEST_TWILIO_AUTH_TOKEN": "not-a-real-token-at-all"},
    )


def sms_config(tmp_path: Path, database_url: str) -> Path:
    config = tmp_path / "city.toml"
    config.write_text(
        f"""
data_dir = "{(tmp_path / "data").as_posix()}"
database_url = "{database_url}"

[twilio]
enabled = true
account_sid = "AC00000000000000000000000000000000"
auth_token = "${{TEST_TWILIO_AUTH_TOKEN}}"
from_number = "+14155550100"
""",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_database_out_of_reach_is_the_one_thing_said(tmp_path: Path, command: str) -> None:
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    result = run_bot(sms_config(tmp_path, unreachable), command)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("open311-bot: cannot connect to the database at postgresql+psycopg://")


def test_serve_check_names_an_unset_help_contact_once(tmp_path: Path, database_url: str) -> None:
    result = run_bot(sms_config(tmp_path, database_url), "serve", "--check")
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count(HELP_CONTACT_WARNING) == 1, result.stderr


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_on_an_empty_database_says_once_that_it_created_the_schema(
    tmp_path: Path, postgres_url: str, twilio: FakeTwilio
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    worker = BotProcess(
        ["worker"],
        config=write_config(tmp_path, postgres_url, twilio),
        log_path=tmp_path / "worker.log",
        env={"FAKE_TWILIO_AUTH_TOKEN": twilio.auth_token},
    ).start()
    try:
        wait_for(lambda: "running jobs" in worker.log(), timeout=90, what="the worker to run")
    finally:
        worker.stop()
    log = worker.log()
    assert log.count(f"created the database schema at {head}") == 1, log[-3000:]
    assert "alembic" not in log, log[-3000:]  # its lines per plugin and per migration
    assert log.count(HELP_CONTACT_WARNING) == 1, log[-3000:]
