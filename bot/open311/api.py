"""GeoReport v2 over HTTP: the six methods (plus discovery and uploaded media) as a FastAPI router.

The format comes from the path suffix (``.xml`` / ``.json``). Parsing is lenient where the spec allows:
an empty parameter is an absent one, ``api_key`` and ``jurisdiction_id`` may come in the body or the
query string, comma lists are trimmed, ``attribute[...]`` keys may arrive percent-encoded. This module is
the only place core errors become HTTP status codes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, unquote

import orjson
from defusedxml import ElementTree as SafeElementTree
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import Route as StarletteRoute

from bot.config import Settings
from bot.open311 import formats
from bot.open311 import openapi_schemas as schemas
from bot.open311.catalog import DEFAULT_CATALOG
from bot.open311.discovery import catalog_changeset, discovery_record
from bot.open311.errors import Conflict, Forbidden, InvalidInput, NotFound, Open311Error, shown
from bot.open311.formats import Format
from bot.open311.media import MediaStore
from bot.open311.models import NewRequest, RequestQuery
from bot.open311.service import Open311Service
from bot.open311.validation import TEXT_FIELDS, parse_w3c_datetime

T = TypeVar("T")
OptionalParam = Annotated[str | None, Query()]
# A path segment of only blanks is one not provided (the spec's 400), and the description says so.
# "Not only blanks" as str.strip() sees blanks: a JSON Schema (ECMA) \s leaves out the separators
# \x1c-\x1f and \x85, which Python strips, so they are named.
PRESENT_PATTERN = r"[^\s\x1c-\x1f\x85]"
PathParam = Annotated[str, Path(pattern=PRESENT_PATTERN)]

# attribute[CODE], or for a multivaluelist's values attribute[CODE][] or attribute[CODE][0], [1]... (the
# indexed keys of PHP's http_build_query and Node's qs); the index only numbers them, the order they
# come in is kept.
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\]]{1,128})\](\[[0-9]{0,9}\])?$")
_SUFFIX = re.compile(r"\.(xml|json)$")
# What no text holds though a client can send it (U+FFFE and U+FFFF, surrogates escaped in JSON or
# decoded by a lax client): XML 1.0 cannot carry them, so a request holding one could not be read back.
_NOT_TEXT = re.compile("[\ud800-\udfff\ufffe\uffff]")
_MAX_PARAM_LENGTH = 20_000
# The most fields a POST body may carry, whatever its type (each attribute, and each value of a
# multivaluelist, counts one): a body of many thousands of unknown attribute keys would otherwise be
# answered with as many errors.
MAX_FIELDS = 2000
# The methods a 405 is answered for in the spec's error format (with Allow naming what the path serves).
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_NEW_REQUEST_FIELDS = (*TEXT_FIELDS, "description", "media_url")
# The fields of a POST body that are read (api_key is checked as a key; any other field is ignored).
_READ_FIELDS = frozenset(("service_code", "jurisdiction_id", "lat", "long", *_NEW_REQUEST_FIELDS))


class PayloadTooLarge(InvalidInput):
    """The body is larger than server.max_body_bytes."""


class UnsupportedMediaType(InvalidInput):
    """The body's content type is none we read."""


def status_for(error: Open311Error) -> int:
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PayloadTooLarge):
        return 413
    if isinstance(error, UnsupportedMediaType):
        return 415
    if isinstance(error, Conflict):
        return 409
    return 400


def document(fmt: Format, root: str, item: str | None, body: Any, status: int = 200) -> Response:
    return Response(
        formats.render(fmt, root, item, body),
        status_code=status,
        headers={"content-type": formats.CONTENT_TYPES[fmt]},
    )


def error_response(fmt: Format, status: int, description: str) -> Response:
    return document(fmt, "errors", "error", formats.error_records([(status, description)]), status)


def refusal(fmt: Format, error: Open311Error) -> Response:
    """The spec's error list for a core error: one entry per problem it carries (``error.errors``)."""
    status = status_for(error)
    records = formats.error_records((status, each.description) for each in error.errors)
    return document(fmt, "errors", "error", records, status)


def format_of(path: str) -> Format:
    """The format a path asks for (XML, the spec's required format, when it names none)."""
    match = _SUFFIX.search(path)
    return "json" if match and match.group(1) == "json" else "xml"


# ------------------------------------------------------------------------------------- parameters


def _clean(value: str | None, name: str) -> str | None:
    """An empty parameter is an absent one (spec: "Optional" arguments)."""
    if value is None:
        return None
    text = value.strip()
    if len(text) > _MAX_PARAM_LENGTH:
        raise InvalidInput(f"{name} is longer than {_MAX_PARAM_LENGTH} characters", field=name)
    return text or None


def _param(request: Request, name: str, form: dict[str, str] | None = None) -> str | None:
    if form is not None and form.get(name):
        return _clean(form[name], name)
    return _clean(request.query_params.get(name), name)


def _comma_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def _list_param(request: Request, name: str) -> tuple[str, ...]:
    """A list parameter, which the spec lets a client declare several times, comma delimited: the union
    of every occurrence's comma list (``status=open&status=closed`` is ``status=open,closed``)."""
    values = (_clean(value, name) for value in request.query_params.getlist(name))
    return tuple(dict.fromkeys(part for value in values for part in _comma_list(value)))


def _integer(value: str | None, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number", field=name) from exc
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", field=name)
    return number


def _boolean(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


# ------------------------------------------------------------------------------------------ bodies


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the request body is larger than {max_bytes} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the request body is larger than {max_bytes} bytes", field="body")
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette's form parser reads a body already held in _body instead of the consumed stream.
    request._body = body
    return body


async def read_submission(request: Request, max_bytes: int) -> tuple[list[tuple[str, str]], bytes | None]:
    """The POST body as (name, value) pairs plus an uploaded ``media`` file, whatever the body's type:
    form-encoded (the spec's), multipart (the media extension), JSON or XML (clients that send them)."""
    body = await _read_body(request, max_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("", "application/x-www-form-urlencoded"):
        try:
            text = body.decode("utf-8")
            # errors="strict": a percent-encoded byte that is not UTF-8 (Caf%E9, a Latin-1 client) is
            # refused as raw bytes are, not stored as U+FFFD.
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS, errors="strict"
            )
        except UnicodeDecodeError as exc:
            raise InvalidInput("the form body is not valid UTF-8", field="body") from exc
        except ValueError as exc:
            raise InvalidInput(f"the form body is malformed: {exc}", field="body") from exc
        return pairs, None
    if content_type == "multipart/form-data":
        return await _multipart(request)
    if content_type in ("application/json", "text/json"):
        return _at_most_max_fields(_json_pairs(body), "JSON"), None
    if content_type in ("text/xml", "application/xml"):
        return _at_most_max_fields(_xml_pairs(body), "XML"), None
    raise UnsupportedMediaType(
        f"content type {shown(content_type)} is not accepted; send application/x-www-form-urlencoded",
        field="body",
    )


async def _multipart(request: Request) -> tuple[list[tuple[str, str]], bytes | None]:
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    except MultiPartException as exc:
        raise InvalidInput(f"the multipart body is malformed: {exc.message}", field="body") from exc
    except (ValueError, KeyError, AssertionError) as exc:
        raise InvalidInput("the multipart body is malformed", field="body") from exc
    pairs: list[tuple[str, str]] = []
    media: bytes | None = None
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "media":
                    raise InvalidInput(f"{name} cannot be a file; only media can", field=name)
                media = await value.read()
            else:
                pairs.append((name, value))
    finally:
        await form.close()
    return pairs, media


def _at_most_max_fields(pairs: list[tuple[str, str]], kind: str) -> list[tuple[str, str]]:
    """The form parsers' limit (``MAX_FIELDS``), for the bodies parsed here."""
    if len(pairs) > MAX_FIELDS:
        raise InvalidInput(f"the {kind} body has more than {MAX_FIELDS} fields", field="body")
    return pairs


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the JSON body does not parse: {exc}", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the JSON body must be an object of fields", field="body")
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        if name in ("attribute", "attributes") and isinstance(value, dict):
            for code, attribute_value in value.items():
                values = attribute_value if isinstance(attribute_value, list) else [attribute_value]
                pairs.extend((f"attribute[{code}][]", _scalar(item, code)) for item in values)
        elif isinstance(value, list):
            pairs.extend((name, _scalar(item, name)) for item in value)
        else:
            pairs.append((name, _scalar(value, name)))
    return pairs


def _scalar(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidInput(f"{name} must be a string or a number", field=name)


def _xml_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except Exception as exc:  # defusedxml raises ParseError or its own DefusedXmlException family
        raise InvalidInput(f"the XML body is not acceptable: {type(exc).__name__}", field="body") from exc
    pairs: list[tuple[str, str]] = []
    for child in root:
        if child.tag in ("attribute", "attributes") and len(child):
            pairs.extend((f"attribute[{item.tag}][]", (item.text or "").strip()) for item in child)
        else:
            pairs.append((child.tag, (child.text or "").strip()))
    return pairs


def split_submission(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, str | list[str]], list[InvalidInput]]:
    """Plain fields (first non-empty value wins), ``attribute[CODE]`` / ``attribute[CODE][]`` (or
    ``attribute[CODE][0]``) values, and an error for each malformed attribute key (the core reports
    them with the submission's others)."""
    fields: dict[str, str] = {}
    attributes: dict[str, str | list[str]] = {}
    malformed: list[InvalidInput] = []
    for name, value in pairs:
        # Form bodies arrive decoded, but some clients percent-encode the brackets again, or send
        # multipart field names (never decoded by the parser) percent-encoded: decode them here.
        if "%" in name:
            name = unquote(name)
        match = _ATTRIBUTE_KEY.match(name.strip())
        if not match and _looks_like_attribute(name):
            malformed.append(
                InvalidInput(
                    f"{shown(name)} is not an attribute key: write attribute[CODE] (attribute[CODE][] or "
                    "attribute[CODE][0] for a multivaluelist)",
                    field=name,
                )
            )
        elif match:
            code, is_list = match.group(1).strip(), bool(match.group(2))
            if not value.strip():
                continue
            current = attributes.get(code)
            if is_list or current is not None:
                items = current if isinstance(current, list) else ([current] if current is not None else [])
                attributes[code] = [*items, value]
            else:
                attributes[code] = value
        elif value.strip() and name not in fields:
            fields[name] = value
    return fields, attributes, malformed


def _non_characters(fields: dict[str, str], attributes: dict[str, str | list[str]]) -> list[InvalidInput]:
    """An error for each field read and each attribute that holds a ``_NOT_TEXT`` character.

    The submission is refused (the errors go with its others): filed, such a value would break every
    XML answer carrying it, and a client that cannot parse the answer to its POST files again."""
    errors: list[InvalidInput] = []

    def check(field: str, *texts: str) -> None:
        found = next((match for text in texts if (match := _NOT_TEXT.search(text))), None)
        if found is not None:
            description = f"{field} contains U+{ord(found.group()):04X}, which is not a character of text"
            errors.append(InvalidInput(description, field=field))

    for name, value in fields.items():
        if name in _READ_FIELDS:
            check(name, value)
    for code, answer in attributes.items():
        check(f"attribute[{code}]", code, *(answer if isinstance(answer, list) else [answer]))
    return errors


def _looks_like_attribute(name: str) -> bool:
    """``attribute``, ``attribute[]``, ``attribute[size][foo]``, ``attribute[size``: meant as an
    attribute answer but malformed, so refused rather than silently dropped."""
    text = name.strip()
    return text == "attribute" or text.startswith("attribute[")


# ------------------------------------------------------------------------------------------ router


def build_router(service: Open311Service, media: MediaStore, settings: Settings) -> APIRouter:
    router = APIRouter(prefix=settings.open311.base_path.rstrip("/"), tags=["GeoReport v2"])
    max_body = settings.server.max_body_bytes
    changeset = catalog_changeset(settings.open311.catalog_file or DEFAULT_CATALOG)

    def guarded(fmt: Format, produce: Callable[[], Response]) -> Response:
        try:
            return produce()
        except Open311Error as error:
            return refusal(fmt, error)

    def add_routes(fmt: Format) -> None:
        # One route per format, so the OpenAPI description lists the concrete paths clients call
        # (services.xml, services.json) and an unknown suffix is simply an unknown path.
        doc_class = _DOCUMENT_CLASSES[fmt]

        # The hottest route, kept lean. It is served by a plain Starlette route registered first (routes
        # match in order), which skips FastAPI's dependency solving; the FastAPI route of the same path
        # after it only describes it in the OpenAPI document. Parameters are read from the request, and
        # the lookup runs inline, since a primary-key read is cheaper than the hop to a thread.
        get_request_path = f"{router.prefix}/requests/{{service_request_id}}.{fmt}"

        async def get_request(request: Request) -> Response:
            def produce() -> Response:
                service_request_id = request.path_params["service_request_id"]
                if not service_request_id.strip():
                    raise InvalidInput("service_request_id is required", field="service_request_id")
                with_notes = _boolean(_param(request, "extensions"))
                found = service.get_request(
                    service_request_id, _param(request, "jurisdiction_id"), with_notes=with_notes
                )
                return document(
                    fmt,
                    "service_requests",
                    "request",
                    [formats.request_record(found, with_notes, service.catalog, media.link)],
                )

            return guarded(fmt, produce)

        router.routes.append(
            StarletteRoute(get_request_path, get_request, methods=["GET"], include_in_schema=False)
        )
        router.add_api_route(
            f"/requests/{{service_request_id}}.{fmt}",
            get_request,
            methods=["GET"],
            summary="GET Service Request",
            response_class=doc_class,
            responses=_responses(fmt, schemas.REQUEST_LIST),
            openapi_extra={"parameters": _GET_REQUEST_PARAMETERS},
        )

        @router.get(
            f"/discovery.{fmt}",
            summary="Service discovery",
            response_class=doc_class,
            responses=_success(fmt, schemas.DISCOVERY),
        )
        async def discovery() -> Response:
            record = discovery_record(
                settings.open311, settings.server.public_url, changeset, service.sandbox
            )
            return document(fmt, "discovery", None, record)

        @router.get(
            f"/services.{fmt}",
            summary="GET Service List",
            response_class=doc_class,
            responses=_responses(fmt, schemas.SERVICE_LIST),
        )
        async def list_services(request: Request, jurisdiction_id: OptionalParam = None) -> Response:
            def produce() -> Response:
                found = service.list_services(_param(request, "jurisdiction_id"))
                return document(fmt, "services", "service", [formats.service_record(s) for s in found])

            return guarded(fmt, produce)

        @router.get(
            f"/services/{{service_code}}.{fmt}",
            summary="GET Service Definition",
            response_class=doc_class,
            responses=_responses(fmt, schemas.SERVICE_DEFINITION),
        )
        async def service_definition(
            request: Request, service_code: PathParam, jurisdiction_id: OptionalParam = None
        ) -> Response:
            def produce() -> Response:
                found = service.get_service_definition(service_code, _param(request, "jurisdiction_id"))
                return document(fmt, "service_definition", None, formats.definition_record(found))

            return guarded(fmt, produce)

        @router.post(
            f"/requests.{fmt}",
            summary="POST Service Request",
            openapi_extra={"requestBody": _POST_BODY},
            # 200, not 201: the GeoReport v2 servers clients were written against answer 200, and a
            # client checking == 200 takes a 201 for a failed filing (and may file it again).
            response_class=doc_class,
            response_description="Filed: a service_request_id (realtime) or a token (batch)",
            responses=_responses(fmt, schemas.SUBMISSION_LIST),
        )
        async def create_request(request: Request, jurisdiction_id: OptionalParam = None) -> Response:
            try:
                pairs, upload = await read_submission(request, max_body)
                api_key = next((value for name, value in pairs if name == "api_key" and value.strip()), None)
                api_key = api_key or _clean(request.query_params.get("api_key"), "api_key")
                fields, attributes, read_errors = split_submission(pairs)
                read_errors.extend(_non_characters(fields, attributes))
                try:
                    new = _new_request(request, fields, attributes)
                except InvalidInput:
                    # The key first: a client without a valid key hears 403, not what else is wrong.
                    if not service.sandbox:
                        await run_in_threadpool(service.keys.verify, api_key)
                    raise
                stored = None
                if upload is not None:
                    try:
                        stored = await run_in_threadpool(media.save, upload)
                    except InvalidInput as refused:
                        read_errors.append(refused)  # reported after the key, with the other problems
                    else:
                        new = _with_media(new, media.url_for(stored.name))
                try:
                    submission = await run_in_threadpool(
                        lambda: service.create_request(
                            new, api_key=api_key, require_api_key=True, read_errors=read_errors
                        )
                    )
                except BaseException:
                    if stored is not None:
                        stored.path.unlink(missing_ok=True)
                    raise
            except Open311Error as error:
                return refusal(fmt, error)
            return document(fmt, "service_requests", "request", [formats.submission_record(submission)])

        @router.get(
            f"/tokens/{{token_id}}.{fmt}",
            summary="GET service_request_id from a token",
            response_class=doc_class,
            responses=_responses(fmt, schemas.TOKEN_LIST),
        )
        async def token(
            request: Request, token_id: PathParam, jurisdiction_id: OptionalParam = None
        ) -> Response:
            def produce() -> Response:
                status = service.get_token(token_id, _param(request, "jurisdiction_id"))
                return document(fmt, "service_requests", "request", [formats.token_record(status)])

            return guarded(fmt, produce)

        @router.get(
            f"/requests.{fmt}",
            summary="GET Service Requests",
            response_class=doc_class,
            responses=_responses(fmt, schemas.REQUEST_LIST),
        )
        async def query_requests(
            request: Request,
            jurisdiction_id: OptionalParam = None,
            service_request_id: OptionalParam = None,
            service_code: OptionalParam = None,
            start_date: OptionalParam = None,
            end_date: OptionalParam = None,
            status: OptionalParam = None,
            page: OptionalParam = None,
            page_size: OptionalParam = None,
            extensions: OptionalParam = None,
        ) -> Response:
            try:
                query = _request_query(request, settings.open311.max_page_size)
                found = await run_in_threadpool(service.query_requests, query)
            except Open311Error as error:
                return refusal(fmt, error)
            records = [
                formats.request_record(r, query.extensions, service.catalog, media.link) for r in found
            ]
            return document(fmt, "service_requests", "request", records)

    for each_format in ("json", "xml"):  # JSON first: most clients ask for it, and routes match in order
        add_routes(each_format)

    @router.get(
        "/media/{name}",
        summary="Uploaded media",
        response_class=FileResponse,
        responses={404: _responses("json")[404]},
    )
    async def served_media(name: str) -> Response:
        try:
            stored = media.open(name)
        except NotFound as error:
            return error_response("json", 404, error.description)
        return FileResponse(
            stored.path, media_type=stored.media_type, headers={"cache-control": "public, max-age=86400"}
        )

    _complete_methods(router)
    return router


def _complete_methods(router: APIRouter) -> None:
    """HEAD wherever GET is served, and a 405 naming every method a path serves.

    A HEAD route reuses the GET route's endpoint, so the status and headers are the same, and uvicorn
    leaves the body out. (FastAPI routes answer only the methods they list, where Starlette's add HEAD
    to GET; listing HEAD on the GET routes would describe every read twice in the OpenAPI document.)
    Starlette's own 405 names only the methods of the first route matching the path (GET requests.json
    and POST requests.json are two routes), so each path ends with a route answering every other method.
    """
    methods: dict[str, set[str]] = {}
    for route in list(router.routes):
        if not isinstance(route, StarletteRoute) or not route.methods:
            continue
        methods.setdefault(route.path, set()).update(route.methods)
        if isinstance(route, APIRoute) and "GET" in route.methods:
            router.add_api_route(
                route.path.removeprefix(router.prefix),
                route.endpoint,
                methods=["HEAD"],
                include_in_schema=False,
                response_class=route.response_class,
            )
            methods[route.path].add("HEAD")
    for path, allowed in methods.items():
        others = [method for method in _HTTP_METHODS if method not in allowed]
        endpoint = _method_not_allowed(format_of(path), allowed)
        router.routes.append(StarletteRoute(path, endpoint, methods=others, include_in_schema=False))


def _method_not_allowed(fmt: Format, allowed: set[str]) -> Callable[[Request], Awaitable[Response]]:
    allow = ", ".join(sorted(allowed))

    async def not_allowed(request: Request) -> Response:
        response = error_response(fmt, 405, "method not allowed")
        response.headers["allow"] = allow
        return response

    return not_allowed


def _new_request(
    request: Request, fields: dict[str, str], attributes: dict[str, str | list[str]]
) -> NewRequest:
    """The submission as the core reads it. Only what gates the rest is checked here (service_code,
    jurisdiction_id); every other field goes to the core as sent, which checks them all together."""
    service_code = _clean(fields.get("service_code"), "service_code")
    if not service_code:
        raise InvalidInput("service_code is required", field="service_code")
    values = {name: fields.get(name) for name in _NEW_REQUEST_FIELDS}
    return NewRequest(
        service_code=service_code,
        jurisdiction_id=_param(request, "jurisdiction_id", fields),
        lat=fields.get("lat"),
        long=fields.get("long"),
        attributes=attributes,
        channel="api",
        **values,
    )


def _with_media(new: NewRequest, url: str) -> NewRequest:
    return dataclasses.replace(new, media_url=url)


def _request_query(request: Request, max_page_size: int) -> RequestQuery:
    start = _param(request, "start_date")
    end = _param(request, "end_date")
    return RequestQuery(
        service_request_ids=_list_param(request, "service_request_id"),
        service_codes=_list_param(request, "service_code"),
        start_date=parse_w3c_datetime(start, "start_date") if start else None,
        end_date=parse_w3c_datetime(end, "end_date") if end else None,
        statuses=tuple(dict.fromkeys(s.lower() for s in _list_param(request, "status"))),
        page=_integer(_param(request, "page"), "page", 1, 1_000_000) or 1,
        page_size=_integer(_param(request, "page_size"), "page_size", 1, max_page_size),
        extensions=_boolean(_param(request, "extensions")),
        jurisdiction_id=_param(request, "jurisdiction_id"),
    )


# ----------------------------------------------------------------------------------- error handlers


def install_error_handlers(app: FastAPI, base_path: str) -> None:
    """Spec error bodies (in the path's format) for what FastAPI itself rejects under the API's path:
    unknown routes and formats, wrong methods, invalid path parameters. Other paths keep FastAPI's."""
    prefix = base_path.rstrip("/") + "/"

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith(prefix):
            return await http_exception_handler(request, exc)
        description = {404: "no such resource (paths end in .xml or .json)", 405: "method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        response = error_response(format_of(request.url.path), exc.status_code, description)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not request.url.path.startswith(prefix):
            return await request_validation_exception_handler(request, exc)
        fmt = format_of(request.url.path)
        for error in exc.errors():
            if tuple(error.get("loc", ()))[-1:] == ("fmt",):
                return error_response(fmt, 404, "the format must be xml or json (e.g. services.xml)")
        names = ", ".join(str(tuple(e.get("loc", ("?",)))[-1]) for e in exc.errors()) or "request"
        return error_response(fmt, 400, f"invalid parameter: {names}")

    async def server_error(request: Request, exc: Exception) -> Response:
        # A fault of ours (the database gone, a bug): a client of the API still gets the spec's error
        # body it can parse, without a trace. Starlette logs the exception after this answer.
        if not request.url.path.startswith(prefix):
            response: Response = PlainTextResponse("Internal Server Error", status_code=500)
        else:
            description = "the server could not answer; try again later"
            response = error_response(format_of(request.url.path), 500, description)
        # The server closes the connection after a fault: a keep-alive client must not send its next
        # request on it (it would be reset).
        response.headers["connection"] = "close"
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)


# ------------------------------------------------------------------------------------ OpenAPI bits

_STRING = {"type": "string"}
_POST_FIELDS = {
    "api_key": _STRING,
    "jurisdiction_id": _STRING,
    "service_code": _STRING,
    "lat": {"type": "string", "description": "WGS84 latitude, -90..90; with long, in the area served"},
    "long": {"type": "string", "description": "WGS84 longitude, -180..180; with lat, in the area served"},
    "address_string": _STRING,
    "address_id": _STRING,
    "email": _STRING,
    "device_id": _STRING,
    "account_id": _STRING,
    "first_name": _STRING,
    "last_name": _STRING,
    "phone": _STRING,
    "description": {"type": "string", "maxLength": 4000},
    "media_url": {"type": "string", "description": "http(s) URL of a photo"},
}
_POST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "Form fields per GeoReport v2; attribute[CODE]=value (attribute[CODE][]=value or "
        "attribute[CODE][0]=value for lists)."
    ),
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": _POST_FIELDS,
                "required": ["service_code"],
                "additionalProperties": {"type": "string"},
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {**_POST_FIELDS, "media": {"type": "string", "format": "binary"}},
                "required": ["service_code"],
            }
        },
    },
}


class XMLDocument(Response):
    media_type = "text/xml"


# GET requests/{id} reads these itself (see the route); they are documented here.
_GET_REQUEST_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "service_request_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": PRESENT_PATTERN},
    },
    {"name": "jurisdiction_id", "in": "query", "required": False, "schema": {"type": "string"}},
    {
        "name": "extensions",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "true adds the request's history (notes) and channel",
    },
]
# The response classes only document each route's media type in the OpenAPI description (the routes
# build their bodies themselves); without them every XML route would be described as JSON.
_DOCUMENT_CLASSES: dict[Format, type[Response]] = {"xml": XMLDocument, "json": JSONResponse}

_ERROR_LIST_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}


def _success(fmt: Format, schema: dict[str, Any], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The success answer's JSON Schema (openapi_schemas.py); XML documents are described as strings."""
    if fmt == "xml":
        return {}
    return {status: {"content": {"application/json": {"schema": schema}}}}


def _responses(
    fmt: Format, success: dict[str, Any] | None = None, status: int = 200
) -> dict[int | str, dict[str, Any]]:
    """The success answer (when given) and the error answers every GeoReport v2 route can give, in the
    route's own format."""
    if fmt == "xml":
        content = {"text/xml": {"schema": {"type": "string"}}}
    else:
        content = {"application/json": {"schema": _ERROR_LIST_SCHEMA}}
    error = {"description": "GeoReport v2 error list (code, description)", "content": content}
    documented: dict[int | str, dict[str, Any]] = dict.fromkeys((400, 403, 404, 413, 415), error)
    if success is not None:
        documented.update(_success(fmt, success, status))
    return documented
