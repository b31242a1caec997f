"""Who gets to the model, for `serve`: the gate every request passes (API key, body size) and the
queue that lets one answer run at a time with a bounded line behind it.

Errors here are the server's JSON shape, {"error": "<one line>"}; a 503 says when to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ChatbotError

RETRY_AFTER_S = 5


class Unavailable(ChatbotError):
    """The model is busy (the queue is full) or did not answer in time: retry later (503)."""


class ModelQueue:
    """One answer at a time on the model, `waiting` more in line, each within `timeout_s`.

    An answer runs in a thread of its own once it has the turn; its events come back to the
    event loop as they are made. A request beyond the line is refused at once (Unavailable)."""

    _END = object()

    def __init__(self, waiting: int, timeout_s: float) -> None:
        self.waiting, self.timeout_s = max(waiting, 0), timeout_s
        self.slots = threading.BoundedSemaphore(self.waiting + 1)
        self.turn = threading.Lock()

    async def events(self, work: Callable[[], Iterator[Any]]) -> AsyncGenerator[Any, None]:
        if not self.slots.acquire(blocking=False):
            raise Unavailable(
                f"the model is busy (one answer running, {self.waiting} waiting); retry shortly"
            )
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()  # the request has gone: timed out or the client left

        def post(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the event loop has closed
                loop.call_soon_threadsafe(out.put_nowait, item)

        def produce() -> None:
            try:
                with self.turn:
                    if not stop.is_set():  # still wanted when its turn came
                        for event in work():
                            post(event)
                            if stop.is_set():
                                break
            except Exception as exc:  # raised again on the event loop, as the request's error
                post(exc)
            finally:
                self.slots.release()
                post(self._END)

        deadline = loop.time() + self.timeout_s
        threading.Thread(target=produce, daemon=True).start()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(out.get(), max(deadline - loop.time(), 0))
                except TimeoutError:
                    raise Unavailable(
                        f"no answer within {self.timeout_s:g} s; retry later"
                    ) from None
                if item is self._END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()


class Gatekeeper:
    """ASGI middleware: the API key (every route but /health) and the body size, before routing."""

    def __init__(self, app: ASGIApp, api_key: str, max_body: int) -> None:
        self.app, self.api_key, self.max_body = app, api_key, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("authorization", "").encode()
        if (
            self.api_key
            and scope["path"] != "/health"
            and not hmac.compare_digest(given, f"Bearer {self.api_key}".encode())
        ):
            await error(401, "a valid API key is needed: Authorization: Bearer KEY")(
                scope, receive, send
            )
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await error(413, self._too_large())(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:  # a body sent without its length is counted as it comes
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> str:
        return f"the request body is over {self.max_body:,} bytes"


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": message}, status_code=status, headers=headers)
