"""The question bank: build time per article, and whether offered questions are answered anew.

For each set (`seed`: seeds/; `squad`: the articles of ../shared/eval-squad, read from there,
never copied), a temporary store is ingested with the configured embedder and model, and each
article's bank is built from scratch with an empty saved-state folder (so the build includes
reading the article once, as the first time in a new store). Then every kept question (any of
them can be offered, as a starter or a related question) is asked anew through the chain, with
no history: as the chat limited to its article asks it (`article`) and as the chat over all
articles does (`all`). A question counts when the new answer is not refused and cites. Variety
per article: distinct openings (first 3 words), pairs of the same meaning (MiniLM cosine at or
above `variety.SAME_MEANING`) and pairs resting on a common cited sentence. Each build's load
average (1 min, before and after) is recorded: the machine is shared.

Prints a table and writes bench/results/questions.json.

    .venv/bin/python bench/questions.py [--sets seed squad] [--articles N] [--scopes article all]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import peak_rss_mb, save

from chatbot import Chatbot, Settings
from chatbot.questions import QuestionBank
from chatbot.variety import SAME_MEANING, opening

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval-squad" / "articles"


def files_of(name: str) -> list[Path]:
    return sorted((ROOT / "seeds").glob("*.txt")) if name == "seed" else sorted(SQUAD.glob("*.txt"))


def run_set(
    name: str, files: list[Path], scopes: list[str], scratch: Path, limit: int | None
) -> dict:
    """Every article of the set in the store; banks for the first `limit` of them."""
    settings = Settings.from_env().with_(store_dir=scratch / f"store-{name}")
    if name == "squad" and hasattr(Settings, "ingest_dirs"):  # articles from outside the repo
        settings = settings.with_(ingest_dirs=(SQUAD,))
    bot = Chatbot.from_settings(settings)
    if hasattr(bot.llm, "kv_dir"):  # an empty saved-state folder: the article is read once
        bot.llm.kv_dir = scratch / f"kv-{name}"
    bot.ingest(files, progress=False)
    bank = QuestionBank(bot)
    rows = []
    for a in bot.store.catalog()[:limit]:
        text = (settings.root / a.source).read_text(encoding="utf-8")
        load_before = os.getloadavg()[0]
        built = bank.build(a.source)
        row = {
            "source": a.source,
            "chars": len(text),
            "sentences": a.sentences,
            "build_s": built.seconds,
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "candidates": built.candidates,
            "kept": len(built.questions),
            **variety_of(built.questions, bot.store.embeddings.embed_documents),
            "turned_away": built.turned_away,
            "questions": [],
        }
        print(
            f"{name}: {a.source}: {row['kept']}/{row['candidates']} kept in {built.seconds} s",
            flush=True,
        )
        for b in built.questions:
            entry = {"question": b.question}
            for scope in scopes:
                t0 = time.perf_counter()
                again = bot.ask(b.question, article=a.source if scope == "article" else None)
                entry[scope] = {
                    "answered": not again.refused and bool(again.citations),
                    "same_sentences": {(c.source, c.start, c.end) for c in again.citations}
                    == b.cited,
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            row["questions"].append(entry)
            print(
                f"  {b.question}  "
                + "  ".join(f"{k}={v['answered']}" for k, v in entry.items() if k != "question"),
                flush=True,
            )
        rows.append(row)
    return {"articles": rows, **summary(rows, scopes)}


def variety_of(kept: list, embed) -> dict:
    """Distinct openings (first 3 words), pairs of the same meaning (cosine ≥ SAME_MEANING) and
    pairs resting on a common cited sentence, among an article's kept questions."""
    questions = [b.question for b in kept]
    pairs = list(itertools.combinations(range(len(kept)), 2))
    same = []
    if len(kept) > 1:
        v = np.asarray(embed(questions), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        same = [(i, j) for i, j in pairs if float(v[i] @ v[j]) >= SAME_MEANING]
    return {
        "openings_distinct": len({opening(q) for q in questions}),
        "same_meaning_pairs": [[questions[i], questions[j]] for i, j in same],
        "same_sentence_pairs": sum(bool(kept[i].cited & kept[j].cited) for i, j in pairs),
    }


def summary(rows: list[dict], scopes: list[str]) -> dict:
    asked = [q for r in rows for q in r["questions"]]
    out = {
        "articles_built": len(rows),
        "questions_kept": len(asked),
        "candidates": sum(r["candidates"] for r in rows),
        "build_s": [r["build_s"] for r in rows],
        "openings_distinct": sum(r["openings_distinct"] for r in rows),
        "same_meaning_pairs": sum(len(r["same_meaning_pairs"]) for r in rows),
        "same_sentence_pairs": sum(r["same_sentence_pairs"] for r in rows),
    }
    for scope in scopes:
        ok = sum(q[scope]["answered"] for q in asked)
        same = sum(q[scope]["same_sentences"] for q in asked)
        out[f"answered_anew_{scope}"] = f"{ok}/{len(asked)}"
        out[f"answered_anew_{scope}_pct"] = round(100 * ok / max(len(asked), 1), 1)
        out[f"same_sentences_{scope}_pct"] = round(100 * same / max(len(asked), 1), 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=["seed", "squad"], choices=["seed", "squad"])
    p.add_argument("--articles", type=int, help="banks for the first N articles of each set only")
    p.add_argument("--scopes", nargs="+", default=["article", "all"], choices=["article", "all"])
    p.add_argument(
        "--name", default="questions", help="results file name (bench/results/NAME.json)"
    )
    args = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-questions-") as tmp:
        for name in args.sets:
            results[name] = run_set(name, files_of(name), args.scopes, Path(tmp), args.articles)
    print()
    head = (
        f"{'set':6} {'article':32} {'chars':>6} {'build s':>8} {'load':>5} {'kept':>6} {'open':>5}"
    )
    head += "".join(f" {'anew ' + s:>12}" for s in args.scopes)
    print(head)
    for name, res in results.items():
        for r in res["articles"]:
            cells = "".join(
                f" {sum(q[s]['answered'] for q in r['questions'])}/{len(r['questions'])}".rjust(13)
                for s in args.scopes
            )
            kept = f"{r['kept']}/{r['candidates']}"
            print(
                f"{name:6} {Path(r['source']).name[:32]:32} {r['chars']:>6} {r['build_s']:>8}"
                f" {max(r['load_avg_1m']):>5} {kept:>6} {r['openings_distinct']:>5}{cells}"
            )
        total = "".join(f" {res[f'answered_anew_{s}_pct']:>11}%" for s in args.scopes)
        print(
            f"{name:6} {'all':32} {'':>6} {'':>8} {'':>5} {res['questions_kept']:>6} {'':>5}{total}"
        )
    save(args.name, {"peak_rss_mb": round(peak_rss_mb()), "args": vars(args), **results})


if __name__ == "__main__":
    main()
