"""Job: read new mentions of the city's X account and direct messages to it (only the elected scheduler
runs it, and the channel's persisted cursors mean a restart neither misses nor re-reads a message).

The two are read side by side: direct messages (residents answering the bot's questions) do not wait while
the mentions wait out their rate limit. A failure that happens in normal operation (X unreachable, rate
limited, refusing the credentials, the bot shutting down, the database down as a poll reads or saves its
cursor) is one plain line in the log, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.jobs.context import current
from channels.base import TemporarilyUnavailable

log = logging.getLogger(__name__)


@runtime_checkable
class MentionPoller(Protocol):
    async def poll_mentions_once(self) -> int: ...


@runtime_checkable
class DirectMessagePoller(Protocol):
    # Residents' answers to what the bot asked by DM (the private side of a conversation).
    async def poll_direct_messages_once(self) -> int: ...


async def run() -> None:
    channel = current().channels.get("twitter")
    if not isinstance(channel, MentionPoller):
        log.warning("x-mentions job: the twitter channel is not running in this process")
        return
    polls = [_poll("mentions", channel.poll_mentions_once)]
    if isinstance(channel, DirectMessagePoller):
        polls.append(_poll("direct messages", channel.poll_direct_messages_once))
    try:
        handled = sum(await asyncio.gather(*polls))
    except asyncio.CancelledError:
        # The bot is stopping; what was not read yet is read after the restart (the cursors say where).
        log.info("x-mentions job: stopped by the shutdown")
        return
    if handled:
        log.info("x-mentions job: handled %d mentions and direct messages", handled)


async def _poll(what: str, poll: Callable[[], Awaitable[int]]) -> int:
    # Imported here: the job module is loaded whether or not the X extra (tweepy) is installed.
    from channels.twitter import PollFailed

    try:
        return await poll()
    except PollFailed as failed:
        log.warning("X %s not read: %s", what, failed)
        return 0
    except TemporarilyUnavailable as exc:
        # The cursor could not be read or saved (bot.cursors says an unreachable database so): the next
        # poll starts from the saved one (a message handled meanwhile is recognised by the engine). A fault
        # such as a missing table stays itself.
        log.warning("X %s not read: %s", what, exc)
        return 0
