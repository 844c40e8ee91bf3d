"""Regenerates sf_variants.csv: 1,200 SF addresses and intersections written the many ways people write them.

The requirement it checks: at least 95% of a varied set of San Francisco addresses and intersections, written
the way residents write them, resolve within 50 m. 600 addresses and 600 intersections are drawn with a fixed
seed from the bundled gazetteer files (the truth: their names and coordinates), then written with random
variations: the street type spelt short, with a dot, in full, oddly ("Str", "Terr") or left out; ordinals as
"5th", "05TH", "Fifth" or "Twenty-fourth"/"Twenty Fourth"; "Saint"/"St.", "Mount"/"Mt" and the like;
title, lower or upper case; one light typo in a long word; a city/state/ZIP tail; a unit ("Apt 4", "#3",
"Suite 300"); "&", "and", "/" or "at" between the streets, "corner of" in front, and either order.
Columns: query, kind (address | intersection), lat, long, truth (the gazetteer's name, e.g.
"286 MOULTON ST" or "A ST & B ST") and variations (what was varied, e.g. "case=lower;suffix=none").
Run from the repository root: python tests/intents/data/make_sf_variants.py
"""

from __future__ import annotations

import csv
import gzip
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HERE = Path(__file__).parent
SF = HERE.parents[2] / "intents" / "data" / "sf"
SEED = 20240611
ADDRESS_COUNT = 600
INTERSECTION_COUNT = 600

UNITS = {
    1: "First",
    2: "Second",
    3: "Third",
    4: "Fourth",
    5: "Fifth",
    6: "Sixth",
    7: "Seventh",
    8: "Eighth",
    9: "Ninth",
    10: "Tenth",
    11: "Eleventh",
    12: "Twelfth",
    13: "Thirteenth",
    14: "Fourteenth",
    15: "Fifteenth",
    16: "Sixteenth",
    17: "Seventeenth",
    18: "Eighteenth",
    19: "Nineteenth",
}
TENS = {20: "Twenty", 30: "Thirty", 40: "Forty"}
TENTHS = {20: "Twentieth", 30: "Thirtieth", 40: "Fortieth"}
ORDINAL = re.compile(r"^(\d{2,3})(ST|ND|RD|TH)$")

# The gazetteer's street type -> its spellings by style; "none" (no type at all) is chosen separately.
SUFFIXES = {
    "ST": {"abbr": "St", "abbr_dot": "St.", "full": "Street", "alt": "Str"},
    "AVE": {"abbr": "Ave", "abbr_dot": "Ave.", "full": "Avenue", "alt": "Av"},
    "BLVD": {"abbr": "Blvd", "abbr_dot": "Blvd.", "full": "Boulevard", "alt": "Blv"},
    "DR": {"abbr": "Dr", "abbr_dot": "Dr.", "full": "Drive"},
    "CT": {"abbr": "Ct", "abbr_dot": "Ct.", "full": "Court"},
    "WAY": {"abbr": "Way", "full": "Way", "alt": "Wy"},
    "PL": {"abbr": "Pl", "abbr_dot": "Pl.", "full": "Place"},
    "TER": {"abbr": "Ter", "abbr_dot": "Ter.", "full": "Terrace", "alt": "Terr"},
    "RD": {"abbr": "Rd", "abbr_dot": "Rd.", "full": "Road"},
    "LN": {"abbr": "Ln", "abbr_dot": "Ln.", "full": "Lane"},
    "ALY": {"abbr": "Aly", "full": "Alley"},
    "CIR": {"abbr": "Cir", "full": "Circle"},
    "LOOP": {"abbr": "Loop", "full": "Loop"},
    "PLZ": {"abbr": "Plz", "full": "Plaza"},
    "HWY": {"abbr": "Hwy", "full": "Highway"},
    "WALK": {"abbr": "Walk", "full": "Walk"},
    "ROW": {"abbr": "Row", "full": "Row"},
    "XING": {"abbr": "Xing", "full": "Crossing"},
    "HL": {"abbr": "Hill", "full": "Hill"},
    "STWY": {"abbr": "Stairway", "full": "Stairway"},
    "PSGE": {"abbr": "Passage", "full": "Passage"},
    "TUNL": {"abbr": "Tunnel", "full": "Tunnel"},
}
DIRECTIONS = {"NORTH", "SOUTH", "EAST", "WEST", "N", "S", "E", "W"}
# A name's first word -> the ways it is written ("" drops it); "DR" only before more words, "SOUTH" only
# before "VAN".
FIRST_WORDS = {
    "SAINT": ("St", "St.", "Saint"),
    "MOUNT": ("Mt", "Mount"),
    "FORT": ("Ft", "Fort"),
    "THE": ("", "The"),
    "DR": ("Dr", "Doctor"),
    "SOUTH": ("S", "So.", "South"),
}
TAILS = {
    "none": "",
    "SF": ", SF",
    "San Francisco": ", San Francisco",
    "SF_CA": ", San Francisco, CA",
    "SF_CA_ZIP": ", San Francisco, CA 94103",
    "SF_CA_ZIP_nocomma": " San Francisco CA 94110",
    "CA_ZIP": ", CA 94117",
    "ZIP_only": " 94122",
    "SF_CA_ZIP_USA": ", San Francisco, CA 94103, USA",
    "sf_ca_lower": ", sf ca",
    "SF_California": ", San Francisco, California",
}
UNIT_TEXTS = {
    "Apt 4": " Apt 4",
    "#3": " #3",
    ", #3": ", #3",
    "Unit 5B": " Unit 5B",
    "Apt. 2": ", Apt. 2",
    "Suite 300": ", Suite 300",
    "# 12": " # 12",
    "apt 4-B": " apt 4-B",
}
CONNECTORS = {"&": " & ", "& (tight)": "&", "and": " and ", "/": "/", "/ (spaced)": " / ", "at": " at "}
LEADS = {
    "none": "",
    "corner of": "corner of ",
    "Corner of": "Corner of ",
    "the corner of": "the corner of ",
    "intersection of": "intersection of ",
}
# Intersection names that nobody writes: freeway ramps, unnamed ways, numbered routes.
JUNK = re.compile(
    r"RAMP|UNNAMED|NORTHBOUND|SOUTHBOUND|ACCESS|EASEMENT|\bLOT\b|\bPATH\b|\bI-\d|HWY \d|\d+$|TUNL"
)

Case = Literal["title", "lower", "upper"]
CASES: tuple[Case, ...] = ("title", "lower", "upper")
CASE_WEIGHTS = (0.6, 0.3, 0.1)


@dataclass(frozen=True)
class StreetName:
    """A gazetteer street name in parts: "SAN JOSE AVE" -> base ("SAN", "JOSE"), suffix "AVE"."""

    base: tuple[str, ...]
    suffix: str | None
    direction: str | None

    @classmethod
    def parse(cls, street: str) -> StreetName:
        parts = street.split()
        direction = None
        if len(parts) >= 3 and parts[-1] in DIRECTIONS and parts[-2] in SUFFIXES:
            direction, parts = parts[-1], parts[:-1]
        if len(parts) >= 2 and parts[-1] in SUFFIXES:
            return cls(tuple(parts[:-1]), parts[-1], direction)
        return cls(tuple(parts), None, direction)


@dataclass(frozen=True)
class StreetStyle:
    """How one street name is written: ordinal style, suffix style and first word (None: not varied)."""

    ordinal: str | None = None
    suffix: str | None = None
    first_word: str | None = None


@dataclass(frozen=True)
class Typo:
    street: int
    word: int
    original: str
    written: str
    kind: str


@dataclass(frozen=True)
class Query:
    kind: Literal["address", "intersection"]
    number: int | None
    streets: tuple[str, ...]
    styles: tuple[StreetStyle, ...]
    case: Case
    typo: Typo | None
    tail: str
    lat: str
    long: str
    unit: str = "none"
    connector: str = "&"
    lead: str = "none"
    swapped: bool = False

    def text(self) -> str:
        names = [write_street(street, style, self.typo, k) for k, (street, style) in enumerate(self.parts())]
        if self.kind == "address":
            text = f"{self.number} {names[0]}{UNIT_TEXTS.get(self.unit, '')}{TAILS[self.tail]}"
        else:
            first, second = names[::-1] if self.swapped else names
            text = f"{LEADS[self.lead]}{first}{CONNECTORS[self.connector]}{second}{TAILS[self.tail]}"
        return text.lower() if self.case == "lower" else text.upper() if self.case == "upper" else text

    def row(self) -> list[str]:
        return [self.text(), self.kind, self.lat, self.long, self.truth(), self.variations()]

    def parts(self) -> list[tuple[str, StreetStyle]]:
        return list(zip(self.streets, self.styles, strict=True))

    def truth(self) -> str:
        return f"{self.number} {self.streets[0]}" if self.kind == "address" else " & ".join(self.streets)

    def variations(self) -> str:
        """What differs from plain "123 Main St" / "A St & B St": e.g. "case=lower;suffix=none;unit=Apt 4"."""
        found = [] if self.case == "title" else [f"case={self.case}"]
        ordinals = [style.ordinal for style in self.styles if style.ordinal is not None]
        suffixes = [style.suffix for style in self.styles if style.suffix is not None]
        for field, values, plain in (("ordinal", ordinals, "digits"), ("suffix", suffixes, "abbr")):
            if any(value != plain for value in values):
                found.append(f"{field}={'|'.join(values)}")
        for street, style in self.parts():
            first = StreetName.parse(street).base[0].title()
            if style.first_word is not None and style.first_word != first:
                found.append(f"first_word={first}->{style.first_word or '(dropped)'}")
        if self.typo is not None:
            found.append(f"typo={self.typo.kind}:{self.typo.original}->{self.typo.written}")
        found += [
            f"{name}={value}" for name, value in (("tail", self.tail), ("unit", self.unit)) if value != "none"
        ]
        if self.kind == "intersection":
            found += [] if self.connector == "&" else [f"connector={self.connector}"]
            found += [] if self.lead == "none" else [f"lead={self.lead}"]
            found += ["order=swapped"] if self.swapped else []
        return ";".join(found)


def ordinal_words(number: int, spaced: bool) -> str:
    """5 -> "Fifth", 24 -> "Twenty-fourth" (spaced: "Twenty Fourth")."""
    if number in UNITS:
        return UNITS[number]
    if number in TENTHS:
        return TENTHS[number]
    tens, unit = TENS[number // 10 * 10], UNITS[number % 10]
    return f"{tens} {unit}" if spaced else f"{tens}-{unit.lower()}"


def choose_style(street: str, rng: random.Random) -> StreetStyle:
    name = StreetName.parse(street)
    ordinal: str | None = None
    suffix: str | None = None
    first_word: str | None = None
    numbers = [int(match.group(1)) for word in name.base if (match := ORDINAL.match(word))]
    if numbers:
        spaced = ["word_space"] if numbers[0] > 20 and numbers[0] % 10 else []
        ordinal = rng.choice(["digits", "digits", "padded", "word", "word", *spaced])
    if name.suffix:
        suffix = "none" if rng.random() < 0.25 else rng.choice(list(SUFFIXES[name.suffix]))
    first = name.base[0]
    if (
        first in FIRST_WORDS
        and (first != "DR" or len(name.base) > 1)
        and (first != "SOUTH" or name.base[1:2] == ("VAN",))
    ):
        first_word = rng.choice(FIRST_WORDS[first])
    return StreetStyle(ordinal, suffix, first_word)


def misspell(word: str, rng: random.Random) -> tuple[str, str]:
    """One light typo inside a word (never its first or last letter): a letter dropped, swapped, doubled or
    replaced. Returns (written, kind)."""
    for _ in range(20):
        kind = rng.choice(["drop", "swap", "double", "subst"])
        i = rng.randrange(1, len(word) - 1)
        if kind == "drop":
            written = word[:i] + word[i + 1 :]
        elif kind == "swap":
            written = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif kind == "double":
            written = word[:i] + word[i] + word[i:]
        else:
            letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
            written = word[:i] + (letter.upper() if word[i].isupper() else letter) + word[i + 1 :]
        if written.lower() != word.lower():
            return written, kind
    return word, "none"


def choose_typo(streets: tuple[str, ...], styles: tuple[StreetStyle, ...], rng: random.Random) -> Typo | None:
    """At most one typo a query, in a name word of 6+ letters (no ordinal, suffix or varied first word)."""
    candidates = [
        (k, i, word)
        for k, (street, style) in enumerate(zip(streets, styles, strict=True))
        for i, word in enumerate(StreetName.parse(street).base)
        if word.isalpha() and len(word) >= 6 and not (i == 0 and style.first_word is not None)
    ]
    if not candidates:
        return None
    k, i, word = rng.choice(candidates)
    written, kind = misspell(word.title(), rng)
    return Typo(k, i, word.title(), written, kind)


def write_street(street: str, style: StreetStyle, typo: Typo | None, index: int) -> str:
    name = StreetName.parse(street)
    words: list[str] = []
    for i, word in enumerate(name.base):
        match = ORDINAL.match(word)
        if match and style.ordinal is not None:
            number = int(match.group(1))
            words.append(
                {
                    "digits": f"{number}{match.group(2).lower()}",
                    "padded": word,
                    "word": ordinal_words(number, spaced=False),
                    "word_space": ordinal_words(number, spaced=True),
                }[style.ordinal]
            )
        elif i == 0 and style.first_word is not None:
            words.append(style.first_word)
        elif typo is not None and (typo.street, typo.word) == (index, i):
            words.append(typo.written)
        else:
            words.append(word if len(word) <= 1 else word.title())
    text = " ".join(word for word in words if word)
    if name.suffix and style.suffix != "none":
        text += " " + SUFFIXES[name.suffix][style.suffix or "abbr"]
    if name.direction:
        text += " " + name.direction.title()
    return text


def address_query(row: dict[str, str], rng: random.Random) -> Query:
    streets = (row["street"],)
    styles = (choose_style(row["street"], rng),)
    case = rng.choices(CASES, CASE_WEIGHTS)[0]
    typo = choose_typo(streets, styles, rng) if rng.random() < 0.3 else None
    tail = rng.choice(list(TAILS)) if rng.random() < 0.5 else "none"
    unit = rng.choice(list(UNIT_TEXTS)) if rng.random() < 0.3 else "none"
    number = int(row["number"])
    return Query("address", number, streets, styles, case, typo, tail, row["lat"], row["lon"], unit=unit)


def intersection_query(row: dict[str, str], names: list[str], rng: random.Random) -> Query:
    streets = tuple(rng.sample(names, 2))
    styles = tuple(choose_style(street, rng) for street in streets)
    case = rng.choices(CASES, CASE_WEIGHTS)[0]
    typo = choose_typo(streets, styles, rng) if rng.random() < 0.3 else None
    tail = rng.choice(list(TAILS)) if rng.random() < 0.4 else "none"
    connector = rng.choice(list(CONNECTORS))
    lead = rng.choice(list(LEADS)) if rng.random() < 0.3 else "none"
    swapped = rng.choice([False, True])
    return Query(
        "intersection",
        None,
        streets,
        styles,
        case,
        typo,
        tail,
        row["lat"],
        row["lon"],
        connector=connector,
        lead=lead,
        swapped=swapped,
    )


def main() -> None:
    rng = random.Random(SEED)
    with gzip.open(SF / "addresses.csv.gz", "rt", encoding="utf-8") as handle:
        addresses = [row for row in csv.DictReader(handle) if row["number"].isdigit()]
    corners: list[tuple[dict[str, str], list[str]]] = []
    with open(SF / "intersections.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names = [name for name in row["streets"].split("|") if name and not JUNK.search(name)]
            if len(names) >= 2:
                corners.append((row, names))
    queries = [address_query(row, rng) for row in rng.sample(addresses, ADDRESS_COUNT)]
    queries += [intersection_query(row, names, rng) for row, names in rng.sample(corners, INTERSECTION_COUNT)]
    with open(HERE / "sf_variants.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "kind", "lat", "long", "truth", "variations"])
        for query in queries:
            writer.writerow(query.row())
    print(f"{len(queries)} rows")


if __name__ == "__main__":
    main()
