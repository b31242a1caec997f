"""The overhead of `serve` over the in-process chain (issue 12 targets: ≤ 20 ms p50 for /ask,
≤ 50 ms for the first streamed byte).

The same questions on the same store and model, asked twice: in this process (`Chatbot.ask`, and
`Chatbot.stream`'s first piece) and through a `python -m chatbot serve` process on 127.0.0.1
(`POST /ask`, and the first byte of `POST /ask/stream`'s body), one at a time over a kept-alive
connection. With the fake model (the default) the model's time is ~0, so the difference is the
server's: HTTP, JSON, the queue's thread hand-off. With `--model qwen` the model's time varies
from run to run and the overhead is within its noise; a small run shows it anyway.

    .venv/bin/python bench/serve.py [--model fake|qwen] [--rounds 5] [--n 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from common import pct, save

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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (root / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--port", str(port)],
        env=env_for(root, extra),
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # the default model may read its prompt first
        while True:
            if proc.poll() is not None:
                raise SystemExit((root / "serve.log").read_text())
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("serve did not become healthy")
            time.sleep(0.25)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def in_process(bot: Chatbot, questions: list[str], rounds: int) -> dict[str, list[float]]:
    ask, first = [], []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            bot.ask(q)
            ask.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            events = bot.stream(q)
            next(events)
            first.append(time.perf_counter() - t0)
            for _ in events:  # finish it, as the server does
                pass
    return {"ask": ask, "first": first}


def over_http(url: str, questions: list[str], rounds: int) -> dict[str, list[float]]:
    ask, first = [], []
    with httpx.Client(base_url=url, timeout=600) as http:
        for _ in range(rounds):
            for q in questions:
                t0 = time.perf_counter()
                r = http.post("/ask", json={"question": q})
                ask.append(time.perf_counter() - t0)
                r.raise_for_status()
                t0 = time.perf_counter()
                with http.stream("POST", "/ask/stream", json={"question": q}) as r:
                    r.raise_for_status()
                    body = r.iter_raw()
                    next(body)
                    first.append(time.perf_counter() - t0)
                    for _ in body:
                        pass
    return {"ask": ask, "first": first}


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
        warm = [bot.ask(q).to_dict() for q in questions]  # the first of each, untimed
        local = in_process(bot, questions, args.rounds)
        del bot  # one model in memory at a time
        with serving(root, extra) as (url, _):
            served = [
                httpx.post(f"{url}/ask", json={"question": q}, timeout=600) for q in questions
            ]
            same = sum(r.json() == a for r, a in zip(served, warm, strict=True))
            remote = over_http(url, questions, args.rounds)

    figures: dict = {"model": args.model, "questions": len(questions), "rounds": args.rounds}
    figures["same_answers_as_in_process"] = f"{same}/{len(questions)}"
    rows = []
    for key, name, target in (("ask", "/ask vs ask()", 20), ("first", "first byte", 50)):
        a, b = summary(local[key]), summary(remote[key])
        over = {q: b[q] - a[q] for q in ("p50_ms", "p95_ms")}
        figures[key] = {"in_process": a, "serve": b, "overhead_ms": over, "target_p50_ms": target}
        figures[key]["met"] = over["p50_ms"] <= target
        rows.append((name, a, b, over, target))
    print(f"\nmodel {args.model}, {len(questions)} questions × {args.rounds} rounds, one at a time")
    print(
        f"{'':16} {'in-process p50/p95':>20} {'serve p50/p95':>18} {'overhead p50/p95':>18}  target"
    )
    for name, a, b, over, target in rows:
        print(
            f"{name:16} {a['p50_ms']:9.1f} /{a['p95_ms']:7.1f} ms {b['p50_ms']:7.1f} /{b['p95_ms']:7.1f}"
            f" ms {over['p50_ms']:7.1f} /{over['p95_ms']:7.1f} ms  ≤ {target} ms p50"
        )
    print(f"same answers over HTTP as in-process: {figures['same_answers_as_in_process']}\n")
    save(f"serve_{args.model}", figures)
    print(json.dumps({k: figures[k]["met"] for k in ("ask", "first")}))


if __name__ == "__main__":
    main()
