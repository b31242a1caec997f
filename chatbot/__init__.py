"""Grounded question answering over news articles, with verified cited spans.

from chatbot import Chatbot, Settings
bot = Chatbot.from_settings(Settings.from_env())
answer = bot.ask("What changed in the revised draft?")
print(answer.to_dict())
"""

from .answer import REFUSAL, Answer, Citation
from .chain import Chatbot
from .errors import ChatbotError, ConfigError, InputError, ModelError, StoreError
from .runnable import ChatbotRunnable
from .settings import Settings

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
