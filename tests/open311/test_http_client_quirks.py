"""What third-party GeoReport v2 clients really send, over real HTTP: characters XML cannot carry,
the array keys of common form encoders, bodies in other encodings, other query separators, a
jurisdiction_id spelled in another case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.open311.conformance import (
    FORMATS,
    Deployment,
    assert_error,
    catalog_overrides,
    create_key,
    deployment,
    insert_requests,
    request_records,
)

FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url, **catalog_overrides(tmp_path)) as running:
        yield running


@pytest.fixture
def key(api: Deployment) -> str:
    return create_key(api, "quirks-client")


def _graffiti(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "graffiti",
        "lat": "37.7749",
        "long": "-122.4194",
        "attribute[SURFACE]": "wall",
        **extra,
    }


def _request_count(api: Deployment) -> int:
    return len(request_records(api.get("requests.json"), "json"))


# ------------------------------------------------------------------- characters XML 1.0 cannot carry


@pytest.mark.parametrize(
    "field",
    ["description", "address_string", "account_id", "attribute[PLATE]", "attribute[311_REF]"],
)
def test_a_post_with_a_character_xml_cannot_carry_is_refused_by_field(
    api: Deployment, key: str, field: str
) -> None:
    # U+FFFE and U+FFFF are valid UTF-8 but no XML 1.0 character: filed, the request broke every XML
    # answer holding it (its POST answer too when in account_id, so the client retried and filed again).
    for character in ("\uffff", "\ufffe"):
        for fmt in FORMATS:
            refused = api.post(f"requests.{fmt}", data=_graffiti(key, **{field: f"AB{character}12"}))
            body = assert_error(refused, 400, fmt, field, f"U+{ord(character):04X}")
            assert len(body.errors) == 1, body.errors
    assert _request_count(api) == 0, "a refused request leaves nothing behind"
    # Still refused with the submission's other problems, and an ignored field is left alone.
    several = api.post("requests.json", data=_graffiti(key, lat="north", **{field: "x\uffff"}))
    assert [d.split(" ")[0] for _, d in assert_error(several, 400, "json").errors] == ["lat", field]
    ignored = api.post("requests.xml", data=_graffiti(key, unknown_field="x\uffff"))
    assert ignored.status_code == 200, ignored.text


def test_stored_characters_xml_cannot_carry_are_left_out_of_every_xml_answer(api: Deployment) -> None:
    # A request stored before the refusal (or filed by another channel) must not break the documents.
    (request_id,) = insert_requests(
        api,
        [
            {
                "description": "Tags\uffff on the\ufffe wall",
                "address": "1 Main\uffff St",
                "status_notes": "Crew\ufffe sent",
                "attributes": {"PLATE": "AB\ufffe12"},
            }
        ],
    )
    for path, params in (
        (f"requests/{request_id}.xml", None),
        (f"requests/{request_id}.xml", {"extensions": "true"}),
        ("requests.xml", None),
        ("requests.xml", {"extensions": "true"}),
    ):
        (record,) = request_records(api.get(path, params=params), "xml")  # parsed by a strict parser
        assert record["description"] == "Tags on the wall"
        assert record["address"] == "1 Main St"
        assert record["status_notes"] == "Crew sent"
    as_json = request_records(api.get(f"requests/{request_id}.json"), "json")[0]
    assert as_json["description"] == "Tags\uffff on the\ufffe wall", "JSON carries them as stored"
    # Errors that quote what the client sent.
    assert_error(api.get("services/x%EF%BF%BF.xml"), 404, "xml")
    assert_error(api.get("requests/x%EF%BF%BE.xml"), 404, "xml")
    assert_error(api.get("services.xml", params={"jurisdiction_id": "\ufffe"}), 404, "xml")


# ------------------------------------------------------------------------------ indexed array keys


def test_multivaluelist_values_under_indexed_keys_are_read_in_order(api: Deployment, key: str) -> None:
    # PHP's http_build_query and Node's qs (by default) number an array's values: attribute[CODE][0].
    url = api.url("requests.json")
    base = f"api_key={key}&service_code=graffiti&lat=37.77&long=-122.41&attribute[SURFACE]=wall"
    for colours in (
        "attribute[COLOURS][0]=red&attribute[COLOURS][1]=blue",
        "attribute%5BCOLOURS%5D%5B0%5D=red&attribute%5BCOLOURS%5D%5B1%5D=blue",
        "attribute[COLOURS][1]=red&attribute[COLOURS][0]=blue",  # the order they come in is kept
    ):
        filed = api.http.post(url, content=f"{base}&{colours}".encode(), headers=FORM_TYPE)
        assert filed.status_code == 200, f"{colours}: {filed.text}"
        request_id = filed.json()[0]["service_request_id"]
        stored = request_records(api.get(f"requests/{request_id}.json", {"extensions": "true"}), "json")[0]
        answers = [
            entry["value"]
            for entry in stored["extended_attributes"]["attributes"]
            if entry["code"] == "COLOURS"
        ]
        assert answers == ["red", "blue"], colours
    # A wrong value under an index is refused by name; other nested keys still are not attribute keys.
    wrong = api.http.post(url, content=f"{base}&attribute[COLOURS][0]=purple".encode(), headers=FORM_TYPE)
    assert_error(wrong, 400, "json", "COLOURS")
    for malformed in ("attribute[COLOURS][x]", "attribute[COLOURS][0][1]", "attribute[COLOURS][-1]"):
        refused = api.http.post(url, content=f"{base}&{malformed}=red".encode(), headers=FORM_TYPE)
        assert_error(refused, 400, "json", f"'{malformed}' is not an attribute key")


# ------------------------------------------------------------------------------- bodies not in UTF-8


@pytest.mark.parametrize(
    "description",
    [b"Caf\xe9 au lait", b"Caf%E9+au+lait", b"Caf%C3+au+lait", b"%ED%A0%80"],
    ids=["raw Latin-1", "percent-encoded Latin-1", "percent-encoded cut sequence", "encoded surrogate"],
)
def test_a_form_body_not_in_utf8_is_refused_however_it_is_encoded(
    api: Deployment, key: str, description: bytes
) -> None:
    # Percent-encoded, the bytes were decoded to U+FFFD and the request filed with a mangled text.
    body = f"api_key={key}&service_code=pothole&lat=37.77&long=-122.41&description=".encode() + description
    for fmt in FORMATS:
        refused = api.http.post(api.url(f"requests.{fmt}"), content=body, headers=FORM_TYPE)
        assert_error(refused, 400, fmt, "the form body is not valid UTF-8")
    assert _request_count(api) == 0, "a refused request leaves nothing behind"
    filed = api.http.post(
        api.url("requests.json"), content=body.replace(description, b"Caf%C3%A9"), headers=FORM_TYPE
    )
    assert filed.status_code == 200, filed.text


# ------------------------------------------------------------------------------ jurisdiction_id case


def test_jurisdiction_id_is_a_domain_name_read_in_any_case(api: Deployment, key: str) -> None:
    served = api.settings.open311.jurisdictions[0]
    shouted = served.upper()
    assert shouted != served, "the test needs a jurisdiction with letters"
    for fmt in FORMATS:
        assert api.get(f"services.{fmt}", {"jurisdiction_id": shouted}).status_code == 200
        assert api.get(f"services/graffiti.{fmt}", {"jurisdiction_id": shouted}).status_code == 200
    filed = api.post("requests.json", data=_graffiti(key, jurisdiction_id=shouted.title()))
    assert filed.status_code == 200, filed.text
    request_id = str(filed.json()[0]["service_request_id"])
    for fmt in FORMATS:
        (found,) = request_records(api.get(f"requests/{request_id}.{fmt}", {"jurisdiction_id": shouted}), fmt)
        assert str(found["service_request_id"]) == request_id
        listed = request_records(api.get(f"requests.{fmt}", {"jurisdiction_id": shouted}), fmt)
        assert [str(record["service_request_id"]) for record in listed] == [request_id]
        # Stored under the configured spelling: the usual one finds it too.
        assert request_records(api.get(f"requests/{request_id}.{fmt}", {"jurisdiction_id": served}), fmt)
        assert_error(api.get(f"services.{fmt}", {"jurisdiction_id": "other" + served}), 404, fmt)
