"""Everything a running deployment holds, built once from Settings: the database engine and sessions,
the service catalog, the Open311 core, API keys, media storage, and lifecycle hooks.

Other parts get what they need from here (``app.state.runtime``) instead of building their own, and add
start/stop work with ``add_lifecycle``; the app's lifespan runs the hooks in order and stops them in
reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.config import Settings
from bot.db import SessionFactory, make_engine, make_session_factory, migrate
from bot.open311.catalog import Catalog, load_catalog
from bot.open311.events import EventBus
from bot.open311.keys import KeyStore
from bot.open311.media import MediaStore
from bot.open311.sandbox import fresh_sandbox_database, reset_sandbox
from bot.open311.service import Open311Service

Hook = Callable[[], Awaitable[None]]


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: SessionFactory
    catalog: Catalog
    events: EventBus
    keys: KeyStore
    open311: Open311Service
    media: MediaStore
    _starts: list[Hook] = field(default_factory=list)
    _stops: list[Hook] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, *, apply_migrations: bool = True) -> Runtime:
        """Builds the runtime; applies pending migrations unless told not to. In sandbox mode the
        database is the sandbox's own file, reset to its fixed test cases."""
        catalog = load_catalog(settings.open311.catalog_file)
        sandbox = settings.open311.sandbox
        url = fresh_sandbox_database(settings.data_dir) if sandbox else settings.effective_database_url
        engine = make_engine(url)
        if apply_migrations or sandbox:
            migrate(engine)
        if sandbox:
            reset_sandbox(engine, catalog, settings.open311.jurisdictions[0])
        sessions = make_session_factory(engine)
        events = EventBus()
        keys = KeyStore(sessions)
        service = Open311Service(sessions, catalog, settings.open311, keys, events, sandbox=sandbox)
        public = settings.server.public_url.rstrip("/")
        media = MediaStore(
            directory=settings.data_dir / "media",
            public_base_url=f"{public}{settings.open311.base_path.rstrip('/')}/media",
            allowed_types=settings.open311.media_types,
            max_bytes=settings.open311.media_max_bytes,
        )
        return cls(settings, engine, sessions, catalog, events, keys, service, media)

    def add_lifecycle(self, start: Hook | None = None, stop: Hook | None = None) -> None:
        if start is not None:
            self._starts.append(start)
        if stop is not None:
            self._stops.append(stop)

    async def start(self) -> None:
        for hook in self._starts:
            await hook()

    async def stop(self) -> None:
        for hook in reversed(self._stops):
            await hook()

    def close(self) -> None:
        self.engine.dispose()
