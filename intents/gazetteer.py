"""The bundled San Francisco gazetteer: every street address and intersection, indexed for geocoding.

Loaded once, at first use, from ``intents/data/sf/`` (DataSF open data, see SOURCE.md there). The index
is kept compact: addresses live in four numpy arrays sorted by (street, number), each street owning a
slice; intersections are a dict from a pair of street names to points; a KD-tree over the address points
answers "nearest address" for reverse geocoding.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from itertools import combinations
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from intents.streets import (
    DIRECTIONALS,
    SUFFIXES,
    normalize_street,
    split_suffix,
    split_trailing_direction,
    strip_directional,
)

DATA_DIR = Path(__file__).parent / "data" / "sf"
ADDRESSES_FILE = "addresses.csv.gz"
INTERSECTIONS_FILE = "intersections.csv"
INDEX_FILE = DATA_DIR / "gazetteer.npz"
# "HTS" -> ("HEIGHTS",): a street type spelt out, for names that end in one ("SOUTHERN HEIGHTS AVE").
_SPELLED_TYPES: dict[str, tuple[str, ...]] = {}
for _spelling, _abbreviation in SUFFIXES.items():
    if _spelling != _abbreviation and len(_spelling) > len(_abbreviation):
        _SPELLED_TYPES.setdefault(_abbreviation, ())
        _SPELLED_TYPES[_abbreviation] += (_spelling,)
# Points of one pair of streets closer than this are one corner (a divided road, an offset crossing).
_SAME_CORNER_M = 100.0


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    long: float


@dataclass(frozen=True, slots=True)
class AddressHit:
    number: int
    street: str
    point: Point
    # True when this exact number exists; False when the nearest number on the street was taken.
    exact: bool
    # The same street with another direction that has this number too, where the direction was left out
    # ("100 Queen St": 100 QUEEN ST E, and QUEEN ST W here): the place is not known for sure.
    alternatives: tuple[str, ...] = ()


class Gazetteer:
    """Street addresses and intersections of one city, with lookups by normalised street name."""

    def __init__(
        self,
        numbers: NDArray[np.int32],
        lats: NDArray[np.float64],
        longs: NDArray[np.float64],
        street_slices: dict[str, tuple[int, int]],
        intersections: dict[frozenset[str], Point],
        street_points: dict[str, Point],
    ) -> None:
        self._numbers = numbers
        self._lats = lats
        self._longs = longs
        self._street_of_row = np.empty(len(numbers), dtype=np.int32)
        self._street_names = sorted(street_slices)
        for index, name in enumerate(self._street_names):
            start, end = street_slices[name]
            self._street_of_row[start:end] = index
        self._slices = street_slices
        self._intersections = intersections
        self._street_points = street_points
        self.streets = frozenset(street_points)
        # base name ("05TH", "MARKET", "BUENA VISTA") -> full names ("05TH ST", "05TH AVE", ...)
        # Both sides go through normalize_street, so "SOUTH VAN NESS AVE" and "South Van Ness" meet at
        # "S VAN NESS AVE".
        # A name whose own base is the key ranks before one that only meets it once its directional is
        # dropped: "Van Ness" is VAN NESS AVE before SOUTH VAN NESS AVE.
        by_normalized: dict[str, set[str]] = defaultdict(set)
        by_base: dict[str, set[str]] = defaultdict(set)
        by_base_without_directional: dict[str, set[str]] = defaultdict(set)
        by_alias: dict[str, set[str]] = defaultdict(set)
        # Names that differ only by their direction ("QUEEN ST E", "QUEEN ST W"; "E 08TH ST", "W 08TH ST"),
        # by the name without it.
        by_core: dict[tuple[str, str | None], set[str]] = defaultdict(set)
        for name in self.streets:
            normalized = normalize_street(name)
            by_normalized[normalized].add(name)
            base, _suffix = split_suffix(normalized)
            by_base[base].add(name)
            by_base_without_directional[strip_directional(base)].add(name)
            # Toronto writes the direction after the type, "QUEEN ST W": residents write "Queen West",
            # "Queen W", "West Queen", or leave the direction out ("Queen St", "Queen").
            name_base, suffix, after = split_trailing_direction(normalized)
            if after is not None:
                by_base[f"{name_base} {after}"].add(name)
                by_base[f"{after} {name_base}"].add(name)
                by_base_without_directional[name_base].add(name)
                by_core[name_base, suffix].add(name)
            elif len(name_base.split()) > 1 and name_base.split()[0] in _DIRECTIONS:
                by_core[strip_directional(name_base), suffix].add(name)
            # "Terry Francois Blvd", "Carlton Goodlett", "MLK Dr": people leave out a middle initial,
            # a title or a "Jr" the city's list writes, or write a person's initials.
            for alias in _written_bases(name_base):
                by_alias[alias].add(name)
        self._twins = {
            name: frozenset(names) for names in by_core.values() if len(names) > 1 for name in names
        }
        self._by_normalized = {key: tuple(sorted(names)) for key, names in by_normalized.items()}
        self._by_base = {
            base: tuple(sorted(by_base.get(base, ())))
            + tuple(sorted(by_base_without_directional.get(base, set()) - by_base.get(base, set())))
            for base in by_base.keys() | by_base_without_directional.keys()
        }
        # Names as residents write them, after every name that is spelt that way.
        self._aliases = {base: tuple(sorted(names)) for base, names in by_alias.items()}
        self._alias_names = frozenset(name for names in by_alias.values() for name in names)
        for base, names in self._aliases.items():
            known = self._by_base.get(base, ())
            self._by_base[base] = known + tuple(name for name in names if name not in known)
        # Sorted: among equally close typo corrections the first wins, the same one in every process.
        self._bases = sorted(self._by_base)
        # The names of each length, in that order: a name more than k letters longer or shorter is more than
        # k edits away, so a typo is only compared with names of about its length (see _names_within).
        self._bases_of_length: dict[int, list[str]] = {}
        for name in self._bases:
            self._bases_of_length.setdefault(len(name), []).append(name)
        self._near_cache: dict[tuple[int, int], list[str]] = {}
        # Reverse geocoding: nearest neighbour in a local equirectangular projection (metres-like units).
        self._cos_lat = math.cos(math.radians(float(np.mean(lats)) if len(lats) else 0.0))
        self._tree = cKDTree(np.column_stack([lats, longs * self._cos_lat]))

    # -- streets -----------------------------------------------------------------------------------------

    def resolve_street(self, phrase: str) -> tuple[str, ...]:
        """The gazetteer's street names a written street phrase may mean, best first; () when none.

        "market street" -> ("MARKET ST",); "Fifth" -> ("05TH AVE", "05TH ST"); "Valenica St" (typo) ->
        ("VALENCIA ST",). A stated suffix that exists wins; a wrong or missing one falls back to every
        street of that name.
        """
        return self._resolve(phrase, correct_typos=True)

    def spelled_as_known(self, phrase: str) -> bool:
        """The phrase names a street as the gazetteer spells it (any suffix), without a typo correction:
        "Valencia" does, "Valenica" does not."""
        return bool(self._resolve(phrase, correct_typos=False))

    def _resolve(self, phrase: str, *, correct_typos: bool) -> tuple[str, ...]:
        normalized = normalize_street(phrase)
        if not normalized:
            return ()
        base, suffix = split_suffix(normalized)
        # Every street written this way: "Fifth St" is 05TH ST and Mission Bay's FIFTH ST; then the ones
        # residents write so ("10th St" is Treasure Island's 10TH TI ST too, where it meets Avenue M).
        if normalized in self._by_normalized:
            exact = self._by_normalized[normalized]
            aliases = self._aliases.get(base, ())
            return exact + (self._with_suffix(aliases, suffix) if suffix is not None else ())
        names = (
            self._by_base.get(base)
            or self._by_base.get(strip_directional(base))
            or self._by_base.get(f"THE {base}")  # "Embarcadero" is THE EMBARCADERO
            or self._spelled_out(base)  # "Bernal Hts Blvd" is BERNAL HEIGHTS BLVD
        )
        if suffix is not None:
            # "North Point", "Diamond Heights", "Hunters Point": the last word of the name reads as a
            # street type; with no street of the shorter name and that type, the whole is the name (the
            # location finder hands it over normalised, "SOUTHERN HTS": its type is spelt out again).
            whole = self._by_base.get(split_suffix(normalize_street(f"{phrase} ST"))[0]) or self._spelled_out(
                f"{base} {suffix}"
            )
            if whole and not (names and self._with_suffix(names, suffix)):
                return whole
        if names is None and correct_typos:
            names = self._fuzzy_names(base)
        if not names:
            return ()
        if suffix is not None:
            preferred = self._with_suffix(names, suffix)
            if preferred:
                return preferred + tuple(name for name in names if name not in preferred)
        return names

    def _spelled_out(self, base: str) -> tuple[str, ...] | None:
        """The streets of a name whose last word is a street type written short ("SOUTHERN HTS", "BERNAL
        HTS"), where the list spells it out (SOUTHERN HEIGHTS AVE)."""
        head, _, last = base.rpartition(" ")
        for spelling in _SPELLED_TYPES.get(last, ()) if head else ():
            names = self._by_base.get(f"{head} {spelling}")
            if names:
                return names
        return None

    @staticmethod
    def _with_suffix(names: tuple[str, ...], suffix: str) -> tuple[str, ...]:
        return tuple(name for name in names if split_trailing_direction(normalize_street(name))[1] == suffix)

    def direction_twins(self, street: str, among: tuple[str, ...]) -> tuple[str, ...]:
        """The streets of ``among`` that are ``street`` with another direction: QUEEN ST W for QUEEN ST E,
        W 08TH ST for E 08TH ST (not VAN NESS AVE for S VAN NESS AVE: one of the two has none). A lookup
        finds such twins among its names only where the resident left the direction out."""
        twins = self._twins.get(street, frozenset())
        return tuple(name for name in among if name != street and name in twins)

    def _fuzzy_names(self, base: str) -> tuple[str, ...]:
        # Short names ("D", "ELM") are too easily confused to correct. A light typo is one edit
        # (a transposition counts as one) in a name of 4-7 letters, two in a longer one.
        if len(base) < 4:
            return ()
        max_edits = 1 if len(base) < 8 else 2
        matches = self._names_within(base, max_edits)
        # Two letters dropped from a long name leave a short one ("Hamhire" for HAMPSHIRE): two edits
        # are allowed when the name they reach is long.
        if not matches and len(base) >= 6:
            matches = [match for match in self._names_within(base, 2) if len(match[0]) >= 8]
        # A one-letter word is the name itself, never a typo: "AVENUE A" is not AVENUE G.
        letters = [word for word in base.split() if len(word) == 1]
        matches = [match for match in matches if [w for w in match[0].split() if len(w) == 1] == letters]
        if not matches:
            return ()
        # Every name at the smallest distance: an intersection or address lookup picks the one that fits.
        best = min(distance for _name, distance in matches)
        names: list[str] = []
        for name, distance in matches:
            if distance == best:
                names.extend(self._by_base[name])
        return tuple(dict.fromkeys(names))

    def _names_within(self, base: str, edits: int) -> list[tuple[str, int]]:
        """The names at most ``edits`` Damerau-Levenshtein edits from ``base``, with their distance, closest
        first and, among equally close ones, in ``self._bases``' order (the first wins).

        Two cheap filters first (0.41 -> 0.09 ms a lookup): a name more than ``edits`` letters longer or
        shorter is too far, and plain Levenshtein, which counts a transposition as two edits, is never more
        than twice the distance (rapidfuzz computes it bit-parallel, Damerau-Levenshtein it does not)."""
        key = (len(base), edits)
        near = self._near_cache.get(key)
        if near is None:
            lengths = range(len(base) - edits, len(base) + edits + 1)
            near = sorted(name for size in lengths for name in self._bases_of_length.get(size, ()))
            self._near_cache[key] = near
        rough = process.extract(base, near, scorer=Levenshtein.distance, score_cutoff=2 * edits, limit=None)
        candidates = [near[index] for index in sorted(index for _name, _distance, index in rough)]
        return [
            (name, int(distance))
            for name, distance, _index in process.extract(
                base, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=edits, limit=None
            )
        ]

    def street_point(self, street: str) -> Point | None:
        return self._street_points.get(street)

    # -- addresses ---------------------------------------------------------------------------------------

    def address(self, number: int, streets: tuple[str, ...]) -> AddressHit | None:
        """The point of ``number`` on the first of ``streets`` that has it; failing an exact number, the
        nearest number of the same parity (same side of the street) on the first street that has any."""
        nearest: AddressHit | None = None
        for street in streets:
            # "401 13th St" is on 13TH ST, whatever numbers Treasure Island's 13TH TI ST has: a name
            # reached only as residents write it counts where no street spelt that way has the address.
            if nearest is not None and street in self._alias_names:
                continue
            hit = self._address_on(number, street)
            if hit is None:
                continue
            if hit.exact:
                # "100 Queen St": where QUEEN ST W has a 100 as well as QUEEN ST E, it is either.
                twins = tuple(
                    twin
                    for twin in self.direction_twins(street, streets)
                    if (other := self._address_on(number, twin)) is not None and other.exact
                )
                return replace(hit, alternatives=twins) if twins else hit
            if nearest is None:
                nearest = hit
        return nearest

    def _address_on(self, number: int, street: str) -> AddressHit | None:
        span = self._slices.get(street)
        if span is None:
            return None
        start, end = span
        numbers = self._numbers[start:end]
        position = int(np.searchsorted(numbers, number))
        if position < len(numbers) and numbers[position] == number:
            row = start + position
            return AddressHit(number, street, Point(float(self._lats[row]), float(self._longs[row])), True)
        same_side = np.flatnonzero((numbers % 2) == (number % 2))
        candidates = same_side if len(same_side) else np.arange(len(numbers))
        best = int(candidates[np.argmin(np.abs(numbers[candidates] - number))])
        row = start + best
        return AddressHit(number, street, Point(float(self._lats[row]), float(self._longs[row])), False)

    def nearest_address(self, lat: float, long: float) -> tuple[int, str, Point, float]:
        """The address nearest a point: (number, street, its point, distance in metres)."""
        _distance, row = self._tree.query([lat, long * self._cos_lat])
        row = int(row)
        point = Point(float(self._lats[row]), float(self._longs[row]))
        street = self._street_names[int(self._street_of_row[row])]
        return int(self._numbers[row]), street, point, distance_metres(lat, long, point.lat, point.long)

    # -- intersections -----------------------------------------------------------------------------------

    def intersection(self, first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, str, Point] | None:
        """Where a street of ``first`` meets a street of ``second`` (both orders are the same)."""
        for a in first:
            for b in second:
                if a == b:
                    continue
                point = self._intersections.get(frozenset((a, b)))
                if point is not None:
                    return a, b, point
        return None

    def other_corners(
        self, corner: tuple[str, str, Point], first: tuple[str, ...], second: tuple[str, ...]
    ) -> list[tuple[str, str, Point]]:
        """Where the same streets with another direction (``direction_twins`` among ``first`` and
        ``second``) meet elsewhere than ``corner``: "Queen and Yonge" is one corner (QUEEN ST E and
        QUEEN ST W meet Yonge at one point), a street crossing both halves of another far apart is two."""
        a, b, point = corner
        found = []
        for x in (a, *self.direction_twins(a, first)):
            for y in (b, *self.direction_twins(b, second)):
                other = self._intersections.get(frozenset((x, y))) if (x, y) != (a, b) and x != y else None
                if other is not None and distance_metres(point.lat, point.long, other.lat, other.long) > (
                    _SAME_CORNER_M
                ):
                    found.append((x, y, other))
        return found


_DIRECTIONS = frozenset(DIRECTIONALS.values())
# Titles before a person's name in a street's ("DR CARLTON B GOODLETT PL", "DR MAYA ANGELOU LN").
_TITLES = frozenset({"DR", "REV", "GEN", "ADM", "CAPT", "COL", "SGT", "PRES", "GOV", "SEN"})


def _written_bases(base: str) -> list[str]:
    """How residents write a base name the city's list spells with more: "10TH TI" (Treasure Island's
    numbered streets) as "10TH"; a person's name without its title, middle initial or "Jr" ("DR CARLTON B
    GOODLETT" as "CARLTON B GOODLETT", "CARLTON GOODLETT"; "MARTIN LUTHER KING JR" as "MARTIN LUTHER
    KING"), or as initials ("MLK", "MLK JR", "JFK" for "JOHN F KENNEDY"). Empty for any other name."""
    words = base.split()
    if len(words) == 2 and words[1] == "TI":
        return [words[0]]
    aliases: list[str] = []
    if len(words) >= 3 and words[0] in _TITLES:
        words = words[1:]
        aliases.append(" ".join(words))
    junior = words[-1] in ("JR", "SR") and len(words) >= 3
    if junior:
        aliases.append(" ".join(words[:-1]))
    name = words[:-1] if junior else words
    initials = len(name) >= 3 and any(len(word) == 1 for word in name[1:-1])
    if len(name) >= 3 and initials:
        aliases.append(" ".join(name[:1] + [word for word in name[1:-1] if len(word) > 1] + name[-1:]))
    # Initials only for a person's name (a "Jr" or a middle initial says so): "South Van Ness" is not "SVN".
    if len(name) == 3 and (junior or initials) and all(word.isalpha() for word in name):
        short = "".join(word[0] for word in name)
        aliases += [short, f"{short} {words[-1]}"] if junior else [short]
    return [alias for alias in dict.fromkeys(aliases) if alias != base]


def distance_metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), good to well under a metre at city scale."""
    radius = 6_371_008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(long2 - long1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def load_gazetteer(directory: Path | None = None) -> Gazetteer:
    """Builds the index from ``addresses.csv.gz`` (number, street, lat, lon) and ``intersections.csv``
    (cnn, lat, lon, streets joined by "|", adjacent_cnns) in ``directory``."""
    directory = directory or DATA_DIR
    rows: list[tuple[str, int, float, float]] = []
    with gzip.open(directory / ADDRESSES_FILE, "rt", encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            number = record["number"].strip()
            if not number.isdigit():
                continue
            rows.append((record["street"].strip(), int(number), float(record["lat"]), float(record["lon"])))
    rows.sort()
    numbers = np.fromiter((row[1] for row in rows), dtype=np.int32, count=len(rows))
    lats = np.fromiter((row[2] for row in rows), dtype=np.float64, count=len(rows))
    longs = np.fromiter((row[3] for row in rows), dtype=np.float64, count=len(rows))
    street_slices: dict[str, tuple[int, int]] = {}
    start = 0
    for index in range(1, len(rows) + 1):
        if index == len(rows) or rows[index][0] != rows[start][0]:
            street_slices[rows[start][0]] = (start, index)
            start = index
    street_points: dict[str, Point] = {}
    for street, (first, last) in street_slices.items():
        middle = (first + last) // 2
        street_points[street] = Point(float(lats[middle]), float(longs[middle]))
    del rows

    corners: dict[frozenset[str], list[Point]] = defaultdict(list)
    points_by_street: dict[str, list[Point]] = defaultdict(list)
    with open(directory / INTERSECTIONS_FILE, encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            point = Point(float(record["lat"]), float(record["lon"]))
            names = sorted({name.strip() for name in record["streets"].split("|") if name.strip()})
            for name in names:
                points_by_street[name].append(point)
            for pair in combinations(names, 2):
                corners[frozenset(pair)].append(point)
    intersections = {pair: _corner_point(points) for pair, points in corners.items()}
    for street, points in points_by_street.items():
        if street not in street_points:
            street_points[street] = points[len(points) // 2]
    return Gazetteer(numbers, lats, longs, street_slices, intersections, street_points)


def _corner_point(points: list[Point]) -> Point:
    """Where two streets meet. A divided road or an offset corner is recorded as a few points close
    together: their middle. Streets that meet twice far apart (a loop, a curve) keep the first point."""
    first = points[0]
    near = [p for p in points if distance_metres(first.lat, first.long, p.lat, p.long) <= _SAME_CORNER_M]
    if len(near) == 1:
        return first
    return Point(sum(p.lat for p in near) / len(near), sum(p.long for p in near) / len(near))


def _source_sizes(directory: Path) -> NDArray[np.int64]:
    return np.array([(directory / name).stat().st_size for name in (ADDRESSES_FILE, INTERSECTIONS_FILE)])


def save_index(gazetteer: Gazetteer, path: Path, directory: Path) -> None:
    """Writes the compact form of ``gazetteer`` (a numpy .npz, no pickles) built from ``directory``."""
    names = sorted(gazetteer._street_points)
    position = {name: index for index, name in enumerate(names)}
    starts = np.full(len(names), -1, dtype=np.int32)
    ends = np.full(len(names), -1, dtype=np.int32)
    for name, (start, end) in gazetteer._slices.items():
        starts[position[name]], ends[position[name]] = start, end
    pairs = [(sorted(pair), point) for pair, point in gazetteer._intersections.items()]
    np.savez_compressed(
        path,
        source_sizes=_source_sizes(directory),
        numbers=gazetteer._numbers,
        lats=gazetteer._lats,
        longs=gazetteer._longs,
        names=np.array(names),
        slice_starts=starts,
        slice_ends=ends,
        name_lats=np.array([gazetteer._street_points[name].lat for name in names]),
        name_longs=np.array([gazetteer._street_points[name].long for name in names]),
        pair_a=np.array([position[pair[0]] for pair, _ in pairs], dtype=np.int32),
        pair_b=np.array([position[pair[1]] for pair, _ in pairs], dtype=np.int32),
        pair_lats=np.array([point.lat for _, point in pairs]),
        pair_longs=np.array([point.long for _, point in pairs]),
    )


def load_index(path: Path, directory: Path) -> Gazetteer | None:
    """The gazetteer from its compact form; None when missing or built from other source files."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if not np.array_equal(data["source_sizes"], _source_sizes(directory)):
            return None
        names = [str(name) for name in data["names"]]
        starts, ends = data["slice_starts"].tolist(), data["slice_ends"].tolist()
        street_slices = {name: (starts[i], ends[i]) for i, name in enumerate(names) if starts[i] >= 0}
        street_points = {
            name: Point(lat, long)
            for name, lat, long in zip(
                names, data["name_lats"].tolist(), data["name_longs"].tolist(), strict=True
            )
        }
        intersections = {
            frozenset((names[a], names[b])): Point(lat, long)
            for a, b, lat, long in zip(
                data["pair_a"].tolist(),
                data["pair_b"].tolist(),
                data["pair_lats"].tolist(),
                data["pair_longs"].tolist(),
                strict=True,
            )
        }
        return Gazetteer(
            data["numbers"], data["lats"], data["longs"], street_slices, intersections, street_points
        )


@cache
def default_gazetteer() -> Gazetteer:
    """The bundled San Francisco gazetteer, loaded once per process: from the shipped compact index
    (``gazetteer.npz``) when it matches the CSV files, otherwise built from the CSV files."""
    return load_index(INDEX_FILE, DATA_DIR) or load_gazetteer(DATA_DIR)


def main() -> None:
    """Rebuilds ``intents/data/sf/gazetteer.npz`` from the CSV files: ``python -m intents.gazetteer``."""
    gazetteer = load_gazetteer(DATA_DIR)
    save_index(gazetteer, INDEX_FILE, DATA_DIR)
    print(f"{len(gazetteer.streets)} streets, {len(gazetteer._numbers)} addresses -> {INDEX_FILE}")


if __name__ == "__main__":
    main()
