"""The chatbot through a running `serve` (CHATBOT_API_URL): what the UI uses of `Chatbot`, over HTTP.

Several UI replicas can share one model server this way: `RemoteChatbot.stream` reads
`POST /ask/stream` (text pieces, then the verified answer), `store.catalog()` reads
`GET /articles`, and `remove`/`add` call `DELETE /articles/SOURCE` and `POST /articles`. The
server's errors come back as the same `ChatbotError` types with its one-line
messages: 400/413 → InputError, 401 → ConfigError, 503 (busy, timed out, the model failed) →
ModelError, anything else → ChatbotError. Not offered remotely: the suggested questions (they
read the store's sentences) and saving prompt states (the server keeps its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .answer import Answer, Citation, Stats
from .errors import ChatbotError, ConfigError, InputError, ModelError
from .settings import Settings
from .snapshot import StoredArticle

TIMEOUT = httpx.Timeout(10.0, read=300.0)  # an answer may wait in the server's queue


def error_for(status: int, message: str) -> ChatbotError:
    """The ChatbotError type a response status stands for, with the server's message."""
    if status in (400, 404, 413, 422):
        return InputError(message)
    if status == 401:
        return ConfigError(f"{message} (set CHATBOT_API_KEY to the server's key)")
    if status == 503:
        return ModelError(message)
    return ChatbotError(message)


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    response.read()
    try:
        message = str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        message = f"the chatbot server answered {response.status_code}: {response.text[:200]}"
    raise error_for(response.status_code, " ".join(message.split()))


def answer_of(data: dict[str, Any], stats: Stats) -> Answer:
    """The answer's JSON shape back into an Answer."""
    cites = [Citation(c["source"], c["start"], c["end"], c["quote"]) for c in data["citations"]]
    return Answer(data["answer"], cites, bool(data["refused"]), stats)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) of each server-sent event in `lines`."""
    event, data = "", []
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield event, json.loads("\n".join(data))


@dataclass
class RemoteModel:
    name: str


class RemoteStore:
    """The server's article list (what the UI's sidebar shows)."""

    def __init__(self, bot: RemoteChatbot) -> None:
        self.bot = bot

    def catalog(self) -> list[StoredArticle]:
        rows = self.bot.get("/articles")
        return [
            StoredArticle(r["source"], r.get("title", ""), r.get("date", ""), r["sentences"])
            for r in rows
        ]

    def count(self) -> int:
        return sum(a.sentences for a in self.catalog())


class RemoteChatbot:
    """What streamlit_app uses of Chatbot, answered by the `serve` at `settings.api_url`."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        if not settings.api_url:
            raise ConfigError("CHATBOT_API_URL is not set")
        self.settings, self.url = settings, settings.api_url
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.http = http or httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT)
        health = self.get("/health")
        self.get("/v1/models")  # a wrong or missing key shows now, as the app starts
        self.llm = RemoteModel(f"{health.get('model', '?')} at {self.url}")
        self.store = RemoteStore(self)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ModelError(f"cannot reach the chatbot server at {self.url}: {exc}") from None
        _raise_for(response)
        return response

    def get(self, path: str) -> Any:
        return self._send("GET", path).json()

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), article: str | None = None
    ) -> Iterator[str | Answer]:
        """Yield the model's text as the server sends it, then the verified Answer (its stats:
        this client's latency and time to the first piece)."""
        t0 = time.perf_counter()
        stats = Stats()
        body = {"question": question, "history": [list(h) for h in history], "article": article}
        try:
            with self.http.stream("POST", "/ask/stream", json=body) as response:
                _raise_for(response)
                for event, data in sse_events(response.iter_lines()):
                    if event == "text":
                        if stats.ttft_s is None:
                            stats.ttft_s = time.perf_counter() - t0
                        yield data["text"]
                    elif event == "answer":
                        stats.latency_s = time.perf_counter() - t0
                        yield answer_of(data, stats)
                        return
                    elif event == "error":
                        raise ModelError(" ".join(str(data["error"]).split()))
        except httpx.TransportError as exc:
            raise ModelError(f"cannot reach the chatbot server at {self.url}: {exc}") from None
        raise ModelError(f"the chatbot server at {self.url} ended the answer early")

    def ask(
        self, question: str, history: Sequence[tuple[str, str]] = (), article: str | None = None
    ) -> Answer:
        for event in self.stream(question, history, article):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def warm(self, article: str | None = None) -> None:
        """Nothing to do here: the server reads its prompt states itself."""

    def remove(self, name: str) -> str:
        """Drop an article from the server's store (DELETE /articles/SOURCE); its source."""
        return str(self._send("DELETE", f"/articles/{quote(name, safe='/')}").json()["removed"])

    def add(self, path: Path) -> tuple[str, str]:
        """Send an article file to the server, which saves it under its seeds/uploads/ and
        ingests it (POST /articles): its source there and 'added'|'replaced'|'unchanged'."""
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path.name} is not UTF-8 text") from None
        data = self._send("POST", "/articles", json={"name": path.name, "text": text}).json()
        return str(data["source"]), str(data["status"])
