"""What a store's records give at one revision, saved to disk so no process derives it twice.

A snapshot holds every sentence in order, each sentence's passage, the article list and the BM25
keyword index over the sentences. Deriving it at 100,000 sentences takes ~15 s (reading the
records back from Chroma ~10 s, BM25 ~4 s); loading a saved one takes well under that
(bench/retrieval.py measures both). Files are named by the store (its place and collection) and
the revision, which every ingest or removal changes, so a saved snapshot is never stale; saving
one removes the store's older ones.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bm25s

from .splitting import Passage, Sentence
from .words import content_stems


@dataclass(frozen=True)
class StoredArticle:
    """One article as the store lists it."""

    source: str
    title: str
    date: str
    sentences: int
    origin: str = ""  # the HTML page its text was extracted from, if any

    def to_dict(self) -> dict[str, str | int]:
        """The listing shape (`articles list --json`, `GET /articles`)."""
        return {
            "source": self.source,
            "title": self.title,
            "date": self.date,
            "sentences": self.sentences,
        }


@dataclass(frozen=True)
class Snapshot:
    """Everything derived from the records at one revision."""

    revision: str
    sentences: list[Sentence]  # ordered by source and position
    passages: dict[Sentence, Passage]
    articles: list[StoredArticle]
    keywords: bm25s.BM25 | None  # BM25 over `sentences`, in their order; None when empty


def sentence_of(m: dict) -> Sentence:
    return Sentence(m["source"], m["start"], m["end"], m["text"], m["kind"], m.get("context", ""))


def build(revision: str, records: Iterable[dict]) -> Snapshot:
    """A snapshot from the store's record metadata."""
    groups: dict[tuple[str, int, int], list[Sentence]] = {}
    about: dict[str, dict] = {}
    for m in records:
        key = (m["source"], m["passage_start"], m["passage_end"])
        groups.setdefault(key, []).append(sentence_of(m))
        about.setdefault(m["source"], m)
    sents, home = [], {}
    for (src, a, b), members in groups.items():
        members.sort(key=lambda s: s.start)
        passage = Passage(src, a, b, tuple(members))
        sents.extend(members)
        home.update(dict.fromkeys(members, passage))
    sents.sort(key=lambda s: (s.source, s.start))
    counts: dict[str, int] = {}
    for s in sents:
        counts[s.source] = counts.get(s.source, 0) + 1
    listed = [
        StoredArticle(
            src,
            about[src].get("title", ""),
            about[src].get("date", ""),
            n,
            about[src].get("origin", ""),
        )
        for src, n in counts.items()
    ]
    keywords = None
    if sents:
        keywords = bm25s.BM25()
        keywords.index([content_stems(s.indexed_text) or ["_"] for s in sents], show_progress=False)
    return Snapshot(revision, sents, home, listed, keywords)


def _path(folder: Path, store: str, revision: str) -> Path:
    key = hashlib.sha256(store.encode()).hexdigest()[:16]
    return folder / f"{key}-{revision}.pickle"


def load(folder: Path, store: str, revision: str) -> Snapshot | None:
    """The saved snapshot of `store` at `revision`, if there is one (and it reads)."""
    path = _path(folder, store, revision)
    try:
        with path.open("rb") as f:
            found = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # a file from another version of this code, or cut short: derive anew
        path.unlink(missing_ok=True)
        return None
    return found if isinstance(found, Snapshot) and found.revision == revision else None


def save(folder: Path, store: str, snapshot: Snapshot) -> None:
    """Write the snapshot (atomically), then drop the store's snapshots of other revisions."""
    path = _path(folder, store, snapshot.revision)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(snapshot, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    for old in folder.glob(path.name.split("-")[0] + "-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
