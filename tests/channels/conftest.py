"""SMS through the Twilio fake, for the ``test_sms*`` files: the fake on a real server (``fake``), the whole
bot with SMS on and the fake as its Twilio (``bot``), both from ``tests.support.sms``, and how a test texts
it (``text``).

``test_telegram``, ``test_twitter`` and ``test_local`` define their own ``fake`` and ``bot``, which take the
place of these in their modules.
"""

from __future__ import annotations

from typing import Any

from channels.fakes.twilio import FakeTwilio
from tests.conversation.harness import RunningBot
from tests.support.sms import (  # noqa: F401 (the fixtures; BOT_NUMBER and sms_settings for the test_sms* files)
    BOT_NUMBER,
    served_twilio_fake,
    sms_bot,
    sms_settings,
    twiml_messages,
)

RESIDENT = "+14155550123"


def webhook(bot: RunningBot) -> str:
    return bot.url + "/webhooks/twilio"


def text(fake: FakeTwilio, bot: RunningBot, body: str, **kwargs: Any) -> list[str]:
    return twiml_messages(
        fake.inbound(webhook(bot), from_=kwargs.pop("from_", RESIDENT), body=body, **kwargs)
    )
