"""The console's JSON endpoints under ``/operator/api``: the same data and decisions as the pages, behind
the same sign-in; every POST needs the session's CSRF token in the ``X-CSRF-Token`` header.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at runtime.
"""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from bot.open311.errors import Open311Error
from bot.review import city_requests, dashboard, decisions, learning, undelivered, views
from bot.review.auth import SignedIn
from bot.review.console import Console
from bot.review.forms import FieldProblems
from bot.review.models import ReviewItem
from bot.review.queue import ReviewError
from bot.review.web import (
    CHANGE_FIELDS,
    DB,
    PREFIX,
    VERSION,
    Checked,
    JSONObject,
    Operator,
    client_of,
    coordinates,
    dashboard_days,
    filters_from,
    item_or_404,
    request_change,
    request_json,
    request_row,
    valid_answers,
)

# The fields each decision's body may have. Any other is refused (400), not dropped: an operator who sends
# "descripton" to take a resident's phone number out of what is published must hear it was not done.
APPROVE_FIELDS = ("service_code", "address_string", "lat", "long", "attributes", "description")
REJECT_FIELDS = ("reason", "not_city_problem")
MOVE_FIELDS = ("address_string", "lat", "long")
CLOSE_FIELDS = ("note",)
CHANGE_KIND_FIELDS = ("service_code", "attributes")
KEEP_FIELDS = ("note",)


def unknown_fields(body: dict[str, Any], known: Sequence[str]) -> JSONResponse | None:
    """A 400 naming the fields of ``body`` that are not in ``known``; None when there are none."""
    unknown = sorted(key for key in body if key not in known)
    if not unknown:
        return None
    named = ", ".join(repr(key) for key in unknown)
    plural = "s" if len(unknown) > 1 else ""
    return JSONResponse(
        {"error": f"unknown field{plural} {named}; this call takes {', '.join(known)}"}, status_code=400
    )


def place_in(body: dict[str, Any], known: Sequence[str]) -> decisions.Place | JSONResponse:
    """The place ``body`` names (address_string, lat, long: both coordinates or neither), or a 400 naming a
    field not in ``known`` or what is wrong with the coordinates."""
    refused = unknown_fields(body, known)
    if refused is not None:
        return refused
    try:
        # 0 is a coordinate (off Africa, refused as outside the city), not one left out as null is.
        lat, long = coordinates(*("" if body.get(key) is None else str(body[key]) for key in ("lat", "long")))
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return decisions.Place(str(body.get("address_string") or ""), lat, long)


def note_in(body: dict[str, Any], known: Sequence[str], *, required: bool) -> str | JSONResponse:
    """The operator's ``note`` in ``body`` (when not ``required``, one left out or null is ""), or a 400
    naming a field not in ``known`` or saying the note is not text."""
    refused = unknown_fields(body, known)
    if refused is not None:
        return refused
    note = body.get("note") if required else body.get("note") or ""
    if not isinstance(note, str):
        return JSONResponse({"error": "note must be text"}, status_code=400)
    return note


def api_router(console: Console) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def item_json(item: views.ItemView) -> dict[str, Any]:
        """An item as JSON; a correction of a filed report's place says whether it can be moved from here
        (``cannot_move``: null, or why not: a remote city's report), one of its kind whether it can be
        changed (``cannot_change``) and the services it may be made (``choices``: several when the city
        splits the class the resident said)."""
        body = item.as_json()
        if item.correction is not None:
            body["correction"]["cannot_move"] = decisions.cannot_move(console, item.correction)
        if item.kind_correction is not None:
            choices = decisions.kind_choices(console, item.kind_correction, item.service_code)
            body["kind_correction"]["choices"] = [
                {"service_code": service.code, "service_name": service.name} for service in choices
            ]
            body["kind_correction"]["cannot_change"] = decisions.cannot_change(console, item.kind_correction)
        return body

    @router.get("/api/batch")
    def api_batch(operator: Operator, session: DB) -> JSONResponse:
        return JSONResponse({"submissions": [item.as_json() for item in views.pending_batch(session)]})

    @router.post("/api/batch/{token}/accept")
    def api_accept_batch(request: Request, token: str, operator: Checked, session: DB) -> JSONResponse:
        try:
            accepted = decisions.accept_batch(
                console, session, decisions.Actor(operator.name, client_of(request)), token
            )
            session.commit()
        except Open311Error as exc:
            session.rollback()
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"token": token, "service_request_id": accepted.service_request_id})

    @router.get("/api/queue")
    def api_queue(operator: Operator, session: DB) -> JSONResponse:
        items = views.open_items(session, claim_minutes=console.claim_minutes)
        return JSONResponse({"items": [item_json(item) for item in items]})

    @router.get("/api/queue/{item_id}")
    def api_item(item_id: int, operator: Operator, session: DB) -> JSONResponse:
        return JSONResponse(item_json(item_or_404(console, session, item_id)))

    def json_act(
        request: Request, operator: SignedIn, session: Session, item_id: int, run: Any
    ) -> JSONResponse:
        try:
            run(decisions.Actor(operator.name, client_of(request)))
            session.commit()
        except (ReviewError, Open311Error, FieldProblems) as exc:
            session.rollback()
            status = 404 if session.get(ReviewItem, item_id) is None else 409
            if status == 409 and isinstance(exc, FieldProblems):
                status = 400  # what was sent is wrong (a point outside the city), not the item's state
            return JSONResponse({"error": str(exc)}, status_code=status)
        return JSONResponse(item_json(item_or_404(console, session, item_id)))

    @router.post("/api/queue/{item_id}/claim")
    def api_claim(request: Request, item_id: int, operator: Checked, session: DB) -> JSONResponse:
        return json_act(
            request, operator, session, item_id, lambda who: decisions.claim(console, session, who, item_id)
        )

    @router.post("/api/queue/{item_id}/release")
    def api_release(request: Request, item_id: int, operator: Checked, session: DB) -> JSONResponse:
        return json_act(
            request, operator, session, item_id, lambda who: decisions.release(console, session, who, item_id)
        )

    @router.post("/api/queue/{item_id}/approve")
    def api_approve(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        place = place_in(body, APPROVE_FIELDS)
        if isinstance(place, JSONResponse):
            return place
        answers = body.get("attributes")
        if answers is not None and not valid_answers(answers):
            return JSONResponse({"error": "attributes must map codes to a string or a list of strings"}, 400)
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            return JSONResponse({"error": "description must be text (null files the resident's words)"}, 400)
        code = str(body.get("service_code") or "")
        item = session.get(ReviewItem, item_id)
        if not code and item is not None and (choices := decisions.services_to_choose(console, item)):
            # The bot guessed a class several services share: filing the first of them was no one's choice.
            return JSONResponse({"error": decisions.choose_one(choices)}, status_code=400)
        approval = decisions.Approval(
            service_code=code,
            address_string=place.address_string,
            lat=place.lat,
            long=place.long,
            attributes={str(k): v for k, v in answers.items()} if answers else None,
            description=description,
        )
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.approve(console, session, who, item_id, approval),
        )

    @router.post("/api/queue/{item_id}/move")
    def api_move(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        place = place_in(body, MOVE_FIELDS)
        if isinstance(place, JSONResponse):
            return place
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.move_report(console, session, who, item_id, place),
        )

    @router.post("/api/queue/{item_id}/close")
    def api_close(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        note = note_in(body, CLOSE_FIELDS, required=True)
        if isinstance(note, JSONResponse):
            return note
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.close_correction(console, session, who, item_id, note),
        )

    @router.post("/api/queue/{item_id}/change")
    def api_change_kind(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        refused = unknown_fields(body, CHANGE_KIND_FIELDS)
        if refused is not None:
            return refused
        code = body.get("service_code") or ""
        if not isinstance(code, str):
            return JSONResponse({"error": "service_code must be text"}, status_code=400)
        answers = body.get("attributes")
        if answers is not None and not valid_answers(answers):
            return JSONResponse({"error": "attributes must map codes to a string or a list of strings"}, 400)
        choices = decisions.kind_choices_of(console, session.get(ReviewItem, item_id))
        if not code and len(choices) > 1:
            return JSONResponse({"error": decisions.choose_one(choices)}, status_code=400)
        change = decisions.KindChange(code, {str(k): v for k, v in answers.items()} if answers else None)
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.change_kind(console, session, who, item_id, change),
        )

    @router.post("/api/queue/{item_id}/keep")
    def api_keep(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        note = note_in(body, KEEP_FIELDS, required=False)
        if isinstance(note, JSONResponse):
            return note
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.keep_kind(console, session, who, item_id, note),
        )

    @router.post("/api/queue/{item_id}/reject")
    def api_reject(
        request: Request, item_id: int, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        refused = unknown_fields(body, REJECT_FIELDS)
        if refused is not None:
            return refused
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            # A body without the one field the call needs is malformed (400), as one with an unknown field
            # is; not a refusal of the item's (409).
            return JSONResponse({"error": "give the resident a reason (reason: text)"}, status_code=400)
        not_city_problem = body.get("not_city_problem", False)
        if not isinstance(not_city_problem, bool):
            return JSONResponse({"error": "not_city_problem must be true or false"}, status_code=400)
        return json_act(
            request,
            operator,
            session,
            item_id,
            lambda who: decisions.reject(
                console, session, who, item_id, reason, not_city_problem=not_city_problem
            ),
        )

    @router.post("/api/requests/{request_id}/status")
    def api_change_status(
        request: Request, request_id: str, operator: Checked, session: DB, body: JSONObject
    ) -> JSONResponse:
        if console.remote:
            return JSONResponse({"error": city_requests.CITY_OWNS_REQUESTS}, status_code=409)
        refused = unknown_fields(body, (*CHANGE_FIELDS, VERSION))
        if refused is not None:
            return refused
        row = request_row(session, request_id)
        try:
            change = request_change(body, console.settings.city_zone)
            decisions.update_request(
                console, session, decisions.Actor(operator.name, client_of(request)), row, change
            )
            session.commit()
        except decisions.ChangedMeanwhile as exc:
            # Nothing changed; the request as it is now, to read before sending the change again.
            session.rollback()
            session.refresh(row)
            body = {"error": str(exc), "changed": exc.fields, "request": request_json(row)}
            return JSONResponse(body, status_code=409)
        except ValueError as exc:
            session.rollback()
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Open311Error as exc:
            session.rollback()
            return JSONResponse({"error": str(exc)}, status_code=409)
        session.refresh(row)
        return JSONResponse(request_json(row))

    @router.get("/api/requests")
    def api_requests(request: Request, operator: Operator, session: DB) -> JSONResponse:
        filters = filters_from(
            request, services=console.catalog(), statuses=city_requests.searchable_statuses(console.remote)
        )
        page_size = console.settings.operator.page_size
        if console.remote:
            city = city_requests.find(session, filters, console.catalog(), page_size=page_size)
            total, page, pages = city.total, city.page, city.pages
            rows = [row.as_json() for row in city.rows]
        else:
            found = views.find_requests(session, filters, page_size=page_size)
            total, page, pages = found.total, found.page, found.pages
            rows = [request_json(row) for row in found.rows]
        return JSONResponse({"total": total, "page": page, "pages": pages, "requests": rows})

    @router.get("/api/dashboard")
    def api_dashboard(request: Request, operator: Operator, session: DB) -> JSONResponse:
        figures = dashboard.compute(session, days=dashboard_days(request), remote=console.remote)
        return JSONResponse(figures.as_json())

    @router.get("/api/undelivered")
    def api_undelivered(request: Request, operator: Operator, session: DB) -> JSONResponse:
        replies = undelivered.recent(session, days=dashboard_days(request))
        return JSONResponse({"replies": [reply.as_json() for reply in replies]})

    @router.get("/api/learning")
    def api_learning(operator: Operator, session: DB) -> JSONResponse:
        def as_json(report: learning.AgreementReport) -> dict[str, Any]:
            return {
                "examples": report.examples,
                "agreed": report.agreed,
                "agreement_rate": report.agreement_rate,
                "confused_pairs": [
                    {"suggested": a, "chosen": b, "count": n} for a, b, n in report.confused_pairs
                ],
            }

        body = as_json(learning.agreement_report(session))
        if console.classify is not None:
            body["current_model"] = as_json(learning.current_model_report(session, console.classify))
        return JSONResponse(body)

    return router
