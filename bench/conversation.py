"""Conversation benchmark: messages handled per second and latency from webhook to reply, on the embedded
defaults (SQLite, the shipped model, the offline gazetteer), next to the app's no-op route in the same run.

    .venv/bin/python bench/conversation.py [--count 600] [--concurrency 4] [--database-url URL]

Starts ``open311-bot serve`` as a separate process on 127.0.0.1 with a fresh data directory (and the SMS
channel enabled with a throwaway auth token, so Twilio-style webhooks can be signed), then measures with a
keep-alive HTTP client:

- GET /healthz                      the bare no-op route: the baseline of this run
- POST /local/messages              a new resident's clear report: understood, geocoded, filed, replied
- POST /webhooks/twilio             the same as a signed Twilio webhook answered with TwiML
- POST /local/messages (two turns)  a report without a place, then the place: two messages, one filing

Each message comes from a different resident with a fresh message id, so every one does the full work
(no deduplication shortcut). For each: messages per second, p50/p99 from sending the webhook to having the
reply, and the rate as a share of the no-op rate. Targets: >= 100 messages per second, p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
AUTH_TOKEN = uuid.uuid4().hex
REPORTS = (
    "There is a huge pothole in the road at 5th St and Market St",
    "Graffiti all over the wall at 16th St and Mission St",
    "The streetlight is out at Geary Blvd and Masonic Ave",
    "Someone dumped a mattress and a couch at 24th St and Folsom St",
    "Overflowing trash on the sidewalk at Haight St and Ashbury St",
)


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPEN311_BOT_DATA_DIR": str(data_dir),
        "OPEN311_BOT_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OPEN311_BOT_TWILIO__ENABLED": "true",
        "OPEN311_BOT_TWILIO__ACCOUNT_SID": "AC" + "0" * 32,
        "OPEN311_BOT_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
        "OPEN311_BOT_TWILIO__FROM_NUMBER": "+14155550100",
        # Only the webhook path is measured: no background sender competing for the two cores.
        "OPEN311_BOT_JOBS__ENABLED": "false",
    }
    env.pop("OPEN311_BOT_CONFIG", None)
    if database_url:
        env["OPEN311_BOT_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"the server exited: {stderr[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


async def measure(
    name: str, count: int, concurrency: int, one: Callable[[httpx.AsyncClient, int], Awaitable[int]]
) -> Result:
    """Runs ``one`` ``count`` times over ``concurrency`` keep-alive connections; ``one`` returns how many
    messages it sent (the two-turn scenario sends two)."""
    latencies: list[float] = []
    counter = iter(range(count))
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal sent
            for index in counter:
                started = time.perf_counter()
                messages = await one(client, index)
                latencies.append((time.perf_counter() - started) / messages)
                sent += messages

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(name, sent, seconds, latencies)


def scenarios(url: str, run_id: str) -> dict[str, Callable[[httpx.AsyncClient, int], Awaitable[int]]]:
    validator = RequestValidator(AUTH_TOKEN)
    webhook = url + "/webhooks/twilio"

    async def noop(client: httpx.AsyncClient, index: int) -> int:
        response = await client.get(url + "/healthz")
        response.raise_for_status()
        return 1

    async def local(client: httpx.AsyncClient, index: int) -> int:
        payload = {"from": f"{run_id}-local-{index}", "text": REPORTS[index % len(REPORTS)]}
        response = await client.post(url + "/local/messages", json=payload)
        response.raise_for_status()
        assert response.json()["replies"], response.text
        return 1

    async def sms(client: httpx.AsyncClient, index: int) -> int:
        params = {
            "MessageSid": f"SM{run_id}{index:08d}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"+1415{index:07d}",
            "To": "+14155550100",
            "Body": REPORTS[index % len(REPORTS)],
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(webhook, params)}
        response = await client.post(webhook, data=params, headers=headers)
        response.raise_for_status()
        assert "<Message>" in response.text, response.text
        return 1

    async def two_turns(client: httpx.AsyncClient, index: int) -> int:
        resident = f"{run_id}-two-{index}"
        first = await client.post(
            url + "/local/messages", json={"from": resident, "text": "Big pothole here"}
        )
        first.raise_for_status()
        second = await client.post(
            url + "/local/messages", json={"from": resident, "text": "5th St and Market St"}
        )
        second.raise_for_status()
        return 2

    return {"no-op GET /healthz": noop, "local report": local, "sms webhook": sms, "two turns": two_turns}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600, help="messages per scenario")
    parser.add_argument("--concurrency", type=int, default=4, help="connections sending at once")
    parser.add_argument("--database-url", default=None, help="e.g. postgresql+psycopg://... (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-conversation-") as directory:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_server(Path(directory), port, args.database_url)
        try:
            wait_until_up(url, process)
            run_id = uuid.uuid4().hex[:8]
            all_scenarios = scenarios(url, run_id)
            # Warm-up: the first messages load lazily built parts (gazetteer indexes, spaCy vocab).
            asyncio.run(measure("warm-up", 20, 2, all_scenarios["local report"]))
            results = [
                asyncio.run(measure(name, args.count, args.concurrency, one))
                for name, one in all_scenarios.items()
            ]
        finally:
            process.terminate()
            process.wait(timeout=30)
    baseline = results[0].rate
    print(
        f"conversation benchmark: {args.count} per scenario, concurrency {args.concurrency}, "
        f"{'SQLite' if not args.database_url else args.database_url.split('://')[0]}"
    )
    print(f"{'scenario':<22}{'msg/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs no-op':>10}")
    for result in results:
        print(
            f"{result.name:<22}{result.rate:>10.1f}{result.p50:>10.2f}{result.percentile(0.99):>10.2f}"
            f"{result.rate / baseline:>10.1%}"
        )
    print("targets: >= 100 msg/s and p99 < 100 ms per message on the report scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
