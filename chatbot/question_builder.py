"""Builds question banks on a background thread, one article at a time, with progress to show.

The chat stays usable meanwhile: each model call takes the model's lock, so the chat's next
question waits at most for one answer of the builder's. The Streamlit app queues an article after
ingest, or the first time it is viewed or asked about in a store of many articles.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .errors import ChatbotError
from .questions import QuestionBank


class Builder:
    """Builds banks one at a time on a background thread (model calls are serialized with the
    chat's by the model's lock); the UI reads `status()` to show progress."""

    def __init__(self, bank: QuestionBank) -> None:
        self.bank = bank
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self._thread: threading.Thread | None = None
        self.current: str | None = None
        self.done_count, self.total, self.note = 0, 0, ""
        self.finished: list[str] = []  # sources built, in order
        self.errors: dict[str, str] = {}

    def want(self, sources: Iterable[str]) -> None:
        """Queue the articles that have no valid bank yet; start the thread if it is idle."""
        with self._lock:
            for s in sources:
                waiting = s == self.current or s in self._queue or s in self.errors
                if not waiting and not self.bank.ready(s):
                    self._queue.append(s)
            if self._queue and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="question-bank", daemon=True)
                self._thread.start()

    def busy(self) -> bool:
        with self._lock:
            return self.current is not None or bool(self._queue)

    def status(self) -> tuple[str, int, int, str, int] | None:
        """(source, done, total, note, waiting) of the build under way, or None."""
        with self._lock:
            if self.current is None:
                return None
            return self.current, self.done_count, self.total, self.note, len(self._queue)

    def _progress(self, done: int, total: int, note: str) -> None:
        with self._lock:
            self.done_count, self.total, self.note = done, total, note

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self.current = None
                    return
                self.current = self._queue.pop(0)
                self.done_count, self.total, self.note = 0, self.bank.candidates, "starting"
            source = self.current
            try:
                if not self.bank.ready(source):
                    self.bank.build(source, self._progress)
                self.finished.append(source)
            except ChatbotError as exc:  # the article went away, the model failed: say so once
                self.errors[source] = str(exc)
            except Exception as exc:  # never leave the thread's state as if still building
                self.errors[source] = f"{type(exc).__name__}: {exc}"

    def wait(self, timeout: float = 600.0) -> bool:
        """Block until the queue is done (tests, the command line); whether it finished."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy()
