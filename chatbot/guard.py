"""Requests that are not questions about the articles: attempts to drop the instructions, switch
role, or have the bot write something else. They are refused before retrieval or the model."""

from __future__ import annotations

import re

_PATTERNS = [
    r"\b(?:ignore|disregard|forget|drop|bypass|override)\b.{0,40}\b(?:instructions?|rules?|prompt|"
    r"articles?|sources?|guidelines|everything|above)\b",
    r"\b(?:pretend|role-?play|act as|you are now|you're now|from now on you)\b",
    r"\bwrite\b.{0,30}\b(?:poem|song|story|speech|essay|joke|haiku|limerick|rap|code|script)\b",
    r"\btell me a joke\b",
    r"\b(?:system prompt|developer mode|jailbreak)\b",
    r"(?-i:\bDAN\b)",
    r"\b(?:own|general|outside) knowledge\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def off_limits(question: str) -> bool:
    """True for requests to leave the articles or the instructions behind."""
    return bool(_INJECTION.search(question))
