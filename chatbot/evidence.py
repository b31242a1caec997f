"""What the model is pointed at for a question, beyond the best retrieved sentences.

A list item brings its whole list ("what changed" needs every item). A quote or a sentence
opening with "These…" brings the sentence it depends on, and the other way round.
"""

from __future__ import annotations

from .splitting import Sentence
from .store import ArticleStore


def _group(store: ArticleStore, s: Sentence) -> list[Sentence]:
    """The sentences `s` is read with: its whole list, or its intro/quote/reference partner."""
    members = store.passage_of(s).sentences
    if s.kind == "item" or (s.text.endswith(":") and any(x.kind == "item" for x in members)):
        intro = next((x for x in members if x.text == s.context or x == s), s)
        return [intro] + [x for x in members if x.kind == "item" and x.context == intro.text]
    return [x for x in members if x == s or x.text == s.context or x.context == s.text]


def pointed_at(store: ArticleStore, hits: list[Sentence], cap: int = 12) -> list[Sentence]:
    """The best hits with the sentences each is read with. Once `cap` sentences are in, no
    further hit is added; a list is never cut short (its last item may be the one asked for)."""
    out: list[Sentence] = []
    for s in hits:
        if len(out) >= cap:
            break
        out.extend(x for x in _group(store, s) if x not in out)
    return out
