"""Questions to offer: starters for an empty chat and related follow-ups after an answer.

Candidates come from the store's own sentences (what a list includes, what the article says about
a named entity), and each is kept only if retrieval finds its source sentence among the top hits
and above the relevance floor: we only offer questions the articles can answer.
"""

from __future__ import annotations

import re

from .retrieval import HybridRetriever
from .splitting import Sentence

_INTRO = re.compile(r"^(?:An?|The)\s+(.+?)\s+(?:reportedly\s+)?(?:included|includes|include):$")
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'&.-]+(?:\s+(?:of\s+|&\s+)?[A-Z][\w’'.-]+)*)")
_ADJECTIVE = re.compile(r"(?:ean|ian|ese|ish)$")  # European, Russian: not things to ask about
_SKIP = {
    "The",
    "A",
    "An",
    "He",
    "She",
    "It",
    "They",
    "In",
    "As",
    "This",
    "These",
    "Before",
    "Despite",
    "Another",
    "If",
    "Ask",
    "Explore",
}


def candidates(sentence: Sentence) -> list[str]:
    """Questions that this sentence answers."""
    out = []
    m = _INTRO.match(sentence.text)
    if m:
        out.append(f"What did the {m.group(1)} include?")
    for name in _ENTITY.findall(sentence.text):
        name = re.sub(r"(?:[’']s?|\.)$", "", name)
        first = name.split()[0]
        if (
            name in _SKIP
            or "." in name
            or len(name) < 3
            or _ADJECTIVE.search(name)
            or first.endswith("ing")
        ):
            continue
        out.append(f"What does the article say about {name}?")
    return out


class Suggester:
    def __init__(self, retriever: HybridRetriever, floor: float, k: int = 5) -> None:
        self.retriever, self.floor, self.k = retriever, floor, k
        self._checked: dict[tuple[str, str | None], bool] = {}

    def answerable(self, question: str, source: Sentence, article: str | None = None) -> bool:
        """Whether retrieval (within `article`, when the chat is limited to one) finds `source`."""
        key = (question, article)
        if key not in self._checked:
            found = self.retriever.retrieve(question, self.k, source=article)
            self._checked[key] = found.best_cosine >= self.floor and any(
                h.sentence == source for h in found.hits
            )
        return self._checked[key]

    def pick(
        self, sentences: list[Sentence], n: int, avoid: set[str], article: str | None = None
    ) -> list[str]:
        seen = {a.lower() for a in avoid}
        out: list[str] = []
        for s in sentences:
            for q in candidates(s):
                key = q.lower()
                if key in seen or any(w in key for w in ("about he", "about it")):
                    continue
                seen.add(key)
                if self.answerable(q, s, article):
                    out.append(q)
                    if len(out) == n:
                        return out
        return out

    def starters(self, n: int = 3, article: str | None = None) -> list[str]:
        """A few questions spread over the store (or over `article`)."""
        sents = self.retriever.store.sentences(article)
        intros = [s for s in sents if _INTRO.match(s.text)]
        step = max(len(sents) // (n * 3), 1)
        return self.pick(intros[:1] + sents[::step] + sents, n, set(), article)

    def related(
        self,
        question: str,
        cited: list[Sentence],
        asked: set[str],
        n: int = 3,
        article: str | None = None,
    ) -> list[str]:
        """Follow-ups near what the answer cited, but not about what was already asked."""
        sents = self.retriever.store.sentences(article)
        spans = {(c.source, c.start, c.end) for c in cited}  # by span: kind/context may differ
        at = {i for i, s in enumerate(sents) if (s.source, s.start, s.end) in spans}
        anchors = sorted(at) or [0]
        near = sorted(range(len(sents)), key=lambda i: min(abs(i - j) for j in anchors))
        pool = [sents[i] for i in near if i not in at]
        words = {w.lower() for w in re.findall(r"\w+", question)}
        pool = [
            s for s in pool if not any(w.lower() in words for w in _ENTITY.findall(s.text))
        ] + pool
        return self.pick(pool, n, asked | {question}, article)
