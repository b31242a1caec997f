"""Cold start: a fresh `python -m chatbot ask "…" --json` on the seed store, to its answer.

- seconds to the answer (its JSON on stdout) and to the process's exit, and peak RSS (os.wait4's
  rusage of that child), `--runs` times;
  the first run may also read the system prompt and save its state (README: saved prompt state),
  so the later runs are the cold start a user sees;
- where the time goes, in a probe process that times each step the CLI takes: importing
  chatbot, loading the embedder, opening the store, loading the model, building the chatbot,
  the first answer (saved-state load, retrieval, generation);
- the slowest imports (`python -X importtime`, on the same command), by package.
The seed store is built in a temporary folder (the project's store is left alone). Prints a
table and writes bench/results/cold_start.json.

    .venv/bin/python bench/cold_start.py [--runs 3] [--question "…"]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What force limit did the revised draft set?"
PROBE = """
import json, resource, sys, time
steps, last = [], time.perf_counter()
def step(name):
    global last
    now = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps.append({"step": name, "s": round(now - last, 3), "peak_rss_mb": round(rss, 1)})
    last = now
import chatbot
from chatbot import Answer, Chatbot, Settings
step("import chatbot")
from chatbot.embeddings import make_embedder
from chatbot.models import make_llm
from chatbot.store import ArticleStore
settings = Settings.from_env()
emb = make_embedder(settings)
step("load embedder")
store = ArticleStore(settings, emb)
step("open store")
llm = make_llm(settings)
step("load model")
bot = Chatbot.from_settings(settings, llm=llm, store=store)
step("build chatbot")
bot.warm()
step("saved prompt state (warm)")
first = True
for event in bot.stream(sys.argv[1]):
    if first:
        step("first token")
        first = False
step("rest of the answer")
print(json.dumps(steps))
print(json.dumps(sorted(m for m in sys.modules if "." not in m)))
"""
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def timed_run(cmd: list[str], env: dict[str, str]) -> dict:
    """One child process: seconds to its first output (the answer: the CLI prints it at once),
    seconds to its exit, peak RSS (MB), stdout and stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        chunks, first = [], None
        while chunk := proc.stdout.read1():
            first = first or time.perf_counter() - t0
            chunks.append(chunk)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode()
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
    return {
        "answer_s": round(first or wall, 2),
        "exit_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "stdout": b"".join(chunks).decode(),
        "stderr": stderr,
    }


def import_table(stderr: str, top: int) -> list[dict]:
    """Packages by the time their own modules took to import, wherever they were imported from
    (self time, summed), with the cumulative time of their first import (which includes the
    packages that import brought in first, so those overlap)."""
    own: dict[str, int] = {}
    first: dict[str, int] = {}
    for line in stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        self_us, cum_us, name = int(m[1]), int(m[2]), m[4]
        package = name.split(".")[0]
        own[package] = own.get(package, 0) + self_us
        if name == package:
            first[package] = max(first.get(package, 0), cum_us)
    ranked = sorted(own, key=lambda p: -own[p])[:top]
    return [
        {
            "package": p,
            "own_s": round(own[p] / 1e6, 3),
            "first_import_s": round(first.get(p, 0) / 1e6, 3),
        }
        for p in ranked
    ]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--top", type=int, default=15, help="imports listed")
    args = ap.parse_args()
    py = sys.executable
    ask = ["-m", "chatbot", "ask", args.question, "--json"]
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "CHATBOT_STORE_DIR": store, "HF_HUB_OFFLINE": "1"}
        subprocess.run([py, "-m", "chatbot", "ingest", "--quiet"], cwd=ROOT, env=env, check=True)
        runs = []
        for _ in range(args.runs):
            run = timed_run([py, *ask], env)
            answer = json.loads(run.pop("stdout"))
            run.pop("stderr")
            runs.append(run)
            print(runs[-1], flush=True)
        probe = timed_run([py, "-c", PROBE, args.question], env)["stdout"].splitlines()
        phases, modules = json.loads(probe[-2]), json.loads(probe[-1])
        traced = timed_run([py, "-X", "importtime", *ask], env)
        packages = import_table(traced["stderr"], args.top)

    print(f"\n{'run':>4}{'answer s':>10}{'exit s':>8}{'peak RSS MB':>13}")
    for i, r in enumerate(runs, 1):
        print(f"{i:>4}{r['answer_s']:>10}{r['exit_s']:>8}{r['peak_rss_mb']:>13}")
    print(f"\n{'step (probe process)':28}{'s':>7}{'peak RSS MB':>13}")
    for p in phases:
        print(f"{p['step']:28}{p['s']:>7}{p['peak_rss_mb']:>13}")
    print(f"{'total':28}{round(sum(p['s'] for p in phases), 2):>7}")
    print(f"\n{'import (-X importtime)':28}{'own s':>7}{'first import s':>16}")
    for p in packages:
        print(f"{p['package']:28}{p['own_s']:>7}{p['first_import_s']:>16}")
    heavy = ["torch", "sentence_transformers", "transformers", "langchain_huggingface"]
    loaded = [m for m in heavy if m in modules]
    print(f"\nloaded by the probe: {', '.join(loaded) or 'none of ' + ', '.join(heavy)}")
    save(
        "cold_start",
        {
            "embedder": os.environ.get("CHATBOT_EMBEDDER", "minilm"),
            "llm": os.environ.get("CHATBOT_LLM", "qwen"),
            "question": args.question,
            "answer_refused": answer.get("refused"),
            "runs": runs,
            "probe_steps": phases,
            "importtime_run_answer_s (slowed by -X importtime)": traced["answer_s"],
            "imports": packages,
            "heavy_modules_loaded": loaded,
            "env": {k: v for k, v in os.environ.items() if k.startswith("CHATBOT_")},
        },
    )


if __name__ == "__main__":
    main()
