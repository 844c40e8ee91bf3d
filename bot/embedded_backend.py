"""``RequestBackend`` over the embedded Open311 core: the bot files in-process, in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from sqlmodel import Session

from bot.backend import AttributeSpec, Draft, Filed, FilingRefused, RequestStatus, ServiceSummary
from bot.open311.catalog import Attribute, Service
from bot.open311.errors import NotFound, Open311Error
from bot.open311.media import more_photos
from bot.open311.models import NewRequest, RequestTokenRow, ServiceRequest
from bot.open311.service import Open311Service
from bot.open311.validation import MAX_DESCRIPTION


class EmbeddedBackend:
    """The catalog is the same for every jurisdiction the core serves, so the bot reads it straight from
    the catalog: through list_services() it would need a jurisdiction_id once several are served."""

    def __init__(self, service: Open311Service) -> None:
        self.service = service

    @cached_property
    def _summaries(self) -> tuple[ServiceSummary, ...]:
        return tuple(
            ServiceSummary(
                code=service.code,
                name=service.name,
                classifier_class=service.classifier_class,
                batch=service.type == "batch",
                names=tuple(sorted(service.names.items())),
                keywords=service.keywords,
            )
            for service in self.service.catalog.services
        )

    def services(self) -> Sequence[ServiceSummary]:
        return self._summaries

    def attributes(self, service_code: str) -> Sequence[AttributeSpec]:
        definition = self.service.catalog.get(service_code)
        if definition is None:
            return ()
        return tuple(
            AttributeSpec(
                code=attribute.code,
                datatype=attribute.datatype,
                description=attribute.description,
                required=attribute.required,
                variable=attribute.variable,
                order=attribute.order,
                values=tuple((value.key, value.name) for value in attribute.values),
                translations=_translations(attribute),
            )
            for attribute in definition.attributes
        )

    def file(self, draft: Draft, session: Session) -> Filed:
        new = NewRequest(
            service_code=draft.service_code,
            lat=draft.lat,
            long=draft.long,
            address_string=draft.address_string,
            phone=draft.phone,
            # Cut to what the core keeps: Telegram allows 4,096 characters, the core 4,000, and a report a
            # little longer was refused even when an operator approved it.
            description=draft.description_with_photos(MAX_DESCRIPTION) or None,
            media_url=draft.media_url,
            attributes=dict(draft.attributes),
            channel=draft.channel,
            # The bot files in the first jurisdiction served (config.example.toml says so): with several,
            # the core requires one, and a resident's message names none.
            jurisdiction_id=self.service.settings.jurisdictions[0],
        )
        try:
            submission = self.service.create_request(new, actor=f"bot:{draft.channel}", session=session)
        except Open311Error as exc:
            raise FilingRefused(exc.description) from exc
        return Filed(
            service_request_id=submission.service_request_id,
            token=submission.token,
            service_name=self._name(draft.service_code),
        )

    def add_media(self, reference: str, media_url: str, session: Session) -> bool:
        try:
            return self.service.add_media(reference, media_url, actor="bot", session=session)
        except Open311Error:
            return False  # no such request (a token), or a link the core does not keep

    def add_words(self, reference: str, words: str, session: Session) -> bool:
        found = self._request(reference.strip().lstrip("#"))
        if found is None:
            return False
        said, _photos = more_photos(found.description or "")
        if said.split("\n")[-1:] == [words]:
            return True  # the same words again (an auto-responder, a double send)
        try:
            self.service.change_description(found.service_request_id, f"{said}\n{words}", session=session)
        except Open311Error:
            return False  # no room left for them under the core's limit
        return True

    def lookup(self, reference: str, session: Session) -> RequestStatus | None:
        reference = reference.strip().lstrip("#")
        if reference.isdigit():
            found = self._request(reference)
            if found is None:
                return None
            return RequestStatus(
                service_request_id=found.service_request_id,
                token=found.token,
                service_name=found.service_name,
                status=found.status,
                status_notes=found.status_notes,
                address=found.address,
                lat=found.lat,
                long=found.long,
            )
        row = session.get(RequestTokenRow, reference) if len(reference) <= 64 else None
        if row is None:
            return None
        if row.request_id is not None:
            return self.lookup(str(row.request_id), session)
        return RequestStatus(
            service_request_id=None,
            token=row.token,
            service_name=self._name(row.service_code),
            status="received",
        )

    def _request(self, reference: str) -> ServiceRequest | None:
        """The request numbered ``reference`` in whichever served jurisdiction holds it (a resident knows
        the number, not the jurisdiction; ids are unique across them)."""
        for jurisdiction in self.service.settings.jurisdictions:
            try:
                return self.service.get_request(reference, jurisdiction)
            except NotFound:
                continue
        return None

    def _name(self, service_code: str) -> str:
        service: Service | None = self.service.catalog.get(service_code)
        return service.name if service is not None else service_code


def _translations(attribute: Attribute) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """The attribute's question and values in each language the catalog translates any of them into (an
    untranslated part stays in the catalog's own language)."""
    languages = set(attribute.descriptions).union(*(value.names for value in attribute.values))
    return tuple(
        (
            language,
            attribute.descriptions.get(language, attribute.description),
            tuple((value.key, value.names.get(language, value.name)) for value in attribute.values),
        )
        for language in sorted(languages)
    )
