"""SMS through the Twilio fake, for the ``test_sms*`` files: the fake on a real server (``fake``), the whole
bot with SMS on and the fake as its Twilio (``bot``), and how a test texts it (``text``).

``test_telegram``, ``test_twitter`` and ``test_local`` define their own ``fake`` and ``bot``, which take the
place of these in their modules.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.config import Settings
from channels.fakes.twilio import FakeTwilio
from tests.conversation.harness import RunningBot, running_bot
from tests.support.fakes import served_twilio

BOT_NUMBER = "+14155550100"
RESIDENT = "+14155550123"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with served_twilio() as twilio:
        yield twilio


def sms_settings(fake: FakeTwilio, **twilio: Any) -> dict[str, Any]:
    return {
        "twilio": {
            "enabled": True,
            "account_sid": fake.account_sid,
            "auth_token": fake.auth_token,
            "from_number": BOT_NUMBER,
            "api_base_url": fake.base_url,
            **twilio,
        }
    }


@pytest.fixture
def bot(settings: Settings, fake: FakeTwilio) -> Iterator[RunningBot]:
    with running_bot(settings, **sms_settings(fake)) as running:
        yield running


def webhook(bot: RunningBot) -> str:
    return bot.url + "/webhooks/twilio"


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("Message")]


def text(fake: FakeTwilio, bot: RunningBot, body: str, **kwargs: Any) -> list[str]:
    return twiml_messages(
        fake.inbound(webhook(bot), from_=kwargs.pop("from_", RESIDENT), body=body, **kwargs)
    )
