"""The Chroma store of sentences: add, replace or remove by article; model checks on open.

Each record is one sentence. Its metadata keeps the exact span (`source`, `start`, `end`, `text`)
and the passage it belongs to, so passages can be rebuilt without re-reading files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from .articles import Article
from .embeddings import embedder_name
from .errors import StoreError
from .settings import Settings
from .splitting import SPLIT_VERSION, Passage, Sentence, split_article

BATCH = 256


def open_client(settings: Settings) -> chromadb.ClientAPI:
    chroma = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma,
            )
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma)
    except Exception as exc:  # chromadb raises many kinds; the user needs one line
        where = settings.chroma_url or settings.store_dir
        raise StoreError(f"cannot open the vector store at {where}: {exc}") from None


class ArticleStore:
    """Sentences of every ingested article, in one Chroma collection."""

    def __init__(self, settings: Settings, embeddings: Embeddings) -> None:
        self.embeddings = embeddings
        self.model = embedder_name(embeddings)
        self.dim = len(embeddings.embed_query("dimension probe"))
        meta = {"hnsw:space": "cosine", "embedding_model": self.model, "dimension": self.dim}
        try:
            self.db = Chroma(
                collection_name=settings.collection,
                embedding_function=embeddings,
                client=open_client(settings),
                collection_metadata=meta,
            )
            found = self.db._collection.metadata or {}
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open collection {settings.collection!r}: {exc}") from None
        if (found.get("embedding_model"), found.get("dimension")) != (self.model, self.dim):
            raise StoreError(
                f"the store was built with {found.get('embedding_model')} "
                f"({found.get('dimension')} dims) but {self.model} ({self.dim} dims) is configured; "
                "use another CHATBOT_STORE_DIR or re-ingest into an empty one"
            )
        self.version = 0  # bumped on every change, so readers can cache derived data
        self._cache: tuple[int, list[Sentence], dict[Sentence, Passage]] | None = None

    # -- writing -------------------------------------------------------------------------------
    def upsert(self, article: Article, progress: Callable[[int], None] | None = None) -> str:
        """Add an article, replace its older version, or do nothing: 'added'|'replaced'|'unchanged'."""
        old = self.db.get(where={"source": article.source}, include=["metadatas"])
        if old["ids"] and all(
            m.get("article_id") == article.id and m.get("split") == SPLIT_VERSION
            for m in old["metadatas"]
        ):
            return "unchanged"
        passages = split_article(article)
        key = f"{article.source}\0{article.id}\0{SPLIT_VERSION}"
        prefix = hashlib.sha256(key.encode()).hexdigest()[:24]
        ids, texts, metas = [], [], []
        for p in passages:
            for s in p.sentences:
                ids.append(f"{prefix}:{s.start}:{s.end}")
                texts.append(s.indexed_text)
                metas.append(
                    {
                        "source": s.source,
                        "article_id": article.id,
                        "split": SPLIT_VERSION,
                        "start": s.start,
                        "end": s.end,
                        "text": s.text,
                        "kind": s.kind,
                        "context": s.context,
                        "passage_start": p.start,
                        "passage_end": p.end,
                    }
                )
        for i in range(0, len(ids), BATCH):
            self.db.add_texts(
                texts[i : i + BATCH], metadatas=metas[i : i + BATCH], ids=ids[i : i + BATCH]
            )
            if progress:
                progress(len(ids[i : i + BATCH]))
        stale = set(old["ids"]) - set(ids)
        if stale:
            self.db.delete(ids=sorted(stale))
        self.version += 1
        return "replaced" if old["ids"] else "added"

    def remove(self, source: str) -> int:
        old = self.db.get(where={"source": source}, include=[])
        if old["ids"]:
            self.db.delete(ids=old["ids"])
            self.version += 1
        return len(old["ids"])

    # -- reading -------------------------------------------------------------------------------
    def _records(self) -> Iterator[dict]:
        offset = 0
        while True:
            page = self.db.get(include=["metadatas"], limit=5000, offset=offset)
            if not page["ids"]:
                return
            yield from page["metadatas"]
            offset += len(page["ids"])

    def _load(self) -> tuple[list[Sentence], dict[Sentence, Passage]]:
        if self._cache is None or self._cache[0] != self.version:
            groups: dict[tuple[str, int, int], list[Sentence]] = {}
            for m in self._records():
                key = (m["source"], m["passage_start"], m["passage_end"])
                groups.setdefault(key, []).append(_sentence(m))
            sents, home = [], {}
            for (src, a, b), members in groups.items():
                members.sort(key=lambda s: s.start)
                passage = Passage(src, a, b, tuple(members))
                sents.extend(members)
                home.update(dict.fromkeys(members, passage))
            sents.sort(key=lambda s: (s.source, s.start))
            self._cache = (self.version, sents, home)
        return self._cache[1], self._cache[2]

    def sentences(self) -> list[Sentence]:
        """Every sentence in the store, ordered by source and position."""
        return self._load()[0]

    def passage_of(self, sentence: Sentence) -> Passage:
        return self._load()[1][sentence]

    def articles(self) -> dict[str, int]:
        """source → number of sentences."""
        counts: dict[str, int] = {}
        for s in self.sentences():
            counts[s.source] = counts.get(s.source, 0) + 1
        return counts

    def count(self) -> int:
        return self.db._collection.count()

    def search(self, vector: list[float], k: int) -> list[tuple[Sentence, float]]:
        """The k nearest sentences with their cosine similarity."""
        n = self.count()
        if n == 0:
            return []
        hits = self.db.similarity_search_by_vector_with_relevance_scores(vector, k=min(k, n))
        return [(_sentence(doc.metadata), 1.0 - dist) for doc, dist in hits]


def _sentence(m: dict) -> Sentence:
    return Sentence(m["source"], m["start"], m["end"], m["text"], m["kind"], m.get("context", ""))
