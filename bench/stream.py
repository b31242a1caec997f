"""Time to the first visible text of a streamed answer, now that only verified text is shown
(issue 13): per question, the model's first token (what the stream showed first when it showed
the raw reply), the first verified piece (what it shows now) and the whole answer; and whether
the pieces shown join to exactly the final answer's text (nothing shown is taken back).

A fresh store of the seed article under a temporary root, MiniLM, the default model:

    .venv/bin/python bench/stream.py [--n 8] [--threads 2] [--questions eval/seed.jsonl]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import pct, record, save

from chatbot import Answer, Chatbot, Settings
from chatbot.evaluation.dataset import load_items

REPO = Path(__file__).resolve().parent.parent
SEED = "seeds/nato-ministers-peace-plan.txt"


def timed(bot: Chatbot, question: str, history: list) -> dict:
    """One streamed answer: when each piece came, and the answer."""
    t0, times, pieces = time.perf_counter(), [], []
    for event in bot.stream(question, history):
        if isinstance(event, Answer):
            answer = event
        else:
            times.append(time.perf_counter() - t0)
            pieces.append(event)
    st = answer.stats
    return {
        "question": question,
        "model_first_token_s": None if st.ttft_s is None else round(st.ttft_s, 3),
        "first_text_s": round(times[0], 3) if times else None,
        "answer_s": round(st.latency_s, 3),
        "pieces": len(pieces),
        "shown_while_writing": sum(t < st.latency_s - 0.05 for t in times),
        "joins_to_answer": "".join(pieces) == answer.text,
        "refused": answer.refused,
        "answer": answer.text,
        "raw": st.raw,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=Path, default=REPO / "eval" / "seed.jsonl")
    ap.add_argument("--n", type=int, default=8, help="answerable questions, spread over the file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llm", default="qwen")
    args = ap.parse_args()
    items = [i for i in load_items(args.questions) if not i.expect_refusal]
    items = items[:: max(1, len(items) // args.n)][: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()
        shutil.copy(REPO / SEED, root / SEED)
        env = {"CHATBOT_ROOT": str(root), "CHATBOT_PROMPTS_DIR": str(REPO / "prompts")}
        settings = Settings.from_env(env).with_(llm=args.llm, n_threads=args.threads)
        bot = Chatbot.from_settings(settings)
        bot.ingest([root / "seeds"], progress=False)
        bot.warm()  # the article read once, as the app does at load
        rows = []
        for item in items:
            rows.append(timed(bot, item.question, list(item.history)))
            r = rows[-1]
            print(
                f"model first token {r['model_first_token_s']} s, first text {r['first_text_s']} s,"
                f" answer {r['answer_s']} s, {r['pieces']} pieces ({r['shown_while_writing']} "
                f"while writing), joins: {r['joins_to_answer']}  {item.question[:50]!r}",
                flush=True,
            )

    def p(key: str, q: int) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(pct(values, q), 3) if values else None

    figures = {
        "llm": args.llm,
        "threads": args.threads,
        "n": len(rows),
        **{
            f"{k}_p{q}": p(k, q)
            for k in ("model_first_token_s", "first_text_s", "answer_s")
            for q in (50, 95)
        },
        "shown_while_writing": sum(r["shown_while_writing"] > 0 for r in rows),
        "taken_back": sum(not r["joins_to_answer"] for r in rows),
    }
    print(figures)
    save("stream", {**figures, "rows": rows})
    record("stream_verified_bench", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
