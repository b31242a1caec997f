"""Grounded question answering over news articles, with verified cited spans.

from chatbot import Chatbot, Settings
bot = Chatbot.from_settings(Settings.from_env())
answer = bot.ask("What changed in the revised draft?")
print(answer.to_dict())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .answer import REFUSAL, Answer, Citation
from .errors import ChatbotError, ConfigError, InputError, ModelError, StoreError
from .settings import Settings

if TYPE_CHECKING:
    from .chain import Chatbot
    from .runnable import ChatbotRunnable

# imported on first use: they bring in Chroma and LangChain (~1 s), which the command line
# imports while the model loads (cli._bot)
_LAZY = {"Chatbot": ".chain", "ChatbotRunnable": ".runnable"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REFUSAL",
    "Answer",
    "Chatbot",
    "ChatbotError",
    "ChatbotRunnable",
    "Citation",
    "ConfigError",
    "InputError",
    "ModelError",
    "Settings",
    "StoreError",
]
