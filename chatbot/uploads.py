"""Saving an article uploaded through the UI: check it first, then write it under seeds/uploads/."""

from __future__ import annotations

import re
from pathlib import Path

from .articles import MAX_BYTES, SUFFIXES
from .errors import InputError


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Validate (type, size, UTF-8, not empty) and write; nothing is written for a bad file."""
    stem = re.sub(r"[^\w.-]+", "-", Path(name).name).strip("-.") or "article.txt"
    if Path(stem).suffix.lower() not in SUFFIXES:
        raise InputError(f"{name}: only .txt and .md files can be added")
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is larger than {MAX_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text") from None
    if not text.strip():
        raise InputError(f"{name} is empty")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stem
    path.write_bytes(data)
    return path
