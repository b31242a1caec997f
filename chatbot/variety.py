"""Keeps a question bank varied: which of the model's candidate questions are worth answering.

A candidate is turned away, before the chain spends an answer on it, when it is not worded from
its article (`about`: the 1.5B model also asks about the prompt's worked example, "the mayor",
"the tram line", whose words the article lacks), or when it repeats one already
taken: the same words, the same sentence of the article (the number the model wrote after it,
when it lies in the part asked about: the 1.5B model numbers a second part from [1] at times),
the same meaning (embedding cosine at or above `SAME_MEANING`), an opening (first four words:
"What is the name", not "What is the", which the model begins most questions with)
already used `OPENING_CAP` times or a first word ("Who", "Why"…) used `WORD_CAP` times. After
the answer, one citing exactly the sentences of a kept question is turned away too; one the chain
did not answer gives its opening back (`release`).

`direct` first rewrites the 1.5B model's favourite opening, "What is the name of the person
who…?", as "Who…?" (it writes it though the prompt says not to).

`SAME_MEANING` was measured with MiniLM on the banks of session 7: the one pair asking the same
thing ("…who warned about Russia's testing of deterrence?" / "…who warned Russia about its testing
of deterrence?") scores 0.995; the closest pair asking different things ("When was Harvard
University founded?" / "Who was Harvard named after?") 0.768.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from .words import content_stems

SAME_MEANING = 0.85
OPENING_CAP = 1
WORD_CAP = 2
_WORD = re.compile(r"[\w’']+")
_NAME_OF = re.compile(
    r"^what(?: is|'s|’s| was) the name of the (?:person|man|woman|official|leader|people)"
    r" (?:who|that)\b",
    re.I,
)


def direct(question: str) -> str:
    """ "What is the name of the person who called…?" → "Who called…?"; others unchanged."""
    return _NAME_OF.sub("Who", question, count=1)


Embed = Callable[[list[str]], Sequence[Sequence[float]]]


def about(question: str, article: set[str]) -> bool:
    """Whether `question` is worded from the article whose content stems are `article`: at
    least two thirds of its content words stand in it (a question may add a verb of its own,
    "What happened in…?")."""
    words = content_stems(question)
    return 3 * sum(w in article for w in words) >= 2 * len(words)


def opening(question: str, words: int = 4) -> str:
    """The first `words` words, case-folded: "what is the name" for "What is the name of…"."""
    return " ".join(w.casefold() for w in _WORD.findall(question)[:words])


class Variety:
    """The questions taken so far for one bank, and the test a new candidate must pass."""

    def __init__(self, embed: Embed, article: str = "") -> None:
        """`article`: the text the questions are about (empty: any wording is taken)."""
        self.embed = embed
        self._article = set(content_stems(article))
        self._texts: set[str] = set()
        self._sentences: set[int] = set()
        self._openings: Counter[str] = Counter()
        self._vectors: list[np.ndarray] = []
        self._cited: list[frozenset] = []

    def _vector(self, question: str) -> np.ndarray:
        v = np.asarray(self.embed([question])[0], dtype=np.float32)
        return v / (np.linalg.norm(v) or 1.0)

    def refuse(self, question: str, sentence: int | None) -> str | None:
        """Why `question` (on the model's sentence number) repeats one taken; None: take it,
        which records it."""
        if self._article and not about(question, self._article):
            return "not worded from the article"
        key = " ".join(_WORD.findall(question.casefold()))
        if key in self._texts:
            return "the same question"
        if sentence is not None and sentence in self._sentences:
            return "a sentence already asked about"
        if self._openings[opening(question)] >= OPENING_CAP:
            return f"opening {opening(question)!r} already used"
        if self._openings[opening(question, 1)] >= WORD_CAP:
            return f"first word {opening(question, 1)!r} already used {WORD_CAP} times"
        vector = self._vector(question)
        if self._vectors and float(np.max(np.stack(self._vectors) @ vector)) >= SAME_MEANING:
            return "the same meaning as one taken"
        self._texts.add(key)
        if sentence is not None:
            self._sentences.add(sentence)
        self._openings[opening(question)] += 1
        self._openings[opening(question, 1)] += 1
        self._vectors.append(vector)
        return None

    def release(self, question: str) -> None:
        """A question taken but not answered gives its opening back (it stays asked)."""
        self._openings[opening(question)] -= 1
        self._openings[opening(question, 1)] -= 1

    def same_answer(self, cited: frozenset) -> bool:
        """Whether a kept question cites exactly these sentences; if not, `cited` is recorded."""
        if cited in self._cited:
            return True
        self._cited.append(cited)
        return False
