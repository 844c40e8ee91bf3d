"""Speed and memory of understanding messages: classify + locate + geocode, one at a time, on one core.

    .venv/bin/python bench/intents.py [--messages N] [--model DIR] [--pool N]
                                      [--texts FILE | --builtin | --unseen]

Reads the messages of ``../shared/data/boston311/labelled.csv`` (or ``--texts``: CSV or JSON lines with
``text`` and ``service_code``, as ``open311-bot eval`` reads). Without either it stops rather than measure
a few short built-in sentences: they run two to three times faster than real messages (the encoder's time
grows with the words read), so such a figure would not be comparable with any other. ``--builtin``
measures them anyway, and the output says so. ``--unseen`` measures distinct pool messages that no part of
training saw labelled instead: the classifier's shortcut (``intents.classifier.Shortcut``) is surer of the
labelled messages it was trained on, so there more of them skip the encoder than a bot's new messages would.
Prints model load time, messages per second, p50/p99 per message and the resident memory of the loaded
pipeline, each against its target, and, as a same-process baseline, the TF-IDF + logistic regression
baseline classifying the same messages one at a time. ``--pool N`` then reads N distinct messages of the
unlabelled pool, as a bot that runs for weeks meets ever new words, and prints resident memory after them.
Targets: ≥ 300 messages/s, p50 ≤ 5 ms, < 400 MB, load < 2 s.
"""

from __future__ import annotations

import os

# One core: pin BLAS and the process before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from _support import percentile, rss_mb  # noqa: E402

from intents.evaluation import read_examples  # noqa: E402
from intents.splits import default_data_dir, is_heldout, labelled_file  # noqa: E402

if TYPE_CHECKING:
    from intents.pipeline import Pipeline  # imported inside main: its import time is measured

FALLBACK = [
    "huge pothole at 5th and Market",
    "Car blocking my driveway at 452 Hanover St",
    "Streetlight out on the corner of 16th & Valencia",
    "Graffiti on the wall of the library",
    "Hay basura en la acera de Mission St",
    "路灯坏了",
    "Loud music every night from the bar on Valencia",
    "Rats in the alley behind 1355 market street",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped one)")
    parser.add_argument("--texts", type=Path, default=None, help="messages to run (default: labelled.csv)")
    parser.add_argument(
        "--builtin", action="store_true", help="with no data beside the repository, run 8 short sentences"
    )
    parser.add_argument(
        "--unseen",
        action="store_true",
        help="measure pool messages no part of training saw labelled (not labelled.csv, not the pool labels)",
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        metavar="N",
        help="then read N distinct messages of the unlabelled pool and print resident memory after them",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    data_dir = default_data_dir()
    source = args.texts or (labelled_file(data_dir) if data_dir else None)
    examples = read_examples(source) if source else []
    unseen: list[str] = []
    if args.unseen:
        unseen = _unseen_pool_texts(data_dir, args.messages, {e.text for e in examples})
    if not examples and not args.builtin:
        parser.error(
            "no messages to measure: ../shared/data is not beside this checkout"
            f" ({Path(__file__).resolve().parent.parent});"
            " pass --texts FILE, or --builtin for 8 short sentences"
        )
    texts = unseen or [e.text for e in examples] or FALLBACK
    described = (
        "distinct pool messages never labelled for training"
        if unseen
        else f"from {source}"
        if examples
        else "8 built-in sentences: NOT comparable with real messages"
    )
    texts = (texts * (1 + args.messages // len(texts)))[: args.messages]

    before = rss_mb()
    started = time.perf_counter()
    from intents.pipeline import load_model, load_pipeline

    import_seconds = time.perf_counter() - started
    # Loaded once (a second load only to time the model would leave its freed memory in the resident
    # figure): the model, then the word lists and the gazetteer at the first message.
    started = time.perf_counter()
    nlp = load_model(args.model)
    load_seconds = time.perf_counter() - started
    pipeline = load_pipeline(args.model, nlp=nlp)
    pipeline.understand("warm up: pothole at 5th and Market")
    ready_seconds = time.perf_counter() - started
    loaded = rss_mb()

    timings: list[float] = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    for text in texts:
        t0 = time.perf_counter()
        pipeline.understand(text)
        timings.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - started
    # On a machine shared with other jobs, wall time includes waiting for the core; CPU time does not.
    cpu_rate = len(texts) / (time.process_time() - cpu_started)
    rate = len(texts) / total
    p50, p99 = statistics.median(timings), percentile(timings, 0.99)
    after = rss_mb()

    classify_only: list[float] = []
    for text in texts[:500]:
        t0 = time.perf_counter()
        pipeline.classify(text)
        classify_only.append((time.perf_counter() - t0) * 1000)

    encoder_only = _encoder_timings(pipeline, texts[:500])
    shortcut_share = _shortcut_share(pipeline, texts)
    shortcut_speedup = _shortcut_speedup(pipeline, texts) if shortcut_share is not None else None
    # A bot that runs for weeks keeps meeting words it never saw: its memory must level off, not grow.
    soaked = _soak(pipeline, args.pool, data_dir) if args.pool else None

    from intents.baseline import Baseline

    train = [e for e in examples if not is_heldout(e.text)]
    baseline_ms = float("nan")
    if train:
        baseline = Baseline().fit(train)
        baseline_times = []
        for text in texts[:500]:
            t0 = time.perf_counter()
            baseline.predict([text])
            baseline_times.append((time.perf_counter() - t0) * 1000)
        baseline_ms = statistics.median(baseline_times)

    print(f"messages                 {len(texts)} (one at a time, one core), {described}")
    print(f"import spaCy and intents {import_seconds:.2f} s")
    print(f"model load               {load_seconds:.2f} s   (target < 2 s: {load_seconds / 2:.2f}× budget)")
    print(f"  ready for messages     {ready_seconds:.2f} s   (with the word lists and the gazetteer)")
    print(f"throughput               {rate:.0f} msg/s   (target ≥ 300: {rate / 300:.2f}×)")
    print(f"  by CPU time            {cpu_rate:.0f} msg/s   (what one uncontended core would do)")
    print(f"p50 per message          {p50:.2f} ms   (target ≤ 5 ms: {p50 / 5:.2f}× of budget)")
    print(f"p99 per message          {p99:.2f} ms")
    print(f"  of which classify p50  {statistics.median(classify_only):.2f} ms")
    if encoder_only:
        print(
            f"  of which the encoder {statistics.median(encoder_only):.2f} ms p50,"
            f" {statistics.mean(encoder_only):.2f} ms mean (MiniLM int8, one message per call)"
        )
    if shortcut_share is not None and shortcut_speedup is not None:
        print(
            f"  answered without the encoder {shortcut_share:.1%} of the messages (the shortcut was sure"
            " enough; more of them for messages the model was trained on, such as labelled.csv's)"
        )
        print(
            f"  the shortcut's speed-up  {shortcut_speedup:.2f}× the messages per second of the same model"
            " with it turned off (same process, interleaved)"
        )
    print(f"baseline classify p50    {baseline_ms:.2f} ms   (TF-IDF + LR, same messages, same process)")
    print(f"  ratio ours/baseline    {statistics.median(classify_only) / baseline_ms:.2f}×")
    print(f"resident memory          {after:.0f} MB   (pipeline: +{loaded - before:.0f} MB; target < 400 MB)")
    if soaked is not None:
        read, memory = soaked
        print(
            f"  after {read} pool messages {memory:.0f} MB"
            f"   (+{memory - after:.0f} MB: new words, bounded caches)"
        )
    return 0


def _soak(pipeline: Pipeline, count: int, data_dir: Path | None) -> tuple[int, float]:
    """Understands up to ``count`` distinct messages of the unlabelled pool; how many, and the resident memory
    after them."""
    import csv
    import gzip

    from intents.splits import unlabelled_file

    if data_dir is None:
        sys.exit("--pool needs ../shared/data beside the repository")
    seen: set[str] = set()
    with gzip.open(unlabelled_file(data_dir), "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if len(seen) >= count:
                break
            if row["text"] not in seen:
                seen.add(row["text"])
                pipeline.understand(row["text"])
    return len(seen), rss_mb()


def _unseen_pool_texts(data_dir: Path | None, count: int, labelled: set[str]) -> list[str]:
    """The first ``count`` distinct messages of the unlabelled pool that are neither labelled messages nor
    pool labels: what the classifier never learnt from (the shortcut is surer of what it was trained on)."""
    import csv
    import gzip

    from intents.splits import unlabelled_file

    if data_dir is None:
        sys.exit("--unseen needs ../shared/data beside the repository")
    # intents.training.DEFAULT_POOL_LABELS, without importing training (scikit-learn and scipy would add
    # 100 MB to the resident memory measured).
    pool_labels = Path(__file__).resolve().parent.parent / "intents" / "data" / "pool_labels.csv"
    # Hashes, not the 72,000 texts: what this reads must not stay in the resident memory measured after it.
    with open(pool_labels, encoding="utf-8", newline="") as handle:
        seen = {hash(text) for text in labelled} | {hash(row["text"]) for row in csv.DictReader(handle)}
    texts: list[str] = []
    with gzip.open(unlabelled_file(data_dir), "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if len(texts) >= count:
                break
            if row["text"] and hash(row["text"]) not in seen:
                seen.add(hash(row["text"]))
                texts.append(row["text"])
    return texts


def _shortcut_share(pipeline: Pipeline, texts: list[str]) -> float | None:
    """The share of ``texts`` the classifier's shortcut answers without the encoder (None: no shortcut)."""
    from intents.classifier import COMPONENT_NAME

    model = getattr(pipeline.nlp.get_pipe(COMPONENT_NAME), "model", None)
    if model is None or model.shortcut is None:
        return None
    return sum(model.takes_shortcut(text) for text in texts) / len(texts)


def _shortcut_speedup(pipeline: Pipeline, texts: list[str], chunk: int = 100) -> float:
    """How many times faster understanding ``texts`` is with the classifier's shortcut than with it turned
    off, timed in alternating chunks so that a machine slowing down or speeding up affects both alike."""
    from intents.classifier import COMPONENT_NAME

    model = pipeline.nlp.get_pipe(COMPONENT_NAME).model
    shortcut = model.shortcut
    with_it = without = 0.0
    try:
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            for enabled in (True, False):
                model.shortcut = shortcut if enabled else None
                t0 = time.perf_counter()
                for text in part:
                    pipeline.understand(text)
                elapsed = time.perf_counter() - t0
                if enabled:
                    with_it += elapsed
                else:
                    without += elapsed
    finally:
        model.shortcut = shortcut
    return without / with_it


def _encoder_timings(pipeline: Pipeline, texts: list[str]) -> list[float]:
    """Milliseconds the sentence encoder alone takes per message (empty for a model without one)."""
    from intents.classifier import COMPONENT_NAME
    from intents.features import read_message

    model = getattr(pipeline.nlp.get_pipe(COMPONENT_NAME), "model", None)
    encoder = getattr(model, "encoder", None)
    if encoder is None:
        return []
    timings = []
    for text in texts:
        english = read_message(text).english
        t0 = time.perf_counter()
        encoder.embed(english)
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


if __name__ == "__main__":
    sys.exit(main())
