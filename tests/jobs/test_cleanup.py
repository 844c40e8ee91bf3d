"""The clean-up job forgets abandoned dialogue state, and the words of messages older than the retention
(keeping what exactly-once needs)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.clock import utcnow
from bot.config import ConfigError, Settings, load_settings
from bot.db import make_engine, make_session_factory, migrate
from bot.jobs import cleanup, context
from bot.jobs.cleanup import BlankedText, blank_old_message_text, forget_stale_conversations
from bot.jobs.part import build_job_runner
from bot.outbox import OutboxMessage
from bot.state import ConversationRecord, InboxRecord, Resident
from tests.conversation.harness import CLEAR_REPORT, filed_id, running_bot


def test_only_conversations_older_than_the_ttl_are_forgotten(tmp_path: Path, database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    now = utcnow()
    try:
        with sessions() as session:
            for resident, age in (("old", timedelta(hours=80)), ("fresh", timedelta(hours=2))):
                session.add(Resident(channel="local", resident_id=resident, last_request_id="7"))
                session.add(
                    ConversationRecord(
                        channel="local",
                        resident_id=resident,
                        state={"stage": "location"},
                        updated_at=now - age,
                    )
                )
            session.commit()

        assert forget_stale_conversations(sessions, timedelta(hours=72), now=now) == 1
        assert forget_stale_conversations(sessions, timedelta(hours=72), now=now) == 0
        with sessions() as session:
            left = [row.resident_id for row in session.exec(select(ConversationRecord)).all()]
            residents = sorted(row.resident_id for row in session.exec(select(Resident)).all())
        assert left == ["fresh"]
        assert residents == ["fresh", "old"]  # who they are and what they filed is kept
    finally:
        engine.dispose()


def test_words_older_than_the_retention_are_blanked_and_the_ids_kept(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    now = utcnow()
    old, fresh = now - timedelta(days=91), now - timedelta(days=2)
    reply = {"channel": "sms", "resident_id": "+14155550142", "text": "Is it at 2132 Harrison St?"}
    try:
        with sessions() as session:
            for message_id, when in (("SM-old", old), ("SM-fresh", fresh)):
                session.add(
                    InboxRecord(
                        channel="sms",
                        resident_id="+14155550142",
                        provider_message_id=message_id,
                        text="My name is Robert Jones, phone (415) 555-0142",
                        replies=[reply],
                        received_at=when,
                    )
                )
            for status, when in (("delivered", old), ("failed", old), ("pending", old), ("delivered", fresh)):
                session.add(
                    OutboxMessage(
                        channel="sms",
                        resident_id="+14155550142",
                        text="Crew will call you at 415-555-0142",
                        choices=[{"label": "2132 Harrison St", "value": "yes"}],
                        media_urls=["http://bot/open311/v2/media/abc.jpg"],
                        status=status,
                        last_error="21211: invalid 'To' +14155550142" if status == "failed" else None,
                        dedupe_key=f"status:1:{status}:{when.isoformat()}",
                        provider_message_id=f"SM{status}{when.day}",
                        created_at=when,
                    )
                )
            session.commit()

        blanked = blank_old_message_text(sessions, timedelta(days=90), now=now)
        assert (blanked.inbox, blanked.outbox) == (1, 2)  # the pending reply still has to go out
        assert blank_old_message_text(sessions, timedelta(days=90), now=now) == BlankedText(0, 0)
        with sessions() as session:
            inbox = {row.provider_message_id: row for row in session.exec(select(InboxRecord)).all()}
            outbox = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        assert (inbox["SM-old"].text, inbox["SM-old"].replies) == ("", [])
        assert inbox["SM-fresh"].text.startswith("My name is")
        assert inbox["SM-fresh"].replies == [reply]
        words = [(row.status, row.text, row.choices, row.media_urls, row.last_error) for row in outbox]
        assert words[:2] == [("delivered", "", [], [], None), ("failed", "", [], [], None)]
        assert [text for _, text, *_ in words[2:]] == ["Crew will call you at 415-555-0142"] * 2
        # What exactly-once needs stays: ids, statuses, dedupe keys, provider ids.
        assert all(row.dedupe_key and row.provider_message_id for row in outbox)
    finally:
        engine.dispose()


def test_an_old_message_delivered_again_after_its_words_are_gone_is_still_handled_once(
    settings: Settings,
) -> None:
    with running_bot(settings, retention={"message_text_days": 30}) as bot:
        alice = bot.resident("alice")
        filed_id(alice.say(CLEAR_REPORT, id="msg-1")[0]["text"])
        with bot.runtime.sessions() as session:
            long_ago = utcnow() - timedelta(days=31)
            session.execute(update(InboxRecord).values(received_at=long_ago))
            session.execute(update(OutboxMessage).values(created_at=long_ago))
            session.commit()
        runner = build_job_runner(bot.runtime, bot.messaging)
        context.install(runner.context)
        try:
            asyncio.run(cleanup.run())  # the clean-up job as the scheduler runs it
        finally:
            context.install(None)
        with bot.runtime.sessions() as session:
            assert [(r.text, r.replies) for r in session.exec(select(InboxRecord)).all()] == [("", [])]
        assert [row.text for row in bot.outbox()] == [""]

        assert alice.say(CLEAR_REPORT, id="msg-1") == []  # recognised: answered with nothing
        assert bot.request_count() == 1
        assert len(bot.outbox()) == 1
        another = "There is a huge pothole in the road at 4th St and Mission St"
        filed_id(alice.say(another, id="msg-2")[0]["text"])  # a new message is handled as ever


@pytest.mark.parametrize("days", [0.5, -1])
def test_a_retention_shorter_than_a_redelivery_is_refused(tmp_path: Path, days: float) -> None:
    with pytest.raises(ConfigError, match=r"retention\.message_text_days"):
        load_settings(None, data_dir=tmp_path, retention={"message_text_days": days})
    assert load_settings(None, data_dir=tmp_path, retention={"message_text_days": 0}).retention
