"""A GeoReport v2 client for a city's endpoint, over XML (the format every endpoint must serve).

Failures come in two kinds, and callers treat them differently:
- ``RemoteUnavailable``: try again later (timeouts, refused connections, 5xx, 429, a body that is not the
  XML the spec promises); ``RemoteTimedOut`` when the call was sent and its answer did not come in time,
  so the city may have done it (a POST it stored); ``RemoteUnreadable`` when the city answered the
  document asked for but it cannot be read (not well-formed, a date that is not W3C): asking again gets
  the same, so a list of requests is asked for in smaller parts to leave out only the broken one;
- ``RemoteRejected``: the city answered with a GeoReport error (4xx) — trying the same thing again will
  not help.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class RemoteError(Exception):
    """The remote endpoint could not do what was asked."""


class RemoteUnavailable(RemoteError):
    """A transient failure: the same call may succeed later."""


class RemoteUnreadable(RemoteUnavailable):
    """The city answered the document asked for, but it cannot be read: a record of it is broken (a
    character XML forbids, a tag left open, a date that is not W3C). Unlike a proxy's error page, asking
    the same again is likely to get the same answer."""


class RemoteTimedOut(RemoteUnavailable):
    """The call reached the city but its answer did not come in time: the city may have acted on it."""


class RemoteRejected(RemoteError):
    """The endpoint refused the call with a GeoReport error; repeating it will not help."""

    def __init__(self, status_code: int, errors: Sequence[tuple[str, str]]) -> None:
        described = "; ".join(f"{code}: {text}" for code, text in errors) or f"HTTP {status_code}"
        super().__init__(described)
        self.status_code = status_code
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class RemoteService:
    service_code: str
    service_name: str
    description: str = ""
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str = ""


@dataclass(frozen=True, slots=True)
class RemoteValue:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class RemoteAttribute:
    code: str
    datatype: str
    variable: bool = True
    required: bool = False
    order: int = 0
    description: str = ""
    datatype_description: str = ""
    values: tuple[RemoteValue, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteDefinition:
    service_code: str
    attributes: tuple[RemoteAttribute, ...] = ()


@dataclass(frozen=True, slots=True)
class PostResult:
    """What POST requests answered: exactly one of ``service_request_id`` and ``token``."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str = ""


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    service_request_id: str
    status: str = ""
    status_notes: str = ""
    service_code: str = ""
    agency_responsible: str = ""
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _w3c(moment: datetime) -> str:
    """A W3C datetime in UTC ("2026-11-27T16:05:00Z"), as the spec's start_date and end_date take it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(element: Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _flag(element: Element, tag: str) -> bool:
    return _text(element, tag).lower() == "true"


def _datetime(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RemoteUnreadable(f"the endpoint sent a date that is not W3C: {value!r}") from exc


# The fields of a request the client reads itself; the others go to ``RemoteRequest.extra``.
_REQUEST_FIELDS = frozenset(
    {
        "service_request_id",
        "status",
        "status_notes",
        "service_code",
        "agency_responsible",
        "updated_datetime",
        "expected_datetime",
    }
)


def _request_record(node: Element) -> RemoteRequest:
    return RemoteRequest(
        service_request_id=_text(node, "service_request_id"),
        status=_text(node, "status"),
        status_notes=_text(node, "status_notes"),
        service_code=_text(node, "service_code"),
        agency_responsible=_text(node, "agency_responsible"),
        updated_datetime=_datetime(_text(node, "updated_datetime")),
        expected_datetime=_datetime(_text(node, "expected_datetime")),
        extra={child.tag: (child.text or "").strip() for child in node if child.tag not in _REQUEST_FIELDS},
    )


class GeoReportClient:
    """One city's endpoint. ``transport`` lets tests route through a local proxy; nothing else is faked."""

    def __init__(
        self,
        base_url: str,
        *,
        jurisdiction_id: str = "",
        api_key: str | None = None,
        timeout_seconds: float = 10.0,
        post_timeout_seconds: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"remote.base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.jurisdiction_id = jurisdiction_id
        self._api_key = api_key
        self._http = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)
        # A POST the city answers late may be stored all the same: it is given longer than the GETs.
        self._post_timeout = httpx.Timeout(post_timeout_seconds or timeout_seconds)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def services(self) -> list[RemoteService]:
        root = await self._get("services.xml", expect="services")
        return [
            RemoteService(
                service_code=_text(node, "service_code"),
                service_name=_text(node, "service_name"),
                description=_text(node, "description"),
                metadata=_flag(node, "metadata"),
                type=_text(node, "type") or "realtime",
                keywords=_text(node, "keywords"),
                group=_text(node, "group"),
            )
            for node in root.findall("service")
        ]

    async def service_definition(self, service_code: str) -> RemoteDefinition:
        root = await self._get(f"services/{service_code}.xml", expect="service_definition")
        attributes = []
        for node in root.iterfind("attributes/attribute"):
            order = _text(node, "order")
            attributes.append(
                RemoteAttribute(
                    code=_text(node, "code"),
                    datatype=_text(node, "datatype"),
                    variable=_flag(node, "variable"),
                    required=_flag(node, "required"),
                    order=int(order) if order.isdigit() else 0,
                    description=_text(node, "description"),
                    datatype_description=_text(node, "datatype_description"),
                    values=tuple(
                        RemoteValue(_text(value, "key"), _text(value, "name"))
                        for value in node.iterfind("values/value")
                    ),
                )
            )
        attributes.sort(key=lambda attribute: attribute.order)
        return RemoteDefinition(_text(root, "service_code") or service_code, tuple(attributes))

    async def post_request(self, fields: Mapping[str, str | Sequence[str]]) -> PostResult:
        """POSTs a request; ``fields`` are the spec's form fields (``attribute[CODE]`` keys included)."""
        form: list[tuple[str, str]] = []
        for key, value in fields.items():
            if isinstance(value, str):
                form.append((key, value))
            else:
                form.extend((key, item) for item in value)
        form += self._common_params(with_key=True)
        # Encoded here: repeated keys (attribute[CODE][]) need a list of pairs, which httpx's data= refuses.
        root = await self._send(
            "POST",
            "requests.xml",
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
            expect="service_requests",
            timeout=self._post_timeout,
        )
        node = root.find("request")
        if node is None:
            raise RemoteUnavailable("POST requests answered with no <request>")
        request_id, token = _text(node, "service_request_id"), _text(node, "token")
        if not request_id and not token:
            raise RemoteUnavailable("POST requests answered with neither service_request_id nor token")
        return PostResult(request_id or None, None if request_id else token, _text(node, "service_notice"))

    async def resolve_token(self, token: str) -> str | None:
        """The request id a token became, or None while the city has not accepted it yet."""
        try:
            root = await self._get(f"tokens/{token}.xml", expect="service_requests")
        except RemoteRejected as exc:
            if exc.status_code == 404:
                return None  # not known yet: some endpoints answer 404 until the batch runs
            raise
        node = root.find("request")
        return (_text(node, "service_request_id") or None) if node is not None else None

    async def requests(self, service_request_ids: Sequence[str]) -> list[RemoteRequest]:
        """Current state of the given requests (one GET, ids as the spec's comma list)."""
        if not service_request_ids:
            return []
        root = await self._get(
            "requests.xml",
            expect="service_requests",
            params={"service_request_id": ",".join(service_request_ids)},
        )
        return [_request_record(node) for node in root.findall("request")]

    async def requests_of(self, service_code: str, start: datetime, end: datetime) -> list[RemoteRequest]:
        """The requests of a service the city says were made between ``start`` and ``end`` (GET requests
        with service_code, start_date and end_date; the fields beyond the client's own in ``extra``)."""
        root = await self._get(
            "requests.xml",
            expect="service_requests",
            params={"service_code": service_code, "start_date": _w3c(start), "end_date": _w3c(end)},
        )
        return [_request_record(node) for node in root.findall("request")]

    async def request(self, service_request_id: str) -> RemoteRequest | None:
        """One request by its id (GET requests/{id}); None when the city does not know it.

        A 404 or 400 (an id the city's format cannot hold) is "no such request"; any other refusal is raised.
        """
        try:
            root = await self._get(
                f"requests/{quote(service_request_id, safe='')}.xml", expect="service_requests"
            )
        except RemoteRejected as exc:
            if exc.status_code in (400, 404):
                return None
            raise
        node = root.find("request")
        if node is None:
            return None  # some endpoints answer an empty list instead of 404
        found = _request_record(node)
        return found if found.service_request_id else None

    def _common_params(self, *, with_key: bool = False) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if self.jurisdiction_id:
            params.append(("jurisdiction_id", self.jurisdiction_id))
        if with_key and self._api_key:
            params.append(("api_key", self._api_key))
        return params

    async def _get(self, path: str, *, expect: str, params: Mapping[str, str] | None = None) -> Element:
        query = [*self._common_params(), *(params or {}).items()]
        return await self._send("GET", path, params=query, expect=expect)

    async def _send(self, method: str, path: str, *, expect: str, **kwargs: Any) -> Element:
        url = f"{self.base_url}/{path}"
        try:
            response = await self._http.request(method, url, **kwargs)
        except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
            # Sent, or being sent: the city may have it.
            raise RemoteTimedOut(f"{method} {path} timed out") from exc
        except httpx.TimeoutException as exc:  # no connection: nothing reached the city
            raise RemoteUnavailable(f"{method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise RemoteUnavailable(f"{method} {path} failed: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RemoteUnavailable(f"{method} {path} answered HTTP {response.status_code}")
        root = self._parse(response, f"{method} {path}", expect)
        if response.status_code >= 400:
            errors = [(_text(node, "code"), _text(node, "description")) for node in root.iter("error")]
            raise RemoteRejected(response.status_code, errors)
        if root.tag != expect:
            raise RemoteUnavailable(f"{method} {path} answered <{root.tag}>, expected <{expect}>")
        return root

    @staticmethod
    def _parse(response: httpx.Response, what: str, expect: str) -> Element:
        try:
            return _element(response.content)
        except (ParseError, DefusedXmlException) as exc:
            problem = f"{what} answered a body that is not XML ({exc})"
        try:
            # Characters XML forbids (U+FFFF, control characters) in a field the city did not clean: the
            # rest of its answer is readable without them, and residents would rather hear it.
            return _element(_FORBIDDEN_IN_XML.sub(b"", response.content))
        except (ParseError, DefusedXmlException):
            pass
        if _opens_with(response.content, expect):
            raise RemoteUnreadable(problem)  # the city's document, broken somewhere inside
        # A proxy's HTML error page or a truncated body: the city's answer did not arrive intact.
        raise RemoteUnavailable(problem)


# What XML 1.0 forbids in a document, as UTF-8 (the spec's encoding, and what cities send): the C0 controls
# but tab, newline and carriage return, U+FFFE and U+FFFF, and lone surrogates.
_FORBIDDEN_IN_XML = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]|\xed[\xa0-\xbf][\x80-\xbf]")
# How far into a body its root element is looked for (after the XML declaration, a comment or two).
_ROOT_WITHIN = 512


def _element(body: bytes) -> Element:
    root: Element = fromstring(body)
    return root


def _opens_with(body: bytes, tag: str) -> bool:
    """Whether ``body`` starts as the document asked for (``<service_requests>``), broken or not."""
    return re.search(rb"<" + re.escape(tag.encode()) + rb"[\s>/]", body[:_ROOT_WITHIN]) is not None
