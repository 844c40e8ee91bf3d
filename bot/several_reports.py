"""A message that reports more than one problem, each at its own place: "pothole on 5th and Market and also
a broken streetlight at 16th and Mission". Each becomes its own report.

A request has one service and one place, so before, the first problem was filed and the rest of the
message went into its description, never to be seen by the crew that fixes the second one. A message is
split only where every report in it stands on its own: a place of its own, a category the classifier is
sure of (not "other"; joined to the other part by words that add one, more likely than not), and the
resident's word that it is another problem ("also", "another", "plus", "too", "y también", "还有").
Words that do not ("It's been there for weeks.", "Please fix it.") stay with the report before them, as
does a sentence that goes on about the same thing ("It's also parked in front of 125 Main St" after a car
at 123 Main St: it, this, that, they...). Of the first 30,000 messages of
Boston's pool, 11,780 have more than one part; 10 are split, each where the resident adds another car, a
hydrant blocked elsewhere... Before the "also" was asked for, 18 were, and most of the other 8 were one
problem told twice (a car "abandoned" at a corner, then "moved to different spots" on one of its streets).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from intents.types import Understander, Understanding

# More than this many reports in one message is more likely a story than a list: it is not split.
MAX_REPORTS: Final = 3
# How sure the classifier must be of a part the resident joined to another with words that add one ("y
# también", "and also", "还有"), instead of the auto-file threshold: its best reading more likely than all
# the others together. A short part reads less surely than a whole message ("una luz rota en 16th y
# Mission", 0.81, under the shipped model's 0.82), and left unsplit it was lost in the first report's
# description; split, it is asked its kind when the bot is unsure, as any report is. Parts after a sentence
# (". Also, ...") still need the threshold: of Boston's 72,000 messages, those a lower bar would split more
# often went on about the same problem.
TOLD_APART_CONFIDENCE: Final = 0.5
# Where one report may end and the next begin: after a sentence, a line, or before words that add
# another thing ("and also", ", also", "y también", "还有"); not at an "also" inside a sentence ("he was
# also parked on Emmons yesterday"). The connector belongs to neither part.
_BOUNDARY: Final = re.compile(
    r"(?<=[.!?;。！？；])\s+|\s*\n+\s*"
    r"|,?\s+(?:and\s+also|as\s+well\s+as|y\s+también)\s+|,\s+(?:also|plus|también)\s+|,?\s+and\s+(?=another\b)"
    r"|,\s+and\s+(?=there(?:'s|\s+is|\s+are)\b)"
    r"|[，,]?\s*(?:还有|還有|另外)\s*",
    re.IGNORECASE,
)
# Words saying the resident is adding a problem, not going on about the same one.
_ADDING: Final = re.compile(
    r"\b(?:also|plus|another|as\s+well|también|otr[oa])\b|\btoo\W*$|还有|還有|另外|也",
    re.IGNORECASE,
)
# A sentence that opens with these words goes on about the thing before it.
_GOES_ON: Final = re.compile(
    r"^(?:it|it's|its|this|that|they|they're|these|those|he|she|same|still|esto|eso|está|它|这|這|那)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Part:
    start: int
    end: int
    # Where the words before it left off (the connector, if any, lies between).
    gap_start: int


def split_reports(text: str, understander: Understander) -> list[str]:
    """The reports in ``text``, each in the resident's own words; ``[text]`` when it is one report."""
    # Cheap checks first: most messages with several sentences add no problem ("also") and name at most
    # one place, and classifying each sentence costs as much as a message.
    if _ADDING.search(text) is None:
        return [text]
    parts = _parts(text)
    placed = [understander.locate(text[part.start : part.end]) is not None for part in parts]
    if sum(placed) < 2:
        return [text]
    reports: list[tuple[list[_Part], Understanding]] = []
    leading: list[_Part] = []
    joined = _joined_as_another(text, parts)
    for part, has_place, told_apart in zip(parts, placed, joined, strict=True):
        words = text[part.start : part.end]
        may_stand_alone = has_place and _may_stand_alone(words, bool(reports))
        understanding = understander.understand(words) if may_stand_alone else None
        threshold = understander.auto_file_threshold
        if told_apart:
            threshold = min(threshold, TOLD_APART_CONFIDENCE)
        if understanding is not None and _stands_alone(understanding, threshold):
            if reports and not _different(reports[-1][1], understanding, text[part.gap_start : part.end]):
                reports[-1][0].append(part)
                continue
            reports.append(([*leading, part] if not reports else [part], understanding))
            leading = []
        elif reports:
            reports[-1][0].append(part)
        else:
            leading.append(part)
    if len(reports) < 2 or len(reports) > MAX_REPORTS:
        return [text]
    return [text[group[0].start : group[-1].end] for group, _understanding in reports]


def _parts(text: str) -> list[_Part]:
    parts = []
    position = gap = 0
    for boundary in _BOUNDARY.finditer(text):
        if boundary.start() > position:
            parts.append(_Part(position, boundary.start(), gap))
            gap = boundary.start()
        position = boundary.end()
    if position < len(text):
        parts.append(_Part(position, len(text), gap))
    return [part for part in parts if text[part.start : part.end].strip(" .,;!?")]


def _joined_as_another(text: str, parts: Sequence[_Part]) -> list[bool]:
    """For each part, whether the words joining it to the part before or after add another problem ("y
    también", "and also", "还有"): the resident's own word that the two are two."""
    # The words between a part and the one before it (the connector the split left out).
    before = [_ADDING.search(text[part.gap_start : part.start]) is not None for part in parts]
    after = [*before[1:], False]
    return [joined_before or joined_after for joined_before, joined_after in zip(before, after, strict=True)]


def _may_stand_alone(words: str, after_a_report: bool) -> bool:
    return not (after_a_report and _GOES_ON.match(words.strip()))


def _stands_alone(understanding: Understanding, threshold: float) -> bool:
    prediction = understanding.prediction
    return (
        understanding.location is not None
        and prediction.service_code != "other"
        and prediction.confidence >= threshold
    )


def _different(before: Understanding, after: Understanding, words_between_and_after: str) -> bool:
    """Whether ``after`` is another report than ``before``: another service or another place, and the
    resident says it is another one."""
    assert before.location is not None
    assert after.location is not None
    another_service = before.prediction.service_code != after.prediction.service_code
    another_place = before.location.normalized != after.location.normalized
    # Without the resident's "also", another category or another place may be the same problem told
    # twice (a car "abandoned" at a corner, then "moved to different spots" on one of its streets).
    return (another_service or another_place) and _ADDING.search(words_between_and_after) is not None
