#!/usr/bin/env bash
# Scale out on one machine: a Chroma server (the store), llama-cpp-python's OpenAI-compatible
# server (the model) and SERVE_PORTS `python -m chatbot serve` replicas pointing at both, all on
# 127.0.0.1. Each part is its own process group; its pid and log are kept under SCALE_DIR.
#
#   bash scripts/scale-out.sh start    # start all, in order, each once healthy; exit
#   bash scripts/scale-out.sh status   # each part: pid, port, RSS now and at peak
#   bash scripts/scale-out.sh stop     # stop all (TERM, then KILL after 15 s)
#   bash scripts/scale-out.sh run      # start, then wait; Ctrl-C (or any exit) stops all
#
# Environment (defaults):
#   SCALE_DIR (~/.cache/chatbot/scale-out)  Chroma's data (chroma/), logs (logs/), pids (run/)
#   CHROMA_PORT (8100)  MODEL_PORT (8101)  SERVE_PORTS ("8000 8001")
#   MODEL_GGUF (the default Qwen2.5-1.5B GGUF, assembled once)  MODEL_THREADS (2)
#   MODEL_CTX (4096)  MODEL_CACHE (true: the server's prompt cache in RAM)  MODEL_CACHE_MB (256)
#   INGEST_SEEDS (1; 0 for none): ingest seeds/ (of CHATBOT_ROOT) before the replicas start
#   CHATBOT_* (CHATBOT_ROOT, CHATBOT_EMBEDDER, CHATBOT_API_KEY, ...) reach every replica.
# A start that fails stops what it started and shows the failing part's log.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VPY="$REPO/.venv/bin/python"
SCALE_DIR=${SCALE_DIR:-$HOME/.cache/chatbot/scale-out}
CHROMA_PORT=${CHROMA_PORT:-8100}
MODEL_PORT=${MODEL_PORT:-8101}
SERVE_PORTS=${SERVE_PORTS:-8000 8001}
MODEL_THREADS=${MODEL_THREADS:-2}
MODEL_CTX=${MODEL_CTX:-4096}
MODEL_CACHE=${MODEL_CACHE:-true}
MODEL_CACHE_MB=${MODEL_CACHE_MB:-256}
INGEST_SEEDS=${INGEST_SEEDS:-1}
RUN="$SCALE_DIR/run"
LOGS="$SCALE_DIR/logs"
export ANONYMIZED_TELEMETRY=False HF_HUB_OFFLINE=1 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

# launch NAME PORT CMD...: a process group of its own, pid in run/NAME.pid, output in logs/NAME.log
launch() {
  local name=$1 port=$2
  shift 2
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$!" >"$RUN/$name.pid"
  echo "$port" >"$RUN/$name.port"
}

# wait_up NAME URL: until URL answers 200 (300 s at most), or the process has died
wait_up() {
  local name=$1 url=$2 pid rc=0
  pid=$(cat "$RUN/$name.pid")
  "$VPY" - "$url" "$pid" <<'EOF' || rc=$?
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
for _ in range(1200):
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(2)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.25)
sys.exit(1)
EOF
  case $rc in
    0) echo "scale-out: $name up at $url (pid $pid)" ;;
    2)
      echo "scale-out: $name exited; its log ($LOGS/$name.log) ends:" >&2
      tail -n 20 "$LOGS/$name.log" >&2
      ;;
    *) echo "scale-out: $name did not answer $url in 300 s" >&2 ;;
  esac
  return "$rc"
}

stop() {
  local pidfile pid name
  [ -d "$RUN" ] || return 0
  # replicas first, then the model and the store
  for pidfile in "$RUN"/serve-*.pid "$RUN/model.pid" "$RUN/chroma.pid"; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    name=$(basename "$pidfile" .pid)
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "scale-out: stopped $name (pid $pid)"
    fi
    rm -f "$pidfile" "$RUN/$name.port"
  done
}

status() {
  local pidfile pid name rss peak
  printf '%-12s %8s %6s %10s %10s\n' part pid port "RSS MiB" "peak MiB"
  for pidfile in "$RUN"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    name=$(basename "$pidfile" .pid)
    rss=$(awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo -)
    peak=$(awk '/^VmHWM/ {printf "%d", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo -)
    printf '%-12s %8s %6s %10s %10s\n' "$name" "$pid" "$(cat "$RUN/$name.port")" "${rss:--}" \
      "${peak:--}"
  done
  echo "Chroma's data: $(du -sh "$SCALE_DIR/chroma" | cut -f1) in $SCALE_DIR/chroma"
}

failed() {
  echo "scale-out: start failed; stopping what started" >&2
  stop
  exit 1
}

start() {
  mkdir -p "$RUN" "$LOGS" "$SCALE_DIR/chroma"
  if compgen -G "$RUN/*.pid" >/dev/null; then
    echo "scale-out: already started (pids in $RUN); run: bash scripts/scale-out.sh stop" >&2
    exit 1
  fi
  local model=${MODEL_GGUF:-}
  if [ -z "$model" ]; then
    model=$("$VPY" -c 'from chatbot.settings import Settings; from chatbot.weights import assemble_qwen
print(assemble_qwen(Settings.from_env().cache_dir))') || exit 1
  fi
  local alias
  alias=$(basename "$model" .gguf)

  (cd "$SCALE_DIR" && launch chroma "$CHROMA_PORT" "$REPO/.venv/bin/chroma" run \
    --path "$SCALE_DIR/chroma" --host 127.0.0.1 --port "$CHROMA_PORT")
  # interrupt_requests=false: a second replica's request waits its turn instead of cutting the
  # answer being written; logits_all=false: no n_ctx x vocabulary logits buffer (2.5 GB on
  # Qwen); cache: earlier prompts' states kept in RAM, MODEL_CACHE_MB of KV (each state also
  # holds a copy of the 512 x vocabulary logits rows, ~300 MB on Qwen, not counted there)
  launch model "$MODEL_PORT" "$VPY" -m llama_cpp.server --model "$model" --model_alias "$alias" \
    --host 127.0.0.1 --port "$MODEL_PORT" --n_ctx "$MODEL_CTX" --n_threads "$MODEL_THREADS" \
    --n_threads_batch "$MODEL_THREADS" --logits_all false --interrupt_requests false \
    --cache "$MODEL_CACHE" --cache_size "$((MODEL_CACHE_MB * 1024 * 1024))"
  wait_up chroma "http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat" || failed
  wait_up model "http://127.0.0.1:$MODEL_PORT/v1/models" || failed

  export CHATBOT_CHROMA_URL="http://127.0.0.1:$CHROMA_PORT" CHATBOT_LLM=openai \
    OPENAI_BASE_URL="http://127.0.0.1:$MODEL_PORT/v1" CHATBOT_OPENAI_MODEL="$alias"
  if [ "$INGEST_SEEDS" = 1 ]; then
    "$VPY" -m chatbot ingest --quiet || failed
  fi
  local port
  for port in $SERVE_PORTS; do
    launch "serve-$port" "$port" "$VPY" -m chatbot serve --host 127.0.0.1 --port "$port"
  done
  for port in $SERVE_PORTS; do
    wait_up "serve-$port" "http://127.0.0.1:$port/health" || failed
  done
  echo "scale-out: store $CHATBOT_CHROMA_URL, model $OPENAI_BASE_URL ($alias), replicas:" \
    "$(for p in $SERVE_PORTS; do printf 'http://127.0.0.1:%s ' "$p"; done)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  run)
    start
    trap 'stop; exit 0' INT TERM
    trap stop EXIT
    echo "scale-out: running; Ctrl-C stops everything"
    while true; do sleep 3600 & wait $!; done
    ;;
  *)
    echo "usage: bash scripts/scale-out.sh start|status|stop|run" >&2
    exit 2
    ;;
esac
