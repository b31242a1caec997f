"""One writer at a time, and a write that is all or nothing, for the Chroma store.

The embedded store cannot take two writing processes at once (its SQLite file and its vector
index files are each written by one process's copy), so every write holds a file lock
(`write.lock`, the `filelock` package) beside the store. A process killed while it holds it
releases it (the operating system drops the lock with the process).

Before a write adds anything it records what it is about to do in `journal.json` (written
atomically): the ids it adds and the ids it then drops. A write that finishes removes the
journal. A journal found by the next writer, or by a process opening the store while no one
writes, belongs to a write that died (killed, disk full, power): its added ids are deleted, or,
when it had already added everything and was dropping the old version, the drop is finished.
Either way the store holds each article whole, the old version or the new one.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import StoreError


@dataclass
class Entry:
    """A write in progress: `phase` is "add" (adding `add`) or "drop" (all added; dropping
    `drop`, the old version)."""

    source: str
    add: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    phase: str = "add"


class Journal:
    """The write lock and the journal of one store, in `folder`."""

    def __init__(self, folder: Path, timeout_s: float) -> None:
        self.folder = folder
        self.path = folder / "journal.json"
        self.timeout_s = timeout_s
        self._lock = FileLock(str(folder / "write.lock"))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock (waiting up to the timeout for another process's write)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with self._lock.acquire(timeout=self.timeout_s):
                yield
        except Timeout:
            raise StoreError(
                f"another process has been writing to the store for {self.timeout_s:.0f} s "
                f"(lock {self._lock.lock_file}); try again when it is done"
            ) from None

    @contextmanager
    def idle(self) -> Iterator[bool]:
        """The write lock if no one holds it now (True), else nothing (False): never waits."""
        if not self.path.exists():  # the usual case: nothing to recover, take no lock
            yield False
            return
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()

    def pending(self) -> Entry | None:
        """The entry of a write that did not finish; only meaningful under the lock."""
        try:
            return Entry(**json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):  # cut short before it was renamed into place: unused
            self.path.unlink(missing_ok=True)
            return None

    def begin(self, entry: Entry) -> None:
        """Record a write before it starts (written to a temporary file, synced, renamed)."""
        tmp = self.path.with_name(f"journal.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                json.dump(asdict(entry), f)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(
                f"cannot write {self.path}: {exc.strerror}; the store is unchanged"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)

    def end(self) -> None:
        self.path.unlink(missing_ok=True)


def disk_full(exc: BaseException) -> bool:
    """Whether a write failed because the disk is full (an OS error, or SQLite's words)."""
    text = str(exc)
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    return full or "No space left" in text or "disk is full" in text


def write_error(exc: BaseException, where: object) -> StoreError:
    """One line for a failed write: a full disk says so (and what to do)."""
    text = str(exc)
    if disk_full(exc):
        return StoreError(
            f"the disk is full (the store at {where}): the article was not stored; "
            "free some space and run the ingest again (what was written is undone first)"
        )
    if "hnsw segment reader" in text:  # chromadb's index files cut short by a crash
        return StoreError(
            f"the vector index of the store at {where} was cut short (a process died while "
            "chromadb saved it); move the store aside and run python -m chatbot ingest"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return StoreError(
        f"writing to the store at {where} failed ({first}); each article is stored whole "
        "or not at all: run the ingest again"
    )
