#!/usr/bin/env bash
# Set up (idempotent), then run the whole test suite: unit tests and tests on the real parts
# (Chroma on disk, MiniLM, llama.cpp with SmolLM2 and the default model, the app in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "test: installing Debian's chromium for the browser test"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
