"""Merges the annotators' batches into ``intents/data/pool_labels.csv`` and reports their agreement with the
project's own labels on the gold rows hidden in each batch (which are left out of the file).

    python scripts/pool_labelling/merge.py WORKDIR [--out intents/data/pool_labels.csv]

WORKDIR holds ``batchNN.in.jsonl`` (what the annotator saw), ``batchNN.out.jsonl`` (their labels, checked by
``check.py``) and ``gold_manifest.json`` (the ids of the labelled.csv rows mixed into each batch; optional).
Rows already in the output file from batches WORKDIR does not hold are kept, so a later round merges from a
directory of its own batches only.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from intents.splits import normalised  # noqa: E402  (the same text key training drops duplicates by)

LABELLED = REPO.parent / "shared" / "data" / "boston311" / "labelled.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "intents" / "data" / "pool_labels.csv")
    args = parser.parse_args(argv)
    with LABELLED.open(newline="", encoding="utf-8") as handle:
        gold = {row["id"]: row for row in csv.DictReader(handle)}
    gold_texts = {normalised(row["text"]) for row in gold.values()}
    manifest_file = args.workdir / "gold_manifest.json"
    manifest: dict[str, list[str]] = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    here = {path.name.removesuffix(".in.jsonl") for path in args.workdir.glob("batch*.in.jsonl")}
    rows: list[dict[str, str]] = []
    if args.out.exists():
        with args.out.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if row["batch"] not in here]
    kept = len(rows)
    agree = total = sure_agree = sure_total = span_agree = 0
    confusions: Counter[tuple[str, str]] = Counter()
    for out_path in sorted(args.workdir.glob("batch*.out.jsonl")):
        batch = out_path.name.removesuffix(".out.jsonl")
        texts = {}
        for line in (args.workdir / f"{batch}.in.jsonl").read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            texts[item["key"]] = item["text"]
        labels = [
            json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if len(labels) != len(texts):
            print(f"{batch}: {len(labels)} labels for {len(texts)} messages: skipped", file=sys.stderr)
            continue
        hidden = set(manifest.get(batch, []))
        for label in labels:
            key = str(label["key"])
            if key in hidden:
                expected = gold[key]
                total += 1
                agree += expected["service_code"] == label["service_code"]
                if expected["service_code"] != label["service_code"]:
                    confusions[(expected["service_code"], label["service_code"])] += 1
                if expected["sure"] == "sure":
                    sure_total += 1
                    sure_agree += expected["service_code"] == label["service_code"]
                span_agree += normalised(expected["location_text"]) == normalised(label["location_text"])
                continue
            if normalised(texts[key]) in gold_texts:
                continue
            rows.append(
                {
                    "id": key,
                    "text": texts[key],
                    "service_code": label["service_code"],
                    "sure": label["sure"],
                    "location_text": label["location_text"],
                    "batch": batch,
                }
            )
    rows.sort(key=lambda row: (int(row["batch"].removeprefix("batch")), row["id"]))
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["id", "text", "service_code", "sure", "location_text", "batch"]
        )
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} pool labels ({kept} kept from earlier rounds) -> {args.out}")
    print(Counter(row["service_code"] for row in rows).most_common())
    print(f"unsure: {sum(row['sure'] == 'unsure' for row in rows) / len(rows):.1%}")
    if total:
        print(
            f"agreement on {total} hidden gold rows: service code {agree / total:.1%}"
            f" ({sure_agree / sure_total:.1%} of the {sure_total} the project marked sure),"
            f" location span {span_agree / total:.1%}"
        )
        print("most frequent disagreements (project, annotator):", confusions.most_common(8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
