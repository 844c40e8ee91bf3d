"""``open311-bot chat`` as a real subprocess against the running bot: a conversation from the terminal,
with a message the bot sends later (a notification) shown too."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from bot import outbox
from bot.commands.chat import POLL_SECONDS
from channels.messages import OutboundMessage
from tests.conversation.harness import CLEAR_REPORT, RunningBot


def chat_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "OPEN311_BOT_DATA_DIR": str(tmp_path)}
    env.pop("OPEN311_BOT_CONFIG", None)
    return env


def chat(bot: RunningBot, tmp_path: Path, lines: list[str], resident: str = "terminal") -> str:
    env = chat_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--url", bot.url, "--as", resident],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_terminal_conversation_with_the_running_bot(bot: RunningBot, tmp_path: Path) -> None:
    output = chat(bot, tmp_path, ["There is a big pothole in the road", "/where 37.7793 -122.4193", "status"])
    lines = output.splitlines()
    assert lines[0].startswith("bot> Where is it?")
    assert "filed as #1 (Pothole)" in lines[1]
    assert lines[2].startswith("bot> Report #1 (Pothole) is open")

    # Next time, only what is new is shown: what was sent before is skipped, a notification that
    # arrives while the resident is typing is shown.
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="local", resident_id="terminal", text="Old news."))
        session.commit()
    bot.deliver()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--url", bot.url, "--as", "terminal"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=chat_env(tmp_path),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    process.stdin.write("/where nowhere\nhlep\n")
    process.stdin.flush()
    assert lines.get(timeout=60) == "usage: /where LAT LONG"
    assert "STATUS" in lines.get(timeout=60)  # the help reply: the chat is running and past its history
    with bot.runtime.sessions() as session:
        outbox.enqueue(
            session, OutboundMessage(channel="local", resident_id="terminal", text="Crew on the way.")
        )
        session.commit()
    bot.deliver()
    # Shown by the chat's poller, with nothing typed meanwhile.
    assert lines.get(timeout=POLL_SECONDS * 5) == "bot> Crew on the way."
    _, errors = process.communicate(f"/quit\n{CLEAR_REPORT}\n", timeout=60)
    assert process.returncode == 0, errors
    reader.join(timeout=10)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "Old news." not in "\n".join(rest)
    assert rest == []  # nothing after /quit was sent, nothing old replayed
    assert bot.request_count() == 1
