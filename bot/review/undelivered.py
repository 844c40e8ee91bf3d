"""Replies the bot could not deliver, as operators read them: who (masked), when, why in plain words, and
the request or review item the reply was about.

The outbox keeps every reply with how it ended (``bot.outbox``): given up (``failed``: refused by the
provider, or the resident unsubscribed at their carrier), never sent (``suppressed``: the resident had
opted out, or the loop guard held it back), still being retried after an error, or handed to the provider
and then reported undelivered by it (a Twilio status callback: carrier filtering, an unreachable phone).
Before, only the log said so.

A recipient is shown by the last digits of their id alone ("phone ending in 0134"), and the words of a
reply or an error go through ``bot.redaction.mask_contact_details``, so the page never shows a full phone
number. On X, where residents have a public name, it is shown ("X account @ana_in_sf"): an operator can
reach them there when the bot's reply was refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from bot.clock import as_utc, utcnow
from bot.loop_guard import HELD_BACK
from bot.open311.models import ServiceRequestRow
from bot.outbox import OutboxMessage
from bot.redaction import mask_contact_details
from bot.review.models import ReviewItem
from bot.state import get_resident

# What a provider's delivery report says when the message never reached the phone.
NOT_DELIVERED = ("failed", "undelivered")
STATE_LABELS = {"failed": "Not delivered", "suppressed": "Not sent", "retrying": "Still trying"}
# Twilio's error codes (a delivery report's ErrorCode, or the code of a refused send), in words for an
# operator deciding whether to call the resident instead.
TWILIO_ERRORS: dict[str, str] = {
    "21211": "The phone number is not valid.",
    "21408": "The account may not send texts to that country.",
    "21610": (
        "The resident unsubscribed (texted STOP to the city's number): nothing reaches them by text until "
        "they text START."
    ),
    "21612": "Texts cannot be sent between these two numbers.",
    "21614": "The number is not a mobile phone, so it cannot receive texts.",
    "30003": "The phone could not be reached (switched off or out of coverage).",
    "30004": "The resident's phone blocks messages from the city's number.",
    "30005": "The number does not exist or is no longer in service.",
    "30006": "The number is a landline or its carrier takes no texts.",
    "30007": (
        "The resident's carrier filtered it as spam (the city's number may need its carrier registration, "
        "A2P 10DLC, checked)."
    ),
    "30008": "The carrier could not deliver it and gave no reason.",
}
# Words in a provider's error, and what they mean for the operator (first match wins).
ERROR_WORDS: tuple[tuple[str, str], ...] = (
    ("bot was blocked by the user", "The resident blocked the bot on Telegram."),
    ("user is deactivated", "The resident's Telegram account was deleted."),
    ("chat not found", "The Telegram chat no longer exists."),
    ("recipient opted out", "The resident unsubscribed at their carrier (texted STOP)."),
    ("the resident opted out", "The resident had opted out (STOP); they get nothing until they send START."),
    ("is not enabled", "That channel is not turned on in this server's configuration."),
    ("flood control", "Telegram asked the bot to slow down; it waits and tries again."),
    ("rate limit", "The provider's rate limit was reached; the bot waits and tries again."),
    ("unreachable", "The provider could not be reached."),
    ("could not be reached", "The provider could not be reached."),
    ("server error", "The provider had an error of its own."),
)
HELD_BACK_WORDS = (
    "Not sent: the bot had answered this sender many times in a few minutes, so it stopped answering them "
    "for a while (an automated sender such as an out-of-office reply?)."
)
_TWILIO_CODE = re.compile(r"Twilio (?:\d{3} )?(\d{5})\b")
_REQUEST_NUMBER = re.compile(r"#(\d{1,18})\b")
# A reply made in the same turn as its review item, or when an operator decided on it: the clocks of the two
# rows are read a moment apart.
_SAME_MOMENT = timedelta(seconds=5)
_REPLY_CHARS = 160
_RECIPIENT_KINDS = {"sms": "phone", "telegram": "Telegram chat", "x": "X account", "twitter": "X account"}


@dataclass(frozen=True, slots=True)
class Undelivered:
    id: int
    at: datetime  # UTC, when the reply was written
    channel: str
    recipient: str  # masked: "phone ending in 0134"; or a public name: "X account @ana_in_sf"
    state: str  # "failed", "suppressed" or "retrying"
    reason: str  # in plain words
    detail: str  # the provider's own words, contact details masked ("" when the reason says it all)
    reply: str  # what the bot said, masked and shortened
    request_id: str | None
    review_item_id: int | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "channel": self.channel,
            "recipient": self.recipient,
            "state": self.state,
            "reason": self.reason,
            "detail": self.detail,
            "reply": self.reply,
            "service_request_id": self.request_id,
            "review_item_id": self.review_item_id,
        }


def masked_recipient(channel: str, resident_id: str, username: str | None = None) -> str:
    """Who a reply was for: by their public name on the channel where one is known ("X account @ana_in_sf"),
    else by the last four characters of their id alone ("phone ending in 0134")."""
    kind = _RECIPIENT_KINDS.get(channel, "resident")
    if username:
        return f"{kind} @{username}"
    tail = resident_id[-4:] if len(resident_id) >= 8 else ""
    return f"{kind} ending in {tail}" if tail else f"{kind} (id hidden)"


def recent(
    session: Session, *, days: int, now: datetime | None = None, limit: int = 200
) -> list[Undelivered]:
    """The replies of the last ``days`` days that did not reach the resident, newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.exec(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.created_at) >= since,
            or_(
                col(OutboxMessage.status).in_(("failed", "suppressed")),
                and_(col(OutboxMessage.status) == "pending", col(OutboxMessage.last_error).is_not(None)),
                col(OutboxMessage.delivery_status).in_(NOT_DELIVERED),
            ),
        )
        .order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
        .limit(limit)
    ).all()
    return [_view(session, row) for row in rows]


def _view(session: Session, row: OutboxMessage) -> Undelivered:
    assert row.id is not None
    state = (
        "retrying" if row.status == "pending" else "suppressed" if row.status == "suppressed" else "failed"
    )
    reason, detail = plain_reason(row)
    resident = get_resident(session, row.channel, row.resident_id)
    recipient = masked_recipient(row.channel, row.resident_id, resident.username if resident else None)
    request_id = _request_named(session, row)
    return Undelivered(
        id=row.id,
        at=as_utc(row.created_at),
        channel=row.channel,
        recipient=recipient,
        state=state,
        reason=reason,
        detail=masked(detail, row.resident_id, recipient),
        reply=_shortened(masked(row.text, row.resident_id, recipient)),
        request_id=request_id,
        review_item_id=None if request_id else _review_item_of(session, row),
    )


def plain_reason(row: OutboxMessage) -> tuple[str, str]:
    """Why the reply did not arrive, in plain words, and the provider's own words where they add something."""
    error = row.last_error or ""
    if row.status == "suppressed":
        if error == HELD_BACK:
            return HELD_BACK_WORDS, ""
        return "Not sent: the resident had opted out (STOP); they get nothing until they send START.", ""
    if row.status == "delivered" and row.delivery_status in NOT_DELIVERED:
        code = row.delivery_error or ""
        if code in TWILIO_ERRORS:
            return TWILIO_ERRORS[code], f"Twilio error {code}"
        named = f" (error {code})" if code else ""
        return f"The provider accepted it, but the carrier could not deliver it{named}.", ""
    found = _TWILIO_CODE.search(error)
    if found and found.group(1) in TWILIO_ERRORS:
        return TWILIO_ERRORS[found.group(1)], error
    lowered = error.lower()
    for words, meaning in ERROR_WORDS:
        if words in lowered:
            return meaning, error
    if row.status == "pending":
        return "Sending failed; the bot tries again.", error
    return "The provider refused it.", error


def masked(text: str, resident_id: str, recipient: str) -> str:
    """Contact details masked, and the resident's own id (a provider error may name it) replaced."""
    if len(resident_id) >= 4:
        text = text.replace(resident_id, f"[{recipient}]")
    return mask_contact_details(text)


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REPLY_CHARS else text[: _REPLY_CHARS - 1].rstrip() + "\u2026"


def _request_named(session: Session, row: OutboxMessage) -> str | None:
    """The request the reply names ("filed as #12", "Update on report #12"), when it is one of ours."""
    number: str
    for number in _REQUEST_NUMBER.findall(row.text):
        if session.get(ServiceRequestRow, int(number)) is not None:
            return number
    return None


def _review_item_of(session: Session, row: OutboxMessage) -> int | None:
    """The resident's review item the reply was about: one waiting for a person when it was written (the
    "a person will look" reply, and what followed), or decided at that moment (the approval or rejection)."""
    written = as_utc(row.created_at)
    item: ReviewItem | None = session.exec(
        select(ReviewItem)
        .where(
            ReviewItem.channel == row.channel,
            ReviewItem.resident_id == row.resident_id,
            col(ReviewItem.created_at) <= written + _SAME_MOMENT,
            or_(
                col(ReviewItem.decided_at).is_(None),
                col(ReviewItem.decided_at) >= written - _SAME_MOMENT,
            ),
        )
        .order_by(col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc())
        .limit(1)
    ).first()
    return item.id if item is not None else None
