"""Real ``open311-bot`` processes for tests: started with a config file, waited for, always killed.

Every wait is bounded; ``stop`` kills the whole process group, so no server outlives its test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

BOT = [sys.executable, "-m", "bot.cli"]
REPO = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(
        self, args: Sequence[str], *, config: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.args = list(args)
        self.config = config
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.env.pop("OPEN311_BOT_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BotProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*BOT, "--config", str(self.config), *self.args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes its children too
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown hook runs."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Polls ``condition`` until it holds; on timeout the error says what was awaited and, from
    ``diagnose``, the state that would tell why it never came."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            state = f"\n{diagnose()}" if diagnose is not None else ""
            raise TimeoutError(f"waited {timeout} s for {what}{state}")
        time.sleep(interval)


def wait_until_serving(url: str, process: BotProcess, timeout: float = 60.0) -> None:
    def up() -> bool:
        if not process.alive():
            raise RuntimeError(f"the process exited before serving:\n{process.log()[-3000:]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=timeout, what=f"{url} to serve")
