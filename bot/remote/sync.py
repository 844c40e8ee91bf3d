"""The remote backend's background steps, run by the remote-submit and remote-sync jobs.

- ``submit_due``: POSTs reports waiting in ``remote_submission``; a realtime answer records the city's
  number, a token answer waits for ``resolve_tokens``; a transient failure (timeout, 5xx, bad XML) is
  retried with backoff for as long as it takes. A GeoReport error from the city goes to the operators'
  review queue with the city's reason, and the resident is told in plain words that a person will look at
  it; a refusal of the bot's key (401/403) is no fault of the report: it is held, logged as an error, and
  sent again until the city takes the key (at once on the first run after a restart). A POST whose answer
  did not come in time may have been stored by the city all the same, and GeoReport v2 has no
  idempotency key: before that report is POSTed again, the city's requests of its service since the first
  try are searched for one with its description and place, which is adopted instead of filing it twice.
  Nothing is ever deleted.
- ``resolve_tokens``: asks the city what each token became.
- ``poll_statuses``: GETs the requests someone follows (the bot's own, whose filer follows them, and the
  city's others a resident FOLLOWed, mirrored by ``RemoteBackend.track``) and logs every change of status,
  notes or expected date in ``remote_status_change``, which the notification job turns into messages. A
  request nobody follows any more is not polled. A request whose record the city serves broken (not
  well-formed XML) is left out, logged once, and asked for alone until the city serves it readable: one
  broken record does not hold back the others' news.
- ``refresh_catalog``: the city's services and definitions, cached for the conversation.

Rows are claimed like the outbox's (``FOR UPDATE SKIP LOCKED`` and a lease), so even two runners at once
would not POST the same report twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, update
from sqlmodel import Session, col, delete, select

from bot.backoff import Backoff
from bot.clock import as_utc, utcnow
from bot.config import RemoteSettings
from bot.db import SessionFactory
from bot.follows import Follow, follow, followers
from bot.remote.backend import field_attributes, local_reference
from bot.remote.client import (
    GeoReportClient,
    RemoteRejected,
    RemoteRequest,
    RemoteTimedOut,
    RemoteUnavailable,
    RemoteUnreadable,
)
from bot.remote.records import RemoteRequestState, RemoteService, RemoteStatusChange, RemoteSubmission
from bot.review.models import ReviewItem
from bot.review.queue import ReviewQueue
from bot.state import get_resident

log = logging.getLogger(__name__)

# The city refusing the bot's own credentials, not the report: it waits until the key works.
KEY_REFUSALS = frozenset({401, 403})
# How far the city's clock may be from ours when its requests are searched for an unanswered POST.
CLOCK_SKEW = timedelta(minutes=15)
# The shortest time searched apart when the city's answer for a longer one cannot be read.
MIN_SEARCH_WINDOW = timedelta(seconds=1)
# A city that cuts descriptions: its cut one matches ours when at least this long and a start of ours.
MIN_CUT_DESCRIPTION = 40
# The city's point for a request may be snapped to a street or rounded: this close is the same place.
SAME_PLACE_DEGREES = 0.0005

# Closed requests are still polled this long after the city last changed them: cities reopen requests.
KEEP_POLLING_CLOSED = timedelta(days=30)
# The most ids one GET requests carries (the comma list must fit in a URL).
IDS_PER_GET = 50


@dataclass(slots=True)
class SyncReport:
    submitted: int = 0
    tokens: int = 0
    resolved: int = 0
    rejected: int = 0
    retried: int = 0
    # Unanswered POSTs found stored at the city, adopted instead of POSTed again.
    adopted: int = 0
    changes: int = 0
    services: int = 0


class RemoteSync:
    def __init__(
        self,
        client: GeoReportClient,
        session_factory: SessionFactory,
        review_queue: ReviewQueue,
        *,
        backoff: Backoff | None = None,
        lease_seconds: float = 120.0,
        batch_size: int = 50,
    ) -> None:
        self.client = client
        self.session_factory = session_factory
        # Where a report the city refuses goes, for a person to correct and file again.
        self.review_queue = review_queue
        self.backoff = backoff or Backoff()
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self._held_released = False
        # Requests whose record the city serves unreadable, with why: polled alone, and logged once.
        self._unreadable: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls, remote: RemoteSettings, session_factory: SessionFactory, review_queue: ReviewQueue
    ) -> RemoteSync:
        client = GeoReportClient(
            remote.base_url,
            jurisdiction_id=remote.jurisdiction_id,
            api_key=remote.api_key.get_secret_value() if remote.api_key else None,
            timeout_seconds=remote.timeout_seconds,
            post_timeout_seconds=remote.post_timeout_seconds,
        )
        backoff = Backoff(first_seconds=remote.retry_first_seconds, max_seconds=remote.retry_max_seconds)
        # A claimed report stays invisible to other runners a little longer than a POST can take.
        lease = remote.post_timeout_seconds * 3
        return cls(client, session_factory, review_queue, backoff=backoff, lease_seconds=lease)

    async def run_submissions(self) -> SyncReport:
        if not self._held_released:
            # The first run of this process: a restart is how a fixed key arrives, so what waits on the
            # key goes now rather than at the end of its backoff.
            self._release_held()
            self._held_released = True
        report = SyncReport()
        await self.submit_due(report)
        await self.resolve_tokens(report)
        return report

    # -- submitting ------------------------------------------------------------------------------------

    def _claim(self, *states: str) -> list[RemoteSubmission]:
        now = utcnow()
        with self.session_factory() as session:
            rows = list(
                session.exec(
                    select(RemoteSubmission)
                    .where(
                        col(RemoteSubmission.state).in_(states), col(RemoteSubmission.next_attempt_at) <= now
                    )
                    .order_by(col(RemoteSubmission.id))
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                ).all()
            )
            for row in rows:
                row.next_attempt_at = now + self.lease
                session.add(row)
            session.commit()
        return rows

    def _release_held(self) -> None:
        with self.session_factory() as session:
            session.execute(
                update(RemoteSubmission)
                .where(col(RemoteSubmission.state) == "held")
                .values(next_attempt_at=utcnow())
            )
            session.commit()

    async def submit_due(self, report: SyncReport) -> None:
        claimed = self._claim("pending", "held")
        for index, row in enumerate(claimed):
            assert row.id is not None
            if row.unanswered_at is not None:
                try:
                    stored_as = await self._stored_at_city(row)
                except RemoteUnavailable as exc:
                    # Not POSTed while the city cannot say whether it has it already.
                    self._retry_later(row.id, f"searching the city for it failed: {exc}", report)
                    continue
                if stored_as is not None:
                    self._adopt(row.id, stored_as, report)
                    continue
            sent_at = utcnow()
            try:
                result = await self.client.post_request(row.fields)
            except RemoteRejected as exc:
                if exc.status_code in KEY_REFUSALS:
                    # The rest would be refused the same way: they wait with it, unsent.
                    self._hold([r.id for r in claimed[index:] if r.id is not None], exc, report)
                    return
                self._to_review(row.id, exc, report)
                continue
            except RemoteTimedOut as exc:
                self._retry_later(row.id, str(exc), report, unanswered_at=sent_at)
                continue
            except RemoteUnavailable as exc:
                self._retry_later(row.id, str(exc), report)
                continue
            with self.session_factory() as session:
                stored = session.get(RemoteSubmission, row.id)
                assert stored is not None
                stored.attempts += 1
                stored.last_error = None
                stored.service_notice = result.service_notice or None
                stored.updated_at = utcnow()
                if result.service_request_id is not None:
                    self._record_number(session, stored, result.service_request_id)
                else:
                    stored.state = "token"
                    stored.token = result.token
                    stored.next_attempt_at = utcnow()
                    report.tokens += 1
                session.add(stored)
                session.commit()
            report.submitted += 1

    async def resolve_tokens(self, report: SyncReport) -> None:
        for row in self._claim("token"):
            assert row.id is not None
            assert row.token is not None
            try:
                request_id = await self.client.resolve_token(row.token)
            except RemoteRejected as exc:
                if exc.status_code in KEY_REFUSALS:
                    # Not the report's fault, and the city holds it already: asked again, loudly.
                    log.error("the city refused to say what token %s became: %s", row.token, exc)
                    self._retry_later(row.id, str(exc), report)
                else:
                    self._to_review(row.id, exc, report)
                continue
            except RemoteUnavailable as exc:
                self._retry_later(row.id, str(exc), report)
                continue
            with self.session_factory() as session:
                stored = session.get(RemoteSubmission, row.id)
                assert stored is not None
                if request_id is None:
                    # Not accepted yet: ask again soon, without counting it as a failure.
                    stored.next_attempt_at = utcnow() + timedelta(seconds=self.backoff.first_seconds)
                else:
                    self._record_number(session, stored, request_id)
                    report.resolved += 1
                session.add(stored)
                session.commit()

    def _record_number(self, session: Session, submission: RemoteSubmission, request_id: str) -> None:
        """The city numbered the report: mirror it as open and tell the filer (who follows the reference)."""
        assert submission.id is not None
        submission.state = "filed"
        submission.service_request_id = request_id
        submission.updated_at = utcnow()
        service_code = str(submission.fields.get("service_code", ""))
        service = session.get(RemoteService, service_code)
        name = service.service_name if service is not None else service_code
        if session.get(RemoteRequestState, request_id) is None:
            session.add(RemoteRequestState(service_request_id=request_id, service_name=name, status="open"))
        # Who followed the local reference now follows the city's number, which status changes carry.
        for follower in followers(session, local_reference(submission.id)):
            follow(
                session,
                request_id,
                follower.channel,
                follower.resident_id,
                reason="filed",
                reply_to=follower.reply_to,
            )
        session.add(
            RemoteStatusChange(
                kind="submitted",
                token=local_reference(submission.id),
                service_request_id=request_id,
                service_name=name,
                status="open",
            )
        )

    async def _stored_at_city(self, row: RemoteSubmission) -> str | None:
        """The city's number for ``row`` if a POST of it that went unanswered was stored: the earliest of
        the service's requests since that POST with the same description and place that is no other
        report's of the bot's. None when there is none, or when the city refuses the search (then it is
        POSTed again: better twice than lost)."""
        assert row.unanswered_at is not None
        fields = row.fields
        try:
            found = await self._requests_of(
                str(fields.get("service_code", "")),
                as_utc(row.unanswered_at) - CLOCK_SKEW,
                utcnow() + CLOCK_SKEW,
            )
        except RemoteRejected as exc:
            log.warning(
                "the city cannot be searched for remote submission %s, whose POST went unanswered (%s): "
                "posting it again, which files it twice if the city stored the first",
                row.id,
                exc,
            )
            return None
        same = [request for request in found if request.service_request_id and _same_report(fields, request)]
        if not same:
            return None
        with self.session_factory() as session:
            taken = set(
                session.exec(
                    select(RemoteSubmission.service_request_id).where(
                        col(RemoteSubmission.service_request_id).in_([r.service_request_id for r in same])
                    )
                ).all()
            )
        free = [request for request in same if request.service_request_id not in taken]
        if not free:
            return None
        return min(free, key=_requested_at).service_request_id

    async def _requests_of(self, service_code: str, start: datetime, end: datetime) -> list[RemoteRequest]:
        """The city's requests of a service made between ``start`` and ``end``, but those it serves
        unreadable: an answer that cannot be read is asked for again in halves of the time, down to a
        second, which is left out (a report stored in that second is then posted again: better twice than
        lost). Without that, one broken record of the service kept every unanswered report from being
        searched for, and so from being sent again, for ever."""
        try:
            return await self.client.requests_of(service_code, start, end)
        except RemoteUnreadable as exc:
            if end - start > MIN_SEARCH_WINDOW:
                middle = start + (end - start) / 2
                return [
                    *await self._requests_of(service_code, start, middle),
                    *await self._requests_of(service_code, middle, end),
                ]
            log.warning(
                "the city's %s requests made from %s to %s cannot be read (%s): left out of the search",
                service_code,
                start.isoformat(timespec="seconds"),
                end.isoformat(timespec="seconds"),
                exc,
            )
            return []

    def _adopt(self, submission_id: int, request_id: str, report: SyncReport) -> None:
        with self.session_factory() as session:
            stored = session.get(RemoteSubmission, submission_id)
            assert stored is not None
            stored.last_error = None
            self._record_number(session, stored, request_id)
            session.add(stored)
            session.commit()
        report.adopted += 1
        log.warning(
            "remote submission %s: the city had stored the POST it did not answer in time, as request %s; "
            "taken as it is, not posted again",
            submission_id,
            request_id,
        )

    def _retry_later(
        self, submission_id: int, error: str, report: SyncReport, *, unanswered_at: datetime | None = None
    ) -> None:
        with self.session_factory() as session:
            stored = session.get(RemoteSubmission, submission_id)
            assert stored is not None
            stored.attempts += 1
            stored.last_error = error
            # The first unanswered POST: what the city may hold dates from it.
            stored.unanswered_at = stored.unanswered_at or unanswered_at
            stored.next_attempt_at = utcnow() + timedelta(seconds=self.backoff.delay(stored.attempts))
            stored.updated_at = utcnow()
            session.add(stored)
            session.commit()
        report.retried += 1
        log.warning("remote submission %s will be retried: %s", submission_id, error)

    def _hold(self, submission_ids: Sequence[int], exc: RemoteRejected, report: SyncReport) -> None:
        """The city refused the bot's key: the report tried (the first) and those behind it wait, unsent,
        until a POST gets through; the resident is not told it failed (it has not, yet)."""
        with self.session_factory() as session:
            tried = session.get(RemoteSubmission, submission_ids[0])
            assert tried is not None
            tried.attempts += 1
            due = utcnow() + timedelta(seconds=self.backoff.delay(tried.attempts))
            for submission_id in submission_ids:
                stored = session.get(RemoteSubmission, submission_id)
                assert stored is not None
                stored.state = "held"
                stored.last_error = str(exc)
                stored.next_attempt_at = due
                stored.updated_at = utcnow()
                session.add(stored)
            held = session.exec(
                select(func.count()).select_from(RemoteSubmission).where(RemoteSubmission.state == "held")
            ).one()
            session.commit()
        report.retried += 1
        log.error(
            "the city refused the bot's key (%s): %d report(s) are held, not filed, and sent again from %s "
            "until the city accepts it; check remote.api_key (and that the city has enabled this key)",
            exc,
            held,
            due.isoformat(timespec="seconds"),
        )

    def _to_review(self, submission_id: int, exc: RemoteRejected, report: SyncReport) -> None:
        """The city refused the report itself: it becomes a review item, with the city's reason, for a
        person to correct and file again; the resident hears that in plain words, in their language."""
        reference = local_reference(submission_id)
        with self.session_factory() as session:
            stored = session.get(RemoteSubmission, submission_id)
            assert stored is not None
            stored.attempts += 1
            stored.state = "review"
            stored.last_error = str(exc)
            stored.updated_at = utcnow()
            item = self._review_item(session, stored, f"the city refused it: {exc}")
            stored.review_item_id = item.id
            session.add(stored)
            self.review_queue.tell(session, item, "token_in_review", token=reference)
            session.commit()
            item_id = item.id
        report.rejected += 1
        log.warning("the city refused report %s (%s); it is review item %s", reference, exc, item_id)

    def _review_item(self, session: Session, submission: RemoteSubmission, reason: str) -> ReviewItem:
        """The review item for a refused submission: what was sent, and who is waiting on it (the
        resident who filed it follows its reference)."""
        assert submission.id is not None
        waiting = sorted(
            followers(session, local_reference(submission.id)), key=lambda f: f.reason != "filed"
        )
        filer = waiting[0] if waiting else None
        resident = get_resident(session, filer.channel, filer.resident_id) if filer is not None else None
        fields = submission.fields
        media_url = str(fields.get("media_url") or "")
        address = str(fields.get("address_string") or "") or None
        return self.review_queue.enqueue(
            session,
            channel=filer.channel if filer is not None else "",
            resident_id=filer.resident_id if filer is not None else "",
            reply_to=filer.reply_to if filer is not None else None,
            language=(resident.language if resident is not None else None)
            or self.review_queue.templates.default_language,
            text=str(fields.get("description", "")),
            media_urls=[media_url] if media_url else [],
            reason=reason,
            location_text=address,
            address_string=address,
            lat=_coordinate(fields.get("lat")),
            long=_coordinate(fields.get("long")),
            attributes=field_attributes(fields),
            service_code=str(fields.get("service_code") or "") or None,
        )

    # -- polling ---------------------------------------------------------------------------------------

    async def poll_statuses(self, report: SyncReport | None = None, *, limit: int = 500) -> SyncReport:
        report = report or SyncReport()
        now = utcnow()
        with self.session_factory() as session:
            ids = list(
                session.exec(
                    select(RemoteRequestState.service_request_id)
                    .where(
                        or_(
                            col(RemoteRequestState.status) != "closed",
                            # Dated by the city's last change (checked_at is every poll's, always recent).
                            col(RemoteRequestState.updated_datetime) >= now - KEEP_POLLING_CLOSED,
                            col(RemoteRequestState.updated_datetime).is_(None),  # undated: keep asking
                        ),
                        exists().where(
                            col(Follow.service_request_id) == col(RemoteRequestState.service_request_id)
                        ),
                    )
                    .order_by(col(RemoteRequestState.checked_at))
                    .limit(limit)
                ).all()
            )
        # A request known to be unreadable is asked for alone, so the others' lists are read at once.
        batches = [[request_id] for request_id in ids if request_id in self._unreadable]
        readable = [request_id for request_id in ids if request_id not in self._unreadable]
        batches += [readable[start : start + IDS_PER_GET] for start in range(0, len(readable), IDS_PER_GET)]
        for batch in batches:
            found = await self._readable(batch)  # the city down propagates: the job retries next run
            with self.session_factory() as session:
                report.changes += self._apply(session, found, now)
                session.commit()
        return report

    async def _readable(self, ids: Sequence[str]) -> list[RemoteRequest]:
        """The city's requests ``ids``, but those whose record it serves unreadable: an answer that cannot
        be read is asked for again in halves, down to the one request, which is left out until its record
        can be read (its followers hear nothing rather than every other follower hearing nothing)."""
        try:
            found = await self.client.requests(ids)
        except RemoteUnreadable as exc:
            if len(ids) > 1:
                middle = len(ids) // 2
                return [*await self._readable(ids[:middle]), *await self._readable(ids[middle:])]
            self._left_out(ids[0], str(exc))
            return []
        for request_id in ids:
            if self._unreadable.pop(request_id, None) is not None:
                log.info(
                    "the city's record of request %s can be read again; it is polled as before", request_id
                )
        return found

    def _left_out(self, request_id: str, problem: str) -> None:
        """Logs a request whose record cannot be read: once, not on every poll while the city keeps it so."""
        if request_id not in self._unreadable:
            log.warning(
                "the city's record of request %s cannot be read (%s): its followers get no status updates "
                "until the city serves it readable; the other requests are polled as before",
                request_id,
                problem,
            )
        self._unreadable[request_id] = problem

    def _apply(self, session: Session, found: Sequence[RemoteRequest], now: datetime) -> int:
        changes = 0
        for request in found:
            state = session.get(RemoteRequestState, request.service_request_id)
            if state is None:
                continue  # not one of ours
            if _older(request, state):
                continue  # a FOLLOW mirrored a newer answer while this one was on its way
            if (
                request.status != state.status
                or request.status_notes != state.status_notes
                or request.expected_datetime != state.expected_datetime
            ):
                session.add(
                    RemoteStatusChange(
                        kind="status",
                        service_request_id=request.service_request_id,
                        service_name=state.service_name,
                        status=request.status,
                        status_notes=request.status_notes,
                        expected_datetime=request.expected_datetime,
                    )
                )
                changes += 1
            state.take(request, now)
            session.add(state)
        return changes

    # -- the catalog -----------------------------------------------------------------------------------

    async def refresh_catalog(self, report: SyncReport | None = None) -> SyncReport:
        """Replaces the cached catalog, only once the whole of it has been read."""
        report = report or SyncReport()
        services = await self.client.services()
        if not services:
            # An empty list from a city that had services is a glitch, not a closure: keep the cache.
            log.warning("the city listed no services; keeping the cached catalog")
            return report
        rows = []
        for position, service in enumerate(services):
            definition = (
                await self.client.service_definition(service.service_code) if service.metadata else None
            )
            attributes = [
                {**asdict(attribute), "values": [[value.key, value.name] for value in attribute.values]}
                for attribute in (definition.attributes if definition else ())
            ]
            rows.append(
                RemoteService(
                    service_code=service.service_code,
                    service_name=service.service_name,
                    description=service.description,
                    group=service.group,
                    keywords=service.keywords,
                    type=service.type,
                    position=position,
                    attributes=attributes,
                )
            )
        with self.session_factory() as session:
            session.exec(delete(RemoteService))
            session.add_all(rows)
            session.commit()
        report.services = len(rows)
        return report


def _same_report(fields: dict[str, Any], found: RemoteRequest) -> bool:
    """Whether the city's ``found`` is the report POSTed as ``fields``: its service, its description (the
    whitespace aside, or cut by the city to a long enough start of it) and, where both have one, its point."""
    if found.service_code and found.service_code != fields.get("service_code"):
        return False
    ours = " ".join(str(fields.get("description", "")).split())
    theirs = " ".join(found.extra.get("description", "").split())
    cut = theirs.rstrip(".… ")
    if not theirs or (theirs != ours and not (len(cut) >= MIN_CUT_DESCRIPTION and ours.startswith(cut))):
        return False
    lat, long = _coordinate(fields.get("lat")), _coordinate(fields.get("long"))
    their_lat, their_long = _coordinate(found.extra.get("lat")), _coordinate(found.extra.get("long"))
    if lat is None or long is None or their_lat is None or their_long is None:
        return True  # an address, or a city that does not say where: the words decide
    return abs(lat - their_lat) <= SAME_PLACE_DEGREES and abs(long - their_long) <= SAME_PLACE_DEGREES


def _requested_at(request: RemoteRequest) -> datetime:
    """When the city says ``request`` was made (the earliest of several is the first POST's)."""
    value = request.extra.get("requested_datetime", "")
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _coordinate(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _older(request: RemoteRequest, state: RemoteRequestState) -> bool:
    """Whether the city's answer predates the state already mirrored (both dated by the city)."""
    if request.updated_datetime is None or state.updated_datetime is None:
        return False
    return as_utc(request.updated_datetime) < as_utc(state.updated_datetime)
