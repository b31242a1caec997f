"""Hybrid retrieval: dense (Chroma cosine) and BM25 (bm25s) over sentences, fused by reciprocal rank.

The best dense cosine is kept so the caller can apply the relevance floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np

from .splitting import Sentence
from .store import ArticleStore
from .words import content_stems

RRF_K = 60
CANDIDATES = 30


@dataclass(frozen=True)
class Hit:
    sentence: Sentence
    score: float  # fused reciprocal-rank score
    cosine: float  # dense similarity, 0 when only BM25 found it


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    best_cosine: float


class HybridRetriever:
    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        self._bm25: tuple[int, bm25s.BM25 | None, list[Sentence]] | None = None

    def _keyword_index(self) -> tuple[bm25s.BM25 | None, list[Sentence]]:
        if self._bm25 is None or self._bm25[0] != self.store.version:
            sents = self.store.sentences()
            index = None
            if sents:
                index = bm25s.BM25()
                corpus = [content_stems(s.indexed_text) or ["_"] for s in sents]
                index.index(corpus, show_progress=False)
            self._bm25 = (self.store.version, index, sents)
        return self._bm25[1], self._bm25[2]

    def keyword(self, query: str, k: int) -> list[Sentence]:
        index, sents = self._keyword_index()
        terms = content_stems(query)
        if index is None or not terms:
            return []
        vocab = index.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        ids, scores = index.retrieve([known], k=min(k, len(sents)), show_progress=False)
        return [sents[i] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def retrieve(self, query: str, k: int) -> Retrieval:
        vector = self.store.embeddings.embed_query(query)
        dense = self.store.search(vector, CANDIDATES)
        keyword = self.keyword(query, CANDIDATES)
        fused: dict[Sentence, float] = {}
        for rank, (s, _) in enumerate(dense):
            fused[s] = fused.get(s, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, s in enumerate(keyword):
            fused[s] = fused.get(s, 0.0) + 1.0 / (RRF_K + rank + 1)
        cos = dict(dense)
        order = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        hits = [Hit(s, fused[s], cos.get(s, 0.0)) for s in order]
        best = float(np.max([c for _, c in dense])) if dense else 0.0
        return Retrieval(hits, best)
