"""The clean-up job forgets abandoned dialogue state and nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.clock import utcnow
from bot.db import make_engine, make_session_factory, migrate
from bot.jobs.cleanup import forget_stale_conversations
from bot.state import ConversationRecord, Resident


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
