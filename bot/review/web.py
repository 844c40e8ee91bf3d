"""What every console route shares: the session per request, who is signed in, the CSRF check, the
security headers, and reading filters and fields from requests.

The console object lives on ``app.state.operator_console`` (set by ``routes.install_console``), so these
dependencies are plain module-level functions the page and JSON routers both use.

No ``from __future__ import annotations`` here: FastAPI reads the dependency aliases at runtime.
"""

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.clock import as_utc
from bot.open311.models import ServiceRequestRow
from bot.review import decisions, views
from bot.review.auth import SESSION_COOKIE, SignedIn, keep_alive, resolve_session, tokens_match
from bot.review.console import Console
from bot.review.forms import FieldProblems

PREFIX = "/operator"
CSRF_HEADER = "X-CSRF-Token"


class NotSignedIn(Exception):
    """No valid session: pages (and their forms) send the browser to the sign-in form, JSON answers 401."""

    def __init__(self) -> None:
        super().__init__("sign in first")


class FormExpired(Exception):
    """A console form posted by a signed-in operator with a CSRF token that is not their session's (the page
    was loaded before they signed out and in again): the page comes back, filled in as it was sent."""

    def __init__(self, operator: SignedIn, form: FormData | None) -> None:
        super().__init__("the form's security token is missing or wrong")
        self.operator = operator
        self.form = form


def whole_number(text: str, max_digits: int = 9) -> int | None:
    """``text`` as a number when it is ASCII digits only (``"²".isdigit()`` is true, yet ``int("²")``
    fails) and short enough for any database's integer; None otherwise."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= max_digits else None


def is_console_api(path: str) -> bool:
    return path == PREFIX + "/api" or path.startswith(PREFIX + "/api/")


def is_console_page(path: str) -> bool:
    """A path of the console's HTML pages (and their forms): under /operator, not under /operator/api."""
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not is_console_api(path)


def form_page(request: Request) -> str:
    """The console page a form was posted from: the Referer's path when it is a page of this console, else
    the page that holds the form for this action (an item's actions are on the item's page)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if (
        referer.netloc == request.headers.get("host")
        and is_console_page(referer.path)
        and "//" not in referer.path
        and not referer.path.startswith((PREFIX + "/sign-in", PREFIX + "/static/"))
    ):
        return referer.path
    parts = request.url.path.removeprefix(PREFIX).strip("/").split("/")
    if len(parts) == 3 and parts[0] in ("queue", "requests"):
        return f"{PREFIX}/{parts[0]}/{parts[1]}"
    if parts[0] == "batch":
        return f"{PREFIX}/batch"
    return f"{PREFIX}/"


def same_origin(request: Request) -> bool:
    """Whether a form was sent from a page of this site (its Origin, else its Referer, is this host)."""
    host = request.headers.get("host")
    origin = request.headers.get("origin")
    if origin:
        return urlsplit(origin).netloc == host
    return urlsplit(request.headers.get("referer", "")).netloc == host


def console_of(request: Request) -> Console:
    console: Console = request.app.state.operator_console
    return console


def db_session(request: Request) -> Iterator[Session]:
    with console_of(request).sessions() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, console: Console, token: str) -> None:
    """The session cookie, kept by the browser as long as the session lasts without use."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(console.settings.operator.session_hours * 3600),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
    )


# Where signed_in leaves the session cookie to send again when the session's end moved (ConsoleHeaders
# adds it to the response: a route that returns its own Response gets no headers from a dependency).
RENEWED_COOKIE = "console_renewed_session_cookie"


def signed_in(request: Request, session: DB) -> SignedIn:
    """The operator whose session this is; using it moves the session's end (and the cookie's) further."""
    token = request.cookies.get(SESSION_COOKIE)
    operator = resolve_session(session, token)
    if operator is None or token is None:
        raise NotSignedIn()
    console = console_of(request)
    if keep_alive(session, token, console.settings.operator.session_hours) is not None:
        carrier = Response()
        set_session_cookie(carrier, console, token)
        setattr(request.state, RENEWED_COOKIE, carrier.headers["set-cookie"].encode("latin-1"))
    return operator


Operator = Annotated[SignedIn, Depends(signed_in)]


# Routes and dependencies that touch the database are plain functions, which FastAPI runs in its thread
# pool: one waiting for a pooled connection (or hashing a password) must never hold up the event loop, where
# every other request of every route waits behind it (40 failed sign-ins at once froze the whole server).
# What a POST carries is read by the async dependencies below, which touch no database.


async def posted_form(request: Request) -> FormData:
    """The form a POST carries (read once; Starlette keeps it for the route and the CSRF check)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


async def json_object(request: Request) -> dict[str, Any]:
    """The JSON object a console API POST carries ({} when it has no body)."""
    try:
        body = await request.json() if await request.body() else {}
    except ValueError as exc:
        raise HTTPException(400, "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


JSONObject = Annotated[dict[str, Any], Depends(json_object)]


async def sent_csrf_token(request: Request) -> tuple[str | None, FormData | None]:
    """The CSRF token a POST carries (the X-CSRF-Token header, or a console form's field) and the form."""
    given = request.headers.get(CSRF_HEADER)
    form = None
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    return given, form


def checked(
    request: Request,
    session: DB,
    sent: Annotated[tuple[str | None, FormData | None], Depends(sent_csrf_token)],
) -> SignedIn:
    """A signed-in operator whose POST carries the session's CSRF token (form field or header). A console
    form without it raises FormExpired (its page comes back, filled in); JSON gets 403."""
    operator = signed_in(request, session)
    given, form = sent
    if not tokens_match(operator.csrf_token, given):
        if is_console_page(request.url.path):
            raise FormExpired(operator, form)
        raise HTTPException(403, "the security token (X-CSRF-Token) is missing or wrong")
    return operator


Checked = Annotated[SignedIn, Depends(checked)]


def item_or_404(console: Console, session: Session, item_id: int) -> views.ItemView:
    item = views.get_item(session, item_id, claim_minutes=console.claim_minutes)
    if item is None:
        raise HTTPException(404, f"there is no review item {item_id}")
    return item


def request_row(session: Session, request_id: str) -> ServiceRequestRow:
    number = whole_number(request_id)
    row = session.get(ServiceRequestRow, number) if number is not None else None
    if row is None:
        raise HTTPException(404, f"there is no request {request_id}")
    return row


# The request search form's labels, for its page's errors (the JSON endpoint names its parameters).
FILTER_LABELS = {
    "start": "\u201cFrom\u201d",
    "end": "\u201cTo\u201d",
    "status": "\u201cStatus\u201d",
    "service_code": "\u201cService\u201d",
}


def filters_from(
    request: Request,
    labels: Mapping[str, str] | None = None,
    *,
    services: Collection[str] = (),
    statuses: Collection[str] = (),
) -> views.RequestFilters:
    """The request search's filters from the query string; 400 naming the filter that is not valid, by
    its label in ``labels`` (a page's) or else by its parameter. A status or service none of ``statuses``
    or ``services``, and a start after the end, are not valid: they would find nothing whatever there is."""
    params = request.query_params

    def day(key: str) -> date | None:
        text = params.get(key, "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            example = datetime.now(UTC).date().isoformat()
            name = (labels or {}).get(key, key)
            raise HTTPException(400, f"{name} must be a date like {example}") from None

    page = whole_number(params.get("page", "").strip() or "1")
    if page is None:
        raise HTTPException(400, "page must be a whole number like 2")
    filters = views.RequestFilters(
        q=params.get("q", "").strip(),
        service_code=params.get("service_code", "").strip(),
        status=params.get("status", "").strip(),
        channel=params.get("channel", "").strip(),
        area=params.get("area", "").strip(),
        start=day("start"),
        end=day("end"),
        page=max(1, page),
    )

    def name(key: str) -> str:
        return (labels or {}).get(key, key)

    if filters.status and statuses and filters.status not in statuses:
        raise HTTPException(400, f"{name('status')} must be one of: {', '.join(statuses)}")
    if filters.service_code and services and filters.service_code not in services:
        raise HTTPException(400, f"{name('service_code')} has no service {filters.service_code!r}")
    if filters.start and filters.end and filters.start > filters.end:
        raise HTTPException(
            400, f"{name('start')} ({filters.start}) is later than {name('end')} ({filters.end})"
        )
    return filters


DASHBOARD_PERIODS = (7, 30, 90, 365)


def dashboard_days(request: Request) -> int:
    """The dashboard's period in days (``?days=``): one of DASHBOARD_PERIODS, 30 by default."""
    text = request.query_params.get("days", "30")
    if whole_number(text) not in DASHBOARD_PERIODS:
        allowed = ", ".join(str(days) for days in DASHBOARD_PERIODS)
        raise HTTPException(400, f"days must be one of {allowed}")
    return int(text)


def attribute_answers(items: Any) -> dict[str, str | list[str]] | None:
    """``attribute[code]`` and ``attribute[code][]`` form fields as attribute answers; None when none."""
    answers: dict[str, str | list[str]] = {}
    for key, value in items:
        if not isinstance(value, str) or not key.startswith("attribute[") or not value.strip():
            continue
        if key.endswith("[]"):
            listed = answers.setdefault(key[len("attribute[") : -3], [])
            if isinstance(listed, list):
                listed.append(value)
        elif key.endswith("]"):
            answers[key[len("attribute[") : -1]] = value.strip()
    return answers or None


def valid_answers(answers: Any) -> bool:
    def valid(value: Any) -> bool:
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))

    return isinstance(answers, dict) and all(valid(value) for value in answers.values())


COORDINATES = (("lat", "Latitude", 90.0, "37.7749"), ("long", "Longitude", 180.0, "-122.4194"))


def coordinates(lat_text: str, long_text: str) -> tuple[float | None, float | None]:
    """Both coordinates, or neither; FieldProblems names each one that is wrong."""
    if not lat_text and not long_text:
        return None, None
    problems: dict[str, str] = {}
    numbers: dict[str, float] = {}
    # Each field checked on its own, so every wrong one is named at once ("Latitude must be a number" hid
    # a longitude of -200 until the latitude was fixed).
    for (key, label, limit, example), text in zip(COORDINATES, (lat_text, long_text), strict=True):
        try:
            numbers[key] = float(text)
        except ValueError:
            problems[key] = (
                f"Give the {label.lower()} too, or leave both empty."
                if not text
                else f"{label} must be a number, like {example}."
            )
            continue
        if not -limit <= numbers[key] <= limit:
            problems[key] = f"{label} must be between -{limit:g} and {limit:g}."
    if problems:
        raise FieldProblems(" ".join(problems.values()), problems)
    return numbers["lat"], numbers["long"]


# What a request's change may name: its status and what goes with it (residents following it are told),
# and its published words (no one is told).
CHANGE_FIELDS = decisions.REQUEST_CHANGE_FIELDS
# The request's updated_datetime as the change's sender read it (a page's form, a JSON answer); and the
# prefix of the form's hidden copies of what its page showed (``shown_status_notes``).
VERSION = "version"
SHOWN = "shown_"


def edited(entered: Mapping[str, str], shown: Mapping[str, str]) -> dict[str, str]:
    """The fields of a request's change form that its operator changed: those not as their page showed them
    (a field without its shown copy, from a page made before pages kept one, counts as changed)."""
    return {
        key: value
        for key, value in entered.items()
        if key not in shown or not decisions.same_value(value, shown[key])
    }


def version_of(value: Any) -> datetime | None:
    """A change's ``version``: the request's updated_datetime as read (ISO 8601); none when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise ValueError(
        "version must be the request's updated_datetime as you read it, like 2026-11-27T17:30:00.123456+00:00"
    )


def request_change(
    given: Mapping[str, Any], zone: tzinfo = UTC, shown: Mapping[str, Any] | None = None
) -> decisions.RequestChange:
    """A form's (or JSON body's) fields as a change: a field left out stays as it is, an empty one is
    cleared (an empty status is left out). An expected date without a zone is read in ``zone`` (the
    city's: the form shows it in the city's time). Its ``version``, and ``shown`` (what the page showed of
    these fields, read the same way), go with it: they tell a field someone else changed meanwhile."""
    fields: dict[str, Any] = {}
    for key in CHANGE_FIELDS:
        if key not in given:
            continue
        value = given[key]
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be text")
        fields[key] = (value or "").strip()
    if not fields.get("status"):
        fields.pop("status", None)
    if not fields:
        raise ValueError(f"give at least one of {', '.join(CHANGE_FIELDS)}")
    if "expected_datetime" in fields:
        expected_text = fields["expected_datetime"]
        expected = None
        if expected_text:
            try:
                expected = datetime.fromisoformat(expected_text)
            except ValueError:
                raise FieldProblems(
                    f"the expected date {expected_text!r} is not a date and time",
                    {"expected_datetime": "Expected by must be a date and time, like 2026-11-27 09:30."},
                ) from None
            expected = expected.replace(tzinfo=zone) if expected.tzinfo is None else expected
        fields["expected_datetime"] = expected
    seen = request_change(shown, zone) if shown else None
    return decisions.RequestChange(**fields, version=version_of(given.get(VERSION)), shown=seen)


def request_json(row: ServiceRequestRow) -> dict[str, Any]:
    return {
        "service_request_id": str(row.id),
        "service_code": row.service_code,
        "service_name": row.service_name,
        "status": row.status,
        "status_notes": row.status_notes,
        "channel": row.channel,
        "description": row.description,
        "address": row.address,
        "lat": row.lat,
        "long": row.long,
        "agency_responsible": row.agency_responsible,
        "requested_datetime": row.requested_datetime.isoformat(),
        "updated_datetime": row.updated_datetime.isoformat(),
        "expected_datetime": row.expected_datetime.isoformat() if row.expected_datetime else None,
    }


class ConsoleHeaders:
    """Pure ASGI middleware: console pages hold residents' words and must not be cached, framed, or run
    scripts from anywhere, nor load images from anywhere but here (``media_origin``: where the photos the
    bot stored are served, when that is not the console's own origin)."""

    def __init__(self, app: ASGIApp, media_origin: str = "") -> None:
        self.app = app
        # Only our own copies of photos are shown: an image on another site, loaded by the operator's
        # browser, tells that site when an operator opens the report (and can point the browser at the
        # city's internal addresses). Others are links (``photo_link``).
        images = " ".join(filter(None, ("'self'", "data:", media_origin)))
        self.headers: tuple[tuple[bytes, bytes], ...] = (
            (b"cache-control", b"no-store"),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (
                b"content-security-policy",
                f"default-src 'self'; img-src {images}; style-src 'self'; script-src 'none'; "
                "frame-ancestors 'none'; form-action 'self'".encode(),
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [(name, value) for name, value in self.headers if name not in present]
                # The session's cookie again, its end moved (signed_in), unless the response sets or ends
                # it itself (signing in or out).
                renewed = scope.get("state", {}).get(RENEWED_COOKIE)
                cookie = SESSION_COOKIE.encode() + b"="
                if renewed and not any(
                    name.lower() == b"set-cookie" and value.startswith(cookie) for name, value in headers
                ):
                    extra.append((b"set-cookie", renewed))
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
