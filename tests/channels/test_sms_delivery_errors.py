"""Delivery reports with an error, end to end: Twilio (the fake) calls the signed status callback of a
status update the bot sent through the real twilio client."""

from __future__ import annotations

import pytest

from bot import outbox
from bot.state import Resident
from channels.fakes.twilio import FakeTwilio, SentSms
from channels.messages import OutboundMessage
from tests.channels.conftest import RESIDENT, text
from tests.conversation.harness import RunningBot


def send_update(fake: FakeTwilio, bot: RunningBot, body: str) -> SentSms:
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text=body))
        session.commit()
    assert bot.deliver().delivered == 1
    return fake.sent_to(RESIDENT)[-1]


def opted_out(bot: RunningBot) -> bool:
    with bot.runtime.sessions() as session:
        resident = session.get(Resident, ("sms", RESIDENT))
        return resident is not None and resident.opted_out


def test_a_delivery_report_of_error_21610_opts_the_resident_out(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    # The resident texted STOP to their carrier (Twilio's Messaging Service reports it when delivering):
    # before, the report was stored and the bot went on sending them updates and answers.
    sent = send_update(fake, bot, "Your pothole report is open.")
    with caplog.at_level("WARNING", logger="channels.sms"):
        assert fake.status_callback(sent.sid, "failed", error_code="21610").status_code == 204
    assert f"sms message {sent.sid} failed: Twilio error 21610" in caplog.text
    assert opted_out(bot)
    [row] = bot.outbox()
    assert (row.delivery_status, row.delivery_error) == ("failed", "21610")
    with bot.runtime.sessions() as session:
        outbox.enqueue(session, OutboundMessage(channel="sms", resident_id=RESIDENT, text="It is closed."))
        session.commit()
    assert bot.deliver().delivered == 0
    assert [sms.body for sms in fake.sent_to(RESIDENT)] == ["Your pothole report is open."]
    assert text(fake, bot, "There is another pothole at 4th St and Mission St") == []
    assert "Welcome back" in text(fake, bot, "START")[0]


@pytest.mark.parametrize("code", ["30003", "30005", "30006", "30007"])
def test_undeliverable_reports_are_logged_with_the_message_id_recorded_and_not_retried(
    fake: FakeTwilio, bot: RunningBot, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    sent = send_update(fake, bot, "Your pothole report is open.")
    assert fake.status_callback(sent.sid, "sent").status_code == 204
    with caplog.at_level("WARNING", logger="channels.sms"):
        assert fake.status_callback(sent.sid, "undelivered", error_code=code).status_code == 204
    assert f"sms message {sent.sid} undelivered: Twilio error {code}, " in caplog.text
    [row] = bot.outbox()
    assert (row.delivery_status, row.delivery_error) == ("undelivered", code)
    assert (row.status, row.attempts) == ("delivered", 1)  # handed to Twilio once: nothing to send again
    assert bot.deliver().delivered == 0
    assert len(fake.sent_to(RESIDENT)) == 1
    assert not opted_out(bot)  # only 21610 is an opt-out
