"""The conversation side of the app: understanding, the conversation engine, the dispatcher and the
channels, built once from the runtime and mounted on the web app (one line in ``bot.app.APP_PARTS``).

Other parts find them on ``app.state.messaging`` (the dispatcher drains the outbox; the operator console
uses the review queue).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI

from bot.backend import RequestBackend
from bot.config import ConfigError, Settings
from bot.conversation import ConversationEngine
from bot.cursors import DatabaseCursorStore
from bot.dispatcher import Dispatcher
from bot.embedded_backend import EmbeddedBackend
from bot.follow_commands import follow_command_hooks
from bot.outbox import RetryPolicy
from bot.review.queue import ReviewQueue
from bot.runtime import Runtime
from bot.templates import Templates, load_templates
from channels.base import Channel
from channels.registry import ChannelUnavailable, build_channels
from intents.types import Understander


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
    templates = load_templates(conversation.templates_file, conversation.default_language)
    backend = _backend(runtime)
    understander = understander or load_understander(settings)
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
        ),
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
        for channel in messaging.channels.values():
            await channel.start()

    async def stop() -> None:
        for channel in reversed(list(messaging.channels.values())):
            await channel.stop()

    runtime.add_lifecycle(start, stop)


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

        return RemoteBackend(runtime.sessions, settings.remote.classifier_classes)
    return EmbeddedBackend(runtime.open311)


def load_understander(settings: Settings) -> Understander:
    """The intents pipeline for these settings; loaded once per process and shared (it is read-only)."""
    geocoder = settings.intents.geocoder
    return _load_pipeline(
        settings.intents.model_path,
        geocoder.provider,
        json.dumps(geocoder.options, sort_keys=True),
        geocoder.api_key.get_secret_value() if geocoder.api_key else None,
        geocoder.min_delay_seconds,
        geocoder.cache_size,
        (geocoder.boundary[0], geocoder.boundary[1], geocoder.boundary[2], geocoder.boundary[3]),
        settings.intents.auto_file_threshold,
    )


@lru_cache(maxsize=4)
def _load_pipeline(
    model_path: Path | None,
    provider: str,
    options_json: str,
    api_key: str | None,
    min_delay_seconds: float,
    cache_size: int,
    boundary: tuple[float, float, float, float],
    auto_file_threshold: float | None = None,
) -> Understander:
    from intents.pipeline import load_pipeline

    return load_pipeline(
        model_path,
        geocoder_provider=provider,
        geocoder_options=json.loads(options_json),
        geocoder_api_key=api_key,
        min_delay_seconds=min_delay_seconds,
        cache_size=cache_size,
        boundary=boundary,
        auto_file_threshold=auto_file_threshold,
    )
