"""Open311 API benchmark: the real server, a store of 100,000 requests, figures next to a no-op route.

    .venv/bin/python bench/open311_api.py [--requests 100000] [--count 2000] [--rounds 5]
                                          [--concurrency 1] [--database-url URL]

Builds a fresh store (SQLite in a temporary data directory unless --database-url is given) with a bulk
insert, starts ``open311-bot serve`` as a separate process on 127.0.0.1, and measures with a small
keep-alive HTTP/1.1 client (raw asyncio streams, so the client costs as little as possible and the same
for every route):

- GET /healthz                       the app's bare no-op route: the baseline of this run
- GET {base}/requests/{id}.json      a random one of the 100,000 requests
- GET {base}/requests.json           the spec's default query: 1000 results
- POST {base}/requests.json          a realtime pothole report with a valid key

For each: requests per second, p50 and p99 latency, the rate as a ratio of the no-op route's rate
(machines differ; the ratio is the figure), and the server process's CPU time per request (read from
/proc), which stays meaningful when other processes compete for the cores and inflate wall times.
Targets: GET single >= 50% of the no-op rate; GET list p50 under 50 ms; POST >= 300 per second on
SQLite. Only 127.0.0.1 is contacted, and every run is bounded by --count requests per route (the routes
take turns over --rounds rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _support import (
    NOOP_PATH,
    Result,
    free_port,
    insert_in_chunks,
    start_server,
    stop_server,
    wait_until_up,
)

from bot.db import make_engine, make_session_factory, migrate
from bot.open311.keys import KeyStore
from bot.open311.models import ServiceRequestRow

BASE_PATH = "/open311/v2"
JURISDICTION = "sfgov.org"
CODES = ("pothole", "graffiti", "streetlight", "street_cleaning", "illegal_dumping", "noise", "tree")


def build_store(database_url: str, total: int) -> tuple[int, str]:
    """Creates the schema and bulk-inserts ``total`` requests spread over the last 80 days (inside the
    spec's default 90-day window, so the default query has far more than 1000 candidates); returns the
    highest request id and a new API key."""
    engine = make_engine(database_url)
    migrate(engine)
    rng = random.Random(311)
    now = datetime.now(UTC)
    started = time.perf_counter()

    def rows() -> Iterator[dict[str, object]]:
        for index in range(total):
            requested = now - timedelta(seconds=rng.uniform(60, 80 * 86400))
            code = CODES[index % len(CODES)]
            closed = rng.random() < 0.4
            yield {
                "jurisdiction_id": JURISDICTION,
                "service_code": code,
                "service_name": code.replace("_", " ").title(),
                "status": "closed" if closed else "open",
                "status_notes": "Resolved by the crew." if closed else None,
                "description": f"Benchmark report {index}: something needs fixing near here.",
                "requested_datetime": requested,
                "updated_datetime": requested + timedelta(hours=6) if closed else requested,
                "address": f"{100 + index % 900} Market St, San Francisco",
                "lat": 37.70 + rng.random() * 0.12,
                "long": -122.51 + rng.random() * 0.15,
                "channel": "api",
                "attributes": {},
            }

    with engine.begin() as conn:
        insert_in_chunks(conn, ServiceRequestRow, rows())
    _, key = KeyStore(make_session_factory(engine)).create("benchmark")
    with engine.connect() as conn:
        highest = conn.exec_driver_sql("SELECT max(id) FROM service_requests").scalar_one()
    engine.dispose()
    print(f"store: {total:,} requests inserted in {time.perf_counter() - started:.1f} s")
    return int(highest), key


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough protocol for these requests and answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("ascii") + b"\r\n" + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readline()).strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)

    def close(self) -> None:
        self.writer.close()


async def measure(
    name: str,
    port: int,
    make_request: Callable[[int], tuple[str, str, bytes]],
    count: int,
    concurrency: int,
    check: Callable[[int, bytes], None],
    warm_up: int,
    server_pid: int,
) -> Result:
    connections = [await Connection.open("127.0.0.1", port) for _ in range(concurrency)]
    for index in range(warm_up):  # caches, connection pools, first-request costs
        status, body = await connections[0].request(*make_request(index))
        check(status, body)
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker(connection: Connection) -> None:
        for index in queue:
            method, target, body = make_request(index)
            started = time.perf_counter()
            status, answer = await connection.request(method, target, body)
            latencies.append(time.perf_counter() - started)
            check(status, answer)

    cpu_before = process_cpu_seconds(server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    seconds = time.perf_counter() - started
    cpu = process_cpu_seconds(server_pid) - cpu_before
    for connection in connections:
        connection.close()
    return Result(name, count, seconds, latencies, cpu)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def expect(*statuses: int, min_items: int | None = None) -> Callable[[int, bytes], None]:
    def check(status: int, body: bytes) -> None:
        if status not in statuses:
            raise SystemExit(f"unexpected answer {status}: {body[:300]!r}")
        if min_items is not None:
            items = json.loads(body)
            if len(items) < min_items:
                raise SystemExit(f"expected {min_items} results, got {len(items)}")

    return check


async def run(args: argparse.Namespace, data_dir: Path) -> list[Result]:
    database_url = args.database_url or f"sqlite:///{(data_dir / 'open311.db').as_posix()}"
    highest, key = build_store(database_url, args.requests)
    port = free_port()
    process = start_server(data_dir, port, database_url)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, timeout=60.0)
        rng = random.Random(7)
        post_body = urlencode(
            {
                "api_key": key,
                "service_code": "pothole",
                "lat": "37.7793",
                "long": "-122.4193",
                "description": "Benchmark: a pothole in the right lane.",
            }
        ).encode()
        scenarios: list[tuple[str, Callable[[int], tuple[str, str, bytes]], Callable[[int, bytes], None]]] = [
            ("GET /healthz (no-op)", lambda i: ("GET", NOOP_PATH, b""), expect(200)),
            (
                "GET requests/{id}.json",
                lambda i: ("GET", f"{BASE_PATH}/requests/{rng.randint(1, highest)}.json", b""),
                expect(200, min_items=1),
            ),
            (
                "GET requests.json (1000)",
                lambda i: ("GET", f"{BASE_PATH}/requests.json", b""),
                expect(200, min_items=1000),
            ),
            (
                "POST requests.json",
                lambda i: ("POST", f"{BASE_PATH}/requests.json", post_body),
                expect(200, 201),
            ),
        ]
        # The routes take turns, round after round, so that a change in the machine's load (other
        # processes) weighs on every route alike and the ratios stay meaningful.
        results: dict[str, Result] = {}
        for round_number in range(args.rounds):
            for name, make_request, check in scenarios:
                count = args.count if "1000" not in name else max(50, args.count // 10)
                warm_up = 50 if round_number == 0 else 0
                part = await measure(
                    name,
                    port,
                    make_request,
                    count // args.rounds,
                    args.concurrency,
                    check,
                    warm_up,
                    process.pid,
                )
                if name in results:
                    whole = results[name]
                    part = Result(
                        name,
                        whole.count + part.count,
                        whole.seconds + part.seconds,
                        whole.latencies + part.latencies,
                        whole.server_cpu + part.server_cpu,
                    )
                results[name] = part
        return list(results.values())
    finally:
        stop_server(process)


def report(results: list[Result], args: argparse.Namespace, sqlite: bool) -> None:
    baseline = results[0].rate
    print(
        f"\n{'route':<28}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs no-op':>10}"
        f"{'server CPU ms/req':>19}"
    )
    for result in results:
        print(
            f"{result.name:<28}{result.count:>9}{result.rate:>10.0f}{result.p50:>9.2f}"
            f"{result.percentile(0.99):>9.2f}{result.rate / baseline:>10.0%}{result.cpu_ms:>19.2f}"
        )
    noop, single, listing, post = results
    print("\ntargets:")
    ratio = single.rate / noop.rate
    # In brackets, the same figure from the server's CPU time per request: what an idle machine gives.
    cpu_ratio = noop.cpu_ms / single.cpu_ms if single.cpu_ms else 0.0
    print(
        f"  GET single >= 50% of no-op rate: {ratio:.0%} -> {_verdict(ratio >= 0.5)}"
        f"   [by server CPU: {cpu_ratio:.0%}]"
    )
    print(
        f"  GET list of 1000 p50 < 50 ms:    {listing.p50:.1f} ms -> {_verdict(listing.p50 < 50)}"
        f"   [server CPU {listing.cpu_ms:.1f} ms per list]"
    )
    if sqlite:
        cpu_rate = 1000.0 / post.cpu_ms if post.cpu_ms else 0.0
        print(
            f"  POST >= 300/s on SQLite:         {post.rate:.0f}/s -> {_verdict(post.rate >= 300)}"
            f"   [server CPU allows {cpu_rate:.0f}/s]"
        )
    print(
        f"(concurrency {args.concurrency}, {args.rounds} rounds, one server process, "
        f"client and server on this machine; load average {os.getloadavg()[0]:.1f})"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="size of the store")
    parser.add_argument("--count", type=int, default=2000, help="requests per route (list: a tenth)")
    parser.add_argument("--concurrency", type=int, default=1, help="keep-alive connections in parallel")
    parser.add_argument("--rounds", type=int, default=5, help="the routes take turns this many times")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="open311-bench-") as tmp:
        results = asyncio.run(run(args, Path(tmp)))
    report(results, args, sqlite=args.database_url is None or args.database_url.startswith("sqlite"))


if __name__ == "__main__":
    main()
