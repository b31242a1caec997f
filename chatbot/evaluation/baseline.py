"""The naive RAG baseline, as LangChain's tutorial builds it: 500-character chunks, top 4 stuffed
into the tutorial's prompt, same model and embedder, no verification; the chunks are its sources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from ..answer import Answer, Citation, Stats
from ..articles import Article, read_text
from ..models import LLM, Usage
from ..settings import Settings
from ..store import open_client

CHUNK = 500
TOP_K = 4


def chunks(text: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """Spans of at most `size` characters, cut at whitespace where possible."""
    spans, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start, end)
            end = cut if cut > start else end
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    return spans


class NaiveRAG:
    def __init__(self, db: Chroma, llm: LLM, template: str) -> None:
        self.db, self.llm, self.template = db, llm, template

    @classmethod
    def from_settings(cls, settings: Settings, llm: LLM, embeddings: Embeddings) -> NaiveRAG:
        db = Chroma(
            collection_name=settings.collection + "-naive-baseline",
            embedding_function=embeddings,
            client=open_client(settings),
            collection_metadata={"hnsw:space": "cosine"},
        )
        main = Chroma(collection_name=settings.collection, client=open_client(settings))
        sources = sorted({m["source"] for m in main.get(include=["metadatas"])["metadatas"]})
        for source in sources:
            text = read_text(Path(settings.root) / source)
            spans = chunks(text)
            ids = [f"{source}:{a}:{b}:{Article(source, text).id[:16]}" for a, b in spans]
            if db.get(ids=ids, include=[])["ids"] != ids:
                db.add_texts(
                    [text[a:b] for a, b in spans],
                    ids=ids,
                    metadatas=[{"source": source, "start": a, "end": b} for a, b in spans],
                )
        tmpl = (settings.prompts_dir / "baseline.txt").read_text(encoding="utf-8")
        return cls(db, llm, tmpl)

    def stream(
        self, question: str, history: list[tuple[str, str]] = (), article: str | None = None
    ) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        where = {"source": article} if article is not None else None
        docs = self.db.similarity_search(question, k=TOP_K, filter=where)
        cites = [
            Citation(d.metadata["source"], d.metadata["start"], d.metadata["end"], d.page_content)
            for d in docs
        ]
        prompt = self.template.format(
            question=question, context="\n\n".join(d.page_content for d in docs)
        )
        stats, usage, pieces = Stats(retrieved=cites), Usage(), []
        for piece in self.llm.stream([{"role": "user", "content": prompt}], 200, usage):
            if stats.ttft_s is None:
                stats.ttft_s = time.perf_counter() - t0
            pieces.append(piece)
            yield piece
        stats.raw = text = "".join(pieces).strip()
        stats.prompt_tokens, stats.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        stats.latency_s = time.perf_counter() - t0
        refused = "don't know" in text.lower() or "do not know" in text.lower()
        yield Answer(text, [] if refused else cites, refused, stats)
