"""The Open311 core as a library: the six GeoReport v2 operations, status changes and batch acceptance.

No HTTP here: callers pass typed models and get typed models or an Open311Error back. Every write takes
an optional SQLAlchemy ``Session``: given one, the write joins the caller's transaction (the caller
commits, e.g. together with its outbox row); without one, the service opens, commits and closes its own.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.clock import utcnow
from bot.config import Open311Settings
from bot.db import SessionFactory
from bot.open311 import store
from bot.open311.catalog import Catalog, Service
from bot.open311.errors import Conflict, InvalidInput, NotFound, Open311Error, shown
from bot.open311.events import EventBus, Listener
from bot.open311.keys import KeyStore
from bot.open311.media import more_photos, with_more_photos
from bot.open311.models import (
    STATUSES,
    AttributeValues,
    NewRequest,
    RequestQuery,
    RequestTokenRow,
    ServiceRequest,
    StatusChangeEvent,
    Submission,
    TokenStatus,
)
from bot.open311.validation import (
    MAX_DESCRIPTION,
    MAX_MEDIA_URL,
    AreaServed,
    as_utc,
    check_http_url,
    validate_answers,
    validate_submission,
)

# The spec's default window and the longest window a query may ask for.
QUERY_WINDOW = timedelta(days=90)
MAX_IDS_PER_QUERY = 1000
TOKEN_ACCEPTOR = "batch-acceptance"

# The status table: the only statuses GeoReport v2 knows, and which changes make sense. A request can be
# reopened (closed -> open) and its notes/agency/expected date updated without a status change.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"open", "closed"}),
    "closed": frozenset({"closed", "open"}),
}


def closes(previous_status: str, status: str) -> bool:
    """Whether a change from ``previous_status`` to ``status`` closes the request. Closing ends what the
    request said while it was open: a change that closes it and brings no notes or expected date of its
    own clears them (``Open311Service.update_status``), else a closed request read "Crew scheduled",
    expected by Friday, to a resident asking STATUS and in GET /requests. Its history keeps the old notes.
    The operator console asks this too, so the core is the one place that decides."""
    return status == "closed" and previous_status != "closed"


Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


class Open311Service:
    def __init__(
        self,
        session_factory: SessionFactory,
        catalog: Catalog,
        settings: Open311Settings,
        keys: KeyStore,
        events: EventBus | None = None,
        *,
        clock: Clock = utcnow,
        sandbox: bool = False,
        serves: AreaServed | None = None,
    ) -> None:
        self._sessions = session_factory
        # Reads go straight to a pooled connection: an ORM session costs more than the query itself.
        self._engine: Engine = session_factory.kw["bind"]
        self.catalog = catalog
        self.settings = settings
        self.keys = keys
        self.events = events or EventBus()
        self._clock = clock
        # In the sandbox POST needs no key (its data is separate from production, see sandbox.py).
        self.sandbox = sandbox
        # The area a third-party client's point must lie in (the one residents are held to, given by the
        # runtime); None: anywhere. Not in the sandbox, whose fixed cases may lie in another city.
        self.serves = serves
        self._single_jurisdiction = len(settings.jurisdictions) == 1

    # ------------------------------------------------------------------------------------ helpers

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        """The caller's session (caller commits) or our own (we commit, or roll back on error)."""
        if session is not None:
            yield session
            return
        with self._sessions() as own, own.begin():
            yield own

    def jurisdiction(self, jurisdiction_id: str | None) -> str:
        """The jurisdiction a call is for: required when several are served, and must be one of them."""
        served = self.settings.jurisdictions
        if jurisdiction_id is None or not jurisdiction_id.strip():
            if len(served) == 1:
                return served[0]
            raise InvalidInput(
                f"jurisdiction_id is required (one of: {', '.join(served)})", field="jurisdiction_id"
            )
        value = jurisdiction_id.strip()
        # A domain name, compared as DNS compares them (SFGov.org is sfgov.org); the configured
        # spelling is the one stored and compared with stored requests.
        found = next((name for name in served if name.lower() == value.lower()), None)
        if found is None:
            raise NotFound(f"jurisdiction_id {shown(value)} is not served here", field="jurisdiction_id")
        return found

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Calls ``listener`` after every committed status change (and new request); returns unsubscribe."""
        return self.events.subscribe(listener)

    # --------------------------------------------------------------------------- the six methods

    def list_services(self, jurisdiction_id: str | None = None) -> tuple[Service, ...]:
        self.jurisdiction(jurisdiction_id)
        return self.catalog.services

    def get_service_definition(self, service_code: str, jurisdiction_id: str | None = None) -> Service:
        self.jurisdiction(jurisdiction_id)
        return self._service(service_code)

    def _service(self, service_code: str | None) -> Service:
        code = (service_code or "").strip()
        if not code:
            raise InvalidInput("service_code is required", field="service_code")
        service = self.catalog.get(code)
        if service is None:
            raise NotFound(f"service_code {shown(code)} is not a service of this city", field="service_code")
        return service

    def create_request(
        self,
        new: NewRequest,
        *,
        api_key: str | None = None,
        require_api_key: bool = False,
        actor: str | None = None,
        session: Session | None = None,
        read_errors: Sequence[InvalidInput] = (),
    ) -> Submission:
        """Files a request. Realtime services answer with its id; batch services with a token that
        resolves once the request is accepted (automatically after a delay, or by an operator).

        ``require_api_key``: the HTTP layer sets it for third-party clients (ignored in the sandbox); the
        bot, in-process, files without a key and names its ``channel`` in ``new``. A third-party client's
        lat/long outside ``serves`` is refused (not in the sandbox); the bot's places were checked by the
        conversation.

        Checked in order, each stopping the rest: the key (Forbidden), the jurisdiction, the service.
        Then every field and attribute is checked and all that fail are raised together, as one
        InvalidInput whose ``errors`` list them (with ``read_errors``, what the caller met reading the
        submission, e.g. a malformed attribute key); nothing is filed.
        """
        now = self._clock()
        with self._session(session) as db:
            key_id = None
            if require_api_key and not self.sandbox:
                # The key first: a client without a valid key learns nothing about its submission.
                key_id = self.keys.verify(api_key, session=db).id
            jurisdiction = self.jurisdiction(new.jurisdiction_id)
            service = self._service(new.service_code)
            area = self.serves if require_api_key and not self.sandbox else None
            columns = validate_submission(new, service, read_errors, serves=area)
            if service.type == "batch":
                token = secrets.token_hex(16)
                # lat and long as numbers, however they came (see NewRequest).
                payload = dataclasses.asdict(new) | {
                    "jurisdiction_id": jurisdiction,
                    "lat": columns["lat"],
                    "long": columns["long"],
                }
                due = None
                if self.settings.batch_acceptance == "auto":
                    due = now + timedelta(seconds=self.settings.batch_accept_delay_seconds)
                db.add(
                    RequestTokenRow(
                        token=token,
                        service_code=service.code,
                        payload=payload,
                        api_key_id=key_id,
                        created_at=now,
                        due_at=due,
                    )
                )
                db.flush()
                return Submission(None, token, service.service_notice, columns["account_id"])
            request_id = self._insert(
                db, columns, jurisdiction, key_id, None, now, actor or columns["channel"]
            )
        return Submission(str(request_id), None, service.service_notice, columns["account_id"])

    def _insert(
        self,
        db: Session,
        columns: dict[str, Any],
        jurisdiction: str,
        key_id: int | None,
        token: str | None,
        now: datetime,
        actor: str,
        requested: datetime | None = None,
    ) -> int:
        """Writes a new open request and its first history row; ``requested`` is when the resident
        submitted it (for a batch submission: before it was accepted ``now``)."""
        values = columns | {
            "jurisdiction_id": jurisdiction,
            "status": "open",
            "requested_datetime": requested or now,
            "updated_datetime": now,
            "api_key_id": key_id,
            "token": token,
        }
        request_id = store.insert_request(db, values)
        change_id = store.insert_change(
            db,
            request_id=request_id,
            kind="submitted",
            status="open",
            previous_status=None,
            status_notes=None,
            agency_responsible=columns["agency_responsible"],
            expected_datetime=None,
            changed_at=now,
            actor=actor,
        )
        self.events.publish_after_commit(
            db,
            StatusChangeEvent(
                change_id, str(request_id), "submitted", "open", None, None, now, actor, columns["channel"]
            ),
        )
        return request_id

    def get_token(self, token_id: str, jurisdiction_id: str | None = None) -> TokenStatus:
        self.jurisdiction(jurisdiction_id)
        token = (token_id or "").strip()
        if not token:
            raise InvalidInput("token is required", field="token")
        with self._sessions() as db:
            row = db.get(RequestTokenRow, token) if len(token) <= 64 else None
            if row is None:
                raise NotFound(f"token {shown(token)} was not found", field="token")
            return _token_status(row)

    def get_request(
        self, service_request_id: str, jurisdiction_id: str | None = None, *, with_notes: bool = False
    ) -> ServiceRequest:
        jurisdiction = self.jurisdiction(jurisdiction_id)
        ids = store.parse_request_ids([service_request_id])
        with self._engine.connect() as db:
            row = store.request_by_id(db, ids[0]) if ids else None
            if row is None or row.jurisdiction_id != jurisdiction:
                raise NotFound(
                    f"service_request_id {shown(service_request_id)} was not found",
                    field="service_request_id",
                )
            notes = store.notes_for(db, ids).get(ids[0], ()) if with_notes else ()
            return store.to_request(row, notes)

    def query_requests(self, query: RequestQuery) -> list[ServiceRequest]:
        jurisdiction = self.jurisdiction(query.jurisdiction_id)
        page_size = query.page_size or self.settings.max_page_size
        if not 1 <= page_size <= self.settings.max_page_size:
            raise InvalidInput(
                f"page_size must be between 1 and {self.settings.max_page_size}", field="page_size"
            )
        if query.page < 1:
            raise InvalidInput("page must be 1 or more", field="page")
        if query.page * page_size > 10_000_000:
            raise InvalidInput("page is beyond any result", field="page")
        c = store.requests_table.c
        statement = store.select_requests(with_attributes=query.extensions)
        if not self._single_jurisdiction:
            statement = statement.where(c.jurisdiction_id == jurisdiction)
        if query.service_request_ids:
            if len(query.service_request_ids) > MAX_IDS_PER_QUERY:
                raise InvalidInput(
                    f"service_request_id takes at most {MAX_IDS_PER_QUERY} ids", field="service_request_id"
                )
            ids = store.parse_request_ids(query.service_request_ids)
            statement = statement.where(store.ids_among(ids)).order_by(c.id)
        else:
            start, end = self._window(query.start_date, query.end_date)
            # Clients are shown whole seconds (formats.w3c) while stored times keep their microseconds, so
            # the bounds compare the times as shown: end_date=X includes the whole second X, and
            # start_date=X&end_date=X finds every request shown as requested at X.
            statement = statement.where(
                c.requested_datetime >= _whole_second_from(start),
                c.requested_datetime <= end.replace(microsecond=999_999),
            )
            if query.service_codes:
                statement = statement.where(c.service_code.in_(query.service_codes))
            if query.statuses:
                unknown = [s for s in query.statuses if s not in STATUSES]
                if unknown:
                    raise InvalidInput(
                        f"status {shown(unknown[0])} is not one of: open, closed", field="status"
                    )
                if set(query.statuses) != set(STATUSES):
                    statement = statement.where(c.status.in_(query.statuses))
            statement = statement.order_by(c.requested_datetime.desc(), c.id.desc())
        statement = statement.limit(page_size).offset((query.page - 1) * page_size)
        with self._engine.connect() as db:
            rows = db.execute(statement).all()
            if not query.extensions:
                return [store.to_request(row) for row in rows]
            notes = store.notes_for(db, [row.id for row in rows])
            return [store.to_request(row, notes.get(row.id, ())) for row in rows]

    def _window(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        for value, name in ((start, "start_date"), (end, "end_date")):
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{name} needs a timezone", field=name)
        # In UTC first: an offset can push a date past what a datetime (and the database) holds.
        start = as_utc(start, "start_date") if start is not None else None
        end = as_utc(end, "end_date") if end is not None else None
        if start is None and end is None:
            end = self._clock()
            start = end - QUERY_WINDOW
        elif start is None:
            assert end is not None
            start = _shifted(end, -QUERY_WINDOW)
        elif end is None:
            # "Everything since start_date": until now (the spec's default range is the most recent
            # days). Never start_date + 90 days, which answered a poll since a date over 90 days ago
            # with a silent []. A start_date still to come (a client's clock ahead) finds nothing yet.
            end = max(self._clock(), start)
            if end - start > QUERY_WINDOW:
                raise InvalidInput(
                    "start_date without end_date searches until now, which may not span more than 90 "
                    "days: give an end_date at most 90 days after start_date",
                    field="end_date",
                )
        if start > end:
            raise InvalidInput("start_date is after end_date", field="start_date")
        if end - start > QUERY_WINDOW:
            raise InvalidInput("start_date and end_date may not span more than 90 days", field="end_date")
        return start, end

    # --------------------------------------------------------------------------- status changes

    def update_status(
        self,
        service_request_id: str,
        status: str,
        status_notes: str | None = None,
        agency_responsible: str | None = None,
        expected_datetime: datetime | None = None,
        actor: str = "system",
        *,
        session: Session | None = None,
    ) -> ServiceRequest:
        """Changes a request's status (and notes, agency, expected date), keeps the history, emits an
        event after commit. ``status_notes`` replaces the current notes (none clears them); agency and
        expected date are kept when not given, but for a change that closes the request, which clears
        its expected date (see ``closes``)."""
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(STATUSES)}", field="status")
        if expected_datetime is not None and expected_datetime.tzinfo is None:
            raise InvalidInput("expected_datetime needs a timezone", field="expected_datetime")
        notes = status_notes.strip() if status_notes and status_notes.strip() else None
        if notes and len(notes) > 4000:
            raise InvalidInput("status_notes is longer than 4000 characters", field="status_notes")
        with self._session(session) as db:
            row = self._locked(db, service_request_id)
            if status not in STATUS_TRANSITIONS[row.status]:
                raise Conflict(f"a {row.status} request cannot become {status}", field="status")
            changes: dict[str, Any] = {"status": status, "status_notes": notes}
            if agency_responsible is not None:
                changes["agency_responsible"] = agency_responsible.strip() or None
            if expected_datetime is not None:
                changes["expected_datetime"] = expected_datetime
            elif closes(row.status, status):
                changes["expected_datetime"] = None
            return self._change(db, row, changes, kind="status", noted=notes, actor=actor)

    def _locked(self, db: Session, service_request_id: str) -> Row[Any]:
        """The request about to change, read once its row is locked; NotFound when there is none.

        Write first, read second: the touch (``updated_datetime``, which every change moves anyway) takes
        the row's lock (PostgreSQL) or the database's write lock (SQLite, where SELECT ... FOR UPDATE does
        not exist), so two concurrent changes cannot both read the request as it was before either."""
        ids = store.parse_request_ids([service_request_id])
        if ids:
            touched = db.execute(
                update(store.requests_table)
                .where(store.ids_among(ids))
                .values(updated_datetime=self._clock())
            )
            if touched.rowcount == 1:  # type: ignore[attr-defined]
                row = store.request_by_id(db, ids[0])
                if row is not None:
                    return row
        raise NotFound(
            f"service_request_id {shown(service_request_id)} was not found", field="service_request_id"
        )

    def _change(
        self,
        db: Session,
        row: Row[Any],
        changes: dict[str, Any],
        *,
        kind: str | None = None,
        noted: str | None = None,
        actor: str = "system",
    ) -> ServiceRequest:
        """Writes ``changes`` over the request read by ``_locked`` (``updated_datetime`` moves, so clients
        that mirror the API by it fetch the change) and returns it as it is now. With a ``kind``, the change
        is also an entry of the request's history (``noted`` its notes) and an event after commit, which
        the notification job tells the request's followers of; without, only the request changes."""
        now = self._clock()
        c = store.requests_table.c
        db.execute(update(store.requests_table).where(c.id == row.id).values(**changes, updated_datetime=now))
        if kind is not None:
            status = changes.get("status", row.status)
            change_id = store.insert_change(
                db,
                request_id=row.id,
                kind=kind,
                status=status,
                previous_status=row.status,
                status_notes=noted,
                agency_responsible=changes.get("agency_responsible", row.agency_responsible),
                expected_datetime=changes.get("expected_datetime", row.expected_datetime),
                changed_at=now,
                actor=actor,
            )
            self.events.publish_after_commit(
                db,
                StatusChangeEvent(
                    change_id, str(row.id), kind, status, row.status, noted, now, actor, row.channel
                ),
            )
        return store.to_request(db.execute(store.select_requests().where(c.id == row.id)).one())

    def add_media(
        self,
        service_request_id: str,
        media_url: str,
        actor: str = "system",
        *,
        session: Session | None = None,
    ) -> bool:
        """Gives a request a photo sent after it (a resident's, right after the report). GeoReport v2 keeps
        one media_url per request and no way to add one: a request without a photo gets this one as its
        media_url, a request with one gets it listed at the end of its description ("More photos: ...",
        as a report filed with several has them), the words cut to make room. True when the request has
        the photo now; False when it has no room for it, or changed meanwhile."""
        media_url = check_http_url(media_url, "media_url")
        if len(media_url) > MAX_MEDIA_URL:
            raise InvalidInput(f"media_url is longer than {MAX_MEDIA_URL} characters", field="media_url")
        ids = store.parse_request_ids([service_request_id])
        if not ids:
            raise NotFound(
                f"service_request_id {shown(service_request_id)} was not found", field="service_request_id"
            )
        c = store.requests_table.c
        with self._session(session) as db:
            row = store.request_by_id(db, ids[0])
            if row is None:
                return False
            if row.media_url is None:
                changes = {"media_url": media_url}
            else:
                words, more = more_photos(row.description or "")
                if media_url == row.media_url or media_url in more:
                    return True  # the same photo again
                description = with_more_photos(words, [*more, media_url], MAX_DESCRIPTION)
                if not description.endswith(media_url):
                    return False  # the photos listed fill the description already
                changes = {"description": description}
            # Only over what was read: a change made meanwhile is not overwritten.
            added = db.execute(
                update(store.requests_table)
                .where(
                    c.id == ids[0],
                    c.media_url.is_not_distinct_from(row.media_url),
                    c.description.is_not_distinct_from(row.description),
                )
                .values(**changes, updated_datetime=self._clock())
            )
            return bool(added.rowcount == 1)  # type: ignore[attr-defined]

    def change_description(
        self, service_request_id: str, words: str, *, session: Session | None = None
    ) -> ServiceRequest:
        """Replaces a request's words (an operator taking a resident's name or a neighbour's details out of
        what is published); the photos listed at the end of its description stay. ``updated_datetime``
        moves, so clients that mirror the API by it fetch the new words; no status note, no event (nothing
        happened to the problem, so no one following it is told)."""
        with self._session(session) as db:
            row = self._locked(db, service_request_id)
            _, photos = more_photos(row.description or "")
            description = with_more_photos(words.strip(), photos)
            if len(description) > MAX_DESCRIPTION:
                raise InvalidInput(
                    f"description is longer than {MAX_DESCRIPTION} characters"
                    + (" with the photos listed at its end" if photos else ""),
                    field="description",
                )
            return self._change(db, row, {"description": description or None})

    def move_request(
        self,
        service_request_id: str,
        *,
        lat: float | None,
        long: float | None,
        address: str | None,
        actor: str = "system",
        session: Session | None = None,
    ) -> ServiceRequest:
        """Moves a request to another place (an operator applying a resident's correction of where it is):
        its point and address become these; its address id and zip code, which were the old place's, are
        cleared. Recorded as a status change is: a history entry of kind "moved" whose notes are the new
        place (the address, or the point without one; the status, its notes, agency and expected date
        stay), an event after commit, and ``updated_datetime`` moves, so clients that mirror the API by it
        fetch the new place. The notification job tells the request's followers where it is now."""
        words = (address or "").strip() or None
        if (lat is None) != (long is None):
            raise InvalidInput("give both lat and long, or neither", field="lat")
        if lat is None and words is None:
            raise InvalidInput(
                "a location is required: lat and long, or address_string", field="address_string"
            )
        if lat is not None and long is not None and not (-90 <= lat <= 90 and -180 <= long <= 180):
            raise InvalidInput("lat must be within ±90 and long within ±180", field="lat")
        if words is not None and len(words) > 1024:
            raise InvalidInput("address_string is longer than 1024 characters", field="address_string")
        place = words or f"{lat}, {long}"
        with self._session(session) as db:
            row = self._locked(db, service_request_id)
            changes = {"lat": lat, "long": long, "address": words, "address_id": None, "zipcode": None}
            return self._change(db, row, changes, kind="moved", noted=place, actor=actor)

    def change_service(
        self,
        service_request_id: str,
        service_code: str,
        *,
        attributes: AttributeValues | None = None,
        actor: str = "system",
        session: Session | None = None,
    ) -> ServiceRequest:
        """Makes a request one of another service (an operator applying a resident's correction of what it
        is: "a broken streetlight, not a pothole" after it was filed as a pothole): its number, place, words,
        photos and status stay; its service code and name, agency responsible and service notice become the
        new service's (the old service's agency is not the one to fix it). A new service with no agency of its
        own keeps one an operator set (``update_status``), not the old service's (see ``_agency_after``).

        Its answers are checked against the new service's questions as a submission's are: an answer to a
        question the new service asks too is kept where the new service accepts it (Toronto's graffiti on a
        bridge made a road's keeps whether it is offensive); the others, answers to the old service's
        questions, are dropped (the caller's audit log keeps them); ``attributes`` answer the new service's
        questions on top. A required question left unanswered, a wrong value or a question the service does
        not have is refused as one InvalidInput naming each, and nothing changes.

        Recorded as a move is: a history entry of kind "recategorised" whose notes are the new service's name
        (the status and its notes stay), an event after commit, and ``updated_datetime`` moves, so clients
        that mirror the API by it fetch the new service. The notification job tells the request's followers
        what it is now. The same service again is a Conflict."""
        service = self._service(service_code)
        with self._session(session) as db:
            row = self._locked(db, service_request_id)
            if row.service_code == service.code:
                raise Conflict(
                    f"service_request_id {row.id} is {service.name} ({service.code}) already",
                    field="service_code",
                )
            given = dict(attributes or {})
            asked = service.attributes_by_code
            kept = {code: value for code, value in (row.attributes or {}).items() if code in asked}
            changes = {
                "service_code": service.code,
                "service_name": service.name,
                "agency_responsible": self._agency_after(row, service),
                "service_notice": service.service_notice,
                "attributes": _answers_for(service, kept, given),
            }
            return self._change(db, row, changes, kind="recategorised", noted=service.name, actor=actor)

    def _agency_after(self, row: Row[Any], service: Service) -> str | None:
        """The agency responsible for a request made one of ``service``: the new service's own; without one,
        the agency an operator set on the request, which would otherwise be silently lost, but not the old
        service's catalog agency, which is not the one to fix it. An old service the catalog no longer has
        leaves no telling the two apart: the request's agency is kept."""
        if service.agency_responsible:
            return service.agency_responsible
        old = self.catalog.get(row.service_code)
        filed_with = old.agency_responsible if old is not None else None
        return None if row.agency_responsible == filed_with else row.agency_responsible

    # ------------------------------------------------------------------------- batch acceptance

    def accept_pending_tokens(self, now: datetime | None = None, limit: int = 200) -> list[TokenStatus]:
        """Accepts batch submissions whose delay has passed (the background job's step). Safe to run in
        several workers at once: each token is claimed with a conditional update before its request is
        written, so a token another worker claimed first is skipped (PostgreSQL also skips locked rows).
        A submission that no longer fits the catalog is left for an operator instead of blocking the rest."""
        moment = now or self._clock()
        t = RequestTokenRow
        accepted: list[TokenStatus] = []
        with self._sessions() as db, db.begin():
            pending = db.scalars(
                select(t)
                .where(col(t.accepted_at).is_(None), col(t.due_at).is_not(None), col(t.due_at) <= moment)
                .order_by(col(t.created_at))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in pending:
                try:
                    # Validation comes before any write in _accept, so a refusal leaves nothing behind.
                    done = self._accept(db, row, TOKEN_ACCEPTOR, moment)
                except Open311Error as error:
                    log.error("batch submission %s cannot be accepted (%s); left for an operator",
                              row.token, error.description)  # fmt: skip
                    db.execute(
                        update(t).where(col(t.token) == row.token).values(due_at=None)
                        .execution_options(synchronize_session=False)
                    )  # fmt: skip
                    continue
                if done is not None:
                    accepted.append(done)
        return accepted

    def accept_token(self, token_id: str, actor: str, *, session: Session | None = None) -> TokenStatus:
        """An operator accepts one batch submission (batch_acceptance = "operator")."""
        with self._session(session) as db:
            row = db.get(RequestTokenRow, token_id)
            if row is None:
                raise NotFound(f"token {shown(token_id)} was not found", field="token")
            done = self._accept(db, row, actor, self._clock())
            if done is None:
                raise Conflict(f"token {shown(token_id)} was already accepted", field="token")
            return done

    def pending_tokens(self) -> list[TokenStatus]:
        """Batch submissions still waiting for acceptance, oldest first (for the operator pages)."""
        t = RequestTokenRow
        with self._sessions() as db:
            rows = db.scalars(select(t).where(col(t.request_id).is_(None)).order_by(col(t.created_at))).all()
            return [_token_status(row) for row in rows]

    def _accept(self, db: Session, row: RequestTokenRow, actor: str, now: datetime) -> TokenStatus | None:
        """Claims the token, then files its request; None when someone else claimed it first."""
        t = RequestTokenRow
        payload = dict(row.payload)
        new = NewRequest(**payload)
        columns = validate_submission(new, self._service(new.service_code))
        claimed = db.execute(
            update(t)
            .where(col(t.token) == row.token, col(t.accepted_at).is_(None))
            .values(accepted_at=now, accepted_by=actor)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        request_id = self._insert(
            db, columns, payload["jurisdiction_id"], row.api_key_id, row.token, now, actor, row.created_at
        )
        db.execute(
            update(t)
            .where(col(t.token) == row.token)
            .values(request_id=request_id)
            .execution_options(synchronize_session=False)
        )
        return TokenStatus(row.token, str(request_id), row.created_at, now)


def _answers_for(service: Service, kept: AttributeValues, given: AttributeValues) -> AttributeValues:
    """The answers a request made one of ``service`` stores: ``given`` (refused when the service refuses
    them) over ``kept`` (dropped where the service does not accept them: the old service's list of values
    was not this one's)."""
    try:
        return validate_answers({**kept, **given}, service)
    except InvalidInput as refused:
        wrong = {error.field for error in refused.errors}
        fitting = {code: value for code, value in kept.items() if f"attribute[{code}]" not in wrong}
        if fitting == kept:
            raise
        return validate_answers({**fitting, **given}, service)


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, stopping at the first or last datetime: the default window of a date at the
    edge of the calendar (start_date=9999-12-31T23:59:59Z) is the part of it that exists."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.min if delta < timedelta(0) else datetime.max
        return edge.replace(tzinfo=UTC)


def _whole_second_from(moment: datetime) -> datetime:
    """The first whole second at or after ``moment``: the earliest time shown as ``moment`` or later."""
    if not moment.microsecond:
        return moment
    return _shifted(moment.replace(microsecond=0), timedelta(seconds=1))


def _token_status(row: RequestTokenRow) -> TokenStatus:
    return TokenStatus(
        token=row.token,
        service_request_id=str(row.request_id) if row.request_id is not None else None,
        created_at=row.created_at,
        accepted_at=row.accepted_at,
    )
