"""Telegram through python-telegram-bot against the local fake Bot API, over real HTTP.

The first tests hold the channel to its contract with Telegram (what the library receives and sends, in
webhook and polling mode); the end-to-end tests at the bottom run the whole bot (the app, the dispatcher,
the outbox, the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from bot import outbox
from bot.clock import utcnow
from bot.config import Settings
from bot.cursors import ChannelCursor
from channels.base import ChannelRefused, DeliveryError, FailureCounts, RecipientOptedOut
from channels.fakes.telegram import SECRET_HEADER, FakeTelegram
from channels.messages import Choice, GeoPoint, InboundMessage, OutboundMessage
from channels.telegram import TelegramChannel
from tests.channels.serving import Recorder, serve_channel
from tests.conftest import make_settings
from tests.conversation.harness import CLEAR_REPORT, FILED, RunningBot, running_bot
from tests.conversation.harness import filed_id as filed_id_in
from tests.support.live_server import bound_socket, live_server, socket_url

PAYLOADS = Path(__file__).parent.parent / "payloads"
SECRET = "s3cret-Token_1"
CHAT = 424242
OTHER_CHAT = 515151


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram()
    with live_server(telegram.app) as url:
        telegram.server_url = url
        yield telegram


class MemoryCursors:
    """A CursorStore in a dict, for the channel-contract tests (the end-to-end ones use the database's)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value


def make_channel(
    fake: FakeTelegram,
    handler: Recorder,
    mode: str,
    public_url: str = "",
    cursors: MemoryCursors | None = None,
) -> TelegramChannel:
    channel = TelegramChannel(
        handler,
        token=fake.token,
        mode=mode,  # type: ignore[arg-type]
        secret_token=SECRET,
        webhook_url=f"{public_url}/webhooks/telegram" if public_url else None,
        base_url=fake.base_url(),
        base_file_url=fake.base_file_url(),
        poll_timeout_seconds=1,
        cursor_store=cursors or MemoryCursors(),
    )
    handler.channel = channel
    return channel


def echo(message: InboundMessage) -> OutboundMessage:
    """Answers every message; "which?" gets buttons, as a "which of these?" question does."""
    asks = message.text == "which?"
    choices = (Choice("Pothole", "pothole"), Choice("Graffiti", "graffiti")) if asks else ()
    return OutboundMessage(
        channel="telegram",
        resident_id=message.resident_id,
        text=f"heard: {message.text or message.point}",
        choices=choices,
        reply_to=message.reply_to,
    )


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_text_location_photo_commands_and_buttons(fake: FakeTelegram, mode: str) -> None:
    recorder = Recorder(reply=echo)
    sock = bound_socket()
    channel = make_channel(fake, recorder, mode, socket_url(sock))
    with serve_channel(channel, sock=sock) as url:
        if mode == "webhook":
            assert fake.webhook_url == f"{url}/webhooks/telegram"
        else:
            assert fake.webhook_url is None

        text = fake.send_text(CHAT, "Huge pothole at 5th and Market")
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 1)
        reply = fake.sent_to(CHAT)[0]
        assert reply["text"] == "heard: Huge pothole at 5th and Market"
        # The reply quotes the resident's message.
        assert reply["reply_parameters"]["message_id"] == text["message"]["message_id"]

        fake.send_location(CHAT, 37.7793, -122.4193)
        fake.send_photo(CHAT, b"\xff\xd8full-size-photo", caption="graffiti on the wall", thumbnail=b"tiny")
        fake.send_text(CHAT, "/status@city311_bot 101004263")
        fake.send_text(CHAT, "/start")
        fake.send_text(CHAT, "which?")
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 6)

        question = fake.bot_messages(CHAT)[-1]
        buttons = question["reply_markup"]["inline_keyboard"]
        assert [[b["text"] for b in row] for row in buttons] == [["Pothole"], ["Graffiti"]]
        press = fake.press_button(CHAT, question["message_id"], "graffiti")
        fake.wait_for(lambda: len(recorder.messages()) == 7)

        # The outbox sender may run on another thread's loop: the send still goes out.
        later = OutboundMessage(channel="telegram", resident_id=str(CHAT), text="Request 42 is closed.")
        sent = asyncio.run(channel.send(later))
        assert fake.sent_to(CHAT)[-1]["text"] == "Request 42 is closed."
        assert sent.provider_message_id == str(fake.sent_to(CHAT)[-1]["message_id"])

    received = recorder.messages()
    assert [m.provider_message_id for m in received[:1]] == [f"update:{text['update_id']}"]
    assert all(m.channel == "telegram" and m.resident_id == str(CHAT) for m in received)
    location = received[1]
    assert (location.point.lat, location.point.long) == (37.7793, -122.4193)  # type: ignore[union-attr]
    assert location.text == ""
    photo = received[2]
    assert photo.text == "graffiti on the wall"
    (attachment,) = photo.attachments
    assert attachment.needs_auth
    assert fake.token not in attachment.url  # the file URL holding the token never leaves the bot
    assert [m.text for m in received[3:6]] == ["STATUS 101004263", "START", "which?"]
    button = received[6]
    assert (button.choice_value, button.text) == ("graffiti", "Graffiti")
    assert button.provider_message_id == f"update:{press['update_id']}"
    # The button press is acknowledged and the question no longer offers buttons.
    assert [c.params["callback_query_id"] for c in fake.sent if c.method == "answerCallbackQuery"] == [
        press["callback_query"]["id"]
    ]
    edited = fake.bot_messages(CHAT)[-3]
    assert edited["message_id"] == question["message_id"]
    assert "reply_markup" not in edited
    assert edited["text"].endswith("→ Graffiti")


async def test_photos_are_fetched_through_the_library(fake: FakeTelegram) -> None:
    channel = make_channel(fake, Recorder(), "polling")
    update = fake.send_photo(CHAT, b"\xff\xd8the-big-one", thumbnail=b"small")
    await channel.application.initialize()
    try:
        # The conversion the update handler runs, then the download it leaves to the dispatcher.
        inbound = await channel._to_inbound(Update.de_json(update, channel.application.bot))
        assert inbound is not None
        content, content_type = await channel.fetch_media(inbound.attachments[0])
    finally:
        await channel.application.shutdown()
    assert (content, content_type) == (b"\xff\xd8the-big-one", "image/jpeg")


def test_recorded_updates_become_the_engines_messages(fake: FakeTelegram) -> None:
    recorder = Recorder()
    sock = bound_socket()
    channel = make_channel(fake, recorder, "webhook", socket_url(sock))
    names = ("text", "command", "location", "photo", "callback_query")
    with serve_channel(channel, sock=sock) as url:
        for name in names:
            payload = json.loads((PAYLOADS / f"telegram_{name}_update.json").read_text())
            response = httpx.post(f"{url}/webhooks/telegram", json=payload, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200, (name, response.text)
    text, command, location, photo, button = recorder.messages()
    assert all(m.resident_id == "5512345678" for m in recorder.messages())
    # The phone's language counts only where there are no words to detect the language from.
    assert [m.language_hint for m in recorder.messages()] == [None, "es", "es", None, "es"]
    assert text.metadata["app_language"] == "es"
    assert [m.provider_message_id for m in recorder.messages()] == [
        f"update:84511030{n}" for n in range(1, 6)
    ]
    assert (text.text, text.reply_to) == ("Hay un bache enorme en la calle 24 y Mission", "1201")
    assert command.text == "STATUS 101004263"
    assert location.point == GeoPoint(lat=37.752254, long=-122.418466)
    assert photo.text == "Grafiti en la pared de la biblioteca"
    assert [a.url for a in photo.attachments] == ["telegram-file:AgACAgEAAxkBAAIBPGdTx-large"]  # the largest
    assert (button.choice_value, button.text, button.reply_to) == ("graffiti", "Grafiti", None)


def test_wrong_or_missing_secret_token_is_refused(fake: FakeTelegram) -> None:
    recorder = Recorder(reply=echo)
    sock = bound_socket()
    channel = make_channel(fake, recorder, "webhook", socket_url(sock))
    with serve_channel(channel, sock=sock) as url:
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": CHAT, "type": "private"},
                "text": "fake report",
            },
        }
        wrong = httpx.post(f"{url}/webhooks/telegram", json=update, headers={SECRET_HEADER: "guess"})
        missing = httpx.post(f"{url}/webhooks/telegram", json=update)
        right = httpx.post(f"{url}/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET})
    assert (wrong.status_code, missing.status_code, right.status_code) == (403, 403, 200)
    assert [m.text for m in recorder.messages()] == ["fake report"]


def test_an_update_that_failed_is_delivered_again_and_handled(fake: FakeTelegram) -> None:
    recorder = Recorder(reply=echo)
    recorder.fail_next = 1
    sock = bound_socket()
    channel = make_channel(fake, recorder, "webhook", socket_url(sock))
    with serve_channel(channel, sock=sock):
        update = fake.send_text(CHAT, "streetlight out on Valencia")
        assert fake.webhook_statuses == [500]  # so Telegram keeps the update
        assert fake.pending_update_count == 1
        fake.redeliver_pending()
    assert fake.webhook_statuses == [500, 200]
    assert [m.provider_message_id for m in recorder.messages()] == [f"update:{update['update_id']}"]


def test_polling_retries_an_update_that_failed_and_waits_out_flood_control(fake: FakeTelegram) -> None:
    recorder, cursors = Recorder(reply=echo), MemoryCursors()
    recorder.fail_next = 1  # the database is down for the first try
    channel = make_channel(fake, recorder, "polling", cursors=cursors)
    channel.reconnect_seconds = channel.retry_seconds = 0.1
    fake.rate_limit("getUpdates", retry_after=1)
    with serve_channel(channel):
        update = fake.send_text(CHAT, "streetlight out on Valencia")
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 1)
    # Not acknowledged after the failure: asked for again (no offset yet), handled, then its id saved.
    assert [m.provider_message_id for m in recorder.messages()] == [f"update:{update['update_id']}"]
    assert cursors.values == {channel.cursor_name: str(update["update_id"])}
    offsets = fake.get_updates_offsets
    assert offsets.count(0) >= 2
    assert offsets[-1] == update["update_id"] + 1


async def test_flood_control_and_blocked_residents_become_delivery_errors(fake: FakeTelegram) -> None:
    channel = make_channel(fake, Recorder(), "polling")
    message = OutboundMessage(channel="telegram", resident_id=str(CHAT), text="Your request 42 is closed.")
    await channel.application.initialize()
    try:
        fake.rate_limit("sendMessage", retry_after=7)
        with pytest.raises(DeliveryError) as flood:
            await channel.send(message)
        assert flood.value.retryable
        assert flood.value.retry_after == 7
        result = await channel.send(message)  # after the wait, the same message goes through
        assert result.provider_message_id == str(fake.bot_messages(CHAT)[-1]["message_id"])

        fake.block(CHAT)
        with pytest.raises(DeliveryError) as blocked:
            await channel.send(message)
        assert not blocked.value.retryable
        assert not isinstance(blocked.value, RecipientOptedOut)  # a block is no opt-out (below)
    finally:
        await channel.application.shutdown()
    assert [p["text"] for p in fake.sent_to(CHAT)] == ["Your request 42 is closed."]


async def test_long_replies_are_split_and_unusable_buttons_become_numbered_lines(fake: FakeTelegram) -> None:
    channel = make_channel(fake, Recorder(), "polling")
    long_text = " ".join(["word"] * 1500)  # 7,499 characters: two messages
    too_long_value = "x" * 65  # beyond Telegram's 64-byte callback_data
    await channel.application.initialize()
    try:
        await channel.send(OutboundMessage(channel="telegram", resident_id=str(CHAT), text=long_text))
        await channel.send(
            OutboundMessage(
                channel="telegram",
                resident_id=str(CHAT),
                text="Which one?",
                choices=(Choice("Pothole", too_long_value), Choice("Graffiti", "graffiti")),
            )
        )
    finally:
        await channel.application.shutdown()
    sent = fake.sent_to(CHAT)
    assert [len(p["text"]) <= 4096 for p in sent] == [True, True, True]
    assert " ".join(p["text"] for p in sent[:2]) == long_text
    assert sent[2]["text"] == "Which one?\n\n1. Pothole\n2. Graffiti"
    assert "reply_markup" not in sent[2]


def test_polling_across_a_restart_neither_misses_nor_rereads(fake: FakeTelegram) -> None:
    before, after, cursors = Recorder(), Recorder(), MemoryCursors()
    with serve_channel(make_channel(fake, before, "polling", cursors=cursors)):
        fake.send_text(CHAT, "Streetlight out on Valencia")
        fake.wait_for(lambda: len(before.messages()) == 1)
    fake.send_text(CHAT, "Also a pothole on 16th")  # while the bot is down
    with serve_channel(make_channel(fake, after, "polling", cursors=cursors)):
        fake.wait_for(lambda: len(after.messages()) == 1)
        fake.send_text(CHAT, "Thanks!")
        fake.wait_for(lambda: len(after.messages()) == 2)
    assert [m.text for m in before.messages()] == ["Streetlight out on Valencia"]
    assert [m.text for m in after.messages()] == ["Also a pothole on 16th", "Thanks!"]


class NeedsItsPhotos(Recorder):
    """Like ``Recorder``, but a message's photos are fetched through the channel first (as the dispatcher
    does) and a photo that cannot be had fails the message: a file the fake withholds makes its update
    fail for real, through the library and the fake's getFile."""

    async def handle(self, message: InboundMessage) -> Sequence[OutboundMessage]:
        assert self.channel is not None
        for attachment in message.attachments:
            await self.channel.fetch_media(attachment)
        return await super().handle(message)


class KeepsForAPerson(NeedsItsPhotos):
    """A handler that also keeps what the channel gave up on (``channels.base.KeepsUnhandled``)."""

    def __init__(self, reply: Callable[[InboundMessage], OutboundMessage | None] | None = None) -> None:
        super().__init__(reply)
        self.given_up: list[tuple[InboundMessage, str]] = []
        self.keeping_fails = 0  # how many more give_up calls fail, as when the database is down

    async def give_up(self, message: InboundMessage, reason: str) -> None:
        if self.keeping_fails:
            self.keeping_fails -= 1
            raise RuntimeError("the database is down")
        self.given_up.append((message, reason))


def photo_file_id(update: dict[str, Any]) -> str:
    """The file id of the largest size of a photo update (the one the bot fetches)."""
    file_id: str = update["message"]["photo"][-1]["file_id"]
    return file_id


def assert_given_up_logged(
    caplog: pytest.LogCaptureFixture, fake: FakeTelegram, update_id: int, *, tries: int, cause: str
) -> None:
    """One ERROR line says the update was given up, after how many tries and why; the token is nowhere."""
    (given_up,) = [r for r in caplog.records if "given up" in r.getMessage()]
    assert given_up.levelname == "ERROR"
    assert f"update {update_id} given up after {tries} tries" in given_up.getMessage()
    assert cause in given_up.getMessage()
    assert fake.token not in caplog.text


def fast_retries(channel: TelegramChannel, *, max_attempts: int = 1000) -> TelegramChannel:
    channel.retry_seconds = 0.05
    channel.pending_poll_seconds = 0.05
    channel.max_attempts = max_attempts
    return channel


def test_polling_a_failing_update_is_retried_on_its_own_while_later_ones_go_ahead(fake: FakeTelegram) -> None:
    recorder, cursors = NeedsItsPhotos(reply=echo), MemoryCursors()
    photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library")
    fake.withhold_file(photo_file_id(photo))
    first = fake.send_text(OTHER_CHAT, "streetlight out on Valencia")
    channel = fast_retries(make_channel(fake, recorder, "polling", cursors=cursors))
    with serve_channel(channel):
        fake.wait_for(lambda: len(fake.sent_to(OTHER_CHAT)) == 1)
        # The photo keeps failing; a message sent meanwhile is answered all the same.
        fake.wait_for(lambda: fake.file_requests(photo_file_id(photo)) >= 3)
        last = fake.send_text(OTHER_CHAT, "and a pothole on 16th")
        fake.wait_for(lambda: len(fake.sent_to(OTHER_CHAT)) == 2)
        fake.wait_for(lambda: fake.file_requests(photo_file_id(photo)) >= 5)
        # Nothing is acknowledged past the photo: a restart now would try it again.
        assert channel.cursor_name not in cursors.values
        assert [m.text for m in recorder.messages()] == [
            "streetlight out on Valencia",
            "and a pothole on 16th",
        ]

        fake.serve_file(photo_file_id(photo))
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 1)
        fake.wait_for(lambda: cursors.values.get(channel.cursor_name) == str(last["update_id"]))
    # Each update was handed over once: the later ones were not handed over again while the photo waited.
    assert [m.provider_message_id for m in recorder.messages()] == [
        f"update:{u['update_id']}" for u in (first, last, photo)
    ]
    assert fake.sent_to(CHAT)[0]["text"] == "heard: graffiti on the library"


def test_polling_gives_up_a_failing_update_and_moves_on(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    recorder, cursors = NeedsItsPhotos(reply=echo), MemoryCursors()  # nowhere to keep it: logged only
    photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library")
    fake.withhold_file(photo_file_id(photo))
    later = fake.send_text(OTHER_CHAT, "streetlight out on Valencia")
    channel = fast_retries(make_channel(fake, recorder, "polling", cursors=cursors), max_attempts=3)
    with caplog.at_level("ERROR", logger="channels.telegram"), serve_channel(channel):
        fake.wait_for(lambda: cursors.values.get(channel.cursor_name) == str(later["update_id"]))
        fake.wait_for(lambda: fake.pending_update_count == 0)  # acknowledged to Telegram
    assert fake.file_requests(photo_file_id(photo)) == 3
    assert [m.text for m in recorder.messages()] == ["streetlight out on Valencia"]
    assert_given_up_logged(caplog, fake, photo["update_id"], tries=3, cause="temporarily unavailable")


def test_polling_behind_a_full_window_a_failing_update_is_given_up_at_once(fake: FakeTelegram) -> None:
    # getUpdates hands out 100 updates from the failing one: the 101st comes only once it is settled.
    keeper, cursors = KeepsForAPerson(), MemoryCursors()
    photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library")
    fake.withhold_file(photo_file_id(photo))
    for number in range(99):
        fake.send_text(OTHER_CHAT, f"message {number}")
    channel = fast_retries(make_channel(fake, keeper, "polling", cursors=cursors))
    with serve_channel(channel):
        fake.wait_for(lambda: len(keeper.messages()) == 99)
        beyond = fake.send_text(OTHER_CHAT, "message 99")
        fake.wait_for(lambda: len(keeper.messages()) == 100)
        fake.wait_for(lambda: cursors.values.get(channel.cursor_name) == str(beyond["update_id"]))
    ((message, reason),) = keeper.given_up
    assert (message.provider_message_id, message.text) == (
        f"update:{photo['update_id']}",
        "graffiti on the library",
    )
    assert reason == "the bot could not handle this message"


def test_webhook_gives_up_an_update_that_keeps_failing_and_the_ones_behind_it_come_through(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = KeepsForAPerson(reply=echo)
    sock = bound_socket()
    channel = make_channel(fake, keeper, "webhook", socket_url(sock))
    channel.max_attempts = 3
    with caplog.at_level("WARNING", logger="channels.telegram"), serve_channel(channel, sock=sock):
        photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library", withhold=None)
        later = fake.send_text(OTHER_CHAT, "streetlight out on Valencia")
        # Refused, so Telegram tries it again later and holds the next update back behind it.
        assert fake.webhook_statuses == [500]
        assert fake.pending_update_count == 2
        fake.redeliver_pending()
        assert fake.webhook_statuses == [500, 500]
        assert keeper.messages() == []
        fake.redeliver_pending()  # the third try: given up and accepted, then the next one comes through
        assert fake.webhook_statuses == [500, 500, 200, 200]
        assert fake.pending_update_count == 0
    assert fake.file_requests(photo_file_id(photo)) == 3
    ((message, reason),) = keeper.given_up
    assert (message.provider_message_id, message.text, message.resident_id) == (
        f"update:{photo['update_id']}",
        "graffiti on the library",
        str(CHAT),
    )
    assert reason == "the bot could not handle this message"
    assert [m.provider_message_id for m in keeper.messages()] == [f"update:{later['update_id']}"]
    assert [m["text"] for m in fake.sent_to(OTHER_CHAT)] == ["heard: streetlight out on Valencia"]
    retried = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [m for m in retried if "Telegram delivers it again" in m] == [
        f"telegram update {photo['update_id']} failed (try {n} of 3); Telegram delivers it again"
        for n in (1, 2)
    ]
    assert_given_up_logged(caplog, fake, photo["update_id"], tries=3, cause="temporarily unavailable")


def test_webhook_an_update_that_fails_once_is_handled_when_delivered_again(fake: FakeTelegram) -> None:
    keeper = KeepsForAPerson(reply=echo)
    sock = bound_socket()
    channel = make_channel(fake, keeper, "webhook", socket_url(sock))
    channel.max_attempts = 2  # a second failure would give it up
    with serve_channel(channel, sock=sock):
        photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library", withhold=1)
        assert fake.webhook_statuses == [500]
        fake.redeliver_pending()
        assert fake.webhook_statuses == [500, 200]
        # Handled, its count is forgotten: failing on a later delivery is a first failure again.
        fake.withhold_file(photo_file_id(photo))
        fake.deliver(photo)
        assert fake.webhook_statuses == [500, 200, 500]
    assert keeper.given_up == []
    assert [m.provider_message_id for m in keeper.messages()] == [f"update:{photo['update_id']}"]
    assert [m["text"] for m in fake.sent_to(CHAT)] == ["heard: graffiti on the library"]


def test_webhook_an_update_that_cannot_be_kept_is_not_given_up(fake: FakeTelegram) -> None:
    keeper = KeepsForAPerson(reply=echo)
    keeper.keeping_fails = 1
    sock = bound_socket()
    channel = make_channel(fake, keeper, "webhook", socket_url(sock))
    channel.max_attempts = 2
    with serve_channel(channel, sock=sock):
        photo = fake.send_photo(CHAT, b"\xff\xd8graffiti", caption="graffiti on the library", withhold=None)
        fake.redeliver_pending()  # at the bound, but the review queue cannot take it: Telegram keeps it
        assert fake.webhook_statuses == [500, 500]
        assert (keeper.given_up, fake.pending_update_count) == ([], 1)
        fake.redeliver_pending()
        assert fake.webhook_statuses == [500, 500, 200]
    assert [m.provider_message_id for m, _ in keeper.given_up] == [f"update:{photo['update_id']}"]
    assert keeper.messages() == []


def test_webhook_failure_counts_forget_the_oldest_beyond_their_limit() -> None:
    # An update settled by another worker never comes back here: memory must not grow with them.
    counts = FailureCounts(limit=2)
    seen = [counts.failed(update_id) for update_id in (1, 2, 1, 3, 1, 2)]
    # 1 kept failing and is remembered (3 tries); 2 was the oldest when 3 came, so it counts from 1 again.
    assert seen == [1, 1, 2, 1, 3, 1]


def test_the_bot_token_stays_out_of_the_logs(fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    # httpx logs every request's URL at INFO (a worker logs at INFO), and a Bot API URL carries the token.
    recorder = NeedsItsPhotos(reply=echo)
    channel = make_channel(fake, recorder, "polling")
    with caplog.at_level("INFO"), serve_channel(channel):
        fake.send_photo(CHAT, b"\xff\xd8photo", caption="graffiti on the library")
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 1)
    logged = caplog.text
    assert "/getUpdates" in logged
    assert "/file/bot<token>/photos/" in logged  # the photo's download
    assert fake.token not in logged
    assert quote(fake.token, safe="") not in logged  # as a file URL carries it


def test_telegram_down_at_start_up_does_not_stop_the_app_and_connects_later(fake: FakeTelegram) -> None:
    recorder = Recorder(reply=echo)
    sock = bound_socket()
    channel = make_channel(fake, recorder, "webhook", socket_url(sock))
    channel.reconnect_seconds = 0.1
    fake.outage("getMe", times=3)
    with serve_channel(channel, sock=sock) as url:
        assert fake.webhook_url is None  # the app is up; the channel is still trying
        fake.wait_for(lambda: fake.webhook_url == f"{url}/webhooks/telegram")
        fake.send_text(CHAT, "Broken streetlight on Mission")
        fake.wait_for(lambda: len(fake.sent_to(CHAT)) == 1)
    assert [m.text for m in recorder.messages()] == ["Broken streetlight on Mission"]


def test_webhook_mode_refuses_to_start_without_a_usable_secret_token(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="secret_token is required"):
        TelegramChannel(Recorder(), token=fake.token, mode="webhook", secret_token=None)
    with pytest.raises(ValueError, match="secret_token must be"):
        TelegramChannel(Recorder(), token=fake.token, mode="webhook", secret_token="has spaces & symbols")


async def test_a_webhook_telegram_refuses_is_a_start_up_error(fake: FakeTelegram) -> None:
    channel = make_channel(fake, Recorder(), "webhook", "ftp://not-a-web-address")
    with pytest.raises(ChannelRefused, match=r"(?i)server.public_url.*https url"):
        await channel.start()
    await channel.stop()


async def test_a_wrong_token_is_a_start_up_error_that_does_not_print_it(fake: FakeTelegram) -> None:
    # python-telegram-bot's InvalidToken quotes the token, and start-up errors go to the log with their
    # traceback: the error now names the setting, and carries no exception that holds the token.
    wrong = fake.token.split(":")[0] + ":not-the-right-one"  # telegram.token mistyped
    channel = TelegramChannel(
        Recorder(),
        token=wrong,
        mode="polling",
        base_url=fake.base_url(),
        base_file_url=fake.base_file_url(),
        cursor_store=MemoryCursors(),
    )
    with pytest.raises(ChannelRefused, match=r"telegram\.token was rejected") as refused:
        await channel.start()
    await channel.stop()
    shown = "".join(traceback.format_exception(refused.value))
    assert wrong not in shown
    assert "not-the-right-one" not in shown


# -- end to end: the whole bot (app, dispatcher, outbox, database) behind Telegram --------------------------


@pytest.fixture
def settings(tmp_path: Path, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The whole bot on SQLite: the exactly-once machinery on both databases is the dispatcher's own tests'.
    monkeypatch.delenv("OPEN311_BOT_CONFIG", raising=False)
    (tmp_path / "data").mkdir()
    return make_settings(tmp_path / "data", sqlite_database_url)


@contextlib.contextmanager
def telegram_bot(settings: Settings, fake: FakeTelegram, mode: str, **overrides: Any) -> Iterator[RunningBot]:
    telegram = {
        "enabled": True,
        "token": fake.token,
        "secret_token": SECRET,
        "mode": mode,
        "base_url": fake.base_url(),
        "base_file_url": fake.base_file_url(),
        "poll_timeout_seconds": 1,
    }
    with running_bot(settings, telegram=telegram, **overrides) as bot:
        yield bot


def exchange(bot: RunningBot, fake: FakeTelegram, act: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """Does what a resident does, waits until the bot has handled it, runs the outbox sender once and
    returns what the bot then sent to the chat."""
    handled, sent = bot.inbox_count(), len(fake.sent_to(CHAT))
    act()
    fake.wait_for(lambda: bot.inbox_count() > handled)
    bot.deliver()
    return fake.sent_to(CHAT)[sent:]


def filed_id(messages: list[dict[str, Any]]) -> str:
    return filed_id_in(" ".join(m["text"] for m in messages))


def test_a_resident_who_blocked_the_bot_and_writes_again_is_answered(
    settings: Settings, fake: FakeTelegram
) -> None:
    # Before: the failed send marked the resident opted out, and their next report, after unblocking,
    # was dropped without a reply (only START, which they had no reason to send, undid it).
    with telegram_bot(settings, fake, "polling") as bot:
        first = filed_id(exchange(bot, fake, lambda: fake.send_text(CHAT, CLEAR_REPORT)))
        fake.block(CHAT)
        with bot.runtime.sessions() as session:
            update = OutboundMessage(
                channel="telegram", resident_id=str(CHAT), text=f"Report #{first} is closed."
            )
            outbox.enqueue(session, update)
            session.commit()
        assert bot.deliver().failed == 1
        fake.unblock(CHAT)
        again = exchange(
            bot, fake, lambda: fake.send_text(CHAT, "There is a huge pothole at 9th St and Mission St")
        )
        assert "filed as #" in " ".join(m["text"] for m in again)


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_reports_by_text_location_and_photo_end_to_end(
    settings: Settings, fake: FakeTelegram, mode: str
) -> None:
    with telegram_bot(settings, fake, mode) as bot:
        # Text: filed at once, the reply quoting the resident's message.
        update: dict[str, Any] = {}

        def report() -> dict[str, Any]:
            update.update(fake.send_text(CHAT, CLEAR_REPORT))
            return update

        replies = exchange(bot, fake, report)
        first = filed_id(replies)
        assert replies[0]["reply_parameters"]["message_id"] == update["message"]["message_id"]
        request = bot.request(first)
        assert (request["description"], request["service_code"]) == (CLEAR_REPORT, "pothole")
        assert bot.runtime.open311.get_request(first).channel == "telegram"

        # Telegram delivers the same update again: nothing new is filed or sent.
        requests_before, sent_before = bot.request_count(), len(fake.sent_to(CHAT))
        fake.deliver(update)
        exchange(bot, fake, lambda: fake.send_text(CHAT, "/help"))  # handled after the redelivery
        assert bot.request_count() == requests_before
        assert len(fake.sent_to(CHAT)) == sent_before + 1  # the help text only

        # A shared location answers "where?" with the exact GPS point.
        assert (
            "Where is it?"
            in exchange(bot, fake, lambda: fake.send_text(CHAT, "There is a big pothole in the road"))[0][
                "text"
            ]
        )
        located = filed_id(exchange(bot, fake, lambda: fake.send_location(CHAT, 37.7793, -122.4193)))
        request = bot.request(located)
        assert (request["lat"], request["long"]) == pytest.approx((37.7793, -122.4193))

        # A photo: fetched through the library, stored by us and served from our own URL; sent right after
        # a report without one, it is that report's photo.
        photo = b"\xff\xd8\xff\xe0" + b"JFIF-pothole-photo" * 50
        [added] = exchange(bot, fake, lambda: fake.send_photo(CHAT, photo))
        assert added["text"] == f"Thanks, the photo is added to report #{located}."
        media_url = bot.request(located)["media_url"]
        assert media_url.startswith(bot.url)
        assert fake.token not in media_url
        assert httpx.get(media_url).content == photo

        # /status is the engine's STATUS command.
        status = exchange(bot, fake, lambda: fake.send_text(CHAT, f"/status {first}"))
        assert f"Report #{first} (Pothole) is open" in status[0]["text"]

        # STOP is answered once (Telegram has no carrier confirmation), then nothing is sent until START.
        [stopped] = exchange(bot, fake, lambda: fake.send_text(CHAT, "STOP"))
        assert "START" in stopped["text"]
        assert exchange(bot, fake, lambda: fake.send_text(CHAT, f"/status {first}")) == []
    # Nothing the bot stored or sent carries the bot token.
    assert all(fake.token not in str(m.text) + str(m.media_urls) for m in bot.outbox())


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_which_of_these_buttons_end_to_end(settings: Settings, fake: FakeTelegram, mode: str) -> None:
    # No report is sure enough to file alone: every one asks "what kind of problem?" with buttons.
    unsure = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}
    with telegram_bot(settings, fake, mode, **unsure) as bot:
        (question,) = exchange(bot, fake, lambda: fake.send_text(CHAT, CLEAR_REPORT))
        assert "What kind of problem is it?" in question["text"]
        buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[-1]["text"] == "Something else"
        pothole = next(b for b in buttons if b["text"] == "Pothole")

        replies = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], pothole["callback_data"])
        )
        request_id = filed_id(replies)
        assert bot.request(request_id)["service_code"] == "pothole"
        assert [c.method for c in fake.sent if c.method == "answerCallbackQuery"] == ["answerCallbackQuery"]
        assert "reply_markup" not in fake.bot_messages(CHAT)[0]  # the buttons cannot be pressed twice

        # "Something else" puts the report before an operator, who sees which channel it came from.
        (question,) = exchange(bot, fake, lambda: fake.send_text(CHAT, CLEAR_REPORT))
        other = question["reply_markup"]["inline_keyboard"][-1][0]
        (reply,) = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], other["callback_data"])
        )
        assert "A person will look at your report" in reply["text"]
        (item,) = bot.review_items()
        assert (item.channel, item.resident_id, item.text) == ("telegram", str(CHAT), CLEAR_REPORT)


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_confirming_a_location_with_buttons_end_to_end(
    settings: Settings, fake: FakeTelegram, mode: str
) -> None:
    with telegram_bot(settings, fake, mode) as bot:
        # "Valenica" is corrected to VALENCIA ST: plausible, not certain, so the bot asks.
        report = "There is a huge pothole in the road at Valenica St and 16th St"
        (question,) = exchange(bot, fake, lambda: fake.send_text(CHAT, report))
        assert question["text"] == "Is it at VALENCIA ST & 16TH ST, San Francisco, CA?"
        buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
        assert [b["text"] for b in buttons] == ["Yes", "No"]
        assert bot.request_count() == 0

        replies = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], buttons[0]["callback_data"])
        )
        request = bot.request(filed_id(replies))
        assert (request["address"], request["description"]) == (
            "VALENCIA ST & 16TH ST, San Francisco, CA",
            report,
        )
        assert [c.method for c in fake.sent if c.method == "answerCallbackQuery"] == ["answerCallbackQuery"]
        # The question now shows the answer and has no buttons left to press.
        (shown,) = [m for m in fake.bot_messages(CHAT) if m["message_id"] == question["message_id"]]
        assert shown["text"].endswith("→ Yes")
        assert "reply_markup" not in shown


def test_a_long_message_flood_controlled_partway_is_resumed_after_the_chunks_sent(
    settings: Settings, fake: FakeTelegram
) -> None:
    # A ~4,700-character rejection reason is two messages; Telegram answers 429 to the second. Before, the
    # outbox's retry sent the 4,093-character first chunk again.
    reason = " ".join(f"The place you gave, number {n}, is outside the city." for n in range(90))
    with telegram_bot(settings, fake, "webhook") as bot:
        with bot.runtime.sessions() as session:
            outbox.enqueue(session, OutboundMessage(channel="telegram", resident_id=str(CHAT), text=reason))
            session.commit()
        fake.rate_limit("sendMessage", retry_after=1, after=1)
        assert bot.deliver().retried == 1
        [first] = fake.sent_to(CHAT)
        [row] = bot.outbox()
        assert (row.parts_sent, row.last_part_id) == (1, str(first["message_id"]))
        later = utcnow() + timedelta(seconds=10)
        report = asyncio.run(outbox.deliver_due(bot.runtime.sessions, bot.messaging.channels, now=later))
        assert report.delivered == 1
        sent = fake.sent_to(CHAT)
        assert len(sent) == 2
        assert " ".join(m["text"] for m in sent) == reason
        [row] = bot.outbox()
        assert (row.status, row.provider_message_id) == (
            "delivered",
            str(fake.bot_messages(CHAT)[-1]["message_id"]),
        )


GROUP = -1001234567890


def test_in_a_group_each_member_is_their_own_conversation(settings: Settings, fake: FakeTelegram) -> None:
    # Before, a group's conversation was keyed on the chat: user 48's place finished user 49's report, one
    # request held both users' words and "@city311_bot", and its status update went to the whole group.
    jobs = {"enabled": True, "scheduler": "always", "notify_seconds": 0.2, "outbox_seconds": 0.2}
    with telegram_bot(settings, fake, "webhook", jobs=jobs) as bot:

        def sent() -> list[dict[str, Any]]:
            return fake.sent_to(GROUP)

        report = fake.send_text(GROUP, "@city311_bot broken streetlight", from_id=49)
        fake.wait_for(lambda: len(sent()) == 1)
        assert "Where is it?" in sent()[0]["text"]
        assert sent()[0]["reply_parameters"]["message_id"] == report["message"]["message_id"]

        other = fake.send_text(GROUP, "@city311_bot at 24th St and Folsom St", from_id=48)
        fake.wait_for(lambda: len(sent()) == 2)
        assert sent()[1]["reply_parameters"]["message_id"] == other["message"]["message_id"]
        assert bot.request_count() == 0  # 48's place is 48's own report's, not 49's

        # Answering the bot's question with Telegram's "Reply" (no mention needed, as with privacy mode on).
        place = fake.send_text(GROUP, "24th St and Folsom St", from_id=49, reply_to=sent()[0]["message_id"])
        fake.wait_for(lambda: len(sent()) == 3)
        filed = sent()[2]
        assert filed["reply_parameters"]["message_id"] == place["message"]["message_id"]
        match = re.search(r"filed as #(\d+) \(Streetlight\)", filed["text"])
        assert match, filed["text"]
        request = bot.request(match.group(1))
        assert request["description"] == "broken streetlight"
        assert request["service_code"] == "streetlight"
        assert bot.runtime.open311.get_request(request["service_request_id"]).channel == "telegram"

        bot.runtime.open311.update_status(
            request["service_request_id"], "closed", "Bulb replaced.", actor="crew"
        )
        fake.wait_for(lambda: len(sent()) == 4, timeout=20)
        update = sent()[3]
        # To the group, under the reporter's own message: not to the chat as a whole.
        assert update["reply_parameters"]["message_id"] in (
            report["message"]["message_id"],
            place["message"]["message_id"],
        )
        assert "Bulb replaced." in update["text"]
        assert [m.resident_id for m in bot.outbox()][:1] == [f"{GROUP}:49"]


def test_a_status_update_follows_a_group_upgraded_to_a_supergroup(
    settings: Settings, fake: FakeTelegram
) -> None:
    # Before, the update failed for good: Telegram refuses the old group's id once it is a supergroup.
    basic_group, supergroup = -412345678, -1009876543210
    jobs = {"enabled": True, "scheduler": "always", "notify_seconds": 0.2, "outbox_seconds": 0.2}
    with telegram_bot(settings, fake, "webhook", jobs=jobs) as bot:
        fake.send_text(basic_group, f"@city311_bot {CLEAR_REPORT}", from_id=49)
        fake.wait_for(lambda: len(fake.sent_to(basic_group)) == 1)
        filed = filed_id(fake.sent_to(basic_group))

        fake.migrate(basic_group, supergroup)
        for note in ("Crew on the way.", "Pothole filled."):
            bot.runtime.open311.update_status(
                filed, "closed" if "filled" in note else "open", note, actor="crew"
            )
        fake.wait_for(lambda: len(fake.sent_to(supergroup)) == 2, timeout=20)
        assert "Crew on the way." in fake.sent_to(supergroup)[0]["text"]
        assert "Pothole filled." in fake.sent_to(supergroup)[1]["text"]
        fake.wait_for(lambda: [row.status for row in bot.outbox()] == ["delivered"] * 3)
    # The old id was tried once: the move is remembered for the second update.
    assert len([c for c in fake.sent if str(c.params.get("chat_id")) == str(basic_group)]) == 1


class DiesBeforeSaving:
    """A cursor store the process dies at: the update was handled, its update_id never saved."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, name: str) -> str | None:
        value: str | None = self.store.get(name)
        return value

    def set(self, name: str, value: str) -> None:
        raise RuntimeError("the process died before acknowledging the update")


def test_polling_a_crash_before_acknowledging_handles_the_update_exactly_once(
    settings: Settings, fake: FakeTelegram
) -> None:
    with telegram_bot(settings, fake, "polling") as bot:
        channel = bot.messaging.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        channel.cursor_store = DiesBeforeSaving(channel.cursor_store)
        update = fake.send_text(CHAT, CLEAR_REPORT)
        fake.wait_for(lambda: bot.inbox_count() == 1)  # filed and committed with its reply in the outbox
        assert bot.request_count() == 1
    # The app is gone before anything acknowledged the update: Telegram still holds it.
    assert fake.pending_update_count == 1
    assert fake.sent_to(CHAT) == []

    with telegram_bot(settings, fake, "polling") as bot:
        fake.wait_for(lambda: fake.pending_update_count == 0)  # handed out again, and now acknowledged
        fake.wait_for(lambda: _saved_cursor(bot) == update["update_id"])
        bot.deliver()
        assert bot.request_count() == 1
        assert bot.inbox_count() == 1
        (reply,) = fake.sent_to(CHAT)
        filed_id([reply])


def test_polling_a_restart_after_acknowledging_rereads_nothing(
    settings: Settings, fake: FakeTelegram
) -> None:
    with telegram_bot(settings, fake, "polling") as bot:
        update = fake.send_text(CHAT, CLEAR_REPORT)
        fake.wait_for(lambda: _saved_cursor(bot) == update["update_id"])
        bot.deliver()
    asked_before = len(fake.get_updates_offsets)

    with telegram_bot(settings, fake, "polling") as bot:
        fake.wait_for(lambda: len(fake.get_updates_offsets) > asked_before)
        # The restarted poller asks for what comes after the saved update, not for what Telegram still has.
        assert fake.get_updates_offsets[asked_before] == update["update_id"] + 1
        help_replies = exchange(bot, fake, lambda: fake.send_text(CHAT, "/help"))
        assert bot.request_count() == 1
        assert bot.inbox_count() == 2  # the report once, then the help command
    assert len(fake.sent_to(CHAT)) == 1 + len(help_replies)


def telegram_channel(bot: RunningBot) -> TelegramChannel:
    channel = bot.messaging.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


def break_photo_storage(settings: Settings) -> Path:
    """A file where the photo directory should be: storing a resident's photo fails (OSError), a real
    fault the dispatcher does not catch, so the photo's update fails until the directory is back."""
    media = settings.data_dir / "media"
    media.write_bytes(b"")
    return media


def test_polling_a_failing_photo_holds_no_one_back_and_a_restart_loses_and_repeats_nothing(
    settings: Settings, fake: FakeTelegram
) -> None:
    media = break_photo_storage(settings)
    with telegram_bot(settings, fake, "polling") as bot:
        fast_retries(telegram_channel(bot))
        photo = fake.send_photo(CHAT, b"\xff\xd8\xff\xe0" + b"JFIF-pothole" * 50, caption=CLEAR_REPORT)
        other = fake.send_text(OTHER_CHAT, CLEAR_REPORT)
        fake.wait_for(lambda: bot.inbox_count() == 1)  # the later report is filed meanwhile
        bot.deliver()
        (answered,) = fake.sent_to(OTHER_CHAT)
        other_request = filed_id([answered])
        fake.wait_for(lambda: fake.file_requests(photo_file_id(photo)) >= 3)  # the photo keeps failing
        assert bot.inbox_count() == 1
        assert _saved_cursor(bot) is None  # nothing acknowledged past the photo
    assert fake.pending_update_count == 2  # Telegram still holds both

    media.unlink()  # the disk is fixed; the bot restarts
    with telegram_bot(settings, fake, "polling") as bot:
        fake.wait_for(lambda: _saved_cursor(bot) == other["update_id"])
        fake.wait_for(lambda: fake.pending_update_count == 0)
        bot.deliver()
        # The photo's report is filed with its photo; the later one, handed out again, is recognised.
        (photo_reply,) = fake.sent_to(CHAT)
        with_photo = bot.request(filed_id([photo_reply]))
        assert httpx.get(with_photo["media_url"]).content.startswith(b"\xff\xd8\xff\xe0JFIF-pothole")
        assert bot.request_count() == 2
        assert bot.inbox_count() == 2
        assert fake.sent_to(OTHER_CHAT) == [answered]
        assert with_photo["service_request_id"] != other_request


def test_webhook_a_photo_telegram_withholds_once_fails_the_update_and_is_filed_when_delivered_again(
    settings: Settings, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    # getFile answers 400 "temporarily unavailable" once. Before, the webhook answered 200 (Telegram never
    # delivered it again) and the report was filed without its photo.
    photo = b"\xff\xd8\xff\xe0" + b"JFIF-pothole" * 50
    with caplog.at_level("WARNING"), telegram_bot(settings, fake, "webhook") as bot:
        update = fake.send_photo(CHAT, photo, caption=CLEAR_REPORT, withhold=1)
        assert fake.webhook_statuses == [500]  # Telegram keeps it
        assert (bot.inbox_count(), bot.request_count()) == (0, 0)
        fake.redeliver_pending()
        assert fake.webhook_statuses == [500, 200]
        bot.deliver()
        request = bot.request(filed_id(fake.sent_to(CHAT)))
        assert httpx.get(request["media_url"]).content == photo
        assert fake.file_requests(photo_file_id(update)) == 2
    assert "left out" not in caplog.text


def test_polling_a_photo_telegram_withholds_once_is_tried_again_and_filed_with_it(
    settings: Settings, fake: FakeTelegram
) -> None:
    photo = b"\xff\xd8\xff\xe0" + b"JFIF-pothole" * 50
    with telegram_bot(settings, fake, "polling") as bot:
        fast_retries(telegram_channel(bot))
        update = fake.send_photo(CHAT, photo, caption=CLEAR_REPORT, withhold=1)
        fake.wait_for(lambda: _saved_cursor(bot) == update["update_id"])
        bot.deliver()
        request = bot.request(filed_id(fake.sent_to(CHAT)))
        assert httpx.get(request["media_url"]).content == photo
        assert fake.file_requests(photo_file_id(update)) == 2


def test_webhook_a_photo_telegram_keeps_withholding_goes_to_a_person_with_the_file_noted(
    settings: Settings, fake: FakeTelegram
) -> None:
    with telegram_bot(settings, fake, "webhook") as bot:
        telegram_channel(bot).max_attempts = 2
        photo = fake.send_photo(CHAT, b"\xff\xd8\xff\xe0" + b"JFIF" * 50, caption=CLEAR_REPORT, withhold=None)
        fake.redeliver_pending()
        assert fake.webhook_statuses == [500, 200]
        bot.deliver()
        (item,) = bot.review_items()
        assert item.reason == (
            f"the bot could not handle this message (1 photo not kept: telegram-file:{photo_file_id(photo)})"
        )
        assert bot.request_count() == 0
        (told,) = fake.sent_to(CHAT)
        assert "A person will look at your report" in told["text"]


def given_up_for_review(
    bot: RunningBot, fake: FakeTelegram, photo: dict[str, Any], caption: str
) -> dict[str, Any]:
    """After the outbox runs: the photo's update, given up, is one review item (with its caption, its update
    and the message to answer under) and the resident was told a person will look; returns that reply."""
    bot.deliver()
    (item,) = bot.review_items()
    assert (item.channel, item.resident_id, item.text) == ("telegram", str(CHAT), caption)
    assert item.provider_message_id == f"update:{photo['update_id']}"
    assert item.reason == (
        f"the bot could not handle this message (1 photo not kept: telegram-file:{photo_file_id(photo)})"
    )
    assert item.reply_to == str(photo["message"]["message_id"])
    (told,) = fake.sent_to(CHAT)
    assert "A person will look at your report" in told["text"]
    return told


def test_polling_an_update_that_keeps_failing_goes_to_the_review_queue(
    settings: Settings, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    break_photo_storage(settings)  # and it stays broken
    caption = "Graffiti all over the library wall"
    with caplog.at_level("ERROR", logger="channels.telegram"), telegram_bot(settings, fake, "polling") as bot:
        fast_retries(telegram_channel(bot), max_attempts=3)
        photo = fake.send_photo(CHAT, b"\xff\xd8\xff\xe0" + b"JFIF-graffiti" * 50, caption=caption)
        fake.wait_for(lambda: _saved_cursor(bot) == photo["update_id"])
        told = given_up_for_review(bot, fake, photo, caption)
        assert fake.file_requests(photo_file_id(photo)) == 3

        # Delivered once more (as after a crash before acknowledging): recognised, nothing new.
        fake.deliver(photo)
        help_replies = exchange(bot, fake, lambda: fake.send_text(CHAT, "/help"))
        assert len(bot.review_items()) == 1
        assert fake.sent_to(CHAT) == [told, *help_replies]
        assert bot.request_count() == 0
    assert_given_up_logged(caplog, fake, photo["update_id"], tries=3, cause="FileExistsError")


def test_webhook_an_update_that_keeps_failing_goes_to_the_review_queue_and_the_next_ones_follow(
    settings: Settings, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    break_photo_storage(settings)  # and it stays broken
    caption = "Graffiti all over the library wall"
    with caplog.at_level("ERROR", logger="channels.telegram"), telegram_bot(settings, fake, "webhook") as bot:
        telegram_channel(bot).max_attempts = 3
        photo = fake.send_photo(CHAT, b"\xff\xd8\xff\xe0" + b"JFIF-graffiti" * 50, caption=caption)
        fake.send_text(OTHER_CHAT, CLEAR_REPORT)
        assert fake.webhook_statuses == [500]
        assert bot.inbox_count() == 0  # the other resident's report waits behind the photo
        fake.redeliver_pending()
        fake.redeliver_pending()  # the third try gives the photo up; the report behind it is filed
        assert fake.webhook_statuses == [500, 500, 200, 200]
        told = given_up_for_review(bot, fake, photo, caption)
        (answered,) = fake.sent_to(OTHER_CHAT)
        filed_id([answered])

        # Delivered once more (another worker was slow to answer, say): recognised, nothing new.
        fake.deliver(photo)
        assert fake.webhook_statuses[-1] == 200
        help_replies = exchange(bot, fake, lambda: fake.send_text(CHAT, "/help"))
        assert len(bot.review_items()) == 1
        assert fake.sent_to(CHAT) == [told, *help_replies]
        assert fake.sent_to(OTHER_CHAT) == [answered]
        assert bot.request_count() == 1
    assert_given_up_logged(caplog, fake, photo["update_id"], tries=3, cause="FileExistsError")


def _saved_cursor(bot: RunningBot) -> int | None:
    channel = bot.messaging.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    with bot.runtime.sessions() as session:
        row = session.get(ChannelCursor, channel.cursor_name)
        return int(row.value) if row is not None else None


def test_a_forged_webhook_changes_nothing(settings: Settings, fake: FakeTelegram) -> None:
    with telegram_bot(settings, fake, "webhook") as bot:
        update = {
            "update_id": 7,
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": {"id": CHAT, "type": "private"},
                "from": {"id": CHAT, "is_bot": False, "first_name": "Mallory"},
                "text": CLEAR_REPORT,
            },
        }
        response = bot.client.post(
            "/webhooks/telegram", json=update, headers={SECRET_HEADER: "not-the-secret"}
        )
        assert response.status_code == 403
        assert bot.inbox_count() == 0
        assert bot.request_count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[1,2]",
        b'"an update"',
        b"null",
        b"not json",
        b"[" * 100_000,  # too deep for the JSON parser: was a RecursionError, a 500
        b'{"update_id": 9}',
        b'{"update_id": "nine", "message": 5}',
        b'{"update_id": 9, "message": [1]}',
        b'{"update_id": 9, "message": {"message_id": 1, "date": 1700000000, "chat": [1]}}',
        b'{"update_id": 9, "callback_query": "pressed"}',
    ],
)
def test_a_signed_webhook_that_is_not_an_update_is_refused_with_400(
    settings: Settings, fake: FakeTelegram, body: bytes
) -> None:
    # Before, a JSON array gave 500 (AttributeError: 'list' object has no attribute 'get'), so Telegram
    # would have delivered it again and again.
    with telegram_bot(settings, fake, "webhook") as bot:
        headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
        response = bot.client.post("/webhooks/telegram", content=body, headers=headers)
        assert response.status_code in (200, 400), response.text
        if body != b'{"update_id": 9}':  # an update with nothing in it is fine, and ignored
            assert response.status_code == 400, response.text
        assert (bot.inbox_count(), bot.request_count()) == (0, 0)


def test_the_fake_plays_residents_over_http_for_demos(settings: Settings, fake: FakeTelegram) -> None:
    unsure = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}
    with (
        telegram_bot(settings, fake, "webhook", **unsure) as bot,
        httpx.Client(base_url=fake.server_url) as demo,
    ):
        assert demo.post("/fake/messages", json={"chat_id": CHAT, "text": CLEAR_REPORT}).status_code == 200
        bot.deliver()
        (question,) = demo.get(f"/fake/chats/{CHAT}").json()["messages"]
        pothole = next(
            b for row in question["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "Pothole"
        )
        # The bot answers the button press by calling the fake back while the fake waits for the webhook.
        pressed = demo.post(
            "/fake/buttons",
            json={"chat_id": CHAT, "message_id": question["message_id"], "data": pothole["callback_data"]},
        )
        assert pressed.status_code == 200
        bot.deliver()
        answer = demo.get(f"/fake/chats/{CHAT}").json()["messages"][-1]
        assert FILED.search(answer["text"])
        missing = {"chat_id": CHAT, "message_id": 999, "data": "x"}
        assert demo.post("/fake/buttons", json=missing).status_code == 404


def test_the_fake_runs_on_its_own(tmp_path: Path) -> None:
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()  # the fake binds it itself
    process = subprocess.Popen(
        [sys.executable, "-m", "channels.fakes", "telegram", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        fake = FakeTelegram()  # same default token
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/bot{fake.token}/getMe")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the fake did not start"
                time.sleep(0.1)
        assert response.json()["result"]["username"] == "city311_bot"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f'base_url = "http://127.0.0.1:{port}/bot"' in output


def test_slash_commands_are_the_engines_commands(settings: Settings, fake: FakeTelegram) -> None:
    # Before, only /start, /help, /status and /cancel were: "/stop" was taken as a report ("Where is it?")
    # and "/unsubscribe" as its place ('I could not find "/unsubscribe" on the map').
    with telegram_bot(settings, fake, "polling") as bot:
        [stopped] = exchange(bot, fake, lambda: fake.send_text(CHAT, "/stop"))
        assert stopped["text"].startswith("You will get no more messages from us.")
        [started] = exchange(bot, fake, lambda: fake.send_text(CHAT, "/start"))
        assert started["text"].startswith("Welcome back")
        [helped] = exchange(bot, fake, lambda: fake.send_text(CHAT, "/ayuda"))
        assert helped["text"].startswith("Escriba")  # the Spanish word still tells the language
        [unsubscribed] = exchange(bot, fake, lambda: fake.send_text(CHAT, "/unsubscribe@city311_bot"))
        assert unsubscribed["text"].startswith("You will get no more messages from us.")
        # /help after /stop: that no messages come, and how to get them again. Before, the help ("Reply
        # STATUS for your latest report"), as if they came. Found by a black-box tester.
        [helped] = exchange(bot, fake, lambda: fake.send_text(CHAT, "/help"))
        assert helped["text"].startswith("You opted out"), helped["text"]
        assert "START" in helped["text"]
        assert "STATUS" not in helped["text"]
        assert bot.request_count() == 0
    [menu] = [c.params for c in fake.sent if c.method == "setMyCommands"]
    assert "stop" in [command["command"] for command in menu["commands"]]


def test_in_a_group_the_bot_answers_only_what_is_addressed_to_it(
    settings: Settings, fake: FakeTelegram
) -> None:
    # Before, "/stop@music_bot" opened a report, "/help@weather_bot" got our help, and with privacy mode off
    # the members' own talk was taken as reports ("Is it at Mission Dolores Park?").
    with telegram_bot(settings, fake, "polling") as bot:

        def say(text: str, reply_to: int | None = None) -> list[dict[str, Any]]:
            sent_before = len(fake.sent_to(GROUP))
            fake.send_text(GROUP, text, from_id=49, reply_to=reply_to)
            # Answered after ``text`` (updates are handled in order): once its answer is out, so is text's.
            marker = fake.send_text(GROUP, "/help@city311_bot", from_id=48)["message"]["message_id"]

            def answers() -> list[dict[str, Any]]:
                bot.deliver()
                return fake.sent_to(GROUP)[sent_before:]

            fake.wait_for(lambda: any(m["reply_parameters"]["message_id"] == marker for m in answers()))
            return [m for m in answers() if m["reply_parameters"]["message_id"] != marker]

        assert say("/stop@music_bot") == []
        assert say("/help@weather_bot") == []
        assert say("/roll") == []
        assert say("see you all at the bbq tonight at Dolores Park") == []
        assert bot.request_count() == 0
        [helped] = say("/help@City311_Bot")
        assert helped["text"].startswith("Text a problem")
        [asked] = say("@city311_bot there is a broken streetlight")
        assert "Where is it?" in asked["text"]
        [filed] = say("24th St and Folsom St", reply_to=asked["message_id"])
        assert "filed as #" in filed["text"]
        [stopped] = say("/stop")
        assert stopped["text"].startswith("You will get no more messages from us.")


def test_an_edited_message_is_answered_honestly(settings: Settings, fake: FakeTelegram) -> None:
    # Before, editing a message got no answer at all (edits were not even asked of Telegram).
    with telegram_bot(settings, fake, "polling") as bot:
        report = fake.send_text(CHAT, "There is a big pothole in the road")
        fake.wait_for(lambda: bot.inbox_count() == 1)
        bot.deliver()
        [edited] = exchange(
            bot, fake, lambda: fake.edit_text(CHAT, report["message"]["message_id"], "pothole at 5th St")
        )
        assert edited["text"].startswith("I can't read edited messages")
        assert edited["reply_parameters"]["message_id"] == report["message"]["message_id"]
        # The report in progress still waits for its place.
        assert bot.request_count() == 0
        located = filed_id(exchange(bot, fake, lambda: fake.send_location(CHAT, 37.7793, -122.4193)))
        assert bot.request(located)["description"] == "There is a big pothole in the road"


def test_what_the_bot_cannot_read_is_answered_honestly(settings: Settings, fake: FakeTelegram) -> None:
    # Before, a voice note, a document, a contact or a sticker was asked "What is the problem, and where is
    # it?", as if the bot had read it.
    with telegram_bot(settings, fake, "polling") as bot:
        [asked] = exchange(bot, fake, lambda: fake.send_text(CHAT, "big pothole here"))
        assert "Where is it?" in asked["text"]
        for kind in ("voice", "document", "contact", "sticker"):
            [answer] = exchange(bot, fake, partial(fake.send_other, CHAT, kind))
            assert answer["text"].startswith("I can only read text, photos and shared locations."), kind
        # The report in progress still waits for its place.
        assert bot.request_count() == 0
        located = filed_id(exchange(bot, fake, lambda: fake.send_location(CHAT, 37.7793, -122.4193)))
        assert bot.request(located)["description"] == "big pothole here"


def test_the_demo_fake_takes_locations_photos_and_groups_over_http(fake: FakeTelegram) -> None:
    # Before, POST /fake/messages dropped "location" and "photo_url" (the bot got an empty text message)
    # and GET /fake/chats/<a group's negative id> answered 404.
    photo = b"\xff\xd8\xff\xe0 a pothole, photographed"
    photos = Starlette(routes=[Route("/pothole.jpg", lambda _: Response(photo, media_type="image/jpeg"))])
    recorder = Recorder(reply=echo)
    with (
        live_server(photos) as photos_url,
        serve_channel(make_channel(fake, recorder, "polling")),
        httpx.Client(base_url=fake.server_url) as demo,
    ):
        where = {"chat_id": CHAT, "location": {"lat": 37.7793, "long": -122.4193}}
        assert demo.post("/fake/messages", json=where).status_code == 200
        snapshot = {"chat_id": CHAT, "photo_url": f"{photos_url}/pothole.jpg", "text": "this one"}
        assert demo.post("/fake/messages", json=snapshot).status_code == 200
        member = {"chat_id": GROUP, "from_id": 49, "text": "@city311_bot pothole at 5th St and Market St"}
        assert demo.post("/fake/messages", json=member).status_code == 200
        fake.wait_for(lambda: len(fake.sent_to(GROUP)) == 1)
        assert demo.get(f"/fake/chats/{GROUP}").json()["messages"][0]["text"].startswith("heard: pothole")
        assert demo.get("/fake/chats/not-a-chat").status_code == 400
        unreachable = {"chat_id": CHAT, "photo_url": f"{photos_url}/missing.jpg"}
        assert demo.post("/fake/messages", json=unreachable).status_code == 400
    located, photographed, _ = recorder.messages()
    assert located.point == GeoPoint(lat=37.7793, long=-122.4193)
    assert photographed.text == "this one"
    (attachment,) = photographed.attachments
    file_id = attachment.url.removeprefix("telegram-file:")
    api = f"{fake.server_url}/bot{fake.token}"
    file_path = httpx.post(f"{api}/getFile", data={"file_id": file_id}).json()["result"]["file_path"]
    assert httpx.get(f"{fake.server_url}/file/bot{fake.token}/{file_path}").content == photo


def test_a_fake_started_again_hands_out_updates_after_a_saved_cursor() -> None:
    # Before, update ids started at 100000 in every run of the fake: a bot whose cursor was saved in an
    # earlier run asked from beyond them, and the fake (as Telegram) took every new update as handled.
    earlier = FakeTelegram()
    for _ in range(3):
        last = earlier.send_text(CHAT, "a message of the earlier run")["update_id"]
    time.sleep(0.01)  # the ids come from the clock (ms): the next run starts later
    again = FakeTelegram()
    cursors = MemoryCursors()
    cursors.set(f"telegram:{again.bot_id}:update_id", str(last))
    recorder = Recorder(reply=echo)
    with live_server(again.app) as url:
        again.server_url = url
        with serve_channel(make_channel(again, recorder, "polling", cursors=cursors)):
            again.send_text(CHAT, "after the restart")
            again.wait_for(lambda: len(recorder.messages()) == 1)
    assert recorder.messages()[0].text == "after the restart"


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_an_earlier_questions_buttons_pressed_later_reopen_nothing(
    settings: Settings, fake: FakeTelegram, mode: str
) -> None:
    # Before, a button of a question answered by typing (or dropped) was still taken as the answer when
    # pressed later: "No" under "Is it at VALENCIA ST...?" after the report was filed asked again "Where is
    # it?" and brought the finished report back.
    with telegram_bot(settings, fake, mode) as bot:
        report = "There is a huge pothole in the road at Valenica St and 16th St"
        (question,) = exchange(bot, fake, lambda: fake.send_text(CHAT, report))
        no = [b for row in question["reply_markup"]["inline_keyboard"] for b in row][1]
        filed_id(exchange(bot, fake, lambda: fake.send_text(CHAT, "yes")))
        requests = bot.request_count()

        [answer] = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], no["callback_data"])
        )
        assert answer["text"].startswith("Those buttons are from an earlier question"), answer["text"]
        assert bot.request_count() == requests
        # The old question no longer offers buttons, and shows no answer that was not taken.
        (shown,) = [m for m in fake.bot_messages(CHAT) if m["message_id"] == question["message_id"]]
        assert "reply_markup" not in shown
        assert shown["text"] == question["text"]
        # Nothing was reopened: a new report begins on its own.
        [asked] = exchange(bot, fake, lambda: fake.send_text(CHAT, "graffiti on the wall"))
        assert "Where is it?" in asked["text"]


def test_a_dropped_reports_buttons_pressed_later_do_not_bring_it_back(
    settings: Settings, fake: FakeTelegram
) -> None:
    # Before, pressing "Pothole" under "What kind of problem is it?" after NEVER MIND asked the question of
    # the dropped report again.
    unsure = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}
    with telegram_bot(settings, fake, "polling", **unsure) as bot:
        (question,) = exchange(bot, fake, lambda: fake.send_text(CHAT, CLEAR_REPORT))
        pothole = next(b for row in question["reply_markup"]["inline_keyboard"] for b in row)
        [cancelled] = exchange(bot, fake, lambda: fake.send_text(CHAT, "never mind"))
        assert cancelled["text"].startswith("Cancelled.")
        [answer] = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], pothole["callback_data"])
        )
        assert answer["text"].startswith("Those buttons are from an earlier question"), answer["text"]
        [asked] = exchange(bot, fake, lambda: fake.send_text(CHAT, "STATUS"))
        assert asked["text"].startswith("You have not filed a report yet"), asked["text"]
        assert bot.request_count() == 0


def test_a_questions_buttons_still_count_after_a_notice(settings: Settings, fake: FakeTelegram) -> None:
    # Found by a black-box tester: after "I can't read edited messages…", a button of the question still
    # open was refused ("Those buttons are from an earlier question…") and removed, though typing the answer
    # worked. A notice answers a message without touching the conversation: the question stays open.
    unsure = {"intents": {"auto_file_threshold": 1.0}, "conversation": {"offer_choices_min_confidence": 0.0}}
    with telegram_bot(settings, fake, "polling", **unsure) as bot:
        report = fake.send_text(CHAT, CLEAR_REPORT)
        fake.wait_for(lambda: bot.inbox_count() == 1)
        bot.deliver()
        (question,) = fake.sent_to(CHAT)
        assert "What kind of problem is it?" in question["text"]
        [edited] = exchange(
            bot, fake, lambda: fake.edit_text(CHAT, report["message"]["message_id"], "pothole at 5th St")
        )
        assert edited["text"].startswith("I can't read edited messages")
        [unread] = exchange(bot, fake, partial(fake.send_other, CHAT, "voice"))
        assert unread["text"].startswith("I can only read text, photos and shared locations.")
        pothole = next(b for row in question["reply_markup"]["inline_keyboard"] for b in row)
        assert pothole["text"] == "Pothole"
        replies = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], pothole["callback_data"])
        )
        assert bot.request(filed_id(replies))["service_code"] == "pothole"
    with telegram_bot(settings, fake, "polling") as bot:
        place = "There is a huge pothole in the road at Valenica St and 16th St"
        handled = bot.inbox_count()  # the same database as the first bot's
        report = fake.send_text(CHAT, place)
        fake.wait_for(lambda: bot.inbox_count() == handled + 1)
        bot.deliver()
        question = fake.sent_to(CHAT)[-1]
        assert question["text"] == "Is it at VALENCIA ST & 16TH ST, San Francisco, CA?"
        [edited] = exchange(
            bot, fake, lambda: fake.edit_text(CHAT, report["message"]["message_id"], "at Valencia St")
        )
        assert edited["text"].startswith("I can't read edited messages")
        yes = next(b for row in question["reply_markup"]["inline_keyboard"] for b in row)
        replies = exchange(
            bot, fake, lambda: fake.press_button(CHAT, question["message_id"], yes["callback_data"])
        )
        assert bot.request(filed_id(replies))["address"] == "VALENCIA ST & 16TH ST, San Francisco, CA"
        (shown,) = [m for m in fake.bot_messages(CHAT) if m["message_id"] == question["message_id"]]
        assert shown["text"].endswith("→ Yes")


def test_a_refused_secret_token_logs_the_webhook_url_once(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """A tester saw only ``POST /webhooks/telegram 403``: one WARNING names the webhook URL Telegram is told
    to send the secret to, not the secret, the token, nor the update's words; forged requests are one line."""
    sock = bound_socket()
    public = socket_url(sock)
    channel = make_channel(fake, Recorder(reply=echo), "webhook", public)
    update = {
        "update_id": 7,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": CHAT, "type": "private"},
            "text": "hi",
        },
    }
    with caplog.at_level(logging.WARNING, logger="channels"), serve_channel(channel, sock=sock) as url:
        for headers in ({SECRET_HEADER: "a-guessed-secret"}, {}, {}):
            assert httpx.post(f"{url}/webhooks/telegram", json=update, headers=headers).status_code == 403
    [refused] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refused.levelname == "WARNING"
    said = refused.getMessage()
    assert "a wrong X-Telegram-Bot-Api-Secret-Token" in said
    assert f"{public}/webhooks/telegram (server.public_url + telegram.webhook_path)" in said
    for private in (SECRET, "a-guessed-secret", fake.token, str(CHAT)):
        assert private not in caplog.text
