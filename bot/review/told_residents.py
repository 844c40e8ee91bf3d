"""What residents were told about a request, for the operator answering "what did your bot tell me?": every
message the outbox holds that names the request ("filed as #12", "Update on report #12", the answer to
STATUS or FOLLOW 12), or that notified its followers of one of its changes, with how it ended.

The outbox keeps each message the bot sends to a resident (``bot.outbox``), inline replies too; it keeps
no request id, so a message is found by the number in its words (every template that is about a request
names it as "#{id}") and by the key notifications give their rows (``status:core:<change id>:...``).
Recipients are masked and the words go through the same masking as the Undelivered page. Each message is
marked with the language its recipient is answered in (WCAG 3.1.2), as the item page's conversation is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.clock import as_utc
from bot.follows import Follow
from bot.open311.models import StatusChangeRow
from bot.outbox import OutboxMessage
from bot.review.undelivered import NOT_DELIVERED, masked, masked_recipient, plain_reason
from bot.state import get_resident

# How each message ended, as the page says it.
OUTCOMES = {
    "delivered": "Delivered",
    "not delivered": "Not delivered",
    "not sent": "Not sent",
    "sending": "Being sent",
}
_LIMIT = 200


@dataclass(frozen=True, slots=True)
class ToldMessage:
    at: datetime  # UTC, when the message was written
    channel: str
    recipient: str  # masked: "phone ending in 0134"
    text: str  # contact details masked
    outcome: str  # a key of OUTCOMES
    reason: str  # why it did not arrive, in plain words ("" when it did or is on its way)
    language: str = ""  # the language the bot answers its recipient in ("es"), for the page's lang

    @property
    def outcome_label(self) -> str:
        return OUTCOMES[self.outcome]


def messages_about(
    session: Session, request_id: int, reply_language: Callable[[str | None], str]
) -> list[ToldMessage]:
    """The messages sent to residents about the request, oldest first; ``reply_language`` is the language
    the bot answers a resident of a given language in (``Templates.language_for``)."""
    changes = session.exec(select(StatusChangeRow.id).where(StatusChangeRow.request_id == request_id)).all()
    notified = [col(OutboxMessage.dedupe_key).startswith(f"status:core:{change}:") for change in changes]
    rows = session.exec(
        select(OutboxMessage)
        .where(or_(col(OutboxMessage.text).contains(f"#{request_id}", autoescape=True), *notified))
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(_LIMIT)
    ).all()
    # "#12" names request 12, not 120.
    names = re.compile(rf"#{request_id}(?!\d)")
    return [
        _view(session, row, reply_language)
        for row in rows
        if names.search(row.text) or (row.dedupe_key or "").startswith("status:core:")
    ]


def filer_of(session: Session, request_id: int) -> Follow | None:
    """The resident who filed the request through the bot, while they follow it."""
    return session.exec(
        select(Follow).where(Follow.service_request_id == str(request_id), Follow.reason == "filed")
    ).first()


def _view(session: Session, row: OutboxMessage, reply_language: Callable[[str | None], str]) -> ToldMessage:
    resident = get_resident(session, row.channel, row.resident_id)
    recipient = masked_recipient(row.channel, row.resident_id, resident.username if resident else None)
    if row.status == "delivered" and row.delivery_status not in NOT_DELIVERED:
        outcome = "delivered"
    elif row.status == "pending":
        outcome = "sending"
    else:
        outcome = "not sent" if row.status == "suppressed" else "not delivered"
    # Why it did not arrive (or is being tried again after an error).
    failed = outcome in ("not sent", "not delivered") or (outcome == "sending" and row.last_error)
    reason = plain_reason(row)[0] if failed else ""
    return ToldMessage(
        at=as_utc(row.created_at),
        channel=row.channel,
        recipient=recipient,
        text=masked(row.text, row.resident_id, recipient),
        outcome=outcome,
        reason=reason,
        # The resident's language as the bot knows it now: the outbox keeps no language of its own.
        language=reply_language(resident.language if resident else None),
    )
