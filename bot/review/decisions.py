"""What an operator can do, each as one function the pages and the JSON endpoints share.

Each works in the caller's session and leaves committing to the caller, so the change, its audit entry and
(for decisions on reports) the labelled example land together or not at all. Refusals are ``ReviewError``
(from the queue) or ``Open311Error`` (from the core), with a message fit to show the operator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.backend import ServiceSummary, service_name_in
from bot.clock import as_utc, utcnow
from bot.open311.media import more_photos
from bot.open311.models import (
    RequestTokenRow,
    ServiceRequest,
    ServiceRequestRow,
    StatusChangeRow,
    TokenStatus,
)
from bot.open311.service import closes
from bot.review import audit, corrections, learning, photos, views
from bot.review.console import Console
from bot.review.forms import FieldProblems
from bot.review.models import DECIDED_STATUSES, ReviewItem
from bot.review.queue import ReviewError


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    client: str = ""


@dataclass(frozen=True, slots=True)
class Approval:
    """The operator's corrections: empty fields keep what the bot understood."""

    service_code: str = ""
    address_string: str = ""
    lat: float | None = None
    long: float | None = None
    # Answers to the service's questions, for the service named in ``details_for`` (empty: whichever
    # service is filed).
    attributes: dict[str, str | list[str]] | None = None
    details_for: str = ""
    # The description to file instead of the resident's words (a city refused them as too long, say, or
    # they hold what should not be published: a name, a neighbour's details). None files their words; ""
    # files none.
    description: str | None = None


def _snapshot(item: ReviewItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "claimed_by": item.claimed_by,
        "service_code": item.service_code,
        "service_request_id": item.service_request_id,
        "token": item.token,
        "address_string": item.address_string,
        "lat": item.lat,
        "long": item.long,
        "rejection_reason": item.rejection_reason,
    }


def _item(console: Console, session: Session, item_id: int) -> ReviewItem:
    return console.queue.get(session, item_id)


def _undecided(console: Console, session: Session, item_id: int) -> ReviewItem:
    """The item about to be decided, read once its row is locked; refused when it is decided already.

    Write first, read second (as ``Open311Service._locked``): the touch, only of an undecided item, takes
    its row's lock (PostgreSQL) or the database's write lock (SQLite) in the transaction that then files the
    report and tells the resident, so of two decisions sent at once (a double click on Approve, two tabs,
    two workers) the second waits for the first to commit and finds the item decided: one request filed,
    one message to the resident, one audit entry."""
    items = ReviewItem.__table__  # type: ignore[attr-defined]
    touched = session.execute(
        update(items)
        .where(items.c.id == item_id, items.c.status.not_in(DECIDED_STATUSES))
        .values(updated_at=items.c.updated_at)
    )
    item = _item(console, session, item_id)
    session.refresh(item)  # the session may hold it as it was read before the lock
    if touched.rowcount != 1:  # type: ignore[attr-defined]
        raise ReviewError(f"review item {item_id} is already {item.status} by {item.decided_by}")
    return item


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    item_id: int,
    before: dict[str, Any],
    item: ReviewItem,
    extra: dict[str, Any] | None = None,
) -> None:
    audit.add_entry(
        session,
        actor=actor.name,
        action=f"review.{action}",
        subject_type="review_item",
        subject_id=item_id,
        before=before,
        after={**_snapshot(item), **(extra or {})},
        client=actor.client,
    )


def claim(console: Console, session: Session, actor: Actor, item_id: int) -> ReviewItem:
    before = _snapshot(_item(console, session, item_id))
    stale = timedelta(minutes=console.claim_minutes)
    item = console.queue.claim(session, item_id, actor.name, stale_after=stale)
    if _snapshot(item) != before:  # claiming an item one already holds changes nothing to log
        _audit(session, actor, "claim", item_id, before, item)
    return item


def release(console: Console, session: Session, actor: Actor, item_id: int) -> ReviewItem:
    before = _snapshot(_item(console, session, item_id))
    item = console.queue.release(session, item_id, actor.name)
    _audit(session, actor, "release", item_id, before, item)
    return item


def _placed(
    console: Console, item: ReviewItem, address: str, lat: float | None, long: float | None
) -> tuple[float | None, float | None, str]:
    """The place the operator gave (``address``, ``lat``, ``long``; empty keeps the item's), with the point of
    an address looked up where it has none."""
    if (lat is None) != (long is None):
        raise ReviewError("give both latitude and longitude, or neither")
    moved = bool(address) and address != (item.address_string or item.location_text or "")
    # An address with no point to go with it is looked up: one the operator changed, or the one they
    # confirm for a report that has no point (the geocoder was down, or did not know the resident's words).
    unplaced = bool(address) and item.lat is None
    if lat is None and (moved or unplaced) and console.geocode is not None:
        found = console.geocode(address)
        if found is None:
            raise ReviewError(
                f"no place called {address!r} was found; give its coordinates", field="address_string"
            )
        lat, long, address = found
        if outside_area(console, lat, long):
            raise ReviewError(
                f"{address!r} was found at ({lat}, {long}), outside the area the city serves; give its"
                " coordinates",
                field="address_string",
            )
    elif lat is not None and long is not None and (problems := outside_area(console, lat, long)):
        raise FieldProblems(" ".join(problems.values()), problems)
    return lat, long, address


def outside_area(console: Console, lat: float, long: float) -> dict[str, str]:
    """What is wrong with a point outside the area the city serves, by field (``lat``, ``long``), in the
    words of the fields' labels; empty for a point inside it. The area is the one the Open311 API holds
    clients' points to (``Open311Service.serves``: none in the sandbox): an operator's dropped minus sign or
    another city's coordinates would otherwise be filed, and residents told of a report in the sea."""
    serves = console.open311.serves
    if serves is None or serves(lat, long):
        return {}
    south, west, north, east = console.settings.intents.geocoder.boundary
    problems: dict[str, str] = {}
    for key, label, value, low, high in (
        ("lat", "Latitude", lat, south, north),
        ("long", "Longitude", long, west, east),
    ):
        if not low <= value <= high:
            # The range says which sign is wanted: "122.4768" beside "-122.52 to -122.35".
            problems[key] = (
                f"{label} {value:g} is outside the area the city serves ({low:g} to {high:g}): check it and"
                " its sign."
            )
    # Inside the box but not the city's limits (``boundary_file``): the point as a whole.
    return problems or {"lat": f"({lat:g}, {long:g}) is outside the area the city serves (its limits)."}


def approve(console: Console, session: Session, actor: Actor, item_id: int, approval: Approval) -> ReviewItem:
    """Files the report with the operator's corrections; the resident is told the id (by the queue).

    A resident's correction of a filed report's place is not filed: approving it moves that report
    (``move_report``), and is refused when it asks for more than a place (a service, words, answers). One of
    its kind is not filed either: approving it changes that report's service (``change_kind``), and is
    refused when it asks for more than a service and answers (words, a place).

    Refused when no service is chosen and the bot's best guess is a class several services share
    (``services_to_choose``): filing the first of them was a guess the bot did not make."""
    item = _undecided(console, session, item_id)
    correction = corrections.read(item.reason)
    if correction is not None:
        _only_a_place(console, item, correction, approval)
        place = Place(approval.address_string, approval.lat, approval.long)
        return move_report(console, session, actor, item_id, place)
    kind = corrections.read_kind(item.reason)
    if kind is not None:
        _only_a_kind(item, kind, approval)
        return change_kind(
            console, session, actor, item_id, KindChange(approval.service_code, approval.attributes)
        )
    if not approval.service_code and (choices := services_to_choose(console, item)):
        raise ReviewError(choose_one(choices), field="service_code")
    before = _snapshot(item)
    view = views.item_view(item, claim_minutes=console.claim_minutes)
    lat, long, address = _placed(console, item, approval.address_string, approval.lat, approval.long)
    # Suggestions are the classifier's classes; a city's catalog may name its services differently.
    words = approval.description.strip() if approval.description is not None else None
    original = item.service_code or console.service_code_for(view.top_code)
    code = console.service_code_for(approval.service_code) if approval.service_code else original
    decided = console.queue.approve(
        session,
        item_id,
        actor.name,
        service_code=code,
        description=words,
        lat=lat,
        long=long,
        address_string=address or None,
        attributes=_answers(item, approval, code, original),
    )
    _learn(
        console,
        session,
        actor,
        item_id,
        item,
        view,
        # Labelled with the classifier's class, so training and the agreement figures compare like with like.
        service_code=console.classifier_class_for(decided.service_code or ""),
        location_text=item.location_text or "",
    )
    # Words of the operator's own are part of the decision: the log keeps what was published instead.
    rewritten = {"description": words} if words is not None and words != item.text.strip() else {}
    _audit(session, actor, "approve", item_id, before, decided, rewritten)
    return decided


def _only_a_place(
    console: Console, item: ReviewItem, correction: corrections.Correction, approval: Approval
) -> None:
    service = approval.service_code and console.service_code_for(approval.service_code) != item.service_code
    words = approval.description is not None and approval.description.strip() != item.text.strip()
    if service or words or approval.attributes:
        raise ReviewError(
            f"review item {item.id} corrects the place of report {correction.reference}: approving it moves"
            " that report and takes only a place (address, latitude, longitude); it files nothing new"
        )


def services_to_choose(console: Console, item: ReviewItem) -> list[ServiceSummary]:
    """The services an operator must choose among when approving ``item`` names none: those sharing the
    bot's best guess, when it is a class several services share (Toronto's graffiti on a bridge, a road, a
    sidewalk, a litter bin) and the item has no service of its own; else none (the bot's guess is one)."""
    if item.service_code:
        return []
    view = views.item_view(item, claim_minutes=console.claim_minutes)
    if not view.suggested or not view.suggested[0].shared:
        return []
    codes = view.suggested[0].service_codes
    return [service for code in codes if (service := console.service(code)) is not None]


def choose_one(choices: list[ServiceSummary]) -> str:
    """The refusal of a decision that names no service where the operator must choose one of ``choices``."""
    named = [f"{service.name} ({service.code})" for service in choices]
    return (
        f"choose the service: the bot is as sure of each of these {len(named)}, so it files none of them by"
        f" itself: {', '.join(named[:-1])} or {named[-1]}"
    )


def _only_a_kind(item: ReviewItem, kind: corrections.KindCorrection, approval: Approval) -> None:
    words = approval.description is not None and approval.description.strip() != item.text.strip()
    place = approval.lat is not None or approval.address_string not in ("", item.address_string or "")
    if words or place:
        raise ReviewError(
            f"review item {item.id} corrects the kind of report {kind.reference}: approving it changes that"
            " report's service and takes only a service and its answers; it files nothing new"
        )


@dataclass(frozen=True, slots=True)
class Place:
    """Where the operator moves a report to: empty fields keep the place the resident gave."""

    address_string: str = ""
    lat: float | None = None
    long: float | None = None


def cannot_move(console: Console, correction: corrections.Correction) -> str | None:
    """Why the report a correction names cannot be moved from here, or None when it can."""
    if console.remote:
        return (
            f"report {correction.reference} is in the city's own system, which the bot cannot change: change"
            " its place there, then close this item with a note"
        )
    return None


def cannot_change(console: Console, kind: corrections.KindCorrection) -> str | None:
    """Why the report a correction of its kind names cannot be changed from here, or None when it can."""
    if console.remote:
        return (
            f"report {kind.reference} is in the city's own system, which the bot cannot change: change its"
            " service there, then close this item with a note (or keep it as it is)"
        )
    return None


def _report_to_change(
    session: Session, correction: corrections.Correction | corrections.KindCorrection, verb: str, other: str
) -> ServiceRequestRow:
    """The embedded core's request a correction names (by number, or by the batch token it was filed
    under); refused, saying what to do instead (``other``), when there is none yet or none at all."""
    request_id: int | None = int(correction.request_id) if correction.request_id is not None else None
    if request_id is None:  # a batch service's token: its request once it is accepted
        token = session.get(RequestTokenRow, correction.reference)
        if token is not None and token.request_id is None:
            raise ReviewError(
                f"report {correction.reference} is waiting for acceptance (Batch): accept it first, then"
                f" {verb} it, or {other}"
            )
        request_id = token.request_id if token is not None else None
    row = session.get(ServiceRequestRow, request_id) if request_id is not None else None
    if row is None:
        raise ReviewError(f"there is no request {correction.reference} to {verb}; {other}")
    return row


def _report_to_move(
    console: Console, session: Session, correction: corrections.Correction
) -> ServiceRequestRow:
    refused = cannot_move(console, correction)
    if refused is not None:
        raise ReviewError(refused)
    return _report_to_change(session, correction, "move", "close this item with a note")


def _audit_report_change(
    session: Session,
    actor: Actor,
    action: str,
    request_id: int,
    item_id: int,
    was: dict[str, Any],
    now: dict[str, Any],
) -> None:
    """Logs the operator's change of the filed report a correction item asked for: the request's fields as
    they were (``was``) and are ``now``, with the item."""
    audit.add_entry(
        session,
        actor=actor.name,
        action=action,
        subject_type="request",
        subject_id=request_id,
        before=was,
        after={**now, "review_item": item_id},
        client=actor.client,
    )


def move_report(
    console: Console, session: Session, actor: Actor, item_id: int, place: Place | None = None
) -> ReviewItem:
    """Applies a resident's correction of a filed report's place: moves that report (through the core,
    logged as this operator's change of the request: its history has the move, and the notification job
    tells whoever filed or follows it where it is now) and closes the item as "moved". Files nothing."""
    item = _undecided(console, session, item_id)
    correction = corrections.read(item.reason)
    if correction is None:
        raise ReviewError(f"review item {item_id} is a report, not a correction of a filed report's place")
    wanted = place or Place()
    lat, long, address = _placed(console, item, wanted.address_string, wanted.lat, wanted.long)
    if lat is None:
        # The resident's point, unless the operator typed another address that has none (then none).
        retyped = bool(address) and address != (item.address_string or item.location_text or "")
        lat, long = (None, None) if retyped else (item.lat, item.long)
    where = address or item.address_string or item.location_text or None
    before = _snapshot(item)
    decided = console.queue.close(session, item_id, actor.name, outcome="moved")
    row = _report_to_move(console, session, correction)
    assert row.id is not None
    was = {"address": row.address, "lat": row.lat, "long": row.long}
    moved = console.open311.move_request(
        str(row.id), lat=lat, long=long, address=where, actor=f"operator:{actor.name}", session=session
    )
    now = {"address": moved.address, "lat": moved.lat, "long": moved.long}
    _audit_report_change(session, actor, "request.move", row.id, item_id, was, now)
    decided.address_string, decided.lat, decided.long = moved.address, moved.lat, moved.long
    session.add(decided)
    _audit(session, actor, "move", item_id, before, decided, {"moved_request": str(row.id)})
    return decided


def close_correction(console: Console, session: Session, actor: Actor, item_id: int, note: str) -> ReviewItem:
    """Closes a resident's correction of a filed report's place or kind without changing the report (a
    remote city's report, changed in the city's own system; a correction that was wrong), with the
    operator's note. Tells no one."""
    item = _undecided(console, session, item_id)
    if corrections.read(item.reason) is None and corrections.read_kind(item.reason) is None:
        raise ReviewError(f"review item {item_id} is a report, not a correction: approve or reject it")
    before = _snapshot(item)
    decided = console.queue.close(session, item_id, actor.name, outcome="closed", note=note)
    _audit(session, actor, "close", item_id, before, decided)
    return decided


def kind_choices(
    console: Console, kind: corrections.KindCorrection, service_code: str | None
) -> list[ServiceSummary]:
    """The services a correction of a report's kind may make it: the one the resident said (the item's
    ``service_code``, else the one the reason names), with those that share its classifier class (Toronto's
    graffiti on a bridge, a road, a sidewalk, a litter bin: the resident said "graffiti", not which)."""
    said = console.service(service_code or "") or console.service(kind.after)
    if said is None:
        return []
    return [service for service in console.services() if service.classifier_class == said.classifier_class]


def kind_choices_of(console: Console, item: ReviewItem | None) -> list[ServiceSummary]:
    """``kind_choices`` of a review item that corrects a report's kind; none for any other item."""
    kind = corrections.read_kind(item.reason) if item is not None else None
    return kind_choices(console, kind, item.service_code) if item is not None and kind is not None else []


@dataclass(frozen=True, slots=True)
class KindChange:
    """What the operator makes the report: a service among ``kind_choices`` (empty: the only one), and
    answers to its questions (on top of those its resident's words and the report's answers give)."""

    service_code: str = ""
    attributes: dict[str, str | list[str]] | None = None
    # The service ``attributes`` answer the questions of (empty: whichever the report is made).
    details_for: str = ""


def _chosen(console: Console, item: ReviewItem, kind: corrections.KindCorrection, wanted: str) -> str:
    choices = kind_choices(console, kind, item.service_code)
    if not wanted:
        if len(choices) == 1:
            return choices[0].code
        if not choices:
            raise ReviewError(
                f"{kind.after} is not a service of this city; keep report {kind.reference} as it is",
                field="service_code",
            )
        raise ReviewError(choose_one(choices), field="service_code")
    # A service's code, or a class only one of them receives (a class several share is no choice).
    matching = [service for service in choices if wanted in (service.code, service.classifier_class)]
    if len(matching) > 1:
        raise ReviewError(choose_one(matching), field="service_code")
    if not matching:
        named = ", ".join(f"{service.name} ({service.code})" for service in choices)
        raise ReviewError(
            f"{wanted!r} is not what the resident said report {kind.reference} is: choose one of {named}",
            field="service_code",
        )
    return matching[0].code


def change_kind(
    console: Console, session: Session, actor: Actor, item_id: int, change: KindChange | None = None
) -> ReviewItem:
    """Applies a resident's correction of a filed report's kind: makes that report one of the service they
    said (through the core, logged as this operator's change of the request: its history has the change, and
    the notification job tells whoever filed or follows it what it is now) and closes the item as
    "changed". Files nothing.

    The new service's questions are answered as approving a report answers them: the operator's answers,
    then the report's own answers to the questions the new service asks too (``Open311Service
    .change_service`` keeps those it accepts), then what the resident's words (the correction and the
    report's description) already say; a required one none of them answers is refused, naming it, and
    nothing changes."""
    item = _undecided(console, session, item_id)
    kind = corrections.read_kind(item.reason)
    if kind is None:
        raise ReviewError(f"review item {item_id} is not a correction of a filed report's kind")
    refused = cannot_change(console, kind)
    if refused is not None:
        raise ReviewError(refused)
    wanted = change or KindChange()
    code = _chosen(console, item, kind, wanted.service_code.strip())
    before = _snapshot(item)
    decided = console.queue.close(session, item_id, actor.name, outcome="changed")
    row = _report_to_change(session, kind, "change", "keep it as it is or close this item with a note")
    assert row.id is not None
    was = {
        "service_code": row.service_code,
        "service_name": row.service_name,
        "attributes": dict(row.attributes),
    }
    # The report's answers to questions the new service asks too are the core's to keep (or drop, where the
    # new service does not accept them); the words answer only what neither they nor the operator do.
    asked = {spec.code for spec in console.attributes(code)}
    answered = {c: v for c, v in row.attributes.items() if c in asked}
    operators = dict(wanted.attributes or {}) if wanted.details_for in ("", code) else {}
    words = "\n".join(part for part in (item.text, more_photos(row.description or "")[0]) if part.strip())
    inferred = console.queue.with_inferred_answers(code, words, item.language, {**answered, **operators})
    given = {c: v for c, v in inferred.items() if c in operators or c not in answered}
    changed = console.open311.change_service(
        str(row.id), code, attributes=given, actor=f"operator:{actor.name}", session=session
    )
    now = {
        "service_code": changed.service_code,
        "service_name": changed.service_name,
        "attributes": changed.attributes,
    }
    _audit_report_change(session, actor, "request.change_service", row.id, item_id, was, now)
    decided.service_code = changed.service_code
    session.add(decided)
    _audit(session, actor, "change", item_id, before, decided, {"changed_request": str(row.id)})
    return decided


def keep_kind(console: Console, session: Session, actor: Actor, item_id: int, note: str = "") -> ReviewItem:
    """Closes a resident's correction of a filed report's kind with the report as it is (the operator's
    ``note``, if any, told no one), and tells the resident it stays as it was filed: they were told a person
    would change it."""
    item = _undecided(console, session, item_id)
    kind = corrections.read_kind(item.reason)
    if kind is None:
        raise ReviewError(f"review item {item_id} is not a correction of a filed report's kind")
    before = _snapshot(item)
    decided = console.queue.close(session, item_id, actor.name, outcome="kept", note=note)
    row = session.get(ServiceRequestRow, int(kind.request_id)) if kind.request_id is not None else None
    filed_as = row.service_code if row is not None else kind.before
    language = console.queue.templates.language_for(item.language)
    service = service_name_in(console.services(), filed_as, language)
    console.queue.tell(session, decided, "kind_kept", reference=kind.reference, service=service)
    _audit(session, actor, "keep", item_id, before, decided)
    return decided


def _answers(
    item: ReviewItem, approval: Approval, code: str, original: str
) -> dict[str, str | list[str]] | None:
    """The attribute answers to file with: the resident's (only for the service they were asked about),
    with the operator's on top (only for the service the operator answered for). None keeps the item's."""
    from_resident: dict[str, str | list[str]] = dict(item.attributes) if code == original else {}
    if approval.attributes and approval.details_for in ("", code):
        return {**from_resident, **approval.attributes}
    return None if code == original else from_resident


def _learn(
    console: Console,
    session: Session,
    actor: Actor,
    item_id: int,
    item: ReviewItem,
    view: views.ItemView,
    *,
    service_code: str,
    location_text: str = "",
    rejected: bool = False,
) -> None:
    """The operator's decision on this item as a labelled example, next to what the bot had predicted."""
    learning.record_decision(
        session,
        review_item_id=item_id,
        operator=actor.name,
        text=item.text,
        language=item.language,
        # The class of the service suggested (a city's code, "CSROWR-12", was compared with "pothole").
        predicted_code=console.classifier_class_for(view.top_code),
        predicted_confidence=view.top_confidence,
        service_code=service_code,
        location_text=location_text,
        rejected=rejected,
    )


def reject(
    console: Console,
    session: Session,
    actor: Actor,
    item_id: int,
    reason: str,
    *,
    not_city_problem: bool = False,
) -> ReviewItem:
    """Closes the report unfiled; the resident is told the reason as written (by the queue). Its photos,
    which no public request shows, are deleted once the rejection is committed (``photos``).

    ``not_city_problem``: the operator says the message is none of the catalog's problems, so it becomes a
    training example of the classifier's ``other`` ("a person must look"); any other rejection (a duplicate,
    a real problem refused for another reason) teaches nothing."""
    item = _undecided(console, session, item_id)
    correction = corrections.read(item.reason)
    if correction is not None:  # "Your report was not filed" would be untrue: report #4 was
        raise ReviewError(
            f"review item {item_id} corrects the place of report {correction.reference}: move that report,"
            " or close this item with a note"
        )
    kind = corrections.read_kind(item.reason)
    if kind is not None:
        raise ReviewError(
            f"review item {item_id} corrects the kind of report {kind.reference}: change that report, or keep"
            " it as it is (the resident is told it stays as filed)"
        )
    before = _snapshot(item)
    view = views.item_view(item, claim_minutes=console.claim_minutes)
    decided = console.queue.reject(session, item_id, actor.name, reason)
    if not_city_problem:
        _learn(console, session, actor, item_id, item, view, service_code=learning.OTHER)
    else:
        _learn(console, session, actor, item_id, item, view, service_code="", rejected=True)
    _audit(
        session,
        actor,
        "reject",
        item_id,
        before,
        decided,
        {"not_city_problem": True} if not_city_problem else None,
    )
    if console.media is not None:  # filed nowhere: its photos are no longer served
        photos.delete_after_commit(session, console.media, decided)
    return decided


class Keep(Enum):
    """A field of a change the operator left out: it stays as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class RequestChange:
    """What to change on a request; a field left as KEEP stays as it is, an empty one is cleared.

    ``version`` is the request's ``updated_datetime`` as the operator read it (the page they saved, the JSON
    they last got): when the request has changed since, a field this change sets that someone else changed
    meanwhile is refused (``ChangedMeanwhile``) rather than written over theirs. ``shown`` is what the
    operator's page showed of the fields this change sets (a change of the same fields), which tells which
    of them someone else changed; without it (the JSON API) each field this change would change counts as
    changed meanwhile."""

    status: str | Keep = KEEP
    status_notes: str | Keep = KEEP
    agency_responsible: str | Keep = KEEP
    # None clears the expected date.
    expected_datetime: datetime | Keep | None = KEEP
    # The published words (the photos listed at the end of the description stay): no one is notified.
    description: str | Keep = KEEP
    version: datetime | None = None
    shown: RequestChange | None = None


# The fields of a request a change sets, in the order a page shows them.
REQUEST_CHANGE_FIELDS = ("status", "status_notes", "agency_responsible", "expected_datetime", "description")


class ChangedMeanwhile(Exception):
    """A change refused, nothing changed: someone else changed ``fields`` of the request since the operator
    read it (``RequestChange.version``), and the change would write over that."""

    def __init__(self, request_id: int, fields: list[str]) -> None:
        super().__init__(
            f"request {request_id} was changed since you read it ({', '.join(fields)}), so nothing was"
            " changed: read it again, then send your change again"
        )
        self.fields = fields


def _request_fields(row: ServiceRequestRow) -> dict[str, Any]:
    return {
        "status": row.status,
        "status_notes": row.status_notes,
        "agency_responsible": row.agency_responsible,
        "expected_datetime": as_utc(row.expected_datetime) if row.expected_datetime else None,
    }


def same_value(one: Any, other: Any) -> bool:
    """Two values of a request's field are the same as a person reads them: a time to the minute (what the
    page's form holds), text without the blanks around it and with its line breaks however a browser sent
    them, none and empty alike."""
    if isinstance(one, datetime) or isinstance(other, datetime):
        if one is None or other is None:
            return False
        return as_utc(one).replace(second=0, microsecond=0) == as_utc(other).replace(second=0, microsecond=0)
    return str(one or "").replace("\r\n", "\n").strip() == str(other or "").replace("\r\n", "\n").strip()


def _changed_meanwhile(row: ServiceRequestRow, words: str, change: RequestChange) -> list[str]:
    """The fields ``change`` would write over a change someone else made since its ``version``."""
    if change.version is None or as_utc(row.updated_datetime) == as_utc(change.version):
        return []
    now = {**_request_fields(row), "description": words}
    clashes = []
    for name in REQUEST_CHANGE_FIELDS:
        wanted = getattr(change, name)
        if isinstance(wanted, Keep) or same_value(now[name], wanted):
            continue  # not changed, or changed to what it already is
        seen = KEEP if change.shown is None else getattr(change.shown, name)
        if isinstance(seen, Keep) or not same_value(now[name], seen):
            clashes.append(name)
    return clashes


def _not_past(expected: datetime, zone: tzinfo) -> None:
    """Refuses an expected date before today in the city's zone (residents were told "Expected by
    2020-01-01")."""
    day = as_utc(expected).astimezone(zone).date()
    today = utcnow().astimezone(zone).date()
    if day < today:
        raise ReviewError(
            f"Expected by must be today ({today.isoformat()}) or later, not {day.isoformat()}",
            field="expected_datetime",
        )


def _last_told_notes(session: Session, request_id: int) -> str | None:
    """The notes of the request's last history entry whose notes are the request's (a move's are its place,
    a change of service's the service: ``notifications._repeats_previous`` passes over them too)."""
    return session.exec(
        select(StatusChangeRow.status_notes)
        .where(
            StatusChangeRow.request_id == request_id,
            col(StatusChangeRow.kind).not_in(("moved", "recategorised")),
        )
        .order_by(col(StatusChangeRow.id).desc())
        .limit(1)
    ).first()


def update_request(
    console: Console, session: Session, actor: Actor, row: ServiceRequestRow, change: RequestChange
) -> ServiceRequest | None:
    """Changes a request through the core, so the history, the event and residents' notifications follow
    (a change of its words alone notifies no one and leaves no history row: only the audit log has it).

    A change that changes nothing (a double submit, Save without edits) records nothing: None. One that
    would write over what someone else changed since ``change.version`` is refused (``ChangedMeanwhile``),
    and an expected date before today in the city's zone too (``ReviewError``).

    Residents are told what is news: the history entry (what the notification job tells them) has the notes
    only when this change changes them, so a status change alone reads "it is now closed.", not "it is now
    closed. Crew scheduled." again; the request keeps its notes all the same, but closing clears the notes
    and the expected date this change does not set (the core's rule, ``closes``)."""
    assert row.id is not None
    # Take the row's lock (PostgreSQL) or the write lock (SQLite) before reading it, so of two identical
    # changes sent at once the second sees the first's result and finds nothing left to change.
    requests = ServiceRequestRow.__table__  # type: ignore[attr-defined]
    session.execute(
        update(requests).where(requests.c.id == row.id).values(updated_datetime=requests.c.updated_datetime)
    )
    session.refresh(row)
    before = _request_fields(row)
    words_before = more_photos(row.description or "")[0].strip()
    clashes = _changed_meanwhile(row, words_before, change)
    if clashes:
        raise ChangedMeanwhile(row.id, clashes)

    def text(value: str | Keep, current: str | None) -> str | None:
        return current if isinstance(value, Keep) else (value.strip() or None)

    status = row.status if isinstance(change.status, Keep) else change.status
    notes = text(change.status_notes, row.status_notes)
    agency = text(change.agency_responsible, row.agency_responsible)
    expected = before["expected_datetime"]
    if not isinstance(change.expected_datetime, Keep) and not same_value(change.expected_datetime, expected):
        expected = change.expected_datetime
        if expected is not None:
            _not_past(expected, console.settings.city_zone)
    elif closes(row.status, status):
        expected = None
    after = {
        "status": status,
        "status_notes": notes,
        "agency_responsible": agency,
        "expected_datetime": expected,
    }
    words = words_before if isinstance(change.description, Keep) else change.description.strip()
    if after == before and words == words_before:
        return None
    updated: ServiceRequest | None = None
    if words != words_before:
        updated = console.open311.change_description(str(row.id), words, session=session)
    if after != before:
        if expected is None and before["expected_datetime"] is not None:
            # The core keeps the expected date when given none: clearing it is done here, before the core
            # writes the history row, so that row says it was cleared.
            session.execute(update(requests).where(requests.c.id == row.id).values(expected_datetime=None))
        told = notes
        if notes == row.status_notes:
            # Notes residents were told before are no news: none with a new status or date; with neither
            # (the agency alone) the last entry's, so this one repeats it and no one is told anything.
            news = status != row.status or expected != before["expected_datetime"]
            told = None if news else _last_told_notes(session, row.id)
        updated = console.open311.update_status(
            str(row.id),
            status,
            status_notes=told,
            agency_responsible=agency or "",
            expected_datetime=expected,
            actor=f"operator:{actor.name}",
            session=session,
        )
        if told != notes and not closes(before["status"], status):
            # The core wrote the entry's notes on the request too: it keeps its own (but when closed).
            session.execute(update(requests).where(requests.c.id == row.id).values(status_notes=notes))
            updated = replace(updated, status_notes=notes)
    assert updated is not None
    logged_after = {
        "status": updated.status,
        "status_notes": updated.status_notes,
        "agency_responsible": updated.agency_responsible,
        "expected_datetime": updated.expected_datetime,
    }
    logged_before = dict(before)
    if words != words_before:  # only then: the log does not copy a resident's words at every status change
        logged_before["description"], logged_after["description"] = words_before, words
    audit.add_entry(
        session,
        actor=actor.name,
        action="request.update",
        subject_type="request",
        subject_id=row.id,
        before=logged_before,
        after=logged_after,
        client=actor.client,
    )
    return updated


def accept_batch(console: Console, session: Session, actor: Actor, token: str) -> TokenStatus:
    """Accepts a batch submission: the core files it and its filer learns the number (notifications)."""
    accepted = console.open311.accept_token(token, f"operator:{actor.name}", session=session)
    audit.add_entry(
        session,
        actor=actor.name,
        action="batch.accept",
        subject_type="token",
        subject_id=token,
        before={"service_request_id": None},
        after={"service_request_id": accepted.service_request_id},
        client=actor.client,
    )
    return accepted
