"""A tiny training set in the layout of ../shared/data, written by the tests that train."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

TINY_LABELLED: dict[str, list[str]] = {
    "pothole": [
        "Huge pothole in the road",
        "pothole on main street",
        "Deep pothole near the bus stop",
        "Road surface broken, big hole",
        "There is a pothole that damaged my car",
        "potholes all over the road",
        "Sunken pavement and a pothole",
        "Pothole keeps getting bigger",
        "Pothole in the crosswalk",
        "Please fill the pothole in front of my house",
        "dangerous pothole in the bike lane",
        "another pothole opened up on the avenue",
    ],
    "graffiti": [
        "Graffiti on the wall",
        "graffiti tags on the mailbox",
        "Someone sprayed graffiti on the bridge",
        "New graffiti on the school",
        "Graffiti covering the bus shelter",
        "tagging on the fence again",
        "Graffiti on the side of the store",
        "Offensive graffiti on the playground",
        "graffiti on the stop sign",
        "Graffiti all over the underpass",
        "Please remove the graffiti on my garage",
        "spray paint graffiti on the church door",
    ],
    "other": [
        "When is the next city council meeting",
        "My landlord will not fix the heat",
        "Question about my tax bill",
        "How do I get a parking permit",
        "Thank you for the quick response",
        "Where can I vote",
        "The library hours are wrong on the website",
        "I want to file a complaint about a city worker",
        "Need help with my water bill",
        "Is city hall open on Monday",
        "Lost my dog please help",
        "Building has no fire escape",
    ],
}

TINY_POOL = [
    "pothole on the avenue",
    "big hole in the street",
    "graffiti on the wall",
    "tags sprayed on the door",
    "my landlord is not answering",
    "question about the meeting",
    "noise from the bar all night",
    "loud music next door",
] * 30


def write_tiny_data(root: Path) -> Path:
    """Writes DATA/boston311/labelled.csv and unlabelled.csv.gz under ``root``; returns ``root``."""
    folder = root / "boston311"
    folder.mkdir(parents=True)
    with (folder / "labelled.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "service_code", "sure", "location_text"])
        row_id = 0
        for code, texts in TINY_LABELLED.items():
            for text in texts:
                row_id += 1
                writer.writerow([row_id, text, code, "sure", ""])
    with gzip.open(folder / "unlabelled.csv.gz", "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "source_category"])
        for row_id, text in enumerate(TINY_POOL):
            writer.writerow([row_id, f"{text} {row_id % 7}", "Other"])
    return root
