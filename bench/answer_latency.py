"""Per-question speed of the chain on the configured model (default: Qwen2.5-1.5B, llama.cpp).

Prints and writes bench/results/answer_latency.json:
- cold start to the first answer (a fresh `python -m chatbot ask` process);
- time to first token and to the full answer, p50/p95, over answerable eval questions;
- our overhead: chain wall time minus the time spent inside the model call, as a share of it;
- generation tokens/s in the chain against raw llama.cpp on the same prompts (same Llama object);
- peak RSS.

    .venv/bin/python bench/answer_latency.py [--questions eval/dev.jsonl] [--n 12]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import pct, peak_rss_mb, save

from chatbot import Answer, Chatbot, Settings
from chatbot.evaluation.dataset import load_items

ROOT = Path(__file__).resolve().parent.parent


class TimedLLM:
    """Wraps a backend and records how long each call spent inside the model."""

    def __init__(self, llm) -> None:
        self.llm, self.name, self.calls = llm, llm.name, []

    def stream(self, messages, max_tokens, usage=None, label=""):
        t0, first, n = time.perf_counter(), None, 0
        for piece in self.llm.stream(messages, max_tokens, usage, label):
            first = first if first is not None else time.perf_counter() - t0
            n += 1
            yield piece
        self.calls.append(
            {"messages": messages, "first": first, "total": time.perf_counter() - t0, "n": n}
        )


def raw_generation_rate(llama, messages, max_tokens: int) -> float:
    """Tokens/s of raw llama.cpp's generation phase on a prompt (prompt reading excluded)."""
    first, n = None, 0
    for chunk in llama.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.0, stream=True
    ):
        if chunk["choices"][0]["delta"].get("content"):
            first = first if first is not None else time.perf_counter()
            n += 1
    return (n - 1) / (time.perf_counter() - first) if n > 1 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    ap.add_argument("--n", type=int, default=12)
    args = ap.parse_args()
    items = [i for i in load_items(args.questions) if i.expect_refusal is False][: args.n]

    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "chatbot", "ask", items[0].question, "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    cold = time.perf_counter() - t0

    settings = Settings.from_env()
    bot = Chatbot.from_settings(settings)
    bot.llm = timed = TimedLLM(bot.llm)
    t0 = time.perf_counter()
    bot.warm()
    warm_s = time.perf_counter() - t0
    timed.calls.clear()

    ttft, total, overhead, ours_rate, raw_rate = [], [], [], [], []
    for item in items:
        t0 = time.perf_counter()
        answer = next(e for e in bot.stream(item.question, item.history) if isinstance(e, Answer))
        wall = time.perf_counter() - t0
        call = timed.calls[-1] if timed.calls and answer.stats.raw else None
        total.append(wall)
        if call is None:
            continue  # refused before the model
        ttft.append(answer.stats.ttft_s)
        overhead.append((wall - call["total"]) / call["total"])
        gen = call["total"] - call["first"]
        ours_rate.append((call["n"] - 1) / gen if gen > 0 else 0.0)
        if hasattr(timed.llm, "llama"):
            raw_rate.append(
                raw_generation_rate(timed.llm.llama, call["messages"], settings.max_tokens)
            )

    figures = {
        "model": bot.llm.name,
        "questions": len(items),
        "cold_start_to_first_answer_s": round(cold, 2),
        "warm_up_s": round(warm_s, 2),
        "ttft_p50_s": round(pct(ttft, 50), 3),
        "ttft_p95_s": round(pct(ttft, 95), 3),
        "answer_p50_s": round(pct(total, 50), 3),
        "answer_p95_s": round(pct(total, 95), 3),
        "overhead_share_p50": round(pct(overhead, 50), 4),
        "overhead_share_max": round(max(overhead), 4),
        "generation_tok_s_chain_p50": round(pct(ours_rate, 50), 2),
        "generation_tok_s_raw_p50": round(pct(raw_rate, 50), 2) if raw_rate else None,
        "chain_vs_raw_ratio": round(pct(ours_rate, 50) / pct(raw_rate, 50), 3)
        if raw_rate
        else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    save("answer_latency", figures)


if __name__ == "__main__":
    main()
