"""The overhead of `serve` over the in-process chain (issue 12 targets: ≤ 20 ms p50 for /ask,
≤ 50 ms for the first streamed byte).

The same questions on the same store and model, each asked both ways back to back (so both see
the same load on a shared machine): in this process (`Chatbot.ask`, and `Chatbot.stream`'s first
piece) and through a `python -m chatbot serve` process on 127.0.0.1 (`POST /ask`, and the first
byte of `POST /ask/stream`'s body), one at a time over a kept-alive connection. The overhead is
the difference of the p50s; the p50 of each pair's difference is shown beside it. With the fake model (the default) the model's time is ~0, so the difference is the
server's: HTTP, JSON, the queue's thread hand-off. With `--model qwen` the model's time varies
from run to run and the overhead is within its noise; a small run shows it anyway.

    .venv/bin/python bench/serve.py [--model fake|qwen] [--rounds 5] [--n 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from common import free_port, pct, running, save

from chatbot import Chatbot, Settings
from chatbot.evaluation.dataset import load_items

ROOT = Path(__file__).resolve().parent.parent
SEED = "seeds/nato-ministers-peace-plan.txt"


def bench_root(where: Path) -> Path:
    """A repo-like folder with the seed article, ingested into its own store."""
    (where / "seeds").mkdir(parents=True)
    shutil.copy(ROOT / SEED, where / SEED)
    return where


def env_for(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(ROOT / "prompts"),
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }


def ingest(root: Path, extra: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "chatbot", "ingest", "--quiet"]
    subprocess.run(cmd, env=env_for(root, extra), cwd=root, check=True, capture_output=True)


@contextmanager
def serving(root: Path, extra: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`python -m chatbot serve` on a free port: its URL and pid once /health answers."""
    url = f"http://127.0.0.1:{(port := free_port())}"
    cmd = [sys.executable, "-m", "chatbot", "serve", "--port", str(port)]
    # the default model may read its prompt first
    with running(cmd, f"{url}/health", root / "serve.log", env_for(root, extra), 600) as proc:
        yield url, proc.pid


def timed(bot: Chatbot, http: httpx.Client, question: str) -> dict[str, float]:
    """One question each way, back to back (so both see the same load on a shared machine):
    the whole answer and the first piece (in-process) or byte (HTTP) of a streamed one."""
    out = {}
    t0 = time.perf_counter()
    bot.ask(question)
    out["ask_local"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    http.post("/ask", json={"question": question}).raise_for_status()
    out["ask_serve"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    events = bot.stream(question)
    next(events)
    out["first_local"] = time.perf_counter() - t0
    for _ in events:  # finish it, as the server does
        pass
    t0 = time.perf_counter()
    with http.stream("POST", "/ask/stream", json={"question": question}) as r:
        r.raise_for_status()
        body = r.iter_raw()
        next(body)
        out["first_serve"] = time.perf_counter() - t0
        for _ in body:
            pass
    return out


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(values, 50) * 1000, "p95_ms": pct(values, 95) * 1000, "n": len(values)}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="fake", help="CHATBOT_LLM for both sides (fake)")
    ap.add_argument("--n", type=int, default=12, help="questions from eval/seed.jsonl")
    ap.add_argument("--rounds", type=int, default=5, help="times each question is asked")
    args = ap.parse_args()
    questions = [i.question for i in load_items(ROOT / "eval" / "seed.jsonl")][: args.n]
    extra = {"CHATBOT_LLM": args.model}

    with tempfile.TemporaryDirectory() as tmp:
        root = bench_root(Path(tmp))
        ingest(root, extra)
        bot = Chatbot.from_settings(Settings.from_env(env_for(root, extra)))
        bot.warm()
        with serving(root, extra) as (url, _), httpx.Client(base_url=url, timeout=900) as http:
            warm = [bot.ask(q).to_dict() for q in questions]  # the first of each, untimed
            served = [http.post("/ask", json={"question": q}).json() for q in questions]
            same = sum(a == b for a, b in zip(served, warm, strict=True))
            runs = [timed(bot, http, q) for _ in range(args.rounds) for q in questions]

    figures: dict = {"model": args.model, "questions": len(questions), "rounds": args.rounds}
    figures["same_answers_as_in_process"] = f"{same}/{len(questions)}"
    rows = []
    for key, name, target in (("ask", "/ask vs ask()", 20), ("first", "first byte", 50)):
        a = summary([r[f"{key}_local"] for r in runs])
        b = summary([r[f"{key}_serve"] for r in runs])
        over = {q: b[q] - a[q] for q in ("p50_ms", "p95_ms")}
        paired = summary([r[f"{key}_serve"] - r[f"{key}_local"] for r in runs])
        figures[key] = {"in_process": a, "serve": b, "overhead_ms": over, "target_p50_ms": target}
        figures[key]["paired_difference"] = paired
        figures[key]["met"] = over["p50_ms"] <= target
        rows.append((name, a, b, over, paired, target))
    print(f"\nmodel {args.model}, {len(questions)} questions × {args.rounds} rounds, one at a time")
    print(
        f"{'':16} {'in-process p50/p95':>20} {'serve p50/p95':>18} {'overhead p50/p95':>18}"
        f" {'paired p50':>11}  target"
    )
    for name, a, b, over, paired, target in rows:
        print(
            f"{name:16} {a['p50_ms']:9.1f} /{a['p95_ms']:7.1f} ms {b['p50_ms']:7.1f} /{b['p95_ms']:7.1f}"
            f" ms {over['p50_ms']:7.1f} /{over['p95_ms']:7.1f} ms {paired['p50_ms']:8.1f} ms"
            f"  ≤ {target} ms p50"
        )
    print(f"same answers over HTTP as in-process: {figures['same_answers_as_in_process']}\n")
    save(f"serve_{args.model}", figures)
    print(json.dumps({k: figures[k]["met"] for k in ("ask", "first")}))


if __name__ == "__main__":
    main()
