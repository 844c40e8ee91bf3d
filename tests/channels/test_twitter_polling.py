"""Reading X: an edited tweet, and polls that fail (X unreachable, rate limited, refusing the credentials,
stopped by a shutdown), through tweepy against the fake X."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.jobs import context, x_mentions
from bot.jobs.part import build_job_runner
from channels.fakes.twitter import FakeX
from channels.twitter import TwitterChannel
from tests.channels.test_twitter import (  # noqa: F401 (fixtures)
    CONSUMER_SECRET,
    PAYLOADS,
    RESIDENT,
    app_settings,
    fake,
    poll_and_deliver,
    x_bot,
)
from tests.conversation.harness import CLEAR_REPORT, RunningBot, filed_id


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


@contextlib.contextmanager
def job_context(bot: RunningBot) -> Iterator[TwitterChannel]:
    """The x-mentions job's context, as the scheduler installs it; yields the bot's X channel."""
    context.install(build_job_runner(bot.runtime, bot.messaging).context)
    try:
        channel = bot.messaging.channels["twitter"]
        assert isinstance(channel, TwitterChannel)
        yield channel
    finally:
        context.install(None)


def test_each_failed_poll_is_one_plain_line(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before, each failed run of the job logged apscheduler's "Job raised an exception" and ~60 lines of
    # traceback, for failures that happen in normal operation.
    with x_bot(app_settings, fake) as bot, job_context(bot) as channel:
        caplog.set_level(logging.INFO)
        fake.rate_limit("mentions", reset_in=600)  # beyond max_rate_limit_wait_seconds
        asyncio.run(x_mentions.run())
        fake.refuse_credentials()
        asyncio.run(x_mentions.run())
        channel.client.session.base_url = "http://127.0.0.1:9"  # nothing listens there
        asyncio.run(x_mentions.run())

    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)
    lines = [r.getMessage() for r in failures]
    assert re.fullmatch(r"X mentions not read: rate limited until \d\d:\d\d UTC", lines[0]), lines
    assert sorted(lines[1:]) == [  # mentions and direct messages are read side by side
        "X direct messages not read: X refused the credentials (401)",
        "X direct messages not read: X unreachable",
        "X mentions not read: X refused the credentials (401)",
        "X mentions not read: X unreachable",
    ]


def test_a_shutdown_during_a_poll_is_one_line_and_direct_messages_do_not_wait_on_mentions(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def poll_then_shut_down(bot: RunningBot) -> None:
        polling = asyncio.create_task(x_mentions.run())
        deadline = time.monotonic() + 2  # the mentions' rate limit is 3 to 4.5 s away
        while not [m for m in bot.outbox() if m.resident_id == "555"]:
            assert time.monotonic() < deadline, "the direct message waited on the mentions' rate limit"
            await asyncio.sleep(0.05)
        polling.cancel()  # the bot stops while the poll waits for the mentions' reset
        await polling

    with x_bot(app_settings, fake) as bot, job_context(bot):
        caplog.set_level(logging.INFO)
        fake.rate_limit("mentions", reset_in=3)  # within max_rate_limit_wait_seconds: waited out
        fake.direct_message("555", CLEAR_REPORT)
        asyncio.run(poll_then_shut_down(bot))

    assert all(r.exc_info is None for r in caplog.records)
    assert "x-mentions job: stopped by the shutdown" in [r.getMessage() for r in caplog.records]


def test_an_edit_sent_by_the_account_activity_webhook_is_answered_not_filed(
    app_settings: Settings,  # noqa: F811
    fake: FakeX,  # noqa: F811
) -> None:
    # API v1.1 tweet objects name an edit's original in edit_history.initial_tweet_id.
    event = json.loads((PAYLOADS / "twitter_tweet_create_event.json").read_text())
    original = event["tweet_create_events"][0]
    edit = {**original, "id": 1861234567890129999, "id_str": "1861234567890129999"}
    edit["edit_history"] = {"initial_tweet_id": original["id_str"], "edit_tweet_ids": [original["id_str"]]}
    edit["edit_history"]["edit_tweet_ids"].append(edit["id_str"])
    with x_bot(app_settings, fake) as bot:
        webhook = f"{bot.url}/webhooks/twitter"
        assert fake.post_activity(webhook, event, CONSUMER_SECRET).status_code == 200
        event["tweet_create_events"] = [edit]
        assert fake.post_activity(webhook, event, CONSUMER_SECRET).status_code == 200
        assert bot.request_count() == 1
        [answer] = [m for m in bot.outbox() if m.reply_to == edit["id_str"]]
        assert "edited" in answer.text
