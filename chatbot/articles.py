"""Loading article files: the Article record, content-hash ids, and input checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SUFFIXES = (".txt", ".md")
MAX_BYTES = 5_000_000


@dataclass(frozen=True)
class Article:
    """One article file. `source` is its path relative to the root (POSIX form)."""

    source: str
    text: str

    @property
    def id(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def source_name(path: Path, root: Path) -> str:
    """The path as it appears in citations: relative to root when inside it."""
    path = path.resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(path: Path) -> str:
    """Read a file as UTF-8 exactly as stored (no newline translation)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"{path} is larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (bad byte at offset {exc.start})") from None


def load_article(path: Path, root: Path) -> Article:
    """Load and check one article file."""
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: only {' and '.join(SUFFIXES)} files can be ingested")
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path} is empty")
    return Article(source=source_name(path, root), text=text)


def find_article_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their .txt/.md files; a missing path is an error."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES))
        elif p.exists():
            found.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    return found
