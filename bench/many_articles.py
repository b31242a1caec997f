"""Answer speed and accuracy as the store grows, for the prompt layouts against each other.

Stores (each built afresh on disk with the configured embedder; ingest time, disk and retrieval
latency measured):
- `seed`: seeds/, questions eval/seed.jsonl, scored by our rules;
- `squad`: the 6 articles of ../shared/eval-squad (read from there, never copied), its 120
  questions scored by its own score_squad.py;
- `hundred`: those 6 + the seed + 93 composed archive articles (bench/compose.py), the same
  SQuAD questions and scorer: the real articles have to be found among look-alikes.

Layouts:
- `article` (the chain's): the system prompt holds the whole store while it fits, else the
  article of the question's best evidence (or the part of it, when the article alone is past
  the budget), from its saved state;
- `passages` (the layout before): the whole store while it fits, else instructions only and the
  retrieved passages written out in every question.

`CHATBOT_CORPUS_TOKENS=1000` (say) makes every SQuAD article too long for the budget, to
measure the parts of long articles against the passages layout.

Prints a table and writes bench/results/many_articles.json. `--every K` asks every K-th question.

    .venv/bin/python bench/many_articles.py [--stores seed squad hundred]
        [--layouts article passages] [--every 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import pct, peak_rss_mb, save
from compose import compose

from chatbot import Chatbot, Settings
from chatbot.evaluation.dataset import load_items
from chatbot.evaluation.runner import run
from chatbot.evaluation.scoring import summarize

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval-squad"


def articles_of(store: str, scratch: Path) -> list[Path]:
    if store == "seed":
        return [ROOT / "seeds"]
    if store == "squad":
        return [SQUAD / "articles"]
    return [SQUAD / "articles", ROOT / "seeds", *compose(scratch / "archive", 93)]


def questions_of(store: str) -> Path:
    return ROOT / "eval" / "seed.jsonl" if store == "seed" else SQUAD / "questions.jsonl"


def accuracy(store: str, rows: list[dict], out: Path) -> str:
    if store == "seed":
        s = summarize(rows)
        return f"answer {s['answer_accuracy']:.0%}, refusal {s['refusal_accuracy']:.0%}"
    asked = {r["id"] for r in rows}
    gold = out.with_suffix(".gold.jsonl")  # the asked questions' gold lines, outside the repo
    lines = (SQUAD / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold.write_text("".join(x + "\n" for x in lines if x and json.loads(x)["id"] in asked))
    done = subprocess.run(
        [sys.executable, str(SQUAD / "score_squad.py"), str(out), "--gold", str(gold)],
        capture_output=True,
        text=True,
        check=True,
    )
    line = done.stdout.strip().splitlines()[-1]  # squad: answer …, refuse …, …, F1 …, latency …
    return line.removeprefix("squad: ").split(", F1")[0]


def build(store: str, scratch: Path, base: Settings) -> tuple[Settings, dict]:
    """A fresh store on disk; its ingest figures."""
    folder = scratch / "stores" / store
    shutil.rmtree(folder, ignore_errors=True)
    settings = base.with_(
        store_dir=folder, collection=f"bench-{store}", ingest_dirs=(SQUAD, scratch)
    )
    bot = Chatbot.from_settings(settings.with_(llm="fake"))
    t0 = time.perf_counter()
    bot.ingest(articles_of(store, scratch), progress=False)
    took = time.perf_counter() - t0
    n = bot.store.count()
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    return settings, {
        "articles": len(bot.store.articles()),
        "sentences": n,
        "ingest_s": round(took, 2),
        "ingest_sent_per_s": round(n / took, 1),
        "disk_mb": round(disk, 1),
    }


def retrieval_ms(bot: Chatbot, questions: list[str]) -> float:
    times = []
    for q in questions:
        t0 = time.perf_counter()
        bot.retriever.retrieve(q, bot.settings.retrieve_k)
        times.append((time.perf_counter() - t0) * 1000)
    return round(pct(times, 50), 1)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stores", nargs="+", default=["seed", "squad", "hundred"])
    ap.add_argument("--layouts", nargs="+", default=["article", "passages"])
    ap.add_argument("--every", type=int, default=1, help="ask every K-th question")
    ap.add_argument("--scratch", type=Path, default=Path.home() / ".cache" / "chatbot" / "bench")
    args = ap.parse_args()
    base = Settings.from_env()
    rows, llm = [], None
    for store in args.stores:
        settings, figures = build(store, args.scratch, base)
        items = load_items(questions_of(store))[:: args.every]
        for layout in args.layouts:
            bot = Chatbot.from_settings(settings, llm=llm)
            llm = bot.llm  # one model for every run
            if layout == "passages":
                bot.home = lambda corpus, source, anchor=None: (corpus, "all")  # the layout before
            out = args.scratch / "results" / f"{store}-{layout}.jsonl"
            out.unlink(missing_ok=True)
            results = run(bot, items, out, settings.root, f"{store}/{layout}")
            ttft = [r["ttft_s"] for r in results if r.get("ttft_s") is not None]
            total = [r["latency_s"] for r in results]
            rows.append(
                {
                    "store": store,
                    "layout": layout,
                    **figures,
                    "questions": len(results),
                    "retrieval_p50_ms": retrieval_ms(bot, [i.question for i in items]),
                    "ttft_p50_s": round(pct(ttft, 50), 2),
                    "ttft_p95_s": round(pct(ttft, 95), 2),
                    "answer_p50_s": round(pct(total, 50), 2),
                    "answer_p95_s": round(pct(total, 95), 2),
                    "accuracy": accuracy(store, results, out),
                }
            )
            print(json.dumps(rows[-1]))
    cols = ["store", "layout", "articles", "sentences", "ingest_sent_per_s", "disk_mb"]
    cols += ["retrieval_p50_ms", "ttft_p50_s", "ttft_p95_s", "answer_p50_s", "answer_p95_s"]
    cols += ["accuracy"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    save("many_articles", {"model": llm.name, "runs": rows, "peak_rss_mb": round(peak_rss_mb())})


if __name__ == "__main__":
    main()
