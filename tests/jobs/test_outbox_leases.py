"""A slow or hung SMS provider never makes two workers send the same message: a sender renews its claim on
a row right before sending it, and leaves a row another sender took over once its lease ran out; Twilio
and X calls time out well before a lease does; a slow channel holds up no other channel's replies.
PostgreSQL, the real Twilio client against the Twilio fake, made slow by a proxy in front of it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from bot import outbox
from bot.messaging import Messaging, build_messaging
from bot.outbox import OutboxMessage, RetryPolicy, enqueue
from bot.runtime import Runtime
from channels.base import Channel, DeliveryError, SendResult
from channels.fakes.twilio import FakeTwilio
from channels.messages import OutboundMessage
from channels.sms import SmsChannel
from channels.twitter import TwitterChannel
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_schema
from tests.support.live_server import bound_socket, live_server

pytestmark = pytest.mark.postgres


class SlowProvider:
    """The Twilio fake behind a delay on each message sent (an ASGI wrapper: the fake itself is untouched)."""

    def __init__(self, twilio: FakeTwilio, seconds: float) -> None:
        self.twilio = twilio
        self.seconds = seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/Messages.json"):
            await asyncio.sleep(self.seconds)
        await self.twilio.app(scope, receive, send)


@contextmanager
def slow_twilio(seconds: float) -> Iterator[tuple[FakeTwilio, str]]:
    twilio = FakeTwilio()
    with live_server(SlowProvider(twilio, seconds)) as url:
        twilio.base_url = url
        yield twilio, url


@contextmanager
def sms_deployment(tmp_path: Path, twilio: FakeTwilio, url: str) -> Iterator[tuple[Runtime, Messaging]]:
    with fresh_postgres_schema() as database:
        settings = make_settings(
            tmp_path / "data",
            database,
            twilio={
                "enabled": True,
                "account_sid": twilio.account_sid,
                "auth_token": twilio.auth_token,
                "from_number": "+14155550100",
                "api_base_url": url,
            },
        )
        runtime = Runtime.build(settings)
        try:
            yield runtime, build_messaging(runtime)
        finally:
            runtime.close()


def _pending(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            session.exec(select(func.count()).where(col(OutboxMessage.status) == "pending")).one()  # type: ignore[call-overload]
        )


def test_a_slow_provider_does_not_make_two_workers_send_the_same_message(tmp_path: Path) -> None:
    """The SRE's finding: one worker claimed all 70 status updates under one lease and sent them slowly;
    once the lease ran out the other worker sent the rest too, and 52 residents got theirs twice."""
    messages, lease, delay = 14, 1.0, 0.3
    with slow_twilio(delay) as (twilio, url), sms_deployment(tmp_path, twilio, url) as (runtime, messaging):
        with runtime.sessions() as session:
            for number in range(messages):
                to = f"+1415555{number:04d}"
                enqueue(session, OutboundMessage(channel="sms", resident_id=to, text=f"update {number}"))
            session.commit()
        policy = RetryPolicy(lease_seconds=lease)
        errors: list[BaseException] = []

        def worker() -> None:
            async def drain() -> None:
                deadline = time.monotonic() + 60
                while _pending(runtime) and time.monotonic() < deadline:
                    await outbox.deliver_due(runtime.sessions, messaging.channels, policy=policy)
                    await asyncio.sleep(0.05)

            try:
                asyncio.run(drain())
            except BaseException as exc:
                errors.append(exc)

        first = threading.Thread(target=worker)
        first.start()
        time.sleep(0.2)  # the first worker claims before the second starts, as in the SRE's run
        second = threading.Thread(target=worker)
        second.start()
        first.join(90)
        second.join(90)
        assert errors == []

        sent = Counter(sms.to for sms in twilio.sent)
        assert len(sent) == messages
        assert [to for to, times in sent.items() if times > 1] == []
        with runtime.sessions() as session:
            statuses = Counter(row.status for row in session.exec(select(OutboxMessage)).all())
        assert statuses == {"delivered": messages}


def test_a_hung_provider_times_out_well_before_the_lease(tmp_path: Path) -> None:
    """A provider that never answers (SIGSTOPped) held the sender past its lease: then every message was
    sent twice. The Twilio client now gives up after its timeout and the message is retried later."""
    with slow_twilio(3.0) as (twilio, url):
        channel = SmsChannel(
            lambda message: None,  # type: ignore[arg-type,return-value]
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            from_number="+14155550100",
            public_url="http://bot.invalid",
            api_base_url=url,
            send_timeout_seconds=0.5,
        )
        started = time.monotonic()
        with pytest.raises(DeliveryError) as raised:
            asyncio.run(channel.send_text("+14155550123", "filed as #12"))
        assert raised.value.retryable
        assert time.monotonic() - started < 5
    assert SmsChannel.__init__.__kwdefaults__["send_timeout_seconds"] < RetryPolicy().lease_seconds / 2


class RecordingChannel(Channel):
    """A fast provider (standing in for Telegram): records when each message was sent."""

    name = "telegram"

    def __init__(self) -> None:
        super().__init__(lambda message: None)  # type: ignore[arg-type,return-value]
        self.sent_at: list[float] = []

    @classmethod
    def from_config(cls, config: Any, handler: Any, *, public_url: str) -> RecordingChannel:
        raise NotImplementedError

    async def send_text(self, resident_id: str, text: str, *, reply_to: str | None = None) -> SendResult:
        self.sent_at.append(time.monotonic())
        return SendResult(provider_message_id=f"tg-{len(self.sent_at)}")


def test_a_slow_channel_does_not_hold_up_another_channels_replies(tmp_path: Path) -> None:
    """The SRE's finding: a Telegram "filed as #N" waited 1 min 51 s behind a slow SMS batch. Now each
    channel is sent in its own lane, and a reply queued while the SMS batch is still going out is sent
    at once."""
    updates, delay = 12, 0.4
    with slow_twilio(delay) as (twilio, url), sms_deployment(tmp_path, twilio, url) as (runtime, messaging):
        with runtime.sessions() as session:
            for number in range(updates):
                to = f"+1415555{number:04d}"
                enqueue(session, OutboundMessage(channel="sms", resident_id=to, text=f"update {number}"))
            session.commit()
        telegram = RecordingChannel()
        channels = {"sms": messaging.channels["sms"], "telegram": telegram}
        sender = threading.Thread(target=lambda: asyncio.run(outbox.deliver_due(runtime.sessions, channels)))
        started = time.monotonic()
        sender.start()
        time.sleep(1.0)  # the SMS batch is being sent
        with runtime.sessions() as session:
            enqueue(session, OutboundMessage(channel="telegram", resident_id="42", text="Filed as #7."))
            session.commit()
        queued = time.monotonic()
        sender.join(60)
        assert not sender.is_alive()
        sms_done = time.monotonic() - started
        assert len(twilio.sent) == updates
        assert sms_done > updates * delay  # the SMS batch really was slow
        assert len(telegram.sent_at) == 1
        assert telegram.sent_at[0] - queued < 2.0, "the Telegram reply waited behind the SMS batch"


def test_a_hung_x_api_times_out_well_before_the_lease() -> None:
    """tweepy passes no timeout: an X API that never answers held the sender past its lease as well."""
    hung = bound_socket("127.0.0.1")
    hung.listen(8)  # connections are taken (the backlog) and never answered
    try:
        channel = TwitterChannel(
            lambda message: None,  # type: ignore[arg-type,return-value]
            user_id="1000",
            consumer_key="consumer-key",
            consumer_secret="consumer-secret",
            access_token="access-token",
            access_token_secret="access-token-secret",
            api_base_url=f"http://127.0.0.1:{hung.getsockname()[1]}",
            send_timeout_seconds=0.5,
        )
        reply = OutboundMessage(channel="twitter", resident_id="2000", text="Filed as #7.", reply_to="3000")
        started = time.monotonic()
        with pytest.raises(DeliveryError) as raised:
            asyncio.run(channel.send(reply))
        assert raised.value.retryable
        assert time.monotonic() - started < 5
    finally:
        hung.close()
    assert TwitterChannel.__init__.__kwdefaults__["send_timeout_seconds"] < RetryPolicy().lease_seconds / 2
