"""Regenerates sf_queries.csv: SF addresses and intersections written the way residents write them.

Rows are drawn with a fixed seed from the bundled gazetteer files (the truth: their coordinates), then
rewritten with the variations people use: lower case, "street"/"St."/"st", ordinals as words ("Fifth")
or padded ("05TH"), a light typo in a long name, the city and ZIP appended, "corner of", "&"/"and"/"/"/
"at", and both orders of an intersection. Run: python tests/intents/data/make_sf_queries.py
"""

from __future__ import annotations

import csv
import gzip
import random
from pathlib import Path

HERE = Path(__file__).parent
SF = HERE.parents[2] / "intents" / "data" / "sf"
WORDS = {
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
    16: "Sixteenth",
    18: "Eighteenth",
    19: "Nineteenth",
    20: "Twentieth",
    24: "Twenty-fourth",
}
SUFFIX = {
    "ST": ["St", "street", "St.", "st", "Street", ""],
    "AVE": ["Ave", "avenue", "Av", "ave.", ""],
    "BLVD": ["Blvd", "boulevard", ""],
    "DR": ["Dr", "drive", ""],
    "WAY": ["Way", "way"],
    "PL": ["Pl", "place"],
    "CT": ["Ct", "court"],
    "TER": ["Ter", "terrace"],
}
TAILS = ["", "", "", ", SF", ", San Francisco", ", San Francisco, CA", " San Francisco CA 94110", ", sf ca"]


# Written by hand the way residents write them; the truth is looked up by the gazetteer's exact names.
HAND_CORNERS = [
    ("valencia & 16th", "VALENCIA ST", "16TH ST"),
    ("24th and Mission", "24TH ST", "MISSION ST"),
    ("O'Farrell and Powell", "OFARRELL ST", "POWELL ST"),
    ("Haight & Ashbury", "HAIGHT ST", "ASHBURY ST"),
    ("castro and 18th st", "CASTRO ST", "18TH ST"),
    ("Church St. & Duboce Ave.", "CHURCH ST", "DUBOCE AVE"),
    ("corner of Geary Blvd and Masonic", "GEARY BLVD", "MASONIC AVE"),
    ("Divisadero at Hayes", "DIVISADERO ST", "HAYES ST"),
    ("19TH AVE & IRVING ST", "19TH AVE", "IRVING ST"),
    ("Polk st and Eddy", "POLK ST", "EDDY ST"),
    ("Twenty-fourth St & Noe", "24TH ST", "NOE ST"),
    ("Folsom & 2nd", "FOLSOM ST", "02ND ST"),
    ("mision and 22nd", "MISSION ST", "22ND ST"),
]
HAND_ADDRESSES = [
    ("1355 market street", "1355", "MARKET ST"),
    ("2000 Van Ness Ave, San Francisco, CA 94109", "2000", "VAN NESS AVE"),
    ("3251 20th street", "3251", "20TH ST"),
    ("555 California St.", "555", "CALIFORNIA ST"),
    ("1 Dr Carlton B Goodlett Pl", "1", "DR CARLTON B GOODLETT PL"),
    ("2017 Mission st #3", "2017", "MISSION ST"),
    ("701 Valenica St", "701", "VALENCIA ST"),
    ("1650 Haight, SF", "1650", "HAIGHT ST"),
    ("845 Market St, Suite 400", "845", "MARKET ST"),
]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 7 or not word.isalpha():
        return word
    i = rng.randrange(2, len(word) - 2)
    kind = rng.choice(["drop", "swap", "double"])
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def written(street: str, rng: random.Random, allow_typo: bool) -> str | None:
    parts = street.split()
    suffix = parts[-1] if parts[-1] in SUFFIX else None
    base = parts[:-1] if suffix else parts
    if not base:
        return None
    words = []
    for word in base:
        if word[:2].isdigit() and word[2:] in ("ST", "ND", "RD", "TH"):
            number = int(word[:2])
            choice = rng.random()
            if number in WORDS and choice < 0.3:
                words.append(WORDS[number])
            elif choice < 0.45:
                words.append(word)  # "05TH"
            else:
                words.append(f"{number}{word[2:].lower()}")
        else:
            words.append(word.title() if rng.random() < 0.7 else word.lower())
    if allow_typo and rng.random() < 0.2:
        longest = max(range(len(words)), key=lambda k: len(words[k]))
        words[longest] = typo(words[longest], rng)
    text = " ".join(words)
    if suffix:
        shown = rng.choice(SUFFIX[suffix])
        if shown:
            text = f"{text} {shown}"
    return text


def main() -> None:
    rng = random.Random(311)
    with gzip.open(SF / "addresses.csv.gz", "rt", encoding="utf-8") as handle:
        addresses = [
            r for r in csv.DictReader(handle) if r["number"].isdigit() and r["street"].split()[-1] in SUFFIX
        ]
    with open(SF / "intersections.csv", encoding="utf-8") as handle:
        corners = [
            r
            for r in csv.DictReader(handle)
            if len(r["streets"].split("|")) == 2
            and not any(ch.isdigit() for ch in r["streets"].replace("TH ", ""))
            and "UNNAMED" not in r["streets"]
            and "RAMP" not in r["streets"]
        ]
    rows = []
    for record in rng.sample(addresses, 70):
        street = written(record["street"], rng, allow_typo=True)
        if street is None:
            continue
        query = f"{record['number']} {street}{rng.choice(TAILS)}"
        rows.append({"query": query, "kind": "address", "lat": record["lat"], "long": record["lon"]})
    for record in rng.sample(corners, 60):
        names = record["streets"].split("|")
        if rng.random() < 0.5:
            names.reverse()
        first, second = (written(name, rng, allow_typo=True) for name in names)
        if first is None or second is None:
            continue
        connector = rng.choice([" & ", " and ", "/", " at ", " & "])
        lead = rng.choice(["", "", "corner of ", "Corner of ", "intersection of "])
        query = f"{lead}{first}{connector}{second}{rng.choice(TAILS[:5])}"
        rows.append({"query": query, "kind": "intersection", "lat": record["lat"], "long": record["lon"]})
    points = {(r["number"], r["street"]): (r["lat"], r["lon"]) for r in addresses}
    corner_points: dict[frozenset[str], tuple[str, str]] = {}
    with open(SF / "intersections.csv", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            corner_points.setdefault(frozenset(r["streets"].split("|")), (r["lat"], r["lon"]))
    for query, first_name, second_name in HAND_CORNERS:
        lat, long = corner_points[frozenset((first_name, second_name))]
        rows.append({"query": query, "kind": "intersection", "lat": lat, "long": long})
    for query, number, street in HAND_ADDRESSES:
        lat, long = points[(number, street)]
        rows.append({"query": query, "kind": "address", "lat": lat, "long": long})
    with open(HERE / "sf_queries.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["query", "kind", "lat", "long"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows")


if __name__ == "__main__":
    main()
