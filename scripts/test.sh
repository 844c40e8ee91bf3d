#!/usr/bin/env bash
# One command from a fresh machine to the whole check: lint, types, the classifier's evaluation, the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
# The classifier's figures on the held-out split of the labelled messages (a report, not a threshold test).
if [ -f ../shared/data/boston311/labelled.csv ]; then
  heldout="$(mktemp -d)/heldout.csv"
  .venv/bin/python -m intents.splits "$heldout" ../shared/data/boston311/labelled.csv
  .venv/bin/open311-bot eval "$heldout"
else
  echo "no ../shared/data: skipping the classifier's held-out evaluation"
fi
# Last, so that pytest's summary line closes the run.
.venv/bin/python -m pytest "$@"
