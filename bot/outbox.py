"""The outbox: every message the bot sends is first a row here, written in the same transaction as the
state change that caused it, then sent by ``deliver_due`` with retries and exponential backoff.

So a crash between filing a request and replying loses no reply (the row is there) and sends none twice
(a row is sent by one sender at a time and marked delivered once). A message a channel sends in several
parts records each part as it goes out (``parts_sent``, ``last_part_id``), so a retry after a failure
partway sends only the rest (an X thread goes on under the last tweet posted). Replies a channel gives
inline (TwiML, the local channel's HTTP response) are written already delivered, so the sender never
sends them again.

Several workers may drain the outbox at once: ``claim_due`` locks rows with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (SQLite has one writer at a time anyway) and leases them by pushing ``next_attempt_at`` past the
send, so a sender that dies mid-send leaves its rows to be retried once the lease runs out. A claim is
a few rows at a time, and right before each send (and each further part) the sender renews its claim
with one conditional UPDATE (``renew_claim``): a slow provider that kept it past the lease finds the row
taken by another sender (its ``attempts`` moved on) and leaves it, instead of sending it a second time.

Each channel has its own lane (``deliver_due``): its rows are claimed and sent apart from the others', at
the same time, so a slow provider (SMS) delays no other channel's replies (Telegram's "filed as #N").
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import JSON, Column, ColumnElement, and_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, col, select

from bot.backoff import Backoff
from bot.clock import as_utc, utcnow
from bot.db_outage import unreachable
from bot.open311.models import UTCDateTime
from bot.redaction import mask_contact_details
from bot.state import LOCK_RETRIES, is_lock_conflict, is_opted_out, mark_opted_out
from channels.base import Channel, DeliveryError, RecipientOptedOut, SendProgress
from channels.messages import Choice, OutboundMessage

log = logging.getLogger(__name__)

# Rows a sender claims at a time: few, so that a slow provider cannot keep a long batch leased past its
# lease while other senders stand idle (each row's lease is renewed again right before it is sent).
CLAIM_CHUNK = 5
# While another channel's lane is still sending, how often an idle lane looks for new rows of its own.
IDLE_POLL_SECONDS = 0.5

OutboxStatus = Literal["pending", "delivered", "failed", "suppressed"]


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    resident_id: str = Field(max_length=128)
    text: str
    choices: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reply_to: str | None = Field(default=None, max_length=128)
    private: bool = False
    media_urls: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The answer to STOP: sent although the resident opted out (see OutboundMessage).
    opt_out_confirmation: bool = False
    # pending → delivered | failed (given up, or the resident opted out) | suppressed (opted out before
    # it was sent: never sent).
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    # A message sent in several parts (a long SMS, a thread of tweets): how many went out and the last
    # one's provider id, recorded part by part, so a retry after a failure partway resumes after them.
    parts_sent: int = 0
    last_part_id: str | None = Field(default=None, max_length=128)
    # When a pending row is due; while a sender holds it, the end of its lease.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    # The provider's id of what was sent, so delivery status callbacks find the row.
    provider_message_id: str | None = Field(default=None, max_length=128, index=True)
    # The furthest delivery status the provider reported (callbacks may arrive out of order).
    delivery_status: str | None = Field(default=None, max_length=32)
    delivery_status_rank: int = 0
    delivery_error: str | None = Field(default=None, max_length=32)
    # Set by producers that must never queue the same message twice (e.g. one notification per status
    # change and resident); unique, so a second insert fails instead of sending twice.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # A message is given up when its attempts reach max_attempts or when the next try would come later
    # than max_age_seconds after it was queued: a resident still gets their tracking number after an
    # outage of some hours, not a reply a day late.
    max_attempts: int = 50
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_age_seconds: float = 24 * 3600.0
    # How long a claimed row stays invisible to other senders while it is being sent.
    lease_seconds: float = 120.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Doubling from ``base_seconds`` up to ``max_seconds``, or longer when the provider said so."""
        backoff = Backoff(first_seconds=self.base_seconds, max_seconds=self.max_seconds, jitter=0.0)
        return max(backoff.delay(attempts), retry_after or 0.0)


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    # Claimed, then found taken by another sender before it was sent (this sender was too slow): left alone.
    lost: int = 0
    errors: list[str] = field(default_factory=list)


def message_to_dict(message: OutboundMessage) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "resident_id": message.resident_id,
        "text": message.text,
        "choices": [{"label": c.label, "value": c.value} for c in message.choices],
        "reply_to": message.reply_to,
        "private": message.private,
        "media_urls": list(message.media_urls),
        "opt_out_confirmation": message.opt_out_confirmation,
    }


def message_from_dict(data: Mapping[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        channel=data["channel"],
        resident_id=data["resident_id"],
        text=data["text"],
        choices=tuple(Choice(label=c["label"], value=c["value"]) for c in data.get("choices", [])),
        reply_to=data.get("reply_to"),
        private=bool(data.get("private", False)),
        media_urls=tuple(data.get("media_urls", [])),
        opt_out_confirmation=bool(data.get("opt_out_confirmation", False)),
    )


def as_message(row: OutboxMessage) -> OutboundMessage:
    return OutboundMessage(
        channel=row.channel,
        resident_id=row.resident_id,
        text=row.text,
        choices=tuple(Choice(label=c["label"], value=c["value"]) for c in row.choices),
        reply_to=row.reply_to,
        private=row.private,
        media_urls=tuple(row.media_urls),
        opt_out_confirmation=row.opt_out_confirmation,
    )


def enqueue(
    session: Session,
    message: OutboundMessage,
    *,
    delivered_inline: bool = False,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Adds a message to the outbox in the caller's transaction (the caller commits).

    ``delivered_inline``: the channel hands this reply to the provider in the webhook response itself.
    A resident who opted out gets nothing: the row is kept, marked suppressed, as a record.
    """
    now = utcnow()
    row = OutboxMessage(
        channel=message.channel,
        resident_id=message.resident_id,
        text=message.text,
        choices=[{"label": c.label, "value": c.value} for c in message.choices],
        reply_to=message.reply_to,
        private=message.private,
        media_urls=list(message.media_urls),
        opt_out_confirmation=message.opt_out_confirmation,
        dedupe_key=dedupe_key,
        created_at=now,
        next_attempt_at=now,
    )
    if not message.opt_out_confirmation and is_opted_out(session, message.channel, message.resident_id):
        row.status = "suppressed"
    elif delivered_inline:
        row.status = "delivered"
        row.delivered_at = now
    session.add(row)
    return row


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease_seconds: float,
    channel: str | None = None,
    other_than: Collection[str] = (),
) -> list[OutboxMessage]:
    """Claims up to ``limit`` due rows for this sender and commits the claim: only ``channel``'s when
    given, none of ``other_than``'s.

    One ``UPDATE ... WHERE id IN (due rows) RETURNING``: atomic on SQLite (one writer; a separate SELECT
    then UPDATE would let two senders take the same rows), and on PostgreSQL the inner
    ``FOR UPDATE SKIP LOCKED`` makes concurrent senders take disjoint rows without waiting. The lease
    (``next_attempt_at`` moved forward) keeps other senders away once the claim is committed.
    """
    due = select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", col(OutboxMessage.next_attempt_at) <= now
    )
    if channel is not None:
        due = due.where(col(OutboxMessage.channel) == channel)
    if other_than:
        due = due.where(col(OutboxMessage.channel).not_in(list(other_than)))
    due = (
        due.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(due.scalar_subquery()))
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds))
        .returning(OutboxMessage)
    )
    rows = list(session.scalars(claim, execution_options={"synchronize_session": False}).all())
    session.commit()
    return sorted(rows, key=lambda row: row.id or 0)


class ClaimLost(Exception):
    """Another sender claimed the row after this one's lease ran out: this sender must not send it."""


def renew_claim(session: Session, row: OutboxMessage, *, now: datetime, lease_seconds: float) -> bool:
    """Extends this sender's lease on ``row`` from ``now``, and commits; False when the claim is no longer
    its own (another sender claimed it since, or it was finished).

    Every claim adds one to ``attempts``, so an unchanged count means nobody claimed the row since: one
    conditional UPDATE checks and extends atomically (a concurrent claim waits for its row lock and then
    finds the lease extended, or this UPDATE finds the count moved on).
    """
    renewed = session.execute(
        update(OutboxMessage)
        .where(_still_claimed(row))
        .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(renewed, "rowcount", 0) or 0) == 1


def release_leases(session: Session, *, now: datetime, lease_seconds: float) -> int:
    """Makes due again the rows a sender that died left leased (claimed, never finished), and commits.

    Only for a database one process uses (SQLite): at its start no sender of its own is running yet, so a
    lease can only be a dead process's, and its replies would otherwise wait out the lease (two minutes)
    after a crash. A row waiting out a backoff shorter than a lease is tried once sooner: harmless. With
    several workers (PostgreSQL) the others' leases are live and left alone.
    """
    released = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.next_attempt_at) > now,
            col(OutboxMessage.next_attempt_at) <= now + timedelta(seconds=lease_seconds),
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(released, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class _Lane:
    """The rows one lane sends: one channel's, or (``channel`` None) those of channels not enabled here."""

    channel: str | None
    other_than: tuple[str, ...] = ()


async def deliver_due(
    session_factory: Callable[[], AbstractContextManager[Session]],
    channels: Mapping[str, Channel],
    *,
    policy: RetryPolicy | None = None,
    now: datetime | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Sends what is due, up to ``limit`` rows per channel, claimed ``CLAIM_CHUNK`` at a time; the outbox
    job calls this every few seconds.

    The channels are sent side by side, one lane each, and a lane with nothing left looks again for new
    rows of its own while another lane is still sending: a reply queued behind a slow SMS batch goes out
    at once instead of after it. ``session_factory()`` is a context manager giving a new Session
    (``bot.db`` provides one). ``now`` (tests) fixes the clock of the whole round.
    """
    policy = policy or RetryPolicy()
    report = DeliveryReport()
    names = tuple(sorted(channels))
    lanes = [_Lane(name) for name in names] + [_Lane(None, other_than=names)]
    working = set(lanes)
    # Every lane ends before this returns, even when one fails (the database gone): none goes on sending
    # behind the job's back. The first failure is raised then.
    drains = [
        _drain_lane(session_factory, channels, lane, working, policy, report, now, limit) for lane in lanes
    ]
    outcomes = await asyncio.gather(*drains, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return report


async def _drain_lane(
    session_factory: Callable[[], AbstractContextManager[Session]],
    channels: Mapping[str, Channel],
    lane: _Lane,
    working: set[_Lane],
    policy: RetryPolicy,
    report: DeliveryReport,
    now: datetime | None,
    limit: int,
) -> None:
    handled = 0
    try:
        while handled < limit:
            wanted = min(CLAIM_CHUNK, limit - handled)
            moment = now or utcnow()
            rows = _claim(session_factory, moment, wanted, policy, lane)
            if rows:
                working.add(lane)
            for row in rows:
                await _deliver_one(session_factory, channels, row, policy, report, moment, fixed_now=now)
            handled += len(rows)
            if len(rows) == wanted:
                continue
            working.discard(lane)
            if not working:
                return
            await asyncio.sleep(IDLE_POLL_SECONDS)
    finally:
        working.discard(lane)


def _claim(
    session_factory: Callable[[], AbstractContextManager[Session]],
    moment: datetime,
    limit: int,
    policy: RetryPolicy,
    lane: _Lane,
) -> list[OutboxMessage]:
    with session_factory() as session:
        try:
            return claim_due(
                session,
                now=moment,
                limit=limit,
                lease_seconds=policy.lease_seconds,
                channel=lane.channel,
                other_than=lane.other_than,
            )
        except OperationalError as exc:
            if not is_lock_conflict(exc):
                raise
            session.rollback()
            return []  # another sender is claiming right now (SQLite): the next round takes the rest


def _still_mine(
    session_factory: Callable[[], AbstractContextManager[Session]],
    row: OutboxMessage,
    policy: RetryPolicy,
    fixed_now: datetime | None,
) -> bool:
    """Renews the claim on ``row`` right before a send: False when another sender has it now."""
    for attempt in range(LOCK_RETRIES):
        with session_factory() as session:
            try:
                return renew_claim(
                    session, row, now=fixed_now or utcnow(), lease_seconds=policy.lease_seconds
                )
            except OperationalError as exc:
                session.rollback()
                if not is_lock_conflict(exc) or attempt == LOCK_RETRIES - 1:
                    raise
        time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
    return False


async def _deliver_one(
    session_factory: Callable[[], AbstractContextManager[Session]],
    channels: Mapping[str, Channel],
    row: OutboxMessage,
    policy: RetryPolicy,
    report: DeliveryReport,
    moment: datetime,
    *,
    fixed_now: datetime | None = None,
) -> None:
    with session_factory() as session:
        opted_out = is_opted_out(session, row.channel, row.resident_id)
    if opted_out and not row.opt_out_confirmation:
        _write(
            session_factory,
            lambda s: _finish(s, row, status="suppressed", error="the resident opted out"),
        )
        report.suppressed += 1
        return
    channel = channels.get(row.channel)

    def part_sent(progress: SendProgress) -> None:
        _write(session_factory, lambda s: _record_progress(s, row.id, progress))
        # Renewed before the next part too: a long message's parts together may outlast one lease.
        if not _still_mine(session_factory, row, policy, fixed_now):
            raise ClaimLost(row.id)

    progress = SendProgress(parts_sent=row.parts_sent, last_id=row.last_part_id, on_part=part_sent)
    try:
        if not _still_mine(session_factory, row, policy, fixed_now):
            raise ClaimLost(row.id)
        if channel is None:
            raise DeliveryError(f"channel {row.channel!r} is not enabled", retryable=True)
        result = await channel.send(as_message(row), progress)
    except ClaimLost:
        # This sender took longer than its lease and another one has the row now: sending it here too
        # would send it twice.
        log.warning("outbox message %s: its lease ran out and another sender has it; not sent here", row.id)
        report.lost += 1
        return
    except RecipientOptedOut as exc:
        reason = f"recipient opted out: {exc}"

        def opt_out(session: Session) -> None:
            mark_opted_out(session, row.channel, row.resident_id)
            _finish(session, row, status="failed", error=reason)

        _write(session_factory, opt_out)
        report.failed += 1
        report.errors.append(mask_contact_details(str(exc)))
        return
    except DeliveryError as exc:
        _retry_or_fail(session_factory, row, policy, report, moment, str(exc), exc.retryable, exc.retry_after)
        return
    except Exception as exc:  # a bug or an unexpected library error: keep the row, retry later
        if unreachable(exc):
            # The database went away mid-send (recording a part): no fault of the send, and nothing can be
            # recorded now. The round ends, the job says so in one line, and the row is tried again once
            # its lease runs out (resuming after the parts recorded).
            raise
        log.exception("sending outbox message %s failed unexpectedly", row.id)
        _retry_or_fail(session_factory, row, policy, report, moment, repr(exc), True, None)
        return
    _write(
        session_factory,
        lambda s: _finish(s, row, status="delivered", provider_message_id=result.provider_message_id),
    )
    report.delivered += 1


def _retry_or_fail(
    session_factory: Callable[[], AbstractContextManager[Session]],
    row: OutboxMessage,
    policy: RetryPolicy,
    report: DeliveryReport,
    moment: datetime,
    error: str,
    retryable: bool,
    retry_after: float | None,
) -> None:
    # For the log: a provider's error may quote the recipient's number ("To number: +1415..., is not a
    # mobile number"); the row keeps it whole.
    report.errors.append(mask_contact_details(error))
    # Counted from this round's clock, so a sender run with an explicit ``now`` backs off from it.
    due = moment + timedelta(seconds=policy.delay(row.attempts, retry_after))
    too_late = due > as_utc(row.created_at) + timedelta(seconds=policy.max_age_seconds)
    if not retryable or row.attempts >= policy.max_attempts or too_late:
        _write(session_factory, lambda s: _finish(s, row, status="failed", error=error))
        report.failed += 1
        return
    _write(
        session_factory,
        lambda s: s.execute(
            update(OutboxMessage)
            .where(_still_claimed(row))
            .values(status="pending", last_error=error, next_attempt_at=due)
        ),
    )
    report.retried += 1


def _record_progress(session: Session, row_id: int | None, progress: SendProgress) -> None:
    """One more part of a message went out: a retry starts after it."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(parts_sent=progress.parts_sent, last_part_id=progress.last_id)
    )


def _finish(
    session: Session,
    row: OutboxMessage,
    *,
    status: OutboxStatus,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Records how a send ended, with one UPDATE (no read first: on SQLite a read-then-write transaction
    can lose its snapshot to a concurrent writer; a plain write waits for its turn instead).

    A delivery is recorded whatever happened meanwhile (it went out: no one may send it again); a failure
    only while this sender's claim stands, so it never overwrites what a sender that took the row over
    recorded."""
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == "delivered":
        values |= {"delivered_at": utcnow(), "provider_message_id": provider_message_id}
        which = col(OutboxMessage.id) == row.id
    else:
        which = _still_claimed(row)
    session.execute(update(OutboxMessage).where(which).values(**values))


def _still_claimed(row: OutboxMessage) -> ColumnElement[bool]:
    """The row, as long as no other sender claimed it since this one did (each claim counts an attempt)."""
    return and_(
        col(OutboxMessage.id) == row.id,
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.attempts) == row.attempts,
    )


def _write(
    session_factory: Callable[[], AbstractContextManager[Session]], work: Callable[[Session], Any]
) -> None:
    """Runs one small write transaction; on SQLite, a writer that lost the race runs it again."""
    for attempt in range(LOCK_RETRIES):
        with session_factory() as session:
            try:
                work(session)
                session.commit()
                return
            except OperationalError as exc:
                session.rollback()
                if not is_lock_conflict(exc) or attempt == LOCK_RETRIES - 1:
                    raise
        time.sleep(random.uniform(0, 0.005 * (attempt + 1)))


def record_delivery_status(
    session: Session, provider_message_id: str, status: str, rank: int, error_code: str | None
) -> bool:
    """Stores a provider's delivery status unless a further one is already known; True when stored."""
    row = session.exec(
        select(OutboxMessage).where(OutboxMessage.provider_message_id == provider_message_id)
    ).first()
    if row is None or rank <= row.delivery_status_rank:
        return False
    row.delivery_status = status
    row.delivery_status_rank = rank
    row.delivery_error = error_code
    session.add(row)
    return True


def sent_to(
    session: Session, channel: str, resident_id: str, *, after_id: int = 0
) -> Sequence[tuple[int, OutboundMessage, datetime]]:
    """Everything delivered to a resident on a channel, oldest first (the local channel lists it)."""
    rows = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.resident_id == resident_id,
            OutboxMessage.status == "delivered",
            col(OutboxMessage.id) > after_id,
        )
        .order_by(col(OutboxMessage.id))
    ).all()
    return [(row.id or 0, as_message(row), as_utc(row.delivered_at or row.created_at)) for row in rows]
