"""Street-name vocabulary and normalisation, shared by the location finder and the geocoder.

A normalised street name is upper case, with USPS suffix abbreviations (``ST``, ``AVE``, ``BLVD``),
numbered streets as zero-padded ordinals (``05TH``) and directionals abbreviated (``N``, ``SW``): the
form city gazetteers use (San Francisco writes ``05TH ST``), so "Fifth street", "5th St." and "05TH ST"
all meet at one key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

# USPS Publication 28, appendix C1 (the common ones): every spelling people write -> the abbreviation.
SUFFIXES: dict[str, str] = {}
_SUFFIX_SPELLINGS: dict[str, tuple[str, ...]] = {
    "ALY": ("ALLEY", "ALLY", "ALY"),
    "AVE": ("AVENUE", "AVE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"),
    "BLVD": ("BOULEVARD", "BLVD", "BOUL", "BOULV", "BLV"),
    "BR": ("BRIDGE", "BRDGE", "BRG"),
    "CIR": ("CIRCLE", "CIR", "CIRC", "CIRCL", "CRCL", "CRCLE"),
    "CT": ("COURT", "CT", "CRT"),
    "DR": ("DRIVE", "DR", "DRV", "DRIV"),
    "EXPY": ("EXPRESSWAY", "EXPY", "EXPWY", "EXPR", "EXPW"),
    "FWY": ("FREEWAY", "FWY", "FRWY"),
    "HWY": ("HIGHWAY", "HWY", "HIWAY", "HWAY"),
    "LN": ("LANE", "LN"),
    "LOOP": ("LOOP", "LOOPS"),
    "PKWY": ("PARKWAY", "PKWY", "PKY", "PARKWY", "PKWAY"),
    "PL": ("PLACE", "PL"),
    "PLZ": ("PLAZA", "PLZ", "PLZA"),
    "RD": ("ROAD", "RD"),
    "ROW": ("ROW",),
    "SQ": ("SQUARE", "SQ", "SQR", "SQU"),
    "STWY": ("STAIRWAY", "STWY"),
    "ST": ("STREET", "ST", "STR", "STRT", "STREETS", "STS"),
    "TER": ("TERRACE", "TER", "TERR", "TERRANCE"),
    "TRL": ("TRAIL", "TRL", "TRLS"),
    "WALK": ("WALK",),
    "WAY": ("WAY", "WY"),
    "XING": ("CROSSING", "XING"),
    "HTS": ("HEIGHTS", "HTS"),
    "PT": ("POINT",),
    # Nashville's and Kentucky's pikes, New Jersey's turnpikes, Florida's causeways.
    "PIKE": ("PIKE", "PIKES"),
    "TPKE": ("TURNPIKE", "TPKE", "TRNPK", "TPK"),
    "CSWY": ("CAUSEWAY", "CSWY", "CAUSWA"),
}
for _abbreviation, _spellings in _SUFFIX_SPELLINGS.items():
    for _spelling in _spellings:
        SUFFIXES[_spelling] = _abbreviation

# Suffixes that are also ordinary English words: they name a street only after a name-like word.
AMBIGUOUS_SUFFIXES = frozenset({"WAY", "ROW", "WALK", "LOOP", "POINT", "PLACE", "COURT", "SQUARE", "TRAIL"})

# Transit systems whose stations residents name by a street or a corner: "16th St BART", "Park St MBTA",
# "16th and Mission BART". After a place they make it the station; after "St" they are no saint's name.
TRANSIT_SYSTEMS = frozenset(
    {"BART", "MUNI", "MBTA", "CTA", "MTA", "SEPTA", "MARTA", "WMATA", "DART", "TRAX", "RTD", "LIRR", "NJT"}
)

DIRECTIONALS: dict[str, str] = {
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "N": "N",
    "S": "S",
    "E": "E",
    "W": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
    "NE": "NE",
    "NW": "NW",
    "SE": "SE",
    "SW": "SW",
}

_DIRECTION_ABBREVIATIONS = frozenset(DIRECTIONALS.values())

_UNITS = {
    "FIRST": 1,
    "SECOND": 2,
    "THIRD": 3,
    "FOURTH": 4,
    "FIFTH": 5,
    "SIXTH": 6,
    "SEVENTH": 7,
    "EIGHTH": 8,
    "EIGTH": 8,
    "NINTH": 9,
    "TENTH": 10,
    "ELEVENTH": 11,
    "TWELFTH": 12,
    "THIRTEENTH": 13,
    "FOURTEENTH": 14,
    "FIFTEENTH": 15,
    "SIXTEENTH": 16,
    "SEVENTEENTH": 17,
    "EIGHTEENTH": 18,
    "NINETEENTH": 19,
}
_TENS_ORDINAL = {"TWENTIETH": 20, "THIRTIETH": 30, "FORTIETH": 40, "FIFTIETH": 50}
_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50}

# "Fifth" -> 5, "twenty-third" -> 23 (written as one token with a hyphen, or as two tokens).
ORDINAL_WORDS: dict[str, int] = {**_UNITS, **_TENS_ORDINAL}
for _tens_word, _tens in _TENS.items():
    for _unit_word, _unit in _UNITS.items():
        if _unit < 10:
            ORDINAL_WORDS[f"{_tens_word}-{_unit_word}"] = _tens + _unit
            ORDINAL_WORDS[f"{_tens_word}{_unit_word}"] = _tens + _unit

# Words that stand for another in street names everywhere in the US (not one city's nicknames).
_WORD_ABBREVIATIONS = {"MT": "MOUNT", "FT": "FORT", "PT": "POINT"}

_NUMERIC_ORDINAL = re.compile(r"^0*(\d{1,3})(?:ST|ND|RD|TH|D|RST|NTH)?$")
_TOKEN = re.compile(r"[A-Z0-9]+(?:[-'][A-Z0-9]+)*")


def ordinal_token(number: int) -> str:
    """5 -> "05TH", 21 -> "21ST", 112 -> "112TH" (zero-padded to two digits as gazetteers write them)."""
    ending = "TH" if number % 100 in (11, 12, 13) else {1: "ST", 2: "ND", 3: "RD"}.get(number % 10, "TH")
    return f"{number:02d}{ending}"


# The finder asks about the same few thousand words in message after message (30 calls a message): remembered,
# within a bound that a bot reading new words for weeks cannot exceed.
_WORD_CACHE_SIZE: Final = 20_000


@lru_cache(maxsize=_WORD_CACHE_SIZE)
def ordinal_value(token: str) -> int | None:
    """The number an ordinal token stands for: "5th", "05TH", "Fifth", "twenty-first"; None otherwise."""
    upper = token.upper().replace("’", "'")
    if upper in ORDINAL_WORDS:
        return ORDINAL_WORDS[upper]
    match = _NUMERIC_ORDINAL.match(upper)
    if match and not upper.isdigit():
        return int(match.group(1))
    return None


def is_ordinal(token: str) -> bool:
    return ordinal_value(token) is not None


def normalize_token(token: str) -> str:
    upper = token.upper().strip(".")
    value = ordinal_value(upper)
    if value is not None:
        return ordinal_token(value)
    return _WORD_ABBREVIATIONS.get(upper, upper)


_DOTTED_DIRECTIONAL = re.compile(r"\b([NS])\.([EW])\.")


def street_tokens(name: str) -> list[str]:
    """Upper-cased word tokens of a street phrase, without punctuation ("St." -> "ST", "O'Farrell" kept)."""
    # "O'Farrell" is written OFARRELL in gazetteers, and "Peña" PENA: accents fold to plain letters.
    folded = unicodedata.normalize("NFKD", name)
    if not folded.isascii():
        folded = "".join(char for char in folded if not unicodedata.combining(char))
    upper = folded.upper().replace("’", "").replace("'", "")
    upper = _DOTTED_DIRECTIONAL.sub(r"\1\2", upper).replace(".", " ")  # "S.W." is "SW"
    tokens = _TOKEN.findall(upper)
    # "TWENTY FIRST" written as two words is one ordinal.
    merged: list[str] = []
    for token in tokens:
        if merged and merged[-1] in _TENS and f"{merged[-1]}-{token}" in ORDINAL_WORDS:
            merged[-1] = f"{merged[-1]}-{token}"
        else:
            merged.append(token)
    return merged


@lru_cache(maxsize=_WORD_CACHE_SIZE)
def normalize_street(name: str) -> str:
    """ "Fifth street" -> "05TH ST", "market St." -> "MARKET ST", "West 7th" -> "W 07TH", "Comm Ave" ->
    "COMM AVE". A leading "St" before a name is "SAINT" ("St Botolph St")."""
    tokens = street_tokens(name)
    if not tokens:
        return ""
    out: list[str] = []
    last = len(tokens) - 1
    # The suffix is the last word, or the one before a trailing directional ("Main St NW").
    suffix_at = (
        last - 1 if last >= 2 and tokens[last] in DIRECTIONALS and tokens[last - 1] in SUFFIXES else last
    )
    for index, token in enumerate(tokens):
        if index == suffix_at and index > 0 and token in SUFFIXES:
            out.append(SUFFIXES[token])
        elif (index == 0 and last > 0 and token in DIRECTIONALS and tokens[1] not in SUFFIXES) or (
            index == last and index > 0 and token in DIRECTIONALS
        ):
            out.append(DIRECTIONALS[token])
        elif token == "ST" and index < suffix_at:
            out.append("SAINT")
        else:
            out.append(normalize_token(token))
    return " ".join(out)


def split_suffix(normalized: str) -> tuple[str, str | None]:
    """ "05TH ST" -> ("05TH", "ST"); "BROADWAY" -> ("BROADWAY", None); "BUENA VISTA AVE W" ->
    ("BUENA VISTA W", "AVE") is not attempted: a trailing directional stays part of the base."""
    parts = normalized.split()
    if len(parts) > 1 and parts[-1] in _SUFFIX_SPELLINGS:
        return " ".join(parts[:-1]), parts[-1]
    return normalized, None


def split_trailing_direction(normalized: str) -> tuple[str, str | None, str | None]:
    """ "QUEEN ST W" -> ("QUEEN", "ST", "W"): the base, the street type and a direction written after the
    type, as Toronto's ("DUNDAS ST E") and Washington's ("PENNSYLVANIA AVE NW") lists write them. Without
    such a direction, ``split_suffix`` with None after: "05TH ST" -> ("05TH", "ST", None), "AVENUE N" ->
    ("AVENUE N", None, None) (its letter names it)."""
    parts = normalized.split()
    if len(parts) > 2 and parts[-1] in _DIRECTION_ABBREVIATIONS and parts[-2] in _SUFFIX_SPELLINGS:
        return " ".join(parts[:-2]), parts[-2], parts[-1]
    base, suffix = split_suffix(normalized)
    return base, suffix, None


def strip_directional(normalized_base: str) -> str:
    """ "W 07TH" -> "07TH"; for matching a base name when the gazetteer does not carry the directional."""
    parts = normalized_base.split()
    if len(parts) > 1 and parts[0] in DIRECTIONALS.values():
        return " ".join(parts[1:])
    if len(parts) > 1 and parts[-1] in DIRECTIONALS.values():
        return " ".join(parts[:-1])
    return normalized_base
