"""SMS and MMS through Twilio.

Inbound: Twilio POSTs a form to ``webhook_path``. The ``X-Twilio-Signature`` is checked with twilio's
``RequestValidator`` over every parameter (Twilio adds parameters without notice) against the PUBLIC URL
from configuration, because behind a TLS-terminating proxy the URL the app sees is not the one Twilio
signed. An unsigned or wrongly signed request gets 403 and changes nothing. The replies go back in the
response as TwiML (``MessagingResponse``), long ones split at sensible boundaries.

MMS media (``NumMedia``, ``MediaUrlN``, ``MediaContentTypeN``) needs the account's credentials to fetch, so
attachments are marked ``needs_auth``; the bot fetches them through ``fetch_media`` and serves its own copy.
A message the handler fails on (a photo that cannot be fetched for now) is answered 500, so Twilio delivers
it again (the number's fallback URL, a connection override's retries); the ``max_attempts``-th failed
delivery to this worker is given up to the handler's ``give_up`` (a person) and answered 200. One the
handler is ``TemporarilyUnavailable`` for (the database down) is answered 503 for Twilio to deliver it
again, in one log line and without counting a try: no fault of the message's, nor one a person could mend.

Outbound (status updates): twilio's REST client; error 21610 (the recipient texted STOP to the carrier)
becomes ``RecipientOptedOut``. Delivery status callbacks (signed too) are handed to the handler with a rank,
so a late "sent" never overwrites "delivered"; one with an error code is logged with the message id
(``DELIVERY_ERRORS``: carrier filtering, an unknown number, a landline), and 21610 there opts the resident
out as it does when sending.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.base import (
    UNAVAILABLE_STATUS,
    Channel,
    DeliveryError,
    FailureCounts,
    KeepsUnhandled,
    MessageHandler,
    RecipientOptedOut,
    RefusedWebhooks,
    SendProgress,
    SendResult,
    TemporarilyUnavailable,
    fetched_media,
    render_as_text,
)
from channels.gsm7 import plain_typography
from channels.messages import Attachment, GeoPoint, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

CHANNEL_NAME = "sms"
SIGNATURE_HEADER = "X-Twilio-Signature"
OPTED_OUT_ERROR = 21610
MAX_MEDIA_PER_MESSAGE = 10
# A message the bot could not handle is answered 500, so Twilio delivers it again: to the number's fallback
# URL (set to the same webhook) or by a connection override's retries (``#rc=..&rp=5xx``). The delivery
# that fails for the ``MAX_WEBHOOK_ATTEMPTS``-th time (counted per worker, in memory) is given up: the
# message goes to a person and the webhook answers 200.
MAX_WEBHOOK_ATTEMPTS = 2
MAX_WEBHOOK_FAILURES_KEPT = 1000
# Seconds a call to Twilio's REST API may take to connect, and then between bytes of its answer: well
# under the outbox's two-minute lease on a message being sent.
SEND_TIMEOUT_SECONDS = 30.0
UNHANDLED_REASON = "the bot could not handle this message"
# Twilio's own opt-out keywords: a message of one of them alone (not "STOP PLEASE"), in any case, is
# answered by Twilio and blocks what is sent after it. Twilio knows no Spanish ones unless a Messaging
# Service's Advanced Opt-Out adds them, so "ALTO" is the bot's to answer.
TWILIO_OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
# Delivery errors a status callback may report that no retry fixes, as an operator reads them in the log.
# 21610 also marks the resident opted out (the handler's ``recipient_opted_out``), as it does when sending.
DELIVERY_ERRORS: dict[str, str] = {
    str(OPTED_OUT_ERROR): "the recipient opted out at the carrier (texted STOP); they get nothing more",
    "30003": "unreachable handset (off, out of coverage)",
    "30004": "blocked by the recipient",
    "30005": "unknown number (it does not exist, or is no longer in service)",
    "30006": "a landline or a carrier that takes no SMS",
    "30007": "filtered by the carrier (taken for spam: check the number's registration, A2P 10DLC)",
    "30008": "unknown error at the carrier",
}
# How far along a message is; a callback with a lower rank than the stored one arrived late and is ignored.
STATUS_RANK: dict[str, int] = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "canceled": 5,
    "failed": 5,
    "undelivered": 5,
    "delivered": 6,
    "read": 7,
}


@runtime_checkable
class DeliveryStatusSink(Protocol):
    """What the SMS channel tells its handler about delivery (the dispatcher has it)."""

    async def record_delivery_status(
        self, channel: str, provider_message_id: str, status: str, rank: int, error_code: str | None
    ) -> bool: ...


@runtime_checkable
class OptOutSink(Protocol):
    """Where the SMS channel records that a resident opted out at the carrier (the dispatcher has it)."""

    async def recipient_opted_out(self, channel: str, resident_id: str) -> None: ...


class SmsChannel(Channel):
    name: ClassVar[str] = CHANNEL_NAME
    capabilities: ClassVar[frozenset[str]] = frozenset({"inline_replies", "media"})

    def __init__(
        self,
        handler: MessageHandler,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        public_url: str,
        webhook_path: str = "/webhooks/twilio",
        status_path: str = "/webhooks/twilio/status",
        api_base_url: str | None = None,
        max_message_chars: int = 1600,
        max_attempts: int = MAX_WEBHOOK_ATTEMPTS,
        send_timeout_seconds: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(handler)
        self.max_attempts = max_attempts
        self._failures = FailureCounts(MAX_WEBHOOK_FAILURES_KEPT)
        self.account_sid = account_sid
        self.from_number = from_number
        self.webhook_path = webhook_path
        self.status_path = status_path
        base = public_url.rstrip("/")
        self.webhook_url = base + webhook_path
        self.status_url = base + status_path
        self.max_message_chars = max_message_chars
        self._auth = (account_sid, auth_token)
        self._validator = RequestValidator(auth_token)
        self._refused = {key: RefusedWebhooks(logger) for key in ("webhook_path", "status_path")}
        # A provider that hangs must not hold a send past the outbox's lease on it (two minutes): after
        # that another worker sends the message again. requests' timeout bounds connecting and each read.
        self._client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=send_timeout_seconds)
        )
        if api_base_url:
            # Tests and demos: the real client against a local fake of Twilio's REST API.
            self._client.api.base_url = api_base_url.rstrip("/")

    @classmethod
    def from_config(cls, config: Any, handler: MessageHandler, *, public_url: str) -> SmsChannel:
        missing = [
            key
            for key, value in (
                ("twilio.account_sid", config.account_sid),
                ("twilio.auth_token", config.auth_token),
                ("twilio.from_number", config.from_number),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                f"the SMS channel is enabled but {', '.join(missing)} is not set "
                "(the auth token comes from the environment: OPEN311_BOT_TWILIO__AUTH_TOKEN)"
            )
        return cls(
            handler,
            account_sid=config.account_sid,
            auth_token=config.auth_token.get_secret_value(),
            from_number=config.from_number,
            public_url=public_url,
            webhook_path=config.webhook_path,
            status_path=config.status_path,
            api_base_url=config.api_base_url,
            max_message_chars=config.max_message_chars,
        )

    def confirms_opt_out(self, text: str) -> bool:
        return text.strip().strip(".!").lower() in TWILIO_OPT_OUT_WORDS

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.webhook_path, self._inbound, methods=["POST"], name="twilio_inbound"),
            Route(self.status_path, self._status, methods=["POST"], name="twilio_status"),
        ]

    # -- inbound ---------------------------------------------------------------------------------------

    async def _signed_form(self, request: Request, public_url: str, path_key: str) -> FormData | None:
        """The form of a request Twilio signed for ``public_url`` (with the request's query string); None,
        logged (``RefusedWebhooks``) with the URL it was checked against, when it has no valid signature."""
        form = await request.form()
        url = public_url + (f"?{request.url.query}" if request.url.query else "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if signature and self._validator.validate(url, form, signature):
            return form
        self._refused[path_key].refused(
            "sms webhook refused (403): %s X-Twilio-Signature; it was checked against %s "
            "(server.public_url + twilio.%s) with twilio.auth_token. Twilio signs the exact URL it calls: "
            "server.public_url must be the scheme and host the number's webhook is set to (https behind a "
            "proxy), and the token the account's",
            "a wrong" if signature else "no",
            public_url,
            path_key,
        )
        return None

    async def _inbound(self, request: Request) -> Response:
        form = await self._signed_form(request, self.webhook_url, "webhook_path")
        if form is None:
            return PlainTextResponse("invalid or missing X-Twilio-Signature", status_code=403)
        message = inbound_message(form)
        if message is None:
            return PlainTextResponse("MessageSid and From are required", status_code=400)
        try:
            replies = await self.handler.handle(message)
        except TemporarilyUnavailable as exc:
            logger.warning(
                "sms message %s not handled: %s; answered %d, Twilio delivers it again",
                message.provider_message_id,
                exc,
                UNAVAILABLE_STATUS,
            )
            return PlainTextResponse("the message cannot be handled just now", status_code=UNAVAILABLE_STATUS)
        except Exception as exc:
            logger.exception("sms message %s failed", message.provider_message_id)
            attempts = self._failures.failed(message.provider_message_id)
            if attempts < self.max_attempts or not await self._gave_up(message, attempts, exc):
                # Twilio delivers it again (fallback URL, retries); the dispatcher deduplicates it.
                return PlainTextResponse("the message could not be handled", status_code=500)
            replies = []  # the dispatcher queued the answer ("a person will look") in the outbox
        self._failures.settled(message.provider_message_id)
        return Response(self.twiml(replies), media_type="application/xml")

    async def _gave_up(self, message: InboundMessage, attempts: int, error: Exception) -> bool:
        """Stops waiting for ``message`` to be handled: kept for a person when the handler can keep it.
        False when even that failed (the database is down): the webhook then fails again."""
        keeper = self.handler if isinstance(self.handler, KeepsUnhandled) else None
        if keeper is not None:
            try:
                await keeper.give_up(message, UNHANDLED_REASON)
            except Exception:
                logger.exception("sms message %s could not be kept for review", message.provider_message_id)
                return False
        logger.error(
            "sms message %s given up after %d tries (%s: %s); %s",
            message.provider_message_id,
            attempts,
            type(error).__name__,
            error,
            "kept for review" if keeper is not None else "it is not kept anywhere",
        )
        return True

    def twiml(self, replies: Sequence[OutboundMessage]) -> str:
        response = MessagingResponse()
        for reply in replies:
            parts = split_text(sms_text(reply), self.max_message_chars)
            for index, part in enumerate(parts):
                message = response.message(part)
                if index == 0:
                    for url in reply.media_urls:
                        message.media(url)
        return str(response)

    async def _status(self, request: Request) -> Response:
        form = await self._signed_form(request, self.status_url, "status_path")
        if form is None:
            return PlainTextResponse("invalid or missing X-Twilio-Signature", status_code=403)
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
        error_code = str(form.get("ErrorCode") or "").strip() or None
        if error_code is not None:
            # Twilio does not try again and neither does the bot (the message left the outbox when Twilio
            # took it): the log and the stored delivery status are what an operator sees of it.
            logger.warning(
                "sms message %s %s: Twilio error %s, %s",
                sid,
                status,
                error_code,
                DELIVERY_ERRORS.get(error_code, "see https://www.twilio.com/docs/api/errors/" + error_code),
            )
        if isinstance(self.handler, DeliveryStatusSink):
            await self.handler.record_delivery_status(
                CHANNEL_NAME, sid, status, STATUS_RANK.get(status, 0), error_code
            )
        recipient = str(form.get("To") or "")
        if error_code == str(OPTED_OUT_ERROR) and recipient and isinstance(self.handler, OptOutSink):
            await self.handler.recipient_opted_out(CHANNEL_NAME, recipient)
        return Response(status_code=204)

    # -- outbound --------------------------------------------------------------------------------------

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        return await self.send(OutboundMessage(channel=CHANNEL_NAME, resident_id=resident_id, text=text))

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        """Sends the parts not sent yet (``progress``: a retry resumes after those the earlier tries sent);
        the last part's MessageSid is the result."""
        progress = progress or SendProgress()
        parts = split_text(sms_text(message), self.max_message_chars)
        for index, part in enumerate(parts[progress.parts_sent :], start=progress.parts_sent):
            media = list(message.media_urls) if index == 0 else []
            progress.part_sent(await asyncio.to_thread(self._create, message.resident_id, part, media))
        return SendResult(provider_message_id=progress.last_id)

    def _create(self, to: str, body: str, media_urls: list[str]) -> str | None:
        kwargs: dict[str, Any] = {"to": to, "from_": self.from_number, "body": body}
        kwargs["status_callback"] = self.status_url
        if media_urls:
            kwargs["media_url"] = media_urls
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT_ERROR:
                raise RecipientOptedOut(f"Twilio {exc.code}: {exc.msg}") from exc
            retryable = exc.status == 429 or exc.status >= 500
            raise DeliveryError(f"Twilio {exc.status} {exc.code}: {exc.msg}", retryable=retryable) from exc
        except (TwilioException, OSError) as exc:
            raise DeliveryError(f"Twilio could not be reached: {exc}", retryable=True) from exc
        sid: str | None = created.sid
        return sid

    async def fetch_media(self, attachment: Attachment) -> tuple[bytes, str]:
        """MMS media needs the account's credentials (HTTP basic auth); httpx drops them on a redirect
        to another host, as Twilio's redirect to its storage expects."""
        try:
            async with httpx.AsyncClient(auth=self._auth, follow_redirects=True, timeout=30) as client:
                response = await client.get(attachment.url)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"fetching {attachment.url} failed: {exc}", retryable=True) from exc
        content_type = response.headers.get("content-type", attachment.content_type or "")
        return fetched_media(attachment.url, response.status_code, response.content, content_type)


def inbound_message(form: FormData) -> InboundMessage | None:
    """Twilio's webhook form → one normalised message (None when it lacks the message id or sender)."""
    sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or "")
    sender = str(form.get("From") or "")
    if not sid or not sender:
        return None
    attachments: list[Attachment] = []
    count = str(form.get("NumMedia") or "0")
    # At most Twilio's 10 per MMS: a signed but absurd NumMedia must not have the bot count to it.
    for index in range(min(int(count), MAX_MEDIA_PER_MESSAGE) if count.isdigit() else 0):
        url = form.get(f"MediaUrl{index}")
        if isinstance(url, str) and url:
            content_type = form.get(f"MediaContentType{index}")
            attachments.append(
                Attachment(url=url, content_type=str(content_type) if content_type else None, needs_auth=True)
            )
    return InboundMessage(
        channel=CHANNEL_NAME,
        resident_id=sender,
        provider_message_id=sid,
        text=str(form.get("Body") or ""),
        attachments=tuple(attachments),
        point=_shared_location(form),
        metadata={"to": str(form.get("To") or "")},
    )


def _shared_location(form: FormData) -> GeoPoint | None:
    """Twilio's WhatsApp sender passes a shared location as ``Latitude``/``Longitude``; plain SMS never."""
    try:
        lat, long = float(str(form.get("Latitude"))), float(str(form.get("Longitude")))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(long) and -90 <= lat <= 90 and -180 <= long <= 180):
        return None
    return GeoPoint(lat, long)


def sms_text(message: OutboundMessage) -> str:
    """The text a reply is sent as: typography that alone would make it UCS-2 (70 characters a segment
    instead of 160) in its GSM-7 look-alikes (``channels.gsm7``)."""
    return plain_typography(render_as_text(message))


def split_text(text: str, limit: int) -> list[str]:
    """Splits a long reply into parts of at most ``limit`` characters: between paragraphs, then lines,
    then sentences, then words; a word longer than the limit is cut."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for pattern in (r"\n\s*\n", r"\n", r"[.!?。！？]\s", r"\s"):
            matches = [m.end() for m in re.finditer(pattern, window) if m.end() <= limit]
            candidates = [end for end in matches if end > limit // 3]
            if candidates:
                cut = candidates[-1]
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts
