"""``open311-bot train | eval | classify``: the classifier's life cycle from the command line.

- ``train [--data DIR] [--corrections FILE ...] [--without-pool-labels] [--out DIR]`` trains a model (with a
  progress bar);
- ``eval FILE [--misses PATH] [--by FIELD ...]`` scores the configured model (and, in the same run, a TF-IDF
  + logistic regression baseline trained on the same training split) on a CSV or JSON-lines file of
  labelled messages; ``--misses`` writes each message it got wrong, ``--by`` scores each group of a field;
- ``classify`` reads JSON lines ``{"text": ...}`` on stdin and writes one JSON line per input with
  ``service_code``, ``confidence``, ``alternatives``, ``location`` and ``language``. A bad line gets an
  ``{"error": ...}`` line of its own; the stream goes on.

Heavy imports (spaCy, scikit-learn) happen inside the handlers so that ``open311-bot --help`` and the
other subcommands stay quick.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.config import load_settings
from bot.understanding import pipeline_from_settings

if TYPE_CHECKING:
    from intents.evaluation import Example
    from intents.pipeline import Pipeline
    from intents.types import Prediction, Understanding


# Where the data is looked for (intents.splits.default_data_dir): beside the project's folder, wherever the
# command is run from. A fresh clone elsewhere has none there.
_DEFAULT_DATA = "../shared/data beside the project's folder"


def register(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="train the service classifier")
    train.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"data directory with boston311/ (default: {_DEFAULT_DATA}, wherever you run it)",
    )
    train.add_argument(
        "--corrections",
        type=Path,
        action="append",
        default=[],
        help="CSV or JSON lines of labelled examples (text, service_code) to add; repeatable",
    )
    train.add_argument(
        "--without-pool-labels",
        action="store_true",
        help="train on DATA (and corrections) alone, without the annotated pool messages the repository ships"
        " (intents/data/pool_labels.csv)",
    )
    train.add_argument("--out", type=Path, default=None, help="model directory (default: DATA_DIR/model)")
    train.set_defaults(handler=run_train)

    evaluate = subparsers.add_parser(
        "eval", help="score the classifier (and a baseline) on labelled messages"
    )
    evaluate.add_argument(
        "file", type=Path, help="CSV or JSON lines with text, service_code[, location_text]"
    )
    evaluate.add_argument("--model", type=Path, default=None, help="model directory (default: configured)")
    evaluate.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"training data for the baseline (default: {_DEFAULT_DATA}, wherever you run it;"
        " if there is none, no baseline)",
    )
    evaluate.add_argument(
        "--misses",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a JSON line for each message with a wrong service code or place, its fields echoed",
    )
    evaluate.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="FIELD",
        help="also score each group of messages with the same FIELD (a column or key of FILE); repeatable",
    )
    evaluate.set_defaults(handler=run_eval)

    classify = subparsers.add_parser("classify", help="JSON lines {'text': ...} on stdin → understanding")
    classify.add_argument("--model", type=Path, default=None, help="model directory (default: configured)")
    classify.set_defaults(handler=run_classify)


def _data_dir(explicit: Path | None) -> Path | None:
    from intents.splits import default_data_dir

    return explicit if explicit is not None else default_data_dir()


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from intents.evaluation import ExampleFileError
    from intents.splits import labelled_file, unlabelled_file
    from intents.training import TRAINING_STEPS, TrainingConfig, TrainingDataError, train

    settings = load_settings(args.config)
    data_dir = _data_dir(args.data)
    if data_dir is None:
        print("open311-bot train: no data directory found; pass --data DIR", file=sys.stderr)
        return 2
    out = args.out or settings.data_dir / "model"
    pool = unlabelled_file(data_dir)
    if labelled_file(data_dir).is_file() and not pool.is_file():
        # Training goes on (a city may have no pool of its own), but the model is weaker without it: say so.
        print(
            f"open311-bot train: no unlabelled messages at {pool}: word vectors and TF-IDF learn from the"
            " labelled messages alone (a weaker model)",
            file=sys.stderr,
        )
    with tqdm(total=len(TRAINING_STEPS), unit="step", desc="training", file=sys.stderr) as bar:
        started: list[str] = []

        def progress(step: str) -> None:
            # Called as each step starts: the bar counts the steps finished before it.
            if started:
                bar.update(1)
            started.append(step)
            bar.set_description(step)

        try:
            config = TrainingConfig(pool_labels=None) if args.without_pool_labels else TrainingConfig()
            report = train(data_dir, out, corrections=args.corrections, config=config, progress=progress)
            bar.update(1)
        except (TrainingDataError, ExampleFileError) as exc:
            print(f"open311-bot train: {exc}", file=sys.stderr)
            return 2
    figures = report.meta["open311"]["cross_validation"]
    shortcut = report.meta["open311"].get("shortcut")
    print(
        f"model saved to {out}\n"
        f"cross-validated on {report.meta['open311']['training_examples']} labelled messages:"
        f" macro-F1 {figures['macro_f1']:.3f}, accuracy {figures['accuracy']:.3f}, ECE {figures['ece']:.3f},"
        f" auto-filed {figures['auto_file_share']:.1%} at threshold"
        f" {report.meta['open311']['auto_file_threshold']:.3f}"
        + (
            f"; {shortcut['cross_validated_share']:.1%} answered without the encoder"
            if shortcut is not None
            else ""
        )
        + f'\nuse it with [intents] model_path = "{out}" (or OPEN311_BOT_INTENTS__MODEL_PATH)'
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from intents.baseline import Baseline
    from intents.evaluation import (
        ExampleFileError,
        classification_metrics,
        field_names,
        format_classification,
        format_groups,
        read_examples,
        scores_by,
    )
    from intents.pipeline import ModelError
    from intents.span_metrics import span_scores
    from intents.splits import labelled_file
    from intents.training import read_labelled

    settings = load_settings(args.config)
    try:
        examples = read_examples(args.file)
    except ExampleFileError as exc:
        print(f"open311-bot eval: {exc}", file=sys.stderr)
        return 2
    # Mistakes in the arguments are said before the model loads, not after it has read every message.
    fields = field_names(examples)
    for name in args.by:
        if name not in fields:
            listed = ", ".join(fields)
            print(
                f"open311-bot eval: --by {name}: no such field in {args.file}; its fields: {listed}",
                file=sys.stderr,
            )
            return 2
    if args.data is not None and not labelled_file(args.data).is_file():
        # As train does: a --data that holds nothing is a mistake, not a reason to skip the baseline quietly.
        print(
            f"open311-bot eval: no labelled messages at {labelled_file(args.data)} (--data)", file=sys.stderr
        )
        return 2
    if args.misses is not None and not args.misses.parent.is_dir():
        print(f"open311-bot eval: --misses {args.misses}: no such directory", file=sys.stderr)
        return 2
    try:
        pipeline = pipeline_from_settings(settings.intents, args.model)
    except ModelError as exc:
        print(f"open311-bot eval: {exc}", file=sys.stderr)
        return 2
    gold = [e.service_code for e in examples]
    unknown = Counter(code for code in gold if code not in set(pipeline.service_codes))
    if unknown:
        # A typo in the file, or another taxonomy: scored as misses, but said, so a low figure is explained.
        listed = ", ".join(f"{code!r} ({count})" for code, count in unknown.most_common())
        count = sum(unknown.values())
        many = "messages are" if count > 1 else "message is"
        print(
            f"open311-bot eval: {count} {many} labelled with codes the model does not know, counted as"
            f" misses: {listed}",
            file=sys.stderr,
        )
    data_dir = _data_dir(args.data)
    trained_on = _trained_on(examples, data_dir)
    if trained_on:
        shown = ", ".join(str(line) for line in trained_on[:_LINES_SHOWN])
        more = f" and {len(trained_on) - _LINES_SHOWN} more" if len(trained_on) > _LINES_SHOWN else ""
        lines = "line" if len(trained_on) == 1 else "lines"
        print(
            f"open311-bot eval: {len(trained_on)} of {len(examples)} messages are ones the shipped model was"
            " trained on (labelled.csv outside its held-out split, or the pool labels;"
            f" {lines} {shown}{more}): figures on them are not held-out, and a close paraphrase of one"
            " flatters them too."
            " `python -m intents.splits OUT.csv` writes the held-out split.",
            file=sys.stderr,
        )
    predictions = [pipeline.classify(e.text) for e in examples]
    predicted = [p.service_code for p in predictions]
    confidences = [p.confidence for p in predictions]
    metrics = classification_metrics(gold, predicted, confidences, pipeline.auto_file_threshold)
    print(f"{len(examples)} messages from {args.file}")
    print(format_classification(metrics, "model"))
    # The file labels places in every row or in none (read_examples).
    found = (
        [_span_text(pipeline, e.text) for e in examples]
        if all(e.location_text is not None for e in examples)
        else None
    )
    if found is not None:
        spans = span_scores((e.location_text, span) for e, span in zip(examples, found, strict=True))
        print("== location spans")
        print(
            f"span F1 (exact) {spans.f1:.3f}  precision {spans.precision:.3f}  recall {spans.recall:.3f}"
            f"  token-overlap F1 {spans.token_f1:.3f}"
        )
    for name in args.by:
        print(format_groups(name, scores_by(name, examples, predicted, confidences, found)))
    if args.misses is not None:
        print(_write_misses(args.misses, examples, predictions, found))
    if data_dir is None or not labelled_file(data_dir).is_file():
        print(f"== baseline: skipped (no boston311/labelled.csv in {_DEFAULT_DATA}; pass --data DIR)")
        return 0
    print(_baseline_report(examples, read_labelled(labelled_file(data_dir)), Baseline()))
    return 0


# How many of the lines the model was trained on the warning names.
_LINES_SHOWN = 10


def _trained_on(examples: list[Example], data_dir: Path | None) -> list[int]:
    """The lines of ``examples`` the shipped model learnt from: an evaluation on them reads 0.94 where
    held-out messages read 0.83, and a data scientist with Boston's files at hand is likely to try one."""
    from intents.splits import is_heldout, labelled_file, normalised
    from intents.training import DEFAULT_POOL_LABELS, read_labelled

    texts = {normalised(e.text) for e in examples}
    seen: set[str] = set()
    if data_dir is not None and labelled_file(data_dir).is_file():
        labelled = read_labelled(labelled_file(data_dir))
        seen |= {normalised(e.text) for e in labelled if not is_heldout(e.text)} & texts
    if DEFAULT_POOL_LABELS.is_file():
        with DEFAULT_POOL_LABELS.open(encoding="utf-8", newline="") as handle:
            seen |= {normalised(row["text"]) for row in csv.DictReader(handle)} & texts
    return [e.line for e in examples if normalised(e.text) in seen]


def _write_misses(
    path: Path, examples: list[Example], predictions: list[Prediction], found: list[str | None] | None
) -> str:
    """Writes a JSON line for each message with a wrong code or place: the row's own fields as the file had
    them (where a field has one of the names below, ours is written), then the line, what was wrong and both
    answers. Returns the report's line saying how many and where."""
    from intents.evaluation import wrong_fields

    written = Counter[str]()
    misses = 0
    with path.open("w", encoding="utf-8") as sink:
        for index, (example, prediction) in enumerate(zip(examples, predictions, strict=True)):
            span = found[index] if found is not None else None
            wrong = wrong_fields(example, prediction.service_code, span)
            if not wrong:
                continue
            misses += 1
            written.update(wrong)
            record: dict[str, Any] = {
                **example.fields,
                "line": example.line,
                "wrong": wrong,
                "expected_service_code": example.service_code,
                "predicted_service_code": prediction.service_code,
                "confidence": prediction.confidence,
                "alternatives": _alternatives(prediction),
            }
            if found is not None:
                # No place is null on both sides, as `classify` writes it.
                record["expected_location_text"] = example.location_text or None
                record["predicted_location_text"] = span
            sink.write(_json_line(record))
    parts = [
        f"{written[key]} wrong {what}{'s' if written[key] != 1 else ''}"
        for key, what in (("service_code", "service code"), ("location_text", "place"))
        if written[key]
    ]
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"== misses: {misses} of {len(examples)} messages{detail} written to {path}"


def _span_text(pipeline: Pipeline, text: str) -> str | None:
    mention = pipeline.locate(text)
    return mention.text if mention else None


def _baseline_report(examples: list[Example], training: list[Example], baseline: Any) -> str:
    from intents.evaluation import classification_metrics, format_classification

    evaluated = {e.text for e in examples}
    # Never train the baseline on a message it is scored on, whatever file is evaluated.
    baseline.fit([e for e in training if e.text not in evaluated])
    predicted, confidences = baseline.predict([e.text for e in examples])
    metrics = classification_metrics([e.service_code for e in examples], predicted, confidences, None)
    return format_classification(metrics, "baseline: TF-IDF + logistic regression (same training split)")


def run_classify(args: argparse.Namespace) -> int:
    from intents.pipeline import ModelError

    settings = load_settings(args.config)
    try:
        pipeline = pipeline_from_settings(settings.intents, args.model)
    except ModelError as exc:
        print(f"open311-bot classify: {exc}", file=sys.stderr)
        return 2
    # Bytes that are not UTF-8 become U+FFFD in that line instead of ending the stream; a byte-order mark
    # that Windows tools put before the first line is dropped (as JSON it would make that line an error).
    source = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace")
    try:
        classify_stream(pipeline, source, sys.stdout)
    except BrokenPipeError:
        # The reader stopped (`| head -1`): stop quietly, as grep does, not with a traceback. Python would
        # fail again flushing stdout at exit, so it points at /dev/null from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        return 130  # Ctrl-C: the shell's status for SIGINT, without a traceback
    return 0


def classify_stream(pipeline: Pipeline, source: IO[str], sink: IO[str]) -> int:
    """Exactly one output line per input line (a blank or bad line gets an error object), so answers can be
    matched to questions by position; returns how many lines were errors."""
    errors = 0
    for line_number, line in enumerate(source, start=1):
        try:
            record = _classify_line(pipeline, line)
        except Exception as exc:  # one bad message must never end the stream
            record = {"error": f"line {line_number}: {type(exc).__name__}: {exc}"}
        if "error" in record:
            errors += 1
        sink.write(_json_line(record))
        sink.flush()
    return errors


def _json_line(record: dict[str, Any]) -> str:
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\\ud800") sent in and echoed: escape it
        line = json.dumps(record, ensure_ascii=True)
    return line + "\n"


def _classify_line(pipeline: Pipeline, line: str) -> dict[str, Any]:
    if not line.strip():
        return {"error": "empty line"}
    try:
        message = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"not JSON: {exc.msg}"}
    if not isinstance(message, dict):
        return {"error": 'expected a JSON object like {"text": "..."}'}
    text = message.get("text")
    if not isinstance(text, str):
        return _with_id(message, {"error": "'text' must be a string"})
    return _with_id(message, understanding_record(pipeline.understand(text)))


def _with_id(message: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    # Echo an id the caller sent, so answers can be matched to questions.
    return {"id": message["id"], **record} if "id" in message else record


def understanding_record(understanding: Understanding) -> dict[str, Any]:
    prediction = understanding.prediction
    location: dict[str, Any] | None = None
    if understanding.location is not None:
        place = understanding.place
        lat = place.lat if place is not None else understanding.location.lat
        long = place.long if place is not None else understanding.location.long
        location = {
            "text": understanding.location.text,
            "kind": understanding.location.kind,
            "lat": _finite(lat),
            "long": _finite(long),
        }
    return {
        "service_code": prediction.service_code,
        "confidence": prediction.confidence,
        "alternatives": _alternatives(prediction),
        "location": location,
        "language": understanding.language,
    }


def _alternatives(prediction: Prediction) -> list[dict[str, Any]]:
    return [{"service_code": code, "confidence": p} for code, p in prediction.alternatives]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
