"""The one channel interface.

A channel is an input half (web routes or a poller that turn a provider's payload into one
``InboundMessage`` handed to the ``MessageHandler``) and an output half whose only required method is
``send_text``. ``send`` falls back to text when a provider cannot show buttons (numbered lines).

Adding a channel means one new module here and one line in ``channels/registry.py``.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from channels.messages import Attachment, InboundMessage, OutboundMessage


class MessageHandler(Protocol):
    """What a channel hands inbound messages to (the dispatcher implements it).

    Returns the replies produced synchronously (a channel that answers in the webhook response, like
    TwiML or the local channel, uses them; others may ignore them because the outbox sends them).
    Handling the same ``provider_message_id`` twice returns the first replies again and does nothing else.
    """

    async def handle(self, message: InboundMessage) -> Sequence[OutboundMessage]: ...


@runtime_checkable
class KeepsUnhandled(Protocol):
    """A ``MessageHandler`` that also takes the messages a channel has stopped retrying (the dispatcher
    implements it; a channel checks with ``isinstance`` and, without it, only logs what it gave up).

    ``give_up`` keeps the message where a person sees it, tells the resident, and records its
    ``provider_message_id`` as handled, so a later delivery of it changes nothing. Nothing is fetched
    (fetching may be what kept failing). A message already handled is left as it is.
    """

    async def give_up(self, message: InboundMessage, reason: str) -> None: ...


class CursorStore(Protocol):
    """Durable named cursors for channels that read a provider's feed by position (X's ``since_id``,
    Telegram's last handled ``update_id``); implemented in ``bot.cursors``, injected by the runtime."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SendResult:
    # The provider's id of what was sent (Twilio MessageSid, tweet id, Telegram message id).
    provider_message_id: str | None = None


@dataclass(slots=True)
class SendProgress:
    """How far a message sent in several parts (a long SMS, a thread of tweets, Telegram chunks and photos)
    has gone. A retry passes in what the earlier tries sent, and the channel resumes after it (an X thread
    goes on under ``last_id``); after each part the channel calls ``part_sent``, which tells ``on_part``
    (the outbox records it), so a failure partway sends no part twice."""

    parts_sent: int = 0
    # The provider's id of the last part sent (the tweet the next one replies to).
    last_id: str | None = None
    on_part: Callable[[SendProgress], None] | None = None

    def part_sent(self, provider_id: str | None) -> None:
        self.parts_sent += 1
        if provider_id:
            self.last_id = provider_id
        if self.on_part is not None:
            self.on_part(self)


class FailureCounts:
    """How many deliveries of each unsettled message failed in a row, by the provider's id of it (a webhook's
    count: the provider chooses when to deliver again). Only the ``limit`` most recent are remembered: a
    message handled by another worker, or dropped by the provider, is never settled here, and a forgotten
    one counts from 1 again. Kept in memory, per worker."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str | int, int] = {}

    def failed(self, key: str | int) -> int:
        """Counts one more failed try; returns how many there have been."""
        attempts = self._counts.pop(key, 0) + 1
        self._counts[key] = attempts  # last in the dict: the oldest failure is forgotten first
        while len(self._counts) > self.limit:
            del self._counts[next(iter(self._counts))]
        return attempts

    def settled(self, key: str | int) -> None:
        """Handled or given up: a later delivery of it (the dispatcher recognises it) counts from 1."""
        self._counts.pop(key, None)


class RefusedWebhooks:
    """Says in the log why a provider's webhook request was refused (403, its signature or secret wrong):
    before, the access line ``POST /webhooks/twilio 403`` alone was left, and a wrong ``server.public_url``,
    the likeliest production mistake, had to be found from the provider's side. The first refusal is a
    WARNING at once, then at most one every ``every_seconds`` saying how many were refused since, so forged
    requests cannot flood the log. ``why`` names only configuration (the keys, the URL checked), never the
    signature, a secret or a resident's number."""

    def __init__(self, logger: logging.Logger, every_seconds: float = 60.0) -> None:
        self._logger = logger
        self._every = every_seconds
        self._last: float | None = None
        self._unsaid = 0

    def refused(self, why: str, *args: object) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self._every:
            self._unsaid += 1
            return
        since = f" ({self._unsaid} more refused since the last such line)" if self._unsaid else ""
        self._logger.warning(why + "%s", *args, since)
        self._last, self._unsaid = now, 0


class TemporarilyUnavailable(Exception):
    """The handler cannot handle a message just now, for a reason of its own that passes (the database not
    answering): the one signal of it the dispatcher raises. Not the message's fault, so a channel neither
    logs a traceback nor counts it as a failed try towards giving the message up: it says so in one line
    and has the provider deliver the message again (a webhook answers ``UNAVAILABLE_STATUS``). The message
    says why, in a line ("database unreachable: ..."), without a resident's words or number."""


# What a webhook answers a message the handler is ``TemporarilyUnavailable`` for: Twilio (its fallback URL,
# a connection override's retries on 5xx), Telegram and X all deliver it again after a 503.
UNAVAILABLE_STATUS = 503


class ChannelRefused(RuntimeError):
    """The provider refused the channel's configuration at start-up (a wrong token, a webhook URL it will
    not call): the message names the setting and never holds the secret itself."""


class DeliveryError(Exception):
    """Sending failed. ``retryable`` says whether the outbox should try again later."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


# The largest photo a channel fetches from its provider (Twilio's MMS limit is 5 MB; X and Telegram less).
MAX_MEDIA_BYTES = 10 * 1024 * 1024


def fetched_media(url: str, status_code: int, content: bytes, content_type: str | None) -> tuple[bytes, str]:
    """A provider's answer to fetching a resident's photo, as (bytes, media type), or the DeliveryError
    that says whether to try again: a provider down or busy may pass, a 4xx (the media deleted, the
    signature refused) will not, and a file over MAX_MEDIA_BYTES never will."""
    if status_code != 200:
        transient = status_code == 429 or status_code >= 500
        raise DeliveryError(f"fetching {url} gave HTTP {status_code}", retryable=transient)
    if len(content) > MAX_MEDIA_BYTES:
        raise DeliveryError(f"{url} is larger than {MAX_MEDIA_BYTES} bytes", retryable=False)
    return content, (content_type or "").split(";")[0].strip()


class RecipientOptedOut(DeliveryError):
    """The provider says the resident opted out (Twilio 21610): record the opt-out, never retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class Channel(ABC):
    name: ClassVar[str]
    # What the provider can show: "buttons", "media", "threads", "private" (a private side channel);
    # "inline_replies": the channel answers in the webhook's own response (TwiML, the local channel), so
    # the dispatcher records those replies as delivered and the outbox never sends them again.
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, handler: MessageHandler) -> None:
        self.handler = handler

    @classmethod
    @abstractmethod
    def from_config(cls, config: Any, handler: MessageHandler, *, public_url: str) -> Channel:
        """Builds the channel from its own section of the settings."""

    def routes(self) -> list[BaseRoute]:
        """Web routes (webhooks) this channel serves inside the app; none by default."""
        return []

    async def start(self) -> None:  # noqa: B027  (optional hook: most channels have nothing to start)
        """Starts pollers or provider sessions; called once when the app starts."""

    async def stop(self) -> None:  # noqa: B027  (optional hook)
        """Stops what ``start`` started; called once when the app stops."""

    @abstractmethod
    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        """Sends plain text; the only method every channel must have."""

    async def send(self, message: OutboundMessage, progress: SendProgress | None = None) -> SendResult:
        """Sends a full message; channels with richer capabilities override this. A channel that sends a
        message in several parts skips the ``progress.parts_sent`` already sent and reports each part it
        sends to ``progress.part_sent``; this one sends one part."""
        if progress is not None and progress.parts_sent:
            return SendResult(provider_message_id=progress.last_id)
        result = await self.send_text(message.resident_id, render_as_text(message), reply_to=message.reply_to)
        if progress is not None:
            progress.part_sent(result.provider_message_id)
        return result

    def confirms_opt_out(self, text: str) -> bool:
        """Whether the provider itself answers this message as an opt-out (as carriers require of SMS:
        Twilio answers its STOP keywords), so the bot's own answer to it is not sent; by default it is."""
        return False

    async def fetch_media(self, attachment: Attachment) -> tuple[bytes, str]:
        """Fetches media that needs the provider's credentials; returns (bytes, content type)."""
        raise DeliveryError(f"{self.name} cannot fetch {attachment.url}", retryable=False)


def render_as_text(message: OutboundMessage) -> str:
    """The text fallback: choices become numbered lines a resident can answer by number or words."""
    if not message.choices:
        return message.text
    lines = [message.text, ""]
    lines += [f"{number}. {choice.label}" for number, choice in enumerate(message.choices, start=1)]
    return "\n".join(lines)


def parse_json(body: bytes) -> Any:
    """A webhook's JSON body, as ``json.loads`` reads it; a body nested too deeply for it (100,000 ``[``)
    raises ``ValueError`` like any other body that does not parse, not ``RecursionError`` (a 500)."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise ValueError("the JSON is nested too deeply") from exc
