"""A small logistic-regression ranker that picks, among the location finder's candidates, the one a
labeller would mark (or none).

The patterns in ``intents.locations`` propose candidates; their features (kind, rule, strength, context
words, case, length, position; never a particular city's words) go through a linear model learnt from
labelled messages (``location_text``). It ships as JSON weights (``intents/data/location_ranker.json``)
and scores in pure Python. Rebuild it with ``python -m intents.location_ranker LABELLED.csv``: it trains on
the rows outside the held-out split that ``open311-bot eval`` reads (``intents.splits``), chooses the
threshold by 5-fold cross-validation there, and prints span F1 on the held-out split for the patterns
alone and with the ranker.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from intents.span_metrics import SpanScores, clean_span, span_scores
from intents.splits import is_heldout, normalised

RANKER_FILE = Path(__file__).parent / "data" / "location_ranker.json"
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
# One message's candidates: the span each names, its features, whether it is the labelled span.
CandidateSet = list[tuple[str, dict[str, float], bool]]


@dataclass(frozen=True, slots=True)
class LocationRanker:
    """Two linear views of the candidates, averaged (``message_share`` of the second).

    The first scores each candidate alone (logistic regression: is this the labelled span?), so it judges
    a candidate without its rivals: one address in a long message scored below the threshold because
    long messages have many candidates ("14 Fowler Street" in a 370-character complaint, 0.31). The
    second scores the candidates of one message against each other and against "no place" (a softmax
    over them, trained on which one the labeller marked): a candidate competes only with what the message
    offers. Each view alone reads Boston's labels alike; their average beat both in cross-validation and
    on every blind set of other cities (``python -m intents.location_ranker`` prints the figures)."""

    weights: dict[str, float]
    bias: float
    # Below this probability the best candidate is not reported: the text names no place.
    threshold: float
    message_weights: dict[str, float] = field(default_factory=dict)
    message_bias: float = 0.0
    message_share: float = 0.0

    def probability(self, features: dict[str, float]) -> float:
        """The first view alone: this candidate is the place, judged without its rivals."""
        return _sigmoid(_score(self.weights, self.bias, features))

    def probabilities(self, candidates: list[dict[str, float]]) -> list[float]:
        """Each of one message's candidates (their features) is the place it names, both views averaged."""
        alone = [self.probability(features) for features in candidates]
        if not candidates or self.message_share == 0.0:
            return alone
        scores = [_score(self.message_weights, self.message_bias, features) for features in candidates]
        top = max(0.0, *scores)  # "no place" scores 0
        shares = [math.exp(score - top) for score in scores]
        total = math.exp(-top) + sum(shares)
        share = self.message_share
        return [(1.0 - share) * a + share * m / total for a, m in zip(alone, shares, strict=True)]

    def to_json(self) -> dict[str, object]:
        return {
            "bias": self.bias,
            "threshold": self.threshold,
            "weights": self.weights,
            "message_bias": self.message_bias,
            "message_share": self.message_share,
            "message_weights": self.message_weights,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LocationRanker:
        return cls(
            _weights(data, "weights"),
            float(data["bias"]),  # type: ignore[arg-type]
            float(data["threshold"]),  # type: ignore[arg-type]
            _weights(data, "message_weights") if "message_weights" in data else {},
            float(data.get("message_bias", 0.0)),  # type: ignore[arg-type]
            float(data.get("message_share", 0.0)),  # type: ignore[arg-type]
        )


def _score(weights: dict[str, float], bias: float, features: dict[str, float]) -> float:
    return bias + sum(weights.get(name, 0.0) * value for name, value in features.items())


def _sigmoid(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))


def _weights(data: dict[str, object], key: str) -> dict[str, float]:
    weights = data[key]
    if not isinstance(weights, dict):
        raise ValueError(f"location ranker: {key} must be an object")
    return {str(k): float(v) for k, v in weights.items()}


@cache
def default_ranker() -> LocationRanker | None:
    """The shipped ranker, or None when there is none (the finder then uses pattern strength alone)."""
    if not RANKER_FILE.exists():
        return None
    with open(RANKER_FILE, encoding="utf-8") as handle:
        return LocationRanker.from_json(json.load(handle))


def _examples(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [
            (row["text"], row.get("location_text") or "") for row in csv.DictReader(handle) if row.get("text")
        ]


def _candidate_sets(examples: list[tuple[str, str]]) -> list[CandidateSet]:
    from intents.locations import ranked_candidates  # the finder imports this module: import late

    sets = []
    for text, gold in examples:
        finder, scored = ranked_candidates(text)
        wanted = clean_span(gold)
        items = []
        for candidate, features in scored:
            span = finder.mention(candidate).text
            items.append((span, features, bool(wanted) and clean_span(span) == wanted))
        sets.append(items)
    return sets


# A street fixed by a landmark or a crossing near it, "near", "by", "across from", "off", "behind"...
# (``intents.locations._LINKS``): the project's labels keep the two as one span ("Morrissey blvd across
# from Garvey Park", "Dorchester Ave here by Shepton St": 9 of the 10 such messages outside the held-out
# split), as the guide's "shortest span that still identifies the place" asks of a long street; the pool
# annotators mostly kept the street alone, and being 70 times as many they taught the ranker their taste.
# Their spans are read in the project's: a part of such a candidate means the whole. (An address or a
# landmark is a place on its own: "Woodall Rodgers overpass by Klyde Warren Park" is not joined.)
# The feature naming a "near" link's parts when the first is a street (``_Finder.features``).
_STREET_FIRST = "link_near|parts=street:"


def keep_linked_whole(
    items: CandidateSet,
) -> CandidateSet:
    """A pool message's candidates relabelled to the project's taste: where the annotated span is a part of
    a street-near-place candidate, that candidate is the span (the first such: candidates come in order)."""
    gold = next((clean_span(span) for span, _f, label in items if label), "")
    if not gold:
        return items
    for k, (span, features, _label) in enumerate(items):
        whole = clean_span(span)
        if (
            any(name.startswith(_STREET_FIRST) for name in features)
            and whole != gold
            and f" {gold} " in f" {whole} "
        ):
            return [(s, f, i == k) for i, (s, f, _l) in enumerate(items)]
    return items


# The share of the message-wide view in the ranker's probabilities (``LocationRanker``): an even average
# (0.7 read the same in cross-validation and a little lower on the other cities' sets). Its inverse
# regularisation strength: at 1.0, as the first view's, it read 0.805 cross-validated against 0.809.
MESSAGE_SHARE = 0.5
MESSAGE_C = 0.3


def fit(sets: list[CandidateSet], c: float, threshold: float) -> LocationRanker:
    """Both views of the ranker (``LocationRanker``) over every candidate of every message (label: it is the
    labelled span); ``c`` is the first view's inverse regularisation strength."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    features = [f for items in sets for _span, f, _label in items]
    labels = [label for items in sets for _span, _f, label in items]
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(features)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(matrix, labels)
    names = vectorizer.get_feature_names_out()
    message_coef, message_bias = _fit_message_softmax(
        matrix, labels, [len(items) for items in sets], MESSAGE_C
    )
    return LocationRanker(
        _nonzero(names, model.coef_[0]),
        round(float(model.intercept_[0]), 6),
        threshold,
        _nonzero(names, message_coef),
        round(message_bias, 6),
        MESSAGE_SHARE,
    )


def _nonzero(names: object, coefficients: object) -> dict[str, float]:
    return {
        str(name): round(float(weight), 6)
        for name, weight in zip(names, coefficients, strict=True)  # type: ignore[call-overload]
        if abs(weight) > 1e-9
    }


def _fit_message_softmax(
    matrix: object, labels: list[bool], sizes: list[int], c: float
) -> tuple[object, float]:
    """The message-wide view: a softmax over each message's candidates and "no place" (score 0), trained
    to give the labelled candidate (or "no place", where none is labelled) the highest probability; L2
    penalty ``1 / c`` as scikit-learn's logistic regression has it. Returns the weights and the bias."""
    import numpy as np
    from scipy.optimize import minimize

    rows = matrix.tocsr()  # type: ignore[attr-defined]
    gold = np.array(labels, dtype=float)
    kept = np.array([size for size in sizes if size > 0])
    starts = np.concatenate([[0], np.cumsum(kept)[:-1]])
    message = np.repeat(np.arange(len(kept)), kept)
    has_gold = np.add.reduceat(gold, starts) > 0
    width = rows.shape[1]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[:width], theta[width]
        scores = rows @ weights + bias
        top = np.maximum(0.0, np.maximum.reduceat(scores, starts))
        shares = np.exp(scores - top[message])
        totals = np.exp(-top) + np.add.reduceat(shares, starts)
        chosen = np.where(has_gold, np.add.reduceat(scores * gold, starts), 0.0)
        loss = float(np.sum(np.log(totals) + top - chosen) + 0.5 * weights @ weights / c)
        residual = shares / totals[message] - gold
        return loss, np.concatenate([rows.T @ residual + weights / c, [residual.sum()]])

    if len(kept) == 0:
        return np.zeros(width), 0.0
    result = minimize(
        loss_and_gradient, np.zeros(width + 1), jac=True, method="L-BFGS-B", options={"maxiter": 3000}
    )
    return result.x[:width], float(result.x[width])


def _choose(ranker: LocationRanker, items: CandidateSet) -> str | None:
    if not items:
        return None
    probabilities = ranker.probabilities([features for _span, features, _label in items])
    best = max(range(len(items)), key=lambda k: probabilities[k])  # the first of equals, as find_location
    return items[best][0] if probabilities[best] >= ranker.threshold else None


def cross_validate(
    examples: list[tuple[str, str]],
    sets: list[CandidateSet],
    c: float,
    folds: int = 5,
    extra_sets: list[CandidateSet] | None = None,
) -> dict[float, SpanScores]:
    """Span scores of rankers trained on the other folds (and on every one of ``extra_sets``), for a range
    of thresholds (fixed seed)."""
    order = list(range(len(examples)))
    random.Random(311).shuffle(order)
    chosen: dict[float, list[tuple[str, str | None]]] = {t: [] for t in THRESHOLDS}
    for fold in range(folds):
        held_out = set(order[fold::folds])
        training = [items for i, items in enumerate(sets) if i not in held_out]
        ranker = fit(training + (extra_sets or []), c, 0.0)
        for i in sorted(held_out):
            for threshold in THRESHOLDS:
                picked = _choose(replace(ranker, threshold=threshold), sets[i])
                chosen[threshold].append((examples[i][1], picked))
    return {threshold: span_scores(pairs) for threshold, pairs in chosen.items()}


def _steady_best(results: dict[float, SpanScores], tolerance: float = 0.005) -> float:
    """The highest threshold whose F1 is within ``tolerance`` of the best. The F1 curve is flat over a
    wide range; along it, the higher threshold trades recall for precision, and a wrong place costs
    more than none (with none, the bot asks the resident where the problem is)."""
    best = max(scores.f1 for scores in results.values())
    return max(threshold for threshold, scores in results.items() if scores.f1 >= best - tolerance)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the location ranker on labelled messages.")
    parser.add_argument("labelled", type=Path, help="CSV with text and location_text columns")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--output", type=Path, default=RANKER_FILE)
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="more labelled messages (CSV with text, location_text) to train on in every fold, never scored;"
        " e.g. intents/data/pool_labels.csv",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="train on every row (default: skip the held-out split `eval` reads)",
    )
    args = parser.parse_args(argv)
    rows = _examples(args.labelled)
    examples = rows if args.all else [(text, gold) for text, gold in rows if not is_heldout(text)]
    heldout = [] if args.all else [(text, gold) for text, gold in rows if is_heldout(text)]
    sets = _candidate_sets(examples)
    labelled_texts = {normalised(text) for text, _gold in rows}
    extra = [
        (text, gold)
        for path in args.extra
        for text, gold in _examples(path)
        if normalised(text) not in labelled_texts
    ]
    extra_sets = [keep_linked_whole(items) for items in _candidate_sets(extra)]
    if extra:
        print(f"{len(extra)} more messages to train on from {', '.join(str(p) for p in args.extra)}")
    reachable = sum(
        1 for (_text, gold), items in zip(examples, sets, strict=True) if gold and any(i[2] for i in items)
    )
    print(
        f"{len(examples)} messages, {sum(1 for _t, g in examples if g)} with a place, "
        f"{reachable} of them among the candidates"
    )
    from intents.locations import pattern_location

    patterns = span_scores((gold, _span_or_none(pattern_location(text))) for text, gold in examples)
    print(
        f"patterns alone:        span F1 {patterns.f1:.3f} "
        f"(P {patterns.precision:.3f}, R {patterns.recall:.3f})"
    )
    results = cross_validate(examples, sets, args.c, extra_sets=extra_sets)
    best_threshold = _steady_best(results)
    for threshold, scores in results.items():
        mark = "  <- chosen" if threshold == best_threshold else ""
        print(
            f"ranker, 5-fold CV, threshold {threshold:.2f}: span F1 {scores.f1:.3f} "
            f"(P {scores.precision:.3f}, R {scores.recall:.3f}){mark}"
        )
    ranker = fit(sets + extra_sets, args.c, best_threshold)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(ranker.to_json(), handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"{len(ranker.weights)} weights, threshold {best_threshold:.2f} -> {args.output}")
    if heldout:
        held_sets = _candidate_sets(heldout)
        held_patterns = span_scores((gold, _span_or_none(pattern_location(text))) for text, gold in heldout)
        held_ranker = span_scores(
            (gold, _choose(ranker, items)) for (_text, gold), items in zip(heldout, held_sets, strict=True)
        )
        print(
            f"held-out split ({len(heldout)} messages): patterns span F1 {held_patterns.f1:.3f}, "
            f"ranker span F1 {held_ranker.f1:.3f} (P {held_ranker.precision:.3f}, "
            f"R {held_ranker.recall:.3f}, token-overlap F1 {held_ranker.token_f1:.3f})"
        )


def _span_or_none(mention: object) -> str | None:
    return getattr(mention, "text", None)


if __name__ == "__main__":
    main()
