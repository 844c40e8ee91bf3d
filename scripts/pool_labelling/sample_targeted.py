"""Rounds 2–8 of the pool labelling: half of each batch drawn at random from the pool, half chosen where the
shipped classifier predicts a specific code, or `other` without confidence, in equal numbers per predicted
code (so rare codes such as pests or graffiti get more examples). The choice is only of WHICH messages are
labelled: every label is still the annotator's own reading. Unmarked labelled.csv rows are mixed in while any
are left. Messages already in an earlier batch or in labelled.csv are never drawn again.

    python scripts/pool_labelling/sample_targeted.py WORKDIR --seed 20261127 --first 14 --batches 14 \\
        --random 200 --targeted 200 --gold 40 --candidates 30000      # round 2
    ... --seed 20261128 --first 28 --batches 14 --random 200 --targeted 200 --gold 28 --candidates 30000
    ... --seed 20261129 --first 42 --batches 28 --random 214 --targeted 214 --gold 0 --candidates 60000
    ... --seed 20261130 --first 70 --batches 28 --random 214 --targeted 214 --gold 0 --candidates 60000
    ... --seed 20261201 --first 98 --batches 24 --random 215 --targeted 215 --gold 0 --candidates 60000
    ... --seed 20261202 --first 122 --batches 24 --random 215 --targeted 215 --gold 25 --candidates 60000
    ... --seed 20261203 --first 146 --batches 24 --random 215 --targeted 215 --gold 20 --candidates 60000

(Round 6 was drawn without labelled rows; 25 were then mixed into each of batch106–121, drawn with
random.seed(20261202) from labelled.csv's rows not among the worked examples, to measure that round too.)

Messages already in pool_labels.csv are never drawn either, so a round can start in a new WORKDIR holding only
examples.json (made by sample_random.py): batches before --first that are not there are skipped.

Rounds 2–4 chose with the model shipped before any pool label (commit 3e1cfac), round 5 with the one trained
with the first 16,800 (commit ac5baec), rounds 6–8 with the one trained with all 40,768 of rounds 1–5 (commit
0662ae9): rerun against those models to draw the same messages.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from intents.classifier import LinearTextModel
from scripts.pool_labelling.sample_random import DATA, key

MODEL = Path(__file__).resolve().parents[2] / "intents" / "model" / "service_classifier"
POOL_LABELS = Path(__file__).resolve().parents[2] / "intents" / "data" / "pool_labels.csv"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    for name in ("seed", "first", "batches", "random", "targeted", "gold", "candidates"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    with (DATA / "labelled.csv").open(newline="", encoding="utf-8") as handle:
        gold = list(csv.DictReader(handle))
    seen = {key(g["text"]) for g in gold}
    with POOL_LABELS.open(newline="", encoding="utf-8") as handle:
        used = {key(row["text"]) for row in csv.DictReader(handle)}
    for b in range(args.first):
        earlier = args.workdir / f"batch{b:02d}.in.jsonl"
        if earlier.exists():
            for line in earlier.read_text(encoding="utf-8").splitlines():
                used.add(key(json.loads(line)["text"]))
    manifest_file = args.workdir / "gold_manifest.json"
    manifest: dict[str, list[str]] = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    hidden_before = {i for ids in manifest.values() for i in ids}
    shown = {key(e["text"]) for e in json.loads((args.workdir / "examples.json").read_text())}
    pool = []
    with gzip.open(DATA / "unlabelled.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            normal = key(row["text"])
            if not normal or normal in seen or normal in used:
                continue
            seen.add(normal)
            # Mostly "Other", as in labelled.csv: the other coarse categories kept at 5%.
            if row["source_category"] == "Other" or random.random() < 0.05:
                pool.append(row)
    random.shuffle(pool)
    n_random = args.batches * args.random
    drawn = pool[:n_random]
    candidates = pool[n_random : n_random + args.candidates]
    model = LinearTextModel.load(MODEL)
    by_code: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for row in candidates:
        probabilities = model.probabilities(row["text"])
        top = int(probabilities.argmax())
        code = model.classes[top]
        if code == "other" and probabilities[top] > 0.5:
            continue
        by_code[code].append(row)
    wanted = args.batches * args.targeted
    chosen: list[dict[str, str]] = []
    codes = sorted(by_code, key=lambda c: len(by_code[c]))
    for j, code in enumerate(codes):
        take = min(len(by_code[code]), wanted // (len(codes) - j))
        chosen += random.sample(by_code[code], take)
        wanted -= take
    random.shuffle(chosen)
    left = [g for g in gold if g["id"] not in hidden_before and key(g["text"]) not in shown]
    random.shuffle(left)
    sample = drawn + chosen
    random.shuffle(sample)
    per = len(sample) // args.batches
    for b in range(args.batches):
        name = f"batch{args.first + b:02d}"
        rows = [{"key": r["id"], "text": r["text"]} for r in sample[b * per : (b + 1) * per]]
        golds = left[b * args.gold : (b + 1) * args.gold]
        rows += [{"key": g["id"], "text": g["text"]} for g in golds]
        random.shuffle(rows)
        manifest[name] = [g["id"] for g in golds]
        with (args.workdir / f"{name}.in.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (args.workdir / "gold_manifest.json").write_text(json.dumps(manifest))
    print(f"{len(sample)} messages in {args.batches} batches from batch{args.first:02d}")


if __name__ == "__main__":
    main()
