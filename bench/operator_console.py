"""Operator console benchmark: how long the pages take over a large store, next to the no-op route.

    .venv/bin/python bench/operator_console.py [--requests 100000] [--rounds 30] [--database-url URL]

Bulk-inserts ``--requests`` requests spread over the last 120 days (four channels, seven services, 40%
closed) and a review queue of 200 waiting and 2,000 decided items, creates an operator, starts
``open311-bot serve`` as a separate process on 127.0.0.1, signs in over HTTP like a browser, and times each
page ``--rounds`` times with one keep-alive client:

- GET /healthz                           the bare no-op route: the baseline of this run
- GET /operator/                         the review queue (200 items, oldest first)
- GET /operator/queue/ID                 one item: the offline map and the conversation
- GET /operator/requests                 the newest page of all requests (count + page)
- GET /operator/requests?filters         service + status + channel + area + dates
- GET /operator/dashboard                30 days of volumes by channel and service, review waits, ages
- GET /operator/api/dashboard            the same figures as JSON

For each: p50 and p99 in milliseconds and p50 as a multiple of the no-op's. The target is a console that
feels instant to a person: every page p99 under 300 ms at 100,000 requests.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _support import free_port, insert_in_chunks, percentile, start_server, stop_server, wait_until_up
from sqlmodel import Session

from bot.db import make_engine, migrate
from bot.open311.models import ServiceRequestRow
from bot.review.models import ReviewItem
from bot.review.operators import create_operator
from tests.operator.support import csrf_token

CODES = ("pothole", "graffiti", "streetlight", "street_cleaning", "illegal_dumping", "noise", "tree")
CHANNELS = ("sms", "local", "telegram", "api")
PASSWORD = "benchmark passphrase"


def build_store(database_url: str, total: int) -> int:
    """Creates the schema, inserts the requests and the review queue; returns the oldest waiting item's id."""
    engine = make_engine(database_url)
    migrate(engine)
    rng = random.Random(311)
    now = datetime.now(UTC)
    started = time.perf_counter()

    def requests() -> Iterator[dict[str, object]]:
        for index in range(total):
            requested = now - timedelta(seconds=rng.uniform(60, 120 * 86400))
            code = CODES[index % len(CODES)]
            closed = rng.random() < 0.4
            yield {
                "jurisdiction_id": "sfgov.org",
                "service_code": code,
                "service_name": code.replace("_", " ").title(),
                "status": "closed" if closed else "open",
                "description": f"Benchmark report {index}: something needs fixing near here.",
                "requested_datetime": requested,
                "updated_datetime": requested,
                "address": f"{100 + index % 900} {rng.choice(('MARKET', 'MISSION', 'VALENCIA'))} ST",
                "lat": 37.70 + rng.random() * 0.12,
                "long": -122.51 + rng.random() * 0.15,
                "channel": CHANNELS[index % len(CHANNELS)],
                "attributes": {},
            }

    with engine.begin() as conn:
        insert_in_chunks(conn, ServiceRequestRow, requests())
        items: list[dict[str, object]] = []
        for index in range(2200):
            created = now - timedelta(minutes=rng.uniform(5, 30 * 1440))
            decided = index >= 200
            items.append(
                {
                    "channel": "sms",
                    "resident_id": f"+1415555{index:04d}",
                    "language": "en",
                    "text": f"Something is wrong on Market Street, report {index}",
                    "media_urls": [],
                    "suggestions": [{"service_code": CODES[index % 7], "confidence": 0.4}],
                    "reason": "low confidence",
                    "location_text": "5th and Market",
                    "address_string": "05TH ST & MARKET ST",
                    "lat": 37.78336,
                    "long": -122.40779,
                    "attributes": {},
                    "status": "approved" if decided else "pending",
                    "decided_by": "alice" if decided else None,
                    "decided_at": created + timedelta(minutes=rng.uniform(1, 240)) if decided else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        insert_in_chunks(conn, ReviewItem, items)
    with Session(engine) as session:
        create_operator(session, "alice", PASSWORD)
    with engine.connect() as conn:
        oldest = conn.exec_driver_sql(
            "SELECT id FROM review_item WHERE status = 'pending' ORDER BY created_at LIMIT 1"
        ).scalar_one()
    engine.dispose()
    print(
        f"store: {total:,} requests and 2,200 review items inserted in {time.perf_counter() - started:.1f} s"
    )
    return int(oldest)


def sign_in(client: httpx.Client) -> None:
    form = client.get("/operator/sign-in")
    token = csrf_token(form.text)
    answer = client.post(
        "/operator/sign-in", data={"csrf_token": token, "name": "alice", "password": PASSWORD}
    )
    if answer.status_code != 303:
        raise SystemExit(f"could not sign in: {answer.status_code} {answer.text[:300]}")


def time_page(client: httpx.Client, path: str, rounds: int) -> list[float]:
    client.get(path)  # warm-up: caches, first-request costs
    latencies = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(path)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{(data_dir / 'open311.db').as_posix()}"
        item_id = build_store(database_url, args.requests)
        port = free_port()
        process = start_server(data_dir, port, database_url)
        try:
            wait_until_up(f"http://127.0.0.1:{port}", process, timeout=90.0)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                sign_in(client)
                start = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
                pages = [
                    ("no-op /healthz", "/healthz"),
                    ("review queue", "/operator/"),
                    ("one item", f"/operator/queue/{item_id}"),
                    ("requests, newest", "/operator/requests"),
                    (
                        "requests, filtered",
                        f"/operator/requests?service_code=pothole&status=open&channel=sms&area=market&start={start}",
                    ),
                    ("dashboard", "/operator/dashboard"),
                    ("dashboard JSON", "/operator/api/dashboard"),
                ]
                results = [(name, time_page(client, path, args.rounds)) for name, path in pages]
        finally:
            stop_server(process)
    baseline = statistics.median(results[0][1])
    print(f"{'page':<22}{'p50 ms':>10}{'p99 ms':>10}{'x no-op':>10}")
    for name, latencies in results:
        p50 = statistics.median(latencies)
        p99 = percentile(latencies, 0.99)
        print(f"{name:<22}{p50 * 1000:>10.1f}{p99 * 1000:>10.1f}{p50 / baseline:>10.1f}")
    print(f"({args.requests:,} requests, {args.rounds} rounds per page, one client, one server process)")


if __name__ == "__main__":
    main()
