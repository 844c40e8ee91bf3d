"""The local channel: talk to the bot as a resident would, over plain HTTP, with no account anywhere.

- ``POST {path}`` with JSON ``{"from": ID, "text": ...}`` (optionally ``"lat"``, ``"long"``, ``"media_url"``,
  ``"choice"``, ``"language"``, and ``"id"``: a message id the client picks, its own among its ``"from"``'s
  messages, so a retried POST is not handled twice) answers with the bot's replies:
  ``{"replies": [{"text", "choices": [{"label", "value"}]}]}``. The body must come as
  ``content-type: application/json``: any web page can make a browser post a form or ``text/plain`` body
  here, not a JSON one.
- ``GET {path}?to=ID[&after=N]`` lists everything sent to that resident, oldest first, including later
  notifications: ``{"messages": [{"id", "text", "choices", "sent_at"}]}``; ``after`` skips what was seen.

What was sent lives in the bot's outbox in the database (the handler reads it back through
``SentMessageLog``), so it survives restarts. ``open311-bot chat`` is a terminal client of these two routes.
"""

from __future__ import annotations

import ipaddress
import math
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.base import Channel, MessageHandler, SendProgress, SendResult, parse_json
from channels.messages import (
    MAX_MEDIA_URL_CHARS,
    Attachment,
    GeoPoint,
    InboundMessage,
    OutboundMessage,
    clean_text,
)

CHANNEL_NAME = "local"
MAX_ID_CHARS = 128
# As long as the longest message another channel brings (an X direct message); the report keeps the first
# 4,000 characters of it, as for every channel.
MAX_TEXT_CHARS = 10_000
# The largest message id the outbox can hold (PostgreSQL's INTEGER, 32 bits): 'after' beyond it is refused.
MAX_AFTER = 2**31 - 1
_STRING_FIELDS = ("from", "text", "media_url", "choice", "language", "id")


@runtime_checkable
class SentMessageLog(Protocol):
    """What the local channel asks of its handler to list a resident's messages (the dispatcher has it)."""

    async def sent_messages(
        self, channel: str, resident_id: str, after_id: int = 0
    ) -> Sequence[tuple[int, OutboundMessage, datetime]]: ...


class LocalMessageError(ValueError):
    """The posted JSON is not a message; the text says which field and why."""


class LocalChannel(Channel):
    name: ClassVar[str] = CHANNEL_NAME
    # Replies go back in the POST's response, so the dispatcher marks them delivered at once.
    capabilities: ClassVar[frozenset[str]] = frozenset({"inline_replies", "buttons", "media"})

    def __init__(
        self,
        handler: MessageHandler,
        path: str = "/local/messages",
        *,
        allow_remote: bool = False,
        public_url: str = "",
    ) -> None:
        super().__init__(handler)
        self.path = path
        self.allow_remote = allow_remote
        self.public_host = urlsplit(public_url).hostname or ""

    @classmethod
    def from_config(cls, config: Any, handler: MessageHandler, *, public_url: str) -> LocalChannel:
        return cls(handler, path=config.path, allow_remote=config.allow_remote, public_url=public_url)

    def _refused(self, request: Request) -> Response | None:
        """Anyone may speak as any resident here, so only this machine may, unless configured otherwise."""
        if self.allow_remote:
            return None
        if not _is_loopback(request.client.host if request.client else None):
            return _error("the local channel only answers this machine (local.allow_remote = false)", 403)
        # A web page whose name its owner points at 127.0.0.1 (DNS rebinding) is "this machine" to a
        # browser here, and same-origin with it: it could speak as any resident and read their replies.
        # Such a request names the page's host, not this machine's.
        host = urlsplit("//" + request.headers.get("host", "")).hostname or ""
        if not (_is_loopback(host) or host.endswith(".localhost") or host == self.public_host):
            return _error(
                "the local channel only answers requests addressed to this machine (Host: localhost, "
                f"127.0.0.1{', ' + self.public_host if self.public_host else ''}), not {host or 'none'}",
                403,
            )
        return None

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.path, self._post, methods=["POST"], name="local_post"),
            Route(self.path, self._list, methods=["GET"], name="local_list"),
        ]

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        # Nothing to hand over: the outbox row this comes from is the record GET lists.
        return SendResult(provider_message_id=None)

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        return SendResult(provider_message_id=None)

    async def _post(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        # Any web page can make a browser on this machine post a form or text/plain body here (no CORS
        # preflight for those); only a JSON one needs the page's origin to be allowed, and none is.
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error("send the message as JSON, with content-type: application/json", 415)
        try:
            payload = parse_json(await request.body())
        except ValueError as exc:
            return _error(f"the body must be JSON: {exc}", 400)
        try:
            message = parse_local_message(payload)
        except LocalMessageError as exc:
            return _error(str(exc), 422)
        replies = await self.handler.handle(message)
        return JSONResponse({"id": message.provider_message_id, "replies": [_reply_json(r) for r in replies]})

    async def _list(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        resident = request.query_params.get("to", "").strip()
        if not resident or len(resident) > MAX_ID_CHARS:
            return _error(f"'to' is required: the resident's id (at most {MAX_ID_CHARS} characters)", 422)
        after_text = request.query_params.get("after", "0")
        if not after_text.isascii() or not after_text.isdigit() or int(after_text) > MAX_AFTER:
            return _error(f"'after' must be a message id (a whole number up to {MAX_AFTER})", 422)
        if not isinstance(self.handler, SentMessageLog):
            return _error("this deployment keeps no record of sent messages", 501)
        sent = await self.handler.sent_messages(CHANNEL_NAME, resident, int(after_text))
        return JSONResponse(
            {
                "messages": [
                    _reply_json(message) | {"id": message_id, "sent_at": sent_at.isoformat()}
                    for message_id, message, sent_at in sent
                ]
            }
        )


def parse_local_message(payload: object) -> InboundMessage:
    if not isinstance(payload, dict):
        raise LocalMessageError('the body must be a JSON object like {"from": "alice", "text": "..."}')
    for name in _STRING_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and not _is_unicode(value):
            # JSON can escape half of a surrogate pair ("\ud800"), which is no character at all.
            raise LocalMessageError(f"'{name}' must be valid Unicode text (it has a lone surrogate)")
        if isinstance(value, str) and name != "text" and clean_text(value) != value:
            raise LocalMessageError(f"'{name}' must not contain control characters")
    sender = payload.get("from")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_ID_CHARS:
        raise LocalMessageError(f"'from' is required: the resident's id (at most {MAX_ID_CHARS} characters)")
    text = payload.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise LocalMessageError(f"'text' must be a string of at most {MAX_TEXT_CHARS} characters")
    text = clean_text(text)  # a NUL or an escape sequence is nothing the resident meant to say
    point = _point(payload.get("lat"), payload.get("long"))
    attachments: tuple[Attachment, ...] = ()
    media_url = payload.get("media_url")
    if media_url is not None:
        attachments = (Attachment(url=_media_url(media_url)),)
    choice = payload.get("choice")
    if choice is not None and not isinstance(choice, str):
        raise LocalMessageError("'choice' must be a string (the value of a choice the bot offered)")
    language = payload.get("language")
    if language is not None and not isinstance(language, str):
        raise LocalMessageError("'language' must be a language code like 'es'")
    message_id = payload.get("id") or uuid.uuid4().hex
    if not isinstance(message_id, str) or len(message_id) > MAX_ID_CHARS:
        raise LocalMessageError(f"'id' must be a string of at most {MAX_ID_CHARS} characters")
    if not text.strip() and point is None and not attachments and choice is None:
        raise LocalMessageError("send some 'text', a point ('lat' and 'long') or a 'media_url'")
    return InboundMessage(
        channel=CHANNEL_NAME,
        resident_id=sender.strip(),
        provider_message_id=message_id,
        text=text,
        attachments=attachments,
        point=point,
        language_hint=language,
        choice_value=choice,
    )


def _media_url(value: object) -> str:
    """An http(s) URL the core will keep as the report's ``media_url``."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # "http://[::1": not a URL
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() for c in str(value))
    ):
        raise LocalMessageError("'media_url' must be an http(s) URL")
    if len(str(value)) > MAX_MEDIA_URL_CHARS:
        raise LocalMessageError(
            f"'media_url' must be at most {MAX_MEDIA_URL_CHARS} characters (the most a report keeps)"
        )
    return str(value)


def _point(lat: object, long: object) -> GeoPoint | None:
    if lat is None and long is None:
        return None
    if (
        not isinstance(lat, int | float)
        or not isinstance(long, int | float)
        or not _is_number(lat)
        or not _is_number(long)
    ):
        raise LocalMessageError("'lat' and 'long' go together, as numbers")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise LocalMessageError("'lat' must be within ±90 and 'long' within ±180")
    return GeoPoint(float(lat), float(long))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_unicode(text: str) -> bool:
    """False for a string holding a lone surrogate, which no encoding (nor the database) can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _reply_json(message: OutboundMessage) -> dict[str, Any]:
    return {
        "text": message.text,
        "choices": [{"label": choice.label, "value": choice.value} for choice in message.choices],
        "media_urls": list(message.media_urls),
    }


def _error(description: str, status: int) -> JSONResponse:
    return JSONResponse({"error": description}, status_code=status)
