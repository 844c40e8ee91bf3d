"""The whole bot with SMS on and the Twilio fake, served, as its Twilio: the fixtures ``fake`` (the fake) and
``bot`` (the bot), for the ``test_sms*`` files (through ``tests/channels/conftest.py``) and for any other
test module that imports them; ``sms_settings`` for a bot of a test's own, ``twiml_messages`` to read its
answers.

The fixture functions have names of their own, so that a module importing them can still call its
parameters ``fake`` and ``bot``.
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


@pytest.fixture(name="fake")
def served_twilio_fake() -> Iterator[FakeTwilio]:
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


@pytest.fixture(name="bot")
def sms_bot(settings: Settings, fake: FakeTwilio) -> Iterator[RunningBot]:
    with running_bot(settings, **sms_settings(fake)) as running:
        yield running


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("Message")]
