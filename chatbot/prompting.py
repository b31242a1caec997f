"""Render the prompt files in prompts/ into chat messages with numbered sentences.

Layout (measured in shared/notes/prompt-layout-findings.md): what is fixed comes first so the
model's KV cache reuses it — instructions, a worked example and the "home" sentences: the whole
store when it fits the budget, otherwise the article (or the part of a long article) holding the
question's best evidence. Only
the question, the few most relevant sentence texts and a one-line format instruction are new per
question; sentences pointed at in other articles are written out, numbered after the home ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .splitting import Passage, Sentence

PROMPT_FILES = ("system", "articles", "question", "passages", "earlier", "references")


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


def _ranges(numbers: list[int]) -> list[range]:
    """[3, 4, 5, 9] → [range(3, 6), range(9, 10)]"""
    out: list[range] = []
    for n in numbers:
        if out and n == out[-1].stop:
            out[-1] = range(out[-1].start, n + 1)
        elif not out or n >= out[-1].stop:
            out.append(range(n, n + 1))
    return out


def _lead(s: Sentence, shown: set[str]) -> str:
    """A list item's dash, or the sentence that introduces it when that is not shown."""
    if s.context in shown:
        return "  - " if s.kind == "item" else ""
    return f"({s.context}) " if s.context else ""


def _render(r: range) -> str:
    return f"[{r.start}]–[{r[-1]}]" if len(r) > 2 else ", ".join(f"[{n}]" for n in r)


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

    def _relevant(
        self,
        relevant: list[Sentence],
        ranked: list[Sentence],
        numbers: dict[Sentence, int],
        budget: int,
        written: set[Sentence],
    ) -> str:
        """The relevant sentences: the best ranked in full while `budget` tokens last, the rest
        by number only. When the corpus is in the cached system prompt a number is enough for the
        model to find a sentence, and every token written here is one it must read per question.
        Sentences in `written` are already written out above: they are named by number only.
        """
        wanted, full, used = set(relevant) - written, set(), 0
        for s in [*ranked, *relevant]:
            cost = estimate_tokens(s.text)
            if s in wanted and s not in full and (not full or used + cost <= budget):
                full.add(s)
                used += cost
        intros = {s.text for s in relevant}
        lines = [f"[{numbers[s]}] {_lead(s, intros)}{s.text}" for s in relevant if s in full]
        spans = _ranges(sorted(numbers[s] for s in relevant))
        refs = [r for r in spans if any(numbers[s] in r for s in relevant if s not in full)]
        if refs:
            numbers_text = ", ".join(_render(r) for r in refs)
            lines.append(self.templates["references"].format(numbers=numbers_text))
        return "\n".join(lines)

    @staticmethod
    def fits(sentences: list[Sentence], budget: int) -> bool:
        """Whether `sentences` fit the system prompt's budget, estimated without rendering them
        (a store of any size is answered in one pass over at most `budget` tokens)."""
        chars = 0
        for s in sentences:
            chars += len(s.text) + 8  # "[123]   - " and the newline
            if chars // 4 + 1 > budget:
                return False
        return True

    @staticmethod
    def parts(sentences: list[Sentence], budget: int) -> list[list[Sentence]]:
        """An article too long for the budget, cut into consecutive parts of about equal size
        that each fit it (a list stays with its intro unless that would overflow), so each part
        gets a saved prompt state of its own."""
        cost = [len(s.text) + 8 for s in sentences]  # as `fits` counts them
        limit = (budget - 1) * 4  # the characters a part may hold
        count = -(-sum(cost) // int(limit * 0.9))  # parts of ≤ 90% of the budget, items may run on
        target = sum(cost) / max(count, 1)
        out: list[list[Sentence]] = [[]]
        used = 0
        for s, c in zip(sentences, cost, strict=True):
            full = used + c > limit or (used >= target and s.kind != "item")
            if out[-1] and full:
                out.append([])
                used = 0
            out[-1].append(s)
            used += c
        return out

    def system(self, home: list[Sentence], budget: int) -> tuple[str, dict[Sentence, int]]:
        """The fixed system prompt; the `home` sentences are in it when they fit the budget."""
        key = tuple(home)
        if self._system is None or self._system[0] != key:
            numbers, articles = {}, ""
            if self.fits(home, budget):
                numbers = {s: i for i, s in enumerate(home, 1)}
                articles = self.templates["articles"].format(sentences=self._lines(home, numbers))
            text = self.templates["system"].format(articles=articles).rstrip() + "\n"
            self._system = (key, text, numbers)
        return self._system[1], self._system[2]

    def build(
        self,
        home: list[Sentence],
        relevant: list[Sentence],
        passages: list[Passage],
        ranked: list[Sentence],
        question: str,
        earlier: str,
        budget: int,
        text_budget: int,
    ) -> Prompt:
        """`relevant` in full while `text_budget` tokens last (best `ranked` first), then by
        number; those outside `home` written out after it; all in full when `home` did not fit
        the system prompt."""
        system, numbers = self.system(home, budget)
        if numbers:  # sentences of other articles: numbered after the home ones, written out
            away = [s for s in relevant if s not in numbers]
            numbers = numbers | {s: i for i, s in enumerate(away, len(numbers) + 1)}
            written = set(away)
        else:  # the article did not fit: number the retrieved passages instead
            away = list(dict.fromkeys([s for p in passages for s in p.sentences] + relevant))
            numbers = {s: i for i, s in enumerate(away, 1)}
            written, text_budget = set(), 10**9
        passages_text = ""
        if away:
            passages_text = self.templates["passages"].format(sentences=self._lines(away, numbers))
        rel = self._relevant(relevant, ranked, numbers, text_budget, written)
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
