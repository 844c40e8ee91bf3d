"""Whether a place found from the resident's words is worth a "Is it at ...?" before filing, and what an
answer that narrows a street down means.

A wrong place sends a crew to the wrong street, so the bot asks when a wrong one is plausible: the geocoder
says it matched only approximately (a street without a house number or cross street, a house number it does
not know), the place is a landmark, or the street it found is not the one written (a typo it corrected,
"Valenica" → VALENCIA ST). Exact addresses, intersections of the streets written and shared GPS points
are not asked about: a clear report is filed without a question.

What the geocoder matched is read from ``Place.raw`` (``kind``, ``exact``, ``street``/``streets``), which
the offline gazetteer fills in; a geocoder that says nothing there is trusted except for streets and
landmarks, the kinds that never name one spot.
"""

from __future__ import annotations

import re

from intents.streets import DIRECTIONALS
from intents.types import Place, Understander

# Mention kinds that name an area rather than a spot.
VAGUE_KINDS = frozenset({"street", "landmark"})
_WORD = re.compile(r"[A-Z0-9]+")
# O'Farrell, O’Shaughnessy: one word however the apostrophe is written (or left out).
_APOSTROPHES = re.compile(r"['’]")
# Kinds of place that stand on their own, not as a point along a street already named.
_WHOLE_PLACES = frozenset({"address", "intersection", "landmark", "coordinates"})
# Words before a cross street: "at 16th", "on the corner of 16th", "y 16th", "和16街".
_CROSS_STREET_LEAD = re.compile(
    r"^(?:(?:at|on|near|by|and|&|the|corner|of|cross|street|is|it's|its|y|en|la|esquina|con|和|与|在)\s*)+",
    re.IGNORECASE,
)

# Words that place an answer along something ("near 19th", "at 19th", "cerca de la 19", "在19街"): after No
# to "Is it at SANCHEZ ST?", the resident saying where on it.
_NEAR_LEAD = re.compile(
    r"^(?:(?:near|by|at|close\s+to|next\s+to|(?:on\s+)?(?:the\s+)?corner\s+(?:of|with)|cerca\s+de"
    r"|junto\s+a|(?:en\s+)?(?:la\s+)?esquina\s+(?:de|con))\s+|(?:在|靠近|接近|近))",
    re.IGNORECASE,
)

# Words opening a stretch of the street asked about: "between Valencia and Mission", "entre la 16 y la 17".
_STRETCH_LEAD = re.compile(r"^(?:between|btwn|btw|from|entre)\b", re.IGNORECASE)


def needs_confirmation(place: Place, kind: str | None, written: str) -> bool:
    """``kind`` is the mention's kind (None when unknown); ``written`` the normalised words the place was
    looked up by (e.g. ``"VALENICA ST & 16TH ST"``), empty when unknown."""
    matched = place.raw.get("kind")
    if kind == "landmark" or matched == "landmark":
        return True
    exact = place.raw.get("exact")
    if exact is False:
        return True
    if exact is None and kind in VAGUE_KINDS:
        return True
    return bool(written) and not _streets_written(place, written)


def _streets_written(place: Place, written: str) -> bool:
    """True when every street the geocoder matched is named in ``written`` (its suffix, and a direction
    after it, may be left out)."""
    streets = place.raw.get("streets")
    if not isinstance(streets, list):
        street = place.raw.get("street")
        streets = [street] if isinstance(street, str) else []
    words = set(_words(written))
    for street in streets:
        name = _words(str(street))
        # A direction after the type (Toronto's QUEEN ST W, San Francisco's BUENA VISTA AVE EAST) may be
        # left out as the type may: the geocoder says where it had to choose (``exact`` False).
        while len(name) > 2 and name[-1] in DIRECTIONALS:
            name.pop()
        # The suffix (ST, AVE) may be missing or different in what was written; the name itself may not.
        core = name[:-1] if len(name) > 1 else name
        if not all(word in words for word in core):
            return False
    return True


def _words(text: str) -> list[str]:
    return _WORD.findall(_APOSTROPHES.sub("", text.upper()))


def on_the_street(understander: Understander, street: str, answer: str) -> str | None:
    """``answer`` to "Is it at VALENCIA ST?" read as a spot on that street, when it is not a place of its
    own: "between 16th and 17th" -> "Valencia between 16th and 17th", "at 16th" / "16th" / "near 16th" ->
    "Valencia and 16th"; asked about 16th St, "between Valencia and Mission" is that block of 16th St.
    ``street`` is the resident's words for the street. None when the answer is a whole place (an address,
    a corner), or names nothing found on that street: it is then read as it is."""
    answer = " ".join(answer.split())
    own = understander.locate(answer)
    # "between Valencia and Mission" asked about 16th St is its block between the two, not where Valencia
    # meets Mission 2 km away; "near Valencia" names a street (found as a place after "near"), not a spot.
    if own is not None and own.kind in _WHOLE_PLACES and not _STRETCH_LEAD.match(answer):
        place = understander.geocode(own.normalized)
        if place is not None and place.raw.get("kind") != "street":
            return None
    cross = _CROSS_STREET_LEAD.sub("", answer)
    for text in (f"{street} {answer}", f"{street} and {cross}"):
        mention = understander.locate(text)
        # The place found starts within the street's words ("calle Valencia" may lose its "calle") and
        # reaches into the answer's.
        if (
            mention is not None
            and mention.start < len(street)
            and mention.end > len(street)
            and understander.geocode(mention.normalized) is not None
        ):
            return text
    return None


def near_the_street(understander: Understander, street: str, answer: str) -> str | None:
    """``answer`` to "Where is it exactly?" after No to "Is it at SANCHEZ ST?" (the street, not just anywhere
    on it) read as a spot on that street when it says where along it and is no place of its own: "near
    19th" -> "Sanchez near 19th" (where it used to be 19TH AVE, across the city); "at 16th St and
    Valencia St" or a bare "Mission St" stays what it says (None). A stretch of it too: "between 22nd and
    23rd" -> "Valencia between 22nd and 23rd" (it was looked up as the corner "22nd and 23rd", not on the
    map)."""
    if not (_NEAR_LEAD.match(answer.strip()) or _STRETCH_LEAD.match(answer.strip())):
        return None
    return on_the_street(understander, street, answer.strip())
