"""The Twilio fake played over HTTP, as a demo or a black-box tester plays residents
(``python -m channels.fakes twilio``): the whole bot, the twilio library and the fake, over real sockets,
with the fixtures ``fake`` and ``bot`` of ``conftest.py``.
"""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from channels.fakes.twilio import FakeTwilio
from tests.channels.conftest import RESIDENT, webhook
from tests.conversation.harness import CLEAR_REPORT, RunningBot
from tests.support.live_server import live_server

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def test_a_resident_sends_an_mms_and_twilio_redelivers_it_over_http(
    fake: FakeTwilio, bot: RunningBot
) -> None:
    # Before, POST /fake/messages took only "from" and "body": an MMS photo, a chosen MessageSid or Twilio's
    # retry of a webhook that got no answer could not be tried without signing webhooks by hand.
    photos = Starlette(
        routes=[
            Route("/pothole.jpg", lambda _: Response(JPEG, media_type="image/jpeg")),
            Route("/sign", lambda _: Response(PNG, media_type="image/png")),
        ]
    )
    fake.webhook_url = webhook(bot)
    with live_server(photos) as photos_url, httpx.Client(base_url=fake.base_url, timeout=30) as demo:
        mms = {
            "from": RESIDENT,
            "body": CLEAR_REPORT,
            "media_urls": [f"{photos_url}/pothole.jpg", f"{photos_url}/sign"],
        }
        answer = demo.post("/fake/messages", json=mms)
        assert answer.status_code == 200, answer.text
        [reply] = answer.json()["replies"]
        filed = re.search(r"filed as #(\d+)", reply)
        assert filed, reply
        stored = bot.runtime.open311.get_request(filed.group(1))
        assert stored.media_url is not None
        assert stored.description is not None
        more = stored.description.partition("\n\nMore photos: ")[2]
        assert [httpx.get(url).content for url in (stored.media_url, more)] == [JPEG, PNG]
        assert (stored.media_url[-4:], more[-4:]) == (".jpg", ".png")
        sid = answer.json()["message_sid"]
        assert sid.startswith("MM")

        # Twilio posts the same webhook again (the bot's answer did not reach it in time): the same answer,
        # nothing filed twice.
        again = demo.post("/fake/messages", json={"redeliver": sid})
        assert again.status_code == 200, again.text
        assert again.json() == {"replies": [reply], "message_sid": sid}
        assert bot.request_count() == 1

        # A MessageSid of the tester's choosing; sending it twice is a redelivery too.
        chosen = {
            "from": RESIDENT,
            "body": "There is graffiti at 9th St and Mission St",
            "message_sid": "SM" + "7" * 32,
        }
        first = demo.post("/fake/messages", json=chosen).json()
        assert first["message_sid"] == chosen["message_sid"]
        assert demo.post("/fake/messages", json=chosen).json() == first
        assert bot.request_count() == 2

        assert demo.post("/fake/messages", json={"redeliver": "SM" + "0" * 32}).status_code == 404
        unreachable = {"from": RESIDENT, "body": "", "media_urls": [f"{photos_url}/missing.jpg"]}
        assert demo.post("/fake/messages", json=unreachable).status_code == 400
