"""The chatbot over HTTP (FastAPI): its own API and an OpenAI-compatible one.

- `POST /ask` {"question", "history"?: [[role, text], ...], "article"?} → the answer's JSON shape
  (`Answer.to_dict()`, as `ask --json` prints it).
- `POST /ask/stream`: server-sent events: `text` ({"text": piece}), the answer's text sentence by
  sentence as each is verified (never the model's raw words), then `answer` (the verified
  answer's JSON shape), or `error` ({"error": message}).
- `POST /v1/chat/completions`, `GET /v1/models`: OpenAI-compatible. The last user message is the
  question, the user/assistant messages before it the history; a system message is ignored (the
  chatbot's instructions are its own). The content is the verified answer with its [n] markers;
  `citations` and `refused` are extra fields of the response and of the last stream chunk. A
  stream sends the answer's text sentence by sentence as each is verified (as `/ask/stream`),
  never the model's raw pieces.
- `GET /articles` (as `articles list --json`), `GET /health`, FastAPI's `/openapi.json`, `/docs`.
- `POST /articles` {"name": "x.txt|.md|.html", "text"}: saved under `seeds/uploads/` (checked
  as a UI upload is) and ingested → {"source", "status": "added"|"replaced"|"unchanged"};
  `DELETE /articles/{source}` drops it from the store (its file stays) → {"removed": source}.
  Both take their turn in the model's queue (one change or answer at a time). Replicas that
  share a Chroma server and the articles' folder see the change on their next question.

Bounds: the question's length (`chain.check_question`), the body's size (413), one answer at a
time on the model with `settings.serve_queue` more waiting (beyond that 503 with Retry-After) and
`settings.serve_timeout_s` per request (503). Errors are {"error": "<the CLI's one line>"}. With
`settings.api_key` set, every route but /health needs `Authorization: Bearer KEY` (401).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from .admission import Gatekeeper, ModelQueue, Unavailable, error
from .answer import Answer
from .chain import Chatbot, check_question
from .errors import ChatbotError, InputError, ModelError
from .settings import Settings
from .uploads import save_upload

MAX_BODY_BYTES = 64 * 1024
MODEL_ID = "chatbot"


class AskRequest(BaseModel):
    question: str
    history: list[tuple[Literal["user", "assistant"], str]] = Field(default_factory=list)
    article: str | None = None  # answer from this article only (its source, or the end of it)


class ArticleRequest(BaseModel):
    name: str  # the file name: its suffix (.txt, .md, .html) says how the text is read
    text: str


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only the text ones are read
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat request; sampling fields (temperature, max_tokens, …) are ignored."""

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message (the question) and the user/assistant messages before it."""
    said = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant")]
    users = [i for i, (role, _) in enumerate(said) if role == "user"]
    if not users:
        raise InputError("the messages hold no user message (the last one is the question)")
    return said[users[-1]][1], said[: users[-1]]


def message_of(exc: Exception) -> str:
    """The one line a client is told: a ChatbotError's own, else the kind of failure only."""
    if isinstance(exc, ChatbotError):
        return str(exc)
    return f"internal error ({type(exc).__name__}); see the server's log"


def status_of(exc: ChatbotError) -> int:
    if isinstance(exc, InputError):
        return 400
    return 503 if isinstance(exc, Unavailable | ModelError) else 500


def sse(data: object, event: str = "") -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def completion(answer: Answer, stream: bool, cid: str, created: int) -> dict[str, Any]:
    """An OpenAI chat completion (or its last stream chunk), with the citations beside it."""
    extra = {"citations": answer.to_dict()["citations"], "refused": answer.refused}
    if stream:
        choice = {"index": 0, "delta": {}, "finish_reason": "stop"}
        return {**chunk(cid, created, choice), **extra}
    s = answer.stats
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "total_tokens": s.prompt_tokens + s.completion_tokens,
        },
        **extra,
    }


def chunk(cid: str, created: int, choice: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [choice],
    }


def create_app(bot: Chatbot, settings: Settings) -> FastAPI:
    """The HTTP API over `bot`; bounds and the key from `settings`."""
    app = FastAPI(
        title="News chatbot",
        description="Grounded answers over news articles; every claim cites an exact span.",
    )
    app.add_middleware(Gatekeeper, api_key=settings.api_key, max_body=MAX_BODY_BYTES)
    queue = ModelQueue(settings.serve_queue, settings.serve_timeout_s)

    @app.exception_handler(ChatbotError)
    async def chatbot_error(request: Request, exc: ChatbotError) -> JSONResponse:
        return error(status_of(exc), str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return error(400, re.sub(r"\s+", " ", "; ".join(parts)))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        return error(500, message_of(exc))

    def answer_events(
        question: str, history: list[tuple[str, str]], article: str | None
    ) -> AsyncGenerator[Any, None]:
        q = check_question(question)  # before taking a place in the queue
        return queue.events(lambda: bot.stream(q, history, article))

    async def verified(events: AsyncGenerator[Any, None]) -> Answer:
        try:
            async for event in events:
                if isinstance(event, Answer):
                    return event
        finally:
            await events.aclose()
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def respond(body: AsyncIterator[str], events: AsyncGenerator[Any, None]) -> StreamingResponse:
        async def guarded() -> AsyncIterator[str]:
            try:
                async for text in body:
                    yield text
            finally:
                await events.aclose()

        return StreamingResponse(guarded(), media_type="text/event-stream")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": bot.llm.name}

    @app.get("/articles")
    def articles() -> list[dict[str, Any]]:
        """The stored articles, as `articles list --json` prints them."""
        return [a.to_dict() for a in bot.store.catalog()]

    async def in_turn(change: Callable[[], dict[str, str]]) -> dict[str, str]:
        """A change to the store, in the model's queue (bounded, timed) like an answer."""
        events = queue.events(lambda: iter([change()]))
        try:
            return await anext(events)
        finally:
            await events.aclose()

    @app.post("/articles")
    async def add_article(req: ArticleRequest) -> dict[str, str]:
        """Save the article under seeds/uploads/ and ingest it: {"source", "status"}."""

        def change() -> dict[str, str]:
            path = save_upload(settings.seeds_dir / "uploads", req.name, req.text.encode())
            ((source, status),) = bot.ingest([path], progress=False)
            return {"source": source, "status": status}

        return await in_turn(change)

    @app.delete("/articles/{source:path}")
    async def remove_article(source: str) -> dict[str, str]:
        """Drop an article from the store (its file stays): {"removed": source}."""
        return await in_turn(lambda: {"removed": bot.remove(source)})

    @app.post("/ask")
    async def ask(req: AskRequest) -> dict[str, Any]:
        """The verified answer: {"answer", "refused", "citations": [source, start, end, quote]}."""
        return (await verified(answer_events(req.question, req.history, req.article))).to_dict()

    @app.post("/ask/stream")
    async def ask_stream(req: AskRequest) -> StreamingResponse:
        """Server-sent events: `text` pieces as they are verified, then `answer` (or `error`)."""
        events = answer_events(req.question, req.history, req.article)
        first = await anext(events)  # an error before the first event is the response's status

        async def body() -> AsyncIterator[str]:
            try:
                yield as_event(first)
                async for event in events:
                    yield as_event(event)
            except Exception as exc:
                yield sse({"error": message_of(exc)}, "error")

        def as_event(event: str | Answer) -> str:
            if isinstance(event, Answer):
                return sse(event.to_dict(), "answer")
            return sse({"text": event}, "text")

        return respond(body(), events)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "chatbot"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(req: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """OpenAI-compatible; `citations` and `refused` are extra fields (see the module doc)."""
        question, history = conversation(req.messages)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        events = answer_events(question, history, None)
        if not req.stream:
            return completion(await verified(events), False, cid, created)
        first = await anext(events)  # an error before the first event is the response's status

        def content(text: str) -> str:
            delta = {"index": 0, "delta": {"content": text}, "finish_reason": None}
            return sse(chunk(cid, created, delta))

        async def body() -> AsyncIterator[str]:
            role = {"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}
            yield sse(chunk(cid, created, role))
            event = first
            try:  # `Chatbot.stream` sends the answer's text in verified pieces, then the Answer
                while not isinstance(event, Answer):
                    yield content(event)
                    event = await anext(events)
            except Exception as exc:  # OpenAI's error shape, which its clients raise
                yield sse({"error": {"message": message_of(exc), "type": type(exc).__name__}})
                return
            yield sse(completion(event, True, cid, created))
            yield "data: [DONE]\n\n"

        return respond(body(), events)

    return app


def serve(bot: Chatbot, settings: Settings, host: str, port: int) -> int:
    """Run the API with uvicorn until interrupted (the model reads its prompt first)."""
    import uvicorn

    bot.warm()
    uvicorn.run(create_app(bot, settings), host=host, port=port, log_level="info")
    return 0
