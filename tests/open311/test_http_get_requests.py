"""GET requests and GET requests/{id} over real HTTP: filters, the spec's defaults, paging, extensions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.open311.validation import parse_decimal
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
    parse_xml,
    request_records,
)


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    with deployment(tmp_path / "data", database_url, **catalog_overrides(tmp_path)) as running:
        yield running


def _ids(api: Deployment, fmt: Format = "json", pairs: Any = None, **params: Any) -> list[str]:
    """The ids GET requests answers for ``params`` (or a list of ``pairs``, to repeat a parameter)."""
    query = pairs if pairs is not None else params
    return [str(r["service_request_id"]) for r in request_records(api.get(f"requests.{fmt}", query), fmt)]


def _w3c(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def test_filters_in_both_formats(api: Deployment) -> None:
    now = datetime.now(UTC)
    pothole_old, graffiti_mid, pothole_new, graffiti_closed = insert_requests(
        api,
        [
            {"service_code": "pothole", "requested_datetime": now - timedelta(days=10)},
            {
                "service_code": "graffiti",
                "service_name": "Graffiti",
                "requested_datetime": now - timedelta(days=5),
            },
            {"service_code": "pothole", "requested_datetime": now - timedelta(hours=1)},
            {
                "service_code": "graffiti",
                "service_name": "Graffiti",
                "status": "closed",
                "status_notes": "Painted over.",
                "requested_datetime": now - timedelta(days=2),
            },
        ],
    )
    everything = {pothole_old, graffiti_mid, pothole_new, graffiti_closed}
    for fmt in FORMATS:
        assert set(_ids(api, fmt)) == everything
        assert set(_ids(api, fmt, service_code="pothole")) == {pothole_old, pothole_new}
        # Comma lists are trimmed.
        assert set(_ids(api, fmt, service_code=" pothole , graffiti ")) == everything
        assert set(_ids(api, fmt, status="closed")) == {graffiti_closed}
        assert set(_ids(api, fmt, status="open")) == {pothole_old, graffiti_mid, pothole_new}
        assert set(_ids(api, fmt, status="open, closed")) == everything
        assert set(_ids(api, fmt, service_code="graffiti", status="open")) == {graffiti_mid}
        window = {"start_date": _w3c(now - timedelta(days=6)), "end_date": _w3c(now - timedelta(days=1))}
        assert set(_ids(api, fmt, **window)) == {graffiti_mid, graffiti_closed}
        assert set(_ids(api, fmt, start_date=_w3c(now - timedelta(days=3)))) == {pothole_new, graffiti_closed}
        assert set(_ids(api, fmt, end_date=_w3c(now - timedelta(days=4)))) == {pothole_old, graffiti_mid}
        # An offset instead of Z names the same instant.
        three_days_ago_utc = (now - timedelta(days=3)).replace(tzinfo=None)
        as_offset = (three_days_ago_utc - timedelta(hours=5)).isoformat(timespec="seconds") + "-05:00"
        assert set(_ids(api, fmt, start_date=as_offset)) == {pothole_new, graffiti_closed}
        # The same with a "+" offset a client forgot to percent-encode (the query decodes it to a space).
        plus_offset = (three_days_ago_utc + timedelta(hours=2)).isoformat(timespec="seconds") + "+02:00"
        raw = api.http.get(api.url(f"requests.{fmt}") + f"?start_date={plus_offset}")
        assert {str(r["service_request_id"]) for r in request_records(raw, fmt)} == {
            pothole_new,
            graffiti_closed,
        }
        # service_request_id overrides every other filter, and its list is trimmed too.
        chosen = f" {pothole_old} ,{graffiti_closed}"
        assert set(_ids(api, fmt, service_request_id=chosen)) == {pothole_old, graffiti_closed}
        overridden = _ids(api, fmt, service_request_id=chosen, service_code="noise", status="open")
        assert set(overridden) == {pothole_old, graffiti_closed}
        # An empty parameter is an absent one.
        empty = dict.fromkeys(
            ("service_request_id", "service_code", "status", "start_date", "end_date", "page", "page_size"),
            "",
        )
        assert set(_ids(api, fmt, **empty)) == everything

        closed = request_records(api.get(f"requests/{graffiti_closed}.{fmt}"), fmt)[0]
        assert closed["status"] == "closed"
        assert closed["status_notes"] == "Painted over."
    assert_same_records(
        request_records(api.get("requests.xml"), "xml"), request_records(api.get("requests.json"), "json")
    )


def test_list_parameters_declared_several_times_are_the_union(api: Deployment) -> None:
    now = datetime.now(UTC)
    pothole, graffiti, closed_pothole, noise = insert_requests(
        api,
        [
            {"service_code": "pothole", "requested_datetime": now - timedelta(hours=4)},
            {
                "service_code": "graffiti",
                "service_name": "Graffiti",
                "requested_datetime": now - timedelta(hours=3),
            },
            {"service_code": "pothole", "status": "closed", "requested_datetime": now - timedelta(hours=2)},
            {
                "service_code": "noise",
                "service_name": "Noise",
                "requested_datetime": now - timedelta(hours=1),
            },
        ],
    )
    for fmt in FORMATS:
        codes = [("service_code", "pothole"), ("service_code", "graffiti")]
        assert set(_ids(api, fmt, codes)) == {pothole, graffiti, closed_pothole}
        # Comma lists within each occurrence, and empty occurrences, count too.
        mixed = [("service_code", "graffiti, noise"), ("service_code", ""), ("service_code", "pothole")]
        assert set(_ids(api, fmt, mixed)) == {pothole, graffiti, closed_pothole, noise}
        assert set(_ids(api, fmt, [("status", "closed"), ("status", "open")])) == {
            pothole,
            graffiti,
            closed_pothole,
            noise,
        }
        assert set(_ids(api, fmt, [("status", "closed"), ("service_code", "pothole")])) == {closed_pothole}
        assert set(_ids(api, fmt, [("service_request_id", pothole), ("service_request_id", noise)])) == {
            pothole,
            noise,
        }
        # A bad value in any occurrence is refused, not hidden behind a later good one.
        assert_error(
            api.get(f"requests.{fmt}", [("status", "pending"), ("status", "open")]), 400, fmt, "status"
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_filters_are_400_naming_the_parameter(api: Deployment, fmt: Format) -> None:
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, str], tuple[str, ...]]] = [
        ({"status": "pending"}, ("status",)),
        ({"start_date": "last tuesday"}, ("start_date",)),
        ({"end_date": "2026-13-45T99:00:00Z"}, ("end_date",)),
        ({"start_date": _w3c(now - timedelta(days=100)), "end_date": _w3c(now)}, ("90",)),
        ({"start_date": _w3c(now), "end_date": _w3c(now - timedelta(days=1))}, ("start_date", "end_date")),
        ({"page": "0"}, ("page",)),
        ({"page": "-3"}, ("page",)),
        ({"page": "two"}, ("page",)),
        ({"page_size": "0"}, ("page_size",)),
        ({"page_size": "1000000000000000000000"}, ("page_size",)),
        ({"page": "99999999999999999999999"}, ("page",)),
    ]
    for params, mentions in cases:
        assert_error(api.get(f"requests.{fmt}", params), 400, fmt, *mentions, any_of=True)


def test_dates_at_the_edges_of_the_calendar_are_answered_not_crashed_on(api: Deployment) -> None:
    insert_requests(api, [{"requested_datetime": datetime.now(UTC) - timedelta(days=1)}])
    for fmt in FORMATS:
        # Valid dates whose default 90-day window would run off the calendar: the part that exists.
        assert _ids(api, fmt, start_date="9999-12-31T23:59:59Z") == []
        assert _ids(api, fmt, end_date="0001-02-01T00:00:00Z") == []
        # Alone, a start_date searches until now: from the year 1 that is over the 90-day maximum.
        assert_error(api.get(f"requests.{fmt}", {"start_date": "0001-01-01T00:00:00Z"}), 400, fmt, "90")
        # Dates that only exist in their own time zone: in UTC they are before year 1 or after 9999.
        url = api.url(f"requests.{fmt}")
        for query, name in (
            ("end_date=9999-12-31T23:59:59-14:00", "end_date"),
            ("start_date=0001-01-01T00:00:00%2B14:00", "start_date"),
        ):
            assert_error(api.http.get(f"{url}?{query}"), 400, fmt, name, "range")


def test_date_bounds_compare_the_whole_seconds_clients_are_shown(api: Deployment) -> None:
    shown = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    # Stored with microseconds, as the core stores every request; the API shows the whole second.
    (late_in_second,) = insert_requests(
        api, [{"requested_datetime": shown + timedelta(microseconds=700_000)}]
    )
    second = timedelta(seconds=1)
    for fmt in FORMATS:
        record = request_records(api.get(f"requests/{late_in_second}.{fmt}"), fmt)[0]
        assert record["requested_datetime"] == _w3c(shown)
        assert _ids(api, fmt, end_date=_w3c(shown)) == [late_in_second], "end_date is inclusive"
        assert _ids(api, fmt, start_date=_w3c(shown), end_date=_w3c(shown)) == [late_in_second]
        assert _ids(api, fmt, start_date=_w3c(shown)) == [late_in_second]
        assert _ids(api, fmt, end_date=_w3c(shown - second)) == []
        assert _ids(api, fmt, start_date=_w3c(shown + second)) == []
        # A bound with a fraction is compared as shown too: the request is shown at the second before.
        assert _ids(api, fmt, start_date=_w3c(shown).replace("Z", ".5Z")) == []
        assert _ids(api, fmt, end_date=_w3c(shown).replace("Z", ".5Z")) == [late_in_second]


def test_default_window_is_90_days_and_at_most_1000_results(api: Deployment) -> None:
    now = datetime.now(UTC)
    old = insert_requests(api, [{"requested_datetime": now - timedelta(days=91, hours=1)}])[0]
    recent = insert_requests(
        api, [{"requested_datetime": now - timedelta(minutes=i + 1)} for i in range(1005)]
    )
    for fmt in FORMATS:
        listed = _ids(api, fmt)
        assert len(listed) == 1000, "the spec's default: the first 1000 requests"
        assert old not in listed, "older than 90 days is outside the default window"
        assert set(listed) <= set(recent)
    # Asking for an explicit window that includes it finds the old one.
    window = {"start_date": _w3c(now - timedelta(days=92)), "end_date": _w3c(now - timedelta(days=90))}
    assert _ids(api, "json", **window) == [old]
    # Paging walks past the first thousand without gaps or repeats.
    pages: list[str] = []
    for page in range(1, 4):
        pages += _ids(api, "json", page=str(page), page_size="400")
    assert len(pages) == 1005
    assert set(pages) == set(recent)


def test_a_lone_start_date_searches_until_now_or_is_refused_beyond_90_days(api: Deployment) -> None:
    """A lone start_date ("everything since X"): from X until now, as the spec's "most recent" default
    reads; never X + 90 days, which answered a poll since X over 90 days ago with a silent []. A span
    from X to now longer than the 90-day maximum is the same 400 as an explicit end_date's. An
    end_date alone is the 90 days before it (the most recent 90 days up to it)."""
    now = datetime.now(UTC)
    recent, older = insert_requests(
        api,
        [
            {"requested_datetime": now - timedelta(hours=1)},
            {"requested_datetime": now - timedelta(days=80)},
        ],
    )
    for fmt in FORMATS:
        # 85 days ago: the old rule searched until 5 days ago and missed the request of an hour ago.
        assert set(_ids(api, fmt, start_date=_w3c(now - timedelta(days=85)))) == {recent, older}
        assert _ids(api, fmt, start_date=_w3c(now - timedelta(days=2))) == [recent]
        # 100 days ago until now is more than 90 days: a 400 naming the limit, never a silent [].
        refused = api.get(f"requests.{fmt}", {"start_date": _w3c(now - timedelta(days=100))})
        assert_error(refused, 400, fmt, "90", "end_date")
        # A start_date in the future (a client's clock ahead): nothing yet, not an error.
        assert _ids(api, fmt, start_date=_w3c(now + timedelta(minutes=5))) == []
        # An end_date alone is the 90 days up to it.
        assert _ids(api, fmt, end_date=_w3c(now - timedelta(days=2))) == [older]
        assert _ids(api, fmt, end_date=_w3c(now - timedelta(days=171))) == []


def test_tiny_coordinates_are_written_as_plain_decimals_the_api_takes_back(api: Deployment) -> None:
    # Before, XML wrote <long>-5e-05</long> (and JSON 1e-6), which POST requests refuses as lat/long: a
    # client copying a point back (or parsing it as a plain decimal) failed.
    points = {"0.000001": "-0.00005", "-0.0000099": "0.00001", "37.7749": "-122.4194"}
    ids = insert_requests(api, [{"lat": float(lat), "long": float(long)} for lat, long in points.items()])
    for fmt in FORMATS:
        url = api.url(f"requests.{fmt}")
        response = api.get(f"requests.{fmt}", {"service_request_id": ",".join(ids)})
        if fmt == "xml":
            shown = [
                (request.findtext("lat"), request.findtext("long"))
                for request in parse_xml(response, "service_requests")
            ]
        else:
            # Each number as written in the document, not as a float parsed from it.
            listed = json.loads(response.content, parse_float=str)
            shown = [(request["lat"], request["long"]) for request in listed]
        assert sorted(shown) == sorted(points.items()), f"{url}: {response.text}"
        for lat, long in shown:
            assert parse_decimal(lat, "lat") == float(lat)
            assert parse_decimal(long, "long") == float(long)


def test_page_and_page_size(api: Deployment) -> None:
    now = datetime.now(UTC)
    created = insert_requests(api, [{"requested_datetime": now - timedelta(minutes=i + 1)} for i in range(7)])
    for fmt in FORMATS:
        seen: list[str] = []
        for page in (1, 2, 3, 4):
            chunk = _ids(api, fmt, page=str(page), page_size="2")
            assert len(chunk) == (2 if page < 4 else 1)
            seen += chunk
        assert sorted(seen) == sorted(created), "pages are disjoint and cover everything"
        assert _ids(api, fmt, page="5", page_size="2") == [], "a page past the end is an empty list"
        assert seen == _ids(api, fmt), "paging keeps the unpaged order"


def test_request_by_id_is_a_list_of_one_and_unknown_ids_are_404(api: Deployment) -> None:
    (request_id,) = insert_requests(api, [{"description": "Crater <b>& 'quotes'\" ünïcode"}])
    for fmt in FORMATS:
        found = request_records(api.get(f"requests/{request_id}.{fmt}"), fmt)
        assert len(found) == 1
        assert set(found[0]) == set(REQUEST_FIELDS)
        assert found[0]["description"] == "Crater <b>& 'quotes'\" ünïcode"
        for field in ("requested_datetime", "updated_datetime"):
            assert_w3c_datetime(found[0][field], field)
        assert_error(api.get(f"requests/999999999.{fmt}"), 404, fmt, "999999999")
        assert_error(api.get(f"requests/{'9' * 5000}.{fmt}"), 404, fmt)
        # Past a 32-bit INTEGER (another system's 12-digit ticket number): PostgreSQL answered a 500.
        assert_error(api.get(f"requests/2147483648.{fmt}"), 404, fmt, "2147483648")
        assert_error(api.get(f"requests/101000512345.{fmt}"), 404, fmt, "101000512345")
        listed = api.get(f"requests.{fmt}", {"service_request_id": f"{request_id},99999999999"})
        assert [str(r["service_request_id"]) for r in request_records(listed, fmt)] == [str(request_id)]
        assert_error(api.get(f"requests/not-a-number.{fmt}"), 404, fmt, "not-a-number")
        # Unicode digits that str.isdigit() accepts but int() does not (found by schemathesis).
        assert_error(api.get(f"requests/\u00b3.{fmt}"), 404, fmt)
        assert request_records(api.get(f"requests.{fmt}", {"service_request_id": "\u00b3,\u0663"}), fmt) == []

    # A control character XML 1.0 cannot carry (pasted from somewhere) must not break the XML document.
    (bell,) = insert_requests(api, [{"description": "Bell\x07 rang, then\x0b a tab\tand a newline\n."}])
    as_xml = request_records(api.get(f"requests/{bell}.xml"), "xml")[0]
    assert as_xml["description"].startswith("Bell")
    assert "\t" in as_xml["description"]
    assert "\n" in as_xml["description"]


def test_status_changes_through_the_core_show_up_with_their_history(api: Deployment) -> None:
    key = create_key(api, "history-client")
    filed = api.post(
        "requests.json",
        data={"api_key": key, "service_code": "pothole", "lat": "37.77", "long": "-122.41"},
    )
    assert filed.status_code in (200, 201), filed.text
    request_id = str(filed.json()[0]["service_request_id"])
    before = request_records(api.get(f"requests/{request_id}.json"), "json")[0]
    time.sleep(1.1)  # the wire format has whole seconds: let the change land in a later one
    expected = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)

    service = open311_service(api)
    service.update_status(
        request_id,
        status="closed",
        status_notes="Filled with cold patch.",
        agency_responsible="Street Repair",
        expected_datetime=expected,
        actor="crew-7",
    )

    for fmt in FORMATS:
        plain = request_records(api.get(f"requests/{request_id}.{fmt}"), fmt)[0]
        assert set(plain) == set(REQUEST_FIELDS), "no extension fields unless asked for"
        assert plain["status"] == "closed"
        assert plain["status_notes"] == "Filled with cold patch."
        assert plain["agency_responsible"] == "Street Repair"
        assert assert_w3c_datetime(plain["expected_datetime"], "expected_datetime") == expected
        updated = assert_w3c_datetime(plain["updated_datetime"], "updated_datetime")
        assert updated > assert_w3c_datetime(before["updated_datetime"], "updated_datetime")

    listed = request_records(api.get("requests.json", {"extensions": "true"}), "json")
    extended = next(r for r in listed if str(r["service_request_id"]) == request_id)
    assert _channel(extended) == "api"
    notes = extended["notes"]
    assert isinstance(notes, list)
    assert len(notes) >= 2, f"the submission and the closing: {notes}"
    for note in notes:
        assert {"datetime", "description", "type"} <= set(note), note
        assert_w3c_datetime(note["datetime"], "notes.datetime")
    assert "Filled with cold patch." in notes[-1]["description"]
    assert [assert_w3c_datetime(n["datetime"], "") for n in notes] == sorted(
        assert_w3c_datetime(n["datetime"], "") for n in notes
    )

    # The same extension in XML: <notes><note>...</note></notes> (Spark convention).
    tree = parse_xml(api.get("requests.xml", {"extensions": "true"}), "service_requests")
    element = next(e for e in tree if e.findtext("service_request_id") == request_id)
    xml_notes = element.find("notes")
    assert xml_notes is not None
    assert [note.tag for note in xml_notes] == ["note"] * len(notes)
    assert xml_notes[-1].findtext("description") == notes[-1]["description"]
    channel = element.findtext("channel") or element.findtext("extended_attributes/channel")
    assert channel == "api"


def _channel(record: dict[str, Any]) -> str | None:
    if "channel" in record:
        return str(record["channel"])
    extended = record.get("extended_attributes") or {}
    return extended.get("channel") if isinstance(extended, dict) else None


def open311_service(api: Deployment) -> Any:
    """The running deployment's core (the same Open311Service the HTTP layer uses)."""
    runtime = api.app.state.runtime
    return runtime.open311


def test_extensions_carry_the_submitted_attributes_in_both_formats(api: Deployment) -> None:
    key = create_key(api, "attributes-client")
    form = {
        "api_key": key,
        "service_code": "graffiti",
        "address_string": "Mission St & 16th St",
        "attribute[SURFACE]": "bridge",
        "attribute[COLOURS][]": ["red", "black"],
        "attribute[311_REF]": "ticket-4411",
    }
    filed = api.post("requests.json", data=form)
    assert filed.status_code == 200, filed.text
    request_id = str(filed.json()[0]["service_request_id"])

    as_json = request_records(api.get(f"requests/{request_id}.json", {"extensions": "true"}), "json")[0]
    json_texts = _leaf_texts(as_json)
    # The XML document must stay well-formed whatever the attribute codes are (parse_xml parses it).
    tree = parse_xml(api.get(f"requests/{request_id}.xml", {"extensions": "true"}), "service_requests")
    xml_texts = {element.text for element in tree.iter() if element.text and element.text.strip()}
    for value in ("bridge", "red", "black", "ticket-4411"):
        assert value in json_texts, f"{value} in the JSON extensions: {as_json}"
        assert value in xml_texts, f"{value} in the XML extensions"
    # In the form the GeoReport v2 extensions page documents (San Francisco's, Chicago's, Boston's): a
    # request-level list, each answer with its question, the attribute's code, and a value's name and key.
    assert {
        "label": "What is the graffiti on?",
        "name": "SURFACE",
        "value": "A bridge",
        "code": "bridge",
    } in (as_json["attributes"])
    assert {"label": "Which colours?", "name": "COLOURS", "value": "Black", "code": "black"} in as_json[
        "attributes"
    ]
    [element] = list(tree)
    labels = [item.findtext("label") for item in element.findall("attributes/attribute")]
    assert "What is the graffiti on?" in labels


def _leaf_texts(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_leaf_texts(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_leaf_texts(item) for item in value)) if value else set()
    return {str(value)} if value is not None else set()


PRIVATE_WORDS = (
    "Car abandoned at 2130 Harrison St. My name is Robert Jones, phone (415) 555-0142, "
    "robert.j@example.org, my SSN is 123-45-6789 if you need it"
)
PUBLIC_WORDS = (
    "Car abandoned at 2130 Harrison St. My name is Robert Jones, phone [phone], "
    "[email], my SSN is [id number] if you need it"
)


def test_phone_numbers_emails_and_ssns_are_masked_in_what_get_publishes(api: Deployment) -> None:
    # Before, the description and status notes were published verbatim: a resident's SMS or direct message
    # with their phone number, email or SSN was on the public API for anyone (CORS *) to harvest.
    key = create_key(api, "masking-client")
    photo = "https://photos.example.org/p/415-555-0142.jpg"
    filed = api.post(
        "requests.json",
        data={"api_key": key, "service_code": "pothole", "lat": "37.77", "long": "-122.41"}
        | {"description": f"{PRIVATE_WORDS}\n\nMore photos: {photo}"},
    )
    assert filed.status_code in (200, 201), filed.text
    request_id = str(filed.json()[0]["service_request_id"])
    service = open311_service(api)
    service.update_status(request_id, "open", status_notes="Called her at 415-555-0199, crew sent.")

    for fmt in FORMATS:
        for query in ({}, {"extensions": "true"}):
            for listed in (
                request_records(api.get(f"requests/{request_id}.{fmt}", query), fmt),
                request_records(api.get(f"requests.{fmt}", query), fmt),
            ):
                (record,) = (r for r in listed if str(r["service_request_id"]) == request_id)
                # The photos listed at the end are links, left as they are.
                assert record["description"] == f"{PUBLIC_WORDS}\n\nMore photos: {photo}"
                assert record["status_notes"] == "Called her at [phone], crew sent."
                if query:
                    assert "Status open: Called her at [phone], crew sent." in [
                        note["description"] for note in record["notes"]
                    ]
    # What was written is kept for the operators.
    stored = service.get_request(request_id)
    assert stored.description == f"{PRIVATE_WORDS}\n\nMore photos: {photo}"
    assert stored.status_notes == "Called her at 415-555-0199, crew sent."
