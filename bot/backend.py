"""The seam between the conversation engine and wherever requests are filed.

The engine only needs: the city's services, a service's attributes, filing a request, and looking one up.
``EmbeddedBackend`` (in ``bot/embedded_backend.py``) does it through the embedded Open311 core inside the
caller's transaction; a remote city's GeoReport v2 endpoint can implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from sqlmodel import Session

from bot.open311.media import with_more_photos
from bot.redaction import mask_contact_details


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    code: str
    name: str
    # The classifier's class this service receives (a city may name its services differently).
    classifier_class: str
    batch: bool = False
    # The name in other languages, (language, name) pairs (the catalog's ``names``).
    names: tuple[tuple[str, str], ...] = ()
    # The catalog's keywords (GeoReport v2's ``keywords``): words that tell services sharing a class apart.
    keywords: tuple[str, ...] = ()

    def name_in(self, language: str) -> str:
        """The name a resident who writes in ``language`` reads (the catalog's own when not translated); a
        script of a language reads the language's ("zh-Hant": "zh", which the reply's template converts)."""
        names = dict(self.names)
        return names.get(language) or names.get(language.split("-")[0]) or self.name


def find_service(services: Sequence[ServiceSummary], code_or_name: str) -> ServiceSummary | None:
    """The service with that code or that catalog name (a request read back knows only its name)."""
    return next((s for s in services if code_or_name in (s.code, s.name)), None)


def service_name_in(services: Sequence[ServiceSummary], code_or_name: str, language: str) -> str:
    """A service's name in a resident's language (``code_or_name`` itself when no service has it)."""
    service = find_service(services, code_or_name)
    return service.name_in(language) if service is not None else code_or_name


def ranked_services(
    ranked: Sequence[tuple[str, float]], services: Sequence[ServiceSummary]
) -> list[tuple[str, str, float]]:
    """The classifier's classes, best first, as the city's services that receive them: (service code,
    class, confidence). A class no service receives ("other", in most catalogs) is left out: the
    suggestions an operator sees and the model's answer the learning page compares are both these."""
    return [
        (service.code, code, confidence)
        for code, confidence in ranked
        for service in services
        if service.classifier_class == code
    ]


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    code: str
    datatype: str
    # The question put to the resident.
    description: str
    required: bool = False
    # False: information only, never asked nor submitted.
    variable: bool = True
    order: int = 0
    # (key, name) pairs of a list datatype, in catalog order.
    values: tuple[tuple[str, str], ...] = ()
    # The question and the values' names in other languages: (language, description, values) triples.
    translations: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()

    def in_language(self, language: str) -> AttributeSpec:
        """The attribute as a resident who writes in ``language`` is asked it (as it is, untranslated); as
        ``ServiceSummary.name_in``, "zh-Hant" is asked in "zh" where the catalog has no "zh-Hant"."""
        for wanted in dict.fromkeys((language, language.split("-")[0])):
            for lang, description, values in self.translations:
                if lang == wanted:
                    return replace(self, description=description, values=values, translations=())
        return self


@dataclass(frozen=True, slots=True)
class Draft:
    """A request ready to file: the resident's words, where, what, and what they answered."""

    service_code: str
    description: str
    channel: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    # Every photo the resident sent, in order. GeoReport v2 has one media_url per request: the first is
    # it, the others are listed at the end of the description (``description_with_photos``).
    media_urls: Sequence[str] = ()
    attributes: Mapping[str, str | list[str]] = field(default_factory=dict)
    # A phone number when the channel is SMS, for the city to call back.
    phone: str | None = None

    @property
    def media_url(self) -> str | None:
        return self.media_urls[0] if self.media_urls else None

    def description_with_photos(self, limit: int | None = None) -> str:
        """The description, with the photos after the first listed at its end (an MMS or a Telegram album
        with several: before, all but the first were lost). Cut to ``limit`` characters with an ellipsis,
        the words cut and the photos kept."""
        return with_more_photos(self.description, self.media_urls[1:], limit)


@dataclass(frozen=True, slots=True)
class Filed:
    service_request_id: str | None
    token: str | None
    service_name: str


@dataclass(frozen=True, slots=True)
class RequestStatus:
    """A request as a resident may be told it. Anyone may ask about any request number (STATUS 12), so
    ``status_notes`` hold a phone number or an email an operator wrote masked, as the Open311 API and the
    status updates publish them (before, STATUS showed them whole)."""

    service_request_id: str | None
    token: str | None
    service_name: str
    status: str
    status_notes: str | None = None
    # Where it is, where the backend knows (a resident who says "it's still there" means that place).
    address: str | None = None
    lat: float | None = None
    long: float | None = None

    def __post_init__(self) -> None:
        if self.status_notes:
            object.__setattr__(self, "status_notes", mask_contact_details(self.status_notes))


class FilingRefused(Exception):
    """The core refused the draft (e.g. an attribute value it does not accept); a person must look."""


class RequestUnreachable(Exception):
    """Where the request lives could not be asked just now (a remote city that is down): try again later."""

    # The reply the resident gets (a template key).
    reply_key = "city_unreachable"


class RequestUnreadable(RequestUnreachable):
    """Where the request lives answered, but with a record of it the bot cannot read (a remote city's
    broken XML): it is not down, and saying so would be false."""

    reply_key = "city_unreadable"


class RequestBackend(Protocol):
    def services(self) -> Sequence[ServiceSummary]: ...

    def attributes(self, service_code: str) -> Sequence[AttributeSpec]: ...

    def file(self, draft: Draft, session: Session) -> Filed:
        """Files in the caller's transaction (the caller commits); raises FilingRefused."""
        ...

    def lookup(self, reference: str, session: Session) -> RequestStatus | None:
        """Finds a request by its id or its token; None when there is none. Raises RequestUnreachable when
        it lives elsewhere (a remote city) that cannot be asked just now and no copy of it is kept."""
        ...


@runtime_checkable
class AddsMedia(Protocol):
    """A backend that can give a filed request a photo sent after it (the embedded core; GeoReport v2 has
    no way to ask a remote city)."""

    def add_media(self, reference: str, media_url: str, session: Session) -> bool:
        """True when the request has this photo now: as its photo when it had none, else listed at the
        end of its description with the others ("More photos: ..."); False when it cannot be added."""
        ...


@runtime_checkable
class AddsWords(Protocol):
    """A backend that can give a filed request more of the resident's words sent right after it ("it's really
    deep, right in the bike lane"); GeoReport v2 has no way to ask a remote city."""

    def add_words(self, reference: str, words: str, session: Session) -> bool:
        """True when the request's description ends with ``words`` now (a line of their own after its words,
        before any photos listed); False when it cannot have them (no such request, no room left)."""
        ...


@runtime_checkable
class TracksRequests(Protocol):
    """A backend whose requests may live only elsewhere (a remote city's, filed by phone or another app):
    FOLLOW finds them there and keeps a copy that is polled while anyone follows it."""

    def track(self, reference: str, session: Session) -> RequestStatus | None:
        """Finds the request, asking where it lives when no polled copy is kept, and keeps that copy in
        the caller's transaction; None when there is none. Raises RequestUnreachable (nothing written)."""
        ...

    def prefetch(self, reference: str) -> None:
        """Asks where the request lives now, outside any transaction, so that ``track`` or ``lookup`` in
        the turn that follows answer from memory instead of holding the database while they wait."""
        ...
