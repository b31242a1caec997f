"""The repair stage: after verification, each repair takes the answer and returns it, mended or
as it was. One interface (`Repair`: answer, context → answer), a name-keyed registry (`REPAIRS`),
run in order by `repair`; `Settings.repairs` picks which run, so each is measured on its own.

- `grounded`: the question's names, numbers, ordinals and degrees must stand in what the answer
  cites (`grounding.py`); an answer about something else becomes a refusal quoting it.
- `premise`, `quoted`, `closest`: a refusal the question itself points past (a number no article
  states, words it quotes from an article, a premise the articles nearly match) gets what the
  articles say, quoted verbatim; never a sentence addressed to the model (`guard.instructs`).
- `changes`, `named_premise`: additions for what an answer leaves out (each item of a
  comparison beside its counterpart, `changes.py`; where a misplaced name belongs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from functools import cached_property

from . import grounding
from .answer import PREMISE, STATEMENT, Answer, Citation, Stats
from .changes import with_changes
from .citations import SpanChecker
from .settings import pick
from .splitting import Passage, Sentence
from .words import content_stems, numbers


@dataclass
class Context:
    """What a repair may read: the question, the ranked hits, the store, the span checker."""

    question: str
    ranked: list[Sentence]
    corpus: list[Sentence]
    passage_of: Callable[[Sentence], Passage]
    vocabulary: Container[str]  # every word stem the articles hold
    spans: SpanChecker
    stats: Stats

    @cached_property
    def _by_span(self) -> dict[tuple[str, int, int], Sentence]:
        return {_span(s): s for s in self.corpus}

    def cited(self, answer: Answer) -> list[Sentence]:
        """The sentences an answer cites (the span map is built once per question)."""
        return [s for c in answer.citations if (s := self._by_span.get(_span(c))) is not None]


Repair = Callable[[Answer, Context], Answer]


def _cites(shown: list[Sentence]) -> list[Citation]:
    return [Citation(x.source, x.start, x.end, x.text) for x in shown]


def _span(x: Sentence | Citation) -> tuple[str, int, int]:
    return x.source, x.start, x.end


def _statement(shown: list[Sentence], first: int = 1) -> str:
    """ "The articles say: “…” [first] “…” [first + 1]"."""
    return STATEMENT.format(
        quotes=" ".join(f"“{x.text}” [{i}]" for i, x in enumerate(shown, first))
    )


def _ending_with(answer: Answer, shown: list[Sentence]) -> Answer:
    """The answer, then "The articles say: “…” [n]" for sentences it does not cite."""
    text = f"{answer.text}\n\n{_statement(shown, len(answer.citations) + 1)}"
    return Answer(text, answer.citations + _cites(shown), answer.refused, answer.stats)


def correct_premise(
    question: str, ranked: list[Sentence], corpus: list[Sentence], spans: SpanChecker, stats: Stats
) -> Answer | None:
    """A question built on a number no article states ("lowered to 500,000?") gets the best
    ranked sentence that shares a word with it and states a number, quoted verbatim. It is a
    refusal (the articles don't answer the question as asked) that says what they do say."""
    stated = {n for s in corpus for n in numbers(s.indexed_text)}
    absent = sorted(numbers(question) - stated)
    if not absent:
        return None
    asked = {w for w in content_stems(question) if not w[0].isdigit()}
    for s in ranked:
        shares = asked & set(content_stems(s.indexed_text))
        if numbers(s.text) and shares and spans.quotable(s):
            number = f"{int(absent[0]):,}" if absent[0].isdigit() else absent[0]
            return Answer(PREMISE.format(number=number, quote=s.text), _cites([s]), True, stats)
    return None


_QUOTED = re.compile(r"[“\"]([^”\"]{4,})[”\"]")


def _fold(text: str) -> str:
    return text.lower().replace("’", "'").strip(" .,;:!?")


def _quote_source(question: str, corpus: list[Sentence], spans: SpanChecker) -> list[Sentence]:
    """The sentence holding words the question quotes, after the line introducing it."""
    for phrase in map(_fold, _QUOTED.findall(question)):
        for s in corpus:
            if phrase in _fold(s.text):
                intro = [x for x in corpus if x.kind == "text" and x.text == s.context][:1]
                shown = [x for x in [*intro, s] if spans.quotable(x)]
                if s in shown:
                    return shown
    return []


def quoted_in_articles(
    question: str, corpus: list[Sentence], spans: SpanChecker, stats: Stats
) -> Answer | None:
    """A question quoting words an article holds ("Who called the changes “unacceptable”?") is
    not answered "the articles don't say": the sentence holding them is shown, with its speaker."""
    shown = _quote_source(question, corpus, spans)
    text = " ".join(f"{x.text} [{i}]" for i, x in enumerate(shown, 1))
    return Answer(text, _cites(shown), False, stats) if shown else None


def closest_statement(
    question: str,
    ranked: list[Sentence],
    passage_of: Callable[[Sentence], Passage],
    spans: SpanChecker,
    stats: Stats,
    look: int = 3,
) -> Answer | None:
    """When every content word of the question but one stands in a best-ranked sentence and its
    neighbours, the articles speak to it: what they say is quoted ("The articles say: …"), the
    sentence and the neighbours that hold the question's other words."""
    asked = set(content_stems(question))
    if len(asked) < 4:
        return None
    for s in ranked[:look]:
        members = passage_of(s).sentences
        at = members.index(s)
        near = [s] + [x for x in members[max(0, at - 1) : at + 2] if x != s]
        words = {x: set(content_stems(x.indexed_text)) for x in near}
        if len(asked - set().union(*words.values())) > 1:
            continue
        shown = [s] + [x for x in near[1:] if (asked - words[s]) & words[x]]
        shown = sorted((x for x in shown if spans.quotable(x)), key=lambda x: x.start)
        if s in shown:
            return Answer(_statement(shown), _cites(shown), False, stats)
    return None


_NAME = re.compile(r"(?<=\s)[A-Z][\w’'-]+")  # a capitalised word past the first one


def with_named_premise(
    answer: Answer,
    question: str,
    ranked: list[Sentence],
    known: Container[str],
    spans: SpanChecker,
    look: int = 5,
) -> Answer:
    """An answer to a question naming something the articles speak of elsewhere (a stem in
    `known`, the keyword index's vocabulary) but its cited sentences don't hold ("What did the
    ministers decide at their meeting in Geneva?", where Geneva hosted other talks) ends with
    the best-ranked sentence holding most of the question's other words without that name ("At
    the meeting of NATO foreign ministers in Brussels, …"): the name may be the question's
    mistake."""
    if not answer.citations:
        return answer
    cited = {_span(c) for c in answer.citations}
    held = set()
    for s in ranked:
        if _span(s) in cited:
            held.update(content_stems(s.indexed_text))
    for c in answer.citations:
        held.update(content_stems(c.quote))
    names = {w for n in _NAME.findall(question) for w in content_stems(n)}
    missing = {w for w in names - held if w in known}
    others = set(content_stems(question)) - names
    if not missing or len(others) < 3:
        return answer
    for s in ranked[:look]:
        words = set(content_stems(s.indexed_text))
        if _span(s) in cited or missing & words or 2 * len(others & words) < len(others):
            continue
        if len(others & words) >= 3 and spans.quotable(s):
            return _ending_with(answer, [s])
    return answer


def grounded(answer: Answer, ctx: Context) -> Answer:
    return grounding.check(answer, ctx.question, ctx.cited(answer), ctx.corpus)


def _when_refused(rescue: Callable[[Context], Answer | None]) -> Repair:
    """A rescue of a refusal the model made (not one a check made: that one quotes already)."""

    def run(answer: Answer, ctx: Context) -> Answer:
        if not answer.refused or answer.citations:
            return answer
        return rescue(ctx) or answer

    return run


REPAIRS: dict[str, Repair] = {
    "grounded": grounded,
    "premise": _when_refused(
        lambda c: correct_premise(c.question, c.ranked, c.corpus, c.spans, c.stats)
    ),
    "quoted": _when_refused(lambda c: quoted_in_articles(c.question, c.corpus, c.spans, c.stats)),
    "closest": _when_refused(
        lambda c: closest_statement(c.question, c.ranked, c.passage_of, c.spans, c.stats)
    ),
    "changes": lambda a, c: with_changes(a, c.question, c.cited(a), c.corpus, c.spans),
    "named_premise": lambda a, c: with_named_premise(
        a, c.question, c.ranked, c.vocabulary, c.spans
    ),
}


def known(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names, each checked against the registry (an unknown one is a ConfigError)."""
    for name in names:
        pick(REPAIRS, name, "repair")
    return names


def repair(answer: Answer, ctx: Context, names: tuple[str, ...]) -> Answer:
    """Run the named repairs in the registry's order."""
    for name, step in REPAIRS.items():
        if name in names:
            answer = step(answer, ctx)
    return answer
