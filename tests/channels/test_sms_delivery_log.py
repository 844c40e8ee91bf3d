"""What the outbox job logs when Twilio refuses a reply names no resident's phone number: Twilio's own error
text quotes it ("To number: +1415..., is not a mobile number"), and it is masked, through the Twilio fake."""

from __future__ import annotations

import asyncio

import pytest

from bot import outbox
from bot.jobs import context, outbox_delivery
from bot.jobs.context import JobContext
from channels.fakes.twilio import FakeTwilio
from channels.messages import OutboundMessage
from tests.conversation.harness import RunningBot

LANDLINE = "+14155550105"


def test_a_refused_send_is_logged_without_the_phone_number(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.runtime.sessions() as session:
        outbox.enqueue(
            session, OutboundMessage(channel="sms", resident_id=LANDLINE, text="Report #12 is closed.")
        )
        session.commit()
    fake.fail_next(400, 21614, f"Unable to create record: To number: {LANDLINE}, is not a mobile number")
    messaging = bot.messaging
    context.install(
        JobContext(
            settings=bot.runtime.settings,
            sessions=bot.runtime.sessions,
            templates=messaging.templates,
            open311=bot.runtime.open311,
            dispatcher=messaging.dispatcher,
            channels=messaging.channels,
        )
    )
    try:
        with caplog.at_level("WARNING", logger="bot.jobs"):
            asyncio.run(outbox_delivery.run())
    finally:
        context.install(None)
    assert "21614" in caplog.text
    assert "is not a mobile number" in caplog.text
    assert "[phone]" in caplog.text
    assert LANDLINE not in caplog.text
    assert LANDLINE.removeprefix("+") not in caplog.text
    [row] = bot.outbox()
    assert row.status == "failed"
