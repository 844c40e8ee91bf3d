"""``RequestBackend`` for a remote city: what the conversation engine files into when remote.enabled.

Filing never waits on the city: ``file`` writes a ``RemoteSubmission`` in the conversation's own
transaction and answers with a local reference (``R<number>``) the resident can ask STATUS about; the
remote-submit job POSTs it, resolves the city's token, and tells the resident the city's number. The
service list and definitions are read from the ``remote_service`` cache the sync job keeps fresh.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from bot.backend import AttributeSpec, Draft, Filed, FilingRefused, RequestStatus, ServiceSummary
from bot.db import SessionFactory
from bot.remote.records import RemoteRequestState, RemoteService, RemoteSubmission

LOCAL_REFERENCE = re.compile(r"^[Rr](\d{1,18})$")


def local_reference(submission_id: int) -> str:
    return f"R{submission_id}"


def draft_fields(draft: Draft) -> dict[str, Any]:
    """The GeoReport v2 form fields for a draft (multivaluelist answers as ``attribute[CODE][]``)."""
    fields: dict[str, Any] = {"service_code": draft.service_code, "description": draft.description}
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


class RemoteBackend:
    def __init__(self, session_factory: SessionFactory, classifier_classes: Mapping[str, str]) -> None:
        self._session_factory = session_factory
        self._classifier_classes = dict(classifier_classes)

    def services(self) -> Sequence[ServiceSummary]:
        with self._session_factory() as session:
            rows = session.exec(select(RemoteService).order_by(col(RemoteService.position))).all()
        return [
            ServiceSummary(
                code=row.service_code,
                name=row.service_name,
                classifier_class=self._classifier_classes.get(row.service_code, row.service_code),
                batch=row.type == "batch",
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
            if submission.service_request_id is None:
                status = "rejected" if submission.state == "rejected" else "pending"
                return RequestStatus(None, reference, name, status, submission.last_error)
            reference = submission.service_request_id
        state = session.get(RemoteRequestState, reference)
        if state is None:
            return None
        return RequestStatus(reference, None, state.service_name, state.status, state.status_notes or None)

    @staticmethod
    def _service_name(session: Session, service_code: str) -> str:
        service = session.get(RemoteService, service_code)
        return service.service_name if service is not None else service_code
