"""How well a location finder matches labelled spans (``location_text`` in the labelled data).

Per message there is at most one gold span and one predicted span. Exact-match span F1: a prediction
equal to the gold span (case and surrounding spaces/punctuation ignored) is a true positive; any other
prediction is a false positive, and a gold span not predicted exactly is a false negative (so a wrong
span counts as both). Token-overlap F1 gives partial credit for near misses ("corner of X and Y" against
"X and Y"), averaged over the messages where either side has a span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SpanScores:
    precision: float
    recall: float
    f1: float
    # Mean token-overlap F1 over messages where gold or prediction has a span.
    token_f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    messages: int


def clean_span(span: str | None) -> str:
    """The form spans are compared in: trimmed of spaces and punctuation, lower case, single spaces."""
    return " ".join((span or "").strip(" \t\n.,;:!?\"'()").lower().split())


def _token_f1(gold: str, predicted: str) -> float:
    gold_tokens = _WORD.findall(gold)
    predicted_tokens = _WORD.findall(predicted)
    if not gold_tokens or not predicted_tokens:
        return 0.0
    remaining = list(gold_tokens)
    common = 0
    for token in predicted_tokens:
        if token in remaining:
            remaining.remove(token)
            common += 1
    if common == 0:
        return 0.0
    precision = common / len(predicted_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def span_scores(pairs: Iterable[tuple[str | None, str | None]]) -> SpanScores:
    """Scores (gold span, predicted span) pairs; empty or None means "no place named"."""
    tp = fp = fn = messages = 0
    overlap_total = 0.0
    overlap_count = 0
    for gold_raw, predicted_raw in pairs:
        messages += 1
        gold, predicted = clean_span(gold_raw), clean_span(predicted_raw)
        if gold and predicted and gold == predicted:
            tp += 1
        else:
            fp += bool(predicted)
            fn += bool(gold)
        if gold or predicted:
            overlap_count += 1
            overlap_total += _token_f1(gold, predicted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    token_f1 = overlap_total / overlap_count if overlap_count else 0.0
    return SpanScores(precision, recall, f1, token_f1, tp, fp, fn, messages)
