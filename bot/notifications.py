"""Status-change notifications: every change of a request's status, notes or expected date, every move of
it to another place and every change of its service, reaches each resident who filed or follows it, once, on
the channel they used, in their language, through the outbox.

Changes come from event logs with monotonically increasing ids: the embedded core's ``status_changes``
and, with the remote backend, ``remote_status_change``. Each log is scanned from a persisted cursor.

Exactly once, across restarts and workers:
- a run holds its cursor row locked (``FOR UPDATE``) for its whole transaction, so two runs never
  interleave, and the outbox rows, the "handled" marks and the cursor commit together;
- every outbox row carries the key (source, change id, channel, resident), unique in the outbox, so even
  a bug elsewhere cannot queue the same update twice for one resident;
- on PostgreSQL a change with a lower id can commit after one with a higher id; the cursor therefore
  only moves past changes older than ``SETTLE``, and the changes it has not yet passed are remembered
  individually (``notified_change``) so none is skipped and none handled twice; and it only moves past
  changes already marked handled, since a change can also commit while a run reads the log.
After STOP the resident gets nothing: the outbox suppresses messages to opted-out residents.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, delete, select

from bot.backend import ServiceSummary, service_name_in
from bot.clock import utcnow
from bot.follows import Follow, followers
from bot.open311.models import ServiceRequestRow, StatusChangeRow, UTCDateTime
from bot.outbox import enqueue
from bot.redaction import mask_contact_details
from bot.remote.records import RemoteStatusChange
from bot.state import get_resident
from bot.templates import Templates
from channels.messages import OutboundMessage

log = logging.getLogger(__name__)

# How long a change may take to become visible after its id was handed out (a slow transaction).
SETTLE = timedelta(seconds=60)


class JobCursor(SQLModel, table=True):
    __tablename__ = "job_cursor"

    name: str = Field(primary_key=True, max_length=64)
    # Every change with an id up to here has been handled.
    position: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotifiedChange(SQLModel, table=True):
    """Changes past the cursor already handled (pruned once the cursor passes them)."""

    __tablename__ = "notified_change"

    source: str = Field(primary_key=True, max_length=16)
    change_id: int = Field(primary_key=True)
    recipients: int = 0
    handled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@dataclass(frozen=True, slots=True)
class StatusChange:
    change_id: int
    service_request_id: str
    service_name: str
    status: str
    status_notes: str | None
    expected_datetime: datetime | None
    recorded_at: datetime
    # "status": a change of status, notes or expected date; "submitted": a request was created (news only
    # when it came from a token: its filer learns the number); "rejected": a token will never get one;
    # "moved": an operator moved it to another place, ``status_notes`` (the history entry's) the new place;
    # "recategorised": an operator made it one of another service, ``status_notes`` that service's name;
    # "unchanged": an entry that repeats the previous one in everything a resident is told.
    kind: str = "status"
    # The token (a batch service's, or the remote backend's local reference) the request was filed under;
    # the resident who filed it follows the token until the number exists.
    token: str | None = None
    # False when the status is the one before and only the notes or the expected date changed: "it is
    # still open", not "it is now open" (which says the status changed).
    status_changed: bool = True


@dataclass(frozen=True, slots=True)
class ChangeSource:
    name: str
    # The event log's id and time columns.
    id_column: Any
    time_column: Any
    # The changes after an id that ``unhandled`` (a condition on the id column) lets through, oldest first.
    fetch: Callable[[Session, int, int, ColumnElement[bool]], Sequence[StatusChange]]

    def unhandled(self) -> ColumnElement[bool]:
        return ~exists().where(
            col(NotifiedChange.source) == self.name, col(NotifiedChange.change_id) == self.id_column
        )


def _core_changes(
    session: Session, after: int, limit: int, unhandled: ColumnElement[bool]
) -> list[StatusChange]:
    query = (
        select(StatusChangeRow, ServiceRequestRow.service_name, ServiceRequestRow.token)
        .join(ServiceRequestRow, col(ServiceRequestRow.id) == col(StatusChangeRow.request_id))
        .where(col(StatusChangeRow.id) > after, unhandled)
        .order_by(col(StatusChangeRow.id))
        .limit(limit)
    )
    return [
        StatusChange(
            change_id=row.id or 0,
            service_request_id=str(row.request_id),
            service_name=service_name,
            status=row.status,
            status_notes=row.status_notes,
            expected_datetime=row.expected_datetime,
            recorded_at=row.changed_at,
            # An entry that only changed what residents are not told (the agency) is no news to them.
            kind="unchanged" if row.kind == "status" and _repeats_previous(session, row) else row.kind,
            token=token,
            status_changed=row.status != row.previous_status,
        )
        for row, service_name, token in session.exec(query).all()
    ]


# The history entries whose notes are not the request's status notes.
_NOTES_NOT_THE_REQUESTS = ("moved", "recategorised")


def _repeats_previous(session: Session, row: StatusChangeRow) -> bool:
    # A move's entry has the place for notes, not the request's, and a change of service the service's:
    # the entry before them is what to compare.
    previous = session.exec(
        select(StatusChangeRow)
        .where(
            StatusChangeRow.request_id == row.request_id,
            col(StatusChangeRow.id) < row.id,
            col(StatusChangeRow.kind).not_in(_NOTES_NOT_THE_REQUESTS),
        )
        .order_by(col(StatusChangeRow.id).desc())
        .limit(1)
    ).first()
    return previous is not None and (previous.status, previous.status_notes, previous.expected_datetime) == (
        row.status,
        row.status_notes,
        row.expected_datetime,
    )


def _remote_changes(
    session: Session, after: int, limit: int, unhandled: ColumnElement[bool]
) -> list[StatusChange]:
    rows = session.exec(
        select(RemoteStatusChange)
        .where(col(RemoteStatusChange.id) > after, unhandled)
        .order_by(col(RemoteStatusChange.id))
        .limit(limit)
    ).all()
    return [
        StatusChange(
            change_id=row.id or 0,
            service_request_id=row.service_request_id,
            service_name=row.service_name,
            status=row.status,
            status_notes=row.status_notes or None,
            expected_datetime=row.expected_datetime,
            recorded_at=row.recorded_at,
            kind=row.kind,
            token=row.token,
            status_changed=row.kind != "status" or _remote_status_before(session, row) != row.status,
        )
        for row in rows
    ]


def _remote_status_before(session: Session, row: RemoteStatusChange) -> str | None:
    """The request's status in the change recorded before ``row``; None when none was (a FOLLOWed request's
    first change: what it was before is not known, and its status is told as news)."""
    if not row.service_request_id:
        return None
    return session.exec(
        select(RemoteStatusChange.status)
        .where(
            RemoteStatusChange.service_request_id == row.service_request_id,
            col(RemoteStatusChange.id) < (row.id or 0),
        )
        .order_by(col(RemoteStatusChange.id).desc())
        .limit(1)
    ).first()


CORE = ChangeSource("core", col(StatusChangeRow.id), col(StatusChangeRow.changed_at), _core_changes)
REMOTE = ChangeSource(
    "remote", col(RemoteStatusChange.id), col(RemoteStatusChange.recorded_at), _remote_changes
)


# A batch service's token is 32 hex digits (bot/open311/service.py): in a reply that cost two SMS segments
# for the token alone. Residents are shown its first digits, which STATUS takes too (``full_token``).
_SHORT_TOKEN = 8


def short_reference(token: str) -> str:
    """How a resident is shown ``token``: a long hex token's first 8 digits; a short one (the remote
    backend's own references) as it is."""
    if len(token) > 2 * _SHORT_TOKEN and all(char in string.hexdigits for char in token):
        return token[:_SHORT_TOKEN]
    return token


def full_token(session: Session, channel: str, resident_id: str, reference: str) -> str:
    """The token of the resident's own reports that ``reference`` (as ``short_reference`` showed it) stands
    for; ``reference`` itself when it is none. Only their own: 8 digits are no secret among anyone's."""
    if len(reference) != _SHORT_TOKEN or not all(char in string.hexdigits for char in reference):
        return reference
    followed = session.exec(
        select(Follow.service_request_id).where(
            Follow.channel == channel,
            Follow.resident_id == resident_id,
            col(Follow.service_request_id).startswith(reference.lower()),
        )
    ).all()
    tokens = [token for token in followed if short_reference(token) == reference.lower()]
    return tokens[0] if len(tokens) == 1 else reference


def render_update(
    templates: Templates,
    language: str | None,
    change: StatusChange,
    services: Sequence[ServiceSummary] = (),
) -> str | None:
    """The message a follower gets for ``change`` in their language (the service's name too, where
    ``services`` translate it); None when it is no news."""
    lang = templates.language_for(language)
    service = service_name_in(services, change.service_name, lang)
    if change.kind == "submitted":
        if not change.token:
            return None
        token = short_reference(change.token)
        return templates.render(
            "token_filed", lang, token=token, id=change.service_request_id, service=service
        )
    if change.kind == "rejected":
        token = short_reference(change.token or "")
        return templates.render(
            "token_rejected", lang, token=token, reason=_public(change.status_notes) or ""
        )
    if change.kind == "moved":
        # The address as the API publishes it (as given), so no masking.
        place = change.status_notes or ""
        return templates.render(
            "request_moved", lang, id=change.service_request_id, service=service, place=place
        )
    if change.kind == "recategorised":
        # The service it was made then (a later change may have made it another since).
        now = service_name_in(services, change.status_notes or change.service_name, lang)
        return templates.render("request_recategorised", lang, id=change.service_request_id, service=now)
    notes = templates.following_sentence(_public(change.status_notes), lang)
    expected = ""
    if change.expected_datetime is not None:
        expected = templates.render("expected_by", lang, date=templates.date(change.expected_datetime))
    # A closed report's update, too, ends "Reply UNFOLLOW {id} to stop these updates": it is not the last.
    # The follow stays, and a reopening (an operator's, or the city's, which the remote sync watches for
    # after closing) or a note on the closed report still reaches the follower; UNFOLLOW stops those.
    return templates.render(
        "status_update" if change.status_changed else "status_update_same_status",
        lang,
        id=change.service_request_id,
        service=service,
        status=templates.status_word(change.status, lang),
        notes=notes,
        expected=expected,
    )


def _public(notes: str | None) -> str | None:
    """Notes as the Open311 API publishes them: anyone may FOLLOW any request, so a phone number or an
    email an operator wrote in them goes to followers masked, as it does to apps."""
    return mask_contact_details(notes) if notes else notes


def _locked_cursor(session: Session, name: str) -> JobCursor:
    query = select(JobCursor).where(JobCursor.name == name).with_for_update()
    cursor = session.exec(query).first()
    if cursor is not None:
        return cursor
    try:
        with session.begin_nested():
            session.add(JobCursor(name=name, position=0))
    except IntegrityError:
        pass  # another run created it first; lock theirs
    cursor = session.exec(query).first()
    assert cursor is not None
    return cursor


def notify_once(
    session: Session,
    templates: Templates,
    source: ChangeSource,
    *,
    limit: int = 200,
    now: datetime | None = None,
    services: Sequence[ServiceSummary] = (),
) -> int:
    """Handles the changes of ``source`` not yet handled and commits; returns the messages queued.
    ``services`` name the requests' services in each follower's language."""
    moment = now or utcnow()
    cursor = _locked_cursor(session, f"notify:{source.name}")
    queued = 0
    for change in source.fetch(session, cursor.position, limit, source.unhandled()):
        recipients = _notify(session, templates, source.name, change, services)
        session.add(NotifiedChange(source=source.name, change_id=change.change_id, recipients=recipients))
        queued += recipients
    session.flush()
    position = _settled_position(session, source, cursor.position, moment - SETTLE)
    if position != cursor.position:
        cursor.position = position
        cursor.updated_at = moment
        session.add(cursor)
        # What the cursor now covers needs no individual mark any more.
        session.exec(
            delete(NotifiedChange).where(
                col(NotifiedChange.source) == source.name, col(NotifiedChange.change_id) <= position
            )
        )
    session.commit()
    return queued


def _settled_position(session: Session, source: ChangeSource, after: int, settled_before: datetime) -> int:
    """The furthest id the cursor may pass: every change up to it handled and older than the settle
    window (a change still young may yet be joined by a lower id that commits late).

    On PostgreSQL each query sees what has committed when it starts, so a change may appear between the
    first two queries and the last: the last counts only changes that are themselves handled and settled,
    and one that committed after the run fetched what to send is left for the next run."""
    beyond = source.id_column > after
    first_young = session.exec(
        select(func.min(source.id_column)).where(beyond, source.time_column > settled_before)
    ).one()
    first_unhandled = session.exec(select(func.min(source.id_column)).where(beyond, source.unhandled())).one()
    stops = [value for value in (first_young, first_unhandled) if value is not None]
    passable = [beyond, source.time_column <= settled_before, ~source.unhandled()]
    if stops:
        passable.append(source.id_column < min(stops))
    last = session.exec(select(func.max(source.id_column)).where(*passable)).one()
    return after if last is None else int(last)


def _recipients(session: Session, change: StatusChange) -> list[tuple[str, str, str | None]]:
    """(channel, resident id, message to answer under) of everyone following the request by its number or
    by its token; one entry per resident, with the thread of the report where one is known."""
    if change.kind in ("status", "moved", "recategorised"):
        references = [change.service_request_id, change.token]
    elif change.kind in ("submitted", "rejected") and change.token:
        references = [change.token]  # only the filer waits on a token
    else:
        return []
    found: dict[tuple[str, str], str | None] = {}
    for reference in references:
        if reference:
            for follower in followers(session, reference):
                key = (follower.channel, follower.resident_id)
                found[key] = found.get(key) or follower.reply_to
    return [(channel, resident_id, reply_to) for (channel, resident_id), reply_to in found.items()]


def _notify(
    session: Session,
    templates: Templates,
    source: str,
    change: StatusChange,
    services: Sequence[ServiceSummary],
) -> int:
    count = 0
    for channel, resident_id, reply_to in _recipients(session, change):
        resident = get_resident(session, channel, resident_id)
        text = render_update(templates, resident.language if resident else None, change, services)
        if text is None:
            continue
        enqueue(
            session,
            OutboundMessage(channel=channel, resident_id=resident_id, text=text, reply_to=reply_to),
            dedupe_key=f"status:{source}:{change.change_id}:{channel}:{resident_id}",
        )
        count += 1
    return count
