#!/usr/bin/env bash
# Set up (idempotent), then run the whole test suite: unit tests and tests on the real parts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
