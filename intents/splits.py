"""The held-out split of the labelled messages: decided by a hash of each message's text, so it is the same
on every machine and in every run, and training (which skips it) and evaluation (which reads only it)
never overlap, whatever order the rows come in.

    python -m intents.splits OUT.csv [LABELLED.csv]    writes the held-out rows for ``open311-bot eval``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

# One message in five is held out.
HELDOUT_PERCENT = 20


def normalised(text: str) -> str:
    """The text as the split sees it: runs of whitespace as one space, lower case."""
    return " ".join(text.split()).lower()


def is_heldout(text: str) -> bool:
    digest = hashlib.sha256(normalised(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELDOUT_PERCENT


def default_data_dir() -> Path | None:
    """``../shared/data`` beside the repository, where the project's data lives on its machines."""
    candidate = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def labelled_file(data_dir: Path) -> Path:
    return data_dir / "boston311" / "labelled.csv"


def unlabelled_file(data_dir: Path) -> Path:
    return data_dir / "boston311" / "unlabelled.csv.gz"


def write_heldout(labelled: Path, out: Path) -> int:
    """Writes the held-out rows of ``labelled`` (all columns) to ``out``; returns how many."""
    with labelled.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fieldnames = list(reader.fieldnames or [])
        rows = [row for row in reader if is_heldout(row["text"])]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m intents.splits", description="Write the held-out rows of the labelled messages."
    )
    parser.add_argument("out", type=Path, help="the CSV to write (for open311-bot eval)")
    parser.add_argument(
        "labelled", type=Path, nargs="?", help="labelled.csv (default: the data directory beside the project)"
    )
    args = parser.parse_args(argv)
    source = args.labelled
    if source is None:
        data_dir = default_data_dir()
        if data_dir is None:
            print("no data directory found: pass LABELLED.csv", file=sys.stderr)
            return 2
        source = labelled_file(data_dir)
    count = write_heldout(source, args.out)
    print(f"wrote {count} held-out messages to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
