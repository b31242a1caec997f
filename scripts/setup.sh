#!/usr/bin/env bash
# Idempotent set-up: .venv/ at the repo root, dependencies, the default model, seeds/ ingested.
# Run again, it skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
stamp=".venv/.setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing dependencies into .venv/ (first time: several minutes)"
  # A CPU build of torch is on disk; a plain `torch` would pull a multi-GB CUDA build.
  "$VPY" -m pip install -q torch==2.13.0
  # llama-cpp-python compiles from source. The native build crashed on this CPU (AMX/AVX-512),
  # so build portable (GGML_NATIVE=OFF), never from a cached wheel built with other flags.
  if [ ! -f .venv/.llama-native-off ] || ! "$VPY" -c "import llama_cpp" 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VPY" -m pip install -q --no-cache-dir --force-reinstall \
      --no-deps llama-cpp-python==0.3.36
    touch .venv/.llama-native-off
  fi
  "$VPY" -m pip install -q -e ".[dev]"
  rm -f .venv/.setup-*
  touch "$stamp"
fi
# The default model (assembled once into ~/.cache/chatbot, checksum verified) and seeds/ ingested.
HF_HUB_OFFLINE=1 "$VPY" -m chatbot prepare
