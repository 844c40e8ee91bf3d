"""GET services and GET services/{code} over real HTTP, in both formats, as the GeoReport v2 spec has them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.open311.conformance import (
    ATTRIBUTE_FIELDS,
    DATATYPES,
    DEFAULT_SERVICE_CODES,
    FORMATS,
    SERVICE_FIELDS,
    Deployment,
    Format,
    assert_error,
    create_key,
    deployment,
    json_records,
    parse_json,
    parse_xml,
    records,
    xml_records,
)


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url) as running:
        yield running


def _definition_from_xml(api: Deployment, code: str) -> dict[str, Any]:
    tree = parse_xml(api.get(f"services/{code}.xml"), "service_definition")
    assert [child.tag for child in tree] == ["service_code", "attributes"]
    assert tree.findtext("service_code") == code
    attributes = []
    attributes_element = tree.find("attributes")
    assert attributes_element is not None
    for element in attributes_element:
        assert element.tag == "attribute"
        tags = [child.tag for child in element]
        assert set(ATTRIBUTE_FIELDS) <= set(tags), f"{code}: attribute fields {tags}"
        attribute: dict[str, Any] = {tag: element.findtext(tag) for tag in ATTRIBUTE_FIELDS}
        # Every attribute has its values list, empty (<values/>) for one that is not a list, as the
        # spec's table lists it under every attribute; before, it was left out of those.
        assert "values" in tags, f"{code}/{attribute['code']}: no <values>"
        values = element.find("values")
        if attribute["datatype"] in ("singlevaluelist", "multivaluelist"):
            assert len(values if values is not None else []), f"{code}/{attribute['code']}: no values"
        attribute["values"] = [
            {"key": value.findtext("key"), "name": value.findtext("name")}
            for value in (values if values is not None else [])
        ]
        if values is not None:
            assert all(value.tag == "value" for value in values)
        attributes.append(attribute)
    return {"service_code": code, "attributes": attributes}


def test_service_list_is_the_default_catalog_in_both_formats(api: Deployment) -> None:
    xml_services = xml_records(api.get("services.xml"), "services", "service")
    json_services = json_records(api.get("services.json"))

    assert {service["service_code"] for service in xml_services} == DEFAULT_SERVICE_CODES
    assert len(xml_services) == len(DEFAULT_SERVICE_CODES)
    for service in xml_services:
        assert set(service) == set(SERVICE_FIELDS), f"fields of {service['service_code']}: {sorted(service)}"
        assert service["metadata"] in ("true", "false")
        assert service["type"] in ("realtime", "batch", "blackbox")
        assert service["service_name"]
        assert service["description"]
        assert service["group"]
        assert service["keywords"], f"{service['service_code']} has keywords"
    assert any(service["type"] == "batch" for service in xml_services), "at least one batch service"

    # JSON is the Spark-convention mapping of the same XML: same order, same values, real booleans.
    assert [service["service_code"] for service in json_services] == [
        service["service_code"] for service in xml_services
    ]
    for as_xml, as_json in zip(xml_services, json_services, strict=True):
        assert set(as_json) == set(SERVICE_FIELDS)
        assert as_json["metadata"] is (as_xml["metadata"] == "true")
        for field in ("service_name", "description", "type", "keywords", "group"):
            assert as_json[field] == as_xml[field], field


def test_every_service_definition_matches_in_both_formats(api: Deployment) -> None:
    services = json_records(api.get("services.json"))
    with_metadata = [service["service_code"] for service in services if service["metadata"]]
    assert "graffiti" in with_metadata, "graffiti asks for the surface and whether it is offensive"
    not_lists = 0
    for code in with_metadata:
        from_xml = _definition_from_xml(api, code)
        response = api.get(f"services/{code}.json")
        assert response.status_code == 200
        from_json = parse_json(response)
        # The spec's service definition is one object, not a list.
        assert isinstance(from_json, dict)
        assert from_json["service_code"] == code
        assert isinstance(from_json["attributes"], list)
        assert from_json["attributes"]
        orders = [attribute["order"] for attribute in from_json["attributes"]]
        assert all(isinstance(order, int) and order > 0 for order in orders), orders
        assert len(set(orders)) == len(orders), f"{code}: orders are unique"
        for as_xml, as_json in zip(from_xml["attributes"], from_json["attributes"], strict=True):
            assert as_json["datatype"] in DATATYPES
            assert isinstance(as_json["variable"], bool)
            assert isinstance(as_json["required"], bool)
            assert as_xml["variable"] == str(as_json["variable"]).lower()
            assert as_xml["required"] == str(as_json["required"]).lower()
            assert as_xml["code"] == as_json["code"]
            assert as_xml["datatype"] == as_json["datatype"]
            assert as_xml["order"] == str(as_json["order"])
            assert as_json["description"]
            assert isinstance(as_json["values"], list), f"{code}/{as_json['code']}: values is a list"
            json_values = [{"key": str(value["key"]), "name": value["name"]} for value in as_json["values"]]
            assert as_xml["values"] == json_values
            not_lists += as_json["datatype"] not in ("singlevaluelist", "multivaluelist")
    assert not_lists, "the catalog has attributes that are not lists, each with an empty values list"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_404(api: Deployment, fmt: Format) -> None:
    assert_error(api.get(f"services/no_such_service.{fmt}"), 404, fmt, "no_such_service")


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_jurisdiction_accepts_its_id_an_empty_one_or_none(api: Deployment, fmt: Format) -> None:
    jurisdiction = api.settings.open311.jurisdictions[0]
    expected = api.get(f"services.{fmt}").content
    for params in ({"jurisdiction_id": jurisdiction}, {"jurisdiction_id": ""}):
        response = api.get(f"services.{fmt}", params=params)
        assert response.status_code == 200, response.text
        assert response.content == expected
    assert_error(
        api.get(f"services.{fmt}", params={"jurisdiction_id": "nowhere.example"}),
        404,
        fmt,
        "jurisdiction_id",
    )


def test_jurisdiction_is_required_when_several_are_served(tmp_path: Path, database_url: str) -> None:
    overrides = {"open311": {"jurisdictions": ["cityone.gov", "citytwo.gov"]}}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        key = create_key(api, "two-cities-app")
        for fmt in FORMATS:
            for path in (f"services.{fmt}", f"services/pothole.{fmt}", f"requests.{fmt}"):
                assert_error(api.get(path), 400, fmt, "jurisdiction_id")
                assert_error(api.get(path, params={"jurisdiction_id": ""}), 400, fmt, "jurisdiction_id")
                assert_error(
                    api.get(path, params={"jurisdiction_id": "elsewhere.gov"}), 404, fmt, "jurisdiction_id"
                )
                for jurisdiction in ("cityone.gov", "citytwo.gov"):
                    response = api.get(path, params={"jurisdiction_id": jurisdiction})
                    assert response.status_code == 200, f"{path} for {jurisdiction}: {response.text}"
            # POST too: a request filed under no jurisdiction would belong to no city.
            form = {"api_key": key, "service_code": "pothole", "lat": "37.77", "long": "-122.41"}
            assert_error(api.post(f"requests.{fmt}", data=form), 400, fmt, "jurisdiction_id")
            filed = api.post(f"requests.{fmt}", data={**form, "jurisdiction_id": "citytwo.gov"})
            assert filed.status_code in (200, 201), filed.text
            request_id = str(records(filed, fmt, "service_requests", "request")[0]["service_request_id"])
            # The request belongs to citytwo.gov alone: cityone.gov neither lists nor finds it.
            one_request = f"requests/{request_id}.{fmt}"
            assert_error(api.get(one_request), 400, fmt, "jurisdiction_id")
            assert api.get(one_request, params={"jurisdiction_id": "citytwo.gov"}).status_code == 200
            assert_error(api.get(one_request, params={"jurisdiction_id": "cityone.gov"}), 404, fmt)
            listed_one = records(
                api.get(f"requests.{fmt}", params={"jurisdiction_id": "cityone.gov"}),
                fmt,
                "service_requests",
                "request",
            )
            assert request_id not in {str(r["service_request_id"]) for r in listed_one}


TORONTO_CODES = {"CSROWR-12", "CSROWBM-03", "CSROWC-05", "CSROSC-14", "SWLMALB-02"}


def test_toronto_example_catalog_and_its_sandbox(tmp_path: Path, database_url: str) -> None:
    from bot.open311.catalog import CATALOG_DIR

    overrides = {"open311": {"catalog_file": CATALOG_DIR / "toronto.toml", "sandbox": True}}
    with deployment(tmp_path / "data", database_url, **overrides) as api:
        services = json_records(api.get("services.json"))
        assert {service["service_code"] for service in services} == TORONTO_CODES
        for code in TORONTO_CODES:
            # Toronto's codes carry a hyphen: they must round-trip through the path in both formats.
            assert _definition_from_xml(api, code)["attributes"]
            assert parse_json(api.get(f"services/{code}.json"))["service_code"] == code
        cases = json_records(api.get("requests.json"))
        codes = {case["service_code"] for case in cases}
        assert "CSROWR-12" in codes, "a pothole test case"
        assert codes & {"CSROWBM-03", "CSROWC-05", "CSROSC-14"}, "a graffiti test case"
        # The sandbox takes a report without a key, validated against Toronto's definition.
        graffiti = api.post(
            "requests.json",
            data={
                "service_code": "CSROWC-05",
                "lat": "43.6532",
                "long": "-79.3832",
                "attribute[offensive]": "x",
            },
        )
        assert_error(graffiti, 400, "json", "offensive")
        definition = parse_json(api.get("services/CSROWC-05.json"))
        offensive = next(a for a in definition["attributes"] if a["code"] == "offensive")
        key = offensive["values"][0]["key"]
        form = {
            "service_code": "CSROWC-05",
            "lat": "43.6532",
            "long": "-79.3832",
            "attribute[offensive]": key,
        }
        accepted = api.post("requests.json", data=form)
        assert accepted.status_code == 200, accepted.text
        # Discovery tells clients this endpoint is a test one: nothing filed here is acted upon.
        endpoints = parse_json(api.get("discovery.json"))["endpoints"]
        assert {endpoint["type"] for endpoint in endpoints} == {"test"}
