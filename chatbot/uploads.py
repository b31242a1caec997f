"""Saving an article given through the UI (an uploaded file or pasted text): check it first,
then write it under seeds/uploads/."""

from __future__ import annotations

import re
from pathlib import Path

from .articles import HTML_SUFFIXES, MAX_BYTES, SUFFIXES, decode_utf8, extract_html, first_line
from .errors import InputError

MAX_NAME = 60  # characters of a pasted article's file name, from its title


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-.")


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Validate (type, size, UTF-8 and not binary, or a page with text; not empty) and write;
    nothing is written for a bad file."""
    stem = _safe_name(Path(name).name) or "article.txt"
    suffix = Path(stem).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{name}: only .txt, .md and .html files can be added")
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is larger than {MAX_BYTES:,} bytes")
    if suffix in HTML_SUFFIXES:
        extract_html(data, name)  # a page without article text is an error
    else:
        text = decode_utf8(data, name)  # the same checks and messages as ingest
        if not text.strip():
            raise InputError(f"{name} is empty")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stem
    path.write_bytes(data)
    return path


def save_pasted(folder: Path, text: str, title: str = "") -> Path:
    """Write pasted text as a .txt named after its title (or first line); a given title goes in
    front matter. Another article's name is never overwritten (`-2`, `-3`, … are added)."""
    if not text.strip():
        raise InputError("the pasted text is empty")
    title = " ".join(title.split())
    body = text.strip() + "\n"
    content = f"---\ntitle: {title}\n---\n\n{body}" if title else body
    data = content.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise InputError(f"the pasted text is larger than {MAX_BYTES:,} bytes")
    stem = _safe_name(title or first_line(body))[:MAX_NAME].strip("-.").lower() or "pasted"
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{stem}.txt", 1
    while path.exists() and path.read_bytes() != data:
        n += 1
        path = folder / f"{stem}-{n}.txt"
    path.write_bytes(data)
    return path
