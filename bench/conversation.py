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
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _support import Result, free_port, start_server, stop_server, wait_until_up
from twilio.request_validator import RequestValidator

AUTH_TOKEN = uuid.uuid4().hex
REPORTS = (
    "There is a huge pothole in the road at 5th St and Market St",
    "Graffiti all over the wall at 16th St and Mission St",
    "The streetlight is out at Geary Blvd and Masonic Ave",
    "Someone dumped a mattress and a couch at 24th St and Folsom St",
    "Overflowing trash on the sidewalk at Haight St and Ashbury St",
)
# The SMS channel, so that Twilio-style webhooks can be signed with this run's throwaway auth token.
SMS_CHANNEL = {
    "OPEN311_BOT_TWILIO__ENABLED": "true",
    "OPEN311_BOT_TWILIO__ACCOUNT_SID": "AC" + "0" * 32,
    "OPEN311_BOT_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
    "OPEN311_BOT_TWILIO__FROM_NUMBER": "+14155550100",
}


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
        process = start_server(Path(directory), port, args.database_url, env=SMS_CHANNEL)
        try:
            wait_until_up(url, process, timeout=120.0)
            run_id = uuid.uuid4().hex[:8]
            all_scenarios = scenarios(url, run_id)
            # Warm-up: the first messages load lazily built parts (gazetteer indexes, spaCy vocab).
            asyncio.run(measure("warm-up", 20, 2, all_scenarios["local report"]))
            results = [
                asyncio.run(measure(name, args.count, args.concurrency, one))
                for name, one in all_scenarios.items()
            ]
        finally:
            stop_server(process)
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
