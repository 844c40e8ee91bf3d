"""The conversation side of the app: understanding, the conversation engine, the dispatcher and the
channels, built once from the runtime and mounted on the web app (one line in ``bot.app.APP_PARTS``).

Other parts find them on ``app.state.messaging`` (the dispatcher drains the outbox; the operator console
uses the review queue).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from bot import outbox
from bot.backend import RequestBackend
from bot.clock import utcnow
from bot.config import ConfigError
from bot.conversation import ConversationEngine
from bot.cursors import DatabaseCursorStore
from bot.dispatcher import Dispatcher
from bot.embedded_backend import EmbeddedBackend
from bot.follow_commands import follow_command_hooks
from bot.loop_guard import ReplyLimit
from bot.outbox import RetryPolicy
from bot.review.queue import ReviewQueue
from bot.runtime import Runtime
from bot.templates import Templates, configured_templates
from bot.understanding import pipeline_from_settings
from channels.base import Channel
from channels.registry import ChannelUnavailable, build_channels
from intents.types import Understander

log = logging.getLogger(__name__)


@dataclass
class Messaging:
    templates: Templates
    backend: RequestBackend
    understander: Understander
    review_queue: ReviewQueue
    engine: ConversationEngine
    dispatcher: Dispatcher
    channels: dict[str, Channel]


def build_messaging(runtime: Runtime, *, understander: Understander | None = None) -> Messaging:
    settings = runtime.settings
    conversation = settings.conversation
    templates = configured_templates(settings)
    backend = _backend(runtime)
    understander = understander or pipeline_from_settings(settings.intents)
    review_queue = ReviewQueue(backend, templates)
    engine = ConversationEngine(
        understander,
        backend,
        templates,
        review_queue,
        auto_file_threshold=settings.intents.auto_file_threshold,
        offer_choices_min_confidence=conversation.offer_choices_min_confidence,
        max_choices=conversation.max_choices,
        command_hooks=follow_command_hooks(backend, templates),
    )
    dispatcher = Dispatcher(
        runtime.sessions,
        engine,
        media=runtime.media,
        state_ttl=timedelta(hours=conversation.state_ttl_hours),
        retry_policy=RetryPolicy(
            max_attempts=conversation.outbox_max_attempts,
            base_seconds=conversation.outbox_backoff_seconds,
            max_seconds=conversation.outbox_backoff_max_seconds,
            max_age_seconds=conversation.outbox_max_age_hours * 3600,
        ),
        reply_limit=ReplyLimit(
            conversation.reply_limit_repeats,
            timedelta(minutes=conversation.reply_limit_minutes),
            conversation.reply_limit_max_messages,
        )
        if conversation.reply_limit_repeats
        else None,
    )
    try:
        channels = build_channels(settings, dispatcher)
    except (ChannelUnavailable, ValueError) as exc:
        # A channel that is enabled but cannot start (missing credentials or library) is a configuration
        # problem: `serve` reports it as one instead of a traceback.
        raise ConfigError(str(exc)) from exc
    dispatcher.attach(channels)
    _give_cursor_stores(channels, DatabaseCursorStore(runtime.sessions))
    return Messaging(templates, backend, understander, review_queue, engine, dispatcher, channels)


def mount(app: FastAPI, runtime: Runtime) -> None:
    messaging = build_messaging(runtime)
    app.state.messaging = messaging
    for channel in messaging.channels.values():
        app.router.routes.extend(channel.routes())

    async def start() -> None:
        if runtime.engine.dialect.name == "sqlite":
            await asyncio.to_thread(_release_dead_senders_leases, runtime, messaging)
        for channel in messaging.channels.values():
            await channel.start()

    async def stop() -> None:
        for channel in reversed(list(messaging.channels.values())):
            await channel.stop()

    runtime.add_lifecycle(start, stop)


def _release_dead_senders_leases(runtime: Runtime, messaging: Messaging) -> None:
    # One process per SQLite database: replies a crash left mid-send go out now, not after the lease.
    with runtime.sessions() as session:
        released = outbox.release_leases(
            session, now=utcnow(), lease_seconds=messaging.dispatcher.retry_policy.lease_seconds
        )
    if released:
        log.info("outbox: %d replies a stopped process left unsent are due again", released)


def _give_cursor_stores(channels: dict[str, Channel], store: DatabaseCursorStore) -> None:
    # Channels that read a provider's feed by position (X's since_id) persist it here; they take the
    # store after construction because channels never import bot.
    for channel in channels.values():
        if hasattr(channel, "cursor_store"):
            setattr(channel, "cursor_store", store)  # noqa: B010


def _backend(runtime: Runtime) -> RequestBackend:
    settings = runtime.settings
    if settings.remote.enabled:
        from bot.remote.backend import RemoteBackend

        return RemoteBackend.from_settings(settings.remote, runtime.sessions)
    return EmbeddedBackend(runtime.open311)
