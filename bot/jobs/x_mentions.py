"""Job: read new mentions of the city's X account and direct messages to it (only the elected scheduler
runs it, and the channel's persisted cursors mean a restart neither misses nor re-reads a message)."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from bot.jobs.context import current

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
    handled = await channel.poll_mentions_once()
    if isinstance(channel, DirectMessagePoller):
        handled += await channel.poll_direct_messages_once()
    if handled:
        log.info("x-mentions job: handled %d mentions", handled)
