"""Geocoding through geopy: the offline San Francisco geocoder and a configured remote one.

The offline geocoder is checked against the bundled gazetteer's own coordinates; the remote one is
geopy's real Nominatim client talking HTTP to a local fake Nominatim server.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from bot.backoff import Backoff
from bot.commands.intents import understanding_record
from bot.config import ConfigError, load_settings
from bot.understanding import pipeline_from_settings
from intents.gazetteer import (
    ADDRESSES_FILE,
    DATA_DIR,
    INDEX_FILE,
    INTERSECTIONS_FILE,
    default_gazetteer,
    distance_metres,
    load_gazetteer,
    load_index,
    save_index,
)
from intents.geocoding import LANDMARKS_FILE, OfflineGeocoder, PlaceResolver, build_geocoder
from intents.locations import find_location
from intents.pipeline import Pipeline, load_pipeline
from intents.types import PLACE_ON_STREET, GeocodingUnavailable
from tests.intents.fake_nominatim import FakeNominatim
from tests.intents.toronto_gazetteer import (  # noqa: F401 (runtime: the fixture)
    TORONTO_BOUNDARY,
    TORONTO_CITY,
    city_street_names,
    toronto_gazetteer,
)
from tests.support.live_server import bound_socket, live_server
from tests.support.spans import without_corner_cue

SF_BOUNDARY = (37.70, -122.52, 37.84, -122.35)
QUERIES = Path(__file__).parent / "data" / "sf_queries.csv"
VARIANTS = Path(__file__).parent / "data" / "sf_variants.csv"
SF_QUERIES_BLIND = Path(__file__).parent / "data" / "sf_queries_blind.jsonl"
# Gazetteer coordinates of places used below (from intents/data/sf).
FIFTH_AND_MARKET = (37.78399, -122.40807)
SIXTEENTH_AND_VALENCIA = (37.76492, -122.42189)
MARKET_1355 = (37.7771, -122.4165)


def offline() -> PlaceResolver:
    return build_geocoder(
        "offline", {}, api_key=None, min_delay_seconds=1.0, cache_size=100, boundary=SF_BOUNDARY
    )


def nominatim_at(
    url: str,
    *,
    boundary: tuple[float, float, float, float] = SF_BOUNDARY,
    outage_pauses: Backoff | None = None,
    city: str | None = None,
) -> PlaceResolver:
    """The geocoder configured as ``provider = "nominatim"`` (geopy's client, no delay between requests),
    asking the fake Nominatim served at ``url``."""
    return build_geocoder(
        "nominatim",
        {"domain": url.removeprefix("http://"), "scheme": "http"},
        api_key=None,
        min_delay_seconds=0.0,
        cache_size=100,
        boundary=boundary,
        outage_pauses=outage_pauses,
        city=city,
    )


def assert_near(place: object, expected: tuple[float, float], metres: float = 1.0) -> None:
    assert place is not None, "expected a place, got None"
    lat, long = place.lat, place.long  # type: ignore[attr-defined]
    assert distance_metres(lat, long, *expected) <= metres, (place, expected)


@pytest.mark.parametrize(
    "query",
    [
        "1355 Market Street",
        "1355 market st.",
        "1355 MARKET ST",
        "1355 Market",  # no suffix
        "1355 Markte St",  # light typo
        "1355 Market St, San Francisco, CA 94103",
        "1355 Market St Suite 400",
    ],
)
def test_addresses_with_abbreviations_missing_suffixes_and_typos(query: str) -> None:
    assert_near(offline().geocode(query), MARKET_1355)


@pytest.mark.parametrize(
    "query",
    [
        "5th and Market",
        "Fifth & Market",
        "05TH ST & MARKET ST",
        "Market St & 5th St",  # the other order
        "market/fifth street",
        "corner of 5th St and Market Street, SF",
        "5th at Markt",  # typo
    ],
)
def test_intersections_with_ordinals_either_order_and_typos(query: str) -> None:
    place = offline().geocode(query)
    assert_near(place, FIFTH_AND_MARKET)
    assert place is not None
    assert place.raw["kind"] == "intersection"
    assert place.inside_jurisdiction


@pytest.mark.parametrize(
    "query",
    ["16th & Valencia", "Valencia and Sixteenth", "corner of 16th & Valencia", "Valenica St / 16TH ST"],
)
def test_more_intersections(query: str) -> None:
    assert_near(offline().geocode(query), SIXTEENTH_AND_VALENCIA)


@pytest.mark.parametrize(
    ("query", "address"),
    [
        # A unit word is a whole word: Steiner, Stevenson, Flood and Florida are streets.
        ("3011 steiner", "3011 STEINER ST"),
        ("annie / stevenson, san francisco", "ANNIE ST & STEVENSON ST"),
        ("1443 Florida", "1443 FLORIDA ST"),
        ("Frida Kahlo Way / Flood", "FRIDA KAHLO WAY & FLOOD AVE"),
        ("1843 mason apt 4-b", "1843 MASON ST"),
        ("12 Main St#3", "12 MAIN ST"),
        ("346 So. Van Ness Ave Apt 4, San Francisco, CA 94103", "346 SOUTH VAN NESS AVE"),
        # A name whose last word reads as a street type, written without its own type.
        ("polk/north point", "POLK ST & NORTH POINT ST"),
        ("5619 diamond heights 94122", "5619 DIAMOND HEIGHTS BLVD"),
        ("401 Hunters Point", "401 HUNTERS POINT BLVD"),
        ("100 Diamond St", "100 DIAMOND ST"),
        ("1 Embarcadero", "1 THE EMBARCADERO"),
        ("corner of Embarcadero & Harrison", "THE EMBARCADERO & HARRISON ST"),
        ("nelson rising lane/fifth street", "NELSON RISING LN & FIFTH ST"),  # Mission Bay's FIFTH ST
        ("74 Vulcan Stairway", "74 VULCAN STWY"),
        # The city's name inside a street's is no city tail.
        (
            "Thomas More Wy & San Francisco Golf Club Road, San Francisco, CA",
            "THOMAS MORE WAY & SAN FRANCISCO GOLF CLUB RD",
        ),
        # Two letters dropped from a long name.
        ("1371 Hamhire St", "1371 HAMPSHIRE ST"),
        ("597 Genwich St", "597 GREENWICH ST"),
        # A person's name without the title or "Jr" the city's list writes, or as initials.
        ("1 Carlton B Goodlett Pl", "1 DR CARLTON B GOODLETT PL"),
        ("MLK Dr & 9th Ave", "MARTIN LUTHER KING JR DR & 09TH AVE"),
        ("Martin Luther King Dr and 7th Ave", "MARTIN LUTHER KING JR DR & 07TH AVE"),
        ("JFK Dr and Stow Lake Dr", "JOHN F KENNEDY DR & STOW LAKE DR"),
        ("Maya Angelou Ln", "DR MAYA ANGELOU LN"),
    ],
)
def test_streets_people_write_that_look_like_units_types_or_short_names(query: str, address: str) -> None:
    place = offline().geocode(query)
    assert place is not None, query
    assert place.address.startswith(address + ",")


def test_a_corner_recorded_as_several_close_points_is_their_middle() -> None:
    # A divided road meets a street at points a few tens of metres apart: the middle is within 50 m of
    # each; the first alone was 60-90 m from the others.
    with open(DATA_DIR / INTERSECTIONS_FILE, encoding="utf-8", newline="") as handle:
        points = [
            (float(row["lat"]), float(row["lon"]))
            for row in csv.DictReader(handle)
            if {"POTRERO AVE", "22ND ST"} <= {name.strip() for name in row["streets"].split("|")}
        ]
    assert len(points) >= 2
    assert max(distance_metres(*a, *b) for a in points for b in points) > 50
    place = offline().geocode("potrero ave. & twenty-second street")
    assert place is not None
    assert all(distance_metres(place.lat, place.long, *point) <= 50 for point in points)


def test_an_equally_close_typo_correction_is_the_same_in_every_process() -> None:
    script = (
        "from intents.geocoding import OfflineGeocoder; g = OfflineGeocoder(); "
        "print([getattr(g.geocode(q), 'address', None) for q in ('83 CAREL STREET', 'AKANSAS ST & 16TH ST')])"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(answers) == 1, answers


def test_a_stretch_between_two_cross_streets_is_its_middle() -> None:
    resolver = offline()
    place = resolver.geocode("Valencia St between 16th and 17th")
    sixteenth, seventeenth = resolver.geocode("Valencia & 16th"), resolver.geocode("Valencia & 17th")
    assert place is not None
    assert sixteenth is not None
    assert seventeenth is not None
    middle = ((sixteenth.lat + seventeenth.lat) / 2, (sixteenth.long + seventeenth.long) / 2)
    assert_near(place, middle)
    assert place.raw["kind"] == "segment"
    # The finder's normalised form of such a stretch geocodes the same way.
    mention = find_location("Fallen branch on Valencia St between 16th and 17th")
    assert mention is not None
    assert mention.normalized == "VALENCIA ST BETWEEN 16TH & 17TH"
    assert resolver.geocode(mention.normalized) == place
    # One end on the map (30th never meets Valencia), or the same cross twice: that corner, named as one
    # (it read "VALENCIA ST between 16TH ST" and "MISSION ST between 16TH ST & 16TH ST"), asked about when
    # an end was not found.
    one_end = resolver.geocode("Valencia St between 16th and 30th")
    assert one_end is not None
    assert (one_end.address, one_end.raw["exact"]) == ("VALENCIA ST & 16TH ST, San Francisco, CA", False)
    assert_near(one_end, (sixteenth.lat, sixteenth.long), 1)
    same = resolver.geocode("Mission St between 16th and 16th")
    assert same is not None
    assert same.address == "MISSION ST & 16TH ST, San Francisco, CA"


def test_a_street_named_without_its_directional_is_that_street_not_its_south_twin() -> None:
    # "Van Ness" is VAN NESS AVE; SOUTH VAN NESS AVE only when the resident says South.
    resolver = offline()
    van_ness = resolver.geocode("Van Ness")
    south = resolver.geocode("South Van Ness")
    assert van_ness is not None
    assert south is not None
    assert van_ness.address.startswith("VAN NESS AVE")
    assert south.address.startswith("SOUTH VAN NESS AVE")


def test_unknown_places_are_none_not_a_guess() -> None:
    resolver = offline()
    assert resolver.geocode("Hogwarts Castle Rd & Privet Drive") is None
    assert resolver.geocode("") is None
    assert resolver.geocode("Zzyzx") is None


def test_a_one_letter_street_name_is_never_corrected_into_another_letter() -> None:
    resolver = offline()
    # San Francisco has Avenues B to N on Treasure Island, no Avenue A: 12 Avenue A is no 12 Avenue G.
    assert resolver.geocode("12 Avenue A") is None
    # A typo elsewhere in the name is still corrected.
    place = resolver.geocode("351 Avenu H")
    assert place is not None
    assert place.raw["street"] == "AVENUE H"


def test_a_point_outside_the_boundary_is_reported_as_outside() -> None:
    downtown_only = (37.77, -122.43, 37.80, -122.39)
    resolver = build_geocoder(
        "offline", {}, api_key=None, min_delay_seconds=0, cache_size=0, boundary=downtown_only
    )
    inside = resolver.geocode("5th and Market")
    outside = resolver.geocode("19th Ave & Irving")  # the Sunset, west of the box
    assert inside is not None
    assert inside.inside_jurisdiction
    assert outside is not None
    assert not outside.inside_jurisdiction
    # A shared point in Oakland, 13 km from any SF address: no address, the point itself, outside the city.
    oakland = offline().reverse(37.8044, -122.2712)
    assert oakland is not None
    assert (oakland.lat, oakland.long, oakland.address) == (37.8044, -122.2712, "")
    assert not oakland.inside_jurisdiction
    assert OfflineGeocoder().reverse((37.8044, -122.2712)) is None
    with pytest.raises(ValueError, match="not a point on Earth"):
        offline().reverse(200.0, 0.0)


def test_a_shared_gps_point_reverse_geocodes_to_the_nearest_address() -> None:
    # A few metres off 1355 Market St's gazetteer point.
    place = offline().reverse(MARKET_1355[0] + 0.00003, MARKET_1355[1] - 0.00002)
    assert place is not None
    assert place.inside_jurisdiction
    assert distance_metres(place.lat, place.long, *MARKET_1355) < 1.0
    assert "MARKET ST" in place.address
    assert float(place.raw["distance_m"]) < 10  # type: ignore[arg-type]
    # ...and it is truly the nearest: no gazetteer address is closer to the shared point.
    _number, _street, _point, distance = default_gazetteer().nearest_address(
        MARKET_1355[0] + 0.00003, MARKET_1355[1] - 0.00002
    )
    assert distance == pytest.approx(
        distance_metres(place.lat, place.long, MARKET_1355[0] + 0.00003, MARKET_1355[1] - 0.00002)
    )


def test_offline_geocoder_is_a_real_geopy_geocoder() -> None:
    geocoder = OfflineGeocoder()
    assert isinstance(geocoder, Geocoder)
    location = geocoder.geocode("1355 market street")
    assert isinstance(location, Location)
    assert location.address == "1355 MARKET ST, San Francisco, CA"
    assert (location.latitude, location.longitude) == pytest.approx(MARKET_1355)
    many = geocoder.geocode("5th and Market", exactly_one=False)
    assert isinstance(many, list)
    assert len(many) == 1
    # geopy accepts points as "lat, long" strings, tuples or Points; so does reverse here.
    by_string = geocoder.reverse(f"{MARKET_1355[0]}, {MARKET_1355[1]}")
    by_tuple = geocoder.reverse(MARKET_1355)
    assert isinstance(by_string, Location)
    assert by_tuple is not None
    assert by_string.address == by_tuple.address


def misses_beyond_50_metres(path: Path) -> tuple[int, list[tuple[str, str | None]]]:
    """How many queries ``path`` (query, lat, long) holds, and those the offline geocoder places more than
    50 m from their point (with what it found)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    resolver = offline()
    misses = []
    for row in rows:
        place = resolver.geocode(row["query"])
        expected = (float(row["lat"]), float(row["long"]))
        if place is None or distance_metres(place.lat, place.long, *expected) > 50:
            misses.append((row["query"], place.address if place else None))
    return len(rows), misses


def test_varied_sf_addresses_and_intersections_resolve_within_50_metres() -> None:
    count, misses = misses_beyond_50_metres(QUERIES)
    assert count >= 100
    share = 1 - len(misses) / count
    assert share >= 0.95, f"{share:.1%} within 50 m; misses: {misses}"


def test_1200_generated_variants_of_sf_addresses_and_intersections_resolve_within_50_metres() -> None:
    # tests/intents/data/make_sf_variants.py writes gazetteer places the ways residents do (suffix or
    # none, "Fifth"/"05TH", lower case, a typo, a unit, a city/ZIP tail, "&"/"at"/"/", "corner of").
    count, misses = misses_beyond_50_metres(VARIANTS)
    assert count == 1200
    # The requirement is 95%; 99% resolve today (the misses are mostly streets that meet twice; 97.2%
    # before unit words became whole words and names ending in a type word were read whole), so a change
    # that loses a way of writing places fails here.
    assert len(misses) / count <= 0.02, misses


def test_a_blind_set_of_sf_places_typed_as_residents_type_them_resolves_within_50_metres() -> None:
    # 300 addresses and corners drawn at random over the whole city from the gazetteer and written by a
    # helper who never read the geocoder ("Apt 3, 1395 Van Ness Ave", "Harrison St (cross st 19th)",
    # "junípero serra blvd, cross street font blvd", "ave. m and tenth, ti", "24 ave & noriega st",
    # "BUCHANAN ST X IVY ST", "Federal St & Rincon St, SF, CA?").
    rows = [json.loads(line) for line in SF_QUERIES_BLIND.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 300
    resolver = offline()
    pipeline = load_pipeline()
    typed, in_a_message = [], []
    for row in rows:
        expected = (row["lat"], row["long"])
        place = resolver.geocode(row["query"])
        if place is None or distance_metres(place.lat, place.long, *expected) > 50:
            typed.append((row["query"], place))
        # The same words sent to the bot as a message: the location finder reads them first.
        understood = pipeline.understand(row["query"]).place
        if understood is None or distance_metres(understood.lat, understood.long, *expected) > 50:
            in_a_message.append((row["query"], understood))
    assert resolver.geocode("123 bernal hts blvd") is not None  # BERNAL HEIGHTS BLVD, its type short
    # The requirement is 95%. Typed into the geocoder all 300 resolve today (281 when the set was
    # written); as messages 286 (typos in a house number's street with no type, "30 CRESTLKE", and
    # everyday words such as "lyon st. at page" are what the finder does not take).
    assert len(typed) <= 3, typed
    assert len(in_a_message) <= 15, in_a_message


def test_configuration_selects_another_geopy_geocoder_with_rate_limit_and_cache() -> None:
    fake = FakeNominatim(
        {
            "1 city hall square, boston": (42.3603, -71.0580, "Boston City Hall, 1 City Hall Square, Boston"),
            "1 dr carlton b goodlett pl": (37.7793, -122.4193, "San Francisco City Hall"),
        }
    )
    with live_server(fake.app()) as url:
        domain = url.removeprefix("http://")
        resolver = build_geocoder(
            "nominatim",
            {"domain": domain, "scheme": "http"},
            api_key=None,
            min_delay_seconds=0.3,
            cache_size=100,
            boundary=SF_BOUNDARY,
        )
        started = time.monotonic()
        city_hall = resolver.geocode("1 Dr Carlton B Goodlett Pl")
        boston = resolver.geocode("1 City Hall Square, Boston")
        elapsed = time.monotonic() - started
        again = resolver.geocode("1 dr carlton b goodlett pl")  # cached: no request
        missing = resolver.geocode("nowhere at all")
        reverse = resolver.reverse(37.7790, -122.4190)

    assert city_hall is not None
    assert (city_hall.lat, city_hall.long) == pytest.approx((37.7793, -122.4193))
    assert city_hall.address == "San Francisco City Hall"
    assert city_hall.inside_jurisdiction
    assert boston is not None
    assert not boston.inside_jurisdiction
    assert again == city_hall
    assert missing is None
    assert reverse is not None
    assert reverse.address == "San Francisco City Hall"
    # geopy's RateLimiter spaced the two remote calls.
    assert elapsed >= 0.3
    paths = [path for path, _params, _agent in fake.requests]
    assert paths == ["/search", "/search", "/search", "/reverse"]
    _path, params, agent = fake.requests[0]
    assert params["q"] == "1 Dr Carlton B Goodlett Pl"
    assert params["format"] == "json"
    # The jurisdiction is sent as the area to prefer (Nominatim: viewbox=west,south,east,north).
    assert params["viewbox"] == "-122.52,37.7,-122.35,37.84"
    assert agent == "open311-bot"


def test_a_failing_remote_geocoder_is_retried_and_its_failures_are_not_cached() -> None:
    fake = FakeNominatim(
        {
            "1 dr carlton b goodlett pl": (37.7793, -122.4193, "San Francisco City Hall"),
            "1 market st": (37.7942, -122.3948, "1 Market Street"),
        }
    )
    with live_server(fake.app()) as url:
        resolver = nominatim_at(url, outage_pauses=PAUSES)
        fake.fail_next = 1  # one 503, then the resolver retries and succeeds
        first = resolver.geocode("1 Dr Carlton B Goodlett Pl")
        assert first is not None
        assert first.address == "San Francisco City Hall"
        assert len(fake.requests) == 2

        fake.fail_next = 3  # more failures than retries: not "not found" but a failure, not remembered
        with pytest.raises(GeocodingUnavailable, match="1 Market St"):
            resolver.geocode("1 Market St")
        assert len(fake.requests) == 5
        later = resolver.geocode("1 Market St")  # the next lookup asks once more
        assert later is not None
        assert later.address == "1 Market Street"
        assert len(fake.requests) == 6

        # The batch interface (``open311-bot classify``) still reads a message, with no point for its place.
        pipeline = Pipeline(load_pipeline().nlp, resolver)
        fake.fail_next = 3
        understood = pipeline.understand("pothole at 1355 Market St, please fix")
        assert understood.place is None
        assert understood.geocoding_failed is not None
        record = understanding_record(understood)
        assert set(record) == {"service_code", "confidence", "alternatives", "location", "language"}
        assert record["location"] == {"text": "1355 Market St", "kind": "address", "lat": None, "long": None}

        # A shared point while the service is down (asked once after the failure above, it fails again):
        # the point itself, not remembered.
        fake.fail_next = 1
        point = resolver.reverse(37.7790, -122.4190)
        assert point is not None
        assert (point.address, point.inside_jurisdiction) == ("", True)
        time.sleep(PAUSES.first_seconds + 0.05)  # the service is left alone that long
        again = resolver.reverse(37.7790, -122.4190)
        assert again is not None
        assert again.address == "San Francisco City Hall"


# Short pauses, without jitter, so that a test can wait them out.
PAUSES = Backoff(first_seconds=0.3, factor=2.0, max_seconds=10.0, jitter=0.0)


def _unavailable(resolver: PlaceResolver, query: str) -> float:
    """Seconds it took ``resolver`` to say the service is not answering for ``query``."""
    started = time.monotonic()
    with pytest.raises(GeocodingUnavailable):
        resolver.geocode(query)
    return time.monotonic() - started


def test_a_map_service_that_stops_answering_is_left_alone_for_a_growing_while_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before, every lookup paid geopy's retries again (about 4 s a message against a server that was down),
    and the log carried each retry's traceback, the resident's place ("geocoder Nominatim failed for 'YONGE
    ST & DUNDAS ST E'") and the URL asked ("/search?q=YONGE+ST...")."""
    fake = FakeNominatim({"yonge st & dundas st e": (43.6561, -79.3806, "Yonge and Dundas")})
    sock = bound_socket()
    port = sock.getsockname()[1]
    caplog.set_level(logging.DEBUG)  # every level: what is logged names no place
    with live_server(fake.app(), sock=sock) as url:
        resolver = nominatim_at(url, boundary=TORONTO_BOUNDARY, outage_pauses=PAUSES)
        fake.fail_next = 1000  # erring: 503 after 503
        _unavailable(resolver, "YONGE ST & DUNDAS ST E")
        assert len(fake.requests) == 3  # tried, and retried twice
        _unavailable(resolver, "QUEEN ST W & BAY ST")
        assert len(fake.requests) == 4  # asked once more: it still fails
        # Now it is left alone: the answer comes at once, for forward and reverse lookups alike.
        assert _unavailable(resolver, "BAY ST & KING ST W") < 0.05
        point = resolver.reverse(43.6561, -79.3806)
        assert point is not None
        assert point.address == ""
        assert len(fake.requests) == 4
        time.sleep(0.35)  # the first pause is over: asked once, and it fails again
        _unavailable(resolver, "BAY ST & KING ST W")
        assert len(fake.requests) == 5
        time.sleep(0.35)  # the pause has grown to 0.6 s: not asked yet
        assert _unavailable(resolver, "BAY ST & KING ST W") < 0.05
        assert len(fake.requests) == 5
    # The server goes away (connection refused).
    time.sleep(0.3)
    _unavailable(resolver, "DUNDAS ST W & SPADINA AVE")
    # It comes back on its address and answers: after the pause (1.2 s now) the place is found.
    fake.fail_next = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    with live_server(fake.app(), sock=sock):
        assert _unavailable(resolver, "YONGE ST & DUNDAS ST E") < 0.05
        time.sleep(1.25)
        found = resolver.geocode("YONGE ST & DUNDAS ST E")
        assert found is not None
        assert found.address == "Yonge and Dundas"
        assert len(fake.requests) == 6

    # What reaches the log of a bot (its own lines at any level, the libraries' from WARNING up): one
    # warning when the outage starts and one when it ends, saying what failed and how often, not for what.
    shown = [r for r in caplog.records if r.name.startswith("intents") or r.levelno >= logging.WARNING]
    for record in shown:
        line = record.getMessage()
        assert record.exc_info is None, line
        for place in ("YONGE", "QUEEN", "BAY", "SPADINA", "43.65", "q="):
            assert place.lower() not in line.lower(), line
    warned = [r.getMessage() for r in shown if r.levelno >= logging.WARNING]
    assert len(warned) == 2, warned
    assert warned[0] == (
        'geocoder Nominatim is not answering (HTTP 503, 3 tries); lookups answer "unavailable" and it is '
        "asked again after pauses of 0.3 s to 10 s until it answers"
    )
    assert re.fullmatch(
        r"geocoder Nominatim answers again after \d+ s: 4 lookups failed and 4 lookups answered "
        '"unavailable" without asking it',
        warned[1],
    ), warned[1]
    assert "not answering (GeocoderUnavailable: Connection refused): 4 lookups failed" in caplog.text


def test_bad_geocoder_configuration_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="takes no API key"):
        build_geocoder(
            "nominatim", {}, api_key="secret-key", min_delay_seconds=1, cache_size=1, boundary=SF_BOUNDARY
        )
    with pytest.raises(ValueError, match=r"lacks addresses\.csv\.gz"):
        build_geocoder(
            "offline",
            {"data_dir": "/nonexistent"},
            api_key=None,
            min_delay_seconds=1,
            cache_size=1,
            boundary=SF_BOUNDARY,
        )
    with pytest.raises(ValueError, match="offline geocoder has no option"):
        build_geocoder(
            "offline", {"domain": "x"}, api_key=None, min_delay_seconds=1, cache_size=1, boundary=SF_BOUNDARY
        )
    with pytest.raises(Exception, match="Unknown geocoder"):
        build_geocoder(
            "no-such-service", {}, api_key=None, min_delay_seconds=1, cache_size=1, boundary=SF_BOUNDARY
        )


def test_the_shipped_compact_index_matches_the_bundled_csv_files(tmp_path: Path) -> None:
    shipped = load_index(INDEX_FILE, DATA_DIR)
    assert shipped is not None, "intents/data/sf/gazetteer.npz is stale: run python -m intents.gazetteer"
    built = load_gazetteer(DATA_DIR)
    assert shipped.streets == built.streets
    for query in ("1355 market street", "5th and Market", "Valenica St"):
        assert OfflineGeocoder(shipped).geocode(query) == OfflineGeocoder(built).geocode(query)
    # An index built from other files is refused, not trusted.
    other = tmp_path / "other"
    other.mkdir()
    (other / "addresses.csv.gz").write_bytes(b"")
    (other / "intersections.csv").write_bytes(b"cnn,lat,lon,streets,adjacent_cnns\n")
    assert load_index(INDEX_FILE, other) is None
    save_index(built, tmp_path / "index.npz", DATA_DIR)
    assert load_index(tmp_path / "index.npz", DATA_DIR) is not None


def test_the_offline_geocoder_serves_another_city_from_its_own_files(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "addresses.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write(
            "number,street,lat,lon\n100,N MAIN ST,39.7817,-89.6501\n102,N MAIN ST,39.7818,-89.6501\n"
        )
        handle.write("7,W WASHINGTON ST,39.8012,-89.6440\n")
    (tmp_path / "intersections.csv").write_text(
        "cnn,lat,lon,streets,adjacent_cnns\n1,39.7810,-89.6500,N MAIN ST|W WASHINGTON ST,\n", encoding="utf-8"
    )
    resolver = build_geocoder(
        "offline",
        {"data_dir": str(tmp_path), "city": "Springfield, IL"},
        api_key=None,
        min_delay_seconds=0,
        cache_size=10,
        boundary=(39.70, -89.75, 39.87, -89.55),
    )
    place = resolver.geocode("102 North Main Street")
    assert place is not None
    assert (place.lat, place.long, place.address) == (39.7818, -89.6501, "102 N MAIN ST, Springfield, IL")
    # That city's name, its state and ZIP, a neighbourhood after the street: all read as the tail.
    for written in (
        "102 N Main St, Springfield, IL 62701",
        "102 N. Main St Downtown",
        "102 n main st springfield",
    ):
        assert resolver.geocode(written) == place, written
    corner = resolver.geocode("Washington & Main")
    assert corner is not None
    assert (corner.lat, corner.long) == (39.7810, -89.6500)
    assert resolver.geocode("1355 Market St") is None  # San Francisco is not loaded


def test_every_bundled_landmark_is_placed_inside_the_city_through_the_gazetteer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="intents.geocoding"):
        landmarks = OfflineGeocoder().landmarks
    assert not [r.getMessage() for r in caplog.records if "cannot place" in r.getMessage()]
    names = {landmark.name for landmark in landmarks.values()}
    assert len(names) >= 40
    south, west, north, east = SF_BOUNDARY
    for landmark in landmarks.values():
        assert south <= landmark.lat <= north, landmark
        assert west <= landmark.long <= east, landmark


@pytest.mark.parametrize(
    ("text", "near", "metres"),
    [
        # Each checked against a corner or address of the gazetteer that lies in or on the place.
        ("needles all over Dolores Park", "Dolores St & 19th St", 250),
        ("tents in the Union Square again", "Geary St & Powell St", 150),
        ("broken bench at Civic Center Plaza", "McAllister St & Larkin St", 250),
        ("pothole near City Hall", "1 Dr Carlton B Goodlett Pl", 50),
        ("tents in Civic Center again", "McAllister St & Larkin St", 250),  # before: not found
    ],
)
def test_a_named_place_in_a_message_is_placed(text: str, near: str, metres: float) -> None:
    resolver = offline()
    mention = find_location(text)
    assert mention is not None
    place = resolver.geocode(mention.normalized or mention.text)
    reference = resolver.geocode(near)
    assert reference is not None
    assert_near(place, (reference.lat, reference.long), metres)
    assert place is not None
    assert place.inside_jurisdiction
    # The mean of its corners to six decimals, not 37.795455000000004.
    assert (round(place.lat, 6), round(place.long, 6)) == (place.lat, place.long)


@pytest.mark.parametrize(
    ("text", "span", "near"),
    [
        # A street, corner or place followed by a transit system is its station. Before: "16th St BART"
        # and "Powell St BART" were nothing ("St" before a capital read as "Saint"), "Glen Park BART" the
        # neighbourhood (not found), "16th and Mission BART" a corner with a street called "Mission BART".
        ("homeless camp at 16th St BART", "16th St BART", "Mission St & 16th St"),
        ("someone sleeping at the 24th street bart", "24th street bart", "Mission St & 24th St"),
        ("fight at Powell St BART", "Powell St BART", "Market St & 4th St"),
        ("graffiti near Glen Park BART", "Glen Park BART", "2901 Diamond St"),
        ("trash at 16th and Mission BART", "16th and Mission BART", "Mission St & 16th St"),
        ("trash at 24th and Mission BART station", "24th and Mission BART station", "Mission St & 24th St"),
        ("broken light at Civic Center BART", "Civic Center BART", "Market St & 8th St"),
        # Below the ranker's threshold as a street ("the" before it), and after "St." with its period.
        ("graffiti at the 16th Street BART", "16th Street BART", "Mission St & 16th St"),
        ("graffiti outside 16th St. BART station", "16th St. BART station", "Mission St & 16th St"),
        # A station the city does not list is its corner.
        ("graffiti at the 5th and Market MUNI stop", "5th and Market MUNI stop", "Market St & 5th St"),
        # BART's own names: the street and the neighbourhood (before: "St Mission" read as "Saint Mission").
        (
            "homeless camp at 24th St Mission BART station",
            "24th St Mission BART station",
            "Mission St & 24th St",
        ),
        ("graffiti at 16th St Mission BART", "16th St Mission BART", "Mission St & 16th St"),
    ],
)
def test_a_street_or_corner_followed_by_a_transit_system_is_its_station(
    text: str, span: str, near: str
) -> None:
    resolver = offline()
    mention = find_location(text)
    assert mention is not None
    assert (mention.text, mention.kind) == (span, "landmark")
    reference = resolver.geocode(near)
    assert reference is not None
    assert_near(resolver.geocode(mention.normalized or mention.text), (reference.lat, reference.long), 150)


def test_a_transit_systems_buses_are_no_station() -> None:
    mention = find_location("speeding on Tremont St MBTA buses all day")
    assert mention is not None
    assert (mention.text, mention.kind) == ("Tremont St", "street")


def test_a_shop_whose_name_is_a_typo_away_from_a_street_is_not_that_street() -> None:
    pipeline = load_pipeline()
    harrys = pipeline.understand("Huge pothole right in front of Harrys, please fix")
    assert harrys.location is not None
    assert (harrys.location.text, harrys.location.kind) == ("Harrys", "landmark")
    assert harrys.place is None  # not HARRY ST
    # A street written with a typo is still corrected.
    valencia = pipeline.understand("pothole on Valenica")
    assert valencia.place is not None
    assert valencia.place.address.startswith("VALENCIA ST")
    assert valencia.place.raw["corrected"] is True
    market = pipeline.geocode("Market")
    assert market is not None
    assert market.raw["corrected"] is False


def test_coordinates_in_a_message_stay_where_they_were_written_named_by_the_nearest_address() -> None:
    pipeline = load_pipeline()
    # On Ocean Beach's path: the nearest address is tens of metres inland.
    understood = pipeline.understand("Location: 37.73547, -122.50672. Sand blocking the bike path")
    assert understood.location is not None
    assert understood.location.kind == "coordinates"
    assert understood.place is not None
    assert (understood.place.lat, understood.place.long) == (37.73547, -122.50672)
    assert understood.place.address  # the nearest address names it
    nearest = pipeline.reverse(37.73547, -122.50672)
    assert nearest is not None
    assert nearest.address == understood.place.address
    assert distance_metres(nearest.lat, nearest.long, 37.73547, -122.50672) > 20


def test_a_square_or_plaza_is_never_the_street_of_the_same_name(tmp_path: Path) -> None:
    # The bundled city without its landmarks: "Union Square" was once placed on Union St, 1.3 km away.
    for name in (ADDRESSES_FILE, INTERSECTIONS_FILE):
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    bare = OfflineGeocoder(data_dir=tmp_path)
    assert bare.landmarks == {}
    assert bare.geocode("Union Square") is None
    assert bare.geocode("Washington Square") is None
    union_street = bare.geocode("Union St")
    assert isinstance(union_street, Location)
    assert union_street.raw["kind"] == "street"


def test_another_citys_landmarks_come_from_its_own_file_and_a_bad_row_loses_only_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with gzip.open(tmp_path / ADDRESSES_FILE, "wt", encoding="utf-8") as handle:
        handle.write("number,street,lat,lon\n1,N MAIN ST,39.7817,-89.6501\n200,S 2ND ST,39.7990,-89.6540\n")
    (tmp_path / INTERSECTIONS_FILE).write_text(
        "cnn,lat,lon,streets,adjacent_cnns\n1,39.7800,-89.6500,N MAIN ST|W WASHINGTON ST,\n"
        "2,39.7820,-89.6520,N MAIN ST|W ADAMS ST,\n",
        encoding="utf-8",
    )
    (tmp_path / LANDMARKS_FILE).write_text(
        "name,aliases,where\n"
        'Old State Capitol,"Capitol Square|the Old Capitol",'
        "N MAIN ST & W WASHINGTON ST|N MAIN ST & W ADAMS ST\n"
        "Lincoln Library,,200 S 2nd St\n"
        "Nowhere Park,,ELM ST & OAK ST\n"
        "Ghost House,,999 N MAIN ST\n",
        encoding="utf-8",
    )
    geocoder = OfflineGeocoder(data_dir=tmp_path, city="Springfield, IL")
    with caplog.at_level("WARNING", logger="intents.geocoding"):
        capitol = geocoder.geocode("the old capitol, Springfield")
    assert isinstance(capitol, Location)
    assert (round(capitol.latitude, 4), round(capitol.longitude, 4)) == (39.781, -89.651)
    assert capitol.address == "Old State Capitol, Springfield, IL"
    assert capitol.raw["kind"] == "landmark"
    assert geocoder.geocode("Capitol Square") == capitol
    library = geocoder.geocode("Lincoln Library")
    assert isinstance(library, Location)
    assert (library.latitude, library.longitude) == (39.7990, -89.6540)
    # A corner that does not exist, or a house number the street does not have, is no place.
    assert geocoder.geocode("Nowhere Park") is None
    assert geocoder.geocode("Ghost House") is None
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "Nowhere Park" in warned
    assert "Ghost House" in warned
    # Saved from a spreadsheet (a byte-order mark first), the file reads the same.
    text = (tmp_path / LANDMARKS_FILE).read_text(encoding="utf-8")
    (tmp_path / LANDMARKS_FILE).write_text(text, encoding="utf-8-sig")
    assert OfflineGeocoder(data_dir=tmp_path, city="Springfield, IL").geocode("Capitol Square") == capitol
    # A file without the columns it needs says so and places nothing.
    (tmp_path / LANDMARKS_FILE).write_text("place,address\nOld State Capitol,1 N Main St\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level("ERROR", logger="intents.geocoding"):
        assert OfflineGeocoder(data_dir=tmp_path, city="Springfield, IL").geocode("Old State Capitol") is None
    assert any("no name or where column" in record.getMessage() for record in caplog.records)


def test_a_street_fixed_by_a_crossing_near_it_is_placed_at_their_corner() -> None:
    pipeline = load_pipeline()
    corner = pipeline.geocode("MISSION ST & 24TH ST")
    assert corner is not None
    past = pipeline.understand("Dumped mattress on Mission St just past 24th St since Monday")
    assert past.location is not None
    assert (past.location.text, past.location.kind) == ("Mission St just past 24th St", "intersection")
    assert_near(past.place, (corner.lat, corner.long), 1)
    # A landmark beside a street is no corner: the street is what the gazetteer knows.
    market = pipeline.understand("Trash bags on Market St across from the Ferry Building")
    assert market.location is not None
    assert market.location.kind == "street"
    assert market.location.normalized == "MARKET ST"


def test_a_corner_of_a_known_place_and_a_street_is_the_place() -> None:
    pipeline = load_pipeline()
    park = pipeline.geocode("Dolores Park")
    assert park is not None
    assert park.raw["kind"] == "landmark"
    understood = pipeline.understand("Graffiti all over the benches at Dolores Park near 18th St")
    assert understood.location is not None
    assert_near(understood.place, (park.lat, park.long), 1)
    # Two streets that never meet are still no place.
    assert pipeline.geocode("CLEMENT ST & GEARY BLVD") is None


@pytest.mark.parametrize(
    ("text", "near"),
    [
        # A street with 街 and an English avenue with its type: before, the first street alone, whose
        # middle is a kilometre or more from the corner.
        ("Judah街同33rd Ave有個大窿", "Judah St & 33rd Ave"),
        ("Anza街和25th Ave路口的红绿灯坏了", "Anza St & 25th Ave"),
        # A neighbourhood (唐人街, Chinatown) before the corner, and Cantonese 喺 ("at"): before, the
        # neighbourhood as a street, and nothing.
        ("唐人街Washington街同Grant街成地都係垃圾", "Washington St & Grant Ave"),
        ("架車泊咗成個禮拜喺Sacramento街同Powell街", "Sacramento St & Powell St"),
        # Spanish corners with the street in lower case or spelt the Spanish way: before, no place.
        ("hay un colchón en la 18 y mission", "Mission St & 18th St"),
        ("bache enorme en folsom y 24", "Folsom St & 24th St"),
        # "la calle" before a street written with its English type: before, "05TH SAINT ST", no place.
        ("Hay un bache enorme en la calle 5th St y Market St", "Market St & 5th St"),
        ("grafiti en la Misión y la 21", "Mission St & 21st St"),
        # A place by its Chinese name: before, kept in Han and found nowhere on the map.
        ("金門公園入口有好多垃圾", "Golden Gate Park"),
    ],
)
def test_spanish_and_chinese_corners_and_places_are_placed_there(text: str, near: str) -> None:
    resolver = offline()
    mention = find_location(text)
    assert mention is not None, text
    place = resolver.geocode(mention.normalized or mention.text)
    reference = resolver.geocode(near)
    assert reference is not None
    assert_near(place, (reference.lat, reference.long), 1.0)


def test_a_place_named_with_the_street_it_is_on_is_the_place_else_that_street() -> None:
    pipeline = load_pipeline()
    # Labellers mark the park alone ("Rotch Playground on Albany St"); a geocoder that does not know it
    # still finds its street. Before: the park alone, which the gazetteer does not know: no place at all.
    marcy = pipeline.understand("Needles in the grass at Marcy Park on Grove Street")
    assert marcy.location is not None
    assert (marcy.location.text, marcy.location.kind) == ("Marcy Park", "landmark")
    assert marcy.place is not None
    assert marcy.place.address.startswith("GROVE ST")
    # A place the gazetteer knows is where it is, not the middle of a long street.
    dolores = pipeline.understand("Broken swing at Dolores Park on 18th St")
    park = pipeline.geocode("Dolores Park")
    assert dolores.location is not None
    assert park is not None
    assert dolores.location.text == "Dolores Park"
    assert_near(dolores.place, (park.lat, park.long), 1)
    # A shop's name that only a typo correction makes a street is still not that street: its street is.
    harrys = pipeline.geocode("HARRYS ON VALENCIA ST")
    assert harrys is not None
    assert harrys.address.startswith("VALENCIA ST")
    # The same through a configured remote geocoder (geopy's Nominatim client over HTTP): the place first,
    # then its street, each a request of its own, never the joined form nobody's geocoder knows.
    fake = FakeNominatim(
        {
            "grove st": (37.7759, -122.4260, "Grove Street, San Francisco"),
            "dolores park": (37.7597, -122.4269, "Mission Dolores Park, San Francisco"),
        }
    )
    with live_server(fake.app()) as url:
        resolver = nominatim_at(url)
        street = resolver.geocode(marcy.location.normalized)
        known = resolver.geocode(dolores.location.normalized)
    assert street is not None
    assert street.address == "Grove Street, San Francisco"
    assert known is not None
    assert known.address == "Mission Dolores Park, San Francisco"
    asked = [params["q"] for _path, params, _agent in fake.requests]
    assert asked == ["MARCY PARK", "GROVE ST", "DOLORES PARK"]


COLUMBUS_BOUNDARY = (39.80, -83.21, 40.16, -82.77)
# Two Main Sts, Hartford's ranked first (Nominatim ranks a query's matches by importance, and an unbounded
# viewbox is only a preference), and a Grove St in Columbus, each indexed by its name and its address.
MAIN_STREETS = {
    "main st, hartford, connecticut, ct, united states": (41.7658, -72.6734, "Main Street, Hartford, CT"),
    "main st, columbus, franklin county, ohio, oh, 43215, united states": (
        39.9612,
        -82.9988,
        "Main Street, Columbus, OH",
    ),
    "grove st, columbus, franklin county, ohio, oh, united states": (
        39.9460,
        -82.9930,
        "Grove Street, Columbus, OH",
    ),
}


def test_an_online_geocoder_is_asked_for_the_place_in_the_configured_city() -> None:
    """Found by a city's IT deploying for Columbus, OH with Nominatim: the query was the street alone, so
    "Main St" was a Main St anywhere (the box sent is only a preference) and nothing let the city say which
    city it is. ``[intents.geocoder] city`` is now written after each query, once."""
    fake = FakeNominatim(dict(MAIN_STREETS))
    with live_server(fake.app()) as url:
        bare = nominatim_at(url, boundary=COLUMBUS_BOUNDARY).geocode("MAIN ST")
        resolver = nominatim_at(url, boundary=COLUMBUS_BOUNDARY, city="Columbus, OH")
        main = resolver.geocode("MAIN ST")
        cached = resolver.geocode("main st")
        written = resolver.geocode("Main St, Columbus OH 43215")
        other_state = resolver.geocode("Main St, Hartford, CT")
        on_street = resolver.geocode(f"MARCY PARK{PLACE_ON_STREET}GROVE ST")
    # Without the city, the more important Main St, 900 km away, comes first.
    assert bare is not None
    assert (bare.address, bare.inside_jurisdiction) == ("Main Street, Hartford, CT", False)
    assert main is not None
    assert (main.address, main.inside_jurisdiction) == ("Main Street, Columbus, OH", True)
    assert cached == main
    assert written == main
    assert other_state is not None
    assert other_state.address == "Main Street, Hartford, CT"
    assert on_street is not None
    assert on_street.address == "Grove Street, Columbus, OH"
    asked = [params["q"] for _path, params, _agent in fake.requests]
    assert asked == [
        "MAIN ST",
        "MAIN ST, Columbus, OH",
        # A query that already says where is sent as written.
        "Main St, Columbus OH 43215",
        "Main St, Hartford, CT",
        # Each part of a place on a street, in the city.
        "MARCY PARK, Columbus, OH",
        "GROVE ST, Columbus, OH",
    ]


def test_the_city_is_one_setting_for_every_geocoder(tmp_path: Path) -> None:
    """``[intents.geocoder] city`` reaches the pipeline the bot runs; a city written among a service's
    options is refused pointing to it, and the offline geocoder takes it as its own ``city`` option."""
    fake = FakeNominatim(dict(MAIN_STREETS))
    config = tmp_path / "columbus.toml"
    with live_server(fake.app()) as url:
        config.write_text(
            f"""[intents.geocoder]
provider = "nominatim"
city = "Columbus, OH"
min_delay_seconds = 0
boundary = {list(COLUMBUS_BOUNDARY)}
options = {{ domain = "{url.removeprefix("http://")}", scheme = "http" }}
""",
            encoding="utf-8",
        )
        pipeline = pipeline_from_settings(load_settings(config).intents)
        understood = pipeline.understand("Huge pothole on Main St")
    assert understood.place is not None
    assert understood.place.address == "Main Street, Columbus, OH"
    assert [params["q"] for _path, params, _agent in fake.requests] == ["MAIN ST, Columbus, OH"]

    config.write_text(
        '[intents.geocoder]\nprovider = "nominatim"\noptions = { city = "Columbus, OH" }\n', encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"takes no city; .* the city after each query is intents\.geocoder\.city"
    ):
        load_settings(config)

    springfield = build_geocoder(
        "offline",
        {},
        api_key=None,
        min_delay_seconds=0,
        cache_size=0,
        boundary=SF_BOUNDARY,
        city="Springfield, IL",
    )
    found = springfield.geocode("1355 Market St, Springfield")
    assert found is not None
    assert found.address == "1355 MARKET ST, Springfield, IL"
    with pytest.raises(ValueError, match="give the city once"):
        build_geocoder(
            "offline",
            {"city": "San Francisco, CA"},
            api_key=None,
            min_delay_seconds=0,
            cache_size=0,
            boundary=SF_BOUNDARY,
            city="Springfield, IL",
        )


def _limits_file(path: Path, polygon: list[tuple[float, float]]) -> Path:
    """A GeoJSON Feature whose polygon has these (lat, long) corners."""
    ring = [[long, lat] for lat, long in [*polygon, polygon[0]]]
    feature = {
        "type": "Feature",
        "properties": {"name": "city"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    return path


def test_city_limits_drawn_as_a_polygon_leave_a_town_inside_the_box_outside(tmp_path: Path) -> None:
    from intents.geocoding import CityLimits

    # San Francisco east of Divisadero only: the Sunset and Richmond stand in for a neighbouring town
    # inside the city's box, as Oak Park is inside Chicago's.
    limits = CityLimits.from_file(
        _limits_file(
            tmp_path / "limits.geojson",
            [(37.70, -122.4375), (37.70, -122.35), (37.84, -122.35), (37.84, -122.4375)],
        )
    )
    resolver = build_geocoder(
        "offline", {}, api_key=None, min_delay_seconds=0, cache_size=10, boundary=SF_BOUNDARY, limits=limits
    )
    inside_place = resolver.geocode("1355 Market St")
    town = resolver.geocode("1800 Irving St")
    assert inside_place is not None
    assert inside_place.inside_jurisdiction
    assert town is not None
    assert not town.inside_jurisdiction  # inside the box: before, inside the city
    shared = resolver.reverse(37.7636, -122.4760)  # a resident's GPS point in the Sunset
    assert shared is not None
    assert not shared.inside_jurisdiction
    assert limits.box == pytest.approx((37.70, -122.4375, 37.84, -122.35))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not JSON"),
        ('{"type": "Point", "coordinates": [-122.4, 37.7]}', "no GeoJSON Polygon or MultiPolygon"),
        ('{"type": "Polygon", "coordinates": [[[-122.4, 37.7], [-122.4, 37.7], [-122.4, 37.7]]]}', "no area"),
    ],
)
def test_a_limits_file_the_bot_cannot_use_is_refused_at_start_up_naming_the_key(
    content: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_"):
            monkeypatch.delenv(name)
    (tmp_path / "limits.geojson").write_text(content, encoding="utf-8")
    config = tmp_path / "city.toml"
    # A path relative to the configuration file, as the other files' are.
    config.write_text(
        'data_dir = "data"\n[intents.geocoder]\nboundary_file = "limits.geojson"\n', encoding="utf-8"
    )

    assert main(["--config", str(config), "serve", "--check"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("open311-bot: configuration error: intents.geocoder"), error
    assert "limits.geojson" in error
    assert expected in error
    assert "Traceback" not in error


def test_a_usable_limits_file_gives_the_box_and_passes_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from bot.config import load_settings

    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_"):
            monkeypatch.delenv(name)
    _limits_file(tmp_path / "limits.geojson", [(37.70, -122.4375), (37.70, -122.35), (37.84, -122.4375)])
    config = tmp_path / "city.toml"
    config.write_text(
        'data_dir = "data"\n[intents.geocoder]\nboundary_file = "limits.geojson"\n', encoding="utf-8"
    )
    settings = load_settings(config)
    assert settings.intents.geocoder.boundary == pytest.approx([37.70, -122.4375, 37.84, -122.35])
    assert main(["--config", str(config), "serve", "--check"]) == 0, capsys.readouterr().err


def test_limits_far_from_the_box_are_refused_rather_than_every_point_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chicago's limits with San Francisco's box, copied from the example file."""
    from bot.cli import main

    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_"):
            monkeypatch.delenv(name)
    _limits_file(
        tmp_path / "chicago.geojson", [(41.64, -87.94), (41.64, -87.52), (42.02, -87.52), (42.02, -87.94)]
    )
    config = tmp_path / "city.toml"
    config.write_text(
        'data_dir = "data"\n[intents.geocoder]\nboundary = [37.70, -122.52, 37.84, -122.35]\n'
        'boundary_file = "chicago.geojson"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "serve", "--check"]) == 2
    error = capsys.readouterr().err
    assert "intents.geocoder" in error
    assert "do not overlap" in error


@pytest.mark.usefixtures("city_street_names")
def test_the_finder_knows_the_configured_citys_street_names(tmp_path: Path) -> None:
    corner = "potholes all over halsted and madison, blew a tire"
    assert find_location(corner) is None  # no place cue, and HALSTED is on neither bundled list
    names = tmp_path / "chicago-streets.txt"
    names.write_text("# Chicago\nN Halsted St\nW Madison St\nS Cottage Grove Ave\n", encoding="utf-8")
    pipeline = load_pipeline(street_names_file=names)
    understood = pipeline.understand(corner)
    assert understood.location is not None
    assert (understood.location.text, understood.location.kind) == ("halsted and madison", "intersection")
    # A gazetteer of the city's own (the offline geocoder's data_dir) brings its names too.
    (tmp_path / "gazetteer").mkdir()
    with gzip.open(tmp_path / "gazetteer" / "addresses.csv.gz", "wt", encoding="utf-8") as handle:
        handle.write("number,street,lat,lon\n100,N KEDZIE AVE,41.88,-87.70\n")
    (tmp_path / "gazetteer" / "intersections.csv").write_text(
        "cnn,lat,lon,streets,adjacent_cnns\n1,41.88,-87.70,N KEDZIE AVE|W LAKE ST,\n", encoding="utf-8"
    )
    assert find_location("kedzie and lake is flooded again") is None
    load_pipeline(
        geocoder_options={"data_dir": str(tmp_path / "gazetteer")}, boundary=(41.6, -88.0, 42.1, -87.5)
    )
    found = find_location("kedzie and lake is flooded again")
    assert found is not None
    assert found.normalized == "KEDZIE & LAKE"


def test_a_street_names_file_the_bot_cannot_read_is_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name in list(os.environ):
        if name.startswith("OPEN311_BOT_"):
            monkeypatch.delenv(name)
    config = tmp_path / "city.toml"
    for content, expected in (
        (None, "cannot read"),
        (b"# nothing here\n", "names no street"),
        (b"\xff\xfe", "UTF-8"),
    ):
        names = tmp_path / "streets.txt"
        names.unlink(missing_ok=True)
        if content is not None:
            names.write_bytes(content)
        config.write_text(
            'data_dir = "data"\n[intents]\nstreet_names_file = "streets.txt"\n', encoding="utf-8"
        )
        assert main(["--config", str(config), "serve", "--check"]) == 2
        error = capsys.readouterr().err
        assert error.startswith("open311-bot: configuration error: intents.street_names_file: "), error
        assert expected in error
        assert "Traceback" not in error


def toronto(directory: Path) -> PlaceResolver:
    return build_geocoder(
        "offline",
        {"data_dir": str(toronto_gazetteer(directory)), "city": TORONTO_CITY},
        api_key=None,
        min_delay_seconds=0,
        cache_size=10,
        boundary=TORONTO_BOUNDARY,
    )


@pytest.mark.parametrize(
    ("query", "address", "point"),
    [
        # The direction left out, where only one of the street's directions meets the other street.
        ("Yonge and Dundas", "YONGE ST & DUNDAS ST E", (43.6561, -79.3806)),
        ("Yonge St at Dundas", "YONGE ST & DUNDAS ST E", (43.6561, -79.3806)),
        ("Queen and Bay", "QUEEN ST W & BAY ST", (43.6523, -79.3819)),
        ("Queen St and Bay St", "QUEEN ST W & BAY ST", (43.6523, -79.3819)),
        ("Dundas and Spadina", "DUNDAS ST W & SPADINA AVE", (43.6530, -79.3975)),
        ("King and University", "KING ST W & UNIVERSITY AVE", (43.6476, -79.3848)),
        # Both directions meet it at one corner (a row naming both, or two rows a metre apart).
        ("Bloor and Yonge", "BLOOR ST E & YONGE ST", (43.6710, -79.3860)),
        ("Queen and Yonge", "QUEEN ST E & YONGE ST", (43.6527, -79.3790)),
        # The direction written, however it is written.
        ("Bloor West and Yonge", "BLOOR ST W & YONGE ST", (43.6710, -79.3860)),
        ("West Queen St & Bay", "QUEEN ST W & BAY ST", (43.6523, -79.3819)),
        ("10 Dundas E", "10 DUNDAS ST E", (43.6561, -79.3802)),
        ("10 Dundas Street East", "10 DUNDAS ST E", (43.6561, -79.3802)),
        ("100 Queen Street West", "100 QUEEN ST W", (43.6525, -79.3838)),
        ("2 Bloor St West, Toronto", "2 BLOOR ST W", (43.6708, -79.3865)),
        # A house number only one direction has.
        ("10 Dundas St", "10 DUNDAS ST E", (43.6561, -79.3802)),
        ("500 Dundas", "500 DUNDAS ST W", (43.6530, -79.3980)),
    ],
)
def test_a_direction_after_the_street_type_may_be_left_out_where_one_street_fits(
    tmp_path: Path, query: str, address: str, point: tuple[float, float]
) -> None:
    place = toronto(tmp_path / "gaz").geocode(query)
    assert place is not None, query
    assert (place.address, (place.lat, place.long)) == (f"{address}, Toronto, ON", point)
    assert place.raw["exact"] is True
    assert "alternatives" not in place.raw


def test_a_direction_left_out_where_several_streets_fit_is_no_silent_guess(tmp_path: Path) -> None:
    resolver = toronto(tmp_path / "gaz")
    # 100 Queen St E and 100 Queen St W both exist: the first is offered, not exact (the bot asks "Is it at
    # 100 QUEEN ST E?", as for a house number the street lacks), and the other is named.
    for query, first, other in (
        ("100 Queen St", "100 QUEEN ST E", "100 QUEEN ST W"),
        ("100 Queen Street", "100 QUEEN ST E", "100 QUEEN ST W"),
        ("2 Bloor", "2 BLOOR ST E", "2 BLOOR ST W"),
        # A direction written first is left out the same way ("8th" for E 08TH ST and W 08TH ST).
        ("100 8th St", "100 E 08TH ST", "100 W 08TH ST"),
        # Main St crosses both halves of Dundas, 8 km apart.
        ("Main and Dundas", "MAIN ST & DUNDAS ST E", "MAIN ST & DUNDAS ST W"),
    ):
        place = resolver.geocode(query)
        assert place is not None, query
        assert (place.address, place.raw["exact"], place.raw["alternatives"]) == (
            f"{first}, Toronto, ON",
            False,
            [other],
        ), query
    # Written with its direction, each is the one meant.
    for query, address in (
        ("100 Queen St E", "100 QUEEN ST E"),
        ("100 Queen St W", "100 QUEEN ST W"),
        ("100 W 8th St", "100 W 08TH ST"),
        ("Main and Dundas St W", "MAIN ST & DUNDAS ST W"),
    ):
        place = resolver.geocode(query)
        assert place is not None, query
        assert (place.address, place.raw["exact"]) == (f"{address}, Toronto, ON", True), query


def test_a_toronto_gazetteer_through_geopy_forward_and_reverse(tmp_path: Path) -> None:
    geocoder = OfflineGeocoder(data_dir=toronto_gazetteer(tmp_path / "gaz"), city=TORONTO_CITY)
    location = geocoder.geocode("Queen and Bay")
    assert isinstance(location, Location)
    assert (location.address, location.latitude, location.longitude) == (
        "QUEEN ST W & BAY ST, Toronto, ON",
        43.6523,
        -79.3819,
    )
    back = geocoder.reverse((43.65251, -79.38381))
    assert isinstance(back, Location)
    assert back.address == "100 QUEEN ST W, Toronto, ON"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("pothole at 10 Dundas Street East", "10 Dundas Street East"),
        ("100 Queen Street West is flooded", "100 Queen Street West"),
        ("graffiti at 2 Bloor St West, Toronto", "2 Bloor St West"),
        ("broken light at 10 Dundas St. East", "10 Dundas St. East"),
        ("10 dundas street east", "10 dundas street east"),
        ("Queen Street East and Broadview Avenue has a pothole", "Queen Street East and Broadview Avenue"),
        ("pothole at Yonge and Dundas Street East", "Yonge and Dundas Street East"),
        ("Corner of Melrose St and Charles St South is always icy", "Melrose St and Charles St South"),
        # A direction that opens a name or a phrase stays out: Boston's neighbourhoods, "north and south of".
        ("123 Saratoga St East Boston", "123 Saratoga St"),
        ("15 moore st East boston 2 hour parking limit", "15 moore st"),
        ("intersection of Grove and Centre st. West roxbury", "Grove and Centre st"),
        ("trees on Washington St north and south of Tower St", "Washington St"),
        ("Main St North of the bridge", "Main St"),
    ],
)
def test_the_finder_keeps_a_direction_written_after_the_street_type(text: str, span: str) -> None:
    found = find_location(text)
    assert found is not None, text
    assert without_corner_cue(found.text) == span


@pytest.mark.usefixtures("city_street_names")
def test_a_toronto_gazetteer_places_corners_written_without_directions(tmp_path: Path) -> None:
    pipeline = load_pipeline(
        geocoder_options={"data_dir": str(toronto_gazetteer(tmp_path / "gaz")), "city": TORONTO_CITY},
        boundary=TORONTO_BOUNDARY,
    )
    for text, span, address in (
        ("pothole on Yonge St at Dundas", "Yonge St at Dundas", "YONGE ST & DUNDAS ST E"),
        ("Queen and Bay", "Queen and Bay", "QUEEN ST W & BAY ST"),
        ("streetlight out at Bloor West and Yonge", "Bloor West and Yonge", "BLOOR ST W & YONGE ST"),
        ("graffiti, 100 Queen Street West", "100 Queen Street West", "100 QUEEN ST W"),
        # Lower case and with no cue: a corner of names the gazetteer brings (DUNDAS of DUNDAS ST W).
        ("potholes all over dundas and spadina", "dundas and spadina", "DUNDAS ST W & SPADINA AVE"),
    ):
        understood = pipeline.understand(text)
        assert understood.location is not None, text
        assert understood.place is not None, text
        assert (understood.location.text, understood.place.address) == (span, f"{address}, Toronto, ON")
