"""A reply X refuses, as operators see it: the whole bot behind tweepy and the fake X, and the console.

X refuses a reply under a tweet it does not let the account answer (here a mention that came only through
the Account Activity webhook, which the fake X never saw mentioned). The resident never hears, so the
console's Undelivered page names them by their @username, the way an operator reaches them on X (before:
"X account (id hidden)" or "X account ending in 4321", nothing to find them by).
"""

from __future__ import annotations

import json

from bot.config import Settings
from bot.review.operators import create_operator
from channels.fakes.twitter import FakeX
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    CONSUMER_SECRET,
    PAYLOADS,
    app_settings,
    fake,
    x_bot,
)
from tests.operator.support import PASSWORDS
from tests.operator.test_console_access import signed_in_client


def test_a_reply_x_refuses_names_the_resident_by_their_username_for_operators(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    mention = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
    with x_bot(app_settings, fake) as bot:
        assert fake.post_activity(f"{bot.url}/webhooks/twitter", mention, CONSUMER_SECRET).status_code == 200
        bot.deliver()
        assert fake.posted == []
        [refused] = [message for message in bot.outbox() if message.status == "failed"]
        assert "X refused" in (refused.last_error or "")

        with bot.runtime.sessions() as session:
            create_operator(session, "alice", PASSWORDS["alice"])
        client, _ = signed_in_client(bot.url, "alice", PASSWORDS["alice"])
        try:
            [row] = client.get("/operator/api/undelivered").json()["replies"]
            assert row["recipient"] == "X account @ana_in_sf"
            page = client.get("/operator/undelivered")
            assert page.status_code == 200
            assert "X account @ana_in_sf" in page.text
        finally:
            client.close()
