#!/usr/bin/env bash
# Set up (idempotent), then start the chat on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m chatbot chat
