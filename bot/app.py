"""The web application: ``create_app(settings)`` builds the runtime and mounts every part on one app.

The Open311 API is mounted here (with ``[remote] enabled``, only the photos it stores: ``photos_only``);
every other part (channel webhooks, operator pages, the scheduler) is a module in ``APP_PARTS`` with a
``mount(app, runtime)`` function that adds its routes and, through ``runtime.add_lifecycle(start, stop)``,
its start-up and shutdown work. Adding a part is one line.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import logging
import pathlib
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import (
    ConfigError,
    GeocoderSettings,
    Settings,
    check_channel_settings,
    check_classifier_classes,
)
from bot.open311.api import build_router, error_response, format_of, install_error_handlers
from bot.open311.catalog import Catalog
from bot.open311.cors import Open311CorsMiddleware
from bot.runtime import Runtime
from bot.templates import TemplateError, load_templates
from bot.unread_body import DrainUnreadBody

log = logging.getLogger(__name__)

# One line per part; each module has mount(app: FastAPI, runtime: Runtime) -> None.
APP_PARTS: tuple[str, ...] = (
    "bot.health",  # /readyz: 503 while the database does not answer (/healthz below stays bare)
    "bot.review.routes",  # the operator console under /operator
    "bot.messaging",  # understanding, conversation, dispatcher and channels
    "bot.jobs.part",  # apscheduler jobs (outbox, notifications, batch acceptance, X, remote); after messaging
)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The app for ``settings``; builds (and at shutdown closes) its own Runtime unless given one.

    What the configuration names is checked here, before anything starts: a problem is a ConfigError
    naming the key (the channels' credentials, the templates, the catalog, the model and geocoder), and an
    unreachable database a StartupError."""
    check_channel_settings(settings)
    check_templates(settings)
    owned = runtime is None
    active = runtime or Runtime.build(settings)
    check_understanding(settings, active.catalog)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await active.start()
        try:
            yield
        finally:
            await active.stop()
            if owned:
                active.close()

    # Swagger UI and ReDoc (/docs, /redoc) from files of our own, not from a CDN: a city network may have no
    # way out, and its pages should run no third party's scripts.
    app = FastAPIOffline(
        title="open311-bot",
        version="0.1.0",
        description="A city's 311 intake bot with an embedded Open311 GeoReport v2 server.",
        lifespan=lifespan,
    )
    app.state.runtime = active
    app.state.settings = settings

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        # Deliberately bare: the benchmark's baseline for the cost of the stack itself.
        return Response(b"ok", media_type="text/plain")

    mount_open311(app, active)
    for module_name in APP_PARTS:
        importlib.import_module(module_name).mount(app, active)
    # Outermost: a body over the limit is refused before any part reads it.
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.server.max_body_bytes, open311_path=settings.open311.base_path
    )
    # Around it: an early answer (that 413) waits until the client has finished sending, so it is read.
    app.add_middleware(DrainUnreadBody)
    app.add_middleware(HeadAsGet)
    return app


def check_templates(settings: Settings) -> None:
    """The reply templates load, and there are some in ``conversation.default_language``."""
    conversation = settings.conversation
    try:
        templates = load_templates(conversation.templates_file)
    except TemplateError as exc:
        raise ConfigError(f"conversation.templates_file: {exc}") from exc
    language = conversation.default_language
    if language not in templates.languages:
        raise ConfigError(
            f"conversation.default_language: there are no templates in {language!r}; there are "
            f"{', '.join(sorted(templates.languages))} (a [{language}] table in conversation.templates_file "
            "adds a language)"
        )


def check_understanding(settings: Settings, catalog: Catalog) -> None:
    """Loads the intents pipeline (the model and the geocoder) as the conversation side will: it is loaded
    once per process and shared, so this costs nothing more, and a problem names its key. The classes
    ``[remote] classifier_classes`` or the catalog's services name are checked against the model's own, and
    another city's gazetteer against the boundary."""
    from geopy.exc import GeopyError

    from bot.understanding import pipeline_from_settings
    from intents.pipeline import ModelError

    try:
        pipeline = pipeline_from_settings(settings.intents)
    except ModelError as exc:
        raise ConfigError(f"intents.model_path: {exc}") from exc
    except (GeopyError, ValueError) as exc:  # an unknown option, a gazetteer missing its files
        raise ConfigError(f"intents.geocoder: {exc}") from exc
    check_classifier_classes(settings.remote, pipeline.service_codes)
    if not settings.remote.enabled:
        check_catalog_classes(catalog, pipeline.service_codes)
    check_gazetteer_inside_boundary(settings.intents.geocoder)


def check_catalog_classes(catalog: Catalog, classes: list[str]) -> None:
    """Refuses a service whose ``classifier_class`` is not one of the model's ``classes``: a misspelt one
    ("potholes") silently sent every report of that kind to a person. Warns of a class no service receives
    (a service without ``classifier_class`` receives only its own code): the bot can file none of those
    reports itself."""
    unknown = [
        f'{service.code} (classifier_class = "{service.classifier_class}")'
        for service in catalog.services
        if "classifier_class" in service.model_fields_set and service.classifier_class not in classes
    ]
    if unknown:
        raise ConfigError(
            f"open311.catalog_file: {', '.join(unknown)}: not a class of the classifier; its classes are "
            f"{', '.join(sorted(classes))}"
        )
    received = {service.classifier_class for service in catalog.services}
    # "other" is the class of what a person must look at anyway.
    unreceived = [name for name in classes if name not in received and name != "other"]
    if unreceived:
        log.warning(
            "open311.catalog_file: no service receives the classifier's class%s %s (a service names the "
            "class it receives in classifier_class): a person files every such report",
            "es" if len(unreceived) > 1 else "",
            ", ".join(unreceived),
        )


def check_gazetteer_inside_boundary(geocoder: GeocoderSettings) -> None:
    """Refuses another city's offline gazetteer none of whose corners lies in ``boundary``: the default
    boundary is San Francisco's box, so a city that brought its gazetteer but not its limits had every
    place a resident named reported as outside the area. Only ``intersections.csv`` is read (it is small;
    the addresses load at first use)."""
    from intents.gazetteer import INTERSECTIONS_FILE
    from intents.geocoding import OFFLINE_PROVIDER

    data_dir = geocoder.options.get("data_dir")
    if geocoder.provider.strip().lower() != OFFLINE_PROVIDER or not data_dir:
        return
    south, west, north, east = geocoder.boundary
    lats: list[float] = []
    longs: list[float] = []
    with open(pathlib.Path(str(data_dir)) / INTERSECTIONS_FILE, encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            lat, long = float(record["lat"]), float(record["lon"])
            if south <= lat <= north and west <= long <= east:
                return
            lats.append(lat)
            longs.append(long)
    if not lats:
        return
    extent = [round(min(lats), 4), round(min(longs), 4), round(max(lats), 4), round(max(longs), 4)]
    default = "" if "boundary" in geocoder.model_fields_set else " (the default: San Francisco's)"
    raise ConfigError(
        f"intents.geocoder.boundary: none of the gazetteer's {len(lats)} corners in {data_dir} lies inside "
        f"{geocoder.boundary}{default}"
        f": every place would be outside the area; set boundary_file to the city's limits, or boundary "
        f"(the gazetteer spans {extent})"
    )


def mount_open311(app: FastAPI, runtime: Runtime) -> None:
    settings = runtime.settings
    router = build_router(runtime.open311, runtime.media, settings)
    app.include_router(photos_only(router, settings.remote.base_url) if settings.remote.enabled else router)
    install_error_handlers(app, settings.open311.base_path)
    if settings.open311.cors_origins:
        app.add_middleware(
            Open311CorsMiddleware,
            base_path=settings.open311.base_path,
            allow_origins=settings.open311.cors_origins,
        )
    # Batch acceptance runs as the "batch-acceptance" job of bot.jobs (one scheduler among all workers).


def photos_only(router: APIRouter, city_url: str) -> APIRouter:
    """The Open311 API of a bot that files into a remote city (``[remote] enabled``): only the photos it
    stores, which the requests it files there link to. Its own GeoReport API would take reports that never
    reach the city, under the bundled catalog's codes, and its discovery document would advertise that as
    the production endpoint; every other path says, in the spec's error format, where the city's is."""
    media = f"{router.prefix}/media/"
    kept = APIRouter()
    kept.routes.extend(route for route in router.routes if getattr(route, "path", "").startswith(media))
    elsewhere = (
        f"this bot files reports into the city's own Open311 GeoReport v2 endpoint, {city_url}; it serves "
        "no GeoReport API of its own"
    )

    async def not_here(request: Request) -> Response:
        return error_response(format_of(request.url.path), 404, elsewhere)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    kept.routes.append(Route(f"{router.prefix}/{{path:path}}", not_here, methods=methods))
    return kept


class BodySizeLimit:
    """Refuses a request body larger than ``server.max_body_bytes`` with 413 before reading on: at once
    when its Content-Length says so, or as soon as a chunked body passes the limit (whatever the route
    then answers is replaced by the 413). The Open311 API's own paths are left to the API, which applies
    the same limit and answers in the spec's error format."""

    def __init__(self, app: ASGIApp, max_bytes: int, open311_path: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.open311_prefix = open311_path.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self.open311_prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        too_large = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if too_large and not answered:
                return  # the route's own answer to a body it could not read: the 413 goes instead
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if answered:  # a route that answered before reading all of it: nothing to replace
                raise
        if too_large and not answered:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps({"error": f"the request body is larger than {self.max_bytes} bytes"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the body is not read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    """Raised into the route that reads past the limit."""


class HeadAsGet:
    """Answers HEAD wherever GET is, with GET's status and headers and no body: uptime monitors probe with
    HEAD, and FastAPI's routes answer only the methods they list (a tester found ``HEAD /healthz`` answered
    405 while ``HEAD /readyz``, which lists it, answered 200; the API documents and the console's sign-in
    page the same). One place for every route, so a new one cannot forget it.

    The app sees a GET; uvicorn, which keeps the request's own method, sends no body either."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
