"""Serving one channel on its own, for tests of a channel's contract with its provider.

``serve_channel`` runs a real uvicorn server whose app holds only the channel's routes and runs its
start/stop in the lifespan, as the bot's app does. ``Recorder`` stands in for the dispatcher when the test
is about the provider's side (what the library sends and receives); the end-to-end tests use the real app.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from starlette.applications import Starlette

from channels.base import Channel
from channels.messages import InboundMessage, OutboundMessage
from tests.support.live_server import live_server


class Recorder:
    """A MessageHandler that records what it is handed and answers through the channel, like the outbox."""

    def __init__(self, reply: Callable[[InboundMessage], OutboundMessage | None] | None = None) -> None:
        self.reply = reply
        self.channel: Channel | None = None
        self.handled: list[InboundMessage] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    async def handle(self, message: InboundMessage) -> Sequence[OutboundMessage]:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("the database is down")
            self.handled.append(message)
        answer = self.reply(message) if self.reply else None
        if answer is None:
            return []
        assert self.channel is not None
        await self.channel.send(answer)
        return [answer]

    def messages(self) -> list[InboundMessage]:
        with self._lock:
            return list(self.handled)


@contextlib.contextmanager
def serve_channel(channel: Channel, **server_options: Any) -> Iterator[str]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await channel.start()
        try:
            yield
        finally:
            await channel.stop()

    app = Starlette(routes=channel.routes(), lifespan=lifespan)
    with live_server(app, **server_options) as url:
        yield url
