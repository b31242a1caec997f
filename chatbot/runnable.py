"""The chain as a LangChain Runnable: invoke, batch, stream and their async forms.

Input: a question string, or {"question": str, "history": [[role, text], ...], "article": str}
("article", optional, limits the answer to one article).
`invoke` returns the answer's JSON shape; `stream` yields text chunks, then that same dict.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .answer import Answer
from .chain import Chatbot
from .errors import InputError


def _unpack(value: str | dict[str, Any]) -> tuple[str, list[tuple[str, str]], str | None]:
    if isinstance(value, str):
        return value, [], None
    if isinstance(value, dict) and isinstance(value.get("question"), str):
        history = [(str(r), str(t)) for r, t in value.get("history") or []]
        article = value.get("article")
        return value["question"], history, None if article is None else str(article)
    raise InputError(
        'input must be a question string or {"question": ..., "history": [...], "article": ...}'
    )


class ChatbotRunnable(Runnable[str | dict[str, Any], Any]):
    def __init__(self, bot: Chatbot) -> None:
        self.bot = bot

    def _ask(self, value: str | dict[str, Any]) -> dict[str, Any]:
        return self.bot.ask(*_unpack(value)).to_dict()

    def invoke(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return self._call_with_config(self._ask, input, config)

    def stream(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | dict[str, Any]]:
        for event in self.bot.stream(*_unpack(input)):
            yield event.to_dict() if isinstance(event, Answer) else event

    async def astream(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | dict[str, Any]]:
        events = self.stream(input, config)
        done = object()
        while (event := await asyncio.to_thread(next, events, done)) is not done:
            yield event
