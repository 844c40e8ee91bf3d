"""Geocoding through geopy: the offline San Francisco geocoder, and any other geopy geocoder by name.

``OfflineGeocoder`` is a real geopy geocoder (forward and reverse, returning ``geopy.location.Location``)
over the bundled gazetteer, so code written for geopy works with it unchanged. ``build_geocoder`` turns
configuration into a ``PlaceResolver``: the one object the rest of the project asks "where is this?",
which answers with ``intents.types.Place`` and says whether the point is inside the jurisdiction.
"""

from __future__ import annotations

import csv
import inspect
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import shapely
import shapely.errors
import shapely.geometry
from geopy.adapters import AdapterHTTPError, RequestsAdapter
from geopy.exc import GeocoderQueryError, GeocoderServiceError, GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders import options as geopy_options
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point as GeoPoint

from bot.backoff import Backoff
from intents.gazetteer import (
    ADDRESSES_FILE,
    DATA_DIR,
    INTERSECTIONS_FILE,
    Gazetteer,
    default_gazetteer,
    load_gazetteer,
    load_index,
)
from intents.street_names import common_words
from intents.streets import (
    DIRECTIONALS,
    SUFFIXES,
    TRANSIT_SYSTEMS,
    normalize_street,
    ordinal_token,
    split_suffix,
)
from intents.types import PLACE_ON_STREET, GeocodingUnavailable, Place

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

Boundary = tuple[float, float, float, float]

OFFLINE_PROVIDER = "offline"
DEFAULT_CITY = "San Francisco, CA"
# geopy geocoders name their key argument differently; the first one a geocoder accepts is used.
API_KEY_ARGUMENTS = ("api_key", "apikey", "key", "access_token", "auth_id")
DEFAULT_USER_AGENT = "open311-bot"
# Farther than this from every address, reverse geocoding finds no address (the point is elsewhere).
MAX_REVERSE_DISTANCE_M = 500.0

# ", CA 94103", " MA 02135", " 94103", ", USA": the state, ZIP and country at the end of a query. A bare
# two-letter state needs its comma or its ZIP: "5 Mint Ct" ends in a street suffix, not Connecticut.
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|California|Massachusetts|Illinois|New York|Texas"
)
_ZIP = r"\d{5}(?:-\d{4})?"
_STATE_TAIL = re.compile(
    rf"(?:,\s*(?:{_STATES})\.?(?:\s+{_ZIP})?|\s+(?:{_STATES})\.?\s+{_ZIP}|,?\s*{_ZIP}"
    r"|,\s*(?:USA|United States))\s*$",
    re.IGNORECASE,
)


def city_tail(city: str) -> re.Pattern[str]:
    """ "…, San Francisco" / "… SF" / "… S.F." for the city "San Francisco, CA": the city part of a query,
    with everything after it."""
    name = city.split(",")[0].strip()
    words = name.split()
    spellings = [r"\s+".join(re.escape(word) for word in words)] if words else []
    if len(words) > 1:  # "SF", "S.F." for a two-word name
        spellings.append(r"\.?".join(re.escape(word[0]) for word in words) + r"\.?")
    if not spellings:
        return re.compile(r"(?!x)x")  # matches nothing
    # Only a state, a ZIP code or the country may follow: "San Francisco Golf Club Road" is a street.
    rest = rf"(?=[\s,.]*(?:(?:{_STATES}|USA|U\.S\.A?|United States|{_ZIP})\b\.?[\s,.]*)*$)"
    return re.compile(r"(?:,|\s)\s*(?:" + "|".join(spellings) + r")\b" + rest + ".*$", re.IGNORECASE)


_DEFAULT_CITY_TAIL = city_tail(DEFAULT_CITY)
_CORNER_OF = re.compile(r"^.*?\b(?:corner|intersection|crossing|junction)\s+of\s+", re.IGNORECASE)
# "Kirkham and 27th Ave intersection": the word after a corner says what it is.
_CORNER_AFTER = re.compile(r"\s+(?:intersection|corner|crossing)$", re.IGNORECASE)
_LEADING_WORDS = re.compile(
    r"^\s*(?:at|on|near|in front of|across from|outside(?: of)?|next to|behind|by)\s+(?:the\s+)?",
    re.IGNORECASE,
)
# "Apt 3, 1395 Van Ness Ave": the unit written first.
_LEADING_UNIT = re.compile(r"^\s*(?:apt|apartment|unit|suite|ste|#)\.?\s*#?\s*[\w-]+\s*,\s*(?=\d)", re.I)
# "Apt 4-B", "Ste. 300", "#3", "St#3"; a unit word is a whole word ("3011 Steiner", "1443 Florida").
_UNIT = re.compile(
    r"(?:(?:,\s*|\s+)(?:apt|apartment|unit|suite|ste|fl|floor|room|rm)\b\.?\s*#?|\s*#)\s*[\w-]+\s*$", re.I
)
# "So. Van Ness": "So." is South only with its period ("so" is a word).
_SO_DOT = re.compile(r"\bso\.\s*(?=\w)", re.IGNORECASE)
_BLOCK = re.compile(r"^\s*(\d+)\s+block\s+(?:of\s+)?", re.IGNORECASE)
# "n" joins two streets only in lower case ("Melnea Cass n Clarendon"); "N" is north.
# "Clement cross st 38th", "Surrey St (cross st Ohlone Way)", "Mary Teresa St, cross street Megan Dr": an
# app's "cross street" field written into the text.
_CONNECTOR = re.compile(
    r"\s*(?:&|\+|@|/|\\|,?\s+cross\s+(?:st\.?|street)\s|\s(?:and|at|x|y|near)\s|\s(?-i:n)\s)\s*",
    re.IGNORECASE,
)
# "24 ave", "9 st": a numbered street written without its ordinal's ending.
_BARE_NUMBERED = re.compile(r"^(\d{1,2})\s+(ave|av|avenue|st|street)\b\.?$", re.IGNORECASE)
# "ave. m", "av i": Avenue written short before a letter (Treasure Island's AVENUE M).
_SHORT_AVENUE_FIRST = re.compile(r"^av(?:e|enue)?\.?\s+(?=[A-Za-z]$)", re.IGNORECASE)
# "Mission St between 16th and 17th", "Valencia from 16th to 17th": a stretch of one street.
_SEGMENT = re.compile(
    r"^(?P<street>.+?)\s+(?:between|btwn|btw|from)\s+(?P<first>.+?)\s+(?:and|&|to|y)\s+(?P<second>.+)$",
    re.IGNORECASE,
)
# "452 Hanover St", "221B Baker St", "1513-1515 Hyde Park Ave" (a letter belongs to the number only when
# attached to it: "102 N Main St" is North Main).
_ADDRESS = re.compile(r"^\s*#?\s*(\d{1,6})[A-Za-z]?(?:\s*[-–]\s*\d{1,6}[A-Za-z]?)?\s*,?\s+(\S.*)$")


# Places residents name instead of an address ("Dolores Park", "Union Square"), in the gazetteer's
# directory: name, aliases ("|"-joined), where (an address, or corners "A & B|C & D" whose mean is the place).
LANDMARKS_FILE = "landmarks.csv"
# "16th St BART station", "Civic Center Plaza": a word after a place's name that names no other place.
_LANDMARK_TAILS = frozenset({"PLZ", "STATION", "STA", "STOP", "ENTRANCE"})
# Street types that name a place, not a street: "Union Square" is no stretch of Union St.
_PLACE_SUFFIXES = frozenset({"SQ", "PLZ"})


def landmark_key(text: str) -> str:
    """The form a place's name is looked up in: "the Union Square" and "union sq" meet at "UNION SQ",
    "16th Street BART" and "16th St BART" at "16TH ST BART" (every word a street type is spelt short,
    "Saint" too), "16th & Mission BART" and "16th and Mission BART" at "16TH MISSION BART"."""
    words = [
        SUFFIXES.get(word, "ST" if word == "SAINT" else word)
        for word in normalize_street(text).split()
        if word != "AND"  # normalize_street drops "&"
    ]
    return " ".join(words[1:] if words[:1] == ["THE"] else words)


@dataclass(frozen=True, slots=True)
class Landmark:
    name: str
    lat: float
    long: float


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    kind: Literal["address", "intersection", "street", "segment"]
    streets: tuple[str, ...]
    number: int | None = None


def parse_query(query: str, tail: re.Pattern[str] = _DEFAULT_CITY_TAIL) -> ParsedQuery | None:
    """Splits a written place into an address (number + street), an intersection (two streets), a stretch
    of street or a street: "1355 market street, SF" / "corner of 16th & Valencia" / "Mission St between
    16th and 17th" / "Valencia St". ``tail`` matches the city's name at the end (see ``city_tail``)."""
    text = " ".join(query.replace("’", "'").replace("(", " ").replace(")", " ").split())
    text = text.rstrip(" ?!")  # "Federal St & Rincon St, SF, CA?"
    previous = None
    while previous != text:  # "..., San Francisco, CA 94103, USA"
        previous = text
        text = _STATE_TAIL.sub("", tail.sub("", text))
    text = _UNIT.sub("", text)
    text = _LEADING_UNIT.sub("", text)
    text = _SO_DOT.sub("South ", text)
    text = _CORNER_OF.sub("", text)
    text = _CORNER_AFTER.sub("", text)
    text = _LEADING_WORDS.sub("", text)
    text = _without_leading_the(text)
    text = _BLOCK.sub(r"\1 ", text)
    text = text.strip(" ,.;:")
    if not text:
        return None
    segment = _SEGMENT.match(text)
    if segment:
        streets = tuple(segment.group(name).strip(" ,.") for name in ("street", "first", "second"))
        return ParsedQuery("segment", streets)
    parts = [_street_part(part) for part in _CONNECTOR.split(text, maxsplit=1)]
    # "102 n main st": a lone number before the connector is a house number, not a street.
    if len(parts) == 2 and all(parts) and not parts[0].isdigit():
        first, second = parts
        # "452 Hanover St & Market" is an address on a street that also names the corner.
        address = _ADDRESS.match(first)
        if address:
            return ParsedQuery("address", (address.group(2), second), int(address.group(1)))
        return ParsedQuery("intersection", (first, second))
    address = _ADDRESS.match(text)
    if address:
        return ParsedQuery(
            "address", (_through_suffix(address.group(2).strip(" ,.")),), int(address.group(1))
        )
    return ParsedQuery("street", (_through_suffix(text),))


def _street_part(part: str) -> str:
    """One side of a corner as a street name: "9th St. on Treasure Island" -> "9th St.", "tenth, ti" ->
    "tenth" (what follows a comma or the street's type names the area), "24 ave" -> "24TH ave", "ave. m" ->
    "Avenue m"."""
    part = part.split(",")[0].strip(" ,.")
    part = _through_suffix(part)
    bare = _BARE_NUMBERED.match(part)
    if bare:
        part = f"{ordinal_token(int(bare.group(1)))} {bare.group(2)}"
    return _SHORT_AVENUE_FIRST.sub("Avenue ", part)


def _through_suffix(street: str) -> str:
    """ "Sidlaw Rd Brighton" -> "Sidlaw Rd": words after the street's suffix (a neighbourhood, a town)
    are not part of its name; a directional is ("Main St NW")."""
    words = street.split()
    for index in range(len(words) - 1, 0, -1):
        if words[index].upper().strip(".") in SUFFIXES:
            rest = words[index + 1 :]
            if rest and not all(word.upper().strip(".") in DIRECTIONALS for word in rest):
                return " ".join(words[: index + 1])
            return street
    return street


class OfflineGeocoder(Geocoder):  # type: ignore[misc]  # geopy is untyped
    """geopy's geocoder interface over a city gazetteer (by default the bundled San Francisco one).

    ``geocode("5th and Market")`` / ``geocode("1355 market street")`` return a ``Location`` whose ``raw``
    says what matched (``kind``: address | intersection | street, ``exact``); ``reverse((lat, long))``
    returns the nearest street address, with ``raw["distance_m"]``.
    """

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        city: str = DEFAULT_CITY,
        data_dir: Path | None = None,
        max_reverse_distance_m: float = MAX_REVERSE_DISTANCE_M,
        timeout: Any = DEFAULT_SENTINEL,
        user_agent: str | None = None,
    ) -> None:
        super().__init__(timeout=timeout, user_agent=user_agent or DEFAULT_USER_AGENT)
        self._gazetteer = gazetteer
        # Another city's gazetteer: a directory with addresses.csv.gz and intersections.csv (and optionally
        # landmarks.csv).
        self._data_dir = data_dir
        self._landmarks: dict[str, Landmark] | None = None
        self.city = city
        self._tail = city_tail(city)
        self.max_reverse_distance_m = max_reverse_distance_m

    @property
    def gazetteer(self) -> Gazetteer:
        # Loaded at first use, not at construction: building a resolver from configuration stays cheap.
        if self._gazetteer is None:
            if self._data_dir is None:
                self._gazetteer = default_gazetteer()
            else:
                index = self._data_dir / "gazetteer.npz"
                self._gazetteer = load_index(index, self._data_dir) or load_gazetteer(self._data_dir)
        return self._gazetteer

    def geocode(
        self, query: str | dict[str, str], *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL
    ) -> Location | list[Location] | None:
        if isinstance(query, dict):
            query = ", ".join(str(value) for value in query.values())
        location = self._geocode_one(query)
        if location is None:
            return None
        return location if exactly_one else [location]

    @property
    def landmarks(self) -> dict[str, Landmark]:
        """Named places by ``landmark_key`` of their names and aliases, located at first use through the
        gazetteer itself (no coordinate is typed by hand). A row that does not resolve is logged and left
        out: the rest of the city still geocodes."""
        if self._landmarks is None:
            path = (self._data_dir or DATA_DIR) / LANDMARKS_FILE
            self._landmarks = self._load_landmarks(path) if path.exists() else {}
        return self._landmarks

    def _load_landmarks(self, path: Path) -> dict[str, Landmark]:
        found: dict[str, Landmark] = {}
        # utf-8-sig: a file saved from a spreadsheet often starts with a byte-order mark.
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"name", "where"} - set(reader.fieldnames or ())
            if missing:
                log.error("%s: no %s column; no landmark is used", path, " or ".join(sorted(missing)))
                return found
            for row in reader:
                name = (row.get("name") or "").strip()
                point = self._landmark_point(row.get("where") or "")
                if not name or point is None:
                    log.warning("%s: cannot place %r (where=%r); left out", path, name, row.get("where"))
                    continue
                landmark = Landmark(name, *point)
                for alias in [name, *(row.get("aliases") or "").split("|")]:
                    if alias.strip():
                        found.setdefault(landmark_key(alias), landmark)
        return found

    def _landmark_point(self, where: str) -> tuple[float, float] | None:
        """An exact street address, or the mean of corners ("A & B|C & D") that all exist."""
        parts = [part.strip() for part in where.split("|") if part.strip()]
        points = []
        for part in parts:
            location = self._geocode_streets(part)
            if location is None:
                return None
            kind, exact = location.raw.get("kind"), location.raw.get("exact")
            corner = len(parts) > 1 or "&" in part
            if (corner and kind != "intersection") or (not corner and (kind != "address" or not exact)):
                return None
            points.append((location.latitude, location.longitude))
        if not points:
            return None
        return _mean([p[0] for p in points]), _mean([p[1] for p in points])

    def _landmark(self, query: str) -> Location | None:
        landmarks = self.landmarks
        if not landmarks:
            return None
        key = landmark_key(self._tail.sub("", query))
        landmark = landmarks.get(key)
        if landmark is None and " " in key and key.rsplit(" ", 1)[1] in _LANDMARK_TAILS:
            landmark = landmarks.get(key.rsplit(" ", 1)[0])
        if landmark is None:
            return None
        raw = {"kind": "landmark", "name": landmark.name, "exact": True}
        return self._location(landmark.name, landmark.lat, landmark.long, raw)

    def _geocode_one(self, query: str) -> Location | None:
        found = self._landmark(query) or self._geocode_streets(query) or self._landmark_of_corner(query)
        if found is None and (station_at := _without_transit_system(query)):
            # "16th & Mission BART", "Park St MBTA" where no such station is listed: its street or corner.
            return self._geocode_one(station_at)
        return found

    def _landmark_of_corner(self, query: str) -> Location | None:
        """A corner the gazetteer does not have, one side of which is a place it knows, read as a street by
        the corner pattern ("Dolores Park near 18th St"): the place is where the resident means. Not inside
        ``_geocode_streets``: loading the landmarks resolves their own corners through it."""
        parsed = parse_query(query, self._tail)
        if parsed is None or parsed.kind != "intersection":
            return None
        return next((place for side in parsed.streets if (place := self._landmark(side))), None)

    def _geocode_streets(self, query: str) -> Location | None:
        parsed = parse_query(query, self._tail)
        if parsed is None:
            return None
        gazetteer = self.gazetteer
        if parsed.kind == "segment":
            return self._segment(*parsed.streets)
        if parsed.kind == "intersection":
            first, second = (gazetteer.resolve_street(street) for street in parsed.streets)
            corner = gazetteer.intersection(first, second)
            if corner is None:
                return None
            a, b, point = corner
            # A direction left out ("Dundas and Spadina" for DUNDAS ST W) is taken where only one of the
            # street's directions meets the other; where several do far apart, the first is a guess, not
            # exact (the bot asks), and the others are named.
            others = gazetteer.other_corners(corner, first, second)
            raw = {"kind": "intersection", "streets": [a, b], "exact": not others}
            if others:
                raw["alternatives"] = [f"{x} & {y}" for x, y, _point in others]
            return self._location(f"{a} & {b}", point.lat, point.long, raw)
        if parsed.kind == "address" and parsed.number is not None:
            streets = gazetteer.resolve_street(parsed.streets[0])
            hit = gazetteer.address(parsed.number, streets)
            if hit is None:
                return None
            raw = {
                "kind": "address",
                "number": hit.number,
                "street": hit.street,
                # "100 Queen St" where QUEEN ST E and QUEEN ST W both have a 100: a guess, so not exact.
                "exact": hit.exact and not hit.alternatives,
            }
            if hit.alternatives:
                raw["alternatives"] = [f"{hit.number} {street}" for street in hit.alternatives]
            return self._location(f"{hit.number} {hit.street}", hit.point.lat, hit.point.long, raw)
        streets = gazetteer.resolve_street(parsed.streets[0])
        if not streets:
            return None
        # "Union Square", "Hallidie Plaza": a square or plaza the gazetteer has no street of is a place
        # (a landmark, or unknown), not the street of the same name.
        suffix = split_suffix(normalize_street(parsed.streets[0]))[1]
        if suffix in _PLACE_SUFFIXES and split_suffix(streets[0])[1] != suffix:
            return None
        corrected = not gazetteer.spelled_as_known(parsed.streets[0])
        if not suffix and _everyday_words(parsed.streets[0]):
            # "here", "home", "near here": everyday words, not a slip in a street's name (HARE ST, HOMER ST).
            if corrected:
                return None
            # "near the church", "by the school": the building, not Church St or School Alley ("on Church",
            # with no article, is the street).
            if re.search(rf"\bthe\s+{re.escape(parsed.streets[0])}\W*$", query, re.IGNORECASE):
                return None
        middle = gazetteer.street_point(streets[0])
        if middle is None:
            return None
        raw = {
            "kind": "street",
            "street": streets[0],
            "exact": False,
            # Reached only by correcting a typo: for a word that names a shop or a place ("Harrys"), the
            # street of a similar name is a guess (``Pipeline.place_of`` drops it for a landmark).
            "corrected": corrected,
        }
        return self._location(streets[0], middle.lat, middle.long, raw)

    def _segment(self, street: str, first: str, second: str) -> Location | None:
        """The middle of a stretch of street between two cross streets (one end if only one is known)."""
        gazetteer = self.gazetteer
        names = gazetteer.resolve_street(street)
        corners = [
            gazetteer.intersection(names, gazetteer.resolve_street(cross)) for cross in (first, second)
        ]
        found = list({corner[1]: corner for corner in corners if corner is not None}.values())
        if not found:
            return None
        lat = _mean([corner[2].lat for corner in found])
        long = _mean([corner[2].long for corner in found])
        crosses = [corner[1] for corner in found]
        exact = len(found) == 2 or (len(crosses) == 1 and first.strip().upper() == second.strip().upper())
        raw = {"kind": "segment", "street": found[0][0], "between": crosses, "exact": exact}
        if len(found) == 1:
            # One end on the map ("between 16th and 30th": 30th never meets Valencia), or both ends the same
            # cross: that corner, named as one (it read "VALENCIA ST between 16TH ST", or "between 16TH ST &
            # 16TH ST"); with an end not found it is not exact, so the bot asks.
            return self._location(f"{found[0][0]} & {crosses[0]}", lat, long, raw)
        return self._location(f"{found[0][0]} between {' & '.join(crosses)}", lat, long, raw)

    def reverse(
        self, query: Any, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL
    ) -> Location | list[Location] | None:
        point = GeoPoint(query)
        number, street, found, distance = self.gazetteer.nearest_address(point.latitude, point.longitude)
        if distance > self.max_reverse_distance_m:
            return None  # no address of this gazetteer is near: the point is somewhere else
        raw = {"kind": "address", "number": number, "street": street, "distance_m": round(distance, 1)}
        location = self._location(f"{number} {street}", found.lat, found.long, raw)
        return location if exactly_one else [location]

    def _location(self, name: str, lat: float, long: float, raw: dict[str, Any]) -> Location:
        address = f"{name}, {self.city}" if self.city else name
        return Location(address, (lat, long), raw)


class PlaceResolver(Protocol):
    """What the project asks "where is this?": forward and reverse geocoding into ``Place``."""

    def geocode(self, query: str) -> Place | None:
        """The place, or None when it is not on the map; raises ``GeocodingUnavailable`` when the service
        failed to say."""
        ...

    def reverse(self, lat: float, long: float) -> Place | None:
        """The nearest address, or the point itself when the service knows none or failed."""
        ...


def inside(boundary: Boundary, lat: float, long: float) -> bool:
    south, west, north, east = boundary
    return south <= lat <= north and west <= long <= east


class CityLimits:
    """A city's limits drawn as a GeoJSON polygon (a Polygon or MultiPolygon, bare or in a Feature or
    FeatureCollection): a city is no box, and a neighbouring town inside its box is not the city."""

    def __init__(self, geometry: BaseGeometry, source: str) -> None:
        self.source = source
        self._geometry = geometry
        shapely.prepare(geometry)  # many points are tested against one shape

    @classmethod
    def from_file(cls, path: Path) -> CityLimits:
        """Read ``path``; a ValueError names the file and what is wrong with it."""
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from exc
        geometries = _polygons(document)
        if not geometries:
            raise ValueError(f"{path} holds no GeoJSON Polygon or MultiPolygon")
        try:
            shapes = [shapely.geometry.shape(geometry) for geometry in geometries]
        except (ValueError, TypeError, KeyError, IndexError, shapely.errors.ShapelyError) as exc:
            raise ValueError(f"{path}: not a GeoJSON polygon: {exc}") from exc
        union = shapely.union_all(shapes)
        if union.is_empty or union.area == 0:
            raise ValueError(f"{path}: the polygon encloses no area")
        return cls(union, str(path))

    @property
    def box(self) -> Boundary:
        """[south, west, north, east] around the limits."""
        west, south, east, north = self._geometry.bounds
        return (south, west, north, east)

    def contains(self, lat: float, long: float) -> bool:
        # GeoJSON is (longitude, latitude); a point on the line is inside.
        return bool(shapely.intersects_xy(self._geometry, long, lat))


def _polygons(document: object) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    kind = document.get("type")
    if kind in {"Polygon", "MultiPolygon"}:
        return [document]
    if kind == "Feature":
        return _polygons(document.get("geometry"))
    if kind == "FeatureCollection" and isinstance(document.get("features"), list):
        return [polygon for feature in document["features"] for polygon in _polygons(feature)]
    if kind == "GeometryCollection" and isinstance(document.get("geometries"), list):
        return [polygon for geometry in document["geometries"] for polygon in _polygons(geometry)]
    return []


class _LruCache:
    """A small least-recently-used map. ``None`` answers are cached too (a miss stays a miss); answers
    given while the service failed are not (``compute`` says whether its answer may be kept)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[object, Place | None] = OrderedDict()
        # Web workers share one resolver; the lookup is not held while a remote service answers.
        self._lock = threading.Lock()

    def get_or_compute(self, key: object, compute: Callable[[], tuple[Place | None, bool]]) -> Place | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value, keep = compute()
        if self._size <= 0 or not keep:
            return value
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


# A lookup that fails is tried this many more times at once before the service counts as not answering.
RETRIES = 2
# After a second failed lookup in a row the service is left alone this long, longer each time it still
# fails; lookups meanwhile answer "unavailable" at once (a circuit breaker).
OUTAGE_PAUSES = Backoff(first_seconds=2.0, factor=2.0, max_seconds=120.0)


class _Unanswered(Exception):
    """The service failed to answer one lookup (after its tries), or was not asked because it is resting.
    Carries what failed in words without the query (``reason``), never the query or its URL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """What failed, without the query: geopy's messages quote the URL asked, and with it the resident's
    place ("GeocoderUnavailable: ... url: /search?q=YONGE+ST..."). The HTTP status the service answered
    ("HTTP 503"), else the exception's class with the socket's own error where one caused it
    ("GeocoderUnavailable: Connection refused")."""
    name = type(exc).__name__
    causes: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in causes and len(causes) < 10:
        causes.append(link)
        link = link.__cause__ or link.__context__
    for cause in causes:
        if isinstance(cause, AdapterHTTPError):
            return f"HTTP {cause.status_code}"  # geopy calls a 503 GeocoderTimedOut
    root = causes[-1]
    # The socket's own errors ("Connection refused", "timed out") name no URL; a library's may.
    if root is not exc and isinstance(root, OSError) and type(root).__module__ == "builtins":
        detail = root.strerror or (str(root) if isinstance(root, TimeoutError) else "")
        return f"{name}: {detail or type(root).__name__}"
    return name


class _Breaker:
    """Whether the geocoding service answers, and how long to leave it alone when it does not.

    A failed lookup (after its retries) is followed by one more, tried once; when that fails too, the
    service is not asked for ``pauses.delay(1)`` seconds, then once, and for longer each time it still
    fails: lookups meanwhile answer "unavailable" at once, so a resident is told in a moment rather than
    after every retry's timeout. The log gets one warning when an outage starts and one line when the
    service answers again, with how long and how many lookups it cost; never what was looked up.
    """

    def __init__(self, service: str, pauses: Backoff, clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self._pauses = pauses
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0  # failed lookups in a row
        self._not_asked = 0  # lookups answered "unavailable" without asking, this outage
        self._since = 0.0
        self._next_try = 0.0
        self._trying = False  # a lookup is asking the service whether it is back
        self._reason = ""

    def tries(self) -> int:
        """How many times the lookup starting now may ask the service; raises ``_Unanswered`` when it is
        not to be asked at all."""
        with self._lock:
            if not self._failures:
                return 1 + RETRIES
            now = self._clock()
            if self._trying or now < self._next_try:
                self._not_asked += 1
                wait = max(0.0, self._next_try - now)
                raise _Unanswered(f"not asked: {self._reason}; next try in {wait:.0f} s")
            self._trying = True
            return 1

    def stop_trying(self) -> None:
        with self._lock:
            self._trying = False

    def answered(self) -> None:
        with self._lock:
            self._trying = False
            if not self._failures:
                return
            # At the outage's own level: whoever saw it start sees it end.
            log.warning(
                'geocoder %s answers again after %.0f s: %s failed and %s answered "unavailable" without '
                "asking it",
                self.service,
                self._clock() - self._since,
                _lookups(self._failures),
                _lookups(self._not_asked),
            )
            self._failures = self._not_asked = 0

    def failed(self, reason: str, tries: int) -> None:
        with self._lock:
            self._trying = False
            self._failures += 1
            self._reason = reason
            now = self._clock()
            if self._failures == 1:
                self._since, self._next_try = now, now
                log.warning(
                    'geocoder %s is not answering (%s, %d %s); lookups answer "unavailable" and it is asked '
                    "again after pauses of %g s to %g s until it answers",
                    self.service,
                    reason,
                    tries,
                    "try" if tries == 1 else "tries",
                    self._pauses.first_seconds,
                    self._pauses.max_seconds,
                )
                return
            pause = self._pauses.delay(self._failures - 1)
            self._next_try = now + pause
            log.debug(
                "geocoder %s still not answering (%s): %s failed in %.0f s; next try in %.1f s",
                self.service,
                reason,
                _lookups(self._failures),
                now - self._since,
                pause,
            )


def _lookups(count: int) -> str:
    return f"{count} lookup" if count == 1 else f"{count} lookups"


class GeopyPlaceResolver:
    """A ``PlaceResolver`` over any geopy geocoder, with an LRU cache and, for remote services, geopy's
    ``RateLimiter`` (one request per ``min_delay_seconds``), ``RETRIES`` retries of a transient failure
    and a circuit breaker that stops asking a service that does not answer (``_Breaker``)."""

    def __init__(
        self,
        geocoder: Geocoder,
        boundary: Boundary,
        *,
        min_delay_seconds: float = 0.0,
        cache_size: int = 10_000,
        rate_limited: bool = True,
        limits: CityLimits | None = None,
        outage_pauses: Backoff = OUTAGE_PAUSES,
        city: str = "",
    ) -> None:
        self.geocoder = geocoder
        # Written after each query ("MAIN ST, Columbus, OH"): a free-form search reads the box only as a
        # preference, and finds a more important Main St in another state first.
        self.city = city.strip()
        self._city_tail = city_tail(self.city)
        self.boundary = boundary
        self.limits = limits
        self._geocode: Callable[..., Any]
        self._reverse: Callable[..., Any]
        if rate_limited:
            # The limiter only spaces the requests: its own retries log the query (and a traceback) each.
            rate_limits = {
                "min_delay_seconds": min_delay_seconds,
                "max_retries": 0,
                "swallow_exceptions": False,
            }
            self._geocode = RateLimiter(geocoder.geocode, **rate_limits)
            self._reverse = RateLimiter(geocoder.reverse, **rate_limits)
        else:
            self._geocode = geocoder.geocode
            self._reverse = geocoder.reverse
        self._error_wait_seconds = max(2 * min_delay_seconds, 0.5)
        self._breaker = _Breaker(type(geocoder).__name__, outage_pauses)
        self._cache = _LruCache(cache_size)
        # Geocoders that can prefer an area (Nominatim's viewbox, Pelias's boundary_rect) are told the
        # jurisdiction, so "Franklin Park" means this city's park; results outside are still allowed.
        self._area = _area_arguments(geocoder, boundary)

    def geocode(self, query: str) -> Place | None:
        key = " ".join(query.lower().split())
        if not key:
            return None
        return self._cache.get_or_compute(("geocode", key), lambda: self._forward(query))

    def _forward(self, query: str) -> tuple[Place | None, bool]:
        parts = place_then_street(query)
        if parts is not None:
            # Each part through the cache (which keeps a part's transient failure out of it): a miss of
            # the pair is not kept, so it is asked again once a part can be found.
            # A place's name that only a typo correction makes a street ("HARRYS" as HARRY ST) is not
            # that street.
            found = self.geocode(parts[0])
            if found is None or found.raw.get("corrected"):
                found = self.geocode(parts[1])
            return found, found is not None
        try:
            return self._place(self._ask(self._geocode, self._in_city(query), **self._area)), True
        except GeocoderQueryError as exc:
            # The service read the query and refused it (a 400): for this query it is a miss, not an outage.
            log.warning(
                "geocoder %s refused a query (%s); taken as not on the map",
                self._breaker.service,
                failure_reason(exc),
            )
            return None, False
        except _Unanswered as exc:
            # Down, erring or too slow after the retries, or resting: not a miss (residents were told a good
            # address was not on the map, and retyped it), and not remembered.
            raise GeocodingUnavailable(query, exc.reason) from None

    def _in_city(self, query: str) -> str:
        """``query`` with the city after it, unless it already says where: it ends with the city's name
        ("Main St, Columbus", "Main St Columbus OH 43215"), or a state, ZIP code or country of its own
        ("Main St, Hartford, CT")."""
        if not self.city or self._city_tail.search(query) or _STATE_TAIL.search(query):
            return query
        return f"{query.rstrip(' ,')}, {self.city}"

    def _ask(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function`` (the service's geocode or reverse) called as the breaker allows, retrying transient
        failures; raises ``_Unanswered`` when the service did not answer, ``GeocoderQueryError`` when it
        refused the query."""
        tries = self._breaker.tries()
        for attempt in range(1, tries + 1):
            try:
                answer = function(*args, **kwargs)
            except GeocoderQueryError:
                self._breaker.answered()
                raise
            except GeopyError as exc:
                # A geocoder's own mistake (not a service's error) is not worth trying again.
                if attempt < tries and isinstance(exc, GeocoderServiceError):
                    time.sleep(self._error_wait_seconds)
                    continue
                reason = failure_reason(exc)
                self._breaker.failed(reason, attempt)
                raise _Unanswered(reason) from None
            except BaseException:
                self._breaker.stop_trying()  # whatever this was, it says nothing of the service
                raise
            self._breaker.answered()
            return answer
        raise AssertionError("unreachable: the last try returns or raises")

    def reverse(self, lat: float, long: float) -> Place | None:
        """The nearest address to a shared point; when the geocoder knows none near it, the point itself
        with an empty address (still saying whether it lies inside the jurisdiction)."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= long <= 180.0):
            raise ValueError(f"not a point on Earth: latitude {lat}, longitude {long}")
        # Points closer than about a metre share a cache entry.
        key = ("reverse", round(lat, 5), round(long, 5))
        return self._cache.get_or_compute(key, lambda: self._reverse_place(lat, long))

    def serves(self, lat: float, long: float) -> bool:
        """Inside the box and, where they are drawn, inside the city's limits."""
        return inside(self.boundary, lat, long) and (self.limits is None or self.limits.contains(lat, long))

    def _reverse_place(self, lat: float, long: float) -> tuple[Place, bool]:
        keep = True
        try:
            place = self._place(self._ask(self._reverse, (lat, long)), asked=(lat, long))
        except (GeocoderQueryError, _Unanswered):
            # The breaker has logged an outage (a shared point is a resident's place: never logged).
            place, keep = None, False
        if place is not None:
            return place, keep
        return Place(lat, long, "", self.serves(lat, long), {"kind": "point"}), keep

    def _place(self, location: Location | None, asked: tuple[float, float] | None = None) -> Place | None:
        if location is None:
            return None
        raw = location.raw if isinstance(location.raw, dict) else {"raw": location.raw}
        return Place(
            lat=float(location.latitude),
            long=float(location.longitude),
            address=str(location.address),
            # A shared point outside the city is outside even when the nearest known address is not.
            inside_jurisdiction=self.serves(location.latitude, location.longitude)
            and (asked is None or self.serves(*asked)),
            raw=dict(raw),
        )


def place_then_street(query: str) -> tuple[str, str] | None:
    """``PLACE ON STREET`` (the location finder's form for "Marcy Park on Grove Street") as the two queries
    to try in turn: the place, which is more precise when the geocoder knows it, then its street."""
    place, joined, street = query.rpartition(PLACE_ON_STREET)
    if not joined or not place.strip() or not street.strip():
        return None
    return place, street


def _area_arguments(geocoder: Geocoder, boundary: Boundary) -> dict[str, Any]:
    south, west, north, east = boundary
    corners = [(south, west), (north, east)]
    parameters = inspect.signature(geocoder.geocode).parameters
    if "viewbox" in parameters:
        return {"viewbox": corners, "bounded": False}
    if "boundary_rect" in parameters:
        return {"boundary_rect": corners}
    return {}


def build_geocoder(
    provider: str,
    options: dict[str, object],
    *,
    api_key: str | None,
    min_delay_seconds: float,
    cache_size: int,
    boundary: tuple[float, float, float, float],
    limits: CityLimits | None = None,
    outage_pauses: Backoff | None = None,
    city: str | None = None,
) -> PlaceResolver:
    """The configured geocoder: "offline" (the bundled gazetteer) or any name geopy knows ("nominatim",
    "arcgis", "pelias", ...) with ``options`` passed to its constructor (``domain``, ``scheme``, ...).
    A point is inside the jurisdiction when it lies in ``boundary`` and, if given, in ``limits``; a remote
    service that stops answering is left alone for ``outage_pauses`` (default ``OUTAGE_PAUSES``).
    ``city`` ("Columbus, OH") is written after each query sent to a service that does not already say
    where, and after each address the offline geocoder finds (its ``city`` option; default
    ``DEFAULT_CITY``); None sends a service the query alone."""
    if len(boundary) != 4:
        raise ValueError(f"boundary must be [south, west, north, east], got {list(boundary)}")
    name = provider.strip().lower()
    if name == OFFLINE_PROVIDER:
        offline_arguments = _offline_options(options)
        if city is not None and offline_arguments.setdefault("city", city) != city:
            raise ValueError(
                f"geocoder.city {city!r} and geocoder.options.city {offline_arguments['city']!r} differ; "
                "give the city once, as geocoder.city"
            )
        offline = OfflineGeocoder(**offline_arguments)
        return GeopyPlaceResolver(offline, boundary, cache_size=cache_size, rate_limited=False, limits=limits)
    geocoder_class = get_geocoder_for_service(name)
    arguments: dict[str, Any] = dict(options)
    parameters = inspect.signature(geocoder_class.__init__).parameters
    if api_key:
        key_argument = next((arg for arg in API_KEY_ARGUMENTS if arg in parameters), None)
        if key_argument is None:
            raise ValueError(f"the geocoder {provider!r} takes no API key; remove geocoder.api_key")
        arguments.setdefault(key_argument, api_key)
    if "user_agent" in parameters:
        arguments.setdefault("user_agent", DEFAULT_USER_AGENT)
    if "adapter_factory" in parameters and geopy_options.default_adapter_factory is RequestsAdapter:
        arguments.setdefault("adapter_factory", _adapter_without_retries)
    geocoder = geocoder_class(**arguments)
    return GeopyPlaceResolver(
        geocoder,
        boundary,
        min_delay_seconds=min_delay_seconds,
        cache_size=cache_size,
        rate_limited=True,
        limits=limits,
        outage_pauses=outage_pauses or OUTAGE_PAUSES,
        city=city or "",
    )


def _adapter_without_retries(*, proxies: Any, ssl_context: Any) -> RequestsAdapter:
    """geopy's requests adapter without urllib3's retries inside each request: the resolver retries and
    counts lookups itself, and urllib3 logs each of its retries as a warning quoting the URL asked, the
    resident's place in it."""
    return RequestsAdapter(proxies=proxies, ssl_context=ssl_context, max_retries=0)


def _offline_options(options: dict[str, object]) -> dict[str, Any]:
    """``city`` (the text after each address) and ``data_dir`` (another city's gazetteer files)."""
    unknown = set(options) - {"city", "data_dir"}
    if unknown:
        raise ValueError(
            f"the offline geocoder has no option(s) {sorted(unknown)}; it knows only 'city' and 'data_dir'"
        )
    arguments: dict[str, Any] = {}
    if "city" in options:
        arguments["city"] = str(options["city"])
    if "data_dir" in options:
        data_dir = Path(str(options["data_dir"]))
        missing = [name for name in (ADDRESSES_FILE, INTERSECTIONS_FILE) if not (data_dir / name).is_file()]
        if missing:
            raise ValueError(f"geocoder.options.data_dir {data_dir} lacks {', '.join(missing)}")
        arguments["data_dir"] = data_dir
    return arguments


def _without_leading_the(text: str) -> str:
    """``text`` without "the" opening it where one of the next four words is a street type ("the Great
    Highway and Lincoln"); as it was otherwise ("the Mission")."""
    words = text.split()
    if (
        len(words) > 1
        and words[0].lower() == "the"
        and any(w.upper().strip(".,") in SUFFIXES for w in words[1:5])
    ):
        return " ".join(words[1:])
    return text


def _everyday_words(phrase: str) -> bool:
    """Every word of ``phrase`` is one people write every day (``street_names.common_words``)."""
    words = re.findall(r"[a-z']+", phrase.lower())
    return bool(words) and all(word in common_words() for word in words)


def _without_transit_system(query: str) -> str | None:
    """``query`` without a transit system (and a station word) closing it, or None if none does: "16TH ST
    BART STATION" is at "16TH ST"."""
    words = query.split()
    while words and words[-1].upper().strip(".,") in _LANDMARK_TAILS:
        words.pop()
    if len(words) < 2 or words[-1].upper().strip(".,") not in TRANSIT_SYSTEMS:
        return None
    return " ".join(words[:-1])


def _mean(values: list[float]) -> float:
    """The mean of coordinates, to six decimals (about 10 cm): the sum's float noise (37.795455000000004)
    is no place."""
    return round(sum(values) / len(values), 6)
