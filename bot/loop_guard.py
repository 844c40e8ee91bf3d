"""A limit on the bot's replies to one sender, so it never ping-pongs with another automated system.

An out-of-office auto-reply, a business's SMS bot or a voicemail-to-text service answers every message it
gets; the bot answers every message too ("Where is it?" to "I am away until Monday"), and the two would
text each other for ever, each message an SMS the city pays for. ``ReplyLimit`` lets the bot answer at most
``max_replies`` of one sender's messages on a channel within ``window``; past that it stays silent (the
automated sender, which only answers, then stops too) and logs it once. The count is of messages answered,
read from the inbox, so it holds across restarts and workers.

Never held back: the answer to a turn that filed a new report (its number is what the resident needs), and
answers sent although the resident opted out (the STOP confirmation carriers require). Held replies are
kept in the outbox as ``suppressed`` with ``HELD_BACK`` as their error, as a record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot import outbox
from bot.state import InboxRecord
from channels.messages import OutboundMessage

log = logging.getLogger(__name__)

HELD_BACK = "held back: too many replies to this sender lately (an automated sender?)"


@dataclass(frozen=True, slots=True)
class ReplyLimit:
    max_replies: int = 15
    window: timedelta = timedelta(minutes=10)

    def apply(
        self,
        session: Session,
        channel: str,
        resident_id: str,
        provider_message_id: str,
        replies: Sequence[OutboundMessage],
        *,
        now: datetime,
    ) -> list[OutboundMessage]:
        """The replies to send of ``replies`` (the turn filed no new report); the others are recorded as
        held back."""
        since = now - self.window
        if not replies or self._answered(session, channel, resident_id, since) < self.max_replies:
            return list(replies)
        if not self._held_since(session, channel, resident_id, since):
            log.warning(
                "replies to %s message %s held back: %d of this sender's messages answered in the last %g "
                "minutes (an automated sender answering every message?); the bot stays silent to them "
                "until fewer are",
                channel,
                provider_message_id,
                self.max_replies,
                self.window.total_seconds() / 60,
            )
        sent = [reply for reply in replies if reply.opt_out_confirmation]
        for reply in replies:
            if not reply.opt_out_confirmation:
                row = outbox.enqueue(session, reply)
                row.status = "suppressed"
                row.last_error = HELD_BACK
        return sent

    @staticmethod
    def _answered(session: Session, channel: str, resident_id: str, since: datetime) -> int:
        replies = session.exec(
            select(InboxRecord.replies).where(
                InboxRecord.channel == channel,
                InboxRecord.resident_id == resident_id,
                col(InboxRecord.received_at) >= since,
            )
        ).all()
        return sum(1 for sent in replies if sent)

    @staticmethod
    def _held_since(session: Session, channel: str, resident_id: str, since: datetime) -> bool:
        held = session.exec(
            select(outbox.OutboxMessage.id)
            .where(
                outbox.OutboxMessage.channel == channel,
                outbox.OutboxMessage.resident_id == resident_id,
                outbox.OutboxMessage.last_error == HELD_BACK,
                col(outbox.OutboxMessage.created_at) >= since,
            )
            .limit(1)
        ).first()
        return held is not None
