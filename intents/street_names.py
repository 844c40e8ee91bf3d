"""A list of US street base names ("MARKET", "BLUE HILL", "05TH"), used as evidence by the location
finder: a lower-case "blue hill avenue" or a bare "Shawmut and Dwight" is more likely a street when its
words are known street names. It is evidence only; patterns over suffixes and ordinals find streets the
list has never seen.

The list ships as ``intents/data/street_names.txt``; rebuild it with
``python -m intents.street_names ADDRESSES.csv.gz ... --messages MESSAGES.csv.gz`` from the bundled San
Francisco gazetteer plus any CSV of addresses with an ``address`` or ``street`` column (e.g. the Boston 311
pool). ``intents/data/common_words.txt`` (words people write in lower case, so a capital on them is no
sign of a name) is rebuilt from the ``text`` column of the ``--messages`` files.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from intents.streets import (
    DIRECTIONALS,
    SUFFIXES,
    is_ordinal,
    normalize_street,
    split_suffix,
    split_trailing_direction,
)

STREET_NAMES_FILE = Path(__file__).parent / "data" / "street_names.txt"
COMMON_WORDS_FILE = Path(__file__).parent / "data" / "common_words.txt"
SF_DIR = Path(__file__).parent / "data" / "sf"

# A name must be seen with a street suffix at least this often in address data to be listed.
MIN_COUNT = 3
MIN_COUNT_WITHOUT_SUFFIX = 10
_HOUSE_NUMBER = re.compile(r"^\s*#?\d+[A-Za-z]?(?:\s*-\s*\d+[A-Za-z]?)?\s+")
# Boston's addresses name a corner as "Intersection Of W Fourth St & Dorchester Ave": the cue is no name.
_CORNER_CUE = re.compile(r"^\s*intersection\s+of\s+", re.IGNORECASE)


# The configured city's own street names, beside the bundled list (``use_city_street_names``).
_city_names: frozenset[str] = frozenset()


@cache
def street_names() -> frozenset[str]:
    """Normalised base names (no suffix): "MARKET", "BLUE HILL", "05TH", "W BROADWAY"; the bundled list
    (San Francisco's and Boston's) and the configured city's."""
    if not STREET_NAMES_FILE.exists():
        return _city_names
    with open(STREET_NAMES_FILE, encoding="utf-8") as handle:
        bundled = frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    return bundled | _city_names


def use_city_street_names(names: Iterable[str]) -> None:
    """Adds a city's street names to the list the location finder knows, for this process (one city per
    process): "halsted and madison" is a corner only where HALSTED is known."""
    global _city_names
    wanted = frozenset(names)
    if wanted != _city_names:
        _city_names = wanted
        street_names.cache_clear()
        multiword_name_lengths.cache_clear()


def read_street_names(path: Path) -> set[str]:
    """The base names in a city's list: a text file of street names, one a line ("N Halsted St", "Cottage
    Grove Ave"; "#" starts a comment), or a CSV with a ``street``, ``streets`` or ``address`` column (a
    gazetteer's addresses.csv.gz or intersections.csv). A ValueError names the file when it has none."""
    if path.name.endswith((".csv", ".csv.gz")):
        streets: Iterable[str] = _streets_in(path)
    else:
        streets = (line.split("#", 1)[0] for line in _open_text(path))
    names = set()
    try:
        lines = list(streets)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, csv.Error) as exc:
        raise ValueError(f"{path} is not a UTF-8 text or CSV file of street names: {exc}") from exc
    for street in lines:
        # "QUEEN ST W": Toronto writes the direction after the type; its name is QUEEN.
        base = split_trailing_direction(normalize_street(street))[0] if street.strip() else ""
        if base and not base.isdigit():
            names.add(base)
            # Residents leave the direction out of a grid city's names: "halsted" for N HALSTED ST.
            first, _, rest = base.partition(" ")
            if first in DIRECTIONALS.values() and rest:
                names.add(rest)
    if not names:
        raise ValueError(f"{path} names no street")
    return names


@cache
def common_words() -> frozenset[str]:
    """Lower-case words that residents usually write in lower case mid-sentence ("trash", "traffic",
    "park"): a capital on one of them is grammar or emphasis, not a sign of a name."""
    if not COMMON_WORDS_FILE.exists():
        return frozenset()
    with open(COMMON_WORDS_FILE, encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))


@cache
def multiword_name_lengths() -> dict[str, int]:
    """For each first word of a known name of two words or more ("VAN" of "VAN NESS"), the most words such
    a name has: the location finder looks up a run of words only when its first word opens one."""
    # A name is listed in its normalised form ("S VAN NESS", "SAINT JAMES"); the finder looks up the word
    # as written ("South", "St"), so each opening word is registered under all its spellings.
    spellings: dict[str, list[str]] = {"SAINT": ["SAINT", "ST"]}
    for spelling, abbreviation in DIRECTIONALS.items():
        spellings.setdefault(abbreviation, []).append(spelling)
    lengths: dict[str, int] = {}
    for name in street_names():
        words = name.split()
        if len(words) >= 2:
            for opener in spellings.get(words[0], [words[0]]):
                lengths[opener] = max(lengths.get(opener, 0), len(words))
    return lengths


def _open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from handle


def _streets_in(path: Path) -> Iterable[str]:
    for record in csv.DictReader(_open_text(path)):
        if "streets" in record:  # an intersections file: names joined by "|"
            yield from (name for name in (record["streets"] or "").split("|") if name)
        elif "street" in record:
            yield record["street"] or ""
        elif "address" in record:
            first = _CORNER_CUE.sub("", (record["address"] or "").split(",")[0])
            yield from re.split(r"\s*&\s*", _HOUSE_NUMBER.sub("", first))


def _glued_place(base: str) -> bool:
    """ "ADAMS SAINT DORCHESTER", "ATLANTIC AVE NORTH END": a street with its neighbourhood after it, where
    an address left out the comma. A suffix inside the name, followed by more than a directional
    ("BUENA VISTA AVE E" is a street), marks it; a leading "AVENUE" or "SAINT" opens names ("AVENUE OF THE
    PALMS", "SAINT JAMES")."""
    words = base.split()
    for at in range(1, len(words) - 1):
        if words[at] in SUFFIXES or words[at] in SUFFIXES.values() or words[at] == "SAINT":
            rest = words[at + 1 :]
            if not (len(rest) == 1 and rest[0] in DIRECTIONALS):
                return True
    return False


def build(sources: Iterable[Path], official: Iterable[Path] = ()) -> list[str]:
    """The names seen in ``sources`` often enough, and every name the ``official`` gazetteers give with a
    street type: a city's own list has no typos or glued neighbourhoods, and its short streets ("EMMA ST",
    "MERRIE WAY": one or two addresses) are streets all the same."""
    counts: Counter[str] = Counter()
    with_suffix: set[str] = set()
    listed: set[str] = set()
    for source, is_official in [(path, True) for path in official] + [(path, False) for path in sources]:
        for street in _streets_in(source):
            base, suffix = split_suffix(normalize_street(street))
            # "42 34N 71 07W", "11E W BROADWAY": numbers other than ordinals are not part of a name.
            if (
                base
                and all(is_ordinal(word) or not any(c.isdigit() for c in word) for word in base.split())
                and not _glued_place(base)
            ):
                counts[base] += 1
                if suffix is not None:
                    with_suffix.add(base)
                    if is_official:
                        listed.add(base)
    # Names with no suffix ("BROADWAY", "E BROADWAY", "JAMAICAWAY") need more sightings: address data
    # also holds a neighbourhood glued to a street now and then (and the city's own list has "EASEMENT").
    return sorted(
        listed
        | {
            name
            for name, count in counts.items()
            if count >= (MIN_COUNT if name in with_suffix else MIN_COUNT_WITHOUT_SUFFIX)
        }
    )


_CASE_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[.!?\n]")


def build_common_words(messages: Iterable[str], min_count: int = 3) -> list[str]:
    """Words seen in lower case mid-sentence at least ``min_count`` times and at least twice as often as
    capitalised there. Shouting messages (mostly capitals) are skipped."""
    lower: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for text in messages:
        letters = [char for char in text if char.isalpha()]
        if not letters or sum(char.isupper() for char in letters) > len(letters) / 2:
            continue
        sentence_start = True
        for match in _CASE_TOKEN.finditer(text):
            word = match.group()
            if word in ".!?\n":
                sentence_start = True
                continue
            if not sentence_start and len(word) > 1:
                (capital if word[0].isupper() else lower)[word.lower()] += 1
            sentence_start = False
    return sorted(word for word, count in lower.items() if count >= min_count and count >= 2 * capital[word])


def _texts_in(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        for record in csv.DictReader(_open_text(path)):
            if record.get("text"):
                yield record["text"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", type=Path, help="more CSV files of addresses")
    parser.add_argument(
        "--messages", nargs="*", type=Path, default=[], help="CSV files with a text column (common words)"
    )
    args = parser.parse_args(argv)
    names = build(args.sources, official=[SF_DIR / "addresses.csv.gz", SF_DIR / "intersections.csv"])
    with open(STREET_NAMES_FILE, "w", encoding="utf-8") as handle:
        handle.write("# US street base names; rebuilt by `python -m intents.street_names` (see module doc)\n")
        handle.writelines(f"{name}\n" for name in names)
    print(f"{len(names)} street names written to {STREET_NAMES_FILE}")
    if args.messages:
        words = build_common_words(_texts_in(args.messages))
        with open(COMMON_WORDS_FILE, "w", encoding="utf-8") as handle:
            handle.write(
                "# words usually written in lower case; rebuilt by `python -m intents.street_names`\n"
            )
            handle.writelines(f"{word}\n" for word in words)
        print(f"{len(words)} common words written to {COMMON_WORDS_FILE}")


if __name__ == "__main__":
    main()
