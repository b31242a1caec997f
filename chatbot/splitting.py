"""Split an article into passages and sentences that keep exact offsets into its text.

Invariant: for every sentence and passage, `article.text[start:end] == .text`.
A list stays in one passage with the line that introduces it; a heading opens its section's
passage; page chrome ("Ask me anything", ...), front matter (`---` title/date `---`) and HTML
comments (`<!-- … -->`, a sentence boundary: what they hide is never read) are not content.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .articles import Article, front_matter

CHROME = frozenset(
    {
        "ask me anything",
        "explore related questions",
        "related questions",
        "share this article",
        "advertisement",
        "read more",
        "sign up for our newsletter",
    }
)
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•]|\d{1,3}[.)])[ \t]+(?=\S)")
_MD_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+(?=\S)")
# a sentence ends at .!? before a capital, a digit, a letter of a script without case (忽略…) or
# markup ("<script>", "![image]"); the lookahead captures that first character
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?(\S\S?))")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ABBREV = re.compile(
    r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Sen|Rep|Gov|Lt|Col|No|vs|Prof|Inc|Co)\.)$"
)
_TERMINAL = tuple(".!?:;,\"'”’)")

_ANAPHOR = re.compile(r"(?:These|This|Those|Such|He|She|They|It|His|Her|Their|Its)\b")

SPLIT_VERSION = 5  # bump when splitting changes: stored articles are then re-split


@dataclass(frozen=True)
class Sentence:
    """A sentence (or list item, or heading) and where it stands in its article."""

    source: str
    start: int
    end: int
    text: str
    kind: str = "text"  # text | item | heading
    # the sentence a list item, quote or reference depends on: a list's intro, "…, warning:" before
    # a quote, or the sentence before "These actions, he said, are …" in the same paragraph
    context: str = ""

    @property
    def indexed_text(self) -> str:
        """What is embedded and keyword-indexed: the item with its intro line."""
        return f"{self.context} {self.text}" if self.context else self.text


@dataclass(frozen=True)
class Passage:
    source: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line without its line break."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append((pos, pos + len(body)))
        pos += len(line)
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _opens(head: str) -> bool:
    """Whether a sentence may start with `head` (its first one or two characters)."""
    c = head[0]  # a letter that is not lower case: a capital, or a script without case
    return (
        c.isupper()
        or c.isdecimal()
        or (c.isalpha() and not c.islower())
        or c == "<"
        or head == "!["
    )


def _visible(
    text: str, start: int, end: int, hidden: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """text[start:end] without the `hidden` spans (HTML comments), as stripped non-empty pieces."""
    pieces, cur = [], start
    for a, b in hidden:
        if b <= cur or a >= end:
            continue
        pieces.append(_strip(text, cur, max(cur, a)))
        cur = max(cur, b)
    pieces.append(_strip(text, cur, max(cur, end)))
    return [p for p in pieces if p[1] > p[0]]


def split_sentences(
    text: str, start: int, end: int, hidden: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], abbreviation-aware ("U.S. President"); a `hidden`
    span (an HTML comment) is a boundary and is left out."""
    pieces = _visible(text, start, end, hidden)
    if len(pieces) != 1 or pieces[0] != _strip(text, start, end):
        return [s for a, b in pieces for s in split_sentences(text, a, b)]
    spans, cur = [], start
    for m in _BOUNDARY.finditer(text, start, end):
        head = text[cur : m.start() + 1]
        if _ABBREV.search(head) or not _opens(m.group(1)):
            continue
        spans.append(_strip(text, cur, m.end()))
        cur = m.end()
    spans.append(_strip(text, cur, end))
    return [s for s in spans if s[1] > s[0]]


def _is_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 12 and not line.endswith(_TERMINAL) and line[0].isupper()


def split_article(article: Article) -> list[Passage]:
    """Passages of the article, each a tuple of sentences with exact offsets."""
    text, src = article.text, article.source
    passages: list[list[Sentence]] = []
    current: list[Sentence] = []
    open_for_more = False  # a heading or a line ending in ':' pulls in what follows
    _, body = front_matter(text)
    hidden = [m.span() for m in _COMMENT.finditer(text)]

    def flush() -> None:
        nonlocal current
        if current:
            passages.append(current)
        current = []

    for ls, le in _lines(text):
        shown = _visible(text, ls, le, hidden)
        s, e = (shown[0][0], shown[-1][1]) if shown else (ls, ls)
        line = text[s:e]
        if not line or ls < body:
            continue
        if line.lower().rstrip(".!") in CHROME:
            flush()
            open_for_more = False
            continue
        item = _LIST_ITEM.match(text, s, e)
        heading = _MD_HEADING.match(text, s, e)
        if item:
            intro = next((x.text for x in reversed(current) if x.kind != "item"), "")
            for a, b in _visible(text, item.end(), e, hidden):
                current.append(Sentence(src, a, b, text[a:b], "item", intro))
            continue
        if heading or _is_heading(line):
            flush()
            for a, b in _visible(text, heading.end() if heading else s, e, hidden):
                current.append(Sentence(src, a, b, text[a:b], "heading"))
            open_for_more = True
            continue
        if not open_for_more or (current and current[-1].kind == "item"):
            flush()
        # a line after "Putin called the changes “unacceptable,” warning:" is read with it
        intro = current[-1].text if open_for_more and current and current[-1].kind == "text" else ""
        for n, (a, b) in enumerate(split_sentences(text, s, e, hidden)):
            if n and _ANAPHOR.match(text, a):  # "These actions…" is read with what they are
                intro = current[-1].text
            current.append(Sentence(src, a, b, text[a:b], "text", intro))
            intro = ""
        open_for_more = line.endswith(":")
    flush()
    return [Passage(src, p[0].start, p[-1].end, tuple(p)) for p in passages]


def sentences_of(passages: list[Passage]) -> list[Sentence]:
    return [s for p in passages for s in p.sentences]
