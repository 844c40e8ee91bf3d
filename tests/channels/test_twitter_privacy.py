"""What a resident tells the city on X privately (a direct message) stays private when they write in public,
and what they do in public is answered in public: the whole bot behind tweepy and the fake X.

A public STATUS about a report made by DM, or one waiting for a person, or a report still being asked about
by DM, is answered by DM (before: a reply under the tweet quoting the DM's words, the question asked about
it, or "Report #7 (Abandoned Vehicle) is open"); a public STATUS about public reports stays a public reply.
A FOLLOW tweeted in public gets its updates under that tweet (before: by DM, which residents with closed DMs
never get).
"""

from __future__ import annotations

import asyncio

from bot.config import Settings
from channels.fakes.twitter import FakeX
from channels.twitter import TwitterChannel
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    RESIDENT,
    app_settings,
    fake,
    x_bot,
)
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id

CONFIDENTIAL = (
    "I think my landlord Bob Lee is illegally dumping asbestos behind 200 Folsom St, please keep this "
    "confidential"
)


def exchange(bot: RunningBot) -> None:
    """One run of the X polling job (mentions and direct messages), then one of the outbox sender."""
    channel = bot.messaging.channels["twitter"]
    assert isinstance(channel, TwitterChannel)
    asyncio.run(channel.poll_once())
    bot.deliver()


def tweets(x: FakeX) -> list[str]:
    return [posted.text for posted in x.posted if posted.kind == "tweet"]


def dms(x: FakeX, resident: str = RESIDENT) -> list[str]:
    return [posted.text for posted in x.dms_to(resident)]


def test_a_public_status_about_a_report_waiting_for_a_person_since_a_dm_is_answered_by_dm(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        fake.direct_message(RESIDENT, CONFIDENTIAL)
        exchange(bot)
        assert "A person will look at your report" in dms(fake)[-1]
        assert tweets(fake) == []

        status = fake.mention(RESIDENT, "STATUS")
        exchange(bot)
        assert fake.replies_to(status) == [], "the DM's words were tweeted"
        assert tweets(fake) == []
        assert 'Your report "I think my landlord Bob Lee is illegally dumping asbestos' in dms(fake)[-1]
        assert "waiting for a person" in dms(fake)[-1]


def test_a_report_begun_by_dm_stays_private_when_the_resident_answers_in_public(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        fake.direct_message(RESIDENT, "pothole on Guerrero St")
        exchange(bot)
        assert dms(fake)[-1].startswith("Is it at GUERRERO ST")

        # STATUS in public while the DM's question waits: the question again, by DM.
        status = fake.mention(RESIDENT, "STATUS")
        exchange(bot)
        assert tweets(fake) == [], "the DM's report was asked about in public"
        assert dms(fake)[-1].startswith("Your report is not filed yet")
        assert "Is it at GUERRERO ST" in dms(fake)[-1]

        # Its answer tweeted: the report is filed, and said so, by DM; its updates come by DM too.
        yes = fake.mention(RESIDENT, "yes", in_reply_to_tweet_id=status)
        exchange(bot)
        assert (fake.replies_to(status), fake.replies_to(yes)) == ([], [])
        filed = filed_id(dms(fake)[-1])
        bot.runtime.open311.update_status(filed, "closed", "Filled with asphalt.", actor="crew")
        assert bot.notify() == 1
        bot.deliver()
        assert f"Update on report #{filed} (Pothole): it is now closed" in dms(fake)[-1]
        assert tweets(fake) == []

        # Done with it: a new report tweeted is answered in public again.
        report = fake.mention(RESIDENT, CLEAR_REPORT)
        exchange(bot)
        assert filed_id(fake.replies_to(report)[0].text) != filed


def test_a_public_status_is_answered_where_the_report_was_made(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        fake.direct_message(RESIDENT, CLEAR_REPORT)
        tweeted = fake.mention("555", CLEAR_REPORT)
        exchange(bot)
        by_dm = filed_id(dms(fake)[-1])
        in_public = filed_id(fake.replies_to(tweeted)[0].text)

        # The DM's report, asked about in public with the word, a question, or its number: by DM.
        for asked in ("STATUS", "any update?", f"STATUS {by_dm}"):
            status = fake.mention(RESIDENT, asked)
            exchange(bot)
            assert fake.replies_to(status) == [], asked
            assert f"Report #{by_dm} (Pothole) is open" in dms(fake)[-1], asked
        assert len(tweets(fake)) == 1  # the public report's own reply

        # The public report asked about in public: under the tweet, as before.
        status = fake.mention("555", "STATUS")
        exchange(bot)
        assert f"Report #{in_public} (Pothole) is open" in fake.replies_to(status)[0].text
        assert dms(fake, "555") == []


def test_a_follow_tweeted_in_public_is_updated_under_that_tweet(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    with x_bot(app_settings, fake) as bot:
        report = fake.mention("555", CLEAR_REPORT)
        exchange(bot)
        filed = filed_id(fake.replies_to(report)[0].text)

        follow = fake.mention(RESIDENT, f"FOLLOW {filed}")
        fake.direct_message("777", f"FOLLOW {filed}")
        exchange(bot)
        assert f"You will get updates on report #{filed}" in fake.replies_to(follow)[0].text
        assert f"You will get updates on report #{filed}" in dms(fake, "777")[0]

        bot.runtime.open311.update_status(filed, "closed", "Filled with asphalt.", actor="crew")
        assert bot.notify() == 3
        bot.deliver()
        update = f"Update on report #{filed} (Pothole): it is now closed"
        assert update in fake.replies_to(follow)[-1].text
        assert dms(fake) == [], "the public follower got a DM (X refuses it when their DMs are closed)"
        assert update in dms(fake, "777")[-1]  # a FOLLOW by DM is updated by DM
        assert update in fake.replies_to(report)[-1].text
