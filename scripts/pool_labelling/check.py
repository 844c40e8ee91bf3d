"""Checks an annotator's batch: every message labelled once, with a known code, `sure`/`unsure` and a
location_text that is an exact substring of the message (or empty). Run from the batch's directory:

    python3 check.py batch03        # prints the problems, or OK with the codes' counts
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

CODES = {
    "street_cleaning", "illegal_dumping", "missed_collection", "graffiti", "pothole", "sidewalk",
    "streetlight", "traffic_signal_sign", "abandoned_vehicle", "illegal_parking", "tree",
    "encampment", "noise", "water_sewer", "snow_ice", "pests", "other",
}  # fmt: skip


def problems_in(label: dict[str, object], texts: dict[str, str]) -> list[str]:
    key = str(label.get("key"))
    if key not in texts:
        return [f"unknown key {key}"]
    found = []
    if label.get("service_code") not in CODES:
        found.append(f"bad service_code {label.get('service_code')!r}")
    if label.get("sure") not in ("sure", "unsure"):
        found.append("sure must be 'sure' or 'unsure'")
    location = label.get("location_text")
    if not isinstance(location, str):
        found.append("location_text must be a string ('' when none)")
    elif location and location not in texts[key]:
        found.append(f"location_text {location!r} is not an exact substring of the text")
    return found


def main(name: str) -> int:
    texts = {}
    for line in Path(f"{name}.in.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        texts[item["key"]] = item["text"]
    out = Path(f"{name}.out.jsonl")
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    seen: dict[str, dict[str, object]] = {}
    problems = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            label = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not JSON ({error})")
            continue
        found = problems_in(label, texts)
        if str(label.get("key")) in seen:
            found.append(f"key {label.get('key')} labelled twice")
        problems += [f"line {number}: {problem}" for problem in found]
        if str(label.get("key")) in texts:
            seen[str(label.get("key"))] = label
    missing = [key for key in texts if key not in seen]
    for problem in problems[:40]:
        print(problem)
    print(f"{len(seen)} of {len(texts)} labelled, {len(missing)} missing, {len(problems)} problems")
    if not problems and not missing:
        print("OK", collections.Counter(str(label["service_code"]) for label in seen.values()).most_common())
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
