"""``RequestBackend`` for a remote city: what the conversation engine files into when remote.enabled.

Filing never waits on the city: ``file`` writes a ``RemoteSubmission`` in the conversation's own
transaction and answers with a local reference (``R<number>``) the resident can ask STATUS about; the
remote-submit job POSTs it, resolves the city's token, and tells the resident the city's number. The
service list and definitions are read from the ``remote_service`` cache the sync job keeps fresh.

Requests the bot did not file (a resident reported by phone or another app) are looked up at the city:
``track`` (FOLLOW) mirrors one in ``remote_request_state``, which the remote-sync job then polls while
anyone follows it; ``lookup`` (STATUS) reads the mirror while it is polled and otherwise asks the city.
The conversation asks for such a lookup before the resident's turn (``prefetch``, outside any
transaction) and the turn reads the answer from memory: the turn's transaction holds the database (on
SQLite its one write lock) and should not wait on the city. A lookup the prefetch did not cover runs inside
the turn with a single try of at most ``LOOKUP_TIMEOUT_SECONDS``: no retries while others wait.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.backend import (
    AttributeSpec,
    Draft,
    Filed,
    FilingRefused,
    RequestStatus,
    RequestUnreachable,
    RequestUnreadable,
    ServiceSummary,
)
from bot.clock import utcnow
from bot.config import RemoteSettings
from bot.db import SessionFactory
from bot.follows import followers
from bot.open311.errors import InvalidInput
from bot.remote.client import GeoReportClient, RemoteError, RemoteRequest, RemoteUnreadable
from bot.remote.records import RemoteRequestState, RemoteService, RemoteSubmission
from bot.review.models import ReviewItem

log = logging.getLogger(__name__)

LOCAL_REFERENCE = re.compile(r"^[Rr](\d{1,18})$")
# The longest a resident's FOLLOW or STATUS waits on the city (see the module's docstring).
LOOKUP_TIMEOUT_SECONDS = 5.0
# How long a prefetched answer serves the turn it was asked for (the turn normally follows at once).
PREFETCH_FRESH_SECONDS = 30.0

# Makes a client for one lookup: each runs on an event loop of its own (the conversation runs in a worker
# thread), and an httpx client belongs to the loop it was first used on.
CityClient = Callable[[], GeoReportClient]
_T = TypeVar("_T")


def local_reference(submission_id: int) -> str:
    return f"R{submission_id}"


def draft_fields(draft: Draft) -> dict[str, Any]:
    """The GeoReport v2 form fields for a draft (multivaluelist answers as ``attribute[CODE][]``)."""
    fields: dict[str, Any] = {
        "service_code": draft.service_code,
        "description": draft.description_with_photos(),
    }
    if draft.lat is not None and draft.long is not None:
        fields["lat"] = repr(draft.lat)
        fields["long"] = repr(draft.long)
    if draft.address_string:
        fields["address_string"] = draft.address_string
    if draft.media_url:
        fields["media_url"] = draft.media_url
    if draft.phone:
        fields["phone"] = draft.phone
    for code, value in draft.attributes.items():
        if isinstance(value, str):
            fields[f"attribute[{code}]"] = value
        else:
            fields[f"attribute[{code}][]"] = list(value)
    return fields


def field_attributes(fields: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The attribute answers in GeoReport form fields (``draft_fields``' ``attribute[CODE]`` keys)."""
    answers: dict[str, str | list[str]] = {}
    for key, value in fields.items():
        if key.startswith("attribute[") and key.endswith("][]"):
            answers[key[len("attribute[") : -3]] = [str(item) for item in value]
        elif key.startswith("attribute[") and key.endswith("]"):
            answers[key[len("attribute[") : -1]] = str(value)
    return answers


class RemoteBackend:
    def __init__(
        self,
        session_factory: SessionFactory,
        classifier_classes: Mapping[str, str],
        city: CityClient | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._classifier_classes = dict(classifier_classes)
        # None: only what the bot filed or mirrored is known (the city is never asked).
        self._city = city
        # Answers asked for before a turn (``prefetch``): reference -> (when, the request or None, or the
        # RequestUnreachable raised). Taken once by the turn's ``_ask_city``.
        self._prefetched: dict[str, tuple[float, RemoteRequest | RequestUnreachable | None]] = {}

    @classmethod
    def from_settings(cls, remote: RemoteSettings, session_factory: SessionFactory) -> RemoteBackend:
        timeout = min(remote.timeout_seconds, LOOKUP_TIMEOUT_SECONDS)

        def city() -> GeoReportClient:
            return GeoReportClient(
                remote.base_url,
                jurisdiction_id=remote.jurisdiction_id,
                api_key=remote.api_key.get_secret_value() if remote.api_key else None,
                timeout_seconds=timeout,
            )

        return cls(session_factory, remote.classifier_classes, city)

    def services(self) -> Sequence[ServiceSummary]:
        with self._session_factory() as session:
            rows = session.exec(select(RemoteService).order_by(col(RemoteService.position))).all()
        return [
            ServiceSummary(
                code=row.service_code,
                name=row.service_name,
                classifier_class=self._classifier_classes.get(row.service_code, row.service_code),
                batch=row.type == "batch",
                keywords=tuple(word.strip() for word in row.keywords.split(",") if word.strip()),
            )
            for row in rows
        ]

    def attributes(self, service_code: str) -> Sequence[AttributeSpec]:
        with self._session_factory() as session:
            row = session.get(RemoteService, service_code)
        if row is None:
            return []
        return [
            AttributeSpec(
                code=item["code"],
                datatype=item["datatype"],
                description=item.get("description", ""),
                required=bool(item.get("required", False)),
                variable=bool(item.get("variable", True)),
                order=int(item.get("order", 0)),
                values=tuple((str(key), str(name)) for key, name in item.get("values", [])),
            )
            for item in row.attributes
        ]

    def file(self, draft: Draft, session: Session) -> Filed:
        service = session.get(RemoteService, draft.service_code)
        if service is None:
            raise FilingRefused(f"the city does not offer the service {draft.service_code!r}")
        if draft.lat is None and not draft.address_string:
            raise FilingRefused("a location (lat/long or an address) is required")
        unanswered = [
            InvalidInput(f"attribute[{spec.code}] is required: {spec.description}", f"attribute[{spec.code}]")
            for spec in self.attributes(draft.service_code)
            if spec.required and spec.variable and not draft.attributes.get(spec.code)
        ]
        if unanswered:
            # Refused here in the core's words (and type, which the console shows next to each question),
            # not by the city after the report has left: a person can answer now.
            error = InvalidInput.of(unanswered)
            raise FilingRefused(error.description) from error
        # The filer follows the returned reference (the engine records that), and hears the city's number
        # through the notification job once the submit job has it.
        submission = RemoteSubmission(fields=draft_fields(draft))
        session.add(submission)
        session.flush()  # the id is the resident's reference until the city gives its own
        assert submission.id is not None
        return Filed(
            service_request_id=None, token=local_reference(submission.id), service_name=service.service_name
        )

    def lookup(self, reference: str, session: Session) -> RequestStatus | None:
        match = LOCAL_REFERENCE.match(reference.strip())
        if match:
            submission = session.get(RemoteSubmission, int(match.group(1)))
            if submission is None:
                return None
            name = self._service_name(session, str(submission.fields.get("service_code", "")))
            if submission.state == "review":
                return self._decided(session, reference, name, submission.review_item_id)
            if submission.service_request_id is None:
                status = "rejected" if submission.state == "rejected" else "pending"
                return RequestStatus(None, reference, name, status, submission.last_error)
            reference = submission.service_request_id
        state = session.get(RemoteRequestState, reference)
        if state is not None and (self._city is None or _polled(session, state)):
            return _status_of(state)
        if self._city is None:
            return None
        try:
            found = self._ask_city(reference)
        except RequestUnreachable:
            if state is None:
                raise  # "try again later", not "no such report"
            return _status_of(state)  # the last state seen
        if found is None:
            return None
        name = self._name_of(session, found)
        return RequestStatus(found.service_request_id, None, name, found.status, found.status_notes or None)

    def _decided(
        self, session: Session, reference: str, name: str, item_id: int | None
    ) -> RequestStatus | None:
        """A report the city refused, as the person who reviewed it decided: filed again (its new
        reference's status), turned down (with the reason the resident was given), or still waiting
        for a person (pending, as it was before the city refused it)."""
        item = session.get(ReviewItem, item_id) if item_id is not None else None
        if item is not None and item.status == "approved":
            filed_as = item.service_request_id or item.token
            if filed_as:
                return self.lookup(filed_as, session)
        if item is not None and item.status == "rejected":
            return RequestStatus(None, reference, name, "rejected", item.rejection_reason)
        return RequestStatus(None, reference, name, "pending")

    def track(self, reference: str, session: Session) -> RequestStatus | None:
        """FOLLOW: a request the city numbered is mirrored (unless polling keeps a copy already), so the
        remote-sync job polls it from now on; raises RequestUnreachable, having written nothing."""
        if LOCAL_REFERENCE.match(reference.strip()):
            return self.lookup(reference, session)  # the bot's own: mirrored when the city numbers it
        state = session.get(RemoteRequestState, reference)
        if self._city is None or (state is not None and _polled(session, state)):
            return self.lookup(reference, session)
        found = self._ask_city(reference)
        if found is None:
            return None
        state = self._mirror(session, found)
        return _status_of(state)

    def prefetch(self, reference: str) -> None:
        """Asks the city about ``reference`` before the turn, unless the bot knows it without asking (its
        own local reference, or a copy polling keeps); the turn's lookup then answers from memory."""
        reference = reference.strip().lstrip("#")
        if self._city is None or not reference or LOCAL_REFERENCE.match(reference):
            return
        with self._session_factory() as session:
            state = session.get(RemoteRequestState, reference)
            if state is not None and _polled(session, state):
                return
        try:
            answer: RemoteRequest | RequestUnreachable | None = self._call_city(reference)
        except RequestUnreachable as exc:
            answer = exc
        now = time.monotonic()
        # Old entries (a turn that never came) are dropped so the memory stays small.
        for stale in [key for key, (at, _) in self._prefetched.items() if now - at > PREFETCH_FRESH_SECONDS]:
            self._prefetched.pop(stale, None)
        self._prefetched[reference] = (now, answer)

    def _ask_city(self, service_request_id: str) -> RemoteRequest | None:
        prefetched = self._prefetched.pop(service_request_id, None)
        if prefetched is not None and time.monotonic() - prefetched[0] <= PREFETCH_FRESH_SECONDS:
            answer = prefetched[1]
            if isinstance(answer, RequestUnreachable):
                raise answer
            return answer
        return self._call_city(service_request_id)

    def _call_city(self, service_request_id: str) -> RemoteRequest | None:
        assert self._city is not None
        make_client = self._city

        async def ask() -> RemoteRequest | None:
            client = make_client()
            try:
                return await client.request(service_request_id)
            finally:
                await client.aclose()

        try:
            return _run_blocking(ask())
        except RemoteError as exc:
            log.warning("could not look up request %s at the city: %s", service_request_id, exc)
            # The city answered with a broken record: the resident is told that, not that it is down.
            unreachable = RequestUnreadable if isinstance(exc, RemoteUnreadable) else RequestUnreachable
            raise unreachable(str(exc)) from exc

    def _mirror(self, session: Session, found: RemoteRequest) -> RemoteRequestState:
        """Keeps the city's current state as the baseline polling compares with. Nobody follows it yet, so
        setting it is no news to anyone: no change is logged."""
        state = session.get(RemoteRequestState, found.service_request_id)
        if state is None:
            try:
                with session.begin_nested():  # a second FOLLOW of the same request may be inserting it
                    state = RemoteRequestState(service_request_id=found.service_request_id)
                    session.add(state)
            except IntegrityError:
                state = session.get(RemoteRequestState, found.service_request_id)
                assert state is not None
        state.service_name = self._name_of(session, found)
        state.take(found, utcnow())
        session.add(state)
        return state

    def _name_of(self, session: Session, found: RemoteRequest) -> str:
        """The city's own name for the request's service, else the cached catalog's, else the code."""
        return found.extra.get("service_name") or self._service_name(session, found.service_code)

    @staticmethod
    def _service_name(session: Session, service_code: str) -> str:
        service = session.get(RemoteService, service_code)
        return service.service_name if service is not None else service_code


def _polled(session: Session, state: RemoteRequestState) -> bool:
    """Whether the remote-sync job keeps this mirror fresh: it polls the requests someone follows."""
    return bool(followers(session, state.service_request_id))


def _status_of(state: RemoteRequestState) -> RequestStatus:
    return RequestStatus(
        state.service_request_id, None, state.service_name, state.status, state.status_notes or None
    )


def _run_blocking(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Runs ``coroutine`` to completion from synchronous code (the conversation's worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called on a running loop's own thread, which cannot run a second loop: on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
