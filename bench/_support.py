"""What the benchmark scripts share: starting ``open311-bot serve`` as its own process, waiting for it,
and the latency figures (percentiles, a run's result, the process's memory).

The scripts run as ``.venv/bin/python bench/NAME.py``, which puts this folder on ``sys.path``; importing
this module puts the repository there too, so the scripts can import ``bot`` and ``tests.support`` after it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = [
    "NOOP_PATH",
    "REPO",
    "Result",
    "free_port",
    "percentile",
    "rss_mb",
    "start_server",
    "stop_server",
    "wait_until_up",
]
NOOP_PATH = "/healthz"


def insert_in_chunks(conn: Any, table: Any, rows: Iterable[dict[str, object]], size: int = 5000) -> None:
    """Bulk-inserts ``rows`` into ``table`` (a SQLModel class) on ``conn``, ``size`` rows per statement."""
    from sqlalchemy import insert

    for chunk in _chunks(iter(rows), size):
        conn.execute(insert(table), chunk)


def _chunks(rows: Iterator[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def free_port() -> int:
    # Imported here: the memory benchmarks read their baseline after importing this module.
    from tests.support.live_server import free_port as free_local_port

    return free_local_port()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    """This process's resident memory in MiB (NaN where /proc does not say)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Result:
    """One measured scenario: ``count`` operations in ``seconds``, each with its latency in seconds."""

    name: str
    count: int
    seconds: float
    latencies: list[float]
    # CPU time the server process spent on these requests: unlike wall time, it hardly changes when other
    # processes compete for the cores, so it tells what the route costs on an idle machine.
    server_cpu: float = 0.0

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu / self.count * 1000.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, q: float) -> float:
        """The q-quantile latency in milliseconds."""
        return percentile(self.latencies, q) * 1000.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000.0


def start_server(
    data_dir: Path, port: int, database_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``open311-bot serve`` on 127.0.0.1:``port`` with a configuration of its own in ``data_dir``
    (background jobs off, so only the measured requests compete for the cores). Settings from this
    shell's ``OPEN311_BOT_*`` variables are left out; ``env`` adds the benchmark's own."""
    config = data_dir / "bench.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(data_dir))}\n"
        + (f"database_url = {json.dumps(database_url)}\n" if database_url else "")
        + "[jobs]\nenabled = false\n"
        + f'[server]\npublic_url = "http://127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_BOT_")}
    command = [sys.executable, "-m", "bot.cli", "--config", str(config), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env={**inherited, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until ``url``'s no-op route answers 200; exits with the server's error output if it stops first."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"the server exited with {process.returncode}:\n{error[-2000:]}")
        try:
            if httpx.get(url + NOOP_PATH, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not start within {timeout} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
