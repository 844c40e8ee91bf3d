#!/usr/bin/env bash
# One command from a fresh machine to a running bot on its embedded defaults: SQLite, the shipped
# model and gazetteer, the local channel, the Open311 API and the operator pages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
exec .venv/bin/open311-bot serve "$@"
