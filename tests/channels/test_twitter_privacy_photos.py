"""A tweet the bot takes as about a report made by DM is answered by DM: the whole bot behind tweepy and the
fake X (the rest of X's privacy is in test_twitter_privacy.py).

Before, a photo tweeted soon after a report made by DM was added to it with "the photo is added to report
#7" under the tweet, and "another one at ..." tweeted after it was filed as the DM's kind of problem with
"filed as #8 (Pothole)" under the tweet: both tied the public account to the private report.
"""

from __future__ import annotations

from bot.config import Settings
from channels.fakes.twitter import FakeX
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    RESIDENT,
    app_settings,
    fake,
    x_bot,
)
from tests.channels.test_twitter_privacy import dms, exchange, tweets
from tests.conversation.harness import CLEAR_REPORT, filed_id

PHOTO = ("https://pbs.twimg.com/media/GdPothole.jpg",)


def test_a_photo_tweeted_after_a_report_made_by_dm_is_added_to_it_by_dm(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        fake.direct_message(RESIDENT, CLEAR_REPORT)
        exchange(bot)
        by_dm = filed_id(dms(fake)[-1])

        photo = fake.mention(RESIDENT, photo_urls=PHOTO)
        exchange(bot)
        assert fake.replies_to(photo) == [], "the DM's report was named under the tweet"
        assert tweets(fake) == []
        assert f"the photo is added to report #{by_dm}" in dms(fake)[-1]
        assert bot.request(by_dm)["media_url"]

        # A photo tweeted after a report tweeted is answered under it, as before.
        report = fake.mention("555", CLEAR_REPORT)
        exchange(bot)
        in_public = filed_id(fake.replies_to(report)[0].text)
        photo = fake.mention("555", photo_urls=PHOTO)
        exchange(bot)
        assert f"the photo is added to report #{in_public}" in fake.replies_to(photo)[0].text
        assert dms(fake, "555") == []


def test_another_one_tweeted_after_a_report_made_by_dm_is_filed_by_dm(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        fake.direct_message(RESIDENT, CLEAR_REPORT)
        exchange(bot)
        by_dm = filed_id(dms(fake)[-1])

        another = fake.mention(RESIDENT, "There's another one at 4th St and Mission St")
        exchange(bot)
        assert fake.replies_to(another) == [], "the DM's kind of problem was named under the tweet"
        assert tweets(fake) == []
        second = filed_id(dms(fake)[-1])
        assert second != by_dm

        # It belongs with the private report: its updates come by DM too.
        bot.runtime.open311.update_status(second, "closed", "Filled with asphalt.", actor="crew")
        assert bot.notify() == 1
        bot.deliver()
        assert f"Update on report #{second} (Pothole): it is now closed" in dms(fake)[-1]
        assert tweets(fake) == []
