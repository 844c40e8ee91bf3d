"""Comparing a found place's span with the one a test expects."""

from __future__ import annotations

import re

# "corner of" before a corner's streets: labelled.csv keeps it 7 times in 24 and the labelling guide's own
# example keeps it ("corner of Peterborough and Jersey"); the ranker learns which from the labels, so a
# test of a corner's form accepts either.
_CORNER_CUE = re.compile(r"(?i)^(?:the\s+)?corner\s+of\s+")


def without_corner_cue(span: str) -> str:
    """``span`` without a leading "corner of" ("the corner of")."""
    return _CORNER_CUE.sub("", span)
