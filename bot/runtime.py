"""Everything a running deployment holds, built once from Settings: the database engine and sessions,
the service catalog, the Open311 core, API keys, media storage, and lifecycle hooks.

Other parts get what they need from here (``app.state.runtime``) instead of building their own, and add
start/stop work with ``add_lifecycle``; the app's lifespan runs the hooks in order and stops them in
reverse.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.config import ConfigError, GeocoderSettings, Settings, StartupError
from bot.db import SessionFactory, make_engine, make_session_factory, migrate
from bot.open311.catalog import Catalog, CatalogError, load_catalog
from bot.open311.events import EventBus
from bot.open311.keys import KeyStore
from bot.open311.media import MediaStore
from bot.open311.sandbox import fresh_sandbox_database, reset_sandbox
from bot.open311.service import Open311Service
from bot.open311.validation import AreaServed

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
    def build(
        cls,
        settings: Settings,
        *,
        apply_migrations: bool = True,
        sandbox_dir: Path | None = None,
        database_url: str | None = None,
    ) -> Runtime:
        """Builds the runtime; applies pending migrations unless told not to. In sandbox mode the
        database is the sandbox's own file (in ``sandbox_dir``, data_dir unless given: ``serve --check``
        gives a scratch one), reset to its fixed test cases. ``database_url`` stands in for the configured
        database (``serve --check`` builds on a scratch one where serve would create the file)."""
        catalog = configured_catalog(settings)
        sandbox = settings.open311.sandbox
        sandbox_url = fresh_sandbox_database(sandbox_dir or settings.data_dir) if sandbox else None
        url = sandbox_url or database_url or settings.effective_database_url
        engine = open_database(url, apply_migrations=apply_migrations or sandbox)
        if sandbox:
            reset_sandbox(engine, catalog, settings.open311.jurisdictions[0])
        sessions = make_session_factory(engine)
        events = EventBus()
        keys = KeyStore(sessions)
        serves = None if sandbox else area_served(settings.intents.geocoder)
        service = Open311Service(
            sessions, catalog, settings.open311, keys, events, sandbox=sandbox, serves=serves
        )
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


def configured_catalog(settings: Settings) -> Catalog:
    """The service catalog ``open311.catalog_file`` names (the bundled one when none); a ConfigError naming
    the key when it cannot be used."""
    try:
        return load_catalog(settings.open311.catalog_file)
    except CatalogError as exc:
        raise ConfigError(f"open311.catalog_file: {exc}") from exc
    except OSError as exc:  # a file that vanished or cannot be read since the settings were checked
        raise ConfigError(f"open311.catalog_file: cannot read {exc.filename}: {exc.strerror or exc}") from exc


def area_served(geocoder: GeocoderSettings) -> AreaServed:
    """Whether a point lies in the area residents are served: ``[intents.geocoder] boundary`` and, where
    drawn, the limits in ``boundary_file``, as the conversation's resolver decides "outside the area we
    serve" (``GeopyPlaceResolver.serves``). The Open311 core holds API submissions to it."""
    from intents.geocoding import CityLimits, inside  # here: geopy and shapely load with a runtime only

    south, west, north, east = geocoder.boundary
    box = (south, west, north, east)
    limits = CityLimits.from_file(geocoder.boundary_file) if geocoder.boundary_file is not None else None

    def serves(lat: float, long: float) -> bool:
        return inside(box, lat, long) and (limits is None or limits.contains(lat, long))

    return serves


def open_database(
    url: str, *, apply_migrations: bool = True, pool_size: int = 10, say_upgrades: bool = False
) -> Engine:
    """An engine for ``url`` that has connected once (and applied pending migrations unless told not to);
    a database that cannot be reached is a StartupError naming it (without its password) and why.
    ``say_upgrades``: a command with no log (``keys``, ``operators``) says on stderr that it upgraded the
    schema, which the release before can no longer use."""
    engine = make_engine(url, pool_size=pool_size)
    try:
        if apply_migrations:
            upgraded = migrate(engine)
            if upgraded and say_upgrades:
                print(f"open311-bot: {upgraded}", file=sys.stderr, flush=True)
        else:
            with engine.connect():
                pass
    except StartupError:
        engine.dispose()
        raise
    except (OperationalError, InterfaceError) as exc:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig or exc).split())
        raise StartupError(f"cannot connect to the database at {shown}: {reason}") from exc
    return engine
