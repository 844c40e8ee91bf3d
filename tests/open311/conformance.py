"""What a GeoReport v2 response must look like on the wire, checked the way a third-party client sees it.

Shared by the tests/open311/test_http_*.py conformance suite. Everything here reads real HTTP responses:
content types are parsed as media types, XML goes through real parsers (expat for the declaration, lxml
for the tree), dates through ``datetime.fromisoformat`` — never string matching on bodies.
"""

from __future__ import annotations

import io
import json
import xml.parsers.expat
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any, Literal

import httpx
from lxml import etree

from bot.config import Settings
from tests.support.live_server import live_server

Format = Literal["xml", "json"]
FORMATS: tuple[Format, ...] = ("xml", "json")

# The fields GET requests returns, in the spec's order (GeoReport v2, "GET Service Requests" response).
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
ATTRIBUTE_FIELDS = (
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
)
DATETIME_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}

# Signs that an exception escaped into a response body.
_STACK_TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.")


def media_type(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The Content-Type header parsed as a MIME media type: (type, lower-cased parameters)."""
    message = Message()
    message["content-type"] = response.headers.get("content-type", "")
    params = {key.lower(): value.lower() for key, value in message.get_params()[1:]}
    return message.get_content_type(), params


def assert_content_type(response: httpx.Response, fmt: Format) -> None:
    expected = "text/xml" if fmt == "xml" else "application/json"
    kind, params = media_type(response)
    assert kind == expected, f"{response.request.url}: content type {response.headers.get('content-type')!r}"
    assert params.get("charset") == "utf-8", f"{response.request.url}: no charset=utf-8 in content type"


def xml_declaration(body: bytes) -> tuple[str, str | None] | None:
    """(version, encoding) of the document's XML declaration as expat reports it, or None without one."""
    found: list[tuple[str, str | None]] = []
    parser = xml.parsers.expat.ParserCreate()
    parser.XmlDeclHandler = lambda version, encoding, standalone: found.append((version, encoding))
    parser.Parse(body, True)
    return found[0] if found else None


def parse_xml(response: httpx.Response, root: str) -> etree._Element:
    """The response as an XML tree, after checking content type, declaration, encoding and root element."""
    assert_content_type(response, "xml")
    declaration = xml_declaration(response.content)
    assert declaration is not None, f"{response.request.url}: XML without the <?xml ...?> declaration"
    version, encoding = declaration
    assert version == "1.0"
    assert (encoding or "").lower() == "utf-8", f"declared encoding {encoding!r}"
    tree = etree.fromstring(response.content, parser=etree.XMLParser(resolve_entities=False))
    assert tree.tag == root, f"{response.request.url}: root <{tree.tag}>, expected <{root}>"
    assert tree.nsmap == {}, "the spec's XML has no namespace declarations"
    return tree


def parse_json(response: httpx.Response) -> Any:
    assert_content_type(response, "json")
    return json.loads(response.content.decode("utf-8"))


def element_record(element: etree._Element) -> dict[str, Any]:
    """One <request>/<service>/... element as {child tag: text or list of nested records}."""
    record: dict[str, Any] = {}
    for child in element:
        if len(child):
            record[child.tag] = [element_record(grandchild) for grandchild in child]
        else:
            record[child.tag] = child.text
    return record


def xml_records(response: httpx.Response, root: str, item: str) -> list[dict[str, Any]]:
    tree = parse_xml(response, root)
    assert all(child.tag == item for child in tree), f"<{root}> holds only <{item}> elements"
    return [element_record(child) for child in tree]


def json_records(response: httpx.Response) -> list[dict[str, Any]]:
    body = parse_json(response)
    assert isinstance(body, list), "GeoReport v2 JSON lists are bare arrays"
    assert all(isinstance(item, dict) for item in body)
    return body


def records(response: httpx.Response, fmt: Format, root: str, item: str) -> list[dict[str, Any]]:
    return xml_records(response, root, item) if fmt == "xml" else json_records(response)


def request_records(response: httpx.Response, fmt: Format) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return records(response, fmt, "service_requests", "request")


def assert_w3c_datetime(value: Any, field: str) -> datetime:
    """A w3c datetime with a timezone (Z or an HH:MM offset), as the spec requires."""
    assert isinstance(value, str), f"{field} is {value!r}"
    assert "T" in value, f"{field}={value!r} is not a w3c datetime"
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{field}={value!r} carries no timezone"
    return parsed


@dataclass(frozen=True)
class ErrorBody:
    status: int
    errors: list[tuple[str, str]]

    @property
    def text(self) -> str:
        return " ".join(description for _, description in self.errors)


def assert_error(
    response: httpx.Response, status: int, fmt: Format, *mentions: str, any_of: bool = False
) -> ErrorBody:
    """The spec's error body (<errors><error><code/><description/></error></errors> or a JSON list of
    {code, description}) with the expected HTTP status; the descriptions must name ``mentions``
    (all of them, or at least one with ``any_of``) and carry no stack trace."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code}, expected {status}: "
        f"{response.text[:500]}"
    )
    entries = xml_records(response, "errors", "error") if fmt == "xml" else json_records(response)
    assert entries, "an error response holds at least one error"
    errors: list[tuple[str, str]] = []
    for entry in entries:
        assert set(entry) == {"code", "description"}, f"error fields {sorted(entry)}"
        code, description = entry["code"], entry["description"]
        assert str(code or "").strip(), "every error has a code"
        if fmt == "json":
            assert isinstance(code, int | str)
            assert isinstance(description, str)
        assert str(description or "").strip(), "every error has a human-readable description"
        errors.append((str(code), description))
    body = ErrorBody(status, errors)
    assert_no_stack_trace(response)
    if mentions:
        found = [word for word in mentions if word.lower() in body.text.lower()]
        if any_of:
            assert found, f"no error names any of {mentions}: {body.text!r}"
        else:
            assert found == list(mentions), f"errors should name {mentions}: {body.text!r}"
    return body


def assert_no_stack_trace(response: httpx.Response) -> None:
    text = response.content.decode("utf-8", errors="replace")
    for marker in _STACK_TRACE_MARKERS:
        assert marker not in text, f"a stack trace leaked into the response: {text[:800]}"


DEFAULT_SERVICE_CODES = {
    "street_cleaning",
    "illegal_dumping",
    "missed_collection",
    "graffiti",
    "pothole",
    "sidewalk",
    "streetlight",
    "traffic_signal_sign",
    "abandoned_vehicle",
    "illegal_parking",
    "tree",
    "encampment",
    "noise",
    "water_sewer",
    "snow_ice",
    "pests",
}


# A catalog with one attribute of every datatype, a batch service and a plain one, so that every rule of
# a service definition can be exercised; the bundled default catalog is checked on its own.
CONFORMANCE_CATALOG = """
name = "conformance"

[[services]]
code = "graffiti"
name = "Graffiti"
description = "Paint, tags or stickers on a public surface."
group = "cleanliness"
keywords = ["graffiti", "tag", "paint"]
agency_responsible = "Public Works"
service_notice = "Crews remove offensive graffiti within 48 hours."

[[services.attributes]]
code = "SURFACE"
datatype = "singlevaluelist"
description = "What is the graffiti on?"
required = true
values = [{ key = "wall", name = "A wall" }, { key = "bridge", name = "A bridge" }]

[[services.attributes]]
code = "COLOURS"
datatype = "multivaluelist"
description = "Which colours?"
values = [{ key = "red", name = "Red" }, { key = "blue", name = "Blue" }, { key = "black", name = "Black" }]

[[services.attributes]]
code = "COUNT"
datatype = "number"
description = "How many tags?"

[[services.attributes]]
code = "SEEN"
datatype = "datetime"
description = "When did you first see it?"

[[services.attributes]]
code = "PLATE"
datatype = "string"
description = "Nearest pole number"

[[services.attributes]]
code = "NOTES"
datatype = "text"
description = "Anything else?"

# The spec lets an attribute code be any identifier; this one is not an XML element name.
[[services.attributes]]
code = "311_REF"
datatype = "string"
description = "A reference from an earlier call to 311"

[[services]]
code = "bulk_pickup"
name = "Bulk item pickup"
description = "Book a pickup of furniture or appliances; a dispatcher confirms it."
group = "sanitation"
keywords = ["bulk", "furniture"]
type = "batch"

[[services]]
code = "pothole"
name = "Pothole"
description = "A hole in the road surface."
group = "streets"
keywords = ["pothole"]
"""


def catalog_overrides(tmp_path: Path, **open311: Any) -> dict[str, Any]:
    """Settings overrides serving CONFORMANCE_CATALOG (plus any other ``open311`` settings)."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CONFORMANCE_CATALOG, encoding="utf-8")
    return {"open311": {"catalog_file": catalog, **open311}}


@dataclass
class Deployment:
    """One running deployment: the real app on a real uvicorn server, and an HTTP client for it."""

    root: str
    settings: Settings
    app: Any
    http: httpx.Client

    @property
    def base(self) -> str:
        return self.root + self.settings.open311.base_path.rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def get(self, path: str, params: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url(path), params=params, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(self.url(path), **kwargs)


@contextmanager
def deployment(data_dir: Path, database_url: str, **overrides: Any) -> Iterator[Deployment]:
    """Builds settings like the suite's ``settings`` fixture (plus ``overrides``) and serves the app."""
    from bot.app import create_app
    from tests.conftest import make_settings

    data_dir.mkdir(parents=True, exist_ok=True)
    settings = make_settings(data_dir, database_url, **overrides)
    app = create_app(settings)
    with live_server(app) as root, httpx.Client(timeout=30.0) as http:
        yield Deployment(root=root, settings=settings, app=app, http=http)


def run_cli(api: Deployment, *args: str) -> str:
    """Runs ``open311-bot --config FILE ARGS...`` in-process against the deployment's database and data
    directory (the real command-line entry point, argument parsing included); returns what it printed."""
    from bot.cli import main

    config = api.settings.data_dir / "cli.toml"
    config.write_text(
        f"data_dir = {json.dumps(str(api.settings.data_dir))}\n"
        f"database_url = {json.dumps(api.settings.effective_database_url)}\n"
        "[jobs]\nenabled = false\n",
        encoding="utf-8",
    )
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(["--config", str(config), *args])
    assert code == 0, f"open311-bot {' '.join(args)} exited with {code}: {printed.getvalue()}"
    return printed.getvalue()


def create_key(api: Deployment, name: str) -> str:
    """A new API key for application ``name``, as ``open311-bot keys create NAME`` prints it."""
    key = run_cli(api, "keys", "create", name).strip().splitlines()[-1].strip()
    assert key, "keys create prints the key on its last line"
    assert " " not in key, f"the last line is the key alone: {key!r}"
    return key


def revoke_key(api: Deployment, name: str) -> None:
    run_cli(api, "keys", "revoke", name)


def insert_requests(api: Deployment, rows: list[dict[str, Any]]) -> list[str]:
    """Writes service requests straight into the deployment's database (bulk, for backdated or
    numerous fixtures an HTTP client could not create); returns their ids in order."""
    from sqlalchemy import create_engine, insert

    from bot.open311.models import ServiceRequestRow

    now = datetime.now(UTC)
    defaults: dict[str, Any] = {
        "jurisdiction_id": api.settings.open311.jurisdictions[0],
        "service_code": "pothole",
        "service_name": "Pothole",
        "status": "open",
        "requested_datetime": now,
        "updated_datetime": now,
        "channel": "api",
        "attributes": {},
    }
    full_rows = [{**defaults, "updated_datetime": row.get("requested_datetime", now), **row} for row in rows]
    # An executemany INSERT takes its columns from the first row: give every row the same keys.
    columns = {name for row in full_rows for name in row}
    full_rows = [{name: row.get(name) for name in columns} for row in full_rows]
    engine = create_engine(api.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            inserted = conn.execute(
                insert(ServiceRequestRow).returning(ServiceRequestRow.id, sort_by_parameter_order=True),
                full_rows,
            )
            ids = [str(row_id) for row_id in inserted.scalars()]
    finally:
        engine.dispose()
    return ids


def assert_same_records(from_xml: list[dict[str, Any]], from_json: list[dict[str, Any]]) -> None:
    """The XML and JSON documents of one query say the same thing (the spec's JSON is the Spark-convention
    mapping of its XML): same records, same fields, same values, null as an empty element."""
    assert len(from_xml) == len(from_json)
    for as_xml, as_json in zip(from_xml, from_json, strict=True):
        assert set(as_xml) == set(as_json), f"fields differ: {sorted(set(as_xml) ^ set(as_json))}"
        for field, value in as_json.items():
            if isinstance(value, bool):
                assert as_xml[field] == str(value).lower(), field
            elif isinstance(value, float):
                assert float(as_xml[field]) == value, field
            elif isinstance(value, list | dict):
                continue  # nested extension structures: compared by the tests that use them
            elif value is None or value == "":
                assert as_xml[field] in (None, ""), field
            else:
                assert as_xml[field] == str(value), f"{field}: XML {as_xml[field]!r}, JSON {value!r}"
