"""POST requests over real HTTP: what a third-party app sends, what it gets back, what is refused.

The deployment serves the conformance catalog (conformance.py), with one attribute of every
datatype, so every validation rule of a service definition is exercised; the default catalog is
checked by test_http_services.py.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from tests.open311.conformance import (
    FORMATS,
    REQUEST_FIELDS,
    Deployment,
    Format,
    assert_error,
    assert_same_records,
    assert_w3c_datetime,
    catalog_overrides,
    create_key,
    deployment,
    insert_requests,
    json_records,
    parse_json,
    records,
    request_records,
    revoke_key,
)
from tests.support.photos import (
    assert_published_without_metadata,
    iphone_mpo_with_metadata,
    photo_with_metadata,
)

FORMATS_OF_PHOTOS = ("image/jpeg", "image/png", "image/gif", "image/webp")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
PERSONAL_FIELDS = ("email", "phone", "first_name", "last_name", "device_id")


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url, **catalog_overrides(tmp_path)) as running:
        yield running


@pytest.fixture
def key(api: Deployment) -> str:
    return create_key(api, "conformance-suite")


def _graffiti(key: str, **extra: str) -> dict[str, str]:
    form = {
        "api_key": key,
        "service_code": "graffiti",
        "lat": "37.7749",
        "long": "-122.4194",
        "attribute[SURFACE]": "wall",
    }
    form.update(extra)
    return form


def _request_count(api: Deployment) -> int:
    return len(request_records(api.get("requests.json"), "json"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_posted_request_comes_back_from_get_exactly_as_the_spec_names_it(
    api: Deployment, key: str, fmt: Format
) -> None:
    before = datetime.now(UTC)
    form = _graffiti(
        key,
        address_string="1 Dr Carlton B Goodlett Pl, San Francisco",
        address_id="SF-0042",
        email="resident@example.org",
        device_id="device-7",
        account_id="acct-9",
        first_name="Ana",
        last_name="Díaz",
        phone="+14155550100",
        description="Tags on the wall by the bus stop.\nSecond line — and ünïcode.",
        media_url="https://photos.example.org/p/1.jpg",
    )
    response = api.post(f"requests.{fmt}", data=form)
    # 200, as the GeoReport v2 servers clients were written against answer (San Francisco, Toronto):
    # clients checking == 200 (open311-android #22, open311-ios #101, for Chicago's 201) took a 201 for
    # a failed filing, and may file it again.
    assert response.status_code == 200, response.text
    created = records(response, fmt, "service_requests", "request")
    assert len(created) == 1, "POST answers with a list of one request"
    assert created[0].get("service_request_id"), created[0]
    assert "token" not in created[0], "a realtime service returns an id, never a token"
    assert set(created[0]) <= {"service_request_id", "service_notice", "account_id"}
    assert created[0].get("service_notice") == "Crews remove offensive graffiti within 48 hours."
    request_id = str(created[0]["service_request_id"])

    assert_same_records(
        request_records(api.get(f"requests/{request_id}.xml"), "xml"),
        request_records(api.get(f"requests/{request_id}.json"), "json"),
    )
    for out in FORMATS:
        found = request_records(api.get(f"requests/{request_id}.{out}"), out)
        assert len(found) == 1, "GET requests/{id} is a list of one in both formats"
        request = found[0]
        assert set(request) == set(REQUEST_FIELDS), f"fields {sorted(request)}"
        assert not set(request) & set(PERSONAL_FIELDS), "residents' contact details are never published"
        assert str(request["service_request_id"]) == request_id
        assert request["status"] == "open"
        assert request["service_code"] == "graffiti"
        assert request["service_name"] == "Graffiti"
        assert request["description"] == form["description"]
        assert request["address"] == form["address_string"]
        assert str(request["address_id"]) == "SF-0042"
        assert request["agency_responsible"] == "Public Works"
        assert request["media_url"] == form["media_url"]
        assert float(request["lat"]) == pytest.approx(37.7749)
        assert float(request["long"]) == pytest.approx(-122.4194)
        if out == "json":
            assert isinstance(request["lat"], float)
            assert isinstance(request["long"], float)
        requested = assert_w3c_datetime(request["requested_datetime"], "requested_datetime")
        assert before - timedelta(seconds=5) <= requested <= datetime.now(UTC) + timedelta(seconds=5)
        assert_w3c_datetime(request["updated_datetime"], "updated_datetime")


def test_lenient_form_parsing_as_real_clients_send_it(api: Deployment, key: str) -> None:
    jurisdiction = api.settings.open311.jurisdictions[0]
    url = api.url("requests.json")
    form_type = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}

    def post_raw(body: str, query: dict[str, str] | None = None) -> str:
        response = api.http.post(url, params=query, content=body.encode("utf-8"), headers=form_type)
        assert response.status_code in (200, 201), f"{body!r}: {response.text}"
        return str(json_records(response)[0]["service_request_id"])

    base = f"service_code=graffiti&lat=37.77&long=-122.41&api_key={quote(key)}"
    # attribute[CODE] raw, percent-encoded, and multivaluelist values as attribute[CODE][].
    post_raw(base + "&attribute[SURFACE]=wall")
    post_raw(base + "&attribute%5BSURFACE%5D=bridge")
    post_raw(base + "&attribute[SURFACE]=wall&attribute[COLOURS][]=red&attribute%5BCOLOURS%5D%5B%5D=blue")
    # An empty parameter is an absent one; values are trimmed where the spec has lists.
    post_raw(base + "&attribute[SURFACE]=wall&address_string=&email=&media_url=&attribute[COUNT]=")
    # api_key and jurisdiction_id in the query string instead of the body.
    without_key = "service_code=pothole&address_string=Market+%26+5th"
    post_raw(without_key, query={"api_key": key, "jurisdiction_id": jurisdiction})
    post_raw(without_key + f"&jurisdiction_id={jurisdiction}", query={"api_key": key})
    # A location may be an address_id alone.
    post_raw(f"service_code=pothole&address_id=SF-77&api_key={quote(key)}")

    # The attribute keys really were read: a wrong value under either spelling is refused by name.
    for spelling in ("attribute[SURFACE]", "attribute%5BSURFACE%5D"):
        response = api.http.post(url, content=f"{base}&{spelling}=moon".encode(), headers=form_type)
        assert_error(response, 400, "json", "SURFACE")
    response = api.http.post(
        url, content=f"{base}&attribute[SURFACE]=wall&attribute[COLOURS][]=purple".encode(), headers=form_type
    )
    assert_error(response, 400, "json", "COLOURS")


# (form changes, status, words the error must name — any one of them)
INVALID_POSTS: list[tuple[str, dict[str, str | None], int, tuple[str, ...]]] = [
    ("no service_code", {"service_code": None}, 400, ("service_code",)),
    ("unknown service_code", {"service_code": "no_such_service"}, 404, ("service_code", "no_such_service")),
    ("no location", {"lat": None, "long": None}, 400, ("lat", "address_string", "address_id")),
    ("lat without long", {"long": None}, 400, ("long",)),
    ("long without lat", {"lat": None}, 400, ("lat",)),
    ("lat above 90", {"lat": "90.5"}, 400, ("lat",)),
    ("lat below -90", {"lat": "-91"}, 400, ("lat",)),
    ("long above 180", {"long": "180.01"}, 400, ("long",)),
    ("long below -180", {"long": "-181"}, 400, ("long",)),
    ("lat not a number", {"lat": "north"}, 400, ("lat",)),
    ("lat NaN", {"lat": "NaN"}, 400, ("lat",)),
    ("long infinite", {"long": "inf"}, 400, ("long",)),
    ("lat absurdly large", {"lat": "1e400"}, 400, ("lat",)),
    ("required attribute missing", {"attribute[SURFACE]": None}, 400, ("SURFACE",)),
    ("key not in the value list", {"attribute[SURFACE]": "moon"}, 400, ("SURFACE",)),
    ("multivaluelist key not in the list", {"attribute[COLOURS][]": "purple"}, 400, ("COLOURS",)),
    ("number that is not a number", {"attribute[COUNT]": "lots"}, 400, ("COUNT",)),
    # float() reads these; a form's number is a plain decimal.
    ("number with an underscore", {"attribute[COUNT]": "1_000"}, 400, ("COUNT",)),
    ("number in other digits", {"attribute[COUNT]": "\u0663"}, 400, ("COUNT",)),
    ("lat with an underscore", {"lat": "3_7"}, 400, ("lat",)),
    # Malformed attribute keys are named, not silently dropped.
    ("attribute without a code", {"attribute[]": "x"}, 400, ("attribute[]",)),
    ("attribute without brackets", {"attribute": "x"}, 400, ("attribute",)),
    ("attribute nested twice", {"attribute[SURFACE][foo]": "wall"}, 400, ("attribute[SURFACE][foo]",)),
    ("attribute bracket left open", {"attribute[SURFACE": "wall"}, 400, ("attribute[SURFACE",)),
    ("datetime that is not a datetime", {"attribute[SEEN]": "last tuesday"}, 400, ("SEEN",)),
    ("media_url with ftp scheme", {"media_url": "ftp://example.org/a.jpg"}, 400, ("media_url",)),
    ("media_url javascript", {"media_url": "javascript:alert(1)"}, 400, ("media_url",)),
    ("media_url not a URL", {"media_url": "my photo"}, 400, ("media_url",)),
    ("description over 4000 characters", {"description": "x" * 4001}, 400, ("description",)),
]


@pytest.mark.parametrize(
    ("changes", "status", "mentions"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID_POSTS],
)
def test_invalid_post_is_refused_by_field_and_writes_nothing(
    api: Deployment, key: str, changes: dict[str, str | None], status: int, mentions: tuple[str, ...]
) -> None:
    form: dict[str, str] = _graffiti(key)
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    for fmt in FORMATS:
        body = assert_error(api.post(f"requests.{fmt}", data=form), status, fmt, *mentions, any_of=True)
        assert len(body.errors) == 1, f"one problem is one error: {body.errors}"
    assert _request_count(api) == 0, "a refused request leaves nothing behind"


# Independent problems of one form, each with the start of its error, in the order they come back: the
# spec's parameter list (lat ... media_url), the service definition's attributes in its order (SURFACE
# before COUNT), then codes the service does not have and malformed attribute keys.
SEVERAL_PROBLEMS: dict[str, tuple[str, str]] = {
    "attribute[NOPE]": ("x", "attribute[NOPE] is not an attribute"),
    "attribute[COUNT]": ("lots", "attribute[COUNT] must be a plain decimal"),
    "attribute[SURFACE]": ("moon", "attribute[SURFACE]: 'moon' is not one of its value keys"),
    "media_url": ("ftp://example.org/a.jpg", "media_url must be an http(s) URL"),
    "description": ("x" * 4001, "description is longer than 4000 characters"),
    "email": ("not-an-email", "email is not an email address"),
    "lat": ("abc", "lat must be a plain decimal number"),
    "attribute[]": ("x", "'attribute[]' is not an attribute key"),
}
SEVERAL_PROBLEMS_ORDER = (
    *("lat", "email", "description", "media_url"),
    *("attribute[SURFACE]", "attribute[COUNT]", "attribute[NOPE]", "attribute[]"),
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_independent_problem_of_a_post_comes_back_at_once_in_a_stable_order(
    api: Deployment, key: str, fmt: Format
) -> None:
    form = _graffiti(key, **{name: value for name, (value, _) in SEVERAL_PROBLEMS.items()})
    body = assert_error(api.post(f"requests.{fmt}", data=form), 400, fmt)
    assert [code for code, _ in body.errors] == ["400"] * len(SEVERAL_PROBLEMS), body.errors
    for (_, description), name in zip(body.errors, SEVERAL_PROBLEMS_ORDER, strict=True):
        assert description.startswith(SEVERAL_PROBLEMS[name][1]), (name, body.errors)

    # A missing required attribute, a location out of range, a text too long; an upload that is no image.
    form = _graffiti(key, long="-181", phone="5" * 65)
    del form["attribute[SURFACE]"]
    errors = assert_error(api.post(f"requests.{fmt}", data=form), 400, fmt).errors
    assert [description.split(" ")[0] for _, description in errors] == ["long", "phone", "attribute[SURFACE]"]
    not_an_image = {"media": ("notes.txt", b"just some text, not an image", "text/plain")}
    upload = api.post(f"requests.{fmt}", data=_graffiti(key, lat="north"), files=not_an_image)
    assert [d.split(" ")[0] for _, d in assert_error(upload, 400, fmt).errors] == ["lat", "media"]

    # What gates the rest still comes alone: the key (even before the upload), then the service.
    bad_key = {**_graffiti("wrong"), **{name: value for name, (value, _) in SEVERAL_PROBLEMS.items()}}
    assert len(assert_error(api.post(f"requests.{fmt}", data=bad_key), 403, fmt, "api_key").errors) == 1
    refused = api.post(f"requests.{fmt}", data=_graffiti("wrong", lat="north"), files=not_an_image)
    assert len(assert_error(refused, 403, fmt, "api_key").errors) == 1
    unknown = api.post(f"requests.{fmt}", data={**form, "service_code": "no_such_service", "email": "x"})
    assert len(assert_error(unknown, 404, fmt, "service_code").errors) == 1
    assert _request_count(api) == 0, "a refused request leaves nothing behind"


def test_informational_attributes_are_accepted_and_not_stored(tmp_path: Path, database_url: str) -> None:
    with deployment(tmp_path / "data", database_url) as api:  # the bundled catalog
        definition = api.get("services/encampment.json").json()
        notice = next(a for a in definition["attributes"] if a["code"] == "emergency_notice")
        assert notice["variable"] is False
        form = {
            "api_key": create_key(api, "echoing-client"),
            "service_code": "encampment",
            "address_string": "Civic Center Plaza",
            "attribute[emergency_notice]": "hello",
            "attribute[people_count]": "3",
        }
        filed = api.post("requests.json", data=form)
        assert filed.status_code == 200, filed.text
        request_id = filed.json()[0]["service_request_id"]
        stored = json_records(api.get(f"requests/{request_id}.json", params={"extensions": "true"}))[0]
        answers = {entry["code"]: entry["value"] for entry in stored["extended_attributes"]["attributes"]}
        assert answers == {"people_count": "3"}, "the notice is the city's text, not the resident's answer"


def test_offsets_without_a_colon_and_datetime_attributes_as_iso_8601_dates(api: Deployment, key: str) -> None:
    # Java's SimpleDateFormat "Z" writes +0000 / -0500 (ISO 8601's offset without a colon): before, every
    # such start_date, end_date and datetime attribute was a 400.
    now = datetime.now(UTC).replace(microsecond=0)
    filed = api.post("requests.json", data=_graffiti(key, **{"attribute[SEEN]": "2026-11-27T00:00:00+0000"}))
    assert filed.status_code == 200, filed.text
    request_id = str(json_records(filed)[0]["service_request_id"])
    since = now - timedelta(hours=1)
    for fmt in FORMATS:
        for start in (
            since.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            (since - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-0500"),
        ):
            end = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
            found = request_records(api.get(f"requests.{fmt}", {"start_date": start, "end_date": end}), fmt)
            assert [str(r["service_request_id"]) for r in found] == [request_id], (start, end)
        # A "+" sent without percent-encoding arrives as a space, with or without the colon.
        raw = api.http.get(
            api.url(f"requests.{fmt}") + "?start_date=" + since.strftime("%Y-%m-%dT%H:%M:%S+0000")
        )
        assert [str(r["service_request_id"]) for r in request_records(raw, fmt)] == [request_id]
        # The spec's w3c format for start_date and end_date has a timezone: none is still a 400.
        zoneless = api.get(f"requests.{fmt}", {"start_date": since.strftime("%Y-%m-%dT%H:%M:%S")})
        assert_error(zoneless, 400, fmt, "start_date", "timezone")
        assert_error(
            api.get(f"requests.{fmt}", {"end_date": "2026-11-27T00:00:00+2500"}), 400, fmt, "end_date"
        )
    # A datetime attribute "must be able to transform into a valid ISO 8601 date" (the spec's datatype
    # table): a date alone and a local time without an offset are, as is any offset.
    for seen in ("2026-11-27", "2026-11-27T07:00", "2026-11-27T07:00:00-0500", "2026-11-27T07:00:00.5Z"):
        answered = api.post("requests.xml", data=_graffiti(key, **{"attribute[SEEN]": seen}))
        assert answered.status_code == 200, f"{seen}: {answered.text}"
        request_id = str(records(answered, "xml", "service_requests", "request")[0]["service_request_id"])
        stored = request_records(api.get(f"requests/{request_id}.json", {"extensions": "true"}), "json")[0]
        answers = {entry["code"]: entry["value"] for entry in stored["extended_attributes"]["attributes"]}
        assert answers["SEEN"] == seen, "the answer is kept as the resident's app wrote it"
    for wrong in ("last tuesday", "2026-13-01", "2026-11-27T25:00", "2026-11-27T07:00+2500", "27/11/2026"):
        refused = api.post("requests.json", data=_graffiti(key, **{"attribute[SEEN]": wrong}))
        assert_error(refused, 400, "json", "attribute[SEEN]")


@pytest.mark.parametrize("fmt", FORMATS)
def test_errors_are_plain_short_and_the_key_comes_first(api: Deployment, key: str, fmt: Format) -> None:
    # A huge bad value is named, not echoed back in full.
    refused = api.post(f"requests.{fmt}", data=_graffiti(key, **{"attribute[SURFACE]": "m" * 100_000}))
    body = assert_error(refused, 400, fmt, "SURFACE", "m" * 80 + "…")
    assert len(body.text) < 400, body.text[:500]
    # No key: 403 before anything about the submission, even when service_code is only in the query.
    no_key = api.post(f"requests.{fmt}", params={"service_code": "pothole"}, data={"lat": "37.7"})
    assert_error(no_key, 403, fmt, "api_key")
    assert_error(api.post(f"requests.{fmt}", data={"api_key": "wrong", "lat": "north"}), 403, fmt, "api_key")
    assert_error(api.post(f"requests.{fmt}", data={"api_key": "wrong", "attribute[]": "x"}), 403, fmt)
    # A date a person mistyped gets a sentence for a person, not Python's internals.
    url = api.url(f"requests.{fmt}")
    for query, words in (
        ("start_date=2026-11-27T07:00:00%2B25:00", ("start_date", "offset", "+25:00")),
        ("end_date=2026-02-30T07:00:00Z", ("end_date", "calendar")),
    ):
        text = assert_error(api.http.get(f"{url}?{query}"), 400, fmt, *words).text
        assert "timedelta" not in text
        assert "out of range for month" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_api_key_missing_invalid_or_revoked_is_403(api: Deployment, fmt: Format) -> None:
    key = create_key(api, "revoked-app")
    form = _graffiti(key)
    accepted = api.post(f"requests.{fmt}", data=form)
    assert accepted.status_code in (200, 201), accepted.text

    assert_error(api.post(f"requests.{fmt}", data={**form, "api_key": ""}), 403, fmt, "api_key")
    no_key = {name: value for name, value in form.items() if name != "api_key"}
    assert_error(api.post(f"requests.{fmt}", data=no_key), 403, fmt, "api_key")
    assert_error(api.post(f"requests.{fmt}", data={**form, "api_key": key + "x"}), 403, fmt, "api_key")
    revoke_key(api, "revoked-app")
    assert_error(api.post(f"requests.{fmt}", data=form), 403, fmt, "api_key")
    assert _request_count(api) == 1, "only the request made with a valid key exists"


@pytest.mark.parametrize("fmt", FORMATS)
def test_batch_service_returns_a_token_that_resolves_later(
    tmp_path: Path, database_url: str, fmt: Format
) -> None:
    overrides = catalog_overrides(tmp_path, batch_acceptance="auto", batch_accept_delay_seconds=0.5)
    overrides["jobs"] = {"enabled": True, "batch_accept_seconds": 0.2}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "batch-client")
        response = api.post(
            f"requests.{fmt}",
            data={"api_key": key, "service_code": "bulk_pickup", "address_string": "100 Van Ness Ave"},
        )
        assert response.status_code in (200, 201), response.text
        created = records(response, fmt, "service_requests", "request")
        assert len(created) == 1
        token = created[0].get("token")
        assert token, f"a batch service answers with a token: {created[0]}"
        assert not created[0].get("service_request_id"), "a token is returned instead of an id, not with one"

        request_id = _poll_token(api, str(token), fmt, timeout=20.0)
        found = request_records(api.get(f"requests/{request_id}.{fmt}"), fmt)
        assert found[0]["service_code"] == "bulk_pickup"
        assert found[0]["address"] == "100 Van Ness Ave"
        assert_error(api.get(f"tokens/no-such-token.{fmt}"), 404, fmt, "token")


def _poll_token(api: Deployment, token: str, fmt: Format, timeout: float) -> str:
    """Polls GET tokens/{token} as a client would until the request id appears (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"tokens/{token}.{fmt}")
        assert response.status_code == 200, response.text
        entries = records(response, fmt, "service_requests", "request")
        assert len(entries) == 1
        assert str(entries[0]["token"]) == token
        request_id = entries[0].get("service_request_id")
        if request_id:
            return str(request_id)
        assert time.monotonic() < deadline, f"token {token} was not accepted within {timeout} s"
        time.sleep(0.2)


def test_multipart_media_is_stored_checked_and_served_from_our_url(tmp_path: Path, database_url: str) -> None:
    overrides = catalog_overrides(tmp_path, media_max_bytes=4096)
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "photo-app")
        form = _graffiti(key)
        response = api.post("requests.json", data=form, files={"media": ("wall.png", PNG, "image/png")})
        assert response.status_code in (200, 201), response.text
        request_id = str(json_records(response)[0]["service_request_id"])
        media_url = request_records(api.get(f"requests/{request_id}.json"), "json")[0]["media_url"]
        assert media_url, "the uploaded file is given back as media_url"
        public = api.settings.server.public_url.rstrip("/")
        assert media_url.startswith(public + "/"), f"{media_url} is served from our own URL ({public})"
        served = api.http.get(api.root + media_url[len(public) :])
        assert served.status_code == 200
        with Image.open(io.BytesIO(served.content)) as image, Image.open(io.BytesIO(PNG)) as sent:
            assert image.format == "PNG"
            assert (image.mode, image.tobytes()) == (sent.mode, sent.tobytes()), "the picture, losslessly"
        assert served.headers["content-type"].split(";")[0] == "image/png"

        # Wrong type (by what the bytes are, whatever the client claims) and too large: refused by name.
        for files in (
            {"media": ("notes.txt", b"just some text, not an image", "text/plain")},
            {"media": ("fake.png", b"MZ\x90\x00 an executable pretending", "image/png")},
            {"media": ("big.png", PNG + b"\x00" * 5000, "image/png")},
        ):
            for fmt in FORMATS:
                assert_error(api.post(f"requests.{fmt}", data=form, files=files), 400, fmt, "media")
        assert _request_count(api) == 1, "refused uploads leave no request behind"


def test_photo_links_follow_the_address_the_server_answers_at_now(tmp_path: Path, database_url: str) -> None:
    # Before, media_url kept the host and port of the upload: after a restart on another address (or
    # public_url set later) every earlier photo's link was dead, while discovery showed the new address.
    data_dir = tmp_path / "data"
    old_address = {"server": {"public_url": "http://10.0.0.7:8080"}}
    with deployment(data_dir, database_url, **catalog_overrides(tmp_path), **old_address) as api:
        key = create_key(api, "photo-app")
        response = api.post(
            "requests.json", data=_graffiti(key), files={"media": ("wall.png", PNG, "image/png")}
        )
        uploaded = str(json_records(response)[0]["service_request_id"])
        given = "https://photos.example.org/open311/v2/media/AAAAAAAAAAAAAAAAAAAAAAAA.jpg"
        response = api.post("requests.json", data=_graffiti(key, media_url=given))
        external = str(json_records(response)[0]["service_request_id"])
        old_url = request_records(api.get(f"requests/{uploaded}.json"), "json")[0]["media_url"]
        assert old_url.startswith("http://10.0.0.7:8080/open311/v2/media/")
        name = old_url.rsplit("/", 1)[1]
        # A photo a resident sent the bot, listed at the end of a description as the bot lists more
        # photos, stored with the old address by an earlier release.
        (data_dir / "media" / "BBBBBBBBBBBBBBBBBBBBBBBB.png").write_bytes(PNG)
        more = (
            "Tagged wall\n\nMore photos: http://10.0.0.7:8080/open311/v2/media/BBBBBBBBBBBBBBBBBBBBBBBB.png"
        )
        (listed,) = insert_requests(api, [{"description": more, "media_url": old_url}])

    new_address = {"server": {"public_url": "https://311.example.gov"}}
    with deployment(data_dir, database_url, **catalog_overrides(tmp_path), **new_address) as api:
        endpoint = parse_json(api.get("discovery.json"))["endpoints"][0]["url"]
        assert endpoint == "https://311.example.gov/open311/v2"
        for fmt in FORMATS:
            by_id = {r["service_request_id"]: r for r in request_records(api.get(f"requests.{fmt}"), fmt)}
            assert by_id[uploaded]["media_url"] == f"{endpoint}/media/{name}"
            assert by_id[external]["media_url"] == given, "a client's media_url is published as given"
            assert by_id[listed]["media_url"] == f"{endpoint}/media/{name}"
            assert by_id[listed]["description"].endswith(
                f"More photos: {endpoint}/media/BBBBBBBBBBBBBBBBBBBBBBBB.png"
            )
            one = request_records(api.get(f"requests/{uploaded}.{fmt}"), fmt)[0]
            assert one["media_url"] == f"{endpoint}/media/{name}"
        # The link names a file this server serves.
        served = api.http.get(api.root + f"/open311/v2/media/{name}")
        assert served.status_code == 200
        assert served.content.startswith(b"\x89PNG")


def test_an_uploaded_photo_is_published_without_its_metadata(tmp_path: Path, database_url: str) -> None:
    # Before, the file served was the upload byte for byte: the GPS position the phone recorded (a photo
    # taken at home gives the home away), the camera and the owner's name, to anyone with the URL.
    with deployment(tmp_path / "data", database_url, **catalog_overrides(tmp_path)) as api:
        key = create_key(api, "photo-app")
        public = api.settings.server.public_url.rstrip("/")
        photos = [(media_type, photo_with_metadata(media_type)) for media_type in FORMATS_OF_PHOTOS]
        for media_type, photo in [*photos, ("image/jpeg", iphone_mpo_with_metadata())]:
            files = {"media": (f"photo.{media_type.split('/')[1]}", photo, media_type)}
            response = api.post("requests.json", data=_graffiti(key), files=files)
            assert response.status_code in (200, 201), response.text
            request_id = str(json_records(response)[0]["service_request_id"])
            media_url = request_records(api.get(f"requests/{request_id}.json"), "json")[0]["media_url"]
            served = api.http.get(api.root + media_url[len(public) :])
            assert served.status_code == 200
            assert served.headers["content-type"].split(";")[0] == media_type
            assert_published_without_metadata(served.content, media_type)
            stored = api.settings.data_dir / "media" / media_url.rsplit("/", 1)[1]
            assert stored.read_bytes() == served.content, "the copy on disk has no metadata either"


def test_a_photo_that_does_not_decode_is_stored_as_received(tmp_path: Path, database_url: str) -> None:
    # Only its first bytes are a JPEG's: accepted and served as it came, as before (nothing to re-encode).
    broken = b"\xff\xd8\xff\xe0" + b"JFIF-not-really" * 20
    with deployment(tmp_path / "data", database_url, **catalog_overrides(tmp_path)) as api:
        key = create_key(api, "photo-app")
        files = {"media": ("broken.jpg", broken, "image/jpeg")}
        response = api.post("requests.json", data=_graffiti(key), files=files)
        assert response.status_code in (200, 201), response.text
        request_id = str(json_records(response)[0]["service_request_id"])
        media_url = request_records(api.get(f"requests/{request_id}.json"), "json")[0]["media_url"]
        public = api.settings.server.public_url.rstrip("/")
        assert api.http.get(api.root + media_url[len(public) :]).content == broken


def test_sandbox_needs_no_key_serves_fixed_cases_and_leaves_production_alone(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    with deployment(data_dir, database_url) as production:
        key = create_key(production, "city-app")
        filed = production.post(
            "requests.json",
            data={"api_key": key, "service_code": "pothole", "lat": "37.77", "long": "-122.41"},
        )
        assert filed.status_code in (200, 201), filed.text
        production_ids = {
            r["service_request_id"] for r in request_records(production.get("requests.json"), "json")
        }
        assert len(production_ids) == 1

    with deployment(data_dir, database_url, open311={"sandbox": True}) as sandbox:
        cases = request_records(sandbox.get("requests.json"), "json")
        codes = {case["service_code"] for case in cases}
        assert {"pothole", "graffiti"} <= codes, f"fixed pothole and graffiti cases: {codes}"
        assert not {case["service_request_id"] for case in cases} & production_ids, "no production data"
        for fmt in FORMATS:
            response = sandbox.post(
                f"requests.{fmt}",
                data={"service_code": "pothole", "lat": "37.77", "long": "-122.41", "description": "sandbox"},
            )
            assert response.status_code in (200, 201), f"sandbox POST needs no key: {response.text}"
            created = records(response, fmt, "service_requests", "request")
            assert created[0].get("service_request_id") or created[0].get("token")
        # The sandbox's answers are as fixed as its cases: the same query gives the same cases.
        again = request_records(sandbox.get("requests.json"), "json")
        assert {c["service_request_id"] for c in cases} <= {c["service_request_id"] for c in again}
        sandbox_case = cases[0]["service_request_id"]
        assert request_records(sandbox.get(f"requests/{sandbox_case}.xml"), "xml")

    with deployment(data_dir, database_url) as production:
        after = request_records(production.get("requests.json"), "json")
        assert {r["service_request_id"] for r in after} == production_ids, "the sandbox wrote nothing here"
        assert all(r["description"] != "sandbox" for r in after)
        if after:
            assert_error(
                production.get(f"requests/{sandbox_case}.json"), 404, "json", sandbox_case, any_of=True
            )


def test_batch_token_waits_for_an_operator_when_the_city_says_so(tmp_path: Path, database_url: str) -> None:
    overrides = catalog_overrides(tmp_path, batch_acceptance="operator", batch_accept_delay_seconds=0.1)
    overrides["jobs"] = {"enabled": True, "batch_accept_seconds": 0.1}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "batch-client")
        form = {"api_key": key, "service_code": "bulk_pickup", "address_string": "1 Market St"}
        token = str(json_records(api.post("requests.json", data=form))[0]["token"])
        time.sleep(1.5)  # many acceptance ticks: none may take it
        for fmt in FORMATS:
            pending = records(api.get(f"tokens/{token}.{fmt}"), fmt, "service_requests", "request")
            assert str(pending[0]["token"]) == token
            assert not pending[0].get("service_request_id"), "no id before an operator accepts"
        assert _request_count(api) == 0

        api.app.state.runtime.open311.accept_token(token, actor="operator-ana")
        request_id = _poll_token(api, token, "xml", timeout=5.0)
        assert request_records(api.get(f"requests/{request_id}.json"), "json")[0]["address"] == "1 Market St"


def test_concurrent_posts_all_land_once(api: Deployment, key: str) -> None:
    # Several apps reporting at once: every POST gets its own id and every request is stored once.
    def post(index: int) -> str:
        with httpx.Client(timeout=30.0) as client:
            form = _graffiti(key, description=f"concurrent report {index}")
            response = client.post(api.url("requests.json"), data=form)
            assert response.status_code == 200, response.text
            return str(json_records(response)[0]["service_request_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(post, range(40)))
    assert len(set(ids)) == 40
    stored = request_records(api.get("requests.json"), "json")
    assert sorted(str(r["service_request_id"]) for r in stored) == sorted(ids)
    assert sorted(r["description"] for r in stored) == sorted(f"concurrent report {i}" for i in range(40))
