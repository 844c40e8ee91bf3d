"""What every console route shares: the session per request, who is signed in, the CSRF check, the
security headers, and reading filters and fields from requests.

The console object lives on ``app.state.operator_console`` (set by ``routes.install_console``), so these
dependencies are plain module-level functions the page and JSON routers both use.

No ``from __future__ import annotations`` here: FastAPI reads the dependency aliases at runtime.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.open311.models import ServiceRequestRow
from bot.review import decisions, views
from bot.review.auth import SESSION_COOKIE, SignedIn, resolve_session, tokens_match
from bot.review.console import Console

PREFIX = "/operator"
CSRF_HEADER = "X-CSRF-Token"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in form, everything else answers 401."""

    def __init__(self, wants_html: bool, next_path: str) -> None:
        super().__init__("sign in first")
        self.wants_html = wants_html
        self.next_path = next_path


def console_of(request: Request) -> Console:
    console: Console = request.app.state.operator_console
    return console


def db_session(request: Request) -> Iterator[Session]:
    with console_of(request).sessions() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signed_in(request: Request, session: DB) -> SignedIn:
    operator = resolve_session(session, request.cookies.get(SESSION_COOKIE))
    if operator is None:
        wants_html = request.method == "GET" and "/api/" not in request.url.path
        raise NotSignedIn(wants_html, request.url.path)
    return operator


Operator = Annotated[SignedIn, Depends(signed_in)]


async def checked(request: Request, session: DB) -> SignedIn:
    """A signed-in operator whose POST carries the session's CSRF token (form field or header)."""
    operator = signed_in(request, session)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not tokens_match(operator.csrf_token, given):
        raise HTTPException(403, "the form's security token is missing or wrong; reload the page")
    return operator


Checked = Annotated[SignedIn, Depends(checked)]


def item_or_404(console: Console, session: Session, item_id: int) -> views.ItemView:
    item = views.get_item(session, item_id, claim_minutes=console.claim_minutes)
    if item is None:
        raise HTTPException(404, f"there is no review item {item_id}")
    return item


def request_row(session: Session, request_id: str) -> ServiceRequestRow:
    row = session.get(ServiceRequestRow, int(request_id)) if request_id.isdigit() else None
    if row is None:
        raise HTTPException(404, f"there is no request {request_id}")
    return row


def filters_from(request: Request) -> views.RequestFilters:
    params = request.query_params
    try:
        return views.RequestFilters(
            q=params.get("q", "").strip(),
            service_code=params.get("service_code", "").strip(),
            status=params.get("status", "").strip(),
            channel=params.get("channel", "").strip(),
            area=params.get("area", "").strip(),
            start=date.fromisoformat(params["start"]) if params.get("start") else None,
            end=date.fromisoformat(params["end"]) if params.get("end") else None,
            page=max(1, int(params.get("page", "1") or "1")),
        )
    except ValueError as exc:
        raise HTTPException(400, f"a filter is not valid: {exc}") from exc


DASHBOARD_PERIODS = (7, 30, 90, 365)


def dashboard_days(request: Request) -> int:
    """The dashboard's period in days (``?days=``): one of DASHBOARD_PERIODS, 30 by default."""
    text = request.query_params.get("days", "30")
    if not text.isdigit() or int(text) not in DASHBOARD_PERIODS:
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


def coordinates(lat_text: str, long_text: str) -> tuple[float | None, float | None]:
    if not lat_text and not long_text:
        return None, None
    try:
        lat, long = float(lat_text), float(long_text)
    except ValueError:
        raise ValueError("latitude and longitude must both be numbers (or both empty)") from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise ValueError("latitude is between -90 and 90, longitude between -180 and 180")
    return lat, long


CHANGE_FIELDS = ("status", "status_notes", "agency_responsible", "expected_datetime")


def request_change(given: dict[str, Any]) -> decisions.RequestChange:
    """A form's (or JSON body's) fields as a change: a field left out stays as it is, an empty one is
    cleared (an empty status is left out). An expected date without a zone is read as UTC."""
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
                raise ValueError(f"the expected date {expected_text!r} is not a date and time") from None
            expected = expected.replace(tzinfo=UTC) if expected.tzinfo is None else expected
        fields["expected_datetime"] = expected
    return decisions.RequestChange(**fields)


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
    scripts from anywhere."""

    HEADERS: tuple[tuple[bytes, bytes], ...] = (
        (b"cache-control", b"no-store"),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (
            b"content-security-policy",
            # Images from anywhere: residents' photos live on the providers' hosts (an image cannot run).
            b"default-src 'self'; img-src * data:; style-src 'self'; script-src 'none'; "
            b"frame-ancestors 'none'; form-action 'self'",
        ),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
