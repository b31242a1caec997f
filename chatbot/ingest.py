"""Ingest article files into the store: check every file first, then write, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from .articles import Article, find_article_files, load_article
from .errors import InputError
from .splitting import sentences_of, split_article
from .store import ArticleStore


def load_all(paths: Iterable[Path], root: Path) -> list[Article]:
    """Every article named, checked before anything is written (one bad file changes nothing)."""
    articles = [load_article(p, root) for p in find_article_files(paths)]
    if not articles:
        raise InputError("no .txt or .md files found to ingest")
    return articles


def ingest(
    store: ArticleStore, articles: list[Article], progress: bool = True
) -> list[tuple[str, str]]:
    """Upsert each article; returns (source, 'added'|'replaced'|'unchanged') pairs."""
    sizes = [len(sentences_of(split_article(a))) for a in articles]
    results = []
    with tqdm(total=sum(sizes), unit="sent", desc="ingesting", disable=not progress) as bar:
        for a, size in zip(articles, sizes, strict=True):
            status = store.upsert(a, progress=bar.update)
            if status == "unchanged":
                bar.update(size)
            results.append((a.source, status))
    return results
