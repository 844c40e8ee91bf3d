"""Finding where a message says the problem is: addresses, intersections, streets, landmarks, coordinates.

The finder works on word tokens with patterns over the vocabulary every US city shares (street suffixes,
ordinals, directionals, house numbers, connectors like "and"/"&"/"/", cues like "corner of"), with a list
of known street names as extra evidence only. It returns the shortest span that identifies the place
(without "at", "on", "in front of", "corner of"), as the labelling guide asks.

Every candidate gets a kind and a strength; ``find_location`` returns the strongest (earliest on ties),
``find_locations`` all non-overlapping ones in text order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intents.street_names import street_names
from intents.streets import (
    AMBIGUOUS_SUFFIXES,
    DIRECTIONALS,
    SUFFIXES,
    is_ordinal,
    normalize_street,
)
from intents.types import LocationKind, LocationMention

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*|[^\sA-Za-z0-9]")
_COORDINATES = re.compile(
    r"(?<![\d.])([-+]?\d{1,2}\.\d{3,})\s*[,;/ ]\s*([-+]?\d{1,3}\.\d{3,})(?![\d.])"
    r"|(?<![\d.])(\d{1,2}\.\d{3,})\s*°?\s*([NS])\s*,?\s*(\d{1,3}\.\d{3,})\s*°?\s*([EW])\b",
    re.IGNORECASE,
)


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
    weeks month months year years hour hours minute minutes am pm a.m p.m since until till about around
    than then so if as up down out can could would should will shall may might must there's i'm im i've
    we're they're car cars truck trucks vehicle vehicles lot lots times time block blocks ft feet foot
    inches miles mph floor way street streets road roads avenue ave st rd lane drive dr sidewalk
    sidewalks
    """
)
MONTHS_AND_DAYS = _words(
    """
    january february march april may june july august september october november december jan feb mar
    apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon
    tue tues wed thu thur thurs fri sat sun
    """
)
# Head nouns of named places: "Franklin Park", "Boston Common tennis courts", "Broadway bridge".
LANDMARK_HEADS = _words(
    """
    park parks playground playgrounds cemetery school schools church library hospital garden gardens
    pond beach plaza center centre station field fields hotel academy mall bridge greenway corridor
    path woods building tavern restaurant cafe café rink stadium common house terminal tunnel yard pier
    wharf harborwalk reservation arboretum university college ymca ymcа courts court market club bank
    church apartments lofts grill kitchen bakery pizzeria diner pub bar shop store supermarket pharmacy
    museum theater theatre gym arena circle square chapel parish temple mosque synagogue monument
    memorial wild tot lot trail marsh reservoir lake river creek fountain tower towers garage depot
    """
)
# Words that make a head generic, not a name: "the park", "a dog park", "parking lot".
GENERIC_MODIFIERS = _words(
    """
    dog public city local small big large new old nearby neighborhood neighbourhood parking this that
    our my the a an same other community baseball basketball soccer tennis football skate street bus
    train subway police fire
    """
)
CONNECTORS = frozenset({"and", "&", "/", "@", "at", "n"})
# "corner of X and Y", "intersection of X and Y": the cue is left out of the span.
INTERSECTION_CUES = frozenset({"corner", "intersection", "crossing", "junction"})
PREPOSITIONS = frozenset({"at", "on", "near", "by", "along", "outside", "behind", "across", "in", "off"})

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

    @property
    def upper(self) -> str:
        return self.text.upper().replace("’", "'")

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()

    @property
    def is_capitalized(self) -> bool:
        return self.text[0].isupper()


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int  # token indices, end exclusive
    end: int
    kind: LocationKind
    strength: float
    normalized: str
    lat: float | None = None
    long: float | None = None


def _tokenize(text: str) -> list[_Token]:
    return [_Token(match.group(), match.start(), match.end()) for match in _TOKEN.finditer(text)]


def _is_suffix(token: _Token) -> bool:
    return token.upper in SUFFIXES


def _is_number(token: _Token) -> bool:
    return token.text.isdigit() and len(token.text) <= 5


def _is_name_word(token: _Token) -> bool:
    """A word that can be part of a street or place name (not a function word, not punctuation)."""
    if not token.is_word or token.text.isdigit():
        return False
    lower = token.lower
    if lower in STOPWORDS or lower in MONTHS_AND_DAYS:
        # "D St", "Stop & Shop"-like single capitals are names; a capitalised function word is not.
        return len(token.text) == 1 and token.text.isupper() and lower not in {"a", "i"}
    return True


def _is_street_word(token: _Token) -> bool:
    """Good evidence on its own that a word names a street: capitalised, an ordinal, a single capital
    letter ("D and West Seventh"), or a known street name."""
    if is_ordinal(token.text):
        return True
    if not _is_name_word(token):
        return False
    return token.is_capitalized or token.upper in street_names()


def _skip_periods(tokens: list[_Token], index: int) -> int:
    """Index after an abbreviation's period ("St." "W."), which belongs inside a span."""
    if index < len(tokens) and tokens[index].text == "." and index > 0:
        return index + 1
    return index


class _Finder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.names = street_names()

    # -- street phrases --------------------------------------------------------------------------------

    def street_ending_at_suffix(self, suffix: int) -> tuple[int, bool] | None:
        """A street phrase whose last word is the suffix at ``suffix``: returns (first token, capitalised
        or known name). "blue hill avenue", "Comm Ave", "W 7th St", "St Botolph St"."""
        tokens = self.tokens
        words: list[int] = []
        index = suffix - 1
        if index >= 0 and tokens[index].text == "." and index - 1 >= 0:
            index -= 1
        while index >= 0 and len(words) < 4:
            token = tokens[index]
            if token.text == "." and index - 1 >= 0 and len(tokens[index - 1].text) <= 3:
                index -= 1
                continue
            if not (_is_name_word(token) or is_ordinal(token.text)) or (
                _is_suffix(token) and token.upper != "ST"
            ):
                break
            words.append(index)
            index -= 1
        if not words:
            return None
        words.reverse()  # now in text order; words[-1] is the word right before the suffix
        first = self._best_name_start(words)
        if first is None:
            return None
        name_tokens = [tokens[i] for i in range(first, suffix) if tokens[i].is_word]
        strong = all(t.is_capitalized or is_ordinal(t.text) for t in name_tokens) or self._known(name_tokens)
        if tokens[suffix].upper in AMBIGUOUS_SUFFIXES and not strong:
            return None
        return first, strong

    def _known(self, name_tokens: list[_Token]) -> bool:
        return normalize_street(" ".join(t.text for t in name_tokens)) in self.names

    def _best_name_start(self, words: list[int]) -> int | None:
        tokens = self.tokens
        # The longest run ending at the suffix that is a known street name ("BLUE HILL").
        for size in range(len(words), 0, -1):
            run = words[-size:]
            if self._known([tokens[i] for i in run]):
                return run[0]
        # Otherwise the run of capitalised words / ordinals (with a leading directional) before the suffix.
        run_start: int | None = None
        for i in reversed(words):
            token = tokens[i]
            if token.is_capitalized or is_ordinal(token.text):
                run_start = i
            else:
                break
        if run_start is not None:
            return run_start
        # Lower-case text: the one word before the suffix ("havey st"), with a directional before it.
        last = words[-1]
        if len(words) >= 2 and tokens[words[-2]].upper in DIRECTIONALS:
            return words[-2]
        return last

    def street_forward(self, start: int, *, need_strong: bool) -> tuple[int, bool, bool] | None:
        """A street phrase starting at ``start`` (for the right side of an intersection or after a house
        number): returns (end, has suffix, strong). "West Seventh", "Market St", "L st", "Valencia"."""
        tokens = self.tokens
        index = start
        if index < len(tokens) and tokens[index].upper in DIRECTIONALS and index + 1 < len(tokens):
            index = _skip_periods(tokens, index + 1)
        words = 0
        while index < len(tokens) and words < 3:
            token = tokens[index]
            if _is_suffix(token) and words > 0:
                if token.upper in AMBIGUOUS_SUFFIXES and not any(
                    tokens[i].is_capitalized for i in range(start, index)
                ):
                    break
                end = index + 1
                if end < len(tokens) and tokens[end].text == "." and end + 1 < len(tokens):
                    # "St." inside a sentence keeps its period only when the sentence goes on.
                    following = tokens[end + 1]
                    if not following.is_capitalized:
                        end += 1
                return end, True, True
            if not (_is_street_word(token) or (not need_strong and _is_name_word(token))):
                break
            words += 1
            index = _skip_periods(tokens, index + 1) if len(token.text) <= 2 else index + 1
        if words == 0:
            return None
        end = index
        while end > start and tokens[end - 1].text == ".":
            end -= 1
        name_tokens = [t for t in tokens[start:end] if t.is_word]
        strong = all(_is_street_word(t) for t in name_tokens)
        if need_strong and not strong:
            return None
        return end, False, strong

    def street_backward(self, end: int) -> tuple[int, bool, bool] | None:
        """A street phrase ending just before ``end`` (the left side of an intersection): (start, has
        suffix, strong)."""
        tokens = self.tokens
        last = end - 1
        while last >= 0 and tokens[last].text == ".":
            last -= 1
        if last < 0:
            return None
        if _is_suffix(tokens[last]) and last > 0:
            found = self.street_ending_at_suffix(last)
            if found is not None:
                return found[0], True, found[1]
        index = last
        words = 0
        while index >= 0 and words < 3 and _is_street_word(tokens[index]) and not _is_suffix(tokens[index]):
            words += 1
            index -= 1
            if (
                index >= 0
                and tokens[index].text == "."
                and index - 1 >= 0
                and len(tokens[index - 1].text) <= 2
            ):
                index -= 1
        if words == 0:
            return None
        first = index + 1
        if tokens[first].text == ".":
            first += 1
        # A capitalised sentence opener ("Trash and ...") is not evidence of a name.
        return first, False, True

    # -- candidates ------------------------------------------------------------------------------------

    def candidates(self) -> list[_Candidate]:
        found: list[_Candidate] = []
        found.extend(self._coordinates())
        found.extend(self._addresses())
        found.extend(self._intersections())
        found.extend(self._streets())
        found.extend(self._landmarks())
        return found

    def _coordinates(self) -> list[_Candidate]:
        found = []
        for match in _COORDINATES.finditer(self.text):
            if match.group(1) is not None:
                lat, long = float(match.group(1)), float(match.group(2))
            else:
                lat = float(match.group(3)) * (-1 if match.group(4).upper() == "S" else 1)
                long = float(match.group(5)) * (-1 if match.group(6).upper() == "W" else 1)
            if not (-90 <= lat <= 90 and -180 <= long <= 180):
                continue
            start = self._token_at(match.start())
            end = self._token_at(match.end() - 1) + 1
            found.append(_Candidate(start, end, "coordinates", 6.0, f"{lat:.6f},{long:.6f}", lat, long))
        return found

    def _token_at(self, offset: int) -> int:
        for index, token in enumerate(self.tokens):
            if token.start <= offset < token.end:
                return index
        return 0

    def _addresses(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if not _is_number(token):
                continue
            previous = tokens[index - 1].text if index > 0 else ""
            if previous in {"$", ":", "/", "-", "."} and not (previous == "-" and index >= 2):
                continue
            first = index
            street_start = index + 1
            # "48 and 50 Austin street", "48-50 Austin St"
            if (
                street_start + 1 < len(tokens)
                and tokens[street_start].lower in {"and", "&", "-"}
                and _is_number(tokens[street_start + 1])
            ):
                street_start += 2
            # "12A Elm St"
            if (
                street_start < len(tokens)
                and len(tokens[street_start].text) == 1
                and tokens[street_start].start == tokens[street_start - 1].end
            ):
                street_start += 1
            street = self._street_after_number(street_start)
            if street is None:
                continue
            end, has_suffix, strong = street
            strength = _KIND_STRENGTH["address"] + (0.5 if has_suffix else 0.0) - (0.0 if strong else 1.5)
            street_text = self._span_text(street_start, end)
            number = tokens[first].text
            found.append(
                _Candidate(first, end, "address", strength, f"{number} {normalize_street(street_text)}")
            )
        return found

    def _street_after_number(self, start: int) -> tuple[int, bool, bool] | None:
        tokens = self.tokens
        if start >= len(tokens):
            return None
        # A number then a suffix within four words: "21 ocallaghan way", "1355 market street".
        for offset in range(1, 5):
            at = start + offset
            if at >= len(tokens):
                break
            if not tokens[at - 1].is_word and tokens[at - 1].text != ".":
                break
            if (_is_suffix(tokens[at]) and tokens[at].upper not in AMBIGUOUS_SUFFIXES | {"WAY"}) or (
                tokens[at].upper in {"WAY", "ROW", "WALK", "PLACE", "COURT", "SQUARE"}
            ):
                street = self.street_ending_at_suffix(at)
                if street is not None and street[0] == start:
                    end = at + 1
                    return end, True, True
        first = tokens[start]
        if first.lower in STOPWORDS or first.lower in MONTHS_AND_DAYS:
            return None
        # "11 Appleton", "5 W Broadway": a capitalised or known street name straight after the number.
        found = self.street_forward(start, need_strong=True)
        if found is None:
            return None
        end, has_suffix, _strong = found
        words = [t for t in tokens[start:end] if t.is_word]
        if not has_suffix and not any(t.upper in self.names for t in words):
            return None
        return end, has_suffix, True

    def _intersections(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if token.lower not in CONNECTORS or index == 0:
                continue
            left = self.street_backward(index)
            right = self.street_forward(index + 1, need_strong=False)
            if left is None or right is None:
                continue
            start, left_suffix, _left_strong = left
            end, right_suffix, right_strong = right
            left_tokens = [t for t in tokens[start:index] if t.is_word]
            right_tokens = [t for t in tokens[index + 1 : end] if t.is_word]
            cue = self._cue_before(start)
            evidence = self._street_evidence(left_tokens, left_suffix) + self._street_evidence(
                right_tokens, right_suffix
            )
            if not right_strong and not right_suffix:
                continue
            if token.lower in {"at", "@"} and not (left_suffix or right_suffix):
                continue
            # A sentence opener is capitalised for grammar, not because it is a name.
            if start == 0 or tokens[start - 1].text in {".", "!", "?"}:
                evidence -= 0.5 if not left_suffix else 0.0
            if cue == "intersection":
                evidence += 2.0
            elif cue == "preposition":
                evidence += 0.75
            if evidence < 2.0:
                continue
            left_text = self._span_text(start, index)
            right_text = self._span_text(index + 1, end)
            normalized = f"{normalize_street(left_text)} & {normalize_street(right_text)}"
            strength = _KIND_STRENGTH["intersection"] + min(evidence, 4.0) / 10
            found.append(_Candidate(start, end, "intersection", strength, normalized))
        return found

    def _street_evidence(self, words: list[_Token], has_suffix: bool) -> float:
        if not words:
            return 0.0
        score = 0.0
        if has_suffix:
            score += 1.5
        if any(is_ordinal(t.text) for t in words):
            score += 1.5
        if normalize_street(" ".join(t.text for t in words)) in self.names or all(
            t.upper in self.names or t.upper in DIRECTIONALS for t in words
        ):
            score += 1.0
        if all(t.is_capitalized or is_ordinal(t.text) for t in words):
            score += 0.5
        return score

    def _cue_before(self, start: int) -> str | None:
        tokens = self.tokens
        if start >= 2 and tokens[start - 1].lower == "of" and tokens[start - 2].lower in INTERSECTION_CUES:
            return "intersection"
        if start >= 1 and tokens[start - 1].lower in INTERSECTION_CUES | {"between"}:
            return "intersection"
        if start >= 1 and tokens[start - 1].lower in PREPOSITIONS:
            return "preposition"
        return None

    def _streets(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if index == 0 or not _is_suffix(token):
                continue
            # "St" before a capitalised name is "Saint" ("St Botolph"), not the end of a street.
            if (
                token.text == "St"
                and index + 1 < len(tokens)
                and tokens[index + 1].is_capitalized
                and not _is_suffix(tokens[index + 1])
            ):
                continue
            street = self.street_ending_at_suffix(index)
            if street is None:
                continue
            start, strong = street
            text = self._span_text(start, index + 1)
            strength = _KIND_STRENGTH["street"] - (0.0 if strong else 0.75)
            found.append(_Candidate(start, index + 1, "street", strength, normalize_street(text)))
        # "on Rutherford", "along Comm Ave": a known street name after "on"/"along" with no suffix.
        for index, token in enumerate(tokens[:-1]):
            if token.lower not in {"on", "along", "onto"}:
                continue
            found_forward = self.street_forward(index + 1, need_strong=True)
            if found_forward is None:
                continue
            end, has_suffix, _ = found_forward
            words = [t for t in tokens[index + 1 : end] if t.is_word]
            if has_suffix or not words:
                continue
            known = self._known(words) or all(t.upper in self.names for t in words)
            if not known or not all(t.is_capitalized or is_ordinal(t.text) for t in words):
                continue
            text = self._span_text(index + 1, end)
            found.append(
                _Candidate(index + 1, end, "street", _KIND_STRENGTH["street"] - 1.0, normalize_street(text))
            )
        return found

    def _landmarks(self) -> list[_Candidate]:
        tokens = self.tokens
        found = []
        for index, token in enumerate(tokens):
            if token.lower not in LANDMARK_HEADS or index == 0:
                continue
            words: list[int] = []
            at = index - 1
            while at >= 0 and len(words) < 3:
                candidate = tokens[at]
                if candidate.text in {"'", "’"}:
                    at -= 1
                    continue
                if not _is_name_word(candidate) and not (candidate.text.isdigit() and words):
                    break
                words.append(at)
                at -= 1
            if not words:
                continue
            words.reverse()
            # Keep the capitalised run, or at most two lower-case words before the head.
            capitalised = [i for i in words if tokens[i].is_capitalized]
            first = capitalised[0] if capitalised else words[-2] if len(words) >= 2 else words[-1]
            modifiers = [tokens[i] for i in range(first, index) if tokens[i].is_word]
            if all(t.lower in GENERIC_MODIFIERS or t.lower in LANDMARK_HEADS for t in modifiers):
                continue
            # Sentence-initial capital alone is weak evidence.
            named = any(t.is_capitalized for t in modifiers) or token.is_capitalized
            end = index + 1
            # "Boston Common tennis courts": a second head straight after the first.
            if end < len(tokens) and tokens[end].lower in LANDMARK_HEADS:
                end += 1
            strength = _KIND_STRENGTH["landmark"] - (0.0 if named else 0.75)
            text = self._span_text(first, end)
            found.append(_Candidate(first, end, "landmark", strength, " ".join(text.upper().split())))
        # "Public Alley 431"
        for index, token in enumerate(tokens[:-1]):
            if token.lower == "alley" and _is_number(tokens[index + 1]):
                first = index - 1 if index > 0 and tokens[index - 1].lower == "public" else index
                text = self._span_text(first, index + 2)
                found.append(_Candidate(first, index + 2, "landmark", 3.2, " ".join(text.upper().split())))
        return found

    def _span_text(self, start: int, end: int) -> str:
        return self.text[self.tokens[start].start : self.tokens[end - 1].end]

    def mention(self, candidate: _Candidate) -> LocationMention:
        start = self.tokens[candidate.start].start
        end = self.tokens[candidate.end - 1].end
        return LocationMention(
            text=self.text[start:end],
            start=start,
            end=end,
            kind=candidate.kind,
            normalized=candidate.normalized,
            lat=candidate.lat,
            long=candidate.long,
        )


def _select(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, strongest first (longer, then earlier, on ties)."""
    ranked = sorted(candidates, key=lambda c: (-c.strength, -(c.end - c.start), c.start))
    chosen: list[_Candidate] = []
    for candidate in ranked:
        if all(candidate.end <= other.start or candidate.start >= other.end for other in chosen):
            chosen.append(candidate)
    return chosen


def find_locations(text: str) -> list[LocationMention]:
    """Every place the text names, in text order, without overlaps."""
    finder = _Finder(text)
    chosen = _select(finder.candidates())
    return [finder.mention(candidate) for candidate in sorted(chosen, key=lambda c: c.start)]


def find_location(text: str) -> LocationMention | None:
    """The place the text most likely means (the strongest candidate, the earliest on ties), or None."""
    finder = _Finder(text)
    chosen = _select(finder.candidates())
    if not chosen:
        return None
    return finder.mention(chosen[0])
