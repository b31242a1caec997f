"""The Chroma store of sentences: add, replace or remove by article; model checks on open.

Each record is one sentence. Its metadata keeps the exact span (`source`, `start`, `end`, `text`),
the passage it belongs to and the article's title and date, so passages and the article list can
be rebuilt without re-reading files.

The collection's metadata holds a `revision` that every ingest or removal changes, so another
process (embedded or through a Chroma server) sees the change on its next read: derived data is
cached per revision, and an embedded client whose store another process changed is re-opened
(its in-memory vector index does not see the other process's writes).

Writes are one process at a time and all or nothing (`journal.py`): an article is in the store
whole, its old version or its new one, even when the writer is killed or the disk fills up; a
vector index the kill cut short is rebuilt from chromadb's log (`index_log.py`).
The collection's metadata also records the embedding model, its dimension and the chromadb
version that wrote it; opening the store with another of any of them is a StoreError that says
what to do.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import bm25s
import chromadb
from chromadb.api.client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.config import System
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from . import index_log, snapshot
from .articles import Article
from .embeddings import embedder_name
from .errors import ChatbotError, ConfigError, StoreError
from .journal import Entry, Journal, disk_full, write_error
from .settings import Settings
from .snapshot import Snapshot, StoredArticle, sentence_of
from .splitting import SPLIT_VERSION, Passage, Sentence, split_article

BATCH = 256  # records embedded and added at a time (under chromadb's own maximum)
UNDO_ROOM = 4 * 2**20  # free bytes an undo needs (plus 4 KB a record), else it waits


def _release(version: str) -> str:
    """'1.5.9' → '1.5': stores are compatible within a minor release."""
    return ".".join(version.split(".")[:2])


def open_client(settings: Settings) -> chromadb.ClientAPI:
    """An HTTP client of the Chroma server at `settings.chroma_url`, else the embedded store.
    A server's token, if it wants one, comes from chromadb's own CHROMA_CLIENT_AUTH_* vars."""
    chroma = ChromaSettings(anonymized_telemetry=False)
    url = urlparse(settings.chroma_url)
    if settings.chroma_url and (url.scheme not in ("http", "https") or not url.hostname):
        # "127.0.0.1:8100" would parse as a scheme and reach port 8000, which may be `serve`
        raise ConfigError(
            f"CHATBOT_CHROMA_URL must be http://host:port or https://host, "
            f"got {settings.chroma_url!r}"
        )
    try:
        if settings.chroma_url:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
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
        self.settings = settings
        self.embeddings = embeddings
        self.model = embedder_name(embeddings)
        self.dim = len(embeddings.embed_query("dimension probe"))
        self._system: System | None = None  # an embedded client's own system, and the one before
        self._retired: System | None = None
        self._open()
        found = self.db._collection.metadata or {}
        where = settings.chroma_url or settings.store_dir
        if (found.get("embedding_model"), found.get("dimension")) != (self.model, self.dim):
            raise StoreError(
                f"the store at {where} was built with {found.get('embedding_model')} "
                f"({found.get('dimension')} dims) but {self.model} ({self.dim} dims) is configured; "
                "set CHATBOT_EMBEDDER back, or use another CHATBOT_STORE_DIR (or delete this one) "
                "and run python -m chatbot ingest"
            )
        wrote = str(found.get("chromadb", chromadb.__version__))  # stores before this: unknown
        if _release(wrote) != _release(chromadb.__version__):
            raise StoreError(
                f"the store at {where} was written by chromadb {wrote}, this is chromadb "
                f"{chromadb.__version__}; install chromadb=={wrote}, or use another "
                "CHATBOT_STORE_DIR (or delete this one) and run python -m chatbot ingest"
            )
        self._where = where
        self._seen = str(found.get("revision", ""))  # the revision the open client has read
        self._snapshot: Snapshot | None = None
        # saved snapshots live with an embedded store (and go with it), else in the cache
        self._snapshots = (
            settings.cache_dir / "snapshots"
            if settings.chroma_url
            else settings.store_dir / "snapshots"
        )
        self._name = f"{settings.chroma_url or settings.store_dir.resolve()}|{settings.collection}"
        # the write lock and journal: beside an embedded store, in the cache for a server's
        local = settings.cache_dir / "stores" / hashlib.sha256(self._name.encode()).hexdigest()[:16]
        self.journal = Journal(
            local if settings.chroma_url else settings.store_dir, settings.write_timeout_s
        )
        self._batch = min(BATCH, self.client.get_max_batch_size())
        self._settle()

    def _open(self) -> None:
        """Open the collection. An embedded client gets a chromadb system (the vector index in
        memory) of its own: chromadb shares one per path in a process, which would keep another
        store's index stale, or stop it."""
        meta = {
            "hnsw:space": "cosine",
            "embedding_model": self.model,
            "dimension": self.dim,
            "chromadb": chromadb.__version__,
        }
        try:
            if self.settings.chroma_url:
                self.client = open_client(self.settings)
            else:
                SharedSystemClient.clear_system_cache()
                self.client = open_client(self.settings)
                self._system = self.client._system
                SharedSystemClient.clear_system_cache()
                index_log.keep_log(self.settings.store_dir)  # a cut-short index can be rebuilt
            self.db = Chroma(
                collection_name=self.settings.collection,
                embedding_function=self.embeddings,
                client=self.client,
                collection_metadata=meta,
            )
        except (StoreError, ConfigError):
            raise
        except Exception as exc:
            name = self.settings.collection
            raise StoreError(f"cannot open collection {name!r}: {exc}") from None

    def _reopen(self) -> None:
        """A fresh embedded client, reading the vector index as another process left it. The old
        system is stopped at the next re-open, so a query still running on it can finish."""
        if self._retired is not None:
            self._retired.stop()
        self._retired = self._system
        self._open()

    # -- the shared revision -------------------------------------------------------------------
    def _metadata(self) -> dict:
        try:
            return dict(self.client.get_collection(self.settings.collection).metadata or {})
        except Exception as exc:
            raise StoreError(f"cannot read the vector store: {exc}") from None

    def revision(self) -> str:
        """The store's revision, shared by every process; changed by each ingest or removal.
        When another process changed it, the embedded client is re-opened first."""
        revision = str(self._metadata().get("revision", ""))
        if revision != self._seen:
            if not self.settings.chroma_url:  # a server's index is shared; an embedded one is not
                self._reopen()
            self._seen = revision
        return revision

    def removed(self) -> set[str]:
        """Sources removed from the store and not ingested since: an ingest of the seeds folder
        skips them, so a removal outlasts a restart (`Chatbot.ingest`)."""
        return set(json.loads(self._metadata().get("removed", "[]")))

    def _bump(self, removed: str = "", added: str = "") -> None:
        """Give the store a new revision, noting a source `removed` or `added` (ingested again).
        `modify` replaces the whole metadata, so the other keys are passed again (all but
        hnsw:*, which chromadb refuses to change)."""
        meta = {k: v for k, v in self._metadata().items() if not k.startswith("hnsw:")}
        before, meta["revision"] = meta.get("revision", ""), uuid.uuid4().hex
        gone = (set(json.loads(meta.get("removed", "[]"))) | {removed}) - {added, ""}
        meta["removed"] = json.dumps(sorted(gone), ensure_ascii=False)
        meta["chromadb"] = chromadb.__version__
        self.client.get_collection(self.settings.collection).modify(metadata=meta)
        # another process's change since this one last looked: re-open on the next read
        self._seen = meta["revision"] if before == self._seen else before

    # -- writing -------------------------------------------------------------------------------
    def _delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self._batch):
            self.db.delete(ids=ids[i : i + self._batch])

    def _recover(self) -> None:
        """Under the write lock: undo the adds of a write that died, or finish its drop."""
        entry = self.journal.pending()
        if entry is None:
            return
        ids = entry.add if entry.phase == "add" else entry.drop
        if not self.settings.chroma_url:  # deleting needs room too: chromadb hangs without it
            free = shutil.disk_usage(self.settings.store_dir).free
            if free < UNDO_ROOM + 4096 * len(ids):
                raise StoreError(
                    f"the disk holding the store at {self._where} is full ({free:,} bytes free): "
                    "free some space; an unfinished write is undone then"
                )
        self.revision()
        for attempt in (1, 2):
            try:
                self._delete(ids)
                self._bump()
                break
            except Exception as exc:
                if attempt == 2 or not self._rebuilt(exc):
                    raise write_error(exc, self._where) from None
        self.journal.end()

    def _rebuilt(self, exc: Exception) -> bool:
        """When the write that died left chromadb's vector index cut short: rebuild it from the
        log, if the log is whole (`index_log`), and say so."""
        if self.settings.chroma_url or "hnsw segment reader" not in str(exc):
            return False
        if not index_log.whole_log(self.settings.store_dir):
            return False
        index_log.rebuild(self.settings.store_dir)
        self._reopen()
        return True

    def _settle(self) -> None:
        """Before a read: a write that died (or stopped on a full disk) left its journal and
        no one is writing, so undo or finish it now (one stat when there is none)."""
        with self.journal.idle() as mine:
            if mine:
                self._recover()

    def upsert(self, article: Article, progress: Callable[[int], None] | None = None) -> str:
        """Add an article, replace its older version, or do nothing: 'added'|'replaced'|'unchanged'.
        All or nothing: on any failure (or a kill) the old version stays, whole."""
        with self.journal.writing():
            self._recover()
            self.revision()  # re-open first if another process changed the store
            return self._upsert(article, progress)

    def _upsert(self, article: Article, progress: Callable[[int], None] | None) -> str:
        about = (article.title, article.date, article.origin)
        old = self.db.get(where={"source": article.source}, include=["metadatas"])
        if old["ids"] and all(
            m.get("article_id") == article.id
            and m.get("split") == SPLIT_VERSION
            and (m.get("title"), m.get("date"), m.get("origin")) == about
            for m in old["metadatas"]
        ):
            return "unchanged"
        passages = split_article(article)
        # every id of a new version is new (its title and date are in the key too), so undoing
        # an unfinished write is deleting the ids it added
        key = "\0".join([article.source, article.id, str(SPLIT_VERSION), *about])
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
                        "title": article.title,
                        "date": article.date,
                        "origin": article.origin,
                    }
                )
        stale = sorted(set(old["ids"]) - set(ids))
        entry = Entry(article.source, add=sorted(set(ids) - set(old["ids"])), drop=stale)
        self.journal.begin(entry)
        try:
            for i in range(0, len(ids), self._batch):
                part = slice(i, i + self._batch)
                self.db.add_texts(texts[part], metadatas=metas[part], ids=ids[part])
                if progress:
                    progress(len(ids[part]))
        except BaseException as exc:  # undo what was added; a kill leaves it to the journal
            if not disk_full(exc):  # on a full disk chromadb's delete hangs: the journal waits
                try:
                    self._delete(entry.add)
                    self.journal.end()
                except Exception:
                    pass  # the next writer or opener undoes it
            if isinstance(exc, (ChatbotError, KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            raise write_error(exc, self._where) from None
        try:
            self.journal.begin(Entry(article.source, drop=stale, phase="drop"))
            self._delete(stale)
            self._bump(added=article.source)
        except ChatbotError:
            raise
        except Exception as exc:  # the new version is whole; the journal finishes the drop
            raise write_error(exc, self._where) from None
        self.journal.end()
        return "replaced" if old["ids"] else "added"

    def remove(self, source: str) -> int:
        """Drop one article's records; how many there were."""
        with self.journal.writing():
            self._recover()
            self.revision()
            old = self.db.get(where={"source": source}, include=[])
            if old["ids"]:
                self.journal.begin(Entry(source, drop=old["ids"], phase="drop"))
                try:
                    self._delete(old["ids"])
                    self._bump(removed=source)
                except Exception as exc:
                    raise write_error(exc, self._where) from None
                self.journal.end()
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

    def _load(self) -> Snapshot:
        """What the records give as of the current revision: kept in memory, saved to disk and
        loaded from there by another process, derived anew only for a new revision."""
        self._settle()
        revision = self.revision()
        if self._snapshot is None or self._snapshot.revision != revision:
            found = snapshot.load(self._snapshots, self._name, revision) if revision else None
            if found is None:
                found = snapshot.build(revision, self._records())
                if revision:  # a store from before revisions: nothing to key it by
                    snapshot.save(self._snapshots, self._name, found)
            self._snapshot = found
        return self._snapshot

    def keyword_index(self) -> tuple[bm25s.BM25 | None, list[Sentence]]:
        """BM25 over every sentence, and the sentences in its order."""
        found = self._load()
        return found.keywords, found.sentences

    def sentences(self, source: str | None = None) -> list[Sentence]:
        """Every sentence in the store (of article `source` only, when given), ordered by
        source and position."""
        sents = self._load().sentences
        return sents if source is None else [s for s in sents if s.source == source]

    def passage_of(self, sentence: Sentence) -> Passage:
        """The passage of a sentence, from the records the last `sentences()` read (a question
        reads one snapshot, without asking the revision each time); a sentence removed by another
        process meanwhile is its own passage."""
        found = (self._snapshot or self._load()).passages.get(sentence)
        if found is None:  # stored since that snapshot, or removed
            found = self._load().passages.get(sentence)
        return found or Passage(sentence.source, sentence.start, sentence.end, (sentence,))

    def articles(self) -> dict[str, int]:
        """source → number of sentences."""
        return {a.source: a.sentences for a in self._load().articles}

    def catalog(self) -> list[StoredArticle]:
        """Every stored article (source, title, date, sentence count), ordered by source."""
        return list(self._load().articles)

    def count(self) -> int:
        return self.db._collection.count()

    def search(
        self, vector: list[float], k: int, source: str | None = None
    ) -> list[tuple[Sentence, float]]:
        """The k nearest sentences (of article `source` only, when given) with their cosine."""
        self._settle()
        self.revision()
        n = self.count()
        if n == 0:
            return []
        where = {"source": source} if source is not None else None
        hits = self.db.similarity_search_by_vector_with_relevance_scores(
            vector, k=min(k, n), filter=where
        )
        return [(sentence_of(doc.metadata), 1.0 - dist) for doc, dist in hits]
