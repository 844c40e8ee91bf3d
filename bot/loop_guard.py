"""Keeps the bot from ping-ponging with another automated system, and never from answering a person.

An out-of-office auto-reply, a business's SMS bot or a voicemail-to-text service answers every message it
gets, and always with the same words; the bot answers every message too ("Where is it?" to "I am away
until Monday"), and the two would text each other for ever, each message an SMS the city pays for. What
gives such a sender away is that its messages repeat, not how many there are: a resident filing several
reports, or needing ten messages to get a place right, writes something different each time.

``ReplyLimit`` holds back the bot's answer to a message when, within ``window``, the same sender on the
same channel has already sent the same text ``repeats`` times (the same once lower-cased, with digits,
punctuation and spacing left out, or nearly the same: a rapidfuzz ratio of at least ``SIMILAR``), or has
sent more than ``max_messages`` messages at all (a rate no person types). Past that it stays silent (the
automated sender, which only answers, then stops too) and logs it once. Texts of a few letters ("yes",
"1", "ok") are not counted as repeats: a resident answers many questions with them. The counts are read
from the inbox, so they hold across restarts and workers.

Never held back: the answer to a command (HELP, START, STOP, STATUS, CANCEL...), to a turn that filed a
new report or (but for a repeat) sent one to a person, the first answer to a text not seen before within
the window, and answers sent although the resident opted out (the STOP confirmation carriers require). A
repeated text that would have gone to the review queue while its sender is held back does not: the item is
dropped with a log line, so an operator's queue does not fill with an out-of-office reply. Held replies are
kept in the outbox as ``suppressed`` with ``HELD_BACK`` as their error, as a record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from bot import outbox
from bot.review.models import ReviewItem
from bot.small_talk import HAN
from bot.state import InboxRecord
from channels.messages import OutboundMessage

log = logging.getLogger(__name__)

# Stored with each held reply (the console's Undelivered page reads it): kept as it was first written.
HELD_BACK = "held back: too many replies to this sender lately (an automated sender?)"
# Two texts this alike (rapidfuzz ratio, 0-100, of their normalised forms) are the same text.
SIMILAR = 90.0
# A text shorter than this (letters, once normalised), or with fewer Han characters, is not distinctive
# enough to count as a repeat.
MIN_LETTERS = 12
MIN_HAN = 4

_NOT_LETTERS = re.compile(r"[\W\d_]+")


def normalised(text: str) -> str:
    """The text lower-cased, with digits, punctuation and spacing left out (words one space apart): an
    auto-reply that names today's date or a ticket number is the same text every time."""
    return _NOT_LETTERS.sub(" ", text.casefold()).strip()


def same_text(a: str, b: str) -> bool:
    """Whether two normalised texts are the same or nearly (``SIMILAR``)."""
    return a == b or fuzz.ratio(a, b) >= SIMILAR


def distinctive(text: str) -> bool:
    """Whether a normalised text is long enough that sending it again and again gives a machine away."""
    return len(text.replace(" ", "")) >= MIN_LETTERS or len(HAN.findall(text)) >= MIN_HAN


@dataclass(frozen=True, slots=True)
class ReplyLimit:
    repeats: int = 5
    window: timedelta = timedelta(minutes=10)
    max_messages: int = 60

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.max_messages < 1:
            raise ValueError("a reply limit answers the same text at least once, and at least one message")

    def apply(
        self,
        session: Session,
        channel: str,
        resident_id: str,
        provider_message_id: str,
        text: str,
        replies: Sequence[OutboundMessage],
        *,
        now: datetime,
        always: bool = False,
    ) -> list[OutboundMessage]:
        """The replies to send of ``replies``, the answer to the sender's message ``text``; the others are
        recorded as held back. ``always``: the turn was a command or filed a new report."""
        if not replies or always:
            return list(replies)
        since = now - self.window
        earlier = self._earlier_texts(session, channel, resident_id, since)
        key = normalised(text)
        repeated = sum(1 for other in earlier if same_text(key, normalised(other))) if distinctive(key) else 0
        to_person = self._sent_to_a_person(session, channel, resident_id, provider_message_id)
        if repeated >= self.repeats:
            # A machine saying the same again: an item for a person only adds to what they must wade through.
            for item in to_person:
                log.info(
                    "%s message %s not put on the review queue: its sender sent the same text %d times in "
                    "the last %g minutes",
                    channel,
                    provider_message_id,
                    repeated + 1,
                    self._minutes,
                )
                session.delete(item)
            why = f"the same text {repeated + 1} times"
        elif len(earlier) >= self.max_messages and not to_person:
            why = f"more than {self.max_messages} messages"
        else:
            return list(replies)
        if not self._held_since(session, channel, resident_id, since):
            log.warning(
                "replies to %s message %s held back: its sender sent %s in the last %g minutes (an automated "
                "sender answering every message?); the bot stays silent to such messages until fewer come",
                channel,
                provider_message_id,
                why,
                self._minutes,
            )
        sent = [reply for reply in replies if reply.opt_out_confirmation]
        for reply in replies:
            if not reply.opt_out_confirmation:
                row = outbox.enqueue(session, reply)
                row.status = "suppressed"
                row.last_error = HELD_BACK
        return sent

    @property
    def _minutes(self) -> float:
        return self.window.total_seconds() / 60

    def _earlier_texts(self, session: Session, channel: str, resident_id: str, since: datetime) -> list[str]:
        """The texts of the sender's messages within the window, latest first (enough of them to tell)."""
        return list(
            session.exec(
                select(InboxRecord.text)
                .where(
                    InboxRecord.channel == channel,
                    InboxRecord.resident_id == resident_id,
                    col(InboxRecord.received_at) >= since,
                )
                .order_by(col(InboxRecord.received_at).desc())
                .limit(self.max_messages)
            ).all()
        )

    @staticmethod
    def _sent_to_a_person(
        session: Session, channel: str, resident_id: str, provider_message_id: str
    ) -> list[ReviewItem]:
        """The review items this message put on the queue (it is not in the inbox yet: any item naming it
        was made by this turn)."""
        return list(
            session.exec(
                select(ReviewItem).where(
                    ReviewItem.channel == channel,
                    ReviewItem.resident_id == resident_id,
                    ReviewItem.provider_message_id == provider_message_id,
                )
            ).all()
        )

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
