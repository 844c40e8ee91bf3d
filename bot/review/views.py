"""What the console pages show, read straight from the tables: the queue, one item, requests, history.

Reading is done here, with plain queries, because the console needs filters the Open311 API does not have
(channel, area, words); every change still goes through the review queue and the Open311 core, so
notifications, the event log and the audit log see it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_
from sqlmodel import Session, col, select

from bot.clock import as_utc, utcnow
from bot.follows import Follow
from bot.open311.models import RequestTokenRow, ServiceRequestRow, StatusChangeRow
from bot.review.corrections import Correction, KindCorrection, read, read_kind
from bot.review.learning import LabelledExample
from bot.review.models import DECIDED_STATUSES, QUEUE_ORDER, ReviewItem
from bot.state import InboxRecord, Resident

STATE_LABELS = {
    "pending": "waiting",
    "claimed": "claimed",
    "approved": "approved",
    "rejected": "rejected",
    "moved": "place moved",
    "changed": "kind changed",
    "kept": "kept as filed",
    "closed": "closed",
}


def humanize_age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def humanize_minutes(minutes: float) -> str:
    """A configured number of minutes as a person says it: "30 seconds", "1 minute", "2.5 minutes"."""
    if minutes < 1:
        seconds = max(1, round(minutes * 60))
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if minutes == int(minutes):
        return f"{int(minutes)} minute{'s' if minutes != 1 else ''}"
    return f"{minutes:g} minutes"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One guess of the bot's: a classifier class with its confidence, and the city's services that receive
    it (several when the city splits the class: Toronto's graffiti on a bridge, a road, a sidewalk or a
    litter bin, each stored at the class's confidence). The bot guessed the class, not one of them."""

    # None when not known (an item queued before suggestions kept their class): each service is its own guess.
    classifier_class: str | None
    confidence: float
    service_codes: tuple[str, ...]

    @property
    def shared(self) -> bool:
        return len(self.service_codes) > 1


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    state: str
    channel: str
    resident_id: str
    language: str
    text: str
    media_urls: list[str]
    suggestions: list[tuple[str, float]]
    reason: str
    location_text: str | None
    location_kind: str | None
    address_string: str | None
    lat: float | None
    long: float | None
    claimed_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    service_code: str | None
    service_request_id: str | None
    token: str | None
    rejection_reason: str | None
    created_at: datetime
    age: str
    # A resident's correction of the place of a report already filed: to move that report, not to file.
    correction: Correction | None = None
    # A correction closed without moving anything (or a kind correction kept as filed): the operator's note
    # (told no one).
    note: str | None = None
    # A resident's correction of the kind of a report already filed: to change that report's service.
    kind_correction: KindCorrection | None = None
    # ``suggestions`` as the bot made them, one per classifier class, best first.
    suggested: tuple[Suggestion, ...] = ()
    # The resident's words sound like an emergency (``bot.emergencies``): flagged, and listed first.
    emergency: bool = False
    # When a claim still held lapses (silently: anyone may take the item then), so its page can say so.
    claimed_until: datetime | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def top_code(self) -> str:
        return self.suggestions[0][0] if self.suggestions else "other"

    @property
    def top_confidence(self) -> float:
        return self.suggestions[0][1] if self.suggestions else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.state,
            "channel": self.channel,
            "language": self.language,
            "text": self.text,
            "emergency": self.emergency,
            "media_urls": self.media_urls,
            "suggestions": [
                {"service_code": code, "confidence": s.confidence}
                | ({"classifier_class": s.classifier_class} if s.classifier_class else {})
                for s in self.suggested
                for code in s.service_codes
            ],
            "reason": self.reason,
            "location": {
                "text": self.location_text,
                "kind": self.location_kind,
                "address_string": self.address_string,
                "lat": self.lat,
                "long": self.long,
            },
            "claimed_by": self.claimed_by,
            "decided_by": self.decided_by,
            "service_code": self.service_code,
            "service_request_id": self.service_request_id,
            "token": self.token,
            "rejection_reason": self.rejection_reason,
            "created_at": self.created_at.isoformat(),
            "correction": (
                {
                    "summary": self.correction.summary,
                    "reference": self.correction.reference,
                    "service_request_id": self.correction.request_id,
                    "from": self.correction.before,
                    "to": self.correction.after,
                    "note": self.note,
                }
                if self.correction is not None
                else None
            ),
            "kind_correction": (
                {
                    "summary": self.kind_correction.summary,
                    "reference": self.kind_correction.reference,
                    "service_request_id": self.kind_correction.request_id,
                    "from": self.kind_correction.before,
                    "to": self.kind_correction.after,
                    "note": self.note,
                }
                if self.kind_correction is not None
                else None
            ),
        }


def item_view(item: ReviewItem, *, now: datetime | None = None, claim_minutes: float = 15.0) -> ItemView:
    assert item.id is not None
    now = now or utcnow()
    created = as_utc(item.created_at)
    claimed_by = item.claimed_by
    state = item.status
    # A lapsed claim shows as waiting: anyone may take it again.
    until = (
        as_utc(item.claimed_at) + timedelta(minutes=claim_minutes) if item.claimed_at is not None else None
    )
    lapsed = until is not None and until <= now
    if state == "claimed" and lapsed:
        state, claimed_by = "pending", None
    suggestions = [
        (str(s.get("service_code", "")), float(s.get("confidence", 0.0)))
        for s in item.suggestions
        if s.get("service_code")
    ]
    # Each class once, with the services that receive it.
    guesses: dict[str, Suggestion] = {}
    for s in item.suggestions:
        if s.get("service_code"):
            code, guessed = str(s["service_code"]), str(s.get("classifier_class") or "") or None
            key = f"class:{guessed}" if guessed else f"service:{code}"
            known = guesses.get(key) or Suggestion(guessed, float(s.get("confidence", 0.0)), ())
            guesses[key] = replace(known, service_codes=(*known.service_codes, code))
    suggested = tuple(guesses.values())
    return ItemView(
        id=item.id,
        state=state,
        channel=item.channel,
        resident_id=item.resident_id,
        language=item.language,
        text=item.text,
        media_urls=list(item.media_urls),
        suggestions=suggestions,
        reason=item.reason,
        location_text=item.location_text,
        location_kind=item.location_kind,
        address_string=item.address_string,
        lat=item.lat,
        long=item.long,
        claimed_by=claimed_by if state == "claimed" else None,
        decided_by=item.decided_by,
        decided_at=as_utc(item.decided_at) if item.decided_at else None,
        service_code=item.service_code,
        service_request_id=item.service_request_id,
        token=item.token,
        rejection_reason=item.rejection_reason if item.status == "rejected" else None,
        created_at=created,
        age=humanize_age(now - created),
        correction=read(item.reason),
        note=item.rejection_reason if item.status in ("closed", "kept") else None,
        suggested=suggested,
        kind_correction=read_kind(item.reason),
        emergency=item.emergency,
        claimed_until=until if state == "claimed" else None,
    )


def open_items(session: Session, *, claim_minutes: float, limit: int = 200) -> list[ItemView]:
    """Items waiting or being worked on: those that sound like an emergency first, then oldest first."""
    rows = session.exec(
        select(ReviewItem)
        .where(col(ReviewItem.status).in_(("pending", "claimed")))
        .order_by(*QUEUE_ORDER)
        .limit(limit)
    ).all()
    now = utcnow()
    return [item_view(row, now=now, claim_minutes=claim_minutes) for row in rows]


def recently_decided(session: Session, *, limit: int = 10) -> list[ItemView]:
    rows = session.exec(
        select(ReviewItem)
        .where(col(ReviewItem.status).in_(DECIDED_STATUSES))
        .order_by(col(ReviewItem.decided_at).desc(), col(ReviewItem.id).desc())
        .limit(limit)
    ).all()
    return [item_view(row) for row in rows]


def decided_services(session: Session) -> list[tuple[str, int, int]]:
    """The learning page's per-service figures: (the service an operator filed, its labelled examples, how
    many the bot's suggestion agreed with), most examples first. Examples are labelled with the classifier's
    class, which several of a city's services may share: counted by the label, an item filed as a litter
    bin's graffiti read as the first graffiti service's. An example with no filed service (rejected as not a
    city problem, or its item forgotten) counts under its label."""
    examples = LabelledExample.__table__  # type: ignore[attr-defined]
    items = ReviewItem.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(examples.c.service_code, examples.c.predicted_code, items.c.service_code)
        .select_from(examples)
        .outerjoin(items, cast(items.c.id, String) == examples.c.review_item_id)
        .where(examples.c.rejected == False)  # noqa: E712 (SQL expression)
    ).all()
    totals: Counter[str] = Counter()
    agreed: Counter[str] = Counter()
    for label, predicted, filed in rows:
        totals[filed or label] += 1
        agreed[filed or label] += label == predicted
    return [(code, n, agreed[code]) for code, n in totals.most_common()]


def get_item(session: Session, item_id: int, *, claim_minutes: float) -> ItemView | None:
    row = session.get(ReviewItem, item_id)
    return item_view(row, claim_minutes=claim_minutes) if row is not None else None


# Names of the languages residents most often write to a US city's 311 in; others are shown by their code.
LANGUAGE_NAMES = {
    "ar": "Arabic",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "ht": "Haitian Creole",
    "ko": "Korean",
    "pt": "Portuguese",
    "ru": "Russian",
    "tl": "Tagalog",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_label(code: str) -> str:
    """A language as an operator reads it: "Spanish (es)", or the code alone when it has no name here."""
    name = LANGUAGE_NAMES.get(code.split("-")[0].lower())
    return f"{name} ({code})" if name else code


@dataclass(frozen=True, slots=True)
class Line:
    direction: str  # "in" (the resident) or "out" (the bot)
    text: str
    at: datetime  # UTC; the page shows it in the city's time


def conversation(
    session: Session, channel: str, resident_id: str, *, limit: int = 30, until: datetime | None = None
) -> list[Line]:
    """The latest exchanges with this resident on this channel (up to ``until``, if given), oldest first."""
    query = select(InboxRecord).where(InboxRecord.channel == channel, InboxRecord.resident_id == resident_id)
    if until is not None:
        query = query.where(col(InboxRecord.received_at) <= until)
    rows = session.exec(query.order_by(col(InboxRecord.id).desc()).limit(limit)).all()
    lines: list[Line] = []
    for row in reversed(rows):
        at = as_utc(row.received_at)
        if row.text:
            lines.append(Line("in", row.text, at))
        for reply in row.replies:
            text = str(reply.get("text", ""))
            if text:
                lines.append(Line("out", text, at))
    return lines


def last_said(lines: Collection[Line], notices: Collection[str]) -> datetime | None:
    """When the bot last sent one of ``notices`` (a reply's words in each of its languages) in these lines,
    if it did: what the page says it told the resident is what it sent, not what it is meant to send."""
    said = [line.at for line in lines if line.direction == "out" and any(n in line.text for n in notices)]
    return max(said, default=None)


# ---------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class RequestFilters:
    q: str = ""
    service_code: str = ""
    status: str = ""
    channel: str = ""
    # Words of the address (a street, a block, a zip code): "area" in the console.
    area: str = ""
    start: date | None = None
    end: date | None = None
    page: int = 1

    def as_query(self) -> dict[str, str]:
        values = {
            "q": self.q,
            "service_code": self.service_code,
            "status": self.status,
            "channel": self.channel,
            "area": self.area,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True, slots=True)
class RequestPage:
    rows: list[ServiceRequestRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min).replace(tzinfo=utcnow().tzinfo)


def find_requests(session: Session, filters: RequestFilters, *, page_size: int) -> RequestPage:
    query = select(ServiceRequestRow)
    if filters.service_code:
        query = query.where(ServiceRequestRow.service_code == filters.service_code)
    if filters.status:
        query = query.where(ServiceRequestRow.status == filters.status)
    if filters.channel:
        query = query.where(ServiceRequestRow.channel == filters.channel)
    if filters.start:
        query = query.where(col(ServiceRequestRow.requested_datetime) >= day_start(filters.start))
    if filters.end:
        end = day_start(filters.end) + timedelta(days=1)
        query = query.where(col(ServiceRequestRow.requested_datetime) < end)
    for word in filters.area.split():
        query = query.where(
            or_(
                func.lower(col(ServiceRequestRow.address)).contains(word.lower(), autoescape=True),
                col(ServiceRequestRow.zipcode) == word,
            )
        )
    words = filters.q
    for phone in phone_numbers(filters.q):
        # A phone number, however written: the resident's stored phone (digits compared), or the description.
        words = words.replace(phone.written, " ", 1)
        matches = [
            func.lower(col(ServiceRequestRow.description)).contains(phone.written.lower(), autoescape=True),
            _digits_of(col(ServiceRequestRow.phone)).endswith(phone.digits, autoescape=True),
        ]
        if phone.written.isascii() and phone.written.isdigit() and len(phone.written) <= 9:
            matches.append(col(ServiceRequestRow.id) == int(phone.written))  # or a long id
        query = query.where(or_(*matches))
    for word in words.split():
        # Words of the description or of the service's name ("pothole" finds "Pothole or street defect").
        conditions = [
            func.lower(col(ServiceRequestRow.description)).contains(word.lower(), autoescape=True),
            func.lower(col(ServiceRequestRow.service_name)).contains(word.lower(), autoescape=True),
        ]
        # An id, as the bot writes it to residents ("#15") or bare: ASCII digits only ("²".isdigit() is
        # true), and short enough for an integer column.
        number = word.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= 9:
            conditions.append(col(ServiceRequestRow.id) == int(number))
        query = query.where(or_(*conditions))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = max(1, filters.page)
    rows = session.exec(
        query.order_by(col(ServiceRequestRow.requested_datetime).desc(), col(ServiceRequestRow.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return RequestPage(rows=list(rows), total=int(total), page=page, page_size=page_size)


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    written: str  # as the operator typed it: "(415) 555-0110"
    digits: str  # its last ten digits, without a country code: "4155550110"


# A phone number as people write it: "+14155550110", "4155550110", "(415) 555-0110", "1 415 555 0110",
# "415.555.0110"; or any run of seven or more digits and phone punctuation without spaces.
_PHONE = re.compile(
    r"(?<![\w#])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)|(?<![\w#])\+?[\d().-]{7,}(?!\w)"
)
# Characters a stored phone may be written with, besides its digits.
_PHONE_PUNCTUATION = " +-().\u00a0"


def phone_numbers(text: str) -> list[PhoneNumber]:
    """The phone numbers in a search, each with the digits compared with a stored phone: the last ten
    (a country code may be written or not, on either side); seven to ten digits as they are."""
    found: list[PhoneNumber] = []
    for match in _PHONE.finditer(text):
        digits = "".join(c for c in match.group(0) if c.isascii() and c.isdigit())
        if len(digits) >= 7:
            found.append(PhoneNumber(match.group(0).strip(), digits[-10:]))
    return found


def _digits_of(column: Any) -> Any:
    """A stored phone's digits, in SQL (SQLite and PostgreSQL both have ``replace``)."""
    for mark in _PHONE_PUNCTUATION:
        column = func.replace(column, mark, "")
    return column


def review_item_for_request(session: Session, reference: str) -> ReviewItem | None:
    """The review item an operator filed this request from, if a person decided it: by the request's id, or
    by the token it was filed with (a remote city's report is the bot's reference until the city numbers
    it, and the item keeps that reference)."""
    return session.exec(
        select(ReviewItem).where(
            or_(col(ReviewItem.service_request_id) == reference, col(ReviewItem.token) == reference)
        )
    ).first()


def languages_of(session: Session, references: Collection[str]) -> dict[str, str]:
    """The language residents wrote requests in, by request id or batch token, where it is known: that of the
    review item an operator filed it from, else that of the resident who filed it through the bot (the one
    they speak with it). Requests made through the API have none."""
    wanted = sorted({reference for reference in references if reference})
    if not wanted:
        return {}
    found: dict[str, str] = {}
    filers = session.exec(
        select(Follow.service_request_id, Resident.language)
        .join(
            Resident,
            and_(
                col(Resident.channel) == col(Follow.channel),
                col(Resident.resident_id) == col(Follow.resident_id),
            ),
        )
        .where(col(Follow.service_request_id).in_(wanted), Follow.reason == "filed")
    ).all()
    for reference, language in filers:
        if language:
            found[reference] = language
    reviewed = session.exec(
        select(ReviewItem.service_request_id, ReviewItem.token, ReviewItem.language).where(
            or_(col(ReviewItem.service_request_id).in_(wanted), col(ReviewItem.token).in_(wanted))
        )
    ).all()
    for request_id, token, language in reviewed:
        for known in (request_id, token):
            if known is not None and known in wanted and language:
                found[known] = language
    return found


def request_history(session: Session, request_id: int) -> list[StatusChangeRow]:
    return list(
        session.exec(
            select(StatusChangeRow)
            .where(StatusChangeRow.request_id == request_id)
            .order_by(col(StatusChangeRow.id))
        ).all()
    )


def distinct_channels(session: Session) -> list[str]:
    return sorted(
        c for c in session.exec(select(ServiceRequestRow.channel).distinct()).all() if c is not None
    )


# ------------------------------------------------------------------------------------ batch submissions


@dataclass(frozen=True, slots=True)
class BatchView:
    """A batch service's submission waiting for a person to accept it (open311.batch_acceptance)."""

    token: str
    service_code: str
    description: str
    address: str
    channel: str
    created_at: datetime
    age: str

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "service_code": self.service_code,
            "description": self.description,
            "address": self.address,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
        }


def pending_batch(session: Session, *, limit: int = 200) -> list[BatchView]:
    """Batch submissions not yet accepted, oldest first."""
    rows = session.exec(
        select(RequestTokenRow)
        .where(col(RequestTokenRow.request_id).is_(None), col(RequestTokenRow.accepted_at).is_(None))
        .order_by(col(RequestTokenRow.created_at))
        .limit(limit)
    ).all()
    now = utcnow()
    views: list[BatchView] = []
    for row in rows:
        payload = row.payload
        where = payload.get("address_string") or ""
        if not where and payload.get("lat") is not None and payload.get("long") is not None:
            where = f"{float(payload['lat']):.5f}, {float(payload['long']):.5f}"
        views.append(
            BatchView(
                token=row.token,
                service_code=row.service_code,
                description=str(payload.get("description") or ""),
                address=str(where),
                channel=str(payload.get("channel") or ""),
                created_at=as_utc(row.created_at),
                age=humanize_age(now - as_utc(row.created_at)),
            )
        )
    return views
