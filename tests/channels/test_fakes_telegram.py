"""The Telegram fake played over HTTP, as a demo or a black-box tester plays residents
(``python -m channels.fakes telegram``): the whole bot, python-telegram-bot and the fake, over real sockets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bot.config import Settings
from channels.fakes.telegram import FakeTelegram
from tests.channels.test_telegram import (  # noqa: F401 (the fixture)
    CHAT,
    GROUP,
    fake,
    telegram_bot,
)
from tests.conversation.harness import RunningBot
from tests.support.live_server import live_server

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def answered(
    bot: RunningBot, telegram: FakeTelegram, chat_id: int, act: Callable[[], httpx.Response]
) -> tuple[list[dict[str, Any]], Any]:
    """Does ``act`` (a resident's request to the fake), waits until the bot has handled it, sends its answers
    and returns what the bot sent to the chat since, and the fake's answer to ``act``."""
    handled, sent = bot.inbox_count(), len(telegram.sent_to(chat_id))
    response = act()
    assert response.status_code == 200, response.text
    telegram.wait_for(lambda: bot.inbox_count() > handled)
    bot.deliver()
    return telegram.sent_to(chat_id)[sent:], response.json()


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_a_resident_edits_a_message_over_http(
    settings: Settings,
    fake: FakeTelegram,  # noqa: F811
    mode: str,
) -> None:
    # Before, the fake had no way over HTTP to edit a message (POST /fake/edits answered 404): the bot's
    # answer to Telegram's edited_message could not be tried without a proxy rewriting getUpdates.
    with telegram_bot(settings, fake, mode) as bot, httpx.Client(base_url=fake.server_url) as demo:
        _, sent = answered(
            bot,
            fake,
            CHAT,
            lambda: demo.post("/fake/messages", json={"chat_id": CHAT, "text": "big pothole in the road"}),
        )
        original = sent["message"]["message_id"]
        edit = {"chat_id": CHAT, "message_id": original, "text": "big pothole at 5th St and Market St"}
        [answer], update = answered(bot, fake, CHAT, lambda: demo.post("/fake/edits", json=edit))
        assert update["edited_message"]["message_id"] == original
        assert update["edited_message"]["text"] == edit["text"]
        assert "message" not in update
        assert answer["text"].startswith("I can't read edited messages"), answer["text"]
        assert answer["reply_parameters"]["message_id"] == original
        assert bot.request_count() == 0
        # A message that is not there, or is the bot's, cannot be edited by a resident.
        assert demo.post("/fake/edits", json={**edit, "message_id": 9999}).status_code == 404
        assert demo.post("/fake/edits", json={**edit, "message_id": answer["message_id"]}).status_code == 404
        assert demo.post("/fake/edits", json={"chat_id": CHAT}).status_code == 400


def test_a_group_members_location_and_photo_over_http_are_theirs(
    settings: Settings,
    fake: FakeTelegram,  # noqa: F811
) -> None:
    # Before, POST /fake/messages dropped from_id and reply_to of a location or a photo: a member's location
    # answering the bot's "Where is it?" came as a private chat of the group's id, so the member's report
    # was never finished (and the group was answered as if it were a person).
    photos = Starlette(routes=[Route("/pothole.jpg", lambda _: Response(JPEG, media_type="image/jpeg"))])
    with (
        telegram_bot(settings, fake, "webhook") as bot,
        live_server(photos) as photos_url,
        httpx.Client(base_url=fake.server_url) as demo,
    ):
        [asked], _ = answered(
            bot,
            fake,
            GROUP,
            lambda: demo.post(
                "/fake/messages",
                json={"chat_id": GROUP, "from_id": 49, "text": "@city311_bot broken streetlight"},
            ),
        )
        assert "Where is it?" in asked["text"]
        where = {
            "chat_id": GROUP,
            "from_id": 49,
            "reply_to": asked["message_id"],
            "location": {"lat": 37.7793, "long": -122.4193},
        }
        [filed], located = answered(bot, fake, GROUP, lambda: demo.post("/fake/messages", json=where))
        assert located["message"]["chat"]["type"] == "supergroup"
        assert located["message"]["from"]["id"] == 49
        assert located["message"]["reply_to_message"]["message_id"] == asked["message_id"]
        assert filed["reply_parameters"]["message_id"] == located["message"]["message_id"]
        match = re.search(r"filed as #(\d+) \(Streetlight\)", filed["text"])
        assert match, filed["text"]
        request = bot.request(match.group(1))
        assert request["description"] == "broken streetlight"
        assert (round(request["lat"], 4), round(request["long"], 4)) == (37.7793, -122.4193)

        # Another member's photo, answering the bot: theirs too, in the group.
        snapshot = {
            "chat_id": GROUP,
            "from_id": 48,
            "reply_to": filed["message_id"],
            "photo_url": f"{photos_url}/pothole.jpg",
            "text": "pothole at 24th St and Folsom St",
        }
        [answer], photographed = answered(
            bot, fake, GROUP, lambda: demo.post("/fake/messages", json=snapshot)
        )
        assert photographed["message"]["from"]["id"] == 48
        assert photographed["message"]["reply_to_message"]["message_id"] == filed["message_id"]
        assert answer["reply_parameters"]["message_id"] == photographed["message"]["message_id"]
        assert [m.resident_id for m in bot.outbox()][-1] == f"{GROUP}:48"
        assert fake.sent_to(49) == []  # nobody was answered in a private chat
