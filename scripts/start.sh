#!/usr/bin/env bash
# Set up (idempotent), then start the Streamlit chat on the embedded defaults, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT=${PORT:-8501}
echo "Starting the chat at http://127.0.0.1:${PORT} (the model loads on the first page view)"
exec .venv/bin/streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port "$PORT" \
  --server.headless true --browser.gatherUsageStats false --server.fileWatcherType none
