"""The prompt always fits the model's context window, with room left for the answer.

`fit` builds the prompt (`PromptBuilder.build`) and, while its tokens exceed the context minus
the answer budget (`n_ctx - max_tokens`), drops what matters least first: the retrieved
passages from the last, the earlier question, the relevant sentences from the last, and last
the home sentences of the system prompt. What is left over is the instructions and the
question; if even that does not fit, the question is too long for the model (an InputError).
Tokens are counted by the model's own tokenizer where it has one (`count_tokens`, llama.cpp),
else estimated; the chat template's own tokens are added on top.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

from .errors import InputError
from .prompting import Prompt, PromptBuilder, estimate_tokens
from .splitting import Passage, Sentence

TEMPLATE_TOKENS = 32  # the chat template around two messages and the reply's opening
Counter = Callable[[str], int]


def counter_of(llm: object) -> Counter:
    """The model's own token count when it offers one, else the estimate."""
    count = getattr(llm, "count_tokens", None)
    return count if callable(count) else estimate_tokens


def prompt_tokens(prompt: Prompt, count: Counter) -> int:
    """The tokens the model reads for `prompt`, template included."""
    return sum(count(m["content"]) for m in prompt.messages) + TEMPLATE_TOKENS


@dataclass(frozen=True)
class Parts:
    """What a prompt is built from (`PromptBuilder.build`'s arguments)."""

    home: list[Sentence]
    relevant: list[Sentence]
    passages: list[Passage]
    ranked: list[Sentence]
    question: str
    earlier: str
    budget: int
    text_budget: int


def _smaller(parts: Parts) -> Parts | None:
    """`parts` with the least important piece left out; None when nothing is left to drop."""
    if parts.passages:
        return replace(parts, passages=parts.passages[:-1])
    if parts.earlier:
        return replace(parts, earlier="")
    if parts.relevant:
        return replace(parts, relevant=parts.relevant[:-1])
    if parts.home:
        return replace(parts, home=[])
    return None


def fit(builder: PromptBuilder, parts: Parts, limit: int, count: Counter) -> Prompt:
    """The prompt of `parts`, trimmed to at most `limit` tokens (template included)."""
    count = functools.lru_cache(maxsize=16)(count)  # the system text is counted once
    current: Parts | None = parts
    used = 0
    while current is not None:
        prompt = builder.build(**vars(current))
        used = prompt_tokens(prompt, count)
        if used <= limit:
            return prompt
        current = _smaller(current)
    raise InputError(
        f"the question is too long for the model: the prompt takes {used:,} tokens even "
        f"without any article text, and {limit:,} fit beside the answer; ask a shorter question"
    )
