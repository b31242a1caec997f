"""Scores for one result and for a whole run.

Per result: correctness (required facts, or a refusal when one is expected), citation validity
(`quote == text[start:end]` on the file), gold-span citation recall/precision, ALCE-style support
recall/precision checked offline with the same word-support test the chain uses, and retrieval
recall of the gold spans in the first 2,000 retrieved characters.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from ..articles import read_text
from ..citations import parse, support
from ..errors import InputError
from ..splitting import Sentence
from .dataset import EvalItem

SUPPORT = 0.5
RETRIEVAL_CHARS = 2000  # recall@k is taken over this much retrieved text: the baseline's 4 × 500


def _first_chars(retrieved: list[dict], budget: int = RETRIEVAL_CHARS) -> list[dict]:
    """The best-ranked retrieved spans up to `budget` characters, so that systems retrieving
    sentences and systems retrieving chunks are compared on the same amount of text."""
    out, used = [], 0
    for c in retrieved:
        if used >= budget:
            break
        out.append(c)
        used += len(c["quote"])
    return out


class Files:
    """Article texts by source, read once."""

    def __init__(self, root: Path) -> None:
        self.root, self.texts = root, {}

    def text(self, source: str) -> str | None:
        if source not in self.texts:
            try:
                self.texts[source] = read_text(self.root / source)
            except InputError:
                self.texts[source] = None
        return self.texts[source]

    def span(self, source: str, quote: str) -> tuple[int, int] | None:
        text = self.text(source)
        at = text.find(quote) if text is not None else -1
        return (at, at + len(quote)) if at >= 0 else None


def _norm(s: str) -> str:
    return re.sub(r"(?<=\d)[, ](?=\d{3})", "", s.lower().replace("’", "'"))


def correct(item: EvalItem, result: dict) -> bool:
    if item.expect_refusal:
        return bool(result["refused"])
    if result["refused"] and not item.correction:
        return False
    answer = _norm(result["answer"])
    return all(any(_norm(alt) in answer for alt in group) for group in item.required_facts)


def _overlaps(c: dict, source: str, span: tuple[int, int]) -> bool:
    return c["source"] == source and c["start"] < span[1] and span[0] < c["end"]


def score(item: EvalItem, result: dict, files: Files) -> dict:
    """The scores of one result (None where a score does not apply)."""
    cites = result["citations"]
    valid = [
        files.text(c["source"]) is not None
        and files.text(c["source"])[c["start"] : c["end"]] == c["quote"]
        for c in cites
    ]
    gold = [(g.source, sp) for g in item.gold_spans if (sp := files.span(g.source, g.quote))]
    out: dict = {"citation_valid": (sum(valid) / len(valid)) if cites else None}
    if not item.scored:
        return out
    out["correct"] = correct(item, result)
    out["refusal_ok"] = bool(result["refused"]) == bool(item.expect_refusal) or (
        item.correction and out["correct"]
    )
    out["false_refusal"] = item.expect_refusal is False and not out["refusal_ok"]
    answered = not result["refused"] or (item.correction and out["correct"])
    if gold and answered:
        out["gold_recall"] = sum(any(_overlaps(c, s, sp) for c in cites) for s, sp in gold) / len(
            gold
        )
        out["gold_precision"] = (
            sum(any(_overlaps(c, s, sp) for s, sp in gold) for c in cites) / len(cites)
            if cites
            else 0.0
        )
    retrieved = _first_chars(result.get("retrieved") or [])
    if gold and retrieved:
        out["retrieval_recall"] = sum(
            any(_overlaps(c, s, sp) for c in retrieved) for s, sp in gold
        ) / len(gold)
    if answered:
        out.update(_alce(item.question, result))
    return out


def _alce(question: str, result: dict) -> dict:
    """Support recall: claims backed by their citations. Precision: citations that are needed."""
    cites = [Sentence(c["source"], c["start"], c["end"], c["quote"]) for c in result["citations"]]
    claims = parse(result["answer"])
    if not claims:
        return {}
    supported, needed, total = 0, 0, 0
    for c in claims:
        claim, marks = c.text, c.cited
        mine = [cites[n - 1] for n in marks if 0 < n <= len(cites)] if marks else cites
        ok = bool(mine) and support(claim, question, mine) >= SUPPORT
        supported += ok
        for c in mine:
            total += 1
            rest = [x for x in mine if x is not c]
            needed += support(claim, question, [c]) >= SUPPORT or (
                ok and support(claim, question, rest) < SUPPORT
            )
    return {
        "support_recall": supported / len(claims),
        "support_precision": needed / total if total else 0.0,
    }


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(rows: list[dict]) -> dict:
    """Aggregate scores over results (each row: a result with its `scores`)."""
    scores = [r["scores"] for r in rows]
    answerable = [s for r, s in zip(rows, scores, strict=True) if r.get("expect_refusal") is False]
    to_refuse = [s for r, s in zip(rows, scores, strict=True) if r.get("expect_refusal")]
    lat = [r["latency_s"] for r in rows]
    ttft = [r["ttft_s"] for r in rows if r.get("ttft_s") is not None]
    return {
        "n": len(rows),
        "correct": _mean(scores, "correct"),
        "answer_accuracy": _mean(answerable, "correct"),
        "refusal_accuracy": _mean(to_refuse, "correct"),
        "false_refusal_rate": (
            sum(bool(s.get("false_refusal")) for s in answerable) / len(answerable)
            if answerable
            else None
        ),
        "citation_valid": _mean(scores, "citation_valid"),
        "gold_recall": _mean(scores, "gold_recall"),
        "gold_precision": _mean(scores, "gold_precision"),
        "support_recall": _mean(scores, "support_recall"),
        "support_precision": _mean(scores, "support_precision"),
        "retrieval_recall": _mean(scores, "retrieval_recall"),
        "latency_p50": _pct(lat, 50),
        "latency_p95": _pct(lat, 95),
        "ttft_p50": _pct(ttft, 50),
        "ttft_p95": _pct(ttft, 95),
    }
