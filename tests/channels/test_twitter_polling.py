"""Reading X: an edited tweet, and polls that fail (X unreachable, rate limited, refusing the credentials,
stopped by a shutdown), through tweepy against the fake X."""

from __future__ import annotations

from bot.config import Settings
from channels.fakes.twitter import FakeX
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    RESIDENT,
    app_settings,
    fake,
    poll_and_deliver,
    x_bot,
)
from tests.conversation.harness import CLEAR_REPORT, filed_id


def test_an_edited_tweet_is_answered_not_filed_again(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    # X sends an edit as a new tweet with edit_history_tweet_ids [original, new]; before, it was a second
    # report and the first stayed open. As on Telegram, the resident is told an edit is not read.
    with x_bot(app_settings, fake) as bot:
        original = fake.mention(RESIDENT, CLEAR_REPORT, username="ana_in_sf")
        assert poll_and_deliver(bot) == 1
        filed = filed_id(fake.replies_to(original)[0].text)
        edited = fake.edit(original, CLEAR_REPORT.replace("5th St and Market St", "6th St and Mission St"))
        assert poll_and_deliver(bot) == 1
        assert bot.request_count() == 1
        assert bot.request(filed)["description"] == CLEAR_REPORT
        [answer] = fake.replies_to(edited)
        assert "edited" in answer.text
