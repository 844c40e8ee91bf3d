"""Locate + geocode throughput on one core: messages per second, p50/p99 per message, resident memory.

    .venv/bin/python bench/geocoding.py [MESSAGES.csv]   (default: ../shared/data/boston311/labelled.csv)

Prints figures for find_location alone, geocoding alone (the offline SF gazetteer, cache off), and both
per message, each with its ratio to a baseline measured in the same process (one regular-expression scan
for a house number over the same messages), and to the issue's target of 300 messages per second for
the whole understanding pipeline (which also classifies; see the combined bench).
"""

from __future__ import annotations

import csv
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _support import REPO as ROOT
from _support import rss_mb

from intents.gazetteer import default_gazetteer
from intents.geocoding import build_geocoder
from intents.location_ranker import default_ranker
from intents.locations import find_location
from intents.street_names import common_words, street_names

DEFAULT_MESSAGES = ROOT.parent / "shared" / "data" / "boston311" / "labelled.csv"
TARGET_PER_SECOND = 300.0
_BASELINE = re.compile(r"\b\d{1,5}\s+[A-Z][a-z]+\s+(?:St|Ave|Rd)\b")


def timed(label: str, items: list[str], work: Callable[[str], object], baseline_rate: float | None) -> float:
    durations = []
    started = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        work(item)
        durations.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    rate = len(items) / total
    cuts = statistics.quantiles(durations, n=100)
    line = f"{label:<28} {rate:>9,.0f} msg/s   p50 {cuts[49] * 1000:6.3f} ms   p99 {cuts[98] * 1000:6.3f} ms"
    if baseline_rate is not None:
        line += f"   x{baseline_rate / rate:,.1f} the baseline's time"
    line += f"   {rate / TARGET_PER_SECOND:,.1f}x the 300 msg/s target"
    print(line)
    return rate


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MESSAGES
    with open(path, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    print(f"{len(texts)} messages from {path}")
    before = rss_mb()
    t0 = time.perf_counter()
    default_gazetteer()
    street_names()
    common_words()
    default_ranker()
    load = time.perf_counter() - t0
    print(
        f"gazetteer, word lists, ranker load  {load:.2f} s   "
        f"resident memory {before:.0f} MB -> {rss_mb():.0f} MB"
    )

    resolver = build_geocoder(
        "offline",
        {},
        api_key=None,
        min_delay_seconds=0,
        cache_size=0,
        boundary=(37.70, -122.52, 37.84, -122.35),
    )
    mentions = [find_location(text) for text in texts]
    queries = [m.normalized for m in mentions if m is not None and m.kind != "landmark"]

    baseline = timed("baseline (one regex)", texts, _BASELINE.search, None)
    timed("locate", texts, find_location, baseline)
    timed(f"geocode ({len(queries)} queries)", queries, resolver.geocode, baseline)

    def locate_and_geocode(text: str) -> object:
        mention = find_location(text)
        if mention is None or mention.kind == "landmark":
            return None
        return resolver.geocode(mention.normalized)

    timed("locate + geocode", texts, locate_and_geocode, baseline)
    reverse_points = [(37.70 + (i % 97) * 0.0013, -122.51 + (i % 89) * 0.0017) for i in range(2000)]
    timed(
        "reverse (GPS point)",
        [f"{a},{b}" for a, b in reverse_points],
        lambda p: resolver.reverse(*map(float, p.split(","))),
        baseline,
    )
    print(f"resident memory after the runs: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
