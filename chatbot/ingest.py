"""Articles in and out of the store: check every file first, then write (with a progress bar);
remove one article with its saved model states. Each article goes in whole or not at all
(`ArticleStore.upsert`); a file that fails a check (`articles.py`: size, encoding, binary, the
allowed folders, symlink loops) stops the ingest before anything is written."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from .articles import (
    MAX_BYTES,
    Article,
    check_allowed,
    drop_saved_states,
    find_article_files,
    load_article,
    save_extraction,
    source_name,
)
from .errors import InputError
from .settings import Settings
from .splitting import sentences_of, split_article
from .store import ArticleStore


def load_all(
    paths: Iterable[Path],
    root: Path,
    allowed: Sequence[Path] = (),
    max_bytes: int = MAX_BYTES,
) -> list[Article]:
    """Every article named, checked before anything is written (one bad file changes nothing);
    then the text extracted from each HTML page is written beside it. Files must lie inside
    `root` or one of the `allowed` folders."""
    files = find_article_files(paths)
    for f in files:
        check_allowed(f, (root, *allowed))
    articles = [load_article(f, root, max_bytes) for f in files]
    if not articles:
        raise InputError("no .txt, .md or .html files found to ingest")
    for a in articles:
        save_extraction(a, root)
    return articles


def ingest(
    store: ArticleStore, articles: list[Article], progress: bool = True, skip_removed: bool = False
) -> list[tuple[str, str]]:
    """Upsert each article; returns (source, 'added'|'replaced'|'unchanged'|'skipped') pairs.
    With `skip_removed` (a folder ingested by default, as at start-up) an article removed from
    the store is skipped, so its removal lasts; naming it again brings it back."""
    removed = store.removed() if skip_removed else set()
    results = [(a.source, "skipped") for a in articles if a.source in removed]
    articles = [a for a in articles if a.source not in removed]
    sizes = [len(sentences_of(split_article(a))) for a in articles]
    with tqdm(total=sum(sizes), unit="sent", desc="ingesting", disable=not progress) as bar:
        for a, size in zip(articles, sizes, strict=True):
            status = store.upsert(a, progress=bar.update)
            if status == "unchanged":
                bar.update(size)
            results.append((a.source, status))
    return results


def stored_source(store: ArticleStore, name: str, root: Path) -> str:
    """The stored article `name` means: its source as listed, a path to it, the HTML page it
    was extracted from, or the end of one source's path ("harbour.txt"). An InputError when
    there is none, or several."""
    listed = store.catalog()
    wanted = {name, Path(name).as_posix()}
    if Path(name).exists():
        wanted.add(source_name(Path(name), root))
    names = [(a.source, {a.source, a.origin or a.source}) for a in listed]
    found = [s for s, both in names if both & wanted] or [
        s for s, both in names if any(x.endswith("/" + name) for x in both)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"{name!r} names {len(found)} articles: {', '.join(found)}")
    raise InputError(
        f"no article {name!r} in the store (python -m chatbot articles list shows them)"
    )


def remove(store: ArticleStore, settings: Settings, name: str) -> str:
    """Drop one article's records, its saved model states and its question bank (its files stay
    on disk); the source removed."""
    from .questions import drop as drop_questions

    source = stored_source(store, name, settings.root)
    store.remove(source)
    drop_saved_states(settings, source)
    drop_questions(settings, source)
    return source
