"""Hostile and broken input over real HTTP: every answer is the spec's error body, never a stack trace,
and nothing is half-written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.open311.conformance import (
    FORMATS,
    Deployment,
    Format,
    assert_error,
    assert_no_stack_trace,
    catalog_overrides,
    create_key,
    deployment,
    request_records,
)

FORM = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    overrides = catalog_overrides(tmp_path, media_max_bytes=32 * 1024)
    overrides["server"] = {"max_body_bytes": 64 * 1024}
    with deployment(tmp_path / "data", database_url, **overrides) as running:
        yield running


def _count(api: Deployment) -> int:
    return len(request_records(api.get("requests.json"), "json"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_and_oversized_bodies_get_clear_errors(api: Deployment, fmt: Format) -> None:
    key = create_key(api, "fuzzer")
    valid = f"api_key={key}&service_code=pothole&lat=37.77&long=-122.41"
    url = api.url(f"requests.{fmt}")
    bodies: list[tuple[str, bytes, str]] = [
        ("form that is not UTF-8", valid.encode() + b"&description=\xff\xfe\xfa", FORM),
        ("JSON that does not parse", b'{"service_code": "pothole", ', "application/json"),
        ("XML that does not parse", b"<?xml version='1.0'?><service_request><oops>", "text/xml"),
        ("XML entity bomb", _billion_laughs(), "text/xml"),
        ("multipart without a boundary", b"--x\r\nContent-Disposition: form-data", "multipart/form-data"),
    ]
    for reason, body, content_type in bodies:
        response = api.http.post(url, content=body, headers={"content-type": content_type})
        assert response.status_code in (400, 415), f"{reason}: {response.status_code} {response.text[:300]}"
        assert_error(response, response.status_code, fmt)

    oversized = (valid + "&description=" + "x" * (128 * 1024)).encode()
    response = api.http.post(url, content=oversized, headers={"content-type": FORM})
    assert response.status_code in (400, 413), response.status_code
    assert_error(response, response.status_code, fmt)
    assert _count(api) == 0, "no broken body left a request behind"

    # The server is still healthy afterwards and takes a valid request.
    ok = api.http.post(url, content=valid.encode(), headers={"content-type": FORM})
    assert ok.status_code in (200, 201), ok.text
    assert _count(api) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_absurd_parameters_get_clear_errors(api: Deployment, fmt: Format) -> None:
    many_ids = ",".join(str(n) for n in range(4000))
    responses = [
        api.get(f"requests.{fmt}", {"service_request_id": many_ids}),
        api.get(f"requests.{fmt}", {"service_code": "x" * 10000}),
        api.get(f"requests.{fmt}", {"start_date": "9" * 400}),
        api.get(
            f"requests.{fmt}", {"start_date": "0001-01-01T00:00:00Z", "end_date": "9999-12-31T23:59:59Z"}
        ),
        api.get(f"services/{'%00' * 10}.{fmt}"),
        api.get(f"services.{fmt}", {"jurisdiction_id": "\u202e" * 300}),
    ]
    for response in responses:
        assert response.status_code in (200, 400, 404, 414), f"{response.request.url}: {response.status_code}"
        assert_no_stack_trace(response)
        if response.status_code != 200:
            assert_error(response, response.status_code, fmt)
        else:
            request_records(response, fmt)


def test_unknown_format_and_method(api: Deployment) -> None:
    for path in ("services.yaml", "requests.csv", "services"):
        response = api.get(path)
        assert response.status_code in (400, 404), f"{path}: {response.status_code}"
        assert_no_stack_trace(response)
    for fmt in FORMATS:
        response = api.http.delete(api.url(f"requests.{fmt}"))
        assert_error(response, 405, fmt)
        # Every method the resource serves, not only the first route's (GET and POST share the path).
        assert _methods(response.headers["allow"]) == {"GET", "HEAD", "POST"}
        for path in (f"services.{fmt}", f"services/pothole.{fmt}", f"discovery.{fmt}", f"requests/1.{fmt}"):
            response = api.http.post(api.url(path))
            assert_error(response, 405, fmt)
            assert _methods(response.headers["allow"]) == {"GET", "HEAD"}, path


def test_head_answers_like_get_without_a_body(api: Deployment) -> None:
    key = create_key(api, "head-client")
    filed = api.post(
        "requests.json", data={"api_key": key, "service_code": "pothole", "address_string": "1 Main"}
    )
    assert filed.status_code == 200, filed.text
    request_id = filed.json()[0]["service_request_id"]
    paths = ["services.{}", "services/graffiti.{}", "requests.{}", f"requests/{request_id}.{{}}"]
    paths += ["tokens/no-such-token.{}", "discovery.{}", "services/no-such-service.{}"]
    for fmt in FORMATS:
        for path in (each.format(fmt) for each in paths):
            got = api.get(path)
            head = api.http.head(api.url(path))
            assert head.status_code == got.status_code, (
                f"HEAD {path}: {head.status_code}, GET {got.status_code}"
            )
            for header in ("content-type", "content-length"):
                assert head.headers.get(header) == got.headers.get(header), f"HEAD {path}: {header}"
            assert head.content == b"", f"HEAD {path} has no body"
        head = api.http.head(api.url(f"requests.{fmt}"), params={"status": "pending"})
        assert head.status_code == 400


def _methods(allow: str) -> set[str]:
    return {method.strip().upper() for method in allow.split(",") if method.strip()}


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        '<?xml version="1.0"?><!DOCTYPE lolz ['
        + "".join(entities)
        + "]><service_request>&lol9;</service_request>"
    ).encode()
