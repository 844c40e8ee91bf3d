"""The operator console under ``/operator``: server-rendered pages and JSON endpoints, all behind sign-in.

- Sign-in: a form guarded by a double-submit CSRF cookie (there is no session yet), throttled per name
  and per client address; success opens a server-side session (``auth.py``) in an HttpOnly, SameSite=Strict
  cookie, Secure when the public URL is https.
- Every other route needs that session; every POST needs the session's CSRF token (a ``csrf_token`` form
  field, or an ``X-CSRF-Token`` header for JSON clients). Pages and their forms without a session redirect
  to sign-in (a form: ``next`` is the page it was on); a form with an expired token comes back filled in
  (403). JSON without a session gets 401, with a wrong or missing token 403.
- Errors on pages are pages in the console's layout; errors in JSON are ``{"error": "..."}``
  (``install_error_answers``); the rest of the app keeps its own.
- Every action writes an audit entry in the same transaction as the change (``audit.py``).
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route signatures at runtime.
import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from bot.backend import ranked_services
from bot.clock import as_utc, local_minute
from bot.embedded_backend import EmbeddedBackend
from bot.open311.errors import Open311Error
from bot.open311.media import more_photos
from bot.open311.models import ServiceRequestRow
from bot.review import (
    audit,
    city_requests,
    corrections,
    dashboard,
    decisions,
    forms,
    learning,
    photos,
    times,
    told_residents,
    undelivered,
    views,
)
from bot.review.api import api_router
from bot.review.auth import (
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    SignedIn,
    Throttled,
    resolve_session,
    sign_in,
    sign_out,
    tokens_match,
)
from bot.review.console import Console
from bot.review.forms import FieldProblems
from bot.review.map import online_map_url, render_map_svg
from bot.review.models import ReviewItem
from bot.review.queue import MAX_REASON, ReviewError, ReviewQueue
from bot.review.web import (
    CHANGE_FIELDS,
    DASHBOARD_PERIODS,
    DB,
    FILTER_LABELS,
    PREFIX,
    SHOWN,
    VERSION,
    Checked,
    ConsoleHeaders,
    FormExpired,
    NotSignedIn,
    Operator,
    PostedForm,
    attribute_answers,
    client_of,
    console_of,
    coordinates,
    dashboard_days,
    edited,
    filters_from,
    form_page,
    is_console_api,
    is_console_page,
    item_or_404,
    request_change,
    request_row,
    same_origin,
    set_session_cookie,
    whole_number,
)
from bot.runtime import Runtime
from bot.state import get_resident, is_opted_out
from bot.templates import configured_templates

HERE = Path(__file__).parent
# The reply that filed a request is written a moment after the follow row its filer got.
_MOMENT = timedelta(seconds=5)
NAV: tuple[tuple[str, str, str], ...] = (
    ("queue", "Review queue", "/"),
    ("requests", "Requests", "/requests"),
    ("batch", "Batch", "/batch"),
    ("dashboard", "Dashboard", "/dashboard"),
    ("undelivered", "Undelivered", "/undelivered"),
    ("learning", "Learning", "/learning"),
    ("audit", "Audit log", "/audit"),
)
# The most undelivered replies a page lists (newest first).
UNDELIVERED_LIMIT = 200
FLASHES = {
    "approved": "Approved and filed; the resident is being told the request id.",
    "rejected": "Rejected; the resident is being told why.",
    # The resident sent STOP: the outbox sends them nothing until they send START.
    "approved-untold": "Approved and filed; the resident is not told the request id (they sent STOP, so"
    " nothing is sent to them).",
    "rejected-untold": "Rejected; the resident is not told why (they sent STOP, so nothing is sent to them).",
    "released": "Put back in the queue.",
    "claimed": "Claimed: no one else can take this item while you work on it.",
    # Claiming again an item one holds renews the claim (``item_page`` says until when).
    "renewed": "Claim renewed.",
    "updated": "Saved; residents following this request are being told.",
    # Its words or agency alone: residents are told of a status, notes or an expected date.
    "updated-quietly": "Saved; no one is notified of this change.",
    "unchanged": "Nothing was changed, so nothing was saved.",
    "accepted": "Accepted and filed; the resident who sent it is being told its number.",
    "moved": "Report moved to the place the resident gave; nothing new was filed, and whoever filed or"
    " follows it is being told its new place.",
    "changed": "Report changed to the kind the resident gave; nothing new was filed, and whoever filed or"
    " follows it is being told what it is now.",
    "kept": "Report kept as it was filed; the resident is being told it stays so.",
    "closed": "Closed with your note; nothing was moved or filed.",
    "signed-out": "You have signed out.",
}
# The outcome first in the page's title too ("Approved – Review queue"): the title is read on arrival.
FLASH_TITLES = {
    "approved": "Approved",
    "approved-untold": "Approved",
    "rejected": "Rejected",
    "rejected-untold": "Rejected",
    "released": "Put back",
    "claimed": "Claimed",
    "renewed": "Claim renewed",
    "updated": "Saved",
    "updated-quietly": "Saved",
    "unchanged": "Nothing changed",
    "accepted": "Accepted",
    "moved": "Moved",
    "changed": "Changed",
    "kept": "Kept",
    "closed": "Closed",
    "signed-out": "Signed out",
}


def map_context(lat: float | None, long: float | None, place: str) -> dict[str, str]:
    """A page's map (an inline SVG and a link to an online map), empty where there is no point. The map is
    an image named "Map of" its ``place`` (the geocoded address, not a resident's raw words)."""
    if lat is None or long is None:
        return {"map_svg": "", "online_map_url": ""}
    label = f"Map of {place}" if place else ""
    return {"map_svg": render_map_svg(lat, long, label=label), "online_map_url": online_map_url(lat, long)}


TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
TEMPLATES.env.globals["console_path"] = PREFIX
TEMPLATES.env.filters["host_of"] = lambda url: urlsplit(str(url)).netloc or str(url)
TEMPLATES.env.filters["city_time"] = times.city_time
TEMPLATES.env.filters["language_label"] = views.language_label
TEMPLATES.env.globals["city_zone"] = times.city_zone


ERROR_TEMPLATE = "error.html"


def page(
    request: Request,
    template: str,
    operator: SignedIn | None,
    section: str,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page in the layout: the header, and the navigation when someone is signed in."""
    done = request.query_params.get("done", "")
    flash = context.pop("flash", FLASHES.get(done))
    # An error page (not found, not allowed) is titled as a refused form is.
    refused = template == ERROR_TEMPLATE or bool(context.get("error") or context.get("problems"))
    # The title, read first on arrival, says what happened: a refused form (WCAG 3.3.1), or the outcome of
    # what was just done (4.1.3).
    full_title = f"Error: {title}" if refused else title
    if flash and not refused and done in FLASH_TITLES:
        full_title = f"{FLASH_TITLES[done]} \u2013 {title}"
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "operator": operator,
            "section": section,
            "page_title": full_title,
            "heading": title,
            # Photos served from here are shown; others are links (``ConsoleHeaders``' image policy).
            "own_media": console_of(request).media_prefix,
            # Filing into a remote city: its requests are the bot's reports to it (``city_requests``).
            "remote": console_of(request).remote,
            "problems": {},
            "nav": [(key, label, PREFIX + href) for key, label, href in NAV],
            "flash": flash,
            "flash_kind": "ok",
            **context,
        },
        status_code=status_code,
    )


def error_page(
    request: Request, operator: SignedIn | None, status_code: int, message: str, back_href: str = ""
) -> HTMLResponse:
    """An error as a console page: what went wrong in words for a person, and a link back to where they were
    (by default the list page of the section the address is in)."""
    section, back_label, list_href = section_of(request.url.path)
    if back_href and back_href != list_href:
        back_label = "Back to the page you were on"
    return page(
        request,
        ERROR_TEMPLATE,
        operator,
        section,
        HTTPStatus(status_code).phrase,
        status_code,
        message=forms.sentence(message),
        back_href=back_href or list_href,
        back_label=back_label,
    )


def section_of(path: str) -> tuple[str, str, str]:
    """The navigation section a console path is in: its key, a "back to" label and its list page."""
    first = path.removeprefix(PREFIX).strip("/").split("/")[0]
    for key, label, href in NAV:
        if href.strip("/") == first or (key == "queue" and first == "queue"):
            return key, f"Back to {label}", PREFIX + href
    return "", "Back to Review queue", PREFIX + "/"


FORM_EXPIRED = (
    "This form had expired (you signed out or in again since the page was loaded), so nothing was saved. "
    "Check it and submit it again."
)


def refusal(exc: Exception, fields: forms.FieldLabels) -> tuple[str, dict[str, str]]:
    """A refused form's page: the message about the form as a whole (empty when each problem is about a
    field), and the problems by field id, in the words of the fields' labels."""
    if isinstance(exc, FieldProblems):
        return "", exc.fields
    if isinstance(exc, ReviewError) and exc.field is not None and exc.field in fields:
        field_id, label = fields[exc.field]
        return "", {field_id: forms.in_label_words(str(exc), exc.field, label)}
    problems, others = forms.core_problems(exc, fields)
    if not problems:
        return str(exc), {}
    return " ".join(others), problems


PLACE_CLEARED = (
    "Give the place to file this report at: an address or intersection, or its latitude and longitude."
)


def conflicting_services(checked: str, listed: str) -> str:
    return (
        f"Two services are chosen: {checked} (checked) and {listed} (in the list under Another service), "
        f"so nothing was filed. To file as {listed}, check Another service; to file as {checked}, "
        "set the list back to “— choose —”. Then approve again."
    )


CHANGED_MEANWHILE = (
    "Someone else changed this request since you opened this page, so nothing was saved. What you entered is"
    " still in the form, and what it is now is next to each field you both changed: save again to replace it"
    " with yours."
)
FORM_NOT_SENT = "You were signed out, so that form was not saved. Sign in, then submit it again."
FORM_CARRIED = (
    "You were signed out, so that form was not saved. Sign in and it comes back as you filled it in, to "
    "check and submit again."
)
FORM_KEPT = (
    "You were signed out, so that form was not saved. Here it is as you filled it in: check it and submit it "
    "again."
)
CLAIMED_AGAIN = "Your claim on it had lapsed meanwhile, so it is claimed for you again."


def claim_taken(holder: str, since: str, lapses_after: str) -> str:
    """Why a decision was not saved when the operator's claim lapsed and someone else claimed the item."""
    return (
        f"Your claim on this item had lapsed (a claim holds {lapses_after} unless renewed), and {holder}"
        f" claimed it at {since}, so nothing was saved. What you entered is below, to copy."
    )


# The fields of a form sent after signing out, carried through the sign-in form under this prefix.
CARRIED = "carried:"


@dataclass(frozen=True, slots=True)
class ConsolePages:
    """The console's page routes, how a form posted with an expired CSRF token comes back, and how one
    posted after the session ended is carried through signing in again."""

    router: APIRouter
    form_expired: Callable[[Request, FormExpired], Response]
    form_not_sent: Callable[[Request, FormData], Response]


def operator_router(console: Console) -> ConsolePages:
    """The console's pages (the JSON endpoints are ``api.api_router``)."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def redirect(path: str, done: str | None = None) -> RedirectResponse:
        target = PREFIX + path + (f"?{urlencode({'done': done})}" if done else "")
        return RedirectResponse(target, status_code=303)

    def form_text(form: Any, key: str) -> str:
        value = form.get(key)
        return value.strip() if isinstance(value, str) else ""

    def told(session: Session, item_id: int, done: str) -> str:
        """The outcome of deciding an item, saying whether its resident is told (not after STOP)."""
        item = session.get(ReviewItem, item_id)
        if item is not None and item.channel and is_opted_out(session, item.channel, item.resident_id):
            return f"{done}-untold"
        return done

    def entered_rejection(form: Any) -> dict[str, str]:
        """What the reject form holds, as its page shows it again (refused, expired, or carried through
        signing in): the reason, and whether "Not a problem for a city service" is ticked."""
        ticked = form_text(form, "not_city_problem")
        return {"reason": form_text(form, "reason"), "not_city_problem": "yes" if ticked else ""}

    def entered_decision(form: Any) -> dict[str, Any]:
        """What the operator entered in an item's forms, to fill them in again when a decision is refused."""
        radio = form.get("service_code")
        return {
            "service_code": radio.strip() if isinstance(radio, str) else None,
            "other_service_code": form_text(form, "other_service_code"),
            "address_string": form_text(form, "address_string"),
            "lat": form_text(form, "lat"),
            "long": form_text(form, "long"),
            "attributes": attribute_answers(form.multi_items()),
            "details_for": form_text(form, "details_for"),
            "reason": form_text(form, "reason"),
            "description": form_text(form, "description") if "description" in form else None,
        }

    def entered_change(form: Any) -> dict[str, str]:
        """What the operator entered in a request's change form, to fill it in again when it is refused."""
        return {key: form_text(form, key) for key in CHANGE_FIELDS if key in form}

    def shown_change(form: Any) -> dict[str, str]:
        """What a request's change form showed when its page was made (its hidden copies of the fields)."""
        return {key: form_text(form, SHOWN + key) for key in CHANGE_FIELDS if SHOWN + key in form}

    # ------------------------------------------------------------------------------- sign-in/out

    def sign_in_page(
        request: Request,
        *,
        error: str = "",
        problems: dict[str, str] | None = None,
        name: str = "",
        status_code: int = 200,
        next_path: str = "",
        carried: list[tuple[str, str]] | None = None,
        carried_action: str = "",
    ) -> Response:
        """The sign-in form; ``carried`` are the fields of a form sent to ``carried_action`` after the session
        ended, sent on with it (hidden) so that form's page comes back filled in once signed in."""
        token = secrets.token_urlsafe(32)
        next_path = next_path or request.query_params.get("next", "")
        response = page(
            request,
            "sign_in.html",
            None,
            "",
            "Sign in",
            status_code,
            sign_in_csrf=token,
            next_path=next_path,
            name=name,
            error=error or (FORM_CARRIED if carried else ""),
            problems=problems or {},
            carried=carried or [],
            carried_action=carried_action if carried else "",
        )
        response.set_cookie(
            SIGN_IN_CSRF_COOKIE,
            token,
            max_age=3600,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=console.secure_cookies,
        )
        return response

    @router.get("/sign-in")
    def show_sign_in(request: Request, session: DB) -> Response:
        if resolve_session(session, request.cookies.get(SESSION_COOKIE)) is not None:
            return redirect("/")
        # A form posted after signing out was sent here (``install_console``): say it was not saved.
        lost = request.query_params.get("done") == "form-not-sent"
        return sign_in_page(request, error=FORM_NOT_SENT if lost else "")

    @router.post("/sign-in")
    def do_sign_in(request: Request, session: DB, form: PostedForm) -> Response:
        name, password = form_text(form, "name"), form.get("password")
        next_path = form_text(form, "next")
        carried = [
            (key.removeprefix(CARRIED), value)
            for key, value in form.multi_items()
            if key.startswith(CARRIED) and isinstance(value, str)
        ]
        carried_action = form_text(form, "form_action")

        def again(error: str, status_code: int, problems: dict[str, str] | None = None) -> Response:
            return sign_in_page(
                request,
                error=error,
                problems=problems,
                name=name,
                status_code=status_code,
                next_path=next_path,
                carried=carried,
                carried_action=carried_action,
            )

        cookie_token = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
        if not cookie_token or not tokens_match(cookie_token, form_text(form, "csrf_token")):
            return again("The form expired; please try again.", 403)
        if not name or not isinstance(password, str) or not password:
            missing = {"name": "Enter your operator name."} if not name else {}
            if not isinstance(password, str) or not password:
                missing["password"] = "Enter your password."
            return again("", 400, missing)
        client = client_of(request)
        try:
            result = sign_in(session, console.settings.operator, name, password, client)
        except Throttled as exc:
            response = again(forms.sentence(str(exc)), 429)
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
            return response
        if result is None:
            return again("", 401, {"password": "That name and password do not match."})
        operator, new = result
        audit.record(
            session,
            actor=operator.name,
            action="sign_in",
            subject_type="operator",
            subject_id=operator.name,
            client=client,
        )
        # Only a path inside the console: never an open redirect to another site.
        path = next_path.partition("?")[0]
        inside = path.startswith(PREFIX + "/") and "//" not in path and "\\" not in path
        target = next_path if inside else PREFIX + "/"
        # A form sent after the session ended: its page, filled in as it was sent, to submit again.
        signed = SignedIn(operator_id=operator.id or 0, name=operator.name, csrf_token=new.csrf_token)
        refilled = carried_form_page(request, signed, session, carried_action, carried) if carried else None
        response = refilled or RedirectResponse(target, status_code=303)
        set_session_cookie(response, console, new.token)
        response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=PREFIX)
        return response

    @router.post("/sign-out")
    def do_sign_out(request: Request, operator: Checked, session: DB) -> Response:
        sign_out(session, request.cookies.get(SESSION_COOKIE))
        audit.record(
            session,
            actor=operator.name,
            action="sign_out",
            subject_type="operator",
            subject_id=operator.name,
            client=client_of(request),
        )
        response = RedirectResponse(f"{PREFIX}/sign-in?done=signed-out", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @router.get("/static/console.css")
    def stylesheet() -> FileResponse:
        return FileResponse(HERE / "static" / "console.css", media_type="text/css")

    # ----------------------------------------------------------------------------------- queue

    @router.get("/")
    def queue_page(request: Request, operator: Operator, session: DB) -> Response:
        return page(
            request,
            "queue.html",
            operator,
            "queue",
            "Review queue",
            items=views.open_items(session, claim_minutes=console.claim_minutes),
            recent=views.recently_decided(session),
            services=console.service_names(),
            classes=console.class_names(),
            claim_lapses=views.humanize_minutes(console.claim_minutes),
        )

    def item_page(
        request: Request,
        operator: SignedIn,
        session: Session,
        item_id: int,
        *,
        error: str = "",
        status: int = 200,
        details_for: str = "",
        entered: dict[str, Any] | None = None,
        problems: dict[str, str] | None = None,
    ) -> Response:
        """The item; after a refused decision, its forms hold what the operator had entered (``entered``),
        and ``problems`` (field id -> message) are shown next to their fields."""
        item = item_or_404(console, session, item_id)
        row = session.get(ReviewItem, item_id)
        kind = item.kind_correction
        details_code = details_code_of(item, details_for)
        details_service = console.service(details_code)
        # The questions a resident would have been asked, in the order they are asked (a remote city's too).
        details = sorted((a for a in console.attributes(details_code) if a.variable), key=lambda a: a.order)
        # "Claimed: no one else can take this item" only while that is still true (not on the back button
        # after deciding, nor after the claim lapsed).
        flash_override: dict[str, str | None] = {} if item.claimed_by == operator.name else {"flash": None}
        done = request.query_params.get("done")
        if done == "renewed" and item.claimed_until is not None and item.claimed_by == operator.name:
            until = local_minute(item.claimed_until, console.settings.city_zone)
            flash_override = {"flash": f"Claim renewed: it holds until {until}."}
        lines = views.conversation(session, item.channel, item.resident_id)
        templates = console.queue.templates
        emergency_notices = {
            templates.render(templates.key_for("emergency", item.channel), language)
            for language in templates.languages
        }
        answers: dict[str, Any] = {}
        if entered is not None and entered.get("details_for") == details_code:
            answers = dict(entered.get("attributes") or {})
        elif row is not None and details_code == row.service_code:
            answers = dict(row.attributes)
        return page(
            request,
            "item.html",
            operator,
            "queue",
            f"Review #{item.id}",
            status,
            item=item,
            services=console.service_names(),
            classes=console.class_names(),
            conversation=lines,
            # Words that sound like an emergency: when the bot told the resident to call 911, if it did (not
            # after STOP, nor when it could not read the message and only sent it to a person).
            told_911=views.last_said(lines, emergency_notices) if item.emergency else None,
            # The resident as the bot knows them now: the language it speaks with them, and whether they
            # sent STOP (then they are told nothing of what is decided).
            resident=get_resident(session, item.channel, item.resident_id),
            # The language the bot's replies are in: the report's where there are replies in it.
            reply_language=console.queue.templates.language_for(item.language),
            **map_context(item.lat, item.long, item.address_string or item.location_text or ""),
            error=error,
            problems=problems or {},
            details_service=details_service,
            catalog=console.catalog(),
            details=details if details_service else [],
            answers=answers,
            entered=entered or {},
            max_reason=MAX_REASON,
            deleted_photos=photos.deleted_photos(console.media, row) if row is not None else set(),
            # A resident's correction of a filed report's place: why it cannot be moved from here, if so.
            cannot_move=decisions.cannot_move(console, item.correction) if item.correction else None,
            # One of its kind: why it cannot be changed from here, if so; the services it may be made, and
            # the report as it is.
            cannot_change=decisions.cannot_change(console, kind) if kind else None,
            kind_choices=decisions.kind_choices(console, kind, item.service_code) if kind else [],
            kind_report=(
                session.get(ServiceRequestRow, int(kind.request_id))
                if kind and kind.request_id and not console.remote
                else None
            ),
            **(flash_override if done in ("claimed", "renewed") else {}),
        )

    def details_code_of(item: views.ItemView, details_for: str) -> str:
        """The service whose questions (attributes) the item page asks: the one an attempt was refused for,
        else the one it was filed as, else the bot's."""
        return details_for or item.service_code or console.service_code_for(item.top_code)

    @router.get("/queue/{item_id}")
    def show_item(request: Request, item_id: int, operator: Operator, session: DB) -> Response:
        return item_page(request, operator, session, item_id)

    def act(
        request: Request,
        operator: SignedIn,
        session: Session,
        item_id: int,
        run: Any,
        details_for: str = "",
        entered: dict[str, Any] | None = None,
    ) -> Response | None:
        """Runs one decision and commits; a refusal re-renders the item with the reason (409) and what the
        operator had entered."""
        try:
            run(decisions.Actor(operator.name, client_of(request)))
            session.commit()
        except (ReviewError, Open311Error, FieldProblems) as exc:
            session.rollback()
            if session.get(ReviewItem, item_id) is None:
                raise HTTPException(404, str(exc)) from exc
            filed_as = details_code_of(item_or_404(console, session, item_id), details_for)
            error, problems = refusal(exc, forms.item_fields(console.attributes(filed_as)))
            row = session.get(ReviewItem, item_id)
            if (
                entered is not None  # a decision, sent from the form only the claim's holder is shown
                and isinstance(exc, ReviewError)
                and row is not None
                and row.status == "claimed"
                and row.claimed_by not in (None, operator.name)
                and row.claimed_at is not None
            ):
                since = local_minute(row.claimed_at, console.settings.city_zone)
                error = claim_taken(row.claimed_by, since, views.humanize_minutes(console.claim_minutes))
            return item_page(
                request,
                operator,
                session,
                item_id,
                error=error,
                # What was typed is wrong (a point outside the city): 400; the item does not allow it: 409.
                status=400 if isinstance(exc, FieldProblems) else 409,
                details_for=details_for,
                entered=entered,
                problems=problems,
            )
        return None

    @router.post("/queue/{item_id}/claim")
    def claim(request: Request, item_id: int, operator: Checked, session: DB) -> Response:
        """Claims the item; claiming one this operator holds renews the claim (its time starts again)."""
        held = item_or_404(console, session, item_id).claimed_by == operator.name
        refused = act(
            request, operator, session, item_id, lambda who: decisions.claim(console, session, who, item_id)
        )
        return refused or redirect(f"/queue/{item_id}", "renewed" if held else "claimed")

    @router.post("/queue/{item_id}/release")
    def release(request: Request, item_id: int, operator: Checked, session: DB) -> Response:
        refused = act(
            request, operator, session, item_id, lambda who: decisions.release(console, session, who, item_id)
        )
        return refused or redirect("/", "released")

    @router.post("/queue/{item_id}/move")
    def move(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        """A resident's correction of a filed report's place applied: that report moves, nothing is filed."""
        entered = entered_decision(form)
        try:
            lat, long = coordinates(form_text(form, "lat"), form_text(form, "long"))
        except FieldProblems as exc:
            return item_page(
                request, operator, session, item_id, status=400, entered=entered, problems=exc.fields
            )
        place = decisions.Place(form_text(form, "address_string"), lat, long)
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.move_report(console, session, who, item_id, place),
            entered=entered,
        )
        return refused or redirect("/", "moved")

    @router.post("/queue/{item_id}/close")
    def close(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        """A resident's correction closed with the operator's note, nothing moved (a remote city's report)."""
        note = form_text(form, "note")
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.close_correction(console, session, who, item_id, note),
            entered={"note": note},
        )
        return refused or redirect("/", "closed")

    @router.post("/queue/{item_id}/change")
    def change(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        """A resident's correction of a filed report's kind applied: that report becomes one of the service
        they said (the one checked, when the city splits it among several); nothing is filed."""
        entered = entered_decision(form)
        chosen = form_text(form, "service_code")
        choices = decisions.kind_choices_of(console, session.get(ReviewItem, item_id))
        if not chosen and len(choices) > 1:
            problem = forms.sentence(decisions.choose_one(choices))
            return item_page(
                request,
                operator,
                session,
                item_id,
                status=400,
                entered=entered,
                problems={"service_code": problem},
            )
        change = decisions.KindChange(chosen, entered["attributes"], entered["details_for"])
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.change_kind(console, session, who, item_id, change),
            details_for=console.service_code_for(chosen) if chosen else "",
            entered=entered,
        )
        return refused or redirect("/", "changed")

    @router.post("/queue/{item_id}/keep")
    def keep(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        """A resident's correction of a filed report's kind closed with the report as it is; they are told."""
        note = form_text(form, "note")
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.keep_kind(console, session, who, item_id, note),
            entered={"keep_note": note},
        )
        return refused or redirect("/", "kept")

    @router.post("/queue/{item_id}/approve")
    def approve(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        row = session.get(ReviewItem, item_id)
        if row is not None and corrections.read(row.reason) is not None:
            # A correction's approve form (a page from before it was one): it moves the report, as Move does;
            # its service and words, for a new report, are not used.
            return move(request, item_id, operator, session, form)
        if row is not None and corrections.read_kind(row.reason) is not None:
            # The same for a correction of a report's kind: it changes the report to the service checked.
            return change(request, item_id, operator, session, form)
        entered = entered_decision(form)

        def refuse(problems: dict[str, str]) -> Response:
            """The item again, its forms as entered, each problem next to its field."""
            return item_page(
                request, operator, session, item_id, status=400, entered=entered, problems=problems
            )

        try:
            lat, long = coordinates(form_text(form, "lat"), form_text(form, "long"))
        except FieldProblems as exc:
            return refuse(exc.fields)
        if "address_string" in form and not entered["address_string"] and lat is None:
            # The page's form holds the item's place: all of it emptied is no place, not "keep the
            # resident's" (as empty fields mean in the JSON call), which it filed at before.
            return refuse({"address_string": PLACE_CLEARED})
        # The checked radio decides: a suggestion, or "Another service" with the one picked from the list.
        radio = form.get("service_code")
        listed = form_text(form, "other_service_code")
        if isinstance(radio, str) and radio.strip():
            chosen = radio.strip()
            # A service picked in the list while a different suggestion is checked is refused, not read either
            # way: a keyboard user tabs from the pre-checked suggestion to the list and picks there (they mean
            # the list), while someone who picked in the list and then checked a suggestion means the
            # suggestion. Filing by either rule silently files the wrong service for the other; asking costs
            # one more press, with everything kept as entered (WCAG 3.3.4). The list left at "choose" is no
            # choice: then the checked suggestion decides, as before.
            if listed and console.service_code_for(listed) != console.service_code_for(chosen):
                names = console.service_names()
                both = conflicting_services(names.get(chosen, chosen), names.get(listed, listed))
                return refuse({"other_service": both})
        else:
            chosen = listed
            if radio is not None and not chosen:
                return refuse({"other_service": "Another service: choose a service from the list."})
        if not chosen and row is not None and (choices := decisions.services_to_choose(console, row)):
            # No service checked (a form without the radios) where the bot guessed a class several services
            # share: filing the first of them was no one's choice.
            return refuse({"service_code": forms.sentence(decisions.choose_one(choices))})
        approval = decisions.Approval(
            service_code=chosen,
            address_string=form_text(form, "address_string"),
            lat=lat,
            long=long,
            attributes=entered["attributes"],
            details_for=entered["details_for"],
            # The form holds the resident's words to edit: what is in it is published (None: no such
            # field, a form from before it had one, files the resident's words).
            description=entered["description"],
        )
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.approve(console, session, who, item_id, approval),
            details_for=console.service_code_for(chosen) if chosen else "",
            entered=entered,
        )
        return refused or redirect("/", told(session, item_id, "approved"))

    @router.post("/queue/{item_id}/reject")
    def reject(request: Request, item_id: int, operator: Checked, session: DB, form: PostedForm) -> Response:
        entered = entered_rejection(form)
        reason = entered["reason"]
        # Checked: the resident's words are labelled "other" (a person must look) for training.
        not_city_problem = bool(entered["not_city_problem"])
        refused = act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.reject(
                console, session, who, item_id, reason, not_city_problem=not_city_problem
            ),
            entered=entered,
        )
        return refused or redirect("/", told(session, item_id, "rejected"))

    # -------------------------------------------------------------------------------- requests

    @router.get("/requests")
    def requests_page(request: Request, operator: Operator, session: DB) -> Response:
        filters = filters_from(
            request,
            FILTER_LABELS,
            services=console.catalog(),
            statuses=city_requests.searchable_statuses(console.remote),
        )
        page_size = console.settings.operator.page_size
        found: views.RequestPage | city_requests.CityRequestPage
        statuses: tuple[str, ...]
        if console.remote:
            found = city_requests.find(session, filters, console.catalog(), page_size=page_size)
            references = [row.reference for row in found.rows]
            channels = city_requests.channels(session)
        else:
            found = views.find_requests(session, filters, page_size=page_size)
            references = [str(row.id) for row in found.rows]
            channels = views.distinct_channels(session)
        statuses = city_requests.searchable_statuses(console.remote)
        query = filters.as_query()
        return page(
            request,
            "requests.html",
            operator,
            "requests",
            "Requests",
            filters=filters,
            found=found,
            languages=views.languages_of(session, references),
            services=console.catalog(),
            channels=channels,
            statuses=[(status, city_requests.STATUS_LABELS.get(status, status)) for status in statuses],
            previous_href=(
                f"?{urlencode({**query, 'page': min(found.page - 1, found.pages)})}" if found.page > 1 else ""
            ),
            next_href=f"?{urlencode({**query, 'page': found.page + 1})}" if found.page < found.pages else "",
            last_href=f"?{urlencode({**query, 'page': found.pages})}",
            # A zip code in the area: the bot finds places offline, without zip codes, so the requests it
            # files have none; the page says so rather than let "0 requests" suggest there are none there.
            zip_asked=any(word.isascii() and word.isdigit() for word in filters.area.split()),
        )

    def request_page(
        request: Request,
        operator: SignedIn,
        session: Session,
        request_id: str,
        *,
        error: str = "",
        status: int = 200,
        entered: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        shown: dict[str, str] | None = None,
        version: str = "",
    ) -> Response:
        """The request; after a refused change, its form holds what the operator had entered (``entered``),
        and ``problems`` (field id -> message) are shown next to their fields. The form keeps what its page
        showed and the request's version (``shown``, ``version``: by default the request as it is now), so
        that saving it changes only what the operator changed, and refuses what someone else changed since."""
        if console.remote:
            return city_request_page(request, operator, session, request_id)
        row = request_row(session, request_id)
        assert row.id is not None
        review_item = views.review_item_for_request(session, str(row.id))
        # The conversation it was filed in: on its review item's page, else here (the filer's, up to then).
        filer = told_residents.filer_of(session, row.id) if review_item is None else None
        filed_in = (
            views.conversation(
                session, filer.channel, filer.resident_id, limit=10, until=as_utc(filer.created_at) + _MOMENT
            )
            if filer is not None
            else []
        )
        expected_value = times.form_value(row.expected_datetime, console.settings.city_zone)
        words = more_photos(row.description or "")[0]
        language = views.languages_of(session, [str(row.id)]).get(str(row.id), "")
        templates = console.queue.templates
        as_shown = {
            "status": row.status,
            "status_notes": row.status_notes or "",
            "agency_responsible": row.agency_responsible or "",
            "expected_datetime": expected_value,
            "description": words,
        }
        return page(
            request,
            "request.html",
            operator,
            "requests",
            f"Request {row.id}",
            status,
            row=row,
            history=views.request_history(session, row.id),
            review_item=review_item,
            told=told_residents.messages_about(session, row.id, templates.language_for),
            filed_in=filed_in,
            language=language,
            # The language of the bot's replies in the conversation it was filed in, as on the item page.
            reply_language=templates.language_for(language),
            audit_entries=audit.recent_entries(
                session, subject_type="request", subject_id=str(row.id), limit=20
            ),
            **map_context(row.lat, row.long, row.address or ""),
            expected_value=expected_value,
            # The words alone: the photos listed at the end of the description are kept as they are.
            description_words=words,
            error=error,
            problems=problems or {},
            entered=entered or {},
            shown=shown or as_shown,
            version=version if shown else as_utc(row.updated_datetime).isoformat(),
        )

    def city_request_page(request: Request, operator: SignedIn, session: Session, reference: str) -> Response:
        """A report the bot filed at the remote city, as last read from it: shown, not changed (the city's
        own system changes it)."""
        found = city_requests.get(session, reference, console.catalog())
        if found is None:
            raise HTTPException(404, f"there is no request {reference}")
        numbered = f" (#{found.service_request_id})" if found.service_request_id else ""
        return page(
            request,
            "city_request.html",
            operator,
            "requests",
            f"Report {found.reference}{numbered}",
            200,
            row=found,
            review_item=views.review_item_for_request(session, found.reference),
            language=views.languages_of(session, [found.reference]).get(found.reference, ""),
            **map_context(found.lat, found.long, found.address),
        )

    @router.get("/requests/{request_id}")
    def show_request(request: Request, request_id: str, operator: Operator, session: DB) -> Response:
        return request_page(request, operator, session, request_id)

    @router.post("/requests/{request_id}/status")
    def change_status(
        request: Request, request_id: str, operator: Checked, session: DB, form: PostedForm
    ) -> Response:
        if console.remote:
            raise HTTPException(409, city_requests.CITY_OWNS_REQUESTS)
        row = request_row(session, request_id)
        # Only what the operator changed on their page is saved: the form sends every field, and one they
        # left as it was may have been changed by someone else since their page was made.
        entered, shown, version = entered_change(form), shown_change(form), form_text(form, VERSION)
        edits = edited(entered, shown)
        if shown and not edits:
            return redirect(f"/requests/{request_id}", "unchanged")

        def again(exc: Exception, status: int) -> Response:
            error, problems = refusal(exc, forms.REQUEST_FIELDS)
            return request_page(
                request,
                operator,
                session,
                request_id,
                error=error,
                status=status,
                entered=entered,
                problems=problems,
                shown=shown,
                version=version,
            )

        try:
            seen = {key: shown[key] for key in edits if key in shown}
            change = request_change({**edits, VERSION: version}, console.settings.city_zone, seen)
        except ValueError as exc:
            return again(exc, 400)
        try:
            updated = decisions.update_request(
                console, session, decisions.Actor(operator.name, client_of(request)), row, change
            )
            session.commit()
        except decisions.ChangedMeanwhile as exc:
            session.rollback()
            # The page as the request is now, but for what this operator changed: saving it again is their
            # choice made seeing the other's, and changes nothing else.
            return request_page(
                request,
                operator,
                session,
                request_id,
                error=CHANGED_MEANWHILE,
                status=409,
                entered=edits,
                problems=changed_meanwhile(session, request_id, exc.fields, shown, version),
            )
        except ReviewError as exc:
            session.rollback()
            return again(exc, 400)
        except Open311Error as exc:
            session.rollback()
            return again(exc, 409)
        if updated is None:
            return redirect(f"/requests/{request_id}", "unchanged")
        # Followers are told of a status, notes or an expected date; a change of the words or the agency
        # alone tells no one (``decisions.update_request``).
        news = bool(set(edits) & {"status", "status_notes", "expected_datetime"})
        return redirect(f"/requests/{request_id}", "updated" if news else "updated-quietly")

    def changed_meanwhile(
        session: Session, request_id: str, fields: list[str], shown: dict[str, str], version: str
    ) -> dict[str, str]:
        """The fields someone else changed since the operator's page was made (``shown``, ``version``), each
        with what it is now and who changed it: those the operator's change clashed with (``fields``) and
        the others too, which the page now shows as they are (a status list that read "open" reads "closed":
        unsaid, the operator's next save would send what they never chose)."""
        row = request_row(session, request_id)
        zone = console.settings.city_zone
        now = {
            "status": row.status,
            "status_notes": row.status_notes or "",
            "agency_responsible": row.agency_responsible or "",
            "expected_datetime": local_minute(row.expected_datetime, zone) if row.expected_datetime else "",
            "description": more_photos(row.description or "")[0].strip(),
        }
        # The expected date as the form holds it, to compare with the form's copy of what it showed.
        as_form = {**now, "expected_datetime": times.form_value(row.expected_datetime, zone)}
        others = [
            name
            for name in CHANGE_FIELDS
            if name not in fields and name in shown and not decisions.same_value(as_form[name], shown[name])
        ]
        by = f" by {who}" if (who := changed_by(session, row, version)) else " by someone else"
        problems = {}
        for name in [*fields, *others]:
            field_id, label = forms.REQUEST_FIELDS[name]
            value = f"“{now[name]}”" if now[name] else "empty"
            if name in fields:
                problems[field_id] = f"{label} was changed{by} since you opened this page; it is now {value}."
            else:
                was = f"“{shown[name]}”" if shown[name] else "empty"
                problems[field_id] = (
                    f"{label} was changed{by} since you opened this page, from {was} to {value}: the form"
                    " shows it as it is now."
                )
        return problems

    def changed_by(session: Session, row: ServiceRequestRow, version: str) -> str:
        """Who last changed the request since ``version`` (the operator's page's), as far as is known: an
        operator's name, else the actor the request's history names; empty when neither says."""
        try:
            since = as_utc(datetime.fromisoformat(version))
        except ValueError:
            return ""
        assert row.id is not None
        # The later of the operators' log (which has changes of the words too) and the request's history
        # (which has the core's other actors: an API client, a remote sync).
        known = [
            (entry.at, entry.actor)
            for entry in audit.recent_entries(
                session, subject_type="request", subject_id=str(row.id), limit=1
            )
        ]
        known += [
            (as_utc(c.changed_at), c.actor.removeprefix("operator:"))
            for c in views.request_history(session, row.id)[-1:]
        ]
        at, actor = max(known, default=(since, ""))
        if at > since:
            return actor
        return ""

    # ------------------------------------------------------------------------ batch submissions

    def batch_page(
        request: Request, operator: SignedIn, session: Session, *, error: str = "", status: int = 200
    ) -> Response:
        submissions = views.pending_batch(session)
        return page(
            request,
            "batch.html",
            operator,
            "batch",
            "Batch submissions",
            status,
            submissions=submissions,
            languages=views.languages_of(session, [s.token for s in submissions]),
            services=console.service_names(),
            mode=console.settings.open311.batch_acceptance,
            error=error,
        )

    @router.get("/batch")
    def show_batch(request: Request, operator: Operator, session: DB) -> Response:
        return batch_page(request, operator, session)

    @router.post("/batch/{token}/accept")
    def accept_batch(request: Request, token: str, operator: Checked, session: DB) -> Response:
        try:
            accepted = decisions.accept_batch(
                console, session, decisions.Actor(operator.name, client_of(request)), token
            )
            session.commit()
        except Open311Error as exc:
            session.rollback()
            return batch_page(request, operator, session, error=str(exc), status=409)
        return redirect(f"/requests/{accepted.service_request_id}", "accepted")

    # ------------------------------------------------------------------- dashboard, learning, audit

    @router.get("/dashboard")
    def dashboard_page(request: Request, operator: Operator, session: DB) -> Response:
        figures = dashboard.compute(session, days=dashboard_days(request), remote=console.remote)
        return page(
            request,
            "dashboard.html",
            operator,
            "dashboard",
            "Dashboard",
            figures=figures,
            charts=dashboard.render_charts(figures, console.service_names()),
            services=console.service_names(),
            median_wait=dashboard.format_duration(figures.median_review_wait_seconds),
            periods=DASHBOARD_PERIODS,
        )

    @router.get("/undelivered")
    def undelivered_page(request: Request, operator: Operator, session: DB) -> Response:
        days = dashboard_days(request)
        return page(
            request,
            "undelivered.html",
            operator,
            "undelivered",
            "Undelivered replies",
            replies=undelivered.recent(session, days=days, limit=UNDELIVERED_LIMIT),
            days=days,
            periods=DASHBOARD_PERIODS,
            limit=UNDELIVERED_LIMIT,
        )

    @router.get("/learning")
    def learning_page(request: Request, operator: Operator, session: DB) -> Response:
        names = console.service_names()
        return page(
            request,
            "learning.html",
            operator,
            "learning",
            "What the bot learns",
            report=learning.agreement_report(session),
            current=learning.current_model_report(session, console.classify) if console.classify else None,
            # What the bot suggested and learns are classes; what operators filed, the city's services.
            classes={**names, **console.class_names(), learning.OTHER: learning.OTHER_LABEL},
            by_service=views.decided_services(session),
            services={**names, learning.OTHER: learning.OTHER_LABEL},
        )

    @router.get("/learning/corrections.csv")
    def corrections_csv(operator: Operator, session: DB) -> Response:
        target = console.settings.data_dir / "exports" / f"corrections-{secrets.token_hex(6)}.csv"
        try:
            learning.export_corrections_csv(session, target)
            body = target.read_bytes()
        finally:
            target.unlink(missing_ok=True)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="operator-corrections.csv"'},
        )

    @router.get("/audit")
    def audit_page(request: Request, operator: Operator, session: DB) -> Response:
        actor = request.query_params.get("actor", "").strip() or None
        return page(
            request,
            "audit.html",
            operator,
            "audit",
            "Audit log",
            entries=audit.recent_entries(session, limit=200, actor=actor),
            actor=actor or "",
        )

    # ------------------------------------------------------------------------------ expired forms

    def form_expired(request: Request, exc: FormExpired) -> Response:
        """A form posted with a CSRF token that is no longer the session's: nothing is done, and the page it
        was on comes back (with a fresh token) holding what the operator had entered, saying so (403). Where
        that page cannot be shown (no such item), an error page says the same."""
        endpoint, params = request.scope.get("endpoint"), request.path_params
        with console.sessions() as session:
            try:
                again = form_page_again(
                    request, exc.operator, session, endpoint, params, exc.form, FORM_EXPIRED, 403
                )
            except HTTPException:
                again = None
        return again or error_page(request, exc.operator, 403, FORM_EXPIRED, back_href=form_page(request))

    def form_not_sent(request: Request, form: FormData) -> Response:
        """A form posted after the session ended: the sign-in form in its place (403), carrying what was
        entered, so that once signed in the form's page comes back filled in (``carried_form_page``)."""
        carried = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
        return sign_in_page(
            request,
            status_code=403,
            next_path=form_page(request),
            carried=[(key, value) for key, value in carried if key != "csrf_token"],
            carried_action=request.url.path,
        )

    def carried_form_page(
        request: Request, operator: SignedIn, session: Session, action: str, carried: list[tuple[str, str]]
    ) -> Response | None:
        """The page of the console form at ``action`` filled in with ``carried``; None when ``action`` is no
        such form or its page cannot be shown."""
        scope = {"type": "http", "path": action, "root_path": "", "method": "POST"}
        fields: list[tuple[str, str | UploadFile]] = list(carried)
        for route in router.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                try:
                    return form_page_again(
                        request,
                        operator,
                        session,
                        child.get("endpoint"),
                        child.get("path_params", {}),
                        FormData(fields),
                        FORM_KEPT,
                        200,
                    )
                except HTTPException:
                    return None
        return None

    def claimed_again(request: Request, operator: SignedIn, session: Session, item_id: int) -> bool:
        """Claims again for ``operator`` an undecided item no one holds, whose decision form comes back filled
        in (sent after the session, and the claim, had lapsed): else the page had only a Claim button, and
        what they had filled in was lost. Not one someone else holds now: that page shows what was entered."""
        item = item_or_404(console, session, item_id)
        if item.state != "pending" or item.claimed_by is not None:
            return False
        try:
            decisions.claim(console, session, decisions.Actor(operator.name, client_of(request)), item_id)
            session.commit()
        except ReviewError:  # taken or decided meanwhile
            session.rollback()
            return False
        return True

    def form_page_again(
        request: Request,
        operator: SignedIn,
        session: Session,
        endpoint: Any,
        params: dict[str, Any],
        form: FormData | None,
        message: str,
        status: int,
    ) -> Response | None:
        """The page holding the form of ``endpoint`` (an item's, a request's, the batch list), filled in with
        ``form`` and saying ``message``; None for any other endpoint."""
        item_id = whole_number(str(params.get("item_id", "")))
        if endpoint in (claim, release, approve, reject, move, close, change, keep) and item_id is not None:
            entered = None
            if form is not None and endpoint in (approve, move, change):
                entered = entered_decision(form)
            elif form is not None and endpoint is reject:
                entered = entered_rejection(form)
            elif form is not None and endpoint is close:
                entered = {"note": form_text(form, "note")}
            elif form is not None and endpoint is keep:
                entered = {"keep_note": form_text(form, "note")}
            if entered is not None and claimed_again(request, operator, session, item_id):
                message = f"{message} {CLAIMED_AGAIN}"
            return item_page(
                request,
                operator,
                session,
                item_id,
                error=message,
                status=status,
                details_for=(entered or {}).get("details_for") or "",
                entered=entered,
            )
        if endpoint is change_status:
            return request_page(
                request,
                operator,
                session,
                str(params.get("request_id", "")),
                error=message,
                status=status,
                entered=entered_change(form) if form is not None else None,
                shown=shown_change(form) if form is not None else None,
                version=form_text(form, VERSION) if form is not None else "",
            )
        if endpoint is accept_batch:
            return batch_page(request, operator, session, error=message, status=status)
        return None

    return ConsolePages(router, form_expired, form_not_sent)


def mount(app: FastAPI, runtime: Runtime) -> None:
    """The app part (``bot.app.APP_PARTS``): the console over this deployment's core and review queue."""
    settings = runtime.settings
    templates = configured_templates(settings)
    console = Console(
        settings=settings,
        sessions=runtime.sessions,
        open311=runtime.open311,
        queue=ReviewQueue(EmbeddedBackend(runtime.open311), templates),
        media=runtime.media,
    )

    async def share_messaging() -> None:
        # When the conversation side is mounted (bot.messaging), decide with its review queue (and so its
        # backend, embedded or remote) and look up typed addresses with its geocoder.
        messaging = getattr(app.state, "messaging", None)
        if messaging is None:
            return
        from intents.types import GeocodingUnavailable  # the conversation side's geocoder, shared here

        console.queue = messaging.review_queue
        understander = messaging.understander

        def geocode(text: str) -> tuple[float, float, str] | None:
            try:
                place = understander.geocode(text)
            except GeocodingUnavailable as exc:  # not "no place called ... was found"
                raise ReviewError(
                    "the map service is not answering just now, so the address could not be looked up; "
                    "give its coordinates, or try again later",
                    field="address_string",
                ) from exc
            return None if place is None else (place.lat, place.long, place.address)

        console.geocode = geocode

        def classify(text: str) -> str:
            # The same rule as the suggestion stored with each decision (its top service, by its class as
            # decisions are labelled): the model's raw top class is "other" for most vague messages, which
            # no service receives, and the page read 0% agreement where the stored suggestions agreed 62%.
            prediction = understander.classify(text)
            ranked = [(prediction.service_code, prediction.confidence), *prediction.alternatives]
            services = ranked_services(ranked, messaging.backend.services())
            return services[0][1] if services else "other"

        console.classify = classify

    runtime.add_lifecycle(share_messaging)
    install_console(app, console)


def install_console(app: FastAPI, console: Console) -> None:
    """Adds the console to a FastAPI app: its pages and JSON endpoints, how it answers errors, and the
    security headers."""
    app.state.operator_console = console
    pages = operator_router(console)
    app.include_router(pages.router)
    app.include_router(api_router(console))
    install_error_answers(app, console, pages)
    app.add_middleware(ConsoleHeaders, media_origin=console.media_origin)


def install_error_answers(app: FastAPI, console: Console, pages: ConsolePages) -> None:
    """How the console answers errors, on its own paths only:

    - its pages (under /operator, not /operator/api): an error page in the console's layout with the status
      kept; a form posted with an expired CSRF token comes back filled in (``ConsolePages.form_expired``);
      without a session, a page or a form sends the browser to sign in, then back to the page it was on;
    - its JSON (/operator/api): ``{"error": "..."}``; 401 without a session.

    HTTP and validation errors anywhere else go to the handlers installed before this (the Open311 API's,
    which defer to FastAPI's own), so this must be installed after them (``bot.app`` mounts the Open311 API
    first)."""
    previous_http = app.exception_handlers[StarletteHTTPException]
    previous_validation = app.exception_handlers[RequestValidationError]
    previous_server_error = app.exception_handlers.get(Exception)

    def operator_of(request: Request) -> SignedIn | None:
        with console.sessions() as session:
            return resolve_session(session, request.cookies.get(SESSION_COOKIE))

    async def deferred(handler: Callable[[Request, Any], Any], request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        response: Response = await answer if inspect.isawaitable(answer) else answer
        return response

    async def console_error(request: Request, status_code: int, message: str) -> Response:
        if is_console_api(request.url.path):
            return JSONResponse({"error": message}, status_code=status_code)
        try:
            operator = await run_in_threadpool(operator_of, request)
        except SQLAlchemyError:
            operator = None  # the database is what failed (bot.health's 503): the page without navigation
        return error_page(request, operator, status_code, message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if not is_console_page(path) and not is_console_api(path):
            return await deferred(previous_http, request, exc)
        # FastAPI's own (no route, wrong method) carry only the status phrase: say it for a person.
        message = str(exc.detail)
        if message == HTTPStatus(exc.status_code).phrase:
            message = FRAMEWORK_ERRORS.get(exc.status_code, message)
        response = await console_error(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        path = request.url.path
        if not is_console_page(path) and not is_console_api(path):
            return await deferred(previous_validation, request, exc)
        errors = exc.errors()
        if any(tuple(error.get("loc", ()))[:1] == ("path",) for error in errors):
            # /operator/queue/abc: an address that names nothing.
            return await console_error(request, 404, FRAMEWORK_ERRORS[404])
        names = ", ".join(sorted({str(tuple(e.get("loc", ("?",)))[-1]) for e in errors})) or "request"
        return await console_error(request, 400, f"not valid: {names}")

    async def server_error(request: Request, exc: Exception) -> Response:
        # A fault of ours (the database gone, a bug); Starlette logs the exception after this answer.
        path = request.url.path
        message = "the console could not do this just now; nothing was changed, try again in a moment"
        if not is_console_page(path) and not is_console_api(path):
            if previous_server_error is not None:
                return await deferred(previous_server_error, request, exc)
            return PlainTextResponse(
                "Internal Server Error", status_code=500, headers={"connection": "close"}
            )
        if is_console_api(path):
            response: Response = JSONResponse({"error": message}, status_code=500)
        else:
            try:
                operator = await run_in_threadpool(operator_of, request)
            except Exception:
                operator = None  # the database may be what failed: the page without the navigation
            response = error_page(request, operator, 500, message)
        # The server closes the connection after a fault: the browser must not reuse it.
        response.headers["connection"] = "close"
        return response

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSignedIn)
        if not is_console_page(request.url.path):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if request.method in ("GET", "HEAD"):
            # The page with its filters and page number, as it was asked for.
            query = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        else:
            # A form with something in it, sent from this console's page: the sign-in form in its place,
            # carrying what was entered back to that page (never a form from another site: it could fill in
            # a form for the operator to submit).
            form = await form_of(request)
            if form is not None and same_origin(request) and any(key != "csrf_token" for key in form):
                return pages.form_not_sent(request, form)
            # Else back to the page it was on (not to its action, which only takes a POST).
            query = {"next": form_page(request), "done": "form-not-sent"}
        return RedirectResponse(f"{PREFIX}/sign-in?{urlencode(query)}", status_code=303)

    async def form_of(request: Request) -> FormData | None:
        if not request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            return None
        try:
            return await request.form()
        except Exception:  # a body that is no form: nothing to carry
            return None

    async def form_expired(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormExpired)
        return await run_in_threadpool(pages.form_expired, request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(FormExpired, form_expired)
    app.add_exception_handler(Exception, server_error)


FRAMEWORK_ERRORS = {
    404: "there is no console page at this address",
    405: "this address does not take that kind of request (a form's address cannot be opened as a page)",
}
