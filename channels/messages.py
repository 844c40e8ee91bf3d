"""The normalised messages every channel produces and consumes.

They live in ``channels/`` because channels build and send them; the conversation engine in ``bot/``
imports them from here (channels never import ``bot``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The longest media URL a report keeps (the Open311 core's limit on ``media_url``).
MAX_MEDIA_URL_CHARS = 2048
# Control characters, but for the newline and the tab: no resident means them (a NUL is refused by the core
# and by PostgreSQL alike).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """A resident's words without the control characters nobody types: line breaks become newlines, the
    rest (NUL, escape sequences, C1 codes) are dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A GPS point shared by the resident: a location is a typed point, never text."""

    lat: float
    long: float


@dataclass(frozen=True, slots=True)
class Attachment:
    """Media the resident sent. ``url`` may need provider credentials to fetch (see ``fetch_auth``)."""

    url: str
    content_type: str | None = None
    # True when fetching ``url`` needs the provider's credentials (Twilio media, Telegram files): the bot
    # then stores the bytes itself and serves them from its own URL.
    needs_auth: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a "which of these?" question; channels without buttons show numbered lines."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str
    # The resident's id on that channel (phone number, Telegram chat id, X user id, local id).
    resident_id: str
    # The provider's id of this message; a redelivery carries the same id.
    provider_message_id: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    point: GeoPoint | None = None
    # What a reply should thread under (a tweet id, a Telegram message id), if the provider threads.
    reply_to: str | None = None
    language_hint: str | None = None
    # A button the resident pressed (callback data), if any.
    choice_value: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Provider extras the engine may store but never interprets (e.g. whether a tweet was public).
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    channel: str
    resident_id: str
    text: str
    choices: tuple[Choice, ...] = ()
    reply_to: str | None = None
    # True when the text holds private details that must not be posted publicly (X sends a DM instead).
    private: bool = False
    media_urls: tuple[str, ...] = ()
    # The answer to STOP: the one message sent although the resident has just opted out, except on channels
    # whose provider confirms this opt-out itself (``Channel.confirms_opt_out``: Twilio, for its keywords).
    # Also the answer to HELP from a resident who opted out (carriers require HELP answered always).
    opt_out_confirmation: bool = False
