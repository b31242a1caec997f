"""What changed between two versions: the items of one list paired with their counterparts in
the other list of the same article, each side cited.

An article that lists an initial plan and a revised draft holds the answer to "what changed?"
in two lists. The model tends to cite one side. For a question about change or difference whose
answer cites list items, this writes each cited item beside its counterpart in the article's
other list (the item sharing most words with it that the lists' items don't all share), and says
when an item has none: new in the later list, or dropped from the earlier one. When the question
picks nothing out ("What changed in the revised draft?"), every item of both lists is paired.
"""

from __future__ import annotations

import re

from .answer import Answer, Citation
from .citations import SpanChecker
from .splitting import Sentence
from .words import content_stems

COMPARING = re.compile(
    r"\b(?:compar\w*|differ\w*|chang\w*|contrast\w*|versus|vs\.?|unlike|whereas)\b",
    re.I,
)


def _lists(corpus: list[Sentence], source: str) -> dict[str, list[Sentence]]:
    """The lists of an article: intro text → its items, in article order."""
    out: dict[str, list[Sentence]] = {}
    for s in sorted(corpus, key=lambda x: x.start):
        if s.source == source and s.kind == "item":
            out.setdefault(s.context, []).append(s)
    return out


def _pairs(
    earlier: list[Sentence], later: list[Sentence]
) -> tuple[dict[Sentence, Sentence], set[str]]:
    """Each item's counterpart in the other list: the best word overlap, at least one word
    beyond those most items share, taken greedily from the best pair down."""
    words = {s: set(content_stems(s.text)) for s in [*earlier, *later]}
    seen = [w for v in words.values() for w in v]
    common = {w for w in seen if 2 * seen.count(w) > len(words)}
    scored = sorted(
        ((len((words[a] & words[b]) - common), a, b) for a in earlier for b in later),
        key=lambda x: (-x[0], x[1].start, x[2].start),
    )
    pair: dict[Sentence, Sentence] = {}
    for n, a, b in scored:
        if n >= 1 and a not in pair and b not in pair:
            pair[a], pair[b] = b, a
    return pair, common


def with_changes(
    answer: Answer,
    question: str,
    cited: list[Sentence],
    corpus: list[Sentence],
    spans: SpanChecker,
) -> Answer:
    """The answer, then "Item by item, “<later intro>” against “<earlier intro>”:" and each
    cited item beside its counterpart, or marked new / dropped; the answer's own list lines that
    the pairs show again are left out."""
    if answer.refused or not COMPARING.search(question):
        return answer
    items = [s for s in cited if s.kind == "item"]
    if not items:
        return answer
    lists = _lists(corpus, items[0].source)
    if len(lists) != 2:
        return answer
    (intro_a, earlier), (intro_b, later) = lists.items()
    pair, common = _pairs(earlier, later)
    asked = set(content_stems(question)) - common
    comparing = set(content_stems(" ".join(COMPARING.findall(question))))
    picks = asked - comparing - set(content_stems(intro_a)) - set(content_stems(intro_b))
    if any(picks & set(content_stems(s.text)) for s in [*earlier, *later]):
        shown = [s for s in later if s in items or pair.get(s) in items]
        shown += [s for s in earlier if (s in items or pair.get(s) in items) and s not in pair]
    else:
        shown = later + [s for s in earlier if s not in pair]
    heads = [x for x in corpus if x.source == items[0].source and x.text in (intro_a, intro_b)]
    if len(heads) != 2 or not all(map(spans.quotable, [*heads, *shown])):
        return answer
    citations = list(answer.citations)

    def cite(s: Sentence) -> str:
        c = Citation(s.source, s.start, s.end, s.text)
        if c not in citations:
            citations.append(c)
        return f"[{citations.index(c) + 1}]"

    head_a, head_b = sorted(heads, key=lambda x: x.start)
    lines = [
        f"Item by item, “{_bare(head_b)}” {cite(head_b)} against “{_bare(head_a)}” {cite(head_a)}:"
    ]
    for s in shown:
        other = pair.get(s)
        if s in later and other is not None and spans.quotable(other):
            lines.append(f"- {s.text} {cite(s)}, replacing: {other.text} {cite(other)}")
        elif s in later:
            lines.append(f"- New: {s.text} {cite(s)}")
        else:
            lines.append(f"- Dropped: {s.text} {cite(s)}")
    prose = _without_items(answer.text, set(_MARK.findall("\n".join(lines))))
    text = "\n\n".join(x for x in [prose, "\n".join(lines)] if x)
    return Answer(text, citations, False, answer.stats)


_MARK = re.compile(r"\[\d+\]")


def _without_items(text: str, shown: set[str]) -> str:
    """The answer without its list lines whose citations the pairs show again, nor an intro
    line left without items."""
    lines = [
        x for x in text.splitlines() if not (x.startswith("- ") and set(_MARK.findall(x)) <= shown)
    ]
    after = [*lines[1:], ""]
    kept = [
        x
        for x, nxt in zip(lines, after, strict=True)
        if not x.endswith(":") or nxt.startswith("- ")
    ]
    return "\n".join(kept).strip()


def _bare(intro: Sentence) -> str:
    return intro.text.rstrip(": ")
