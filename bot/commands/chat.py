"""``open311-bot chat``: a terminal conversation with the running bot, as a resident would have it.

It talks to the local channel over HTTP (``POST``/``GET`` on ``local.path``), so it works against any
running ``open311-bot serve``. Replies and later notifications (status updates) are printed as they come.
Besides plain text, a line may be ``/where LAT LONG`` (share a location), ``/photo URL [text]`` (send a
photo), or ``/quit``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import load_settings

if TYPE_CHECKING:
    import httpx

POLL_SECONDS = 2.0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat", help="talk to the running bot from the terminal (the local channel)"
    )
    parser.add_argument(
        "--url", default=None, help="the bot's base URL (default: server.host and server.port)"
    )
    parser.add_argument(
        "--as", dest="resident", default=None, help="your resident id (default: your user name)"
    )
    parser.add_argument("--language", default=None, help="reply language hint, e.g. es or zh")
    parser.set_defaults(handler=run)


class ChatError(RuntimeError):
    pass


class ChatSession:
    """Sends lines to the local channel and prints everything the bot sends to this resident, once."""

    def __init__(
        self, client: httpx.Client, path: str, resident: str, out: TextIO, language: str | None = None
    ) -> None:
        self.client = client
        self.path = path
        self.resident = resident
        self.out = out
        self.language = language
        self._seen = 0
        self._lock = threading.Lock()

    def skip_history(self) -> None:
        """Starts after what was already sent to this resident, so an old conversation is not replayed."""
        with self._lock:
            for message in self._fetch():
                self._seen = max(self._seen, int(message["id"]))

    def send_line(self, line: str) -> bool:
        """Sends one line; False when it asks to quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        payload: dict[str, Any] = {"from": self.resident, "id": uuid.uuid4().hex}
        if self.language:
            payload["language"] = self.language
        if line.startswith("/where"):
            parts = line.split()
            try:
                payload["lat"], payload["long"] = float(parts[1]), float(parts[2])
            except (IndexError, ValueError):
                self.out.write("usage: /where LAT LONG\n")
                return True
        elif line.startswith("/photo"):
            parts = line.split(maxsplit=2)
            if len(parts) < 2:
                self.out.write("usage: /photo URL [text]\n")
                return True
            payload["media_url"] = parts[1]
            payload["text"] = parts[2] if len(parts) > 2 else ""
        else:
            payload["text"] = line
        response = self.client.post(self.path, json=payload)
        if response.status_code != 200:
            self.out.write(f"! {_error_text(response)}\n")
            return True
        self.show_new()
        return True

    def show_new(self) -> None:
        with self._lock:
            for message in self._fetch():
                self._seen = max(self._seen, int(message["id"]))
                self.out.write(f"bot> {_render(message)}\n")
            self.out.flush()

    def _fetch(self) -> list[dict[str, Any]]:
        response = self.client.get(self.path, params={"to": self.resident, "after": str(self._seen)})
        if response.status_code != 200:
            raise ChatError(_error_text(response))
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the CLI imports every command module to build its parser, and the
    # HTTP client would otherwise load for `open311-bot classify` too.
    import httpx

    settings = load_settings(args.config)
    if not settings.local.enabled:
        print("open311-bot chat: the local channel is disabled (local.enabled = false)", file=sys.stderr)
        return 2
    base_url = args.url or f"http://{settings.server.host}:{settings.server.port}"
    resident = args.resident or f"terminal-{getpass.getuser()}"
    interactive = sys.stdin.isatty()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        chat = ChatSession(client, settings.local.path, resident, sys.stdout, args.language)
        try:
            chat.skip_history()
        except (httpx.HTTPError, ChatError) as exc:
            print(f"open311-bot chat: cannot reach the bot at {base_url}: {exc}", file=sys.stderr)
            return 1
        if interactive:
            print(f"Talking to {base_url} as {resident}. /where LAT LONG, /photo URL, /quit.")
        stop = threading.Event()
        poller = threading.Thread(target=_poll, args=(chat, stop), daemon=True)
        poller.start()
        try:
            while True:
                if interactive:
                    print("you> ", end="", flush=True)
                line = sys.stdin.readline()
                if not line or not chat.send_line(line):
                    break
        except (httpx.HTTPError, ChatError) as exc:
            print(f"open311-bot chat: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            poller.join(timeout=POLL_SECONDS + 1)
    return 0


def _poll(chat: ChatSession, stop: threading.Event) -> None:
    """Shows notifications that arrive between the resident's messages."""
    import httpx

    while not stop.wait(POLL_SECONDS):
        try:
            chat.show_new()
        except (httpx.HTTPError, ChatError):
            continue  # the bot restarting; try again on the next tick


def _render(message: dict[str, Any]) -> str:
    lines = [message["text"]]
    lines += [f"  {number}. {choice['label']}" for number, choice in enumerate(message["choices"], start=1)]
    return "\n".join(lines)


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
