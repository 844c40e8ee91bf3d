"""Job: read new mentions of the city's X account (only the elected scheduler runs it, and the channel's
persisted since_id means a restart neither misses nor re-reads a mention)."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from bot.jobs.context import current

log = logging.getLogger(__name__)


@runtime_checkable
class MentionPoller(Protocol):
    async def poll_mentions_once(self) -> int: ...


async def run() -> None:
    channel = current().channels.get("twitter")
    if not isinstance(channel, MentionPoller):
        log.warning("x-mentions job: the twitter channel is not running in this process")
        return
    handled = await channel.poll_mentions_once()
    if handled:
        log.info("x-mentions job: handled %d mentions", handled)
