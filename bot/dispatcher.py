"""Where channels, understanding and the Open311 core meet: inbound message → conversation → replies.

``Dispatcher.handle`` implements ``channels.base.MessageHandler`` with exactly-once semantics:

1. a message already in the inbox (same channel, sender and message id) returns the replies stored with it
   and does nothing else, so a provider's redelivery never files twice nor replies twice; the id counts per
   sender, so two residents' clients that number their messages alike do not collide;
2. media that needs the provider's credentials is fetched through the channel and stored by us, so the
   request's ``media_url`` is our own URL with no provider token in it. A fetch that may work later (the
   provider unreachable, a file not available yet) fails the message (``MediaNotStored``), so its channel
   has it delivered again rather than filed without its photo; one that never will (gone, too large, not
   an image) leaves the photo out with a warning;
3. what the understander will be asked (classification, geocoding: possibly a network call) is worked out
   before the transaction, so the database lock is not held while waiting on it;
4. in ONE transaction: the conversation step (which may file the request through the core or put it on the
   review queue), the new dialogue state, the inbox row with the replies and the outbox rows. Replies a
   channel answers inline (TwiML, the local channel) are written already delivered; the others wait in the
   outbox for ``deliver_due``. Two deliveries of the same message racing each other meet at the inbox's
   unique key: the loser rolls back and returns the winner's replies.

On a channel with a public and a private side (X: mentions and direct messages), what a resident told
privately is answered privately (``OutboundMessage.private``: a DM), also when they ask in public: a report in
progress begun by DM (its question, its filing: the turn is handed to the engine without its public thread),
and STATUS of a report they made by DM or that waits for a person since one; so is a tweet the engine takes as
about such a report (a photo added to it, "another one at ..." filed as its kind), taken again without its
public thread. A public STATUS of public reports stays a public reply.

While the database does not answer, what a channel asks of the dispatcher raises
``channels.base.TemporarilyUnavailable`` (saying why in a line) instead of SQLAlchemy's error: the one signal
every channel recognises, logging one line and having the provider deliver the message again, where each
once logged a full traceback per message. Any other database error stays itself, a fault with its traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot import outbox
from bot.clock import as_utc, utcnow
from bot.conversation import ConversationEngine, DialogueState, PreparedUnderstanding, Turn
from bot.db import SessionFactory
from bot.db_outage import unavailable_while_the_database_is_down
from bot.follows import filed_in_thread
from bot.loop_guard import ReplyLimit
from bot.open311.errors import Open311Error
from bot.open311.media import MediaStore
from bot.resident_commands import ResidentCommand, parse_command, status_question_language
from bot.state import (
    LOCK_RETRIES,
    ConversationRecord,
    InboxRecord,
    Resident,
    get_or_create_resident,
    is_lock_conflict,
    mark_opted_out,
)
from channels.base import Channel, DeliveryError
from channels.messages import MAX_MEDIA_URL_CHARS, InboundMessage, OutboundMessage, clean_text

log = logging.getLogger(__name__)

# A channel with this capability hands the replies to the provider in its webhook response.
INLINE_REPLIES = "inline_replies"
# A channel with this capability has a private side besides its public one (X: direct messages besides
# mentions); its messages say which side they came by in ``metadata["public"]``.
PRIVATE_SIDE = "private"
Side = Literal["public", "private"]
# What a channel puts in ``metadata["notice"]`` for a message it cannot hand over as words, a point or a
# photo (a Telegram edit, a voice note, a button of a question no longer open): the template key the
# resident is answered with instead of a turn.
NOTICES = frozenset({"edited_message", "unreadable_message", "question_closed"})


class Dispatcher:
    def __init__(
        self,
        sessions: SessionFactory,
        engine: ConversationEngine,
        *,
        media: MediaStore | None = None,
        state_ttl: timedelta = timedelta(hours=72),
        retry_policy: outbox.RetryPolicy | None = None,
        reply_limit: ReplyLimit | None = None,
    ) -> None:
        self.sessions = sessions
        self.reply_limit = reply_limit
        self.engine = engine
        self.media = media
        self.state_ttl = state_ttl
        self.retry_policy = retry_policy or outbox.RetryPolicy()
        self.channels: dict[str, Channel] = {}
        # SQLite has one writer at a time. Taking turns on a lock in this process hands the write lock on
        # the moment it is free, where SQLite's busy handler would have the waiters sleep in coarse steps
        # (the p99 of concurrent messages). PostgreSQL writers run side by side.
        bind = sessions.kw.get("bind")
        on_sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._write_turns: AbstractContextManager[object] = threading.Lock() if on_sqlite else nullcontext()

    def attach(self, channels: Mapping[str, Channel]) -> None:
        """The channels replies go out through (they are built with this dispatcher as their handler)."""
        self.channels.update(channels)

    # -- MessageHandler --------------------------------------------------------------------------------

    async def handle(self, message: InboundMessage) -> Sequence[OutboundMessage]:
        with unavailable_while_the_database_is_down():
            return await self._handle_message(message)

    async def _handle_message(self, message: InboundMessage) -> Sequence[OutboundMessage]:
        message = _cleaned(message)
        notice = message.metadata.get("notice")
        if notice in NOTICES:
            return await asyncio.to_thread(self._notice, message, notice)
        if any(attachment.needs_auth for attachment in message.attachments):
            # Fetching media costs a provider round trip: not for a message already handled.
            stored = await asyncio.to_thread(
                self._stored_replies, message.channel, message.resident_id, message.provider_message_id
            )
            if stored is not None:
                return stored
        media_urls = await self._store_media(message)
        return await asyncio.to_thread(self._handle_once, message, media_urls)

    async def give_up(self, message: InboundMessage, reason: str) -> None:
        """``channels.base.KeepsUnhandled``: a message its channel could not get handled in many tries.

        It goes on the review queue with ``reason`` and the resident is told a person will look at it; the
        inbox records it, so a later delivery is not handled again. Photos are not fetched (that may be
        what kept failing): the reason says how many were left out and where the provider holds them.
        """
        with unavailable_while_the_database_is_down():
            await asyncio.to_thread(self._give_up, _cleaned(message), reason)

    # -- what channels ask of the bot besides handling messages ----------------------------------------

    async def record_delivery_status(
        self, channel: str, provider_message_id: str, status: str, rank: int, error_code: str | None
    ) -> bool:
        """A provider's delivery report; kept only if it is further than the one already stored."""

        def record() -> bool:
            with self.sessions() as session:
                stored = outbox.record_delivery_status(session, provider_message_id, status, rank, error_code)
                session.commit()
                return stored

        with unavailable_while_the_database_is_down():
            return await asyncio.to_thread(record)

    async def recipient_opted_out(self, channel: str, resident_id: str) -> None:
        """The provider says the resident opted out at their carrier (Twilio's 21610 in a delivery report):
        nothing more is sent to them until they opt in again, as when a send fails so."""

        def record() -> None:
            with self.sessions() as session:
                mark_opted_out(session, channel, resident_id)
                session.commit()

        with unavailable_while_the_database_is_down():
            await asyncio.to_thread(record)

    async def sent_messages(
        self, channel: str, resident_id: str, after_id: int = 0
    ) -> Sequence[tuple[int, OutboundMessage, datetime]]:
        """Everything delivered to a resident on a channel (the local channel's inbox view)."""

        def read() -> Sequence[tuple[int, OutboundMessage, datetime]]:
            with self.sessions() as session:
                return outbox.sent_to(session, channel, resident_id, after_id=after_id)

        with unavailable_while_the_database_is_down():
            return await asyncio.to_thread(read)

    async def last_question(self, channel: str, resident_id: str) -> OutboundMessage | None:
        """The last message delivered to a resident that is no notice (``NOTICES``), or None when none is
        kept: a notice answers a message without touching the conversation, so the question asked before it
        is still the one open (Telegram judges a button pressed by this)."""
        templates = self.engine.templates
        notices = {templates.render(key, language) for key in NOTICES for language in templates.languages}

        def read() -> OutboundMessage | None:
            with self.sessions() as session:
                delivered = outbox.sent_to(session, channel, resident_id)
            return next((sent for _, sent, _ in reversed(delivered) if sent.text not in notices), None)

        with unavailable_while_the_database_is_down():
            return await asyncio.to_thread(read)

    async def deliver_due(self, *, limit: int = 100) -> outbox.DeliveryReport:
        """Sends what the outbox has due through the attached channels (the outbox job calls this)."""
        return await outbox.deliver_due(self.sessions, self.channels, policy=self.retry_policy, limit=limit)

    # -- inside ----------------------------------------------------------------------------------------

    def _stored_replies(
        self, channel: str, resident_id: str, provider_message_id: str
    ) -> list[OutboundMessage] | None:
        with self.sessions() as session:
            return _stored_replies(session, channel, resident_id, provider_message_id)

    def _handle_once(self, message: InboundMessage, media_urls: tuple[str, ...]) -> list[OutboundMessage]:
        turn = _turn(message, media_urls)
        prepared = self._prepare(turn)
        side = self._side(message)
        username = message.metadata.get("username") or None
        for attempt in range(LOCK_RETRIES):
            with self._write_turns, self.sessions() as session:
                try:
                    replies = self._handle(session, turn, prepared, side, username)
                    session.commit()
                    return replies
                except IntegrityError:
                    session.rollback()
                    stored = self._stored_replies(
                        message.channel, message.resident_id, message.provider_message_id
                    )
                    if stored is not None:
                        return stored  # a concurrent delivery of the same message won
                    if attempt == LOCK_RETRIES - 1:
                        raise
                    # Another message of the same resident created their first rows meanwhile: run
                    # again on top of them.
                except OperationalError as exc:
                    session.rollback()
                    if not is_lock_conflict(exc) or attempt == LOCK_RETRIES - 1:
                        raise
                    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # let the other writer finish
        raise AssertionError("unreachable")

    def _give_up(self, message: InboundMessage, reason: str) -> None:
        left_out = [attachment.url for attachment in message.attachments if attachment.needs_auth]
        if left_out:
            # Where the provider still holds them (no credentials in these URLs), for the person to look.
            count = len(left_out)
            reason = f"{reason} ({count} photo{'s' if count > 1 else ''} not kept: {', '.join(left_out)})"
        with self._write_turns, self.sessions() as session:
            _serialize_residents(session)
            if (
                _stored_replies(session, message.channel, message.resident_id, message.provider_message_id)
                is not None
            ):
                return  # handled after all, or given up already
            resident = get_or_create_resident(session, message.channel, message.resident_id)
            resident.username = message.metadata.get("username") or resident.username
            language = self.engine.templates.language_for(resident.language or message.language_hint)
            self.engine.review_queue.enqueue(
                session,
                channel=message.channel,
                resident_id=message.resident_id,
                provider_message_id=message.provider_message_id,
                reply_to=message.reply_to,
                language=language,
                text=message.text,
                media_urls=[a.url for a in message.attachments if not a.needs_auth],
                reason=reason,
                lat=message.point.lat if message.point else None,
                long=message.point.long if message.point else None,
            )
            reply = OutboundMessage(
                channel=message.channel,
                resident_id=message.resident_id,
                text=self.engine.templates.render("review", language),
                reply_to=message.reply_to,
            )
            outbox.enqueue(session, reply)
            _record_handled(
                session,
                message.channel,
                message.provider_message_id,
                message.resident_id,
                message.text,
                [reply],
            )
            session.commit()

    def _notice(self, message: InboundMessage, key: str) -> list[OutboundMessage]:
        """Answers ``message`` with the template ``key`` (see ``NOTICES``), in the resident's language; the
        conversation is left as it was. Recorded in the inbox, so a redelivery is not answered twice; the
        outbox holds the answer back from a resident who opted out."""
        with self._write_turns, self.sessions() as session:
            _serialize_residents(session)
            stored = _stored_replies(
                session, message.channel, message.resident_id, message.provider_message_id
            )
            if stored is not None:
                return stored
            resident = get_or_create_resident(session, message.channel, message.resident_id)
            language = self.engine.templates.language_for(resident.language or message.language_hint)
            reply = OutboundMessage(
                channel=message.channel,
                resident_id=message.resident_id,
                text=self.engine.templates.render(key, language),
                reply_to=message.reply_to,
            )
            channel = self.channels.get(message.channel)
            inline = channel is not None and INLINE_REPLIES in channel.capabilities
            outbox.enqueue(session, reply, delivered_inline=inline)
            _record_handled(
                session, message.channel, message.provider_message_id, message.resident_id, "", [reply]
            )
            session.commit()
            return [reply]

    def _prepare(self, turn: Turn) -> PreparedUnderstanding:
        """Understanding worked out before the transaction, from the state as it is now (unlocked)."""
        with self.sessions() as session:
            record = session.get(ConversationRecord, (turn.channel, turn.resident_id))
            state = self._state(record)
        return self.engine.prepare(turn, state)

    def _state(self, record: ConversationRecord | None) -> DialogueState:
        if record is not None and as_utc(record.updated_at) > utcnow() - self.state_ttl:
            return DialogueState.from_json(record.state)
        return DialogueState()  # none yet, or too old to pick up again

    def _side(self, message: InboundMessage) -> Side | None:
        """The side of its channel ``message`` came by, on a channel with two (X); None on the others."""
        channel = self.channels.get(message.channel)
        if channel is None or PRIVATE_SIDE not in channel.capabilities:
            return None
        return "public" if message.metadata.get("public") == "true" else "private"

    def _handle(
        self,
        session: Session,
        turn: Turn,
        prepared: PreparedUnderstanding,
        side: Side | None = None,
        username: str | None = None,
    ) -> list[OutboundMessage]:
        _serialize_residents(session)
        stored = _stored_replies(session, turn.channel, turn.resident_id, turn.provider_message_id)
        if stored is not None:
            return stored  # a redelivery: nothing is written
        resident = get_or_create_resident(session, turn.channel, turn.resident_id)
        if username:
            resident.username = username  # the operators' way to the resident when no reply reaches them
        # Locked until commit, so two messages of one resident arriving together (an MMS photo and a
        # text) take turns on the dialogue state instead of one overwriting the other's step.
        record = session.get(ConversationRecord, (turn.channel, turn.resident_id), with_for_update=True)
        state = self._state(record)
        begun_privately = record is not None and record.private and state.in_progress
        privately = side == "public" and (
            begun_privately or self._asks_of_private_report(session, turn, resident)
        )
        if privately:
            # What the turn files or leaves for a person belongs to the private report: no public thread to
            # answer it in, nor its status updates.
            turn = dataclasses.replace(turn, reply_to=None)
        filed_before = (state.last_filed or {}).get("at")
        # A tweet that begins a report (none in progress) may be taken as about the one before it.
        private_last = (
            side == "public"
            and not privately
            and not state.in_progress
            and self._last_report_private(session, turn, state, resident)
        )
        before, last_before = state.to_json(), dict(state.last_filed or {})
        tried = session.begin_nested() if private_last else None
        replies = self.engine.respond(session, turn, state, resident, prepared)
        if tried is not None and self._about_last_report(session, turn, prepared, last_before, state):
            # The engine took the tweet as about the report made by DM (its photo, "another one at ..."): the
            # turn is taken again without its public thread, as one of that private report.
            tried.rollback()
            state = DialogueState.from_json(before)
            turn = dataclasses.replace(turn, reply_to=None)
            privately = begun_privately = True
            replies = self.engine.respond(session, turn, state, resident, prepared)
        elif tried is not None:
            tried.commit()
        if privately:
            replies = [dataclasses.replace(reply, private=True) for reply in replies]
        now = utcnow()
        if record is None:
            record = ConversationRecord(channel=turn.channel, resident_id=turn.resident_id)
        record.state = state.to_json()
        record.private = state.in_progress and (side == "private" or begun_privately)
        record.updated_at = now
        resident.updated_at = now
        session.add(record)
        session.add(resident)
        channel = self.channels.get(turn.channel)
        inline = channel is not None and INLINE_REPLIES in channel.capabilities
        if channel is not None and channel.confirms_opt_out(turn.text):
            # The provider answered this STOP itself (Twilio's keywords); to other words the bot answers.
            replies = [reply for reply in replies if not reply.opt_out_confirmation]
        if self.reply_limit is not None:
            # An automated sender answering every reply must not keep the bot going; a command or a new
            # report is always answered.
            replies = self.reply_limit.apply(
                session,
                turn.channel,
                turn.resident_id,
                turn.provider_message_id,
                turn.text,
                replies,
                now=now,
                always=parse_command(turn.text) is not None
                or (state.last_filed or {}).get("at") != filed_before,
            )
        for reply in replies:
            outbox.enqueue(session, reply, delivered_inline=inline)
        _record_handled(
            session, turn.channel, turn.provider_message_id, turn.resident_id, turn.text, replies, now
        )
        session.flush()
        return replies

    def _asks_of_private_report(self, session: Session, turn: Turn, resident: Resident) -> bool:
        """Whether ``turn`` asks STATUS ("any update?" too) of what the resident told privately: the report
        waiting for a person, or the request named or else their last, when they made it by DM (their
        last is also private when nothing says where they made it)."""
        if not turn.text or turn.media_urls or turn.point is not None:
            return False  # a report, not a question (as the engine reads it)
        command = parse_command(turn.text)
        if command is None and status_question_language(turn.text) is not None:
            command = ResidentCommand("status")
        if command is None or command.name != "status":
            return False
        channel, resident_id = turn.channel, turn.resident_id
        if command.argument is not None:
            return filed_in_thread(session, [command.argument], channel, resident_id) is False
        waiting = self.engine.review_queue.waiting_for(session, channel, resident_id)
        if waiting is not None and waiting.reply_to is None:
            return True
        last = [reference for reference in (resident.last_request_id, resident.last_token) if reference]
        return bool(last) and filed_in_thread(session, last, channel, resident_id) is not True

    def _last_report_private(
        self, session: Session, turn: Turn, state: DialogueState, resident: Resident
    ) -> bool:
        """Whether what the engine may take ``turn`` as about was told privately: the report waiting for a
        person since a DM, or the last report filed lately, when it was made by DM."""
        waiting = self.engine.review_queue.waiting_for(session, turn.channel, turn.resident_id)
        if waiting is not None and waiting.reply_to is None:
            return True
        last = [reference for reference in (resident.last_request_id, resident.last_token) if reference]
        return (
            bool(last)
            and state.last_filed is not None
            and filed_in_thread(session, last, turn.channel, turn.resident_id) is not True
        )

    def _about_last_report(
        self,
        session: Session,
        turn: Turn,
        prepared: PreparedUnderstanding,
        last: Mapping[str, object],
        state: DialogueState,
    ) -> bool:
        """Whether the engine's answer to ``turn`` is about the resident's report before it rather than one of
        its own: its photo added to that report (or to the one waiting for a person), or a report of no kind
        the words say given that report's ("another one at ...")."""
        filed = state.last_filed if (state.last_filed or {}).get("at") != last.get("at") else None
        if turn.media_urls and filed is None and not state.in_progress:
            waiting = self.engine.review_queue.waiting_for(session, turn.channel, turn.resident_id)
            return waiting is None or waiting.provider_message_id != turn.provider_message_id
        service = state.service_code or (filed or {}).get("service_code")
        if service is None or service != last.get("service_code"):
            return False
        said = prepared.understand(turn.text.strip()).prediction if turn.text.strip() else None
        return said is None or said.service_code == "other" or said.confidence < prepared.auto_file_threshold

    async def _store_media(self, message: InboundMessage) -> tuple[str, ...]:
        urls: list[str] = []
        for attachment in message.attachments:
            if not attachment.needs_auth:
                if len(attachment.url) > MAX_MEDIA_URL_CHARS:
                    # The provider's URL, not the resident's doing: the report goes ahead without it.
                    log.warning(
                        "media of %s message %s left out: its URL is longer than %d characters",
                        message.channel,
                        message.provider_message_id,
                        MAX_MEDIA_URL_CHARS,
                    )
                    continue
                urls.append(attachment.url)
                continue
            channel = self.channels.get(message.channel)
            if channel is None or self.media is None:
                log.warning("no way to fetch %s media; the attachment is left out", message.channel)
                continue
            try:
                data, _content_type = await channel.fetch_media(attachment)
                stored = await asyncio.to_thread(self.media.save, data)
            except DeliveryError as exc:
                if exc.retryable:
                    # Telegram or Twilio down for a moment: the message fails, so its channel has it
                    # delivered again (or, after its retries, gives it to a person with the photo noted);
                    # filing it now would lose the photo for good.
                    raise MediaNotStored(
                        f"media of {message.channel} message {message.provider_message_id} could not be "
                        f"fetched yet: {exc}"
                    ) from exc
                self._left_out(message, exc)
                continue
            except Open311Error as exc:  # not an image, too large: no retry changes that
                self._left_out(message, exc)
                continue
            urls.append(self.media.url_for(stored.name))
        return tuple(urls)

    @staticmethod
    def _left_out(message: InboundMessage, error: Exception) -> None:
        # A photo that can never be had (gone, too large, not an image): the report goes ahead without it;
        # nothing of the resident's words is lost.
        log.warning(
            "media of %s message %s left out: %s", message.channel, message.provider_message_id, error
        )


class MediaNotStored(DeliveryError):
    """A message's photo could not be fetched for a reason that may pass (the provider unreachable, a file
    it has not made available yet): the message is not handled, so its channel has it delivered again."""


def _stored_replies(
    session: Session, channel: str, resident_id: str, provider_message_id: str
) -> list[OutboundMessage] | None:
    """The replies to a message already handled: one of this sender's on this channel with this id."""
    record = session.exec(
        select(InboxRecord).where(
            InboxRecord.channel == channel,
            InboxRecord.resident_id == resident_id,
            InboxRecord.provider_message_id == provider_message_id,
        )
    ).first()
    if record is None:
        return None
    return [outbox.message_from_dict(reply) for reply in record.replies]


def _record_handled(
    session: Session,
    channel: str,
    provider_message_id: str,
    resident_id: str,
    text: str,
    replies: Sequence[OutboundMessage],
    received_at: datetime | None = None,
) -> None:
    """Records the provider's message as handled, with its replies: a redelivery gets them, not a new turn."""
    session.add(
        InboxRecord(
            channel=channel,
            provider_message_id=provider_message_id,
            resident_id=resident_id,
            text=text,
            replies=[outbox.message_to_dict(reply) for reply in replies],
            received_at=received_at or utcnow(),
        )
    )


def _serialize_residents(session: Session) -> None:
    """On SQLite, takes the write lock before reading anything (``BEGIN IMMEDIATE``): the driver would
    otherwise read outside any transaction, and two messages of one resident could both start from the
    same dialogue state. PostgreSQL locks the resident's conversation row instead (``FOR UPDATE``)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _cleaned(message: InboundMessage) -> InboundMessage:
    """The message with its text cleaned of control characters (a NUL, an escape sequence), which no
    resident means and the core would refuse in a description."""
    text = clean_text(message.text)
    return message if text == message.text else dataclasses.replace(message, text=text)


def _turn(message: InboundMessage, media_urls: tuple[str, ...]) -> Turn:
    return Turn(
        channel=message.channel,
        resident_id=message.resident_id,
        provider_message_id=message.provider_message_id,
        text=message.text,
        point=message.point,
        media_urls=media_urls,
        reply_to=message.reply_to,
        language_hint=message.language_hint,
        choice_value=message.choice_value,
    )
