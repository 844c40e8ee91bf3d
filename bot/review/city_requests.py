"""What the console shows, with ``[remote] enabled``, of the reports the bot filed at the city: the rows of
``remote_submission`` (the bot's reference ``R<n>``, the city's number once it has one), with the status
the remote-sync job last read from the city.

The city owns these requests: the console lists, shows and counts them, and cannot change them (GeoReport
v2 gives the bot no way to). Filters and counts run in the database, as the embedded core's do
(``views.find_requests``, ``dashboard.compute``); the service code and the place are read from the fields
the bot POSTs, which are all it keeps of a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, literal, not_, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from bot.clock import as_utc
from bot.follows import Follow
from bot.remote.backend import LOCAL_REFERENCE, local_reference
from bot.remote.records import RemoteRequestState, RemoteSubmission
from bot.review.views import RequestFilters, day_start
from bot.review.web import whole_number

# The resident's reference of a submission, as ``bot.remote.backend.local_reference`` writes it ("R5").
_reference = literal("R", String) + cast(col(RemoteSubmission.id), String)
_FIELDS = col(RemoteSubmission.fields)
_service_code = _FIELDS["service_code"].as_string()
_description = _FIELDS["description"].as_string()
_address = _FIELDS["address_string"].as_string()
# The resident who filed it: the channel is theirs (the bot keeps no other record of it).
_FILER = aliased(Follow)
_FILED_BY = and_(col(_FILER.service_request_id) == _reference, col(_FILER.reason) == "filed")
_MIRRORED = col(RemoteRequestState.service_request_id) == col(RemoteSubmission.service_request_id)
# Submission states: numbered by the city ("filed"), refused by it (a person decides again: "review", or
# "rejected" before refusals went to review), else on its way ("pending", "token", "held").
_REFUSED = ("review", "rejected")
# What the console calls a report the city does not have yet, and one it refused.
PENDING, REFUSED = "pending", "refused"
STATUSES = ("open", "closed", PENDING, REFUSED)
STATUS_LABELS = {PENDING: "on its way to the city", REFUSED: "refused by the city"}
CITY_OWNS_REQUESTS = (
    "the city's own system changes the status of the requests the bot filed there (GeoReport v2 gives the "
    "bot no way to); residents who follow one hear of each change the bot reads from the city"
)


@dataclass(frozen=True, slots=True)
class CityRequest:
    reference: str
    # The city's number, once it has given one.
    service_request_id: str | None
    service_code: str
    service_name: str
    # The city's as last read ("open", "closed"), or PENDING or REFUSED.
    status: str
    status_notes: str
    agency_responsible: str
    expected_datetime: datetime | None
    channel: str
    description: str
    address: str
    lat: float | None
    long: float | None
    media_url: str | None
    filed_at: datetime
    # When the remote-sync job last read the city's status (None: not numbered yet).
    checked_at: datetime | None
    attempts: int
    # Why the last attempt failed, or why the city refused it.
    last_error: str | None
    # The review item a report the city refused became, for a person to file again.
    review_item_id: int | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def badge(self) -> str:
        """The badge's style: refused as a rejected review item, on its way as a waiting one."""
        return "rejected" if self.status == REFUSED else self.status

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "service_request_id": self.service_request_id,
            "service_code": self.service_code,
            "service_name": self.service_name,
            "status": self.status,
            "status_notes": self.status_notes,
            "agency_responsible": self.agency_responsible,
            "expected_datetime": self.expected_datetime.isoformat() if self.expected_datetime else None,
            "channel": self.channel,
            "description": self.description,
            "address": self.address,
            "lat": self.lat,
            "long": self.long,
            "media_url": self.media_url,
            "requested_datetime": self.filed_at.isoformat(),
            "checked_datetime": self.checked_at.isoformat() if self.checked_at else None,
            "attempts": self.attempts,
            "error": self.last_error,
            "review_item_id": self.review_item_id,
        }


@dataclass(frozen=True, slots=True)
class CityRequestPage:
    rows: list[CityRequest]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def searchable_statuses(remote: bool) -> tuple[str, ...]:
    """The statuses the request search filters by: the core's, or with [remote] the console's for the
    city's reports (``STATUSES``)."""
    return STATUSES if remote else ("open", "closed")


def status_is(status: str) -> ColumnElement[bool]:
    """The submissions whose console status (``CityRequest.status``) is ``status``."""
    if status == PENDING:
        return col(RemoteSubmission.state).not_in(("filed", *_REFUSED))
    if status == REFUSED:
        return col(RemoteSubmission.state).in_(_REFUSED)
    city_status = func.coalesce(col(RemoteRequestState.status), "open")
    return and_(col(RemoteSubmission.state) == "filed", city_status == status)


# Open: on its way, or at the city and not closed. Counted by age like the core's open requests.
IS_OPEN = not_(or_(status_is("closed"), status_is(REFUSED)))
NOT_REFUSED = col(RemoteSubmission.state).not_in(_REFUSED)


def _submissions() -> Select[RemoteSubmission, RemoteRequestState, str]:
    """Each submission with the status last read from the city and the channel of the resident who filed
    it (None where there is none yet, or no longer: a filer who stopped following it)."""
    query = select(RemoteSubmission, RemoteRequestState, _FILER.channel)
    return query.outerjoin(RemoteRequestState, _MIRRORED).outerjoin(_FILER, _FILED_BY)


def find(
    session: Session, filters: RequestFilters, names: Mapping[str, str], *, page_size: int
) -> CityRequestPage:
    """The bot's reports to the city matching ``filters``, newest first; ``names`` gives services their
    names (the city's, as cached) where the mirror has none yet."""
    query = _submissions()
    if filters.service_code:
        query = query.where(_service_code == filters.service_code)
    if filters.status:
        query = query.where(status_is(filters.status))
    if filters.channel:
        query = query.where(col(_FILER.channel) == filters.channel)
    if filters.start:
        query = query.where(col(RemoteSubmission.created_at) >= day_start(filters.start))
    if filters.end:
        query = query.where(col(RemoteSubmission.created_at) < day_start(filters.end) + timedelta(days=1))
    for word in filters.area.split():
        query = query.where(func.lower(_address).contains(word.lower(), autoescape=True))
    for word in filters.q.split():
        # Words of the description or of the service's name, or a reference: the bot's ("R5", "#R5") or
        # the city's number.
        named = sorted(code for code, name in names.items() if word.lower() in name.lower())
        query = query.where(
            or_(
                func.lower(_description).contains(word.lower(), autoescape=True),
                _service_code.in_(named),
                _reference == word.lstrip("#").upper(),
                col(RemoteSubmission.service_request_id) == word.lstrip("#"),
            )
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = max(1, filters.page)
    found = session.exec(
        query.order_by(col(RemoteSubmission.created_at).desc(), col(RemoteSubmission.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = [_view(submission, state, channel, names) for submission, state, channel in found]
    return CityRequestPage(rows=rows, total=int(total), page=page, page_size=page_size)


def get(session: Session, reference: str, names: Mapping[str, str]) -> CityRequest | None:
    """One report by the bot's reference ("R5") or the city's number; None when the bot filed none."""
    reference = reference.strip().lstrip("#")
    local = LOCAL_REFERENCE.match(reference)
    query = _submissions()
    if local:
        number = whole_number(local.group(1))
        if number is None:
            return None
        query = query.where(col(RemoteSubmission.id) == number)
    else:
        query = query.where(col(RemoteSubmission.service_request_id) == reference)
    found = session.exec(query.order_by(col(RemoteSubmission.id)).limit(1)).first()
    return _view(*found, names) if found is not None else None


def channels(session: Session) -> list[str]:
    """The channels residents filed through (for the channel filter)."""
    found = session.exec(select(Follow.channel).where(Follow.reason == "filed").distinct()).all()
    return sorted(channel for channel in found if channel)


def volumes(session: Session, since: datetime) -> list[tuple[Any, str, str, int]]:
    """The reports sent to the city since ``since`` (those it refused left out: a person files them again),
    counted by day, channel and service: the same grouping as the dashboard's count of the core."""
    inner = (
        select(
            func.date(col(RemoteSubmission.created_at)).label("day"),
            col(_FILER.channel).label("channel"),
            _service_code.label("service_code"),
        )
        .select_from(RemoteSubmission)
        .outerjoin(_FILER, _FILED_BY)
        .where(col(RemoteSubmission.created_at) >= since, NOT_REFUSED)
        .subquery()
    )
    # Grouped outside: PostgreSQL does not take the JSON lookup, bound twice, as the same expression.
    grouped = session.exec(
        select(inner.c.day, inner.c.channel, inner.c.service_code, func.count()).group_by(
            inner.c.day, inner.c.channel, inner.c.service_code
        )
    ).all()
    return [(day, channel or "unknown", code or "", int(count)) for day, channel, code, count in grouped]


def open_count() -> SelectOfScalar[int]:
    """A count of the open reports (on their way, or at the city and not closed), for ``where`` to narrow."""
    return (
        select(func.count())
        .select_from(RemoteSubmission)
        .outerjoin(RemoteRequestState, _MIRRORED)
        .where(IS_OPEN)
    )


def _view(
    submission: RemoteSubmission,
    state: RemoteRequestState | None,
    channel: str | None,
    names: Mapping[str, str],
) -> CityRequest:
    assert submission.id is not None
    fields = submission.fields
    code = str(fields.get("service_code", ""))
    if submission.state == "filed":
        status = state.status if state is not None else "open"
    else:
        status = REFUSED if submission.state in _REFUSED else PENDING
    return CityRequest(
        reference=local_reference(submission.id),
        service_request_id=submission.service_request_id,
        service_code=code,
        service_name=(state.service_name if state is not None else "") or names.get(code, code),
        status=status,
        status_notes=state.status_notes if state is not None else "",
        agency_responsible=state.agency_responsible if state is not None else "",
        expected_datetime=as_utc(state.expected_datetime) if state and state.expected_datetime else None,
        channel=channel or "",
        description=str(fields.get("description", "")),
        address=str(fields.get("address_string", "")),
        lat=_number(fields.get("lat")),
        long=_number(fields.get("long")),
        media_url=str(fields["media_url"]) if fields.get("media_url") else None,
        filed_at=as_utc(submission.created_at),
        checked_at=as_utc(state.checked_at) if state is not None else None,
        attempts=submission.attempts,
        last_error=submission.last_error,
        review_item_id=submission.review_item_id,
    )


def _number(value: object) -> float | None:
    """A coordinate as the bot POSTs it (text), None when the report had none."""
    try:
        return float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
