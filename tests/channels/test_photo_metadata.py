"""A resident's photo, sent by MMS or on Telegram, is published without what the phone wrote into it.

The whole bot on a real server, Twilio and Telegram played by their fakes over real HTTP; the photo is
fetched from the URL the public API gives for the request, as anyone would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.config import Settings
from channels.fakes.telegram import FakeTelegram
from channels.fakes.twilio import FakeTwilio
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id, running_bot
from tests.support.fakes import served_twilio
from tests.support.live_server import live_server
from tests.support.photos import assert_published_without_metadata, photo_with_metadata

RESIDENT = "+14155550123"
CHAT = 424242


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with served_twilio() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    with live_server(fake.app) as url:
        fake.server_url = url
        yield fake


def published_photo(bot: RunningBot, request_id: str) -> bytes:
    media_url = bot.request(request_id)["media_url"]
    assert media_url, "the photo is the request's media_url"
    assert media_url.startswith(bot.url + "/"), f"{media_url} is our own copy"
    served = httpx.get(media_url)
    assert served.status_code == 200
    return served.content


def test_an_mms_photo_is_published_without_its_metadata(settings: Settings, twilio: FakeTwilio) -> None:
    # Before, the MMS photo was stored and served byte for byte, GPS position and owner's name included.
    sms: dict[str, Any] = {
        "enabled": True,
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "from_number": "+14155550100",
        "api_base_url": twilio.base_url,
    }
    with running_bot(settings, twilio=sms) as bot:
        media_url = twilio.add_media(photo_with_metadata(), "image/jpeg")
        answer = twilio.inbound(
            bot.url + "/webhooks/twilio", from_=RESIDENT, body=CLEAR_REPORT, media=[(media_url, "image/jpeg")]
        )
        assert answer.status_code == 200, answer.text
        request_id = re.search(r"#(\d+)", answer.text)
        assert request_id is not None, answer.text
        assert_published_without_metadata(published_photo(bot, request_id.group(1)))


def test_a_telegram_photo_is_published_without_its_metadata(
    settings: Settings, telegram: FakeTelegram
) -> None:
    config = {
        "enabled": True,
        "token": telegram.token,
        "secret_token": "s3cret-Token_1",
        "mode": "webhook",
        "base_url": telegram.base_url(),
        "base_file_url": telegram.base_file_url(),
    }
    with running_bot(settings, telegram=config) as bot:
        telegram.send_photo(CHAT, photo_with_metadata(), caption=CLEAR_REPORT)
        bot.deliver()
        replies = " ".join(message["text"] for message in telegram.sent_to(CHAT))
        assert_published_without_metadata(published_photo(bot, filed_id(replies)))
