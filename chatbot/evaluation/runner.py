"""Run a question set through a chatbot (ours or the baseline), resumably, and score it."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from ..answer import Answer
from ..articles import find_article_files
from ..errors import ChatbotError, InputError
from ..models import FakeLLM
from ..settings import Settings
from .dataset import EvalItem, load_items, read_jsonl
from .report import METRICS, compare, fmt, write_report
from .scoring import Files, score, summarize


class Streams(Protocol):
    def stream(self, question: str, history: list[tuple[str, str]], article: str | None = None): ...


def answer_one(bot: Streams, item: EvalItem) -> dict:
    t0 = time.perf_counter()
    try:
        answer = next(
            e
            for e in bot.stream(item.question, item.history, item.article)
            if isinstance(e, Answer)
        )
        row = answer.to_dict()
        st = answer.stats
        row.update(
            latency_s=round(time.perf_counter() - t0, 3),
            ttft_s=None if st.ttft_s is None else round(st.ttft_s, 3),
            prompt_tokens=st.prompt_tokens,
            completion_tokens=st.completion_tokens,
            raw=st.raw,
            dropped=st.dropped,
            retrieved=[asdict(c) for c in st.retrieved],
        )
    except InputError as exc:  # a question the chatbot rejects is a result, not a crash
        row = {
            "answer": "",
            "refused": True,
            "citations": [],
            "error": str(exc),
            "latency_s": round(time.perf_counter() - t0, 3),
            "ttft_s": None,
        }
    return row


class Replay:
    """A chatbot whose model repeats the replies stored in an earlier results file: retrieval,
    verification and the repair stage run anew, so their changes are measured in seconds."""

    def __init__(self, bot, items: list[EvalItem], rows: list[dict]) -> None:
        raw = {r["id"]: r.get("raw") for r in rows}
        self.bot, self.raw = bot, {_key(i.question, i.history): raw.get(i.id) for i in items}

    def stream(self, question: str, history: list[tuple[str, str]], article: str | None = None):
        self.bot.llm = FakeLLM([self.raw.get(_key(question, history)) or "The articles don't say."])
        return self.bot.stream(question, history, article)


def _key(question: str, history: list[tuple[str, str]]) -> str:
    return json.dumps([question, [list(h) for h in history]])


def run(
    bot: Streams, items: list[EvalItem], out: Path, root: Path, label: str = "eval"
) -> list[dict]:
    """Answer every item not yet in `out` (so an interrupted run resumes), then return all rows."""
    done = {r["id"]: r for r in read_jsonl(out)} if out.exists() else {}
    files = Files(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        for item in tqdm([i for i in items if i.id not in done], desc=label, unit="q"):
            row = {
                "id": item.id,
                "category": item.category,
                "question": item.question,
                "expect_refusal": item.expect_refusal,
                **answer_one(bot, item),
            }
            row["scores"] = score(item, row, files)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            done[item.id] = row
    return [done[i.id] for i in items if i.id in done]


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    if args.compare:
        print(compare(read_jsonl(args.compare[0]), read_jsonl(args.compare[1])))
        return 0
    if args.file is None:
        raise InputError("name a question file, e.g. eval/seed.jsonl (or use --compare A B)")
    items = load_items(args.file)
    out = args.out or settings.root / "eval" / "results" / f"{args.file.stem}.jsonl"
    from ..chain import Chatbot

    if args.articles:
        settings = own_store(settings, args.articles)
    bot = Chatbot.from_settings(settings, llm=FakeLLM() if args.replay else None)
    if args.articles:
        bot.ingest([args.articles], progress=True)
    if bot.store.count() == 0:
        raise ChatbotError("the store is empty: run `python -m chatbot ingest` first")
    if args.replay:
        before = read_jsonl(args.replay)
        out = args.out or args.replay.with_name(args.replay.stem + ".replay.jsonl")
        out.unlink(missing_ok=True)  # never resumed: a stale file would hide the change measured
        after = run(Replay(bot, items, before), items, out, settings.root, "replay")
        print(compare(before, after))
        _print_set_scores(args, {"before": args.replay, "after": out})
        print(f"results: {out} (latencies are the replay's: no model ran)")
        return 0
    runs = {"ours": run(bot, items, out, settings.root, "chatbot")}
    if args.baseline or args.report:
        from .baseline import NaiveRAG

        naive = NaiveRAG.from_settings(settings, bot.llm, bot.store.embeddings)
        naive_out = out.with_name(out.stem + ".baseline.jsonl")
        runs["baseline"] = run(naive, items, naive_out, settings.root, "baseline")
    summaries = {name: summarize(rows) for name, rows in runs.items()}
    print(f"{'':30}" + "".join(f"{n:>12}" for n in summaries))
    for key, label, unit in METRICS:
        print(f"{label:30}" + "".join(f"{fmt(s[key], unit):>12}" for s in summaries.values()))
    print(f"results: {out}")
    files = {"ours": out, "baseline": out.with_name(out.stem + ".baseline.jsonl")}
    set_scores = _print_set_scores(args, {k: v for k, v in files.items() if k in runs})
    if args.report:
        write_report(args.report, runs, summaries, set_scores)
        print(f"report: {args.report}")
    return 0


def own_store(settings: Settings, articles: Path) -> Settings:
    """Settings for a question set's own store, built from its articles and keyed by their
    content, so the set never touches the project's store (nor another set's)."""
    key = hashlib.sha256()
    for f in find_article_files([articles]):
        key.update(f.name.encode() + b"\0" + f.read_bytes())
    name = f"eval-{key.hexdigest()[:12]}"
    return settings.with_(
        store_dir=settings.cache_dir / "eval-stores" / name,
        collection=name,
        ingest_dirs=(*settings.ingest_dirs, articles),  # the set's articles may lie anywhere
    )


def set_scorer(questions: Path) -> Path | None:
    """A question set may ship its own scorer (`score_*.py` beside its questions)."""
    found = sorted(questions.resolve().parent.glob("score_*.py"))
    return found[0] if found else None


def _print_set_scores(args: argparse.Namespace, results: dict[str, Path]) -> dict[str, str]:
    """Run the set's own scorer on each results file; its output, by run name."""
    scorer = set_scorer(args.file)
    if scorer is None:
        return {}
    extra = ["--articles", str(args.articles)] if args.articles else []
    out = {}
    for name, path in results.items():
        done = subprocess.run(
            [sys.executable, str(scorer), str(path), *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        out[name] = done.stdout.strip()
        summary = out[name].splitlines()[-1] if out[name] else done.stderr.strip()
        print(f"{scorer.name} ({name}): {summary}")
    return out
