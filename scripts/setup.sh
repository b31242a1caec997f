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
  # llama-cpp-python compiles from source, never from a wheel cached with other flags. A native
  # build (-march=native) crashed on this CPU (AMX), so the build is portable (GGML_NATIVE=OFF)
  # plus the AVX-512/VNNI kernels this CPU reports: prompt reading is ~40% faster with them.
  has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
  args="-DGGML_NATIVE=OFF"
  if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
    args="$args -DGGML_AVX512=ON"
    if has avx512vbmi; then args="$args -DGGML_AVX512_VBMI=ON"; fi
    if has avx512_vnni; then args="$args -DGGML_AVX512_VNNI=ON"; fi
    if has avx512_bf16; then args="$args -DGGML_AVX512_BF16=ON"; fi
  fi
  if has avx_vnni; then args="$args -DGGML_AVX_VNNI=ON"; fi
  if [ "$(cat .venv/.llama-build 2>/dev/null)" != "$args" ] || ! "$VPY" -c "import llama_cpp" 2>/dev/null; then
    echo "setup: compiling llama-cpp-python ($args)"
    CMAKE_ARGS="$args" "$VPY" -m pip install -q --no-cache-dir --force-reinstall \
      --no-deps llama-cpp-python==0.3.36
    echo "$args" > .venv/.llama-build
  fi
  "$VPY" -m pip install -q -e ".[dev]"
  rm -f .venv/.setup-*
  touch "$stamp"
fi
# The default model (assembled once into ~/.cache/chatbot, checksum verified) and seeds/ ingested.
HF_HUB_OFFLINE=1 "$VPY" -m chatbot prepare
