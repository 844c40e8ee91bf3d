#!/usr/bin/env bash
# One command from a fresh machine to the whole check: lint, types, tests, and the classifier's evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
