"""Finding where a message says the problem is: addresses, intersections, streets, landmarks, coordinates.

The finder works on word tokens with patterns over the vocabulary every US city shares: street suffixes,
ordinals, directionals, house numbers, connectors ("and", "&", "/", "at"), cues ("corner of",
"intersection of", "between"), and the head nouns of named places ("park", "school", "bridge"). Two word
lists are evidence, never requirements: known US street names (``street_names``) and words people write in
lower case (``common_words``: a capital on "Trash" is grammar, a capital on "Shawmut" is a name).

It returns the shortest span that identifies the place, without "at", "on", "in front of", "corner of",
as the labelling guide asks. Every candidate gets a kind and a strength. ``find_location`` lets the
shipped ranker (``intents.location_ranker``, learnt from labelled spans) choose among the pattern
candidates and a few looser guesses, or say there is no place; without a ranker it returns the strongest
pattern candidate. ``find_locations`` returns all non-overlapping pattern candidates in text order.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from intents.location_ranker import default_ranker
from intents.multilingual_streets import (
    CHINESE_ADDRESS,
    CHINESE_CORNER,
    CHINESE_PLACE,
    CHINESE_STREET,
    SPANISH_PLACE,
    SPANISH_STREET,
    chinese_name,
    chinese_place,
    has_its_own_type,
    spanish_name,
    spanish_place_name,
)
from intents.street_names import common_words, multiword_name_lengths, street_names
from intents.streets import (
    AMBIGUOUS_SUFFIXES,
    DIRECTIONALS,
    SUFFIXES,
    TRANSIT_SYSTEMS,
    is_ordinal,
    normalize_street,
    ordinal_token,
    split_suffix,
    street_tokens,
)
from intents.types import PLACE_ON_STREET, LocationKind, LocationMention

# Words are runs of Latin letters (accents included: "Peña") and digits. Any other character is a token
# of its own and never part of a name: a Han character is no English word ("坏了 在 Market" is no place).
_LATIN = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0300-\u036f\u1e00-\u1eff"
# "Twenty-First", "twenty-fourth": an ordinal written in words with its hyphen is one word, not "First".
_HYPHENATED_ORDINAL = (
    r"(?i:twenty|thirty|forty|fifty)-(?i:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    rf"(?![{_LATIN}])"
)
# "S.W.", "N.E." (Washington and Seattle quadrants) are one word: a directional. "@PWD", "@cityofboston"
# (an "@" glued to the word after it, not to one before) is a social-media handle: one token, no word, so
# neither a name nor the "@" of "Elm St @ Oak St".
# "Burke-Gilman Trail", "Wilkes-Barre Ave", "Winston-Salem": two capitalised names joined by a hyphen are one
# name (read apart, the hyphen ended a sentence and the name began after it).
_HYPHENATED_NAME = rf"[A-Z][a-z]+-[A-Z][a-z]+(?![{_LATIN}-])"
_TOKEN = re.compile(
    rf"(?<![{_LATIN}])@[{_LATIN}_]+"
    rf"|(?P<word>(?:[NSEWnsew]\.){{2}}(?![{_LATIN}])|{_HYPHENATED_ORDINAL}|{_HYPHENATED_NAME}"
    rf"|[{_LATIN}]+(?:['’][{_LATIN}]+)*)"
    rf"|\n|[^\s{_LATIN}]"
)
_COORDINATES = re.compile(
    # A number may end a sentence ("Location: 37.73547, -122.50672."), not run on into more digits.
    r"(?<![\d.])([-+]?\d{1,2}\.\d{3,})\s*[,;/ ]\s*([-+]?\d{1,3}\.\d{3,})(?!\d|\.\d)"
    r"|(?<![\d.])(\d{1,2}\.\d{3,})\s*°?\s*([NS])\s*,?\s*(\d{1,3}\.\d{3,})\s*°?\s*([EW])\b"
    # "lat 37.7131 long -122.404", "lat: 37.7359 lon: -122.3815", "latitude 37.7, longitude -122.4"
    r"|\blat(?:itude)?\s*[:=]?\s*([-+]?\d{1,2}\.\d{3,})\s*[,;/]?\s*"
    r"(?:lng|lon|long|longitude)\s*[:=]?\s*([-+]?\d{1,3}\.\d{3,})(?!\d|\.\d)",
    re.IGNORECASE,
)
# Degrees, minutes and seconds, as GPS apps, photo details and maps' "dropped pin" write them:
# 37°46'45.5"N 122°25'09.5"W, 37° 46.758′ N, 122° 25.158′ W, N37°46.758' W122°25.158'. Each half needs its
# hemisphere (before or after), which gives the sign.
_SECONDS = r"(?:(\d{1,2}(?:\.\d+)?)\s*(?:[\"″”]|'')\s*)?"
_ANGLE = rf"(\d{{1,3}}(?:\.\d+)?)\s*[°º]\s*(?:(\d{{1,2}}(?:\.\d+)?)\s*['′’]\s*{_SECONDS})?"
_DEGREES = re.compile(
    rf"(?<![\w.])([NS])?\s*{_ANGLE}([NS])?\s*[,;/]?\s*([EW])?\s*{_ANGLE}([EW])?(?![\w°])"
    # Decimal degrees with the hemisphere first: "N 37.7793 W 122.4193", "N37.7793, W122.4193".
    r"|(?<![\w.])([NS])\s*(\d{1,2}\.\d{3,})\s*°?\s*[,;/]?\s*([EW])\s*(\d{1,3}\.\d{3,})\s*°?(?![\w.])",
    re.IGNORECASE,
)
_DECIMAL = re.compile(r"\d\.\d{3}")
# The road beside or over a highway, written after it.
_BESIDE_A_HIGHWAY = (
    r"(?:frontage|service|access|feeder)(?:\s+(?:rd|road)\b)?|(?:over|under)pass"
    r"|on-?ramp|off-?ramp|ramp|exit(?:\s+\d{1,3}[A-Za-z]?)?"
)
_HIGHWAY = re.compile(
    r"\b(?:(Interstate|Route|Rte\.?|Rt\.?|Hwy\.?|Highway|US|U\.S\.|SR|State Route|County Road|County Rd\.?"
    # Hawaii's interstates are H-1, H-2, H-3 (and H-201): only with the hyphen, "H 1" is no road.
    r"|CR|FM|Farm to Market Road|Loop|Beltway|[Cc]arretera|[Aa]utopista)\s*-?\s*"
    r"|(I|i(?=-)|H(?=-(?:[123]|201)\b))-?)"
    r"(\d{1,4}[A-Za-z]?)\b(?![.:/]\d)"
    # "I-10 frontage rd", "Loop 610 feeder", "I-95 overpass", "SR 51 on-ramp": the road beside or over it.
    # In any case: "I-10 OVERPASS AT GOVERNMENT ST".
    rf"(?P<beside>\s+(?i:{_BESIDE_A_HIGHWAY}))?\b"
)
# "the 101 on-ramp", "the 110 overpass", "the 5 freeway": Southern California names its freeways by their
# number after "the". Only with a freeway word after it (a bus is "the 101" too); without one, a cross
# street after a place word makes it a freeway (``_Finder._bare_freeways``).
_FREEWAY_BY_NUMBER = re.compile(
    rf"\b(?:[Tt]he|THE)\s+(?P<number>[1-9]\d{{0,2}})\b(?![.:/,]\d)"
    rf"(?P<beside>\s+(?i:{_BESIDE_A_HIGHWAY}|freeway|fwy|frwy))?(?![\w-])"
)
# The last word of a highway's ramp ("on-ramp" is three tokens).
_RAMPS = frozenset({"ramp", "onramp", "offramp", "exit"})
# Place words before "the 405" that make it a road: "on the 405 near Sunset", "under the 10 at Crenshaw".
_BEFORE_A_FREEWAY = frozenset(
    {"on", "under", "by", "off", "along", "near", "onto", "over", "beside", "below"}
)
# The direction of travel written after a highway: "I-55 inbound", "I-10 east", "US 59 southbound".
_TRAVEL_DIRECTIONS = frozenset(
    {"inbound", "outbound", "north", "south", "east", "west"}
    | {f"{direction}bound" for direction in ("north", "south", "east", "west")}
)
# After a street (not a highway), only the words no street's name ends with ("Charles St South" is a name):
# "Dodge St westbound at 72nd", "Main St NB at Elm"; "n/b", "w/b" with a slash too
# (``_Finder._travel_direction_ending_at``).
_STREET_TRAVEL_DIRECTIONS = (_TRAVEL_DIRECTIONS - {"north", "south", "east", "west"}) | {
    "nb",
    "sb",
    "eb",
    "wb",
}
# The road beside a highway, written after it: "Eastex Fwy feeder", "I-10 frontage".
_FEEDERS = frozenset({"feeder", "frontage"})
# Farm-to-market and county roads run to four digits ("FM 1960"); a four-digit number after "Route" or
# "US" is more often a year or a count.
_FOUR_DIGIT_ROADS = frozenset({"FM", "CR"})
_HIGHWAY_PREFIXES = {
    "INTERSTATE": "I",
    "RTE": "ROUTE",
    "RT": "ROUTE",
    "HIGHWAY": "HWY",
    "U.S": "US",
    "STATE ROUTE": "SR",
    "COUNTY ROAD": "CR",
    "COUNTY RD": "CR",
    "FARM TO MARKET ROAD": "FM",
    "CARRETERA": "HWY",
    "AUTOPISTA": "HWY",
}
_SENTENCE_END = frozenset({".", "!", "?", "\n", ":", ";", "-", "(", ")", '"'})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words and everyday words that never begin or continue a street or place name.
STOPWORDS = _words(
    """
    a an the and or but nor of in on at to from for with by near behind across outside inside into onto
    off over under front back side corner intersection between is are was were be been being has have
    had do does did this that these those it its it's there here my our your their his her we i you
    they he she me us them who which what when where why how please thanks thank not no yes very all
    any some each every both either neither one two three four five six seven eight nine ten also just
    only still again now today tonight yesterday tomorrow morning afternoon evening night day days week
    weeks month months year years hour hours minute minutes am pm since until till about around
    than then so if as up down out can could would should will shall may might must there's i'm im i've
    we're they're car cars truck trucks vehicle vehicles lot lots times time block blocks ft feet foot
    inches miles mph floor street streets road roads avenue ave st rd lane drive dr sidewalk
    sidewalks llc inc corp co ltd area location address rear
    """
)
MONTHS_AND_DAYS = (
    _words(
        """
    january february march april may june july august september october november december jan feb mar
    apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon
    tue tues wed weds thu thur thurs fri sat sun
    """
    )
    | frozenset(  # "on Mondays", "on Sunday's", "on Thanksgiving": when, not where
        form
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        for form in (day + "s", day + "'s")
    )
    | _words("christmas thanksgiving halloween easter juneteenth hanukkah kwanzaa passover ramadan diwali")
)
# Words after "street" that make it a thing, not a street's name: "street light", "street cleaning".
STREET_COMPOUNDS = _words(
    """
    light lights lamp lamps sign signs cleaning sweeping sweeper sweepers drain drains parking tree
    trees pole poles name names level vendor vendors crossing crossings closure closures work sweep
    plow plowing plowed sweeps side sides signal signals number numbers cleaner cleaners address
    """
)
# Head nouns of named places: "Franklin Park", "Boston Common tennis courts", "Broadway bridge".
LANDMARK_HEADS = _words(
    """
    park parks playground playgrounds cemetery school schools church library hospital garden gardens
    pond beach plaza center centre station field fields hotel academy mall bridge greenway corridor
    path woods building tavern restaurant cafe rink stadium common house terminal tunnel yard pier
    wharf harborwalk reservation arboretum university college ymca courts market club bank apartments
    lofts grill kitchen bakery pizzeria diner pub bar shop store supermarket pharmacy museum theater
    theatre gym arena chapel parish temple mosque synagogue monument memorial wild trail marsh
    reservoir lake river creek fountain tower towers garage depot stop line connector plaque company
    autobody barbershop salon development hall clinic office courthouse lot metro footbridge underpass
    overpass viaduct boardwalk promenade pavilion island islands elementary
    """
)
# Words after a place's head noun that make it a modifier: "school children", "park ranger", "school bus".
_HEAD_COMPOUNDS = _words(
    """
    children kids students student pupils parents teacher teachers staff employees employee workers
    ranger rangers bus buses van vans wagon district board officials official department dept
    """
)
# "my mom's house", "a neighbor's yard": whose a place is, never its name.
_WHOSE = frozenset(
    f"{person}{ending}"
    for person in _words(
        "mom mother dad father grandma grandmother grandpa grandfather neighbor neighbour neighbors"
        " neighbours friend sister brother aunt uncle cousin son daughter his her their your"
    )
    for ending in ("", "'s", "s'")
)
# Words that make a head generic, not a name: "the park", "a dog park", "parking lot".
GENERIC_MODIFIERS = (
    _words(
        """
    dog public city local small big large new old nearby neighborhood neighbourhood parking this that
    our my the a an same other community baseball basketball soccer tennis football skate street bus
    train subway police fire
    """
    )
    | _WHOSE
)
# English, and "y" for Spanish ("Mission y 16").
# "x" as in "Buchanan x Linden"; "cross st" (an app's cross-street field) is read in ``_intersections``.
CONNECTORS = frozenset({"and", "&", "/", "@", "at", "n", "+", "y", "near", "x", "cross"})
# "corner of X and Y", "intersection of X and Y": the cue is left out of the span.
INTERSECTION_CUES = frozenset({"corner", "intersection", "crossing", "junction", "esquina", "cruce"})
PREPOSITIONS = frozenset(
    {"at", "on", "near", "by", "along", "outside", "behind", "across", "in", "off", "of"}
)
# The lanes of a road, which residents capitalise as if they were streets' names ("Parked in Fire Lane").
_TRAFFIC_LANES = frozenset(
    {
        "bike",
        "bus",
        "fire",
        "turn",
        "travel",
        "parking",
        "passing",
        "carpool",
        "hov",
        "loading",
        "left",
        "right",
    }
)
# The end of an hour written after a dash, glued to its am or pm ("4-5pm", "9-11AM").
_HOURS = re.compile(r"\d{1,2}[ap]\.?m\.?", re.IGNORECASE)
# Street types in the plural, written after two names joined by "and" ("Beech and Winton Streets").
_PLURAL_TYPES = frozenset({"STREETS", "STS", "AVENUES", "AVES", "ROADS", "RDS"})
# Holidays named "<name> Day" ("flags on Memorial Day"; Boston's "Patriots Day").
_HOLIDAY_NAMES = frozenset(
    {"memorial", "labor", "veterans", "independence", "presidents", "columbus", "patriots", "election", "mlk"}
)
# Before a named place with no head noun: "at Bijou", "behind CVS", "in front of Zara".
PLACE_PREPOSITIONS = frozenset({"at", "near", "outside", "behind", "of", "from", "to", "inside"})
_ARTICLES = frozenset({"the"})
# Whole cities and states are never where a problem is ("this lot is a disgrace to the city of Boston",
# "fix your roads Baltimore"): the US states and the largest US cities, as the ranker's sign of one.
_REGIONS = frozenset(
    name.replace("-", " ").upper()
    for name in _words(
        """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho
    illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota
    mississippi missouri montana nebraska nevada new-hampshire new-jersey new-mexico new-york
    north-carolina north-dakota ohio oklahoma oregon pennsylvania rhode-island south-carolina
    south-dakota tennessee texas utah vermont virginia washington west-virginia wisconsin wyoming mass
    usa america united-states dc nyc la philly
    boston chicago houston phoenix philadelphia san-antonio san-diego dallas austin jacksonville
    fort-worth columbus charlotte indianapolis san-francisco seattle denver nashville oklahoma-city
    el-paso portland las-vegas detroit memphis louisville baltimore milwaukee albuquerque tucson fresno
    sacramento mesa atlanta kansas-city omaha raleigh miami long-beach virginia-beach oakland
    minneapolis tulsa tampa arlington new-orleans wichita cleveland bakersfield aurora anaheim honolulu
    santa-ana riverside corpus-christi lexington henderson stockton st-paul saint-paul cincinnati
    st-louis saint-louis pittsburgh greensboro lincoln anchorage plano orlando irvine newark durham
    chula-vista toledo fort-wayne st-petersburg laredo jersey-city chandler madison lubbock scottsdale
    reno buffalo gilbert glendale north-las-vegas winston-salem chesapeake norfolk fremont garland
    irving hialeah richmond boise spokane baton-rouge tacoma san-bernardino modesto des-moines
    rochester providence worcester cambridge brooklyn queens manhattan bronx staten-island toronto
    """
    )
)
_LOOSE_PREPOSITIONS = frozenset(
    {"at", "near", "behind", "outside", "of", "by", "on", "in", "from", "to", "across"}
)
# Words before "of", "from", "to" that make a place cue: "in front of", "across from", "next to".
_OF_CUES = frozenset({"front", "back", "rear", "side", "across", "outside", "next"})
# Context words the ranker sees by name (function words only).
_CONTEXT_WORDS = frozenset(
    {
        "at",
        "on",
        "in",
        "near",
        "of",
        "by",
        "the",
        "to",
        "from",
        "and",
        "behind",
        "outside",
        "front",
        "corner",
        "across",
        "between",
        "off",
        "along",
        "into",
        "is",
        "was",
        "has",
        "street",
        "st",
        "ave",
        "please",
        "next",
    }
)
# Words that open many street names of two words or more written without a suffix ("El Camino Real", "Del
# Mar", "San Pablo", "Van Dyke", "La Salle"): after "on" such a run of capitalised words is a street.
NAME_PARTICLES = _words("el la las los del de san santa saint van von mc mac")
# Initials that name streets in hundreds of US cities, written alone after "on": "on MLK".
_STREET_INITIALS = frozenset({"MLK", "JFK"})
# Spanish street types that stay part of a street's name in English messages ("Calle Ocho", "Camino Real").
_SPANISH_TYPES_IN_NAMES = frozenset({"calle", "camino", "avenida", "paseo"})
# Spanish articles that open street names ("La Brea", "El Cajon"), as residents type them in lower case.
_LOWER_ARTICLES = frozenset({"la", "el", "las", "los", "del"})
# Written in lower case inside a capitalised name: "Ponce de Leon", "Camino del Rio", "Avenue du Parc".
_INNER_PARTICLES = _words("de del du des da di la von van der")
# Spanish street types written before the name ("Camino del Mar", "Paseo de Peralta"), and the particles
# between ("de la", "del"); the first four also name a street with no particle ("Camino Real").
_SPANISH_TYPES_FIRST = _words("camino caminito paseo avenida via vista calle rancho")
_SPANISH_TYPES_ALONE = _words("camino caminito paseo avenida")
_SPANISH_NAME_PARTICLES = _words("de del la las los el")
# The longest known street name the finder reads as one ("Martin Luther King Jr").
_MAX_NAME_WORDS = 5
# Everyday words (function-word list, months) that name streets when capitalised right before a street
# type: "Front St", "Day Blvd", "Back St", "March Ave".
_NAMING_EVERYDAY_WORDS = _words(
    """
    front back side day january february march april may june july august september october november
    december
    """
)
# After "street" these are the street's side or its parking, not a thing on it: "on the Hewlett street side".
_STREET_AND_ITS_THING = frozenset({"side", "sides", "parking", "level"})
_NOT_STREETS = frozenset({"floor", "fl", "grade", "time", "place", "shift", "request", "day", "week", "year"})
# A direction after a house number ("412 west state"), and the words that make it a heading instead:
# "93 north bound", "the 39 south side", "I-90 east exit".
_HOUSE_NUMBER_DIRECTIONS = frozenset({"n", "s", "e", "w", "north", "south", "east", "west"})
_AFTER_A_HEADING = _words("bound side end exit entrance ramp lane lanes direction facing wind winds")

_HAN = re.compile(r"[\u4e00-\u9fff]")
# A word without which no Spanish pattern can match: a street type, a place head, a joining word, or
# the article before a numbered street ("la 181 St").
_SPANISH_MARKS = re.compile(
    r"(?i)\b(?:calle|avenida|av|y|con|parque|plaza|escuela|biblioteca|iglesia|hospital|estaci[oó]n|mercado"
    r"|(?:la|el)\s+\d+)\b"
)
# Candidates from the Spanish and Chinese patterns (``intents.multilingual_streets``).
_UNRANKED_RULES = frozenset({"spanish", "chinese"})
# Words joining two places that labellers often keep as one span: a shop on its street ("Finns Sushi on
# Garden St"), a street fixed by a crossing or a landmark ("Charles St. across from Liberty Hotel",
# "Somerset Street off of Beacon"). Grouped into a few classes so the ranker learns each from enough
# examples; a class is a candidate's rule ("link_near").
_LINKS: dict[tuple[str, ...], str] = {
    ("on",): "on",
    ("in",): "in",
    ("inside",): "in",
    ("at",): "at",
    ("at", "the", "intersection", "of"): "corner",
    ("at", "intersection", "of"): "corner",  # only after a street: _LINKS_AFTER_A_STREET_ONLY
    ("at", "the", "corner", "of"): "corner",
    ("at", "corner", "of"): "corner",
    ("across", "from"): "near",
    ("off",): "near",
    ("off", "of"): "near",
    ("by",): "near",
    ("here", "by"): "near",
    ("near",): "near",
    ("past",): "near",
    ("just", "past"): "near",
    ("behind",): "near",
    **{(side, "of"): "near" for side in ("north", "south", "east", "west")},
    **{("just", side, "of"): "near" for side in ("north", "south", "east", "west")},
}
# "Ludlow Ave by the Esquire Theatre", "Elmwood Ave at the Roger Williams Park entrance": a link that fixes
# a street by a place beside it may end in an article. ("on the" and "in the" are left out: "Man Hole cover
# center on the Jamaica way" and "PARKED IN THE BIKE LANE" join no two places.)
_LINKS_BEFORE_AN_ARTICLE = frozenset({"near", "at"})
# "Norfolk St at intersection of Woodrow Ave", "Montague st at corner of roslin": written without the
# article, labellers keep the street and its crossing whole as they do with it; after a shop or a park
# ("Starbucks at corner of Cambridge and Irving") they keep one part, and no compound is proposed.
_LINKS_AFTER_A_STREET_ONLY = frozenset({("at", "intersection", "of"), ("at", "corner", "of")})
# Words between the two streets of a corner: the connectors, and "past" ("Mission St just past 24th St",
# "reading street just past Alther"), which says where on the first street as "near" does.
_CORNER_WORDS = CONNECTORS | {"past"}
_MAX_LINK_WORDS = max(len(words) for words in _LINKS) + 1

_KIND_STRENGTH: dict[str, float] = {
    "coordinates": 6.0,
    "address": 5.0,
    "intersection": 4.0,
    "street": 3.0,
    "landmark": 2.5,
}


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    upper: str
    lower: str
    is_word: bool
    # Capitalised, and the capital is a sign of a name: not a common word, not only grammar.
    proper: bool
    capitalized: bool
    # First word of a sentence: its capital says nothing.
    initial: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int  # token indices, end exclusive
    end: int
    kind: LocationKind
    strength: float
    normalized: str
    lat: float | None = None
    long: float | None = None
    rule: str = "pattern"
    # For a span joining two places ("Finns Sushi on Garden St"): the kinds and rules of its parts.
    parts: str = ""


def _tokenize(text: str) -> list[_Token]:
    common = common_words()
    tokens: list[_Token] = []
    initial = True
    for raw, start, end, is_word in _raw_tokens(text):
        if raw.isspace():
            initial = True
            continue
        normalized = raw.replace("’", "'")
        if raw.endswith(".") and len(raw) == 4:  # "S.W." -> "SW"
            normalized = raw.replace(".", "")
        lower = normalized.lower()
        capitalized = raw[0].isupper()
        proper = (
            capitalized and lower not in common and lower not in STOPWORDS and lower not in MONTHS_AND_DAYS
        )
        tokens.append(
            _Token(
                raw,
                start,
                end,
                normalized.upper(),
                lower,
                is_word,
                proper,
                capitalized,
                initial,
            )
        )
        # A period after a short abbreviation ("St.", "W.") does not end the sentence.
        if raw in _SENTENCE_END:
            initial = not (raw == "." and len(tokens) >= 2 and len(tokens[-2].text) <= 3)
        elif is_word:
            initial = False
    return tokens


def _raw_tokens(text: str) -> list[tuple[str, int, int, bool]]:
    """``_TOKEN``'s matches (text, start, end, is a word), a hyphenated name split again where its second
    part is a function word or its first a name's last ("on Lamartine-Still not shoveled", "Hynes
    Field-Grass is not maintained"): the place, then a new sentence."""
    found: list[tuple[str, int, int, bool]] = []
    for match in _TOKEN.finditer(text):
        raw, start = match.group(), match.start()
        hyphen = raw.find("-")
        first, second = raw[:hyphen].lower(), raw[hyphen + 1 :].lower()
        ends_a_name = first in LANDMARK_HEADS or first.upper() in SUFFIXES
        if hyphen > 0 and re.fullmatch(_HYPHENATED_NAME, raw) and (second in STOPWORDS or ends_a_name):
            found.append((raw[:hyphen], start, start + hyphen, True))
            found.append(("-", start + hyphen, start + hyphen + 1, False))
            found.append((raw[hyphen + 1 :], start + hyphen + 1, match.end(), True))
            continue
        found.append((raw, start, match.end(), match.group("word") is not None))
    return found


def _context_class(word: str) -> str:
    if word in _CONTEXT_WORDS:
        return word
    return "<word>" if word[:1].isalnum() else "<punct>"


def _plain(token: _Token) -> bool:
    """Written in lower case, or shouted in capitals (longer than an acronym): no sign of a name."""
    return token.text.islower() or (token.text.isupper() and len(token.text) > 4)


def _is_suffix(token: _Token) -> bool:
    return token.upper in SUFFIXES


_QUADRANTS = frozenset({"NE", "NW", "SE", "SW"})
# Marks after which a direction spelt out after a street type ends the place ("Dundas Street East.").
_CLOSING_MARKS = frozenset({",", ".", ";", ":", "!", "?", ")"})


def _is_quadrant(token: _Token) -> bool:
    """A directional written after a suffix as part of the street ("Main St NW", "15th ave nw"): in
    capitals, or a two-letter quadrant in any case (a lower-case "n" or "s" is more often a word)."""
    return token.upper in DIRECTIONALS and (token.text.isupper() or token.upper in _QUADRANTS)


_HOUSE_NUMBER = re.compile(r"\d{1,5}[A-Za-z]?")


def _is_number(token: _Token) -> bool:
    """A house number: "452", "221B" (not "5th")."""
    return _HOUSE_NUMBER.fullmatch(token.text) is not None and not is_ordinal(token.text)


def _cut_short(part: _Candidate, same_start: list[_Candidate]) -> bool:
    """A place's name read without the street type that ends it ("Veterans Memorial" of "Veterans Memorial
    Pkwy"): joined to a street before it ("W State St near Veterans Memorial"), it would cut the second
    street in two. (Joined to a place before it, "Pizzeria Regina on Cambridge", such a candidate stays: the
    ranker was trained with those among the candidates it weighs against each other.)"""
    return part.kind == "landmark" and any(
        other.end > part.end and other.strength > 0 and other.kind in {"street", "address", "intersection"}
        for other in same_start
    )


def _no_date(first: _Token, second: _Token) -> bool:
    """Two numbers around a slash that no date writes ("612/614"; not "2/13", "12/25")."""
    return not (
        first.text.isdigit() and second.text.isdigit() and int(first.text) <= 31 and int(second.text) <= 31
    )


def _could_be_a_date(token: _Token) -> bool:
    """A number after a month or a day that is its date or year ("Jan 12", "Friday 16th", "May 2023"), not
    the house number of an address that follows the day ("picked up on Wednesday 1495 Neil Ave")."""
    digits = "".join(char for char in token.text if char.isdigit())
    return len(digits) <= 2 or (len(digits) == 4 and 1900 <= int(digits) <= 2099)


def _is_letter_name(token: _Token) -> bool:
    """ "D and West Seventh", "L st": a single capital letter names a street."""
    return len(token.text) == 1 and token.text.isalpha() and token.text.isupper() and token.text not in "AI"


# Short forms of days and months that open street names as plain words ("Sun Bowl Dr", "Sun Valley Blvd",
# "Mar Vista Ave", "May St"): capitalised, they may be a name's.
_DATES_IN_NAMES = frozenset({"sun", "mar", "may"})


def _is_name_word(token: _Token) -> bool:
    """A word that can be part of a street or place name (not a function word, not punctuation)."""
    if not token.is_word or token.text.isdigit():
        return False
    if token.lower in STOPWORDS or token.lower in MONTHS_AND_DAYS:
        return _is_letter_name(token) or (token.lower in _DATES_IN_NAMES and token.text.istitle())
    return True


_AVENUE_FIRST = frozenset({"AVENUE", "AVE"})
_NUMBER_WORDS = _words("two three four five six seven eight nine ten eleven twelve")
# Street types spelt out as English words ("street light", "Road work"), not abbreviated.
_SUFFIX_WORDS = frozenset({"STREET", "AVENUE", "ROAD", "DRIVE", "LANE", "BOULEVARD", "WAY", "PLACE", "COURT"})
# Street types written short that are no English word nor a slip of one (not "Dr", a doctor, nor "ln" for
# "in"), and that residents do not write for any street ("st": "the whole st", "a residential st").
_SHORT_TYPES = frozenset({"AVE", "BLVD", "RD", "HWY", "PKWY", "FWY", "EXPY", "EXPWY"})
# Street types that are also verbs a resident says of themself ("I drive", "I walk", "I park").
_VERB_TYPES = frozenset(
    {"DRIVE", "WALK", "PARK", "RUN", "PASS", "CIRCLE", "ROW", "TRAIL", "LOOP", "CROSSING", "COURT"}
)
# Street types that are also streets' names, spelt out before another type: "Bridge St", "Heights Blvd".
_TYPES_THAT_NAME = frozenset(
    {"BRIDGE", "HEIGHTS", "CROSSING", "PLAZA", "CIRCLE", "TERRACE", "POINT", "LANE"}
    | {"CAUSEWAY", "PIKE", "TURNPIKE"}
)
# "Valencia btwn 17th and 18th": how 311 messages shorten "between" ("btw" too, where a street and two
# cross streets around it rule out "by the way").
_BETWEEN = frozenset({"between", "btwn", "btw", "betw", "entre"})
# After a grid street's number: "900 E", "1300 South".
_GRID_DIRECTIONS = frozenset({"N", "S", "E", "W", "North", "South", "East", "West"})
# "N", "SW": the directionals written as their own abbreviation.
_ABBREVIATED_DIRECTIONS = frozenset(name for name, short in DIRECTIONALS.items() if name == short)


# "8 Mile", "Seven Mile Rd": Detroit's Mile roads (and their like elsewhere) are named by a number and a
# capitalised "Mile"; a distance ("a Mile of the path", "5 Mile from here") goes on with one of these.
_MILES = frozenset({"Mile", "MILE"})
_AFTER_A_DISTANCE = _words("of from away long radius or to past further north south east west")


def _is_mile_road(words: list[_Token]) -> bool:
    """The words of a Mile road found by ``_Finder.mile_road_end`` ("8 Mile")."""
    return len(words) == 2 and words[1].text in _MILES


def _is_grid(words: list[_Token]) -> bool:
    """The words of a grid street found by ``_Finder.grid_street_end`` ("900 E")."""
    return len(words) == 2 and words[0].text.isdigit() and words[1].text in _GRID_DIRECTIONS


def _grid_street(words: list[_Token]) -> bool:
    """ "W Haddon", "S Broadway", "N Halsted": grid cities write an abbreviated direction before one or two
    names (capitalised, no everyday words); the abbreviation is the sign a street type would be."""
    return (
        2 <= len(words) <= 3 and words[0].text in _ABBREVIATED_DIRECTIONS and all(t.proper for t in words[1:])
    )


# A message shouted in capitals: of enough letters, nearly all capitals.
_SHOUTED_SHARE = 0.9
_SHOUTED_LETTERS = 8
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


def _unshouted(text: str, common: frozenset[str], names: frozenset[str]) -> str:
    """A message shouted in capitals, as a resident writing in mixed case would have written it: in
    capitals every word looks like a name ("IN CORKTOWN NOBODY SALTED" was one place), and the ranker, which
    learnt from mixed case, found "ON 6TH STREET" no place. Everyday words go to lower case (function words
    stay as written: the ranker reads them in any case); a street's name before its type is capitalised
    with it ("Main Street", "New York Ave", "6th Street"), except an everyday word no street is named after
    before an abbreviated type ("GOVERNMENT ST", maybe a name) or a generic one ("CITY STREET": in lower
    case the known name "city" makes it a street), which stay as written; a type after no name goes to
    lower case ("the bike lane"). Other words stay in capitals, names as before. Only ASCII letters change,
    one for one, so every offset into the text stays the same."""
    letters = [char for char in text if char.isalpha()]
    capitals = sum(char.isupper() for char in letters)
    if len(letters) < _SHOUTED_LETTERS or capitals < _SHOUTED_SHARE * len(letters):
        return text
    matches = list(_ASCII_WORD.finditer(text))
    words = [match.group() for match in matches]
    shouted = [word == word.upper() and any(char.isalpha() for char in word) for word in words]
    recased = list(words)

    def suffix(at: int) -> bool:
        return 0 <= at < len(words) and shouted[at] and words[at].upper() in SUFFIXES

    def everyday(word: str) -> bool:
        lower = word.lower()
        return lower in STOPWORDS or lower in common or lower in MONTHS_AND_DAYS

    for at, word in enumerate(words):
        if not shouted[at] or suffix(at) or len(word) == 1:
            continue  # written in lower case: as it is; a street type: below; "N", "I", "A St"
        if any(char.isdigit() for char in word):
            recased[at] = word.lower()  # "6TH" -> "6th", "3AM" -> "3am"
        elif everyday(word) and word.lower() not in STOPWORDS and word not in _QUADRANTS | TRANSIT_SYSTEMS:
            recased[at] = word.lower()
    for at in range(len(words) - 1):
        # "RHODE ISLAND", "VAN NESS": a known name of two words, one of them an everyday word.
        pair = words[at : at + 2]
        if all(shouted[at : at + 2]) and " ".join(pair).upper() in names and not all(map(everyday, pair)):
            recased[at : at + 2] = pair
        # "LAS VEGAS", "EL CAMINO": a particle that opens street names, before a name.
        if shouted[at] and words[at].lower() in NAME_PARTICLES and recased[at + 1][:1].isupper():
            recased[at] = words[at]
    for at in range(len(words)):
        if not suffix(at):
            continue
        kind = words[at].upper()
        spelt = kind in _SUFFIX_WORDS or kind in AMBIGUOUS_SUFFIXES
        # The name before the type, capitalised: "Main Street", "New York Ave", "Reed Street". An everyday
        # word no street is named after stays as written before an abbreviated type ("GOVERNMENT ST": maybe
        # a name, as before), and so does a generic one ("CITY STREET": in lower case a known name, "city
        # street" would be read as a street).
        as_written = False
        for before in range(at - 1, max(at - 4, -1), -1):
            word = words[before]
            if not shouted[before] or word.lower() in STOPWORDS or suffix(before) or len(word) == 1:
                break
            if any(char.isdigit() for char in word):
                continue
            right_before = before == at - 1
            generic = right_before and (word.lower() in GENERIC_MODIFIERS or kind in AMBIGUOUS_SUFFIXES)
            if not everyday(word) or (word.upper() in names and not generic):
                recased[before] = word.capitalize()
            elif right_before and (not spelt or generic):
                recased[before] = word
                as_written = True
                break
            else:
                break
        if as_written:
            continue
        previous = recased[at - 1] if at >= 1 else ""
        following = recased[at + 1] if at + 1 < len(words) else ""
        # "6th Street", "Main St", "E St"; "ST JOHNS": "St" before a name is "Saint"; "bike lane", "the
        # street" in lower case.
        named = previous[:1].isupper() or previous[:1].isdigit() or (kind == "ST" and following[:1].isupper())
        recased[at] = words[at].capitalize() if named else words[at].lower()
    pieces = []
    last = 0
    for match, word in zip(matches, recased, strict=True):
        pieces.append(text[last : match.start()])
        pieces.append(word)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


class _Finder:
    def __init__(self, text: str) -> None:
        # What the resident wrote, for the spans; the finder reads it unshouted (``_unshouted``).
        self.written = text
        text = _unshouted(text, common_words(), street_names())
        self.text = text
        self.tokens = _tokenize(text)
        self._ends = [token.end for token in self.tokens]
        self.names = street_names()
        self.common = common_words()

    # -- evidence ---------------------------------------------------------------------------------------

    def _named(self, token: _Token) -> bool:
        """The word looks like part of a name: an ordinal, a single capital letter, a proper-looking
        capitalised word, or a capitalised known street name that does not open a sentence."""
        if is_ordinal(token.text) or _is_letter_name(token):
            return True
        if not _is_name_word(token):
            return False
        if token.proper:
            return True
        return token.capitalized and not token.initial and token.upper in self.names

    def _after_bracket(self, token: _Token) -> bool:
        """Right after an opening bracket: the ranker reads it as a sentence's start, but there a capital
        opens a name as often ("our street (Cripple Creek Dr)")."""
        return token.start >= 1 and self.text[token.start - 1] == "("

    def _known(self, words: list[_Token]) -> bool:
        return bool(words) and normalize_street(" ".join(t.text for t in words)) in self.names

    def _misspelt_known(self, words: list[_Token]) -> bool:
        """ "markt", "valenca", "misson": one word, no everyday word, one letter away from a known street
        name (a letter dropped, added, changed or two swapped). Only ever evidence at a corner whose other
        side is plainly a street: alone, too many slips of everyday words are a street somewhere."""
        if len(words) != 1 or not words[0].text.isalpha() or len(words[0].text) < 5:
            return False
        word = words[0].upper
        if word in self.names or words[0].lower in self.common:
            return False
        closest = process.extractOne(word, self.names, scorer=DamerauLevenshtein.distance, score_cutoff=1)
        return closest is not None

    def _numbered_street_at(self, index: int) -> bool:
        """ "W 96 St", "EAST 12 STREET": New York writes its numbered streets without the ordinal's
        ending, always after a direction and before the street type."""
        tokens = self.tokens
        return (
            index >= 1
            and index + 1 < len(tokens)
            and tokens[index].text.isdigit()
            and len(tokens[index].text) <= 3
            and tokens[index - 1].is_word
            and tokens[index - 1].upper in DIRECTIONALS
            and _is_suffix(tokens[index + 1])
        )

    def grid_street_end(self, index: int, *, any_case: bool = False) -> int | None:
        """ "900 E", "2100 S at 700 E", "600 N and 800 W": grid cities (Salt Lake City and Utah's others)
        name streets by their distance from the centre in hundreds and a direction. Only round numbers, and
        only when no name or number follows (then "1500 E Main St" is an address on Main St)."""
        tokens = self.tokens
        if index + 1 >= len(tokens):
            return None
        number, direction = tokens[index], tokens[index + 1]
        if not (number.text.isdigit() and 3 <= len(number.text) <= 4 and int(number.text) % 50 == 0):
            return None
        if direction.text not in _GRID_DIRECTIONS and not (
            any_case and direction.lower in _HOUSE_NUMBER_DIRECTIONS
        ):
            return None
        end = index + 2
        if end < len(tokens) and (
            tokens[end].capitalized or tokens[end].text[:1].isdigit() or _is_suffix(tokens[end])
        ):
            return None
        return end

    def grid_address_end(self, index: int) -> int | None:
        """The end of a grid city's address starting at ``index``: "1450 S 1100 E" is number 1450 South on the
        street 1100 East, "625 N 800 W" (Salt Lake City and Utah's others write addresses so)."""
        tokens = self.tokens
        if index + 3 >= len(tokens) or not tokens[index].text.isdigit() or len(tokens[index].text) > 5:
            return None
        # Within an address the form is sure enough to read in lower case too: "591 east 300 south".
        if (
            tokens[index + 1].text not in _GRID_DIRECTIONS
            and tokens[index + 1].lower not in _HOUSE_NUMBER_DIRECTIONS
        ):
            return None
        return self.grid_street_end(index + 2, any_case=True)

    def mile_road_end(self, index: int) -> int | None:
        """The end of a Mile road starting at ``index``: "7 Mile", "8 Mile Rd" (the type is read after it),
        "Seven Mile". Not a distance: "a Mile of the path", "5 Mile from here", "$5 Mile"."""
        tokens = self.tokens
        if index + 1 >= len(tokens) or tokens[index + 1].text not in _MILES:
            return None
        number = tokens[index]
        digits = number.text.isdigit() and not number.text.startswith("0") and int(number.text) <= 40
        if not (digits or (number.lower in _NUMBER_WORDS and number.capitalized)):
            return None
        if index >= 1 and tokens[index - 1].end == number.start and not tokens[index - 1].is_word:
            return None  # "$5 Mile", "-5 Mile"
        following = tokens[index + 2] if index + 2 < len(tokens) else None
        if following is not None and following.lower in _AFTER_A_DISTANCE:
            return None
        return index + 2

    @staticmethod
    def _everyday_name(word: _Token, suffix: _Token) -> bool:
        """ "Front St", "Day Blvd", "March Ave": an everyday word, capitalised mid-sentence right before a
        street type that is no English word itself, names the street."""
        return (
            word.lower in _NAMING_EVERYDAY_WORDS
            and word.capitalized
            and not word.initial
            and _is_suffix(suffix)
            and suffix.upper not in AMBIGUOUS_SUFFIXES
        )

    # -- names of several words ------------------------------------------------------------------------

    def _known_run(self, start: int, end: int) -> bool:
        """``tokens[start:end]`` (two words or more) spell a known street name, written as one: "Van Ness",
        "van ness", "South Van Ness", "Martin Luther King Jr", "Mc Allister" (MCALLISTER). Each word alone
        may be an everyday word ("van") that cuts the name short; together they are the street. Not when
        every word is an everyday lower-case word ("the park view"), nor from a function word ("a", "of"),
        nor when the list holds a place ("Thomas Park", "City Hall": the head noun makes it a landmark) or a
        street with its neighbourhood ("Washington St Brighton": a suffix inside the run). Before a street
        type the head noun is the street's name: "bernal heights blvd"."""
        run = self.tokens[start:end]
        before_type = end < len(self.tokens) and _is_suffix(self.tokens[end])
        if len(run) < 2 or not all(t.is_word for t in run):
            return False
        if run[-1].lower in LANDMARK_HEADS and not before_type:
            return False
        if any(_is_suffix(t) for t in run[1:-1]):
            return False
        if run[0].lower in STOPWORDS and run[0].text != "St":
            return False
        if all(not t.capitalized and t.lower in self.common for t in run):
            return False
        written = " ".join(t.text for t in run)
        name = normalize_street(written)
        if name in self.names:
            return True
        # "bernal heights blvd": alone, the last word would be read as the street's type ("BERNAL HTS").
        if before_type:
            with_type = normalize_street(f"{written} {self.tokens[end].text}")
            if split_suffix(with_type)[0] in self.names:
                return True
        # "Mc Allister", "Mac Arthur", "De Haro": a short prefix written apart from the name.
        return len(run) == 2 and len(run[0].text) <= 3 and name.replace(" ", "", 1) in self.names

    def known_name_from(self, start: int) -> int | None:
        """The end of the longest known name of several words starting at ``start``, if any."""
        tokens = self.tokens
        if start >= len(tokens):
            return None
        longest = multiword_name_lengths().get(tokens[start].upper, 0)
        if len(tokens[start].text) <= 3:
            longest = max(longest, 2)
        for size in range(min(longest, len(tokens) - start), 1, -1):
            if self._known_run(start, start + size):
                return start + size
        return None

    def particle_name_before(self, end: int) -> int | None:
        """The start of a run of capitalised words ending just before ``end`` and opened by a particle
        that opens street names: "El Camino Real", "San Pablo", "Del Mar"."""
        tokens = self.tokens
        for start in range(end - 2, max(end - _MAX_NAME_WORDS, 0) - 1, -1):
            token = tokens[start]
            if not (token.capitalized and _is_name_word(tokens[start + 1])):
                return None
            if token.lower in NAME_PARTICLES:
                run = tokens[start + 1 : end]
                if all(t.capitalized and t.is_word and t.lower not in STOPWORDS for t in run):
                    return start
        return None

    def known_name_before(self, end: int) -> int | None:
        """The start of the longest known name of several words ending just before ``end``, if any."""
        for size in range(min(_MAX_NAME_WORDS, end), 1, -1):
            start = end - size
            opens = multiword_name_lengths().get(self.tokens[start].upper, 0) >= size
            if (opens or (size == 2 and len(self.tokens[start].text) <= 3)) and self._known_run(start, end):
                return start
        return None

    def _evidence(self, words: list[_Token], has_suffix: bool) -> float:
        """How sure we are that ``words`` (plus a suffix when ``has_suffix``) name a street."""
        if not words:
            return 0.0
        if _is_grid(words):
            return 2.5  # a number and a direction: as sure as an ordinal street's name
        if _is_mile_road(words):
            return 4.0 if has_suffix else 2.5  # "8 Mile": as sure as an ordinal street's name
        score = 1.5 if has_suffix else 0.0
        # "W 96": a bare number after a direction is a numbered street (only ever proposed before a type).
        numbered = len(words) >= 2 and words[-1].text.isdigit() and words[-2].upper in DIRECTIONALS
        if numbered or any(is_ordinal(t.text) for t in words):
            score += 1.5
        known = self._known(words)
        if known:
            score += 0.75
            # "van ness", "cesar chavez": several words that together spell a known name are no chance.
            if len(words) >= 2:
                score += 0.75
        # "El Camino Real": capitalised words opened by a particle that opens street names.
        particle = len(words) >= 2 and words[0].lower in NAME_PARTICLES and all(t.capitalized for t in words)
        # "Ponce de Leon": a lower-case particle inside a capitalised name is part of it.
        if len(words) >= 3 and words[0].capitalized and words[-1].capitalized:
            words = [t for t in words if t.capitalized or t.lower not in _INNER_PARTICLES]
        if particle or all(self._named(t) or t.upper in DIRECTIONALS for t in words):
            score += 1.0
        else:
            # Capitalised mid-sentence, or (before a suffix, or as a known name: "polk and sutter")
            # lower-case words that are not everyday words.
            capitalised = all(t.capitalized and (not t.initial or self._after_bracket(t)) for t in words)
            # A lone lower-case letter is no name ("b&b", "w/o").
            uncommon = (has_suffix or (known and all(len(t.text) > 1 for t in words))) and all(
                t.lower not in self.common for t in words
            )
            score += 0.5 if capitalised or uncommon else 0.0
        return score

    # -- street phrases --------------------------------------------------------------------------------

    def street_ending_at_suffix(
        self, suffix: int, *, after_number: bool = False, as_name: bool = False
    ) -> tuple[int, float] | None:
        """A street phrase whose last word is the suffix at ``suffix``: (first token, evidence).
        "blue hill avenue", "Comm Ave", "W 7th St", "St Botolph St", after a number "ocallaghan way"."""
        tokens = self.tokens
        # "street light", "the avenue's sweeping": the suffix written out is the common noun; "Lakeshore Ave
        # parking" names the street before what is on it.
        if (
            not as_name
            and suffix + 1 < len(tokens)
            and tokens[suffix + 1].lower in STREET_COMPOUNDS
            and not (tokens[suffix].capitalized and tokens[suffix].upper not in _SUFFIX_WORDS)
        ):
            return None
        # "North Point St", "Hunts Point Ave": a type that names, before the street's own type, is no end.
        if (
            suffix + 1 < len(tokens)
            and tokens[suffix].upper in _TYPES_THAT_NAME
            and tokens[suffix].capitalized
            and _is_suffix(tokens[suffix + 1])
        ):
            return None
        if suffix >= 2 and self.mile_road_end(suffix - 2) == suffix:
            return suffix - 2, self._evidence(tokens[suffix - 2 : suffix], has_suffix=True)  # "8 Mile Rd"
        words: list[int] = []
        index = suffix - 1
        # "Del Mar Ave": a known name of several words before the suffix, though "Mar" is a month.
        known_start = self.known_name_before(suffix)
        while index >= 0 and len(words) < 4:
            token = tokens[index]
            if known_start is not None and index >= known_start:
                words.append(index)
                index -= 1
                continue
            if token.text == "." and index >= 1 and len(tokens[index - 1].text) <= 3 and words:
                index -= 1
                continue
            if token.text == "." and not words and index >= 1 and len(tokens[index - 1].text) <= 3:
                index -= 1
                continue
            # "Bridge St", "Heights Blvd", "Circle Dr": a street type that is also a name, spelt out and
            # capitalised right before the street's own type, is the name.
            named_type = not words and token.upper in _TYPES_THAT_NAME and token.capitalized
            # "Six Forks Rd", "Seven Mile Rd": a capitalised number word opening a capitalised name.
            number_word = (
                bool(words)
                and token.lower in _NUMBER_WORDS
                and token.capitalized
                and not token.initial
                and tokens[words[-1]].capitalized
            )
            inner_suffix = _is_suffix(token) and not (
                token.upper == "ST" or (token.upper in AMBIGUOUS_SUFFIXES and token.capitalized) or named_type
            )
            saint = token.text == "St" and bool(words) and tokens[words[-1]].capitalized
            # "A St": any single capital letter right before the suffix names the street; not the pronoun
            # before a street type that is a verb in lower case ("I drive past this pothole", "I walk by
            # here", "I park on the street"); "I St", "I Street", "I street NW" still are.
            letter = (
                not words
                and len(token.text) == 1
                and token.text.isupper()
                and not (
                    token.text == "I"
                    and tokens[suffix].text.islower()
                    and tokens[suffix].upper in _VERB_TYPES
                )
            )
            everyday = not words and self._everyday_name(token, tokens[suffix])
            numbered = not words and self._numbered_street_at(index)
            if (
                not (
                    _is_name_word(token)
                    or is_ordinal(token.text)
                    or saint
                    or letter
                    or everyday
                    or numbered
                    or named_type  # "Lane Ave", though "lane" is a stop word ("bike lane")
                    or number_word
                )
                or inner_suffix
            ):
                break
            words.append(index)
            index -= 1
        if not words:
            return None
        words.reverse()  # text order; words[-1] is the word right before the suffix
        # After a house number every word up to the suffix is the name ("4500 Woodland Park Ave").
        first = words[0] if after_number and len(words) <= 3 else self._name_start(words, after_number)
        if known_start is not None and (first is None or known_start < first):
            first = known_start  # "bernal heights blvd": the whole known name, its head noun included
        if first is None:
            return None
        name = [tokens[i] for i in range(first, suffix) if tokens[i].is_word]
        # "cerca de la plaza", "en la avenida": an article and a street type are "the square", no name.
        if all(t.lower in _LOWER_ARTICLES for t in name):
            return None
        # "parked in Fire Lane", "left on Bike lane", "the Bus Lane": a lane of a road, however written.
        if tokens[suffix].upper in {"LANE", "LN"} and len(name) == 1 and name[0].lower in _TRAFFIC_LANES:
            return None

        def inner_particle(token: _Token) -> bool:  # "640 Ponce de Leon Ave"
            return token.lower in _INNER_PARTICLES and name[0].capitalized and token is not name[0]

        # "17 mins Union Sq": an everyday lower-case word after a number is no street name.
        if after_number and any(
            _plain(t) and t.lower in self.common and t.upper not in self.names and not inner_particle(t)
            for t in name
        ):
            return None
        evidence = self._evidence(name, has_suffix=True)
        if after_number:
            evidence += 1.0
        if len(name) == 1 and self._before_a_short_type(first):
            evidence += 0.5
        # "cross walk", "bike lane", "the way": an ordinary word before an ambiguous suffix.
        if tokens[suffix].upper in AMBIGUOUS_SUFFIXES and evidence < 2.5:
            return None
        if evidence < 2.0:
            return None
        return first, evidence

    def _before_a_short_type(self, index: int) -> bool:
        """ "boulder hwy", "park ave", "telephone rd": the word at ``index`` is an everyday word (not a
        function word) right before a street type written short in lower case. A short type is no English
        word, so the word before it is a street's name all the same; spelt out ("ubers drive") it is not."""
        tokens = self.tokens
        if index + 1 >= len(tokens):
            return False
        word, suffix = tokens[index], tokens[index + 1]
        return (
            suffix.upper in _SHORT_TYPES
            and suffix.text.islower()
            and word.text.isalpha()
            and len(word.text) >= 3
            and word.lower not in STOPWORDS
        )

    def _name_start(self, words: list[int], after_number: bool) -> int | None:
        tokens = self.tokens
        # The run of name-like words (with directionals) before the suffix.
        run_start: int | None = None
        for position in range(len(words) - 1, -1, -1):
            i = words[position]
            token = tokens[i]
            name_like = self._named(token) or token.upper in DIRECTIONALS
            saint = token.capitalized and run_start is not None and token.upper == "ST"
            # "Ponce de Leon Ave", "Camino del Rio": a lower-case particle between two capitalised words.
            particle = (
                run_start is not None
                and token.lower in _INNER_PARTICLES
                and not token.capitalized
                and position >= 1
                and tokens[words[position - 1]].capitalized
                and tokens[run_start].capitalized
            )
            # "our street (Cripple Creek Dr)": a bracket opens a sentence for the ranker, but a capital
            # right after it, in a run of capitals before a street type, is the name's.
            bracketed = self._after_bracket(token) and run_start is not None
            if name_like or (token.capitalized and (not token.initial or bracketed)) or saint or particle:
                run_start = i
            else:
                break
        # The longest run ending at the suffix that is a known street name ("BLUE HILL"), unless the
        # name-like run is longer ("Hood Park Drive", where only "PARK" is known).
        for size in range(len(words), 0, -1):
            run = words[-size:]
            if self._known([tokens[i] for i in run]):
                # "W Belmont Ave": a directional before a known name belongs to it.
                known_start = run[0]
                if size < len(words) and tokens[words[-size - 1]].upper in DIRECTIONALS:
                    known_start = words[-size - 1]
                return known_start if run_start is None else min(known_start, run_start)
        if run_start is not None:
            return run_start
        if after_number:
            return words[0] if len(words) <= 3 else None
        # Lower-case text: one uncommon word before the suffix ("havey st"), not "flooding street"; or any
        # word but a function word before a type written short, which is no English word ("boulder hwy").
        last = tokens[words[-1]]
        if (last.lower not in self.common and not is_ordinal(last.text)) or self._before_a_short_type(
            words[-1]
        ):
            # "la cienega blvd": a lower-case Spanish article opens the name (``_lower_article_name``).
            if len(words) >= 2 and (
                tokens[words[-2]].upper in DIRECTIONALS or tokens[words[-2]].text in _LOWER_ARTICLES
            ):
                return words[-2]
            return words[-1]
        return None

    def _quadrant_at(self, at: int) -> bool:
        """A quadrant after a suffix: in capitals or two letters ("NW", "S.W."), or a lower-case letter that
        closes the phrase ("1st ave s and s jackson st"); elsewhere "s" or "n" is more often a word."""
        tokens = self.tokens
        token = tokens[at]
        if _is_quadrant(token):
            return True
        if token.upper not in DIRECTIONALS:
            return False
        following = tokens[at + 1] if at + 1 < len(tokens) else None
        if len(token.text) == 1:
            if self._travel_direction_ending_at(at + 3) == at:
                return False  # "Rainbow Blvd n/b": northbound, no quadrant
            # "16th ave s between 11th and 12th st": a stretch after the quadrant closes it too.
            return (
                following is None
                or not following.is_word
                or following.lower in CONNECTORS
                or following.lower in _BETWEEN
            )
        # Spelt out: "10 Dundas Street East", "2 Bloor St West, Toronto", "Queen Street East and Broadview",
        # "Charles St South is always unshoveled" (Toronto's names, and Boston's few, carry a direction
        # after the type). Not where it opens a name ("Saratoga St East boston", "Centre st. West
        # roxbury") or a phrase ("Washington St north and south of", "comm ave. east-bound"); after a
        # period only at the end of the place.
        if following is None or following.text in _CLOSING_MARKS:
            return True
        if following.lower in CONNECTORS:
            after = tokens[at + 2] if at + 2 < len(tokens) else None
            return after is None or after.upper not in DIRECTIONALS
        return (
            token.capitalized
            and tokens[at - 1].text != "."
            and following.text.islower()
            and following.lower in self.common
            and following.upper not in DIRECTIONALS
        )

    def _quadrant_after(self, end: int) -> int:
        """``end`` moved past a quadrant written after a suffix ("Main St NW", "38th Ave. S.W.")."""
        tokens = self.tokens
        at = end + 1 if end + 1 < len(tokens) and tokens[end].text == "." else end
        if at < len(tokens) and self._quadrant_at(at):
            following = tokens[at + 1].lower if at + 1 < len(tokens) else ""
            # "Washington St north to the bridge" heads somewhere; "Peachtree St NE from 10th to 14th" is
            # still Peachtree St NE: a quadrant of two letters in capitals is no direction of travel.
            quadrant = tokens[at].upper in _QUADRANTS and tokens[at].text.isupper()
            travels = set() if quadrant else {"on", "to", "from"}
            if following not in {"of", "side", "end", "bound"} | travels:
                return at + 1
        return end

    def _spanish_name_end(self, match: re.Match[str], group: str) -> int:
        """The token after a Spanish pattern's name, past a quadrant after its English type ("la calle
        Mount Pleasant St NW", "14th St NW y Columbia Rd NW")."""
        tokens = self.tokens
        end = self._token_at(match.end(group) - 1) + 1
        typed_end = end - 1 if tokens[end - 1].text == "." else end
        if typed_end >= 1 and _is_suffix(tokens[typed_end - 1]):
            past = self._quadrant_after(typed_end)
            if past > typed_end:
                return past
        return end

    def avenue_first(self, start: int) -> int | None:
        """The end of a street whose type comes first: "Avenue B", "Avenue 50", "Avenue of the Americas"
        (New York, Los Angeles, Miami write these)."""
        tokens = self.tokens
        if (
            start + 1 >= len(tokens)
            or tokens[start].upper not in _AVENUE_FIRST
            or not tokens[start].capitalized
        ):
            return None
        # "1st Ave S": after a name the avenue is a suffix and the letter a quadrant ("12 Avenue A": not
        # after a house number).
        previous = tokens[start - 1] if start >= 1 else None
        if (
            previous is not None
            and previous.is_word
            and previous.lower not in STOPWORDS
            and not _is_number(previous)
        ):
            return None
        following = tokens[start + 1]
        # Any capital letter, "A" and "I" too, after the type ("Avenue A").
        letter = len(following.text) == 1 and following.text.isalpha() and following.text.isupper()
        if letter or (following.text.isdigit() and len(following.text) <= 3):
            return start + 2
        if (
            start + 3 < len(tokens)
            and following.lower == "of"
            and tokens[start + 2].lower == "the"
            and tokens[start + 3].proper
        ):
            return start + 4
        return None

    def street_forward(self, start: int) -> tuple[int, bool, list[_Token]] | None:
        """A street phrase starting at ``start``: (end, has suffix, its name words). "West Seventh",
        "Market St", "L st", "Valencia", "cedar streets", "Avenue B"."""
        tokens = self.tokens
        avenue_end = self.avenue_first(start)
        if avenue_end is not None:
            return avenue_end, True, [t for t in tokens[start + 1 : avenue_end] if t.is_word]
        grid_end = self.grid_street_end(start)
        if grid_end is not None:
            return grid_end, False, [t for t in tokens[start:grid_end] if t.is_word]
        mile_end = self.mile_road_end(start)
        if mile_end is not None:
            if mile_end < len(tokens) and _is_suffix(tokens[mile_end]):
                return self._quadrant_after(mile_end + 1), True, tokens[start:mile_end]
            return mile_end, False, tokens[start:mile_end]
        index = start
        known_end = self.known_name_from(start)
        # "E St", "N Street": a directional's letter followed by the type is the lettered street's name.
        if (
            index + 1 < len(tokens)
            and tokens[index].upper in DIRECTIONALS
            and tokens[index].is_word
            and not (_is_letter_name(tokens[index]) and _is_suffix(tokens[index + 1]))
        ):
            index += 2 if tokens[index + 1].text == "." else 1
            known_end = known_end or self.known_name_from(index)
        # "Bethany Home Rd", "Cave Creek Rd", "Junction St": capitalised words up to a street type are the
        # name, everyday words among them, as the street read back from its type takes them.
        known_end = known_end or self._capitalised_name_before_a_type(index)
        words: list[_Token] = []
        # Three words of a name at most, then a street type may still close it ("w fond du lac ave").
        while index < len(tokens) and (
            len(words) < 3
            or (known_end is not None and index < known_end)
            or (len(words) == 3 and _is_suffix(tokens[index]))
        ):
            token = tokens[index]
            # "Van Ness", "Martin Luther King Jr": every word of a known name, everyday words included.
            if known_end is not None and index < known_end:
                words.append(token)
                index += 1
                continue
            if _is_suffix(token) and words:
                # "street light" is the common noun; "jackson st and spruce st tree roots": a type written
                # short after a known name is the street's, whatever follows it.
                abbreviated = token.upper not in _SUFFIX_WORDS and (token.capitalized or self._known(words))
                compound = index + 1 < len(tokens) and tokens[index + 1].lower in STREET_COMPOUNDS
                if compound and not abbreviated:
                    # "Clark & Division street light is out", "1200 block of S Halsted street lights": after
                    # a name, the street light is what is broken and the name ends before it.
                    if _plain(token) and self._names_before_a_street_thing(words, tokens[index + 1]):
                        break
                    return None
                name = [t for t in tokens[start:index] if t.is_word]
                if token.upper in AMBIGUOUS_SUFFIXES and not all(self._named(t) for t in words):
                    break
                # A period after the suffix stays out of the span ("Wareham St." -> "Wareham St"); a
                # quadrant after it stays in ("14th & U St NW").
                return self._quadrant_after(index + 1), True, name
            if words and token.upper in TRANSIT_SYSTEMS:
                break  # "16th and Mission BART": the station at the corner (``_station``)
            # "1520 Grand Concourse Bronx": a borough or a city after a name with no type is no part of it
            # (after a type it ends the street anyway: "Eastern Pkwy Brooklyn").
            if words and token.upper in _REGIONS and not self._suffix_ahead(index - 1):
                break
            followed_by_suffix = self._suffix_ahead(index)
            # "El Camino Real", "San Pablo": after a particle that opens street names, a capitalised word
            # continues the name even when it is an everyday word.
            after_particle = bool(words) and words[0].lower in NAME_PARTICLES and token.capitalized
            if not (
                self._named(token)
                or (after_particle and _is_name_word(token))
                or (token.upper in self.names and _is_name_word(token))
                or (followed_by_suffix and _is_name_word(token) and token.lower not in self.common)
                or (not words and self._numbered_street_at(index))
            ):
                break
            # "4th Floor", "3rd grade": an ordinal that counts something else.
            if is_ordinal(token.text) and index + 1 < len(tokens) and tokens[index + 1].lower in _NOT_STREETS:
                break
            words.append(token)
            index += 1
            if index < len(tokens) and tokens[index].text == "." and len(token.text) <= 2:
                index += 1
        if not words:
            return None
        end = index
        while end > start and tokens[end - 1].text == ".":
            end -= 1
        return end, False, [t for t in tokens[start:end] if t.is_word]

    def _capitalised_name_before_a_type(self, start: int) -> int | None:
        """The end of one to three capitalised words from ``start`` (mid-sentence, no function word) that
        a capitalised or abbreviated street type closes, the words the street read back from its type
        (``street_ending_at_suffix``) takes: "Bethany Home" of "Bethany Home Rd"."""
        tokens = self.tokens
        if start >= len(tokens) or tokens[start].initial:
            return None
        for suffix in range(start, min(start + 4, len(tokens))):
            token = tokens[suffix]
            if (
                _is_suffix(token)
                and suffix > start
                and (token.capitalized or token.upper not in _SUFFIX_WORDS)
            ):
                found = self.street_ending_at_suffix(suffix)
                # "N Cave Creek Rd": the street read back takes the direction before the name too.
                opens = found is not None and (
                    found[0] == start or (found[0] == start - 1 and tokens[found[0]].upper in DIRECTIONALS)
                )
                return suffix if opens else None
            # Shouted words are no sign of a name ("DONT TOW 4 CLEANING ST").
            if not (token.capitalized and _is_name_word(token) and not _plain(token)):
                return None
        return None

    def _names_before_a_street_thing(self, words: list[_Token], thing: _Token) -> bool:
        """``words`` name a street on their own before "street light", "street sign": capitalised names or
        known ones. Not ordinals alone ("1st and 3rd street cleaning" are weeks of the month), nor before
        "street side" or "street parking", where the type is the street's ("on the Hewlett street side")."""
        return (
            thing.lower not in _STREET_AND_ITS_THING
            and not all(is_ordinal(t.text) for t in words)
            and all(
                self._named(t) or t.upper in DIRECTIONALS or (_is_name_word(t) and t.lower not in self.common)
                for t in words
            )
        )

    def _everyday_words_after(self, found: tuple[int, bool, list[_Token]]) -> tuple[int, bool, list[_Token]]:
        """A corner's second street without the everyday lower-case words read into its name: "Valencia &
        16th water everywhere", "Kedzie & Armitage wall covered" (some street is called "Water" or "Wall",
        but after a name the message goes on). A place's head noun stays ("Washington and Union park"),
        except after a number ("16th park is blocked")."""
        _end, has_suffix, words = found
        if has_suffix:
            return found
        keep = len(words)
        while keep > 1 and not words[keep - 1].capitalized and words[keep - 1].lower in self.common:
            head = words[keep - 1].lower in LANDMARK_HEADS
            if (head and not is_ordinal(words[keep - 2].text)) or words[keep - 2].upper in DIRECTIONALS:
                break  # "Union park", "East third": the word is the name's
            keep -= 1
        last = words[keep - 1]
        # Not after a lone letter: "V/L auto inspection" is a shop's name, "L" no street.
        if keep == len(words) or not ((last.capitalized and len(last.text) > 1) or is_ordinal(last.text)):
            return found
        return self._token_at(last.end - 1) + 1, False, words[:keep]

    def _suffix_ahead(self, index: int) -> bool:
        """A street type follows ``index`` within three words, with only words that are no everyday words
        between: "w fond du lac ave" is a street though no list knows it."""
        tokens = self.tokens
        for at in range(index + 1, min(index + 4, len(tokens))):
            if _is_suffix(tokens[at]):
                return True
            if not _is_name_word(tokens[at]) or tokens[at].lower in self.common:
                return False
        return False

    def street_backward(self, end: int) -> tuple[int, bool, list[_Token]] | None:
        """A street phrase ending just before ``end``: (start, has suffix, its name words)."""
        tokens = self.tokens
        last = end - 1
        while last >= 0 and tokens[last].text == ".":
            last -= 1
        if last < 0:
            return None
        if last >= 1 and self.grid_street_end(last - 1) == last + 1:
            return last - 1, False, [tokens[last - 1], tokens[last]]
        if last >= 1 and tokens[last].text in _MILES and self.mile_road_end(last - 1) is not None:
            return last - 1, False, [tokens[last - 1], tokens[last]]  # "7 Mile and Gratiot"
        # "Avenue B", "Avenue of the Americas": the street's type comes first.
        for first in (last - 1, last - 3):
            if first >= 0 and self.avenue_first(first) == last + 1:
                return first, True, [t for t in tokens[first + 1 : last + 1] if t.is_word]
        # "Peachtree Rd NE", "38th Ave. S.W.": a directional after the suffix belongs to the street.
        if last >= 2 and self._quadrant_at(last):
            suffix = last - 2 if tokens[last - 1].text == "." else last - 1
            if suffix >= 1 and _is_suffix(tokens[suffix]):
                found = self.street_ending_at_suffix(suffix)
                if found is not None:
                    return found[0], True, [t for t in tokens[found[0] : suffix] if t.is_word]
        if _is_suffix(tokens[last]) and last > 0 and not _is_letter_name(tokens[last]):
            found = self.street_ending_at_suffix(last)
            if found is not None:
                name = [t for t in tokens[found[0] : last] if t.is_word]
                return found[0], True, name
            # "corner of wetland Ave and hemenway": after the cue, any one word before the suffix.
            word = last - 1
            if _is_name_word(tokens[word]) and self._cue_before(word) == "intersection":
                return word, True, [tokens[word]]
            return None
        index = last
        words = 0
        while index >= 0 and words < 3:
            token = tokens[index]
            if not (self._named(token) or token.upper in DIRECTIONALS or token.upper in self.names):
                break
            if not _is_name_word(token) and not is_ordinal(token.text):
                break
            words += 1
            index -= 1
            if index >= 1 and tokens[index].text == "." and len(tokens[index - 1].text) <= 2:
                index -= 1
        # "Van Ness", "Martin Luther King Jr": the whole of a known name whose words alone are cut short.
        known_start = self.known_name_before(last + 1)
        if known_start is None:
            known_start = self.particle_name_before(last + 1)
        if words == 0 and known_start is None:
            return None
        first = index + 1
        while tokens[first].text == ".":
            first += 1
        if known_start is not None and known_start < first:
            first = known_start
        # "St Botolph": a capitalised "St" before a name is "Saint", part of the name.
        before = first - 1
        if before >= 1 and tokens[before].text == ".":
            before -= 1
        # "Calle Ocho at SW 17th Ave": a Spanish street type, capitalised, opens the name in English text.
        if before >= 0 and (
            tokens[before].text == "St"
            or (tokens[before].lower in _SPANISH_TYPES_IN_NAMES and tokens[before].capitalized)
        ):
            first = before
        return first, False, [t for t in tokens[first:end] if t.is_word]

    # -- candidates ------------------------------------------------------------------------------------

    def candidates(self) -> list[_Candidate]:
        found: list[_Candidate] = []
        highways = self._highways()
        found.extend(highways)
        found.extend(self._highway_corners(highways + self._bare_freeways()))
        found.extend(self._spanish_and_chinese())
        found.extend(self._coordinates())
        found.extend(self._addresses())
        found.extend(self._intersections())
        found.extend(self._streets())
        found.extend(self._spanish_form_streets())
        found.extend(self._landmarks())
        return [candidate for candidate in found if not self._names_a_holiday(candidate)]

    def _names_a_holiday(self, candidate: _Candidate) -> bool:
        """ "on Memorial Day", "since Labor Day": a holiday's name before "Day" is when, not a street."""
        tokens = self.tokens
        end = candidate.end
        return end < len(tokens) and tokens[end].text == "Day" and tokens[end - 1].lower in _HOLIDAY_NAMES

    def loose_candidates(self) -> list[_Candidate]:
        """Weaker guesses the ranker may pick when the patterns find nothing better: runs of proper-looking
        words ("Walgreens", "Back Bay") and short noun phrases after a place preposition ("at the ymca")."""
        tokens = self.tokens
        found: list[_Candidate] = []
        index = 0
        while index < len(tokens):
            # "Back Bay", "Front Street Mall": an everyday word capitalised mid-sentence before a name.
            opens_name = (
                tokens[index].lower in _NAMING_EVERYDAY_WORDS
                and tokens[index].capitalized
                and not tokens[index].initial
                and index + 1 < len(tokens)
                and tokens[index + 1].proper
            )
            # "in St Johns", "St. Louis Park": "Saint" opens the name.
            if self._saint_at(index) and tokens[index].is_word:
                name = index + (2 if tokens[index + 1].text == "." else 1)
                end = name
                while (
                    end < len(tokens)
                    and end - name < 3
                    and tokens[end].capitalized
                    and _is_name_word(tokens[end])
                ):
                    end += 1
                if end > name:
                    text = self._span_text(index, end)
                    found.append(
                        _Candidate(index, end, "landmark", 0.0, " ".join(text.upper().split()), rule="proper")
                    )
                    index = end
                    continue
            if (
                tokens[index].proper
                or opens_name
                or (
                    tokens[index].capitalized
                    and tokens[index].is_word
                    and len(tokens[index].text) > 1
                    and tokens[index].lower not in STOPWORDS
                )
            ):
                end = index
                while (
                    end < len(tokens)
                    and end - index < 4
                    and tokens[end].is_word
                    and (tokens[end].capitalized or tokens[end].text.isdigit())
                    and (tokens[end].lower not in STOPWORDS or (end == index and opens_name))
                ):
                    end += 1
                # "in January", "on Friday": a month or a day is a time, not a place.
                if end > index and all(t.lower in MONTHS_AND_DAYS for t in tokens[index:end]):
                    index = end
                    continue
                if end > index:
                    text = self._span_text(index, end)
                    found.append(
                        _Candidate(index, end, "landmark", 0.0, " ".join(text.upper().split()), rule="proper")
                    )
                    index = end
                    continue
            index += 1
        for index, token in enumerate(tokens[:-1]):
            if token.lower not in _LOOSE_PREPOSITIONS:
                continue
            start = index + 1
            if tokens[start].lower in _ARTICLES:
                start += 1
            end = start
            while end < len(tokens) and end - start < 3 and _is_name_word(tokens[end]):
                end += 1
                found.append(
                    _Candidate(
                        start,
                        end,
                        "landmark",
                        0.0,
                        " ".join(self._span_text(start, end).upper().split()),
                        rule="phrase",
                    )
                )
        return found

    def compounds(self, parts: list[_Candidate]) -> list[_Candidate]:
        """Spans of two places and the words joining them ("Clery's on Columbus", "Morrissey Blvd across
        from Garvey Park"), and "corner of" kept before a crossing ("Corner of Isabella and Arlington").
        Labellers keep such a span whole about as often as they keep one part, so each is one more
        candidate for the ranker, never a pattern. It is geocoded as its more precise part."""
        tokens = self.tokens
        found: list[_Candidate] = []
        by_start: dict[int, list[_Candidate]] = defaultdict(list)
        for part in parts:
            if part.rule != "phrase":
                by_start[part.start].append(part)
        for first in parts:
            if first.rule == "phrase":
                continue
            if (
                first.kind == "intersection"
                and first.start >= 2
                and tokens[first.start - 2].lower == "corner"
                and tokens[first.start - 1].lower in {"of", "if"}
            ):
                found.append(
                    _Candidate(
                        first.start - 2,
                        first.end,
                        first.kind,
                        first.strength,
                        first.normalized,
                        first.lat,
                        first.long,
                        rule="corner_of",
                    )
                )
            followers = range(first.end + 1, first.end + _MAX_LINK_WORDS + 1)
            for second in (candidate for start in followers for candidate in by_start.get(start, ())):
                if first.strength <= 0 and second.strength <= 0:
                    continue  # two loose guesses: too weak to join
                if first.kind != "landmark" and _cut_short(second, by_start[second.start]):
                    continue
                joining = tokens[first.end : second.start]
                if joining[0].text == "." and len(tokens[first.end - 1].text) <= 4:
                    joining = joining[1:]  # "Charles St. across from"
                words = tuple(t.lower for t in joining)
                link = _LINKS.get(words)
                if (
                    link is None
                    and words[-1:] == ("the",)
                    and _LINKS.get(words[:-1]) in _LINKS_BEFORE_AN_ARTICLE
                    and first.strength > 0
                ):
                    link = _LINKS.get(words[:-1])
                if link is None or (words in _LINKS_AFTER_A_STREET_ONLY and first.kind != "street"):
                    continue
                precise = max((first, second), key=lambda c: _KIND_STRENGTH.get(c.kind, 0.0))
                kind, normalized = precise.kind, precise.normalized
                if link == "near" and first.kind == second.kind == "street":
                    # "Mission St just past 24th St", "Somerset Street off of Beacon": the corner of the two
                    # is where it is, as "Valencia St near 16th St" is to the corner pattern.
                    kind, normalized = "intersection", f"{first.normalized} & {second.normalized}"
                found.append(
                    _Candidate(
                        first.start,
                        second.end,
                        kind,
                        min(first.strength, second.strength),
                        normalized,
                        precise.lat,
                        precise.long,
                        rule=f"link_{link}",
                        parts=f"{first.kind}:{first.rule}>{second.kind}:{second.rule}",
                    )
                )
        return found

    def features(
        self,
        candidate: _Candidate,
        rank: int | None,
        first_start: int,
        count: int,
        first_pattern: int,
    ) -> dict[str, float]:
        """What the ranker knows about one candidate: its rule, kind, words, context and place among
        the others. Names only general properties, never the words of a particular city."""
        tokens = self.tokens
        words = [t for t in tokens[candidate.start : candidate.end] if t.is_word]
        before = tokens[candidate.start - 1].lower if candidate.start >= 1 else "<start>"
        before2 = tokens[candidate.start - 2].lower if candidate.start >= 2 else "<start>"
        # "next to" is the cue "in front of" is; "to" alone ("went to", "to the") mostly is no cue. The
        # labelled messages hold few "next to", so the ranker reads it as "front of".
        if (before2, before) == ("next", "to"):
            before2, before = "front", "of"
        after = tokens[candidate.end] if candidate.end < len(tokens) else None
        size = len(words)
        feats: dict[str, float] = {
            f"kind={candidate.kind}": 1.0,
            f"rule={candidate.rule}": 1.0,
            f"kind_rule={candidate.kind}:{candidate.rule}": 1.0,
            "strength": candidate.strength / 6.0,
            f"rank={rank if rank is not None and rank < 2 else ('2+' if rank is not None else 'none')}": 1.0,
            "position": candidate.start / max(len(tokens), 1),
            "first": 1.0 if candidate.start == first_start else 0.0,
            f"len={min(size, 4)}": 1.0,
            f"before={_context_class(before)}": 1.0,
            f"before2={before2 if before2 in _CONTEXT_WORDS else '<other>'}": 1.0,
            "candidates": min(count, 20) / 20,
        }
        # Residents name the place first and describe around it after ("Firth Road is a major connecting
        # street ... traffic diverts to Murray Hill Road"): at or before the first pattern candidate.
        if first_pattern >= 0:
            feats["first_pattern"] = float(candidate.start <= first_pattern)
        if after is None:
            feats["after=<end>"] = 1.0
        elif not after.is_word:
            feats[f"after={after.text if after.text in {'.', ',', '!', '?'} else '<punct>'}"] = 1.0
        elif after.lower in _CONTEXT_WORDS and not (
            candidate.kind != "landmark" and self._street_thing_at(candidate.end)
        ):
            feats[f"after={after.lower}"] = 1.0
        else:
            feats["after=<cap>" if after.capitalized else "after=<lower>"] = 1.0
        if words:
            whole = " ".join(t.upper for t in words)
            feats["region"] = float(whole in _REGIONS or (size > 1 and words[-1].upper == "COUNTY"))
            feats["all_proper"] = float(all(t.proper for t in words))
            feats["any_proper"] = float(any(t.proper for t in words))
            feats["all_lower"] = float(all(not t.capitalized for t in words))
            feats["initial"] = float(words[0].initial)
            feats["common_share"] = sum(t.lower in self.common for t in words) / size
            feats["known_street"] = float(self._known(words) or words[-1].upper in self.names)
            feats["head"] = float(words[-1].lower in LANDMARK_HEADS)
            feats["suffix"] = float(any(_is_suffix(t) for t in words[1:]))
            feats["digit"] = float(any(t.text[0].isdigit() for t in words))
            feats["all_caps"] = float(all(t.text.isupper() and len(t.text) > 1 for t in words))
        # A few conjunctions a linear model cannot form itself.
        rank_name = next(name for name in feats if name.startswith("rank="))
        before_name = next(name for name in feats if name.startswith("before="))
        feats[f"{candidate.kind}|{rank_name}"] = 1.0
        feats[f"{candidate.rule}|{before_name}"] = 1.0
        # "fireworks every night in Dogtown": a name after "in" is the place when nothing else is one.
        if first_pattern < 0 and before == "in":
            feats[f"{candidate.rule}|in|no_pattern"] = 1.0
        feats[f"{candidate.rule}|len={min(size, 4)}"] = 1.0
        if candidate.parts:
            feats[f"{candidate.rule}|parts={candidate.parts}"] = 1.0
            first_part = candidate.parts.split(">")[0]
            feats[f"{candidate.rule}|first={first_part}"] = 1.0
        if words:
            feats[f"{candidate.rule}|all_proper"] = feats["all_proper"]
            feats[f"{candidate.rule}|initial"] = feats["initial"]
        return feats

    def _street_thing_at(self, index: int) -> bool:
        """ "street light", "street sign": the word at ``index`` is a street type opening a common noun, not
        the type of a street whose name comes before it."""
        tokens = self.tokens
        return (
            index + 1 < len(tokens)
            and tokens[index].upper in _SUFFIX_WORDS
            and not tokens[index].capitalized
            and tokens[index + 1].lower in STREET_COMPOUNDS - _STREET_AND_ITS_THING
        )

    def _spanish_and_chinese(self) -> list[_Candidate]:
        """Streets as Spanish and Chinese speakers write them: "la calle 24 y Mission", "en Folsom",
        "Stockton街", "Kearny和Clay", "第五街". A street type before the name (calle, avenida) or a 街/路
        after it; a bare number after "calle" is a numbered street ("calle 24" is 24th Street)."""
        found = []
        # Most messages have neither a Spanish street word nor a Han character: skip the scans then.
        spanish = _SPANISH_MARKS.search(self.text) is not None
        chinese = _HAN.search(self.text) is not None
        for match in SPANISH_STREET.finditer(self.text) if spanish else ():
            # "la 27 Avenida", "la 181 St": a number before the type, after the article that marks it as a
            # name (New York writes its numbered streets without the ordinal's ending).
            at = self._token_at(match.start("name1"))
            name1 = match.group("name1")
            number_first = name1[0].isdigit() and has_its_own_type(name1)
            typed = bool(match.group("kind1")) or (
                number_first and at >= 1 and self.tokens[at - 1].lower in {"la", "el"}
            )
            if not (typed or match.group("name2")):
                continue  # a bare name: the English patterns judge it
            first = spanish_name(match.group("kind1"), match.group("name1"))
            # "la calle Whittier Blvd", "la calle 35 Avenida": a name with its own type starts at the name
            # ("calle" only says it is a street); "la calle Main" keeps "calle", its type.
            from_name = match.group("kind1") is None or has_its_own_type(match.group("name1"))
            start = self._token_at(match.start("name1") if from_name else match.start("kind1"))
            if not self._spanish_side(match.group("name1")):
                continue  # "calle de mi casa"
            if match.group("name2") and self._spanish_corner_sides(match):
                # "el Lunes y Nadie vino": with no "calle"/"avenida", both sides need a street's marks.
                bare = match.group("kind1") is None and match.group("kind2") is None
                if bare and not self._bare_spanish_corner(match):
                    continue
                end = self._spanish_name_end(match, "name2")
                # With the quadrant read after it: "Columbia Rd NW".
                second_text = self._span_text(self._token_at(match.start("name2")), end)
                second = spanish_name(match.group("kind2"), second_text)
                # "West 5th St y Market": with no "calle" before it, the first street is the English
                # phrase that ends at the "y", which may start before the Spanish pattern's name.
                if match.group("kind1") is None:
                    left = self.street_backward(self._token_at(match.end("name1")))
                    if left is not None and left[0] < start:
                        start = left[0]
                        first = spanish_name(None, self._span_text(start, self._token_at(match.end("name1"))))
                found.append(
                    _Candidate(start, end, "intersection", 4.6, f"{first} & {second}", rule="spanish")
                )
            elif typed:
                end = self._spanish_name_end(match, "name1")
                first = spanish_name(
                    match.group("kind1"), self._span_text(self._token_at(match.start("name1")), end)
                )
                found.append(_Candidate(start, end, "street", 3.3, first, rule="spanish"))
        for match in CHINESE_CORNER.finditer(self.text) if chinese else ():
            start, end = self._token_at(match.start()), self._token_at(match.end() - 1) + 1
            second = match.group(2)
            # "Race St 和 N 10th St": the pattern takes a capitalised name, and the directional before a
            # numbered street is one; the English street read forward goes on to its type.
            english = self.street_forward(self._token_at(match.start(2)))
            if english is not None and english[0] > end:
                end = english[0]
                second = self._span_text(self._token_at(match.start(2)), end)
            normalized = f"{chinese_name(match.group(1))} & {chinese_name(second)}"
            found.append(_Candidate(start, end, "intersection", 4.6, normalized, rule="chinese"))
        for match in CHINESE_ADDRESS.finditer(self.text) if chinese else ():  # "Mission街2000号"
            start, end = self._token_at(match.start()), self._token_at(match.end() - 1) + 1
            normalized = f"{match.group(2)} {chinese_name(match.group(1))}"
            found.append(_Candidate(start, end, "address", 5.5, normalized, rule="chinese"))
        for match in CHINESE_STREET.finditer(self.text) if chinese else ():
            start, end = self._token_at(match.start()), self._token_at(match.end() - 1) + 1
            found.append(_Candidate(start, end, "street", 3.3, chinese_name(match.group()), rule="chinese"))
        for match in SPANISH_PLACE.finditer(self.text) if spanish else ():
            start, end = self._token_at(match.start()), self._token_at(match.end() - 1) + 1
            normalized = spanish_place_name(match.group("head"), match.group("name"))
            found.append(
                _Candidate(start, end, "landmark", _KIND_STRENGTH["landmark"], normalized, rule="spanish")
            )
        for match in CHINESE_PLACE.finditer(self.text) if chinese else ():
            offset, normalized = chinese_place(match)
            start, end = self._token_at(offset), self._token_at(match.end() - 1) + 1
            found.append(
                _Candidate(start, end, "landmark", _KIND_STRENGTH["landmark"], normalized, rule="chinese")
            )
        # "en Folsom": a capitalised known street after the Spanish "en".
        tokens = self.tokens
        for index, token in enumerate(tokens[:-1]):
            if token.lower != "en":
                continue
            forward = self.street_forward(index + 1)
            if forward is None or forward[1]:
                continue
            words = forward[2]
            text = self._span_text(index + 1, forward[0])
            if words and all(t.capitalized for t in words) and spanish_name(None, text) in self.names:
                found.append(
                    _Candidate(index + 1, forward[0], "street", 2.6, spanish_name(None, text), rule="spanish")
                )
        return found

    def _street_like(self, name: str) -> bool:
        """A number, a name ending in a suffix, or a known street name ("16th", "Main St", "Mission",
        "Misión")."""
        words = street_tokens(name)
        return bool(words) and (
            words[0][0].isdigit() or words[-1] in SUFFIXES or spanish_name(None, name) in self.names
        )

    def _bare_spanish_corner(self, match: re.Match[str]) -> bool:
        """Two names joined by "y" with no "calle"/"avenida": both street-like ("Valencia y 16"), or both
        capitalised where one is street-like or "en" opens them ("W 18th St y Blue Island", "en Cermak y
        Damen": streets no list knows, as a city's Spanish speakers write them)."""
        names = (match.group("name1"), match.group("name2"))
        street_like = [self._street_like(name) for name in names]
        if all(street_like):
            return True
        if not all(name[0].isupper() or name[0].isdigit() for name in names):
            return False
        at = self._token_at(match.start("name1"))
        return any(street_like) or (at >= 1 and self.tokens[at - 1].lower == "en")

    def _spanish_side(self, name: str) -> bool:
        """A name the Spanish pattern read: capitalised or a number, or in lower case a known street name
        that is no everyday word ("mission", "folsom st"; not "basura", "puerta", "main")."""
        if name[0].isupper() or name[0].isdigit():
            return True
        word = name.split()[0]
        return word.lower() not in self.common and spanish_name(None, word) in self.names

    def _spanish_corner_sides(self, match: re.Match[str]) -> bool:
        """Both sides of a Spanish corner are names, and one written in lower case ("la 24 y mission",
        "folsom y 22") is met by a number or a street with its type ("la 24 y basura" is no corner; the
        street before it, "calle 18 con la puerta", still is a street)."""
        for side, other in (("1", "2"), ("2", "1")):
            name = match.group(f"name{side}")
            if name[0].isupper() or name[0].isdigit():
                continue
            if not self._spanish_side(name):
                return False
            other_name = match.group(f"name{other}")
            typed = match.group(f"kind{other}") is not None or street_tokens(other_name)[-1] in SUFFIXES
            if not (other_name[0].isdigit() or typed):
                return False
        return True

    def _highways(self) -> list[_Candidate]:
        """ "I-95", "Route 9", "Rt. 1A", "Hwy 101", "US-1", "SR 520": numbered roads, as streets."""
        found = []
        for match in _HIGHWAY.finditer(self.text):
            start = self._token_at(match.start())
            end = self._token_at(match.end() - 1) + 1
            kind_word = (match.group(1) or match.group(2)).upper().rstrip(".")
            prefix = _HIGHWAY_PREFIXES.get(kind_word, kind_word)
            if sum(ch.isdigit() for ch in match.group(3)) == 4 and prefix not in _FOUR_DIGIT_ROADS:
                continue
            normalized = f"{prefix} {match.group(3).upper()}"
            found.append(_Candidate(start, end, "street", _KIND_STRENGTH["street"] + 0.2, normalized))
        for match in _FREEWAY_BY_NUMBER.finditer(self.text) if "the" in self.text.lower() else ():
            if match.group("beside"):  # "the 101 on-ramp"
                start = self._token_at(match.start("number"))
                end = self._token_at(match.end() - 1) + 1
                normalized = f"HWY {match.group('number')}"
                found.append(_Candidate(start, end, "street", _KIND_STRENGTH["street"] + 0.2, normalized))
        return found

    def _bare_freeways(self) -> list[_Candidate]:
        """ "on the 405 near Sunset", "The 10 at Crenshaw has a pothole": "the" and a number, with no freeway
        word, after a place word or opening a sentence and before a connector: the freeway for
        ``_highway_corners`` to join to its cross street (never a place alone: "waited for the 101 at
        Vermont" is a bus)."""
        tokens = self.tokens
        found = []
        for match in _FREEWAY_BY_NUMBER.finditer(self.text) if "the" in self.text.lower() else ():
            if match.group("beside"):
                continue
            article = self._token_at(match.start())
            number = article + 1
            placed = tokens[article].initial or (
                article >= 1 and tokens[article - 1].lower in _BEFORE_A_FREEWAY
            )
            joined = number + 1 < len(tokens) and tokens[number + 1].lower in {"at", "near", "@"}
            cross = self.street_forward(number + 2) if placed and joined else None
            # "on the 38 at Geary and Masonic": a corner after it is the place, and "the 38" likely a bus.
            if cross is not None and cross[0] < len(tokens) and tokens[cross[0]].lower in {"and", "&", "/"}:
                continue
            if cross is not None:
                normalized = f"HWY {match.group('number')}"
                found.append(_Candidate(number, number + 1, "street", _KIND_STRENGTH["street"], normalized))
        return found

    def _highway_corners(self, highways: list[_Candidate]) -> list[_Candidate]:
        """ "US 290 and Loop 1", "Route 9 & Main St", "Elm St at I-35": a numbered road meeting another
        road is a corner, like two named streets."""
        tokens = self.tokens
        by_start = {h.start: h for h in highways}
        found = []
        for index, token in enumerate(tokens):
            # "I-85 ramp to Northside Dr", "the 163 offramp to Washington St": a ramp meets the street it
            # leads to.
            ramp_to = token.lower == "to" and index >= 1 and tokens[index - 1].lower in _RAMPS
            if (token.lower not in {"and", "&", "/", "@", "at", "near"} and not ramp_to) or index == 0:
                continue
            # "I-55 inbound at Damen", "I-10 east near Wirt Rd", "US 59 southbound feeder near Bellaire
            # Blvd", "Eastex Fwy feeder at Little York": the direction of travel and the feeder road between
            # the highway and the connector are part of the corner.
            left_end = index
            left_highway = next((h for h in highways if h.end == left_end), None)
            while (
                left_highway is None
                and left_end >= index - 1
                and tokens[left_end - 1].lower in _TRAVEL_DIRECTIONS | _FEEDERS
            ):
                left_end -= 1
                left_highway = next((h for h in highways if h.end == left_end), None)
            right_highway = by_start.get(index + 1)
            if ramp_to and left_highway is None:
                continue
            feeder = any(t.lower in _FEEDERS for t in tokens[left_end:index])
            if left_highway is None and right_highway is None and not feeder:
                continue
            # "I-90 at Ohio", "Hwy 6 and Bellaire": beside a highway, a capitalised name is the cross
            # street (a name no list knows is as sure as that).
            if left_highway is not None:
                start, left_name = left_highway.start, left_highway.normalized
            elif feeder:
                left = self.street_backward(left_end)
                if left is None or not left[1]:
                    continue
                start, left_name = left[0], normalize_street(self._span_text(left[0], left_end))
            else:
                left = self.street_backward(index)
                if left is None or self._evidence(left[2], left[1]) < 1.0:
                    continue
                start, left_name = left[0], normalize_street(self._span_text(left[0], index))
            if right_highway is not None:
                end, right_name = right_highway.end, right_highway.normalized
            else:
                right = self.street_forward(index + 1)
                if right is not None:
                    right = self._everyday_words_after(right)
                if right is None or self._evidence(right[2], right[1]) < 1.0:
                    continue
                end, right_name = right[0], normalize_street(self._span_text(index + 1, right[0]))
            strength = _KIND_STRENGTH["intersection"] + 0.4
            found.append(_Candidate(start, end, "intersection", strength, f"{left_name} & {right_name}"))
        return found

    def _coordinates(self) -> list[_Candidate]:
        found: list[_Candidate | None] = []
        for match in _COORDINATES.finditer(self.text):
            if match.group(1) is not None:
                lat, long = float(match.group(1)), float(match.group(2))
            elif match.group(7) is not None:
                lat, long = float(match.group(7)), float(match.group(8))
            else:
                lat = float(match.group(3)) * (-1 if match.group(4).upper() == "S" else 1)
                long = float(match.group(5)) * (-1 if match.group(6).upper() == "W" else 1)
            found.append(self._coordinates_at(match, lat, long))
        # Most messages have neither a degree sign nor a decimal number: skip the scan then (11 us).
        written = "°" in self.text or "º" in self.text or _DECIMAL.search(self.text) is not None
        for match in _DEGREES.finditer(self.text) if written else ():
            found.append(self._coordinates_at(match, *(_degrees(match) or (math.nan, math.nan))))
        return [candidate for candidate in found if candidate is not None]

    def _coordinates_at(self, match: re.Match[str], lat: float, long: float) -> _Candidate | None:
        """The candidate for coordinates written at ``match``, if they are a point on Earth."""
        if not (-90 <= lat <= 90 and -180 <= long <= 180):  # NaN too
            return None
        start = self._token_at(match.start())
        end = self._token_at(match.end() - 1) + 1
        strength = _KIND_STRENGTH["coordinates"]
        return _Candidate(start, end, "coordinates", strength, f"{lat:.6f},{long:.6f}", lat, long)

    def _token_at(self, offset: int) -> int:
        """The token covering a character offset (or the one after it, in a gap)."""
        return min(bisect.bisect_right(self._ends, offset), max(len(self.tokens) - 1, 0))

    def _addresses(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if not _is_number(token):
                continue
            if index > 0:
                previous = tokens[index - 1]
                # "T11-861", "2/13", "$500", "4:30": a number glued to punctuation is no house number.
                if previous.end == token.start and previous.text in {"-", "/", ":", "$", ".", ","}:
                    continue
                if previous.lower in {"route", "rt", "bus", "highway", "hwy", "i", "interstate", "case"}:
                    continue
                if previous.lower in MONTHS_AND_DAYS and _could_be_a_date(token):  # "Jan 12", "Friday 16"
                    continue
            if self.mile_road_end(index) is not None:  # "8 Mile Rd" is a road's name, not its number 8
                continue
            grid_end = self.grid_address_end(index)
            if grid_end is not None:
                # "591 east 300 south" is written as the city writes it: 591 E 300 S.
                grid = " ".join(DIRECTIONALS.get(t.upper, t.upper) for t in tokens[index:grid_end])
                found.append(_Candidate(index, grid_end, "address", _KIND_STRENGTH["address"] + 0.5, grid))
                continue
            street_start = index + 1
            # "48 and 50 Austin street", "48-50 Austin St", "14 to 16 nw 10th st", "612/614 Agua Fria St"
            # (with a slash, only numbers no date has: "2/13" is February 13th).
            if (
                street_start + 1 < len(tokens)
                and tokens[street_start].lower in {"and", "&", "-", "to", "/"}
                and _is_number(tokens[street_start + 1])
                and (tokens[street_start].text != "/" or _no_date(token, tokens[street_start + 1]))
            ):
                street_start += 2
            # "12A Elm St"
            if (
                street_start < len(tokens)
                and len(tokens[street_start].text) == 1
                and tokens[street_start].start == tokens[street_start - 1].end
            ):
                street_start += 1
            # "the 1200 block of N Main St": a block stands for its addresses.
            if street_start + 1 < len(tokens) and tokens[street_start].lower in {"block", "blk"}:
                street_start += 2 if tokens[street_start + 1].lower == "of" else 1
            street = self._street_after_number(street_start)
            if street is None:
                continue
            end, has_suffix = street
            strength = _KIND_STRENGTH["address"] + (0.5 if has_suffix else 0.0)
            street_text = self._span_text(street_start, end)
            normalized = f"{tokens[index].text} {normalize_street(street_text)}"
            found.append(_Candidate(index, end, "address", strength, normalized))
        return found

    def _street_after_number(self, start: int) -> tuple[int, bool] | None:
        tokens = self.tokens
        if start >= len(tokens) or not tokens[start].is_word:
            return None
        first = tokens[start]
        after_saint = start + 2 if start + 2 < len(tokens) and tokens[start + 1].text == "." else start + 1
        saint = first.text == "St" and after_saint < len(tokens) and tokens[after_saint].capitalized
        everyday = start + 1 < len(tokens) and self._everyday_name(first, tokens[start + 1])
        avenue_end = self.avenue_first(start)
        if avenue_end is not None:  # "12 Avenue A"
            return avenue_end, True
        if (
            (first.lower in STOPWORDS and not _is_letter_name(first) and not saint)
            or first.lower in MONTHS_AND_DAYS
        ) and not everyday:
            return None
        # A number then a suffix within four words: "21 ocallaghan way", "1355 market street".
        for at in range(start + 1, min(start + 5, len(tokens))):
            token = tokens[at]
            # "55 St. Stephen St.": a leading "St" before a capitalised word is "Saint".
            saint = (
                at > start + 1
                and token.upper == "ST"
                and at + 1 < len(tokens)
                and tokens[at + 1].proper
                and tokens[at + 1].upper not in DIRECTIONALS
                and tokens[at + 1].upper not in TRANSIT_SYSTEMS
            )
            if _is_suffix(token) and not saint:
                street = self.street_ending_at_suffix(at, after_number=True)
                if street is not None and street[0] == start:
                    # "7601 Kings Way Dr": a second type straight after the first, written alike, ends the
                    # name ("Way" was a word of it).
                    following = tokens[at + 1] if at + 1 < len(tokens) else None
                    if (
                        following is not None
                        and _is_suffix(following)
                        and following.capitalized == token.capitalized
                        and following.start == token.end + 1
                    ):
                        at += 1
                    # "1600 Pennsylvania Ave NW": a directional after the suffix belongs to the street.
                    return self._quadrant_after(at + 1), True
            if not (
                _is_name_word(token)
                or token.text == "."
                or is_ordinal(token.text)
                or self._numbered_street_at(at)
            ):
                break
        # "11 Appleton", "5 W Broadway", "377 West First": a proper name straight after the number.
        found = self.street_forward(start)
        if found is None:
            return self._directed_name_after_number(start)
        end, has_suffix, words = found
        if has_suffix:
            return end, True
        if self._known(words) and not any(_plain(t) and t.lower in self.common for t in words):
            return end, False
        if self.known_name_from(start) == end:  # "1200 van ness": a known name of several words
            return end, False
        if not all(self._named(t) or t.upper in DIRECTIONALS for t in words):
            return self._directed_name_after_number(start)
        if self._known(words) or any(is_ordinal(t.text) for t in words) or words[-1].upper in self.names:
            return end, False
        # "at 3300 Wilshire", "opposite side 2400 Aramingo", "the lawn of 1208 Flowerdale": a street name no
        # list knows, after a place preposition and before the end of the sentence, written as a name (not
        # a common word: "at 3 Guys" stays a shop).
        before = tokens[start - 2].lower if start >= 2 else ""
        # "outside 1520 Grand Concourse Bronx": a borough or a city after it closes the name too.
        closes = end >= len(tokens) or not tokens[end].is_word or tokens[end].upper in _REGIONS
        after_cue = before in {"at", "near", "outside", "behind", "by", "of", "side", "opposite", "from"}
        # "the 3400 block of W Diversey": a block is of a street.
        block = tokens[start - 1].lower in {"block", "blk"} or (
            start >= 2 and tokens[start - 1].lower == "of" and tokens[start - 2].lower in {"block", "blk"}
        )
        if block and all(t.proper or t.upper in DIRECTIONALS for t in words):
            return end, False
        # "2610 W Haddon", "4400 S Wood": in a grid city a house number, an abbreviated direction and a
        # name is how every address is written (a number of two digits at least: "5 E Coli" is no address).
        if _grid_street(words) and len(tokens[start - 1].text) >= 2:
            return end, False
        if (
            after_cue
            and closes
            and len(words) <= 2
            and all(t.proper and t.lower not in self.common for t in words)
        ):
            return end, False
        return self._directed_name_after_number(start)

    def _directed_name_after_number(self, start: int) -> tuple[int, bool] | None:
        """ "412 west state", "240 w liberty": a house number, a direction and one word. Residents of
        grid cities write addresses so, in lower case as often as not, and a direction straight after a
        number of two digits or more says address as surely as a street type would (a distance goes on
        with "of": "50 west of Main")."""
        tokens = self.tokens
        if start < 1 or start + 1 >= len(tokens) or len(tokens[start - 1].text) < 2:
            return None
        if self.grid_street_end(start - 1) is not None:  # "on 300 S downtown": the grid street 300 South
            return None
        direction, name = tokens[start], tokens[start + 1]
        if direction.lower not in _HOUSE_NUMBER_DIRECTIONS or direction.end + 1 != name.start:
            return None
        if (
            not name.text.isalpha()
            or len(name.text) < 3
            or name.lower in STOPWORDS
            or name.lower in _AFTER_A_HEADING
            or _is_suffix(name)
        ):
            return None
        return start + 2, False

    def _travel_direction_ending_at(self, end: int) -> int | None:
        """Where a direction of travel ending right before ``end`` starts: "westbound", "NB", "outbound",
        or "n/b", "w/b" written with a slash (three tokens, no spaces)."""
        tokens = self.tokens
        if 1 <= end <= len(tokens) and tokens[end - 1].lower in _STREET_TRAVEL_DIRECTIONS:
            return end - 1
        if end < 3 or end > len(tokens):
            return None
        letter, slash, bound = tokens[end - 3 : end]
        glued = letter.end == slash.start and slash.end == bound.start
        if glued and letter.lower in {"n", "s", "e", "w"} and slash.text == "/" and bound.lower == "b":
            return end - 3
        return None

    def _intersections(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            # "n" and "y" join streets in lower case only: "N" is north. In capitals a "Y" right after a
            # street type joins two streets ("LONG DR Y TELEPHONE RD"), no lettered street.
            shouted_y = token.text == "Y" and index >= 1 and _is_suffix(tokens[index - 1])
            if token.lower not in _CORNER_WORDS or index == 0 or (token.text in {"N", "Y"} and not shouted_y):
                continue
            if token.text == "/" and self._travel_direction_ending_at(index + 2) == index - 1:
                continue  # "n/b" is northbound, no corner of N and B
            # "Clement cross st 38th", "Harrison St (cross st 19th)": the cross street after "cross st".
            right_start = self._cross_street_start(index) if token.lower == "cross" else index + 1
            if right_start is None:
                continue
            left_end = index - 1 if token.lower == "cross" and tokens[index - 1].text in {"(", ","} else index
            # "Dodge St westbound at 72nd", "Rainbow Blvd n/b at Cheyenne": the direction of travel comes
            # between a street and its crossing, and is part of the span.
            if token.lower in {"at", "@", "near", "past"}:
                if token.lower == "past" and tokens[index - 1].lower == "just" and index >= 2:
                    left_end = index - 1  # "reading street just past Alther"
                direction_start = self._travel_direction_ending_at(left_end)
                if direction_start is not None and direction_start >= 1:
                    left_end = direction_start
            left = self.street_backward(left_end) or self._cued_word_before(index)
            if left is not None:
                left = self._after_a_cue_inside(left)
            right = self.street_forward(right_start)
            if right is not None:
                right = self._everyday_words_after(right)
            if right is None and left is not None and self._cue_before(left[0]) == "intersection":
                right = self._typed_words_at(right_start)
            if right is None and left is not None and self._cue_before(left[0]) == "intersection":
                right = self._cued_word_at(index + 1)
            # "at 63rd and halsted": beside a numbered street after a place cue, a name no list knows.
            numbered_beside = (
                left is not None
                and token.lower in {"and", "&", "/"}
                and any(is_ordinal(t.text) for t in left[2])
                and self._cue_before(left[0]) is not None
            )
            if numbered_beside and right is None:
                right = self._uncommon_run(right_start)
            if numbered_beside and right is not None:
                numbered_beside = len(right[2]) <= 2 and all(self._uncommon_name(t) for t in right[2])
            # "Mission and 24", "valenica & 16": a number that ends the phrase, beside a known street name
            # (or a slip in one), is the numbered street, as the Spanish "Valencia y 16" is.
            bare_number = (
                right is None
                and token.lower in {"and", "&", "/", "y"}
                and self._bare_cross_number(right_start)
            )
            if bare_number:
                if left is None:
                    left = self._misspelt_word_at(left_end - 1)
                if left is not None and (
                    self._plainly_street(left[2], left[1]) or self._misspelt_known(left[2])
                ):
                    right = (right_start + 1, False, [tokens[right_start]])
                else:
                    bare_number = False
            # "5th and markt", "valenca & 16th": a slip in a known name, beside a plain street.
            slips = token.lower in {"and", "&", "/"}
            if slips and right is None and left is not None and self._plainly_street(left[2], left[1]):
                right = self._misspelt_word_at(right_start)
            if slips and left is None and right is not None and self._plainly_street(right[2], right[1]):
                misspelt = self._misspelt_word_at(left_end - 1)
                left = None if misspelt is None else (left_end - 1, False, misspelt[2])
            # "at halsted and madison": one side a name no list knows, in lower case (its evidence decides).
            if token.lower in {"and", "&", "/"} and (left is None) != (right is None):
                if left is None and index >= 2 and self._lower_article_name(index - 2) == index:
                    left = (index - 2, False, tokens[index - 2 : index])  # "la brea and 3rd"
                elif left is None and index >= 1 and self._lone_uncommon([tokens[index - 1]]):
                    left = (index - 1, False, [tokens[index - 1]])
                elif right is None and (article_end := self._lower_article_name(right_start)) is not None:
                    right = (article_end, False, tokens[right_start:article_end])  # "3rd st and la cienega"
                elif (
                    right is None
                    and self._lone_uncommon(tokens[right_start : right_start + 1])
                    # "comm and chestnut hill aves", "pier 4 Blvd": the name goes on, beyond one word.
                    and not (
                        right_start + 1 < len(tokens)
                        and tokens[right_start + 1].is_word
                        and (
                            self._uncommon(tokens[right_start + 1])
                            or _is_suffix(tokens[right_start + 1])
                            or tokens[right_start + 1].text[0].isdigit()
                        )
                    )
                ):
                    right = (right_start + 1, False, [tokens[right_start]])
            # "At Guess and Carver Streets": a plural street type after the second name is both names'
            # type, so a capitalised everyday word before "and" is the first street's name.
            if (
                left is None
                and right is not None
                and token.lower in {"and", "&"}
                and tokens[right[0] - 1].upper in _PLURAL_TYPES
                and tokens[index - 1].capitalized
                and _is_name_word(tokens[index - 1])
            ):
                left = (index - 1, False, [tokens[index - 1]])
            if left is None or right is None:
                continue
            start, left_suffix, left_words = left
            end, right_suffix, right_words = right
            left_evidence = self._evidence(left_words, left_suffix)
            right_evidence = self._evidence(right_words, right_suffix)
            if slips and left_evidence < 0.5 and self._misspelt_known(left_words):
                left_evidence = 0.5
            if slips and right_evidence < 0.5 and self._misspelt_known(right_words):
                right_evidence = 0.5
            if numbered_beside:
                right_evidence = max(right_evidence, 0.5)
            # "flooded kedzie and 55th": a lower-case word no list knows (and no everyday word) joined to a
            # numbered street that ends the phrase is the numbered street's cross street.
            if (
                token.lower in {"and", "&"}
                and left_evidence < 0.5
                and self._lone_uncommon(left_words)
                and len(right_words) == 1
                and is_ordinal(right_words[0].text)
                and (end >= len(tokens) or not tokens[end].is_word)
            ):
                left_evidence = 1.0
            if bare_number:
                right_evidence = max(right_evidence, 1.5)  # as an ordinal's ("16th")
            # "la brea and 3rd": beside a plain street, as sure as a name no list knows after a place cue.
            if token.lower in {"and", "&", "/"}:
                if self._lower_article_name(start) == left_end and self._plainly_street(
                    right_words, right_suffix
                ):
                    left_evidence = max(left_evidence, 0.75)
                if self._lower_article_name(right_start) == end and self._plainly_street(
                    left_words, left_suffix
                ):
                    right_evidence = max(right_evidence, 0.75)
            # "at halsted and madison": beside a street a list knows, after a place cue, one name it does not.
            if token.lower in {"and", "&", "/"} and self._cue_before(start) is not None:
                # As sure as a capitalised name there: with the cue, just enough for a corner.
                if left_evidence < 0.5 and right_evidence >= 1.0 and self._lone_uncommon(left_words):
                    left_evidence = 0.75
                if right_evidence < 0.5 and left_evidence >= 1.0 and self._lone_uncommon(right_words):
                    right_evidence = 0.75
            cue = self._cue_before(start)
            if cue != "intersection" and (left_evidence < 0.5 or right_evidence < 0.5):
                continue
            # "the traffic signal at 5th Ave": an everyday lower-case word is no street without a cue; nor
            # is one opening the sentence ("Signal at 86th & Ditch") unless a street has that name. It is
            # one when a street has that name and the other side is plainly a street, joined by "&" or "/"
            # ("fell & gough", "ocean & manor dr"; "elm and main" stays no corner).
            sides = (
                (left_words, left_suffix, right_words, right_suffix),
                (right_words, right_suffix, left_words, left_suffix),
            )
            if cue != "intersection" and any(
                words
                and not suffix
                and all(t.lower in self.common for t in words)
                and (all(not t.capitalized for t in words) or (words[0].initial and not self._known(words)))
                and not (
                    token.lower in {"&", "/"}
                    and self._known(words)
                    and self._plainly_street(other_words, other_suffix)
                )
                for words, suffix, other_words, other_suffix in sides
            ):
                continue
            if token.lower in {"at", "@", "n", "+", "near", "x"} and not (
                left_suffix
                or right_suffix
                # "Buchanan x Linden", "Felton + Colby": two known street names no reader takes for words.
                or (
                    token.lower in {"x", "@", "+"}
                    and self._plainly_street(left_words, left_suffix)
                    and self._plainly_street(right_words, right_suffix)
                )
                or any(is_ordinal(t.text) for t in left_words + right_words)
                or _is_grid(left_words)
                or _is_grid(right_words)
                or _is_mile_road(left_words)
                or _is_mile_road(right_words)
                or (
                    start >= 1
                    and tokens[start - 1].lower in {"on", "along"}
                    and min(left_evidence, right_evidence) >= 1
                )
            ):
                continue
            evidence = left_evidence + right_evidence
            if cue == "intersection":
                evidence += 2.0
            elif cue == "preposition":
                evidence += 0.5
            if evidence < 2.5:
                continue
            # "Academy Hill Road/Chestnut Hill Avenue/William Jackson Ave", "W. Broadway and B St, and C St";
            # not a street "at" a corner: in "Central Fwy at Market & Octavia" the "&" corner is the place.
            if token.lower not in {"at", "@", "near"}:
                end = self._extend_chain(end)
            if left_end < index and end < len(tokens) and tokens[end].text == ")":
                end += 1  # "Harrison St (cross st 19th)"
            left_name = normalize_street(self._span_text(start, left_end))
            right_text = self._span_text(right_start, right[0])
            right_name = normalize_street(f"{right_text}th" if bare_number else right_text)
            normalized = f"{left_name} & {right_name}"
            strength = _KIND_STRENGTH["intersection"] + min(evidence, 5.0) / 10
            if token.lower in {"at", "@", "near"}:
                strength -= 0.3  # "Central Fwy at Market & Octavia": the "&" corner is the place
            found.append(_Candidate(start, end, "intersection", strength, normalized))
        found.extend(self._segments())
        return found

    def _after_a_cue_inside(self, found: tuple[int, bool, list[_Token]]) -> tuple[int, bool, list[_Token]]:
        """A corner's first street read back past its own cue, as in capitals where every word looks alike
        ("LA ESQUINA DE LONG DR"): the street starts after the cue."""
        _start, has_suffix, words = found
        for at in range(len(words) - 2, 0, -1):
            # "of"/"de" after the cue: "Kings Crossing Rd" is a name.
            if words[at].lower in {"of", "de"} and words[at - 1].lower in INTERSECTION_CUES:
                kept = words[at + 1 :]
                return self._token_at(kept[0].start), has_suffix, kept
        return found

    def _typed_words_at(self, index: int) -> tuple[int, bool, list[_Token]] | None:
        """After "corner of" a street, one or two words and a street type are the other street, everyday
        words too ("ESQUINA DE LONG DR Y TELEPHONE RD")."""
        tokens = self.tokens
        for suffix in (index + 1, index + 2):
            if suffix >= len(tokens) or not _is_suffix(tokens[suffix]):
                continue
            words = tokens[index:suffix]
            if all(_is_name_word(t) and not _is_suffix(t) for t in words):
                return suffix + 1, True, words
        return None

    def _bare_cross_number(self, index: int) -> bool:
        """A bare number at ``index`` that could be a numbered street at a corner: 1 to 48 (SF's streets and
        avenues), written without its ordinal's letters, ending the phrase (the text, a stop or comma, or a
        place word: "Mission and 24 in the Mission"; not "on": "Hinckley and 1 on light pole"), and not
        after a house number's street ("2 whitfield and 24": two addresses) nor before a unit ("and 2
        cars", "and 5 pm")."""
        tokens = self.tokens
        if not 0 <= index < len(tokens) or not tokens[index].text.isdigit() or len(tokens[index].text) > 2:
            return False
        if not 1 <= int(tokens[index].text) <= 48:
            return False
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        if after is not None and not (
            after.text in {".", ",", "!", "?", ";", ")", "\n"}
            or after.lower in {"in", "near", "by", "en", "cerca"}
        ):
            return False
        # A house number two words before the connector: "26 Hinckley and 1 on light pole".
        connector = index - 1
        return not any(t.text.isdigit() for t in tokens[max(connector - 3, 0) : connector])

    def _misspelt_word_at(self, index: int) -> tuple[int, bool, list[_Token]] | None:
        """The one word at ``index`` as a street phrase read forward (its end, no suffix, the word) when it
        is a slip in a known name (``_misspelt_known``); the caller has checked the corner's other side is
        plainly a street."""
        if not 0 <= index < len(self.tokens) or not self._misspelt_known([self.tokens[index]]):
            return None
        if index + 1 < len(self.tokens) and _is_suffix(self.tokens[index + 1]):
            return None  # "mision st": the street type makes it a street already
        word = self.tokens[index]
        return (index + 1, False, [word]) if index > 0 or word.lower not in self.common else None

    def _cross_street_start(self, index: int) -> int | None:
        """Where the street after "cross st" / "cross street" at ``index`` starts; None when "cross" is
        not followed by that."""
        tokens = self.tokens
        after = index + 1
        if after >= len(tokens) or tokens[after].lower not in {"st", "street"}:
            return None
        after += 1
        if after < len(tokens) and tokens[after].text == ".":
            after += 1
        return after

    def _plainly_street(self, words: list[_Token], has_suffix: bool) -> bool:
        """A street phrase no reader would take for anything else: with a street type, an ordinal, or a
        known street name that is no everyday word ("gough", "manor dr", "5th")."""
        return bool(words) and (
            has_suffix
            or any(is_ordinal(t.text) for t in words)
            or (self._known(words) and all(t.lower not in self.common for t in words))
        )

    def _cued_word_before(self, index: int) -> tuple[int, bool, list[_Token]] | None:
        """ "corner of Hope and Rochambeau": right after "corner of", one capitalised word is a street's name
        even when it is an everyday word, which no street phrase takes alone."""
        at = index - 1
        if at < 0 or self._cue_before(at) != "intersection" or not self._cued_word(at):
            return None
        return at, False, [self.tokens[at]]

    def _cued_word_at(self, index: int) -> tuple[int, bool, list[_Token]] | None:
        """The other side of that corner: "corner of Rochambeau and Hope"."""
        if index >= len(self.tokens) or not self._cued_word(index):
            return None
        return index + 1, False, [self.tokens[index]]

    def _cued_word(self, index: int) -> bool:
        token = self.tokens[index]
        # "corner of halsted and madison": in lower case, a word residents never write as an everyday word.
        return (token.capitalized or self._uncommon_name(token)) and _is_name_word(token)

    def _uncommon(self, token: _Token) -> bool:
        """A lower-case word that is no everyday word: in a 311 message, most likely a name ("halsted")."""
        return token.text.isalpha() and len(token.text) >= 3 and token.lower not in self.common

    def _uncommon_name(self, token: _Token) -> bool:
        """Such a word that is not a direction ("east and west bound") or a street type ("Essex and avenue
        Du Lafayette")."""
        return self._uncommon(token) and token.upper not in DIRECTIONALS and not _is_suffix(token)

    def _lower_article_name(self, start: int) -> int | None:
        """The end of a Spanish article in lower case and one word no list knows, no everyday word, that
        ends the name: "la brea", "la cienega", "el cajon" (Los Angeles and the Southwest name streets so,
        and residents type them in lower case). Capitalised, ``particle_name_before`` reads them."""
        tokens = self.tokens
        if start + 1 >= len(tokens) or tokens[start].text not in _LOWER_ARTICLES:
            return None
        name = tokens[start + 1]
        if not (name.text.islower() and self._uncommon_name(name)):
            return None
        after = start + 2
        if (
            after < len(tokens)
            and tokens[after].is_word
            and (self._uncommon(tokens[after]) or _is_suffix(tokens[after]))
        ):
            return None  # the name goes on: "la cienega blvd" is read back from its type
        return after

    def _lone_uncommon(self, words: list[_Token]) -> bool:
        return len(words) == 1 and not words[0].capitalized and self._uncommon_name(words[0])

    def _uncommon_run(self, start: int) -> tuple[int, bool, list[_Token]] | None:
        """One or two such words from ``start``, the other side of a numbered street's corner: "63rd and
        halsted", "63rd and cottage grove" (not "5th and final", "3rd and the alley")."""
        tokens = self.tokens
        end = start
        while (
            end < len(tokens)
            and end - start < 2
            and _is_name_word(tokens[end])
            and self._uncommon_name(tokens[end])
        ):
            end += 1
        if end == start or (end < len(tokens) and tokens[end].is_word and self._uncommon(tokens[end])):
            return None
        return end, False, tokens[start:end]

    def _extend_chain(self, end: int) -> int:
        tokens = self.tokens
        while end < len(tokens) and tokens[end].lower in {"/", "&"}:
            more = self.street_forward(end + 1)
            if more is None or self._evidence(more[2], more[1]) < 1.0:
                break
            end = more[0]
        return end

    def _segments(self) -> list[_Candidate]:
        """ "Augustus Ave between Crandall & Poplar", "Howes st to Pleasant st", "River Street from Hyde
        Park Ave": a stretch of one street, named by the first street (its normalised form)."""
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if token.lower not in _BETWEEN | {"to", "from"} or index == 0:
                continue
            # "la 16 entre Valencia y Guerrero": Spanish names a numbered street by its number after "la".
            numbered = (
                token.lower == "entre"
                and index >= 2
                and tokens[index - 2].lower in {"la", "el"}
                and tokens[index - 1].text.isdigit()
                and len(tokens[index - 1].text) <= 2
            )
            left_end = self._crosswalk_start(index) if token.lower in _BETWEEN else index
            left = (index - 1, True, [tokens[index - 1]]) if numbered else self.street_backward(left_end)
            if left is None or not (left[1] or self._evidence(left[2], has_suffix=False) >= 1.0):
                continue
            start = left[0]
            if start >= 1 and _is_number(tokens[start - 1]):
                start -= 1  # "148 Prince Street to Commercial Street"
            street = _cross_name(self._span_text(left[0] - 1 if numbered else left[0], left_end))
            stretch = self._between(index) if token.lower in _BETWEEN else self._from_to(index)
            if stretch is not None:
                end, crosses = stretch
                # The geocoder reads this form: the middle of the street between the two corners.
                name = f"{street} BETWEEN " + " & ".join(_cross_name(cross) for cross in crosses)
            elif token.lower in _BETWEEN:
                continue
            else:
                other = self.street_forward(index + 1)
                if other is None or not other[1]:
                    continue
                end = other[0]
                name = street
            found.append(_Candidate(start, end, "street", _KIND_STRENGTH["intersection"] + 0.6, name))
        return found

    def _crosswalk_start(self, index: int) -> int:
        """Where "at the crosswalk" before "between" at ``index`` starts, or ``index``: "Shattuck Ave at
        crosswalk between Center and Addison Streets" is the crosswalk on that stretch, kept whole."""
        tokens = self.tokens
        at = index
        if at >= 1 and tokens[at - 1].lower in {"crosswalk", "crosswalks"}:
            at -= 1
        elif at >= 2 and (tokens[at - 2].lower, tokens[at - 1].lower) == ("cross", "walk"):
            at -= 2
        else:
            return index
        if at >= 1 and tokens[at - 1].lower == "the":
            at -= 1
        if at >= 1 and tokens[at - 1].lower in {"at", "on", "by"}:
            at -= 1
        return at

    def _between(self, index: int) -> tuple[int, tuple[str, str]] | None:
        """After "between" at ``index``: "between Crandall & Poplar", "between Melnea Cass n Clarendon": the
        end of the second crossing and both crossings' words."""
        first_end = self._first_crossing_end(index + 1, self._joins_crosses)
        if first_end is None:
            return self._lower_case_crossings(index)
        second = self._cross_street(first_end + 1)
        if second is None:
            return None
        end = second[0]
        return end, (self._span_text(index + 1, first_end), self._span_text(first_end + 1, end))

    def _lower_case_crossings(self, index: int) -> tuple[int, tuple[str, str]] | None:
        """ "watts st between club and markham": two lower-case names after "between", one of them no everyday
        word, closing the phrase."""
        tokens = self.tokens
        if index + 3 >= len(tokens):
            return None
        first, joiner, second = tokens[index + 1 : index + 4]
        names = (first, second)
        if not self._joins_crosses(joiner) or not all(t.text.islower() and _is_name_word(t) for t in names):
            return None
        if all(t.lower in self.common for t in names):
            return None
        after = tokens[index + 4] if index + 4 < len(tokens) else None
        if after is not None and after.is_word and after.lower not in STOPWORDS:
            return None
        return index + 4, (first.text, second.text)

    def _first_crossing_end(self, start: int, joins: Callable[[_Token], bool]) -> int | None:
        """Where the first of two crossings from ``start`` ends, right before the word joining it to the
        second (``joins``); a name of a few capitalised words read whole ("between Russell Cave and Newtown
        Pike": "Russell" alone was the street read)."""
        tokens = self.tokens
        first = self._cross_street(start)
        if first is None:
            return None
        end = first[0]
        while end < len(tokens) and end - start < 4 and not joins(tokens[end]):
            if not (tokens[end].capitalized and _is_name_word(tokens[end])):
                return None
            end += 1
        return end if end < len(tokens) and joins(tokens[end]) else None

    def _from_to(self, index: int) -> tuple[int, tuple[str, str]] | None:
        """After "from" at ``index``, a stretch read as "between ... and ..." is: "from Hertel to
        Kensington", "Keystone Ave from 38th to Fall Creek Pkwy", "from North Ave to the 610": the end of the
        second crossing and both crossings' words."""
        tokens = self.tokens
        if tokens[index].lower != "from":
            return None
        first_end = self._first_crossing_end(index + 1, lambda token: token.lower == "to")
        if first_end is None or first_end + 1 >= len(tokens):
            return None
        start = first_end + 1
        if tokens[start].lower == "the" and start + 1 < len(tokens) and tokens[start + 1].text.isdigit():
            start += 1  # "to the 610"
        second = self._cross_street(start)
        end = second[0] if second is not None else None
        # A highway by its number: "to 610", "to the 101" (no more than three digits, ending the phrase).
        if second is None and tokens[start].text.isdigit() and len(tokens[start].text) <= 3:
            following = tokens[start + 1] if start + 1 < len(tokens) else None
            if following is None or not following.is_word:
                end = start + 1
        if end is None:
            return None
        return end, (self._span_text(index + 1, first_end), self._span_text(start, end))

    @staticmethod
    def _joins_crosses(token: _Token) -> bool:
        """ "between Crandall & Poplar", "between Melnea Cass n Clarendon": the word between two cross
        streets ("n" in lower case only: "N" is north)."""
        return token.lower in {"and", "&", "y"} or token.text == "n"

    def _cross_street(self, start: int) -> tuple[int, bool, list[_Token]] | None:
        """A cross street after "between": any street phrase, or a lone capital letter ("between I & H":
        after "between", "I" and "A" are the streets' letters, not words)."""
        tokens = self.tokens
        token = tokens[start] if start < len(tokens) else None
        # "entre la 16 y la 17": Spanish names a numbered street by its number after "la" (or "el").
        if token is not None and token.lower in {"la", "el"} and start + 1 < len(tokens):
            number = tokens[start + 1]
            following = tokens[start + 2] if start + 2 < len(tokens) else None
            ends = following is None or not following.is_word or self._joins_crosses(following)
            if number.text.isdigit() and len(number.text) <= 2 and ends:
                return start + 2, False, [number]
        if token is not None and len(token.text) == 1 and token.text.isupper():
            following = tokens[start + 1] if start + 1 < len(tokens) else None
            # "between I & H", "between H and I." but not "between Oak and I think"; "between E and F":
            # "E" is the street's letter there, not "East" of a name that follows.
            if following is None or not following.is_word or self._joins_crosses(following):
                return start + 1, False, [token]
            if token.text in "AI":
                return None
        found = self.street_forward(start)
        # "Melnea Cass n Clarendon", "Snelling n Hamline": a lower-case "n" read into the first name joins
        # it to the second.
        if found is not None and len(found[2]) > 1:
            joiner = next((at for at, word in enumerate(found[2]) if at > 0 and word.text == "n"), None)
            if joiner is not None:
                return self._token_at(found[2][joiner].start), False, found[2][:joiner]
        return found

    def _cue_before(self, start: int) -> str | None:
        tokens = self.tokens
        if (
            start >= 2
            and tokens[start - 1].lower in {"of", "de"}
            and tokens[start - 2].lower in INTERSECTION_CUES
        ):
            return "intersection"
        if start >= 1 and tokens[start - 1].lower in INTERSECTION_CUES:
            return "intersection"
        if start >= 1 and tokens[start - 1].lower in PREPOSITIONS:
            return "preposition"
        return None

    def _streets(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if index == 0 or not _is_suffix(token) or _is_letter_name(token):
                continue
            # "St" before a capitalised name is "Saint" ("St Botolph"), not the end of a street.
            if (
                token.text == "St"
                and index + 1 < len(tokens)
                and tokens[index + 1].proper
                and tokens[index + 1].upper not in DIRECTIONALS
                and tokens[index + 1].upper not in TRANSIT_SYSTEMS  # "16th St BART"
                # "24th St Mission BART": no saint follows a numbered street.
                and not is_ordinal(tokens[index - 1].text)
            ):
                continue
            street = self.street_ending_at_suffix(index)
            if street is None:
                continue
            start, evidence = street
            end = self._quadrant_after(index + 1)
            # "Charles St South": a capitalised directional after the suffix too, unless it starts a
            # phrase ("Main St North of the bridge").
            if (
                end == index + 1
                and end < len(tokens)
                and tokens[end].upper in DIRECTIONALS
                and tokens[end].capitalized
            ):
                following = tokens[end + 1].lower if end + 1 < len(tokens) else ""
                if following not in {"of", "side", "end", "bound", "on", "to", "from"}:
                    end += 1
            text = self._span_text(start, end)
            strength = _KIND_STRENGTH["street"] + min(evidence, 4.0) / 10 - 0.4
            found.append(_Candidate(start, end, "street", strength, normalize_street(text)))
        for index in range(len(tokens)):
            avenue_end = self.avenue_first(index)
            if avenue_end is not None:
                text = self._span_text(index, avenue_end)
                found.append(
                    _Candidate(index, avenue_end, "street", _KIND_STRENGTH["street"], normalize_street(text))
                )
        # "on Rutherford", "along Comm Ave": a known street name after "on"/"along" with no suffix; "on van
        # ness", "at Van Ness": a known name of several words after "at" too; "on El Camino Real": a run of
        # names opened by a particle that opens street names.
        for index, token in enumerate(tokens[:-1]):
            if token.lower not in {"on", "along", "onto", "at"}:
                continue
            forward = self.street_forward(index + 1)
            if forward is None:
                continue
            end, has_suffix, words = forward
            if has_suffix or not words:
                continue
            if self.known_name_from(index + 1) != end:
                if token.lower == "at":
                    continue
                # "on W Division": a direction before a known name (the list knows "DIVISION" alone).
                known = self._known(words) or (
                    len(words) >= 2 and words[0].upper in DIRECTIONALS and self._known(words[1:])
                )
                named = (
                    _is_grid(words)
                    or _is_mile_road(words)
                    or (
                        all(self._named(t) for t in words)
                        and (known or any(is_ordinal(t.text) for t in words))
                    )
                )
                # "on La Brea", but not "on San Francisco Giants game day": the particle's run ends the
                # phrase.
                closes = end >= len(tokens) or not tokens[end].is_word or tokens[end].lower in STOPWORDS
                particle = closes and self.particle_name_before(end) == index + 1
                # "block party on peterborough today": a known street name in lower case that is no
                # everyday word (weaker: the ranker weighs it).
                plain = (
                    len(words) == 1
                    and words[0].text.islower()
                    and len(words[0].text) > 3
                    and words[0].lower not in self.common
                    and words[0].lower not in LANDMARK_HEADS
                    and self._known(words)
                )
                if not (named or particle or plain or _grid_street(words)):  # "on S Broadway"
                    continue
            else:
                plain = False
            if end < len(tokens) and tokens[end].lower in {"floor", "grade", "time", "place", "shift"}:
                continue
            text = self._span_text(index + 1, end)
            strength = _KIND_STRENGTH["street"] - (0.9 if plain else 0.6)
            found.append(_Candidate(index + 1, end, "street", strength, normalize_street(text)))
        found.extend(self._directional_ordinals(found))
        found.extend(self._unknown_street_after_on())
        return found

    def _directional_ordinals(self, found: list[_Candidate]) -> list[_Candidate]:
        """ "nobody plowed W 130th", "E 8th is a mess": a direction and an ordinal (or a name) name a street
        without a type or a cue before them (weaker than after "on": the ranker weighs it)."""
        tokens = self.tokens
        taken = {candidate.start for candidate in found}
        streets = []
        for index in range(len(tokens) - 1):
            token, number = tokens[index], tokens[index + 1]
            if index in taken or not token.is_word or token.upper not in DIRECTIONALS:
                continue
            # "whole block of N Sawyer never got plowed": an abbreviated direction and one name, as grid
            # cities write their streets.
            # Not "SW Corridor" (a place), "MK S AWD" (a car's model), "5 E Coli cases" (after a number, an
            # address reads it when it is one).
            grid = (
                _grid_street([token, number])
                and len(token.text) == 1
                and not (index >= 1 and tokens[index - 1].text.isdigit())
                and number.lower not in LANDMARK_HEADS
                and not number.text.isupper()
            )
            if not (is_ordinal(number.text) or grid) or (len(token.text) == 1 and not token.text.isupper()):
                continue
            following = tokens[index + 2] if index + 2 < len(tokens) else None
            if following is not None and (_is_suffix(following) or following.lower in _NOT_STREETS):
                continue
            if grid and following is not None and following.is_word and following.capitalized:
                continue  # "N Sawyer Ave" is read with its type; "S Halsted Street" too
            text = self._span_text(index, index + 2)
            strength = _KIND_STRENGTH["street"] - 0.6
            streets.append(_Candidate(index, index + 2, "street", strength, normalize_street(text)))
        return streets

    def _spanish_form_streets(self) -> list[_Candidate]:
        """ "Camino de la Tierra", "Paseo del Norte", "Via de la Valle", "Avenida de Mesilla", "Camino Real":
        streets named in Spanish, their type first, as the Southwest and California write them in English
        messages (before: "Camino" alone, or no place). Particles need a name after them; "Via", "Vista",
        "Calle" and "Rancho" need a particle ("Via Twitter" is no street)."""
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if token.lower not in _SPANISH_TYPES_FIRST or not token.text[:1].isupper():
                continue
            end = index + 1
            while (
                end < len(tokens)
                and end - index <= 2
                and tokens[end].text.islower()
                and tokens[end].lower in _SPANISH_NAME_PARTICLES
            ):
                end += 1
            particles = end - index - 1
            if particles == 0 and token.lower not in _SPANISH_TYPES_ALONE:
                continue
            names = end
            while (
                names < len(tokens)
                and names - end < 2
                and tokens[names].text[:1].isupper()
                # After a particle any capitalised word is the name's ("del Mar", though "Mar" is a month).
                and (_is_name_word(tokens[names]) or (particles > 0 and tokens[names].text.isalpha()))
                and not _is_suffix(tokens[names])
            ):
                names += 1
            if names == end:
                continue
            text = self._span_text(index, names)
            strength = _KIND_STRENGTH["street"]
            found.append(_Candidate(index, names, "street", strength, " ".join(text.upper().split())))
        return found

    def _unknown_street_after_on(self) -> list[_Candidate]:
        """ "on Larimer", "POTHOLES ON WESTHEIMER": one capitalised word no list knows, closing its phrase
        after "on", is how residents of a city whose streets the list lacks name a street. Weak and a rule
        of its own: where the list is complete (Boston) such a word is mostly something else ("on
        Facebook"), so the ranker weighs it."""
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens[:-1]):
            if token.lower not in {"on", "along", "onto"}:
                continue
            word = tokens[index + 1]
            if (
                not word.proper
                or (len(word.text) < 4 and word.upper not in _STREET_INITIALS)
                or not word.text.isalpha()
                or word.upper in self.names
                or word.lower in LANDMARK_HEADS
                or _is_suffix(word)
            ):
                continue
            following = tokens[index + 2] if index + 2 < len(tokens) else None
            closes = following is None or not following.is_word or following.text.islower()
            if not closes or (
                following is not None and (_is_suffix(following) or following.lower in LANDMARK_HEADS)
            ):
                continue
            found.append(
                _Candidate(
                    index + 1,
                    index + 2,
                    "street",
                    _KIND_STRENGTH["street"] - 1.2,
                    normalize_street(word.text),
                    rule="unknown_on",
                )
            )
        return found

    def _landmarks(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            # "Pier 39", "Piers 30-32": a waterfront's piers are named by their numbers.
            if (
                token.lower in {"pier", "piers"}
                and token.capitalized
                and index + 1 < len(tokens)
                and tokens[index + 1].text.isdigit()
                and len(tokens[index + 1].text) <= 3
            ):
                end = index + 2
                if (
                    end + 1 < len(tokens)
                    and tokens[end].text in {"-", "–"}
                    and tokens[end + 1].text.isdigit()
                ):
                    end += 2
                text = self._span_text(index, end)
                found.append(
                    _Candidate(index, end, "landmark", _KIND_STRENGTH["landmark"] + 0.5, text.upper())
                )
                continue
            if token.lower not in LANDMARK_HEADS or index == 0:
                continue
            # "elementary school children", "the park ranger": the head names a kind of person or thing.
            if index + 1 < len(tokens) and tokens[index + 1].lower in _HEAD_COMPOUNDS:
                continue
            # "M street park", "Congress st bridge", "Ipswich St garage": a street names the place.
            suffix = self._street_naming_place(index)
            if suffix is not None:
                street = self.street_ending_at_suffix(suffix, as_name=True)
                if street is not None:
                    text = self._span_text(street[0], index + 1)
                    strength = _KIND_STRENGTH["street"] + 0.5
                    found.append(
                        _Candidate(street[0], index + 1, "landmark", strength, " ".join(text.upper().split()))
                    )
                    continue
            # "Academy of the Pacific Rim", "Church of the Covenant"
            if token.capitalized and index + 2 < len(tokens) and tokens[index + 1].lower == "of":
                at = index + 2 + (tokens[index + 2].lower in _ARTICLES)
                end = at
                # After the first proper word, any capitalised word continues the name ("Pacific Rim").
                while (
                    end < len(tokens)
                    and end - at < 3
                    and (
                        tokens[end].proper
                        or (end > at and tokens[end].capitalized and _is_name_word(tokens[end]))
                    )
                ):
                    end += 1
                if end > at:
                    first = index - 1 if tokens[index - 1].proper else index
                    text = self._span_text(first, end)
                    found.append(_Candidate(first, end, "landmark", 2.5, " ".join(text.upper().split())))
                    continue
            # "in the Common", "on the Greenway": a capitalised head noun used as a name.
            alone = index + 1 >= len(tokens) or not tokens[index + 1].capitalized
            if token.capitalized and not token.initial and tokens[index - 1].lower in _ARTICLES and alone:
                found.append(_Candidate(index, index + 1, "landmark", 2.0, token.upper))
                continue
            words: list[int] = []
            at = index - 1
            # Up to three words, or five when capitalised ("Savin Hill MBTA Red Line station").
            while at >= 0 and (len(words) < 3 or (len(words) < 5 and tokens[at].capitalized)):
                candidate = tokens[at]
                if not (
                    _is_name_word(candidate)
                    or self._corner_name(at)
                    or self._number_word_opening(at)
                    or self._saint_at(at)
                ):
                    break
                words.append(at)
                at -= 1
            if not words:
                continue
            words.reverse()
            # The run of name-like words before the head ("Johnson gates park" keeps "Johnson gates").
            named = [
                i
                for i in words
                if tokens[i].proper
                or (tokens[i].capitalized and not tokens[i].initial)
                or self._number_word_opening(i)
                or (self._saint_at(i) and tokens[i].is_word)
            ]
            if not named:
                # Lower-case text: a directional or an uncommon word opens the name ("southwest
                # corridor", "carleton dog park"), an everyday word does not ("the dog park").
                named = [
                    i
                    for i in words
                    if (tokens[i].upper in DIRECTIONALS and len(tokens[i].text) > 2)
                    or (tokens[i].lower not in self.common and tokens[i].lower not in GENERIC_MODIFIERS)
                ]
                if not named or (named[0] != words[0] and len(words) > 2):
                    continue
            first = named[0]
            # "the City of Boston make Avana Lofts": a lower-case word between two names ends the first;
            # the place's name is the last run ("Johnson gates park" keeps its one name).
            for previous, following in pairwise(named):
                if any(tokens[i].text.islower() for i in range(previous + 1, following)):
                    first = following
            modifiers = [tokens[i] for i in range(first, index)]
            if all(t.lower in GENERIC_MODIFIERS or t.lower in LANDMARK_HEADS for t in modifiers):
                continue
            end = index + 1
            # "Boston Common tennis courts": up to two more words ending in a second head.
            for extra in (1, 2):
                last = end + extra - 1
                if last < len(tokens) and tokens[last].lower in LANDMARK_HEADS and _is_name_word(tokens[end]):
                    end += extra
                    break
            text = self._span_text(first, end)
            found.append(
                _Candidate(first, end, "landmark", _KIND_STRENGTH["landmark"], " ".join(text.upper().split()))
            )
        found.extend(self._named_places())
        # "Fields Corner", "Tysons Corner": a neighbourhood named for a corner.
        for index in range(1, len(tokens)):
            if self._corner_name(index):
                first = index - 1
                if first >= 1 and tokens[first - 1].proper:
                    first -= 1
                text = self._span_text(first, index + 1)
                found.append(
                    _Candidate(
                        first,
                        index + 1,
                        "landmark",
                        _KIND_STRENGTH["landmark"],
                        " ".join(text.upper().split()),
                    )
                )
        # "Public Alley 431"
        for index, token in enumerate(tokens[:-1]):
            if token.lower == "alley" and _is_number(tokens[index + 1]):
                first = index - 1 if index > 0 and tokens[index - 1].lower == "public" else index
                text = self._span_text(first, index + 2)
                found.append(_Candidate(first, index + 2, "landmark", 3.2, " ".join(text.upper().split())))
        return found

    def _saint_at(self, index: int) -> bool:
        """ "St Johns", "St. Louis Park": a capitalised "St" (or its period) before a capitalised name is
        "Saint", the name's first word."""
        tokens = self.tokens
        saint = index - 1 if tokens[index].text == "." else index
        after = saint + 1
        if after < len(tokens) and tokens[after].text == ".":
            after += 1
        # After a name "St" is the street's type: "28 Charles St Dorchester".
        after_a_name = saint >= 1 and (tokens[saint - 1].capitalized or is_ordinal(tokens[saint - 1].text))
        return (
            saint >= 0
            and tokens[saint].text in {"St", "ST"}
            and not after_a_name
            and after < len(tokens)
            and tokens[after].capitalized
            and _is_name_word(tokens[after])
            and tokens[after].upper not in DIRECTIONALS
        )

    def _number_word_opening(self, index: int) -> bool:
        """ "Five Points", "Four Corners", "Seven Hills": a capitalised number word before a capitalised
        name opens the name (a count is written in lower case or in digits)."""
        tokens = self.tokens
        return (
            tokens[index].lower in _NUMBER_WORDS
            and tokens[index].capitalized
            and not tokens[index].text.isupper()
            and index + 1 < len(tokens)
            and tokens[index + 1].capitalized
            and _is_name_word(tokens[index + 1])
        )

    def _corner_name(self, index: int) -> bool:
        """ "Fields Corner", "Field's Corner Mall": "Corner" capitalised after a name is part of a place's
        name, not the cue of "corner of"."""
        tokens = self.tokens
        token = tokens[index]
        return (
            token.lower in {"corner", "corners"}
            and token.capitalized
            and not token.initial
            and index >= 1
            and tokens[index - 1].proper
            and not (index + 1 < len(tokens) and tokens[index + 1].lower == "of")
        )

    def _street_naming_place(self, head: int) -> int | None:
        """The suffix of a street that names the place whose head noun is at ``head``: right before it
        ("M street park"), before its period ("m st. Park"), or before one capitalised word of the
        place's name ("Bremen Street Dog Park")."""
        tokens = self.tokens
        before = head - 1
        if _is_suffix(tokens[before]):
            return before
        if before < 1 or not _is_suffix(tokens[before - 1]):
            return None
        if tokens[before].text == ".":
            return before - 1
        # "24th St BART station": an acronym between names the place whatever the head's case.
        acronym = (
            tokens[before].text.isupper()
            and 2 <= len(tokens[before].text) <= 5
            and tokens[before].upper not in DIRECTIONALS
        )
        capitalised_name = (tokens[head].capitalized or acronym) and tokens[before].capitalized
        if capitalised_name and _is_name_word(tokens[before]) and not _is_suffix(tokens[before]):
            return before - 1
        return None

    def _named_places(self) -> list[_Candidate]:
        """A proper name after a place preposition, with no head noun: "at Bijou", "behind CVS"."""
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens[:-1]):
            # "in the South End", "on the Greenway": "in"/"on" only with an article before the name.
            with_article = token.lower in {"in", "on"} and tokens[index + 1].lower in _ARTICLES
            if token.lower not in PLACE_PREPOSITIONS and not with_article:
                continue
            if token.lower in {"of", "from", "to"} and not (
                index >= 1 and tokens[index - 1].lower in _OF_CUES
            ):
                continue
            start = index + 1
            if tokens[start].lower in _ARTICLES and start + 1 < len(tokens):
                start += 1
            numbered = self._numbered_name(start)
            if numbered is not None:
                text = self._span_text(start, numbered)
                found.append(_Candidate(start, numbered, "landmark", 2.0, " ".join(text.upper().split())))
                continue
            # "at Club Nova", "near Hotel Zephyr": a capitalised head noun opens the name of a proper one.
            head_first = (
                start + 1 < len(tokens)
                and tokens[start].lower in LANDMARK_HEADS
                and tokens[start].capitalized
                and tokens[start + 1].proper
            )
            end = start
            while end < len(tokens) and end - start < 4:
                word = tokens[end]
                if word.proper or (word.capitalized and _is_name_word(word) and (end > start or head_first)):
                    end += 1
                    if end < len(tokens) and tokens[end].text in {"'", "’"}:
                        end += 1
                    # "W. Brookline": an initial's period does not end the name.
                    if end + 1 < len(tokens) and tokens[end].text == "." and len(word.text) == 1:
                        end += 1
                else:
                    break
            while end > start and tokens[end - 1].text == ".":
                end -= 1
            # A lone initial ("W") is no place.
            if end - start == 1 and len(tokens[start].text) == 1:
                continue
            if end == start or not (
                tokens[start].proper
                or head_first
                or (with_article and any(t.proper for t in tokens[start:end]))
            ):
                continue
            text = self._span_text(start, end)
            # "next to" is a place cue like "in front of"; "to" alone mostly is not.
            weak = token.lower in {"in", "on", "into"} or (
                token.lower == "to" and tokens[index - 1].lower != "next"
            )
            strength = _KIND_STRENGTH["landmark"] - (1.0 if weak else 0.5)
            found.append(_Candidate(start, end, "landmark", strength, " ".join(text.upper().split())))
        return found

    def _numbered_name(self, start: int) -> int | None:
        """The end of a shop's name that opens with a number: "5 Guys", "7-11", "7-Eleven" (after a place
        cue; a number then a name no street list knows, with no street type, is no address)."""
        tokens = self.tokens
        if start + 1 >= len(tokens) or not tokens[start].text.isdigit() or len(tokens[start].text) > 3:
            return None
        following = tokens[start + 1]
        if following.text == "-" and following.start == tokens[start].end and start + 2 < len(tokens):
            glued = tokens[start + 2]
            # "415-555-0199", "555-1234": a phone number's groups, not "7-11".
            if glued.text.isdigit() and (
                len(glued.text) >= 3 or (start + 3 < len(tokens) and tokens[start + 3].text == "-")
            ):
                return None
            # "at 4-5pm", "from 9-10 am": hours, not a shop ("7-11" is one).
            after = tokens[start + 3].lower if start + 3 < len(tokens) else ""
            if _HOURS.fullmatch(glued.text) or (glued.text.isdigit() and after in {"am", "pm", "a.m", "p.m"}):
                return None
            return start + 3 if glued.is_word and glued.start == following.end else None
        end = start + 1
        while (
            end < len(tokens)
            and end - start <= 2
            # "Guys" is an everyday word, capitalised here as a name.
            and tokens[end].capitalized
            and _is_name_word(tokens[end])
            and not _is_suffix(tokens[end])
            and tokens[end].upper not in self.names
        ):
            end += 1
        return end if end > start + 1 else None

    def _span_text(self, start: int, end: int) -> str:
        return self.text[self.tokens[start].start : self.tokens[end - 1].end]

    def mention(self, candidate: _Candidate) -> LocationMention:
        candidate = self._station(candidate)
        start = self.tokens[candidate.start].start
        end = self.tokens[candidate.end - 1].end
        return LocationMention(
            text=self.written[start:end],
            start=start,
            end=end,
            kind=candidate.kind,
            normalized=candidate.normalized,
            lat=candidate.lat,
            long=candidate.long,
        )

    def names_a_station(self, candidate: _Candidate) -> bool:
        """Whether ``candidate`` with the transit system after it is a station (``_station``)."""
        return self._station(candidate).end > candidate.end

    def _station(self, candidate: _Candidate) -> _Candidate:
        """A street, corner or place followed by a transit system is its station: "16th St BART", "Powell
        St BART", "16th and Mission BART", "Park St MBTA station" (a landmark, geocoded as the station the
        city lists, or else as its street or corner)."""
        tokens = self.tokens
        if candidate.lat is not None:
            return candidate
        end = candidate.end
        system = tokens[end - 1].upper if tokens[end - 1].upper in TRANSIT_SYSTEMS else None
        after = end + 1 if end < len(tokens) and tokens[end].text == "." else end  # "16th St. BART"
        named = ""
        if system is None and after < len(tokens) and tokens[after].upper in TRANSIT_SYSTEMS:
            system = tokens[after].upper
            end = after + 1
        elif (
            system is None
            and after + 1 < len(tokens)
            and tokens[after].proper
            and tokens[after + 1].upper in TRANSIT_SYSTEMS
        ):
            # "24th St Mission BART": a station named by its street and its neighbourhood.
            named, system = tokens[after].upper, tokens[after + 1].upper
            end = after + 2
        if system is None or end - candidate.start < 2:
            return candidate
        # "Tremont St MBTA buses": the system's vehicles or people, not its station.
        if end < len(tokens) and tokens[end].lower in _HEAD_COMPOUNDS:
            return candidate
        normalized = (
            candidate.normalized
            if end == candidate.end
            else " ".join(filter(None, (candidate.normalized, named, system)))
        )
        if end < len(tokens) and tokens[end].lower in {"station", "stop", "stn"}:
            end += 1
        return replace(candidate, end=end, kind="landmark", normalized=normalized)


def _select(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, strongest first (earlier, then longer, on ties)."""
    ranked = sorted(candidates, key=lambda c: (-round(c.strength, 3), c.start, -(c.end - c.start)))
    chosen: list[_Candidate] = []
    # Which tokens a chosen candidate covers: a check per candidate, not per pair (long messages).
    taken = bytearray(max((candidate.end for candidate in candidates), default=0))
    for candidate in ranked:
        if not any(taken[candidate.start : candidate.end]):
            taken[candidate.start : candidate.end] = b"\x01" * (candidate.end - candidate.start)
            chosen.append(candidate)
    return chosen


def _cross_name(written: str) -> str:
    """The normalised name of a street around "between" / "entre"; "la 16" (Spanish for 16th Street) as
    "16TH"."""
    words = written.split()
    if len(words) == 2 and words[0].lower() in ("la", "el") and words[1].isdigit():
        return ordinal_token(int(words[1]))
    return normalize_street(written)


def _degrees(match: re.Match[str]) -> tuple[float, float] | None:
    """Latitude and longitude of a ``_DEGREES`` match; None without a hemisphere for each half, or for
    decimal degrees with the hemisphere after (``_COORDINATES`` reads those)."""
    groups = match.groups()
    if groups[10] is not None:  # decimal degrees, hemisphere first
        north, lat, east, long = groups[10:14]
        return _signed(float(lat), north), _signed(float(long), east)
    lat_hemisphere, long_hemisphere = groups[0] or groups[4], groups[5] or groups[9]
    if lat_hemisphere is None or long_hemisphere is None or (groups[2] is None and groups[7] is None):
        return None
    return _signed(_angle(*groups[1:4]), lat_hemisphere), _signed(_angle(*groups[6:9]), long_hemisphere)


def _angle(degrees: str, minutes: str | None, seconds: str | None) -> float:
    return float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600


def _signed(value: float, hemisphere: str) -> float:
    # Six decimals, as the decimal forms are kept: about 10 cm.
    return round(-value if hemisphere.upper() in ("S", "W") else value, 6)


def find_locations(text: str) -> list[LocationMention]:
    """Every place the text names, in text order, without overlaps."""
    finder = _Finder(text)
    chosen = _select(finder.candidates())
    return [finder.mention(candidate) for candidate in sorted(chosen, key=lambda c: c.start)]


def ranked_candidates(text: str) -> tuple[_Finder, list[tuple[_Candidate, dict[str, float]]]]:
    """Every candidate (patterns and loose guesses) with its ranker features; for training the ranker."""
    finder = _Finder(text)
    patterns = finder.candidates()
    order = {id(candidate): rank for rank, candidate in enumerate(_select(patterns))}
    seen: set[tuple[int, int]] = set()
    unique: list[_Candidate] = []

    def add(candidates: list[_Candidate]) -> None:
        for candidate in candidates:  # the first of a span wins: a later guess of it adds nothing
            if (candidate.start, candidate.end) not in seen:
                seen.add((candidate.start, candidate.end))
                unique.append(candidate)

    add(patterns)
    add(finder.loose_candidates())
    compounds = finder.compounds(unique)
    add(compounds)
    first_start = min((c.start for c in unique), default=0)
    first_pattern = min((c.start for c in patterns), default=-1)
    scored = []
    for candidate in unique:
        rank = order.get(id(candidate))
        features = finder.features(candidate, rank, first_start, len(unique), first_pattern)
        features.update(_part_features(candidate, compounds))
        scored.append((candidate, features))
    return finder, scored


def _with_its_street(chosen: _Candidate, candidates: list[_Candidate]) -> _Candidate:
    """A place chosen alone where the text says which street it is on ("Marcy Park on Grove Street") keeps
    that street in its normalised form, ``PLACE ON STREET``: a geocoder that does not know the place still
    finds the street (``intents.geocoding.place_then_street``)."""
    if chosen.kind != "landmark":
        return chosen
    on_street = next(
        (
            compound
            for compound in candidates
            if compound.rule == "link_on"
            and compound.start == chosen.start
            and compound.end > chosen.end
            and compound.kind in {"street", "address", "intersection"}
        ),
        None,
    )
    if on_street is None:
        return chosen
    return replace(chosen, normalized=f"{chosen.normalized}{PLACE_ON_STREET}{on_street.normalized}")


def _part_features(candidate: _Candidate, compounds: list[_Candidate]) -> dict[str, float]:
    """What a candidate is part of: labellers rarely mark the street alone where a place on it is named
    before ("Rotch Playground on Albany St", "Starbucks on Newbury Street"); they mark the place or both.
    A pointwise ranker cannot see that from the street's own features."""
    features: dict[str, float] = {}
    for compound in compounds:
        if compound.rule.startswith("link_") and compound is not candidate:
            if compound.end == candidate.end and compound.start < candidate.start:
                features[f"second_of={compound.rule}|{compound.parts}"] = 1.0
            elif compound.start == candidate.start and compound.end > candidate.end:
                features[f"first_of={compound.rule}|{compound.parts}"] = 1.0
    return features


def pattern_location(text: str) -> LocationMention | None:
    """The strongest pattern candidate (earliest on ties), without the ranker."""
    finder = _Finder(text)
    chosen = _select(finder.candidates())
    return finder.mention(chosen[0]) if chosen else None


def _corner_and_its_cue(one: _Candidate, other: _Candidate) -> bool:
    """One corner spanned with and without the "corner of" before it."""
    with_cue, plain = (one, other) if one.rule == "corner_of" else (other, one)
    return (
        with_cue.rule == "corner_of"
        and plain.kind == "intersection"
        and plain.end == with_cue.end
        and plain.start == with_cue.start + 2
    )


def find_location(text: str) -> LocationMention | None:
    """The place the text most likely means, or None.

    With the shipped ranker (``intents/data/location_ranker.json``), the candidate it scores highest, if
    that score reaches its threshold; without it, the strongest pattern candidate (earliest on ties).
    """
    ranker = default_ranker()
    if ranker is None:
        return pattern_location(text)
    finder, scored = ranked_candidates(text)
    # The ranker learnt from English messages only; when the strongest pattern is a Spanish or Chinese
    # way of writing a place ("la calle Main", "Stockton街"), the ranker's features (English context
    # words) say nothing about it, so the pattern's own strength decides.
    # Likewise a point written as numbers ("@ 37.76262,-122.43295"): no labelled message has one, and the
    # ranker, knowing nothing of them, scored that one 0.33, under its threshold; nothing else written is as
    # exact a place.
    for candidate, features in scored:
        unranked = candidate.rule in _UNRANKED_RULES or candidate.kind == "coordinates"
        if unranked and features.get("rank=0") == 1.0:
            return finder.mention(candidate)
    probabilities = ranker.probabilities([features for _candidate, features in scored])
    ranked = sorted(
        (
            (probability, index, candidate)
            for index, (probability, (candidate, _features)) in enumerate(
                zip(probabilities, scored, strict=True)
            )
        ),
        key=lambda entry: (-entry[0], entry[1]),
    )
    if not ranked:
        return None

    # "corner of Elm St and McGee St" and "Elm St and McGee St" are one place written two ways, and the
    # ranker splits its share between them (0.30 and 0.32, each under the threshold and under a shop's name
    # beside them, 0.34): together they say how sure it is of that place; the better-scored span is shown.
    def place_share(entry: tuple[float, int, _Candidate]) -> float:
        return entry[0] + next((p for p, _, other in ranked if _corner_and_its_cue(entry[2], other)), 0.0)

    best_share, best_entry = max(((place_share(entry), entry) for entry in ranked), key=lambda pair: pair[0])
    if best_share >= ranker.threshold:
        best = best_entry[2]
        return finder.mention(_with_its_street(best, [candidate for candidate, _ in scored]))
    # A street or corner followed by a transit system names its station whatever the ranker thinks of the
    # words around it ("at the 16th Street BART": the street alone scored 0.28, below the threshold).
    station = next((c for _, _, c in ranked if finder.names_a_station(c)), None)
    return finder.mention(station) if station is not None else None
