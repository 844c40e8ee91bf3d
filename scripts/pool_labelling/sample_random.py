"""Round 1 of the pool labelling: draws messages at random from the unlabelled pool, in the mix of Boston's
coarse categories that labelled.csv has (95% "Other"), and mixes 40 unmarked rows of labelled.csv into each
batch so that the annotators' agreement with the project's own labels can be measured.

    python scripts/pool_labelling/sample_random.py WORKDIR

Writes WORKDIR/batch00..13.in.jsonl, gold_manifest.json (the hidden rows per batch) and examples.json (60
labelled rows shown to the annotators as worked examples, never hidden in a batch).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "boston311"
SEED = 20261126
BATCHES, NEW, GOLD = 14, 400, 40
# labelled.csv's share of each coarse category other than "Other" (Other takes the rest).
MIX = {"Illegal Parking": 0.02, "Abandoned Vehicle": 0.02, "Sidewalk Not Shoveled": 0.02}


def key(text: str) -> str:
    """Punctuation- and case-blind form, to keep duplicates of labelled or already drawn messages out."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def main(workdir: Path) -> None:
    random.seed(SEED)
    with (DATA / "labelled.csv").open(newline="", encoding="utf-8") as handle:
        gold = list(csv.DictReader(handle))
    seen = {key(row["text"]) for row in gold}
    by_category: dict[str, list[dict[str, str]]] = {}
    with gzip.open(DATA / "unlabelled.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            normal = key(row["text"])
            if not normal or normal in seen:
                continue
            seen.add(normal)
            by_category.setdefault(row["source_category"], []).append(row)
    total = BATCHES * NEW
    sample = []
    for category, share in MIX.items():
        sample += random.sample(by_category[category], int(total * share))
    sample += random.sample(by_category["Other"], total - len(sample))
    random.shuffle(sample)
    random.shuffle(gold)
    examples, hidden = gold[:60], gold[60:]
    workdir.mkdir(parents=True, exist_ok=True)
    shown = [{k: e[k] for k in ("text", "service_code", "sure", "location_text")} for e in examples]
    (workdir / "examples.json").write_text(json.dumps(shown, indent=0))
    manifest = {}
    for b in range(BATCHES):
        rows = [{"key": r["id"], "text": r["text"]} for r in sample[b * NEW : (b + 1) * NEW]]
        golds = hidden[b * GOLD : (b + 1) * GOLD]
        rows += [{"key": g["id"], "text": g["text"]} for g in golds]
        random.shuffle(rows)
        manifest[f"batch{b:02d}"] = [g["id"] for g in golds]
        with (workdir / f"batch{b:02d}.in.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (workdir / "gold_manifest.json").write_text(json.dumps(manifest))
    print(f"{len(sample)} messages in {BATCHES} batches -> {workdir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
