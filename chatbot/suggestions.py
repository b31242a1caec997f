"""What the chat offers from the question banks: starters for an empty chat and related questions
under an answer, each a banked question whose stored answer a click shows.

Starters are spread over the article (or over every ready bank, in turn), related questions are
the banked ones closest (by embedding) to what an answer cited; never two resting on the same
sentence, never one already asked. The banks themselves (storage, building) are `questions.py`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .questions import Bank, Banked, QuestionBank, Span


def spread(items: list[Banked], n: int) -> list[Banked]:
    """Up to n questions spread over the article, no two citing the same sentence."""
    ordered = sorted(items, key=lambda b: min(s for _, s, _ in b.cited))
    evenly = [ordered[i * len(ordered) // n] for i in range(n)] if ordered else []
    return disjoint([*dict.fromkeys(evenly), *ordered], n)


def disjoint(items: Iterable[Banked], n: int, used: set[Span] | None = None) -> list[Banked]:
    """The first n items (in order) none of which shares a cited sentence with another."""
    used, out, asked = set(used or ()), [], set()
    for b in items:
        key = b.question.casefold()
        if key in asked or b.cited & used:
            continue
        out.append(b)
        asked.add(key)
        used |= b.cited
        if len(out) == n:
            break
    return out


class Suggestions:
    """Picks starters and related questions from the ready banks of a `QuestionBank` (one per
    process: it keeps the embeddings of the cited sentences it has seen)."""

    def __init__(self, bank: QuestionBank) -> None:
        self.bank = bank
        self._vectors: dict[str, np.ndarray] = {}  # sentence text → unit vector

    def _ready_banks(self, article: str | None) -> list[Bank]:
        revision = self.bank.bot.store.revision()
        sources = [article] if article else [a.source for a in self.bank.bot.store.catalog()]
        return [b for s in sources if (b := self.bank.load(s, revision)) is not None]

    def starters(self, article: str | None = None, n: int = 4) -> list[Banked]:
        """Questions for an empty chat, from `article`'s bank or spread over every ready bank,
        each citing other sentences than the rest."""
        per = [spread(b.questions, n) for b in self._ready_banks(article)]
        mixed = [
            b for row in zip(*[p + [None] * (n - len(p)) for p in per], strict=True) for b in row
        ]
        return disjoint((b for b in mixed if b is not None), n)

    def _vector(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for t, v in zip(
                missing, self.bank.bot.store.embeddings.embed_documents(missing), strict=True
            ):
                v = np.asarray(v, dtype=np.float32)
                self._vectors[t] = v / (np.linalg.norm(v) or 1.0)
        return np.stack([self._vectors[t] for t in texts])

    def related(
        self, citations: list[dict], asked: Iterable[str], article: str | None = None, n: int = 3
    ) -> list[Banked]:
        """Banked questions closest to the sentences an answer cited (the best cosine between
        their cited sentences and those): not asked already, no two on the same sentence, and
        none that rests only on sentences the answer already cited."""
        if not citations:
            return []
        sources = {c["source"] for c in citations} if article is None else {article}
        revision = self.bank.bot.store.revision()
        pool = [
            b
            for s in sorted(sources)
            if (bank := self.bank.load(s, revision)) is not None
            for b in bank.questions
        ]
        done = {q.casefold().strip() for q in asked}
        shown = {(c["source"], c["start"], c["end"]) for c in citations}
        pool = [b for b in pool if b.question.casefold() not in done and not b.cited <= shown]
        if not pool:
            return []
        cited = self._vector([c["quote"] for c in citations])
        scores = [
            float((self._vector([c["quote"] for c in b.answer["citations"]]) @ cited.T).max())
            for b in pool
        ]
        order = [pool[i] for i in np.argsort(scores, kind="stable")[::-1]]
        return disjoint(order, n)
