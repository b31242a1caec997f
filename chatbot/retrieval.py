"""Hybrid retrieval: dense (Chroma cosine) and BM25 (bm25s) over sentences, fused by score.

A sentence scores its cosine plus its BM25 score divided by the best BM25 score of the query
(a convex combination; Bruch et al. 2022 found it beats reciprocal-rank fusion). With
reciprocal ranks, a sentence that shares one incidental word with the question outranked the
best dense match of a paraphrase; with scores it does not (measured on eval/seed + dev: the
gold sentence among the three best went from 79% to 85% of questions).
A follow-up is read after the previous question ("And the revised one?"). Also adding the
scores of the follow-up read alone put one more gold sentence among the three best, but
pointed a follow-up at a whole list the model then wrote out (17 s). The best dense cosine is
kept for the relevance floor.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import numpy as np

from .splitting import Sentence
from .store import ArticleStore
from .words import content_stems

CANDIDATES = 30
KEYWORD_WEIGHT = 1.0  # of the normalised BM25 score against the cosine; 0.8–1.5 all measure alike


@dataclass(frozen=True)
class Hit:
    sentence: Sentence
    score: float  # cosine + KEYWORD_WEIGHT × BM25 / best BM25
    cosine: float  # dense similarity, 0 when only BM25 found it


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    best_cosine: float


class HybridRetriever:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    def vocabulary(self) -> Container[str]:
        """Every word stem the articles hold (the keyword index's vocabulary)."""
        index, _ = self.store.keyword_index()
        return index.vocab_dict if index is not None else {}

    def keyword(
        self, query: str, k: int, source: str | None = None
    ) -> list[tuple[Sentence, float]]:
        index, sents = self.store.keyword_index()
        terms = content_stems(query)
        if index is None or not terms:
            return []
        vocab = index.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        mask = None if source is None else np.array([s.source == source for s in sents], float)
        ids, scores = index.retrieve(
            [known], k=min(k, len(sents)), show_progress=False, weight_mask=mask
        )
        return [(sents[i], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def retrieve(
        self, question: str, k: int, earlier: str = "", source: str | None = None
    ) -> Retrieval:
        """The `k` best sentences for `question`, read after the `earlier` question if any,
        from article `source` only when given."""
        query = f"{earlier} {question}".strip()
        vector = self.store.embeddings.embed_query(query)
        dense = dict(self.store.search(vector, CANDIDATES, source))
        keyword = self.keyword(query, CANDIDATES, source)
        fused = dict(dense)
        if keyword:
            best = max(score for _, score in keyword)
            for s, score in keyword:
                fused[s] = fused.get(s, 0.0) + KEYWORD_WEIGHT * score / best
        order = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        hits = [Hit(s, fused[s], dense.get(s, 0.0)) for s in order]
        return Retrieval(hits, max(dense.values(), default=0.0))
