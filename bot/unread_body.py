"""Answers reach clients that are still sending: the unread rest of a request body is read and dropped
before an early answer (a 413 for a body over the limit, say) goes out.

Without this, the server answers and closes while the client is still uploading; the bytes that arrive
after the close make the server's kernel reset the connection, and the client often sees "connection
reset by peer" instead of the answer (nginx's "lingering close" exists for the same reason). The
draining is bounded in bytes and time, so a client that uploads without end is still cut off.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Past these, the connection is closed as before (the client may see a reset): a body this much larger
# than any limit is not worth reading to be polite.
DRAIN_MAX_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 10.0


class DrainUnreadBody:
    """ASGI middleware: when a response starts before the request body was read to its end, the rest
    (up to ``DRAIN_MAX_BYTES`` within ``DRAIN_SECONDS``) is received and discarded first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        has_body = b"chunked" in headers.get(b"transfer-encoding", b"").lower() or declared.strip(b"0") != b""
        # A client waiting for "100 Continue" sends nothing until asked: receiving would ask for the body
        # only to throw it away. A declared length past the cap will not be read anyway.
        not_drained = headers.get(b"expect", b"").lower() == b"100-continue" or (
            declared.isdigit() and int(declared) > DRAIN_MAX_BYTES
        )
        body_done = not has_body or not_drained

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def draining_send(message: Message) -> None:
            nonlocal body_done
            if message["type"] == "http.response.start" and not body_done:
                body_done = True
                await _drain(receive)
            await send(message)

        await self.app(scope, tracking_receive, draining_send)


async def _drain(receive: Receive) -> None:
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while drained <= DRAIN_MAX_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                drained += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return  # a client that trickles: answered and closed as before
