"""Several workers on one PostgreSQL database: two ``open311-bot worker`` processes run the jobs side by
side. Every notification reaches the (fake) provider exactly once, counted there; exactly one scheduler
runs; when its process is killed, the other worker takes over and the next changes still go out once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.follows import follow
from bot.open311.models import NewRequest
from bot.runtime import Runtime
from channels.fakes.twilio import FakeTwilio
from tests.jobs.processes import BotProcess, wait_for
from tests.support.answers import required_answers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FOLLOWERS = ("+14155550201", "+14155550202", "+14155550203")
REQUESTS = 8
LEADER_LINE = "this process now runs the scheduler"


def write_config(directory: Path, database_url: str, twilio: FakeTwilio) -> Path:
    config = directory / "workers.toml"
    config.write_text(
        f"""
data_dir = "{(directory / "data").as_posix()}"
database_url = "{database_url}"

[jobs]
enabled = true
scheduler = "auto"
outbox_seconds = 0.2
notify_seconds = 0.3
leader_check_seconds = 0.5

[twilio]
enabled = true
account_sid = "{twilio.account_sid}"
auth_token = "${{FAKE_TWILIO_AUTH_TOKEN}}"
from_number = "+14155550100"
api_base_url = "{twilio.base_url}"
""",
        encoding="utf-8",
    )
    return config


def change_every_request(runtime: Runtime, ids: list[str], status: str, notes: str) -> None:
    for request_id in ids:
        runtime.open311.update_status(request_id, status, notes, actor="crew")


def updates(twilio: FakeTwilio) -> list[tuple[str, str]]:
    return [(sms.to, sms.body) for sms in twilio.sent if sms.body.startswith("Update on report")]


def test_two_workers_send_each_notification_once_and_take_over_from_a_dead_leader(
    tmp_path: Path, postgres_url: str, twilio: FakeTwilio
) -> None:
    config = write_config(tmp_path, postgres_url, twilio)
    env = {"FAKE_TWILIO_AUTH_TOKEN": twilio.auth_token}
    # The schema exists before the workers start (each would otherwise race to create it).
    runtime = Runtime.build(load_settings(config, jobs={"enabled": False}))
    workers: list[BotProcess] = []
    try:
        ids = []
        for number in range(REQUESTS):
            submission = runtime.open311.create_request(
                NewRequest(
                    service_code="graffiti",
                    lat=37.78,
                    long=-122.41,
                    description=f"tag #{number}",
                    attributes=required_answers(runtime, "graffiti"),
                ),
                actor="test",
            )
            assert submission.service_request_id is not None
            ids.append(submission.service_request_id)
        with runtime.sessions() as session:
            for request_id in ids:
                for phone in FOLLOWERS:
                    follow(session, request_id, "sms", phone)
            session.commit()

        workers = [
            BotProcess(["worker"], config=config, log_path=tmp_path / f"worker{n}.log", env=env).start()
            for n in (1, 2)
        ]
        wait_for(lambda: any(LEADER_LINE in w.log() for w in workers), timeout=60, what="a leader")
        time.sleep(1.5)  # both are up and have asked for the lock more than once
        assert [LEADER_LINE in w.log() for w in workers].count(True) == 1
        leader = next(w for w in workers if LEADER_LINE in w.log())
        follower = next(w for w in workers if w is not leader)

        change_every_request(runtime, ids, "closed", "Painted over.")
        expected = REQUESTS * len(FOLLOWERS)
        wait_for(lambda: len(updates(twilio)) >= expected, timeout=60, what=f"{expected} SMS updates")
        time.sleep(2.0)  # more rounds of every job: a duplicate would show now
        first_round = updates(twilio)
        assert len(first_round) == expected
        assert max(Counter(first_round).values()) == 1
        assert {to for to, _ in first_round} == set(FOLLOWERS)

        # The leader dies without a word (no shutdown hook runs); the other worker takes over.
        leader.kill()
        wait_for(lambda: LEADER_LINE in follower.log(), timeout=30, what="the surviving worker to take over")

        change_every_request(runtime, ids, "open", "Tagged again.")
        wait_for(lambda: len(updates(twilio)) >= 2 * expected, timeout=60, what="the second round")
        time.sleep(2.0)
        both_rounds = updates(twilio)
        assert len(both_rounds) == 2 * expected
        assert max(Counter(both_rounds).values()) == 1
        assert follower.alive()
    finally:
        for worker in workers:
            worker.stop()
        runtime.close()
    for worker in workers:
        assert "Traceback" not in worker.log(), worker.log()[-3000:]


def test_workers_started_together_on_an_empty_database_migrate_it_once(
    tmp_path: Path, postgres_url: str, twilio: FakeTwilio
) -> None:
    config = write_config(tmp_path, postgres_url, twilio)
    env = {"FAKE_TWILIO_AUTH_TOKEN": twilio.auth_token}
    workers = [
        BotProcess(["worker"], config=config, log_path=tmp_path / f"worker{n}.log", env=env).start()
        for n in (1, 2, 3)
    ]
    try:
        wait_for(
            lambda: all("running jobs" in w.log() for w in workers),
            timeout=90,
            what="all three workers to run",
        )
        assert all(w.alive() for w in workers)
        wait_for(lambda: any(LEADER_LINE in w.log() for w in workers), timeout=30, what="a leader")
        time.sleep(1.0)
        assert sum(LEADER_LINE in w.log() for w in workers) == 1
        # One of them created the schema and says so, once; the others found it there.
        assert sum(w.log().count("created the database schema at ") for w in workers) == 1
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "Traceback" not in worker.log(), worker.log()[-3000:]
