"""Runs a fake provider on its own, for demos: ``python -m channels.fakes telegram|x|twilio [--port N]``.

Point the bot at it (the printed configuration), start ``open311-bot serve``, and play the residents with
plain HTTP: ``POST /fake/messages`` / ``/fake/edits`` / ``/fake/buttons`` (Telegram), ``POST
/fake/mentions`` / ``/fake/direct_messages`` (X), ``POST /fake/messages`` (Twilio: answered with the bot's
replies; MMS photos, a redelivery); see what the bot sent with ``GET /fake/chats/<chat_id>`` /
``/fake/posted`` / ``/fake/numbers/<number>``.
"""

from __future__ import annotations

import argparse

import uvicorn

from channels.fakes.telegram import FakeTelegram
from channels.fakes.twilio import FakeTwilio
from channels.fakes.twitter import FakeX


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m channels.fakes", description=__doc__.splitlines()[0])
    parser.add_argument("provider", choices=["telegram", "x", "twilio"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8401)
    parser.add_argument(
        "--bot-url", default="http://127.0.0.1:8311", help="where the bot is served (twilio: its webhooks)"
    )
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}"
    if args.provider == "telegram":
        telegram = FakeTelegram()
        telegram.server_url = url
        app = telegram.app
        print(
            '[telegram]\nenabled = true\nmode = "polling"\n'
            f'base_url = "{telegram.base_url()}"\nbase_file_url = "{telegram.base_file_url()}"\n'
            f"# and in the environment: OPEN311_BOT_TELEGRAM__TOKEN='{telegram.token}'\n"
            f'# a resident writes: curl -XPOST {url}/fake/messages -H "content-type: application/json" '
            """-d '{"chat_id": 42, "text": "Huge pothole at 5th St and Market St"}'"""
        )
    elif args.provider == "twilio":
        twilio = FakeTwilio(base_url=url, webhook_url=f"{args.bot_url.rstrip('/')}/webhooks/twilio")
        app = twilio.app
        print(
            f'[twilio]\nenabled = true\naccount_sid = "{twilio.account_sid}"\nfrom_number = "+14155550100"\n'
            f'api_base_url = "{url}"\n'
            f"# and in the environment: OPEN311_BOT_TWILIO__AUTH_TOKEN='{twilio.auth_token}'\n"
            f"# (the bot at {args.bot_url}: server.public_url unset or that URL)\n"
            f'# a resident texts: curl -XPOST {url}/fake/messages -H "content-type: application/json" '
            """-d '{"from": "+14155550123", "body": "Huge pothole at 5th St and Market St"}'"""
        )
    else:
        x = FakeX()
        x.server_url = url
        app = x.app
        print(
            f'[twitter]\nenabled = true\nuser_id = "{x.user_id}"\napi_base_url = "{url}"\n'
            "# and any non-empty OPEN311_BOT_TWITTER__{CONSUMER_KEY,CONSUMER_SECRET,ACCESS_TOKEN,"
            "ACCESS_TOKEN_SECRET,BEARER_TOKEN} in the environment\n"
            "\n[jobs]\ntwitter_poll_seconds = 2  # a demo's answers in seconds (60 by default)\n"
            f'# a resident tweets: curl -XPOST {url}/fake/mentions -H "content-type: application/json" '
            """-d '{"author_id": "42", "text": "Huge pothole at 5th St and Market St"}'"""
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
