"""Answers for questions the model would answer "the articles don't say" although the articles
speak to them: a number in the question that no article states, words the question quotes from
an article, or a premise the articles nearly match word for word ("Why did Putin welcome the
amendments?" where they say Russia rejected them). And additions to answers that leave out what
the question points at: where a quoted phrase stands, the other side of a comparison, where a
name the question misplaces belongs. Each answer or addition quotes the articles verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

from .answer import PREMISE, STATEMENT, Answer, Citation, Stats
from .citations import SpanChecker
from .splitting import Passage, Sentence
from .words import content_stems, numbers


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
    return Answer(text, answer.citations + _cites(shown), False, answer.stats)


def correct_premise(
    question: str, ranked: list[Sentence], corpus: list[Sentence], spans: SpanChecker, stats: Stats
) -> Answer | None:
    """A question built on a number no article states ("lowered to 500,000?") gets the best
    ranked sentence that shares a word with it and states a number, quoted verbatim."""
    stated = {n for s in corpus for n in numbers(s.indexed_text)}
    absent = sorted(numbers(question) - stated)
    if not absent:
        return None
    asked = {w for w in content_stems(question) if not w[0].isdigit()}
    for s in ranked:
        shares = asked & set(content_stems(s.indexed_text))
        if numbers(s.text) and shares and spans.holds(s):
            number = f"{int(absent[0]):,}" if absent[0].isdigit() else absent[0]
            return Answer(PREMISE.format(number=number, quote=s.text), _cites([s]), False, stats)
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
                shown = [x for x in [*intro, s] if spans.holds(x)]
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


def with_quote_source(
    answer: Answer, question: str, corpus: list[Sentence], spans: SpanChecker
) -> Answer:
    """An answer to a question quoting the articles ("What else did Witkoff say after calling
    the meeting “constructive”?") ends with where the quote stands when it does not cite it: the
    premise may be wrong (a Kremlin spokesperson said it), and the reader sees who said it."""
    cited = {_span(c) for c in answer.citations}
    source = [] if answer.refused else _quote_source(question, corpus, spans)
    if not source or _span(source[-1]) in cited:
        return answer
    return _ending_with(answer, [x for x in source if _span(x) not in cited])


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
        shown = sorted((x for x in shown if spans.holds(x)), key=lambda x: x.start)
        if s in shown:
            return Answer(_statement(shown), _cites(shown), False, stats)
    return None


_COMPARING = re.compile(
    r"\b(?:compar\w*|differ\w*|chang\w*|contrast\w*|versus|vs\.?|unlike|whereas)\b", re.I
)


def _counterpart(mine: list[Sentence], items: list[Sentence], question: str) -> Sentence | None:
    """The item of another list of the same article that speaks to the same matter as a cited
    item and the question: it shares at least two words with the item and one with the question
    that most of the lists' items don't have."""
    source, intro = mine[0].source, mine[0].context
    pool = [s for s in items if s.source == source]
    words = {s: set(content_stems(s.text)) for s in pool}
    seen = [w for v in words.values() for w in v]
    common = {w for w in seen if 2 * seen.count(w) > len(pool)}
    asked = set(content_stems(question)) - common
    best, shared = None, 1
    for x in pool:
        n = max(len((words[x] & words[m]) - common) for m in mine)
        if x.context != intro and n > shared and asked & words[x]:
            best, shared = x, n
    return best


def with_counterpart(
    answer: Answer, question: str, corpus: list[Sentence], spans: SpanChecker
) -> Answer:
    """A comparison whose answer cites the items of one list only ("How does the revised draft
    treat NATO membership compared with the original plan?" answered from the revised draft)
    ends with what the other list holds on the same matter, under that list's own intro."""
    if answer.refused or not _COMPARING.search(question):
        return answer
    cited = {_span(c) for c in answer.citations}
    items = [s for s in corpus if s.kind == "item"]
    mine = [s for s in items if _span(s) in cited]
    if len({(s.source, s.context) for s in mine}) != 1:
        return answer
    other = _counterpart(mine, items, question)
    if other is None:
        return answer
    head = (other.source, other.context)
    intro = next((x for x in corpus if x.kind == "text" and (x.source, x.text) == head), None)
    if intro is None or not (spans.holds(other) and spans.holds(intro)):
        return answer
    n = len(answer.citations)
    text = f"{answer.text}\n\n{intro.text.rstrip(': ')} [{n + 1}]:\n- {other.text} [{n + 2}]"
    return Answer(text, answer.citations + _cites([intro, other]), False, answer.stats)


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
    if answer.refused:
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
        if len(others & words) >= 3 and spans.holds(s):
            return _ending_with(answer, [s])
    return answer
