"""Metrics for the classifier and the location finder, and the reader of evaluation files.

Everything here is plain arithmetic over gold and predicted labels, so ``open311-bot eval``, training
(cross-validated figures recorded in the model's metadata) and the tests all measure the same way.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path

import numpy as np

from intents.span_metrics import SpanScores, clean_span, span_scores

OTHER = "other"
TARGET_PRECISION = 0.95


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message. ``location_text`` is None when the file has no such column."""

    text: str
    service_code: str
    location_text: str | None = None
    # The row as the file gave it (``id``, ``city``, any other column or key) and the line it starts on:
    # what eval echoes for a miss and groups by. Not compared: the same message on two lines is one example.
    fields: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
    line: int = field(default=0, compare=False)


class ExampleFileError(ValueError):
    """An evaluation or training file that cannot be read; the message names the file and the line."""


def read_examples(path: Path) -> list[Example]:
    """Reads a CSV (with a header) or JSON-lines file with ``text`` and ``service_code`` (and optionally
    ``location_text``). A row without text or code is an error naming its line, never silently dropped."""
    if not path.is_file():
        raise ExampleFileError(f"{path}: no such file")
    opener = _read_jsonl if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} else _read_csv
    rows = opener(path)
    examples: list[Example] = []
    has_location = False
    for line, row in rows:
        text = row.get("text")
        code = row.get("service_code")
        if not isinstance(text, str) or not text.strip():
            raise ExampleFileError(f"{path}:{line}: missing or empty 'text'")
        if not isinstance(code, str) or not code.strip():
            raise ExampleFileError(f"{path}:{line}: missing or empty 'service_code'")
        location = row.get("location_text")
        if location is not None and not isinstance(location, str):
            raise ExampleFileError(f"{path}:{line}: 'location_text' must be a string")
        has_location = has_location or "location_text" in row
        # A CSV row with more cells than the header has them under the key None: not a field.
        fields = {key: value for key, value in row.items() if isinstance(key, str)}
        examples.append(
            Example(text=text, service_code=code.strip(), location_text=location, fields=fields, line=line)
        )
    if not examples:
        raise ExampleFileError(f"{path}: no examples")
    if has_location:
        examples = [replace(e, location_text=e.location_text or "") for e in examples]
    return examples


def field_names(examples: Sequence[Example]) -> list[str]:
    """Every field of the file, in the order first seen (a CSV's header order)."""
    names: dict[str, None] = {}
    for example in examples:
        names.update(dict.fromkeys(example.fields))
    return list(names)


def _read_csv(path: Path) -> list[tuple[int, dict[str, object]]]:
    # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, which would otherwise be part of the
    # first column's name ("\ufefftext") and hide the header.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "service_code"} <= set(reader.fieldnames):
            raise ExampleFileError(f"{path}: a CSV header with 'text' and 'service_code' columns is required")
        # Line numbers count the header as line 1.
        return [(reader.line_num, _unquoted(row)) for row in reader]


# The operator console writes a cell that a spreadsheet would run as a formula ("=HYPERLINK(...)") with a
# leading single quote; read back for training, the quote is not the resident's.
_FORMULA_STARTS = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _unquoted(row: dict[str, str | None]) -> dict[str, object]:
    return {
        key: value[1:] if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value
        for key, value in row.items()
    }


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, object]]]:
    rows: list[tuple[int, dict[str, object]]] = []
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ExampleFileError(f"{path}:{line_number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ExampleFileError(f"{path}:{line_number}: expected a JSON object")
            rows.append((line_number, row))
    return rows


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class ClassificationMetrics:
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    confused_pairs: list[tuple[str, str, int]]  # (gold, predicted, count), most frequent first
    ece: float
    # The share of all messages filed without a person when confident at or above the threshold.
    auto_file_share: float
    auto_file_precision: float
    threshold: float | None
    # The threshold this set itself would need for TARGET_PRECISION, and the share it would file.
    best_threshold: float | None = None
    best_share: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def classification_metrics(
    gold: Sequence[str], predicted: Sequence[str], confidences: Sequence[float], threshold: float | None
) -> ClassificationMetrics:
    """Every figure ``open311-bot eval`` prints; ``threshold`` is the model's auto-file threshold (None for
    a model that has none, such as the baseline: only the threshold this set would need is reported)."""
    if not (len(gold) == len(predicted) == len(confidences)) or not gold:
        raise ValueError("gold, predicted and confidences must be non-empty and of equal length")
    labels = sorted(set(gold) | set(predicted))
    per_class: dict[str, ClassScores] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        predicted_count = sum(p == label for p in predicted)
        support = sum(g == label for g in gold)
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassScores(precision, recall, f1, support)
    # Macro-F1 over the classes present in the gold labels (as sklearn does with labels=gold classes).
    gold_labels = sorted(set(gold))
    macro_f1 = float(np.mean([per_class[label].f1 for label in gold_labels]))
    correct = [g == p for g, p in zip(gold, predicted, strict=True)]
    confused = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    share, precision_at = (
        auto_file_share(gold, predicted, confidences, threshold)
        if threshold is not None
        else (math.nan, math.nan)
    )
    best = auto_file_threshold(gold, predicted, confidences)
    best_share = auto_file_share(gold, predicted, confidences, best)[0] if best is not None else 0.0
    return ClassificationMetrics(
        accuracy=sum(correct) / len(gold),
        macro_f1=macro_f1,
        per_class=per_class,
        confused_pairs=[(g, p, n) for (g, p), n in confused.most_common()],
        ece=expected_calibration_error(confidences, correct),
        auto_file_share=share,
        auto_file_precision=precision_at,
        threshold=threshold,
        best_threshold=best,
        best_share=best_share,
    )


def auto_file_share(
    gold: Sequence[str], predicted: Sequence[str], confidences: Sequence[float], threshold: float
) -> tuple[float, float]:
    """(share of all messages filed without a person, precision of those) at ``threshold``.
    A message predicted ``other`` always goes to a person; a gold ``other`` filed is an error."""
    filed = [
        g == p for g, p, c in zip(gold, predicted, confidences, strict=True) if p != OTHER and c >= threshold
    ]
    if not filed:
        return 0.0, math.nan
    return len(filed) / len(gold), sum(filed) / len(filed)


def auto_file_threshold(
    gold: Sequence[str],
    predicted: Sequence[str],
    confidences: Sequence[float],
    target_precision: float = TARGET_PRECISION,
    z: float = 0.0,
) -> float | None:
    """The lowest confidence threshold at which what would be filed is still ``target_precision`` correct,
    i.e. the one that files the most messages at that precision (None when no threshold reaches it).

    With ``z`` > 0 the precision must hold with that margin: the Wilson lower bound of the filed messages'
    precision at ``z`` standard errors, not the share correct itself, must reach the target. Measured on
    one set, the lowest threshold that reaches 95% sits where that set's precision just touches 95%, and
    new messages at the same threshold fall short of it (92.8% on the held-out split): a threshold for
    filing unseen messages is chosen with a margin, one that only measures a set is not."""
    candidates = sorted(
        ((c, g == p) for g, p, c in zip(gold, predicted, confidences, strict=True) if p != OTHER),
        key=lambda item: -item[0],
    )
    hits = list(accumulate(correct for _confidence, correct in candidates))
    return lowest_threshold(
        [confidence for confidence, _correct in candidates],
        lambda count: wilson_lower_bound(hits[count - 1], count, z) >= target_precision,
    )


def lowest_threshold(descending: Sequence[float], holds: Callable[[int], bool]) -> float | None:
    """The lowest of ``descending`` (confidences, most confident first) at which ``holds(count)`` is true of
    the ``count`` messages at or above it; None when it holds nowhere. Only a boundary between distinct
    confidences is a threshold one can actually set."""
    best: float | None = None
    for count, confidence in enumerate(descending, start=1):
        is_boundary = count == len(descending) or descending[count] < confidence
        if is_boundary and holds(count):
            best = confidence
    return best


def wilson_lower_bound(successes: int, trials: int, z: float) -> float:
    """The lower end of the Wilson score interval for a proportion (``successes / trials`` when z is 0)."""
    if trials == 0:
        return 0.0
    share = successes / trials
    if z == 0:
        return share
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return (share + z * z / (2 * trials) - spread) / (1 + z * z / trials)


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """The share-weighted gap between confidence and accuracy over equal-width confidence bins."""
    if not confidences:
        return math.nan
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(conf[mask].mean() - hits[mask].mean())
    return float(error)


def format_classification(metrics: ClassificationMetrics, title: str, top_confusions: int = 10) -> str:
    lines = [
        f"== {title}",
        f"accuracy            {metrics.accuracy:.3f}",
        f"macro-F1            {metrics.macro_f1:.3f}",
        f"ECE (10 bins)       {metrics.ece:.3f}",
    ]
    if metrics.threshold is not None:
        # Nothing filed has no precision: say so rather than "precision nan".
        precision = (
            "nothing filed"
            if math.isnan(metrics.auto_file_precision)
            else f"precision {metrics.auto_file_precision:.3f}"
        )
        lines.append(
            f"auto-filed share    {metrics.auto_file_share:.3f}"
            f" at the model's threshold {metrics.threshold:.3f} ({precision});"
            f" an answer '{OTHER}' always goes to a person, however sure"
        )
    if metrics.best_threshold is not None:
        lines.append(
            f"on this set, {TARGET_PRECISION:.0%} precision needs threshold {metrics.best_threshold:.3f}:"
            f" auto-filed share {metrics.best_share:.3f}"
        )
    else:
        lines.append(f"on this set, no threshold reaches {TARGET_PRECISION:.0%} precision")
    lines.append(f"{'class':<22}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}")
    for label, scores in sorted(metrics.per_class.items()):
        lines.append(
            f"{label:<22}{scores.precision:>10.3f}{scores.recall:>10.3f}{scores.f1:>10.3f}{scores.support:>10d}"
        )
    lines.append("most confused (gold → predicted: count)")
    for gold, predicted, count in metrics.confused_pairs[:top_confusions]:
        lines.append(f"  {gold} → {predicted}: {count}")
    return "\n".join(lines)


def wrong_fields(example: Example, predicted_code: str, predicted_span: str | None) -> list[str]:
    """What the model got wrong in ``example``: ``service_code`` and, when the file labels places,
    ``location_text`` (compared as span F1 compares spans: no place on both sides is right)."""
    wrong = [] if predicted_code == example.service_code else ["service_code"]
    if example.location_text is not None and clean_span(example.location_text) != clean_span(predicted_span):
        wrong.append("location_text")
    return wrong


@dataclass(frozen=True, slots=True)
class GroupScores:
    group: str
    messages: int
    accuracy: float
    macro_f1: float
    spans: SpanScores | None


def group_name(example: Example, name: str) -> str:
    value = example.fields.get(name)
    if value is None or value == "":
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def scores_by(
    name: str,
    examples: Sequence[Example],
    predicted: Sequence[str],
    confidences: Sequence[float],
    predicted_spans: Sequence[str | None] | None,
) -> list[GroupScores]:
    """Accuracy, macro-F1 and (with ``predicted_spans``) span scores for each value of the field ``name``,
    largest group first (equal ones in the order the file first has them)."""
    members: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        members.setdefault(group_name(example, name), []).append(index)
    groups = []
    for group, indices in sorted(members.items(), key=lambda item: -len(item[1])):
        metrics = classification_metrics(
            [examples[i].service_code for i in indices],
            [predicted[i] for i in indices],
            [confidences[i] for i in indices],
            None,
        )
        spans = (
            span_scores((examples[i].location_text, predicted_spans[i]) for i in indices)
            if predicted_spans is not None
            else None
        )
        groups.append(GroupScores(group, len(indices), metrics.accuracy, metrics.macro_f1, spans))
    return groups


def format_groups(name: str, groups: Sequence[GroupScores]) -> str:
    width = max(len(name), *(len(g.group) for g in groups)) + 2
    spans = groups[0].spans is not None
    heading = f"{name:<{width}}{'messages':>10}{'accuracy':>10}{'macro-F1':>10}"
    lines = [f"== by {name} ({len(groups)} group{'s' if len(groups) != 1 else ''})"]
    lines.append(heading + (f"{'span-P':>10}{'span-R':>10}{'span-F1':>10}" if spans else ""))
    for g in groups:
        line = f"{g.group:<{width}}{g.messages:>10d}{g.accuracy:>10.3f}{g.macro_f1:>10.3f}"
        if g.spans is not None:
            s = g.spans
            # A group with no place labelled or found has no span precision or recall: "-", not 0.000.
            line += _figure(s.precision, s.true_positives + s.false_positives)
            line += _figure(s.recall, s.true_positives + s.false_negatives)
            line += _figure(s.f1, s.true_positives + s.false_positives + s.false_negatives)
        lines.append(line)
    return "\n".join(lines)


def _figure(value: float, count: int) -> str:
    return f"{value:>10.3f}" if count else f"{'-':>10}"
