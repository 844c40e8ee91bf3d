"""Any number of outbox senders at once on PostgreSQL never send a message twice: the claim query takes
rows with FOR UPDATE SKIP LOCKED. Counted at the provider (the Twilio fake, through the twilio library)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from bot.outbox import OutboxMessage, enqueue
from channels.fakes.twilio import FakeTwilio
from channels.messages import OutboundMessage
from tests.support.fakes import sms_on_postgres

pytestmark = pytest.mark.postgres

MESSAGES = 120
SENDERS = 4


def test_concurrent_senders_send_every_message_exactly_once(tmp_path: Path, twilio: FakeTwilio) -> None:
    with sms_on_postgres(tmp_path, twilio) as (runtime, messaging):
        with runtime.sessions() as session:
            for number in range(MESSAGES):
                to = f"+1415555{number:04d}"
                enqueue(session, OutboundMessage(channel="sms", resident_id=to, text=f"message {number}"))
            session.commit()

        errors: list[BaseException] = []

        def sender() -> None:
            async def drain() -> None:
                # Small batches, so the senders keep meeting at the claim query.
                while (await messaging.dispatcher.deliver_due(limit=3)).delivered:
                    pass

            try:
                asyncio.run(drain())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []

        sent = Counter((sms.to, sms.body) for sms in twilio.sent)
        assert len(sent) == MESSAGES
        assert max(sent.values()) == 1
        with runtime.sessions() as session:
            statuses = Counter(row.status for row in session.exec(select(OutboxMessage)).all())
        assert statuses == {"delivered": MESSAGES}
