"""Render the prompt files in prompts/ into chat messages with numbered sentences.

Layout (measured in shared/notes/prompt-layout-findings.md): what is fixed comes first so the
model's KV cache reuses it — instructions, a worked example and, when the whole store fits the
budget, every sentence of every article. Only the question, the few most relevant sentence
texts and a one-line format instruction are new per question. A store too large for the budget
gets its retrieved passages in the question message instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .splitting import Passage, Sentence

PROMPT_FILES = ("system", "articles", "question", "passages", "earlier")


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    numbering: dict[int, Sentence]  # the numbers the model may cite


class PromptBuilder:
    def __init__(self, prompts_dir: Path) -> None:
        self.templates: dict[str, str] = {}
        for name in PROMPT_FILES:
            path = prompts_dir / f"{name}.txt"
            try:
                self.templates[name] = path.read_text(encoding="utf-8")
            except OSError:
                raise ConfigError(f"prompt file missing: {path}") from None
        self._system: tuple[tuple[Sentence, ...], str, dict[Sentence, int]] | None = None

    @staticmethod
    def _lines(sentences: list[Sentence], numbers: dict[Sentence, int]) -> str:
        out, source = [], None
        for s in sentences:
            if s.source != source:
                source = s.source
                out.append(f"(article {source})")
            mark = "  - " if s.kind == "item" else ""
            out.append(f"[{numbers[s]}] {mark}{s.text}")
        return "\n".join(out)

    def system(self, corpus: list[Sentence], budget: int) -> tuple[str, dict[Sentence, int]]:
        """The fixed system prompt; the whole corpus is in it when it fits the budget."""
        key = tuple(corpus)
        if self._system is None or self._system[0] != key:
            numbers = {s: i for i, s in enumerate(corpus, 1)}
            articles = self.templates["articles"].format(sentences=self._lines(corpus, numbers))
            if estimate_tokens(articles) > budget:
                numbers, articles = {}, ""
            text = self.templates["system"].format(articles=articles).rstrip() + "\n"
            self._system = (key, text, numbers)
        return self._system[1], self._system[2]

    def build(
        self,
        corpus: list[Sentence],
        relevant: list[Sentence],
        passages: list[Passage],
        question: str,
        earlier: str,
        budget: int,
    ) -> Prompt:
        system, numbers = self.system(corpus, budget)
        passages_text = ""
        if not numbers:  # the store did not fit: number the retrieved passages instead
            shown = list(dict.fromkeys([s for p in passages for s in p.sentences] + relevant))
            numbers = {s: i for i, s in enumerate(shown, 1)}
            passages_text = self.templates["passages"].format(sentences=self._lines(shown, numbers))
        shown = {s.text for s in relevant}
        rel = "\n".join(
            f"[{numbers[s]}] "
            + ("  - " if s.context in shown else f"({s.context}) " if s.context else "")
            + s.text
            for s in relevant
        )
        user = self.templates["question"].format(
            passages=passages_text,
            relevant=rel,
            earlier=self.templates["earlier"].format(question=earlier) if earlier else "",
            question=question,
        )
        return Prompt(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            {n: s for s, n in numbers.items()},
        )
