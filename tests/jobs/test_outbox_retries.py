"""With the default settings a reply outlives a provider outage of hours: the outbox keeps trying for a
day, then gives up. PostgreSQL, the real Twilio client against the Twilio fake, the clock passed in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot import outbox
from bot.clock import as_utc
from bot.messaging import Messaging
from bot.outbox import OutboxMessage, enqueue
from bot.runtime import Runtime
from channels.fakes.twilio import FakeTwilio
from channels.messages import OutboundMessage
from tests.support.fakes import sms_on_postgres

pytestmark = pytest.mark.postgres


def _row(runtime: Runtime, row_id: int | None) -> OutboxMessage:
    with runtime.sessions() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()


def _queue(runtime: Runtime, to: str, text: str) -> tuple[int | None, datetime]:
    with runtime.sessions() as session:
        row = enqueue(session, OutboundMessage(channel="sms", resident_id=to, text=text))
        session.commit()
        return row.id, as_utc(row.created_at)


def _send_at(runtime: Runtime, messaging: Messaging, moment: datetime) -> outbox.DeliveryReport:
    policy = messaging.dispatcher.retry_policy  # the defaults of the configuration
    return asyncio.run(outbox.deliver_due(runtime.sessions, messaging.channels, policy=policy, now=moment))


def _tries_while_down(
    runtime: Runtime, messaging: Messaging, twilio: FakeTwilio, row_id: int | None, until: datetime
) -> tuple[OutboxMessage, datetime]:
    """Twilio answers 503 to every try before ``until``; each try runs when it is due. Returns the row and
    when it was last tried."""
    row = _row(runtime, row_id)
    moment = as_utc(row.next_attempt_at)
    while row.status == "pending" and as_utc(row.next_attempt_at) < until:
        moment = as_utc(row.next_attempt_at)
        twilio.fail_next(503, 20503, "Service Unavailable")
        report = _send_at(runtime, messaging, moment)
        assert report.retried + report.failed == 1
        row = _row(runtime, row_id)
    return row, moment


def test_a_reply_outlives_an_outage_of_hours_and_is_given_up_after_a_day(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    """The SRE's finding: with the defaults (8 attempts) a reply was dropped for good after about eleven
    minutes of provider outage, so the resident never got their tracking number."""
    with sms_on_postgres(tmp_path, twilio) as (runtime, messaging):
        row_id, queued = _queue(runtime, "+14155550123", "Filed as #7.")
        row, _ = _tries_while_down(runtime, messaging, twilio, row_id, queued + timedelta(hours=6))
        assert row.status == "pending", row.last_error
        assert _send_at(runtime, messaging, as_utc(row.next_attempt_at)).delivered == 1
        assert [sms.body for sms in twilio.sent_to("+14155550123")] == ["Filed as #7."]

        # An outage that does not end: given up about a day after the reply was queued, not before.
        row_id, queued = _queue(runtime, "+14155550124", "Filed as #8.")
        row, last_try = _tries_while_down(runtime, messaging, twilio, row_id, queued + timedelta(hours=30))
        assert row.status == "failed"
        assert timedelta(hours=22) < last_try - queued <= timedelta(hours=24)
        assert twilio.sent_to("+14155550124") == []
