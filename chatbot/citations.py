"""Turn the model's reply into a verified Answer: parse [n] markers, check support, repair or drop.

Per answer sentence, take its content words not already in the question. It is supported when at
least `threshold` of them, and every number, occur in the cited sentences. An unsupported sentence
is re-attributed to the best one or two retrieved sentences that pass, else dropped. Nothing left
means a refusal. Last, every span is checked against the file itself: `quote == text[start:end]`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from .answer import REFUSAL, Answer, Citation, Stats
from .articles import read_text
from .errors import InputError
from .guard import instructs
from .splitting import Sentence, split_sentences
from .words import content_stems, numbers

# "[3]", "[3, 5]", "[3; 5]", and ranges "[24-29]" or "[24]–[29]"
_MARKERS = re.compile(r"\s*\[(\d+(?:\s*(?:[,;]|\]?\s*[-–]\s*\[?)\s*\d+)*)\]")


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"[,;]", group):
        ends = [int(n) for n in re.findall(r"\d+", part)]
        out.extend(range(ends[0], ends[-1] + 1) if ends[-1] - ends[0] in range(1, 50) else ends)
    return out


_REFUSAL = re.compile(r"\b(?:do(?:es)?n['’]?t|do(?:es)? not) say\b", re.I)


def is_refusal(reply: str) -> bool:
    return bool(_REFUSAL.search(reply)) and len(reply) < 2 * len(REFUSAL)


@dataclass
class Claim:
    text: str
    cited: list[int]
    item: bool = False  # written as a list line ("- ...", "1. ...", "[3] ...")


_ITEM_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|\[\d+\])\s+")
# "…included: [16]–[21] The revised draft…": an intro citing its items by number, mid-line
_INLINE_INTRO = re.compile(rf":((?:{_MARKERS.pattern})+)\s*(?=\S)")
_SPACED_ABBREV = re.compile(r"\b([A-Z])\. (?=[A-Z]\.)")  # the model's "U. S." → "U.S."


def parse(reply: str) -> list[Claim]:
    """The claims of a reply: each sentence (or list line) with the numbers it cites."""
    reply = re.sub(r"^\s*answer:\s*", "", reply.strip(), flags=re.I)
    reply = re.split(r"\n\s*(?:Question|Earlier question):", reply)[0]  # the model ran on
    reply = _SPACED_ABBREV.sub(r"\1.", reply)
    out: list[Claim] = []
    for raw in _INLINE_INTRO.sub(r":\1\n", reply).splitlines():
        item = bool(_ITEM_LINE.match(raw))
        line = raw.strip(" -*•\t")
        for a, b in split_sentences(line, 0, len(line)):
            part = line[a:b]
            cited = [n for group in _MARKERS.findall(part) for n in _numbers(group)]
            text = _MARKERS.sub("", part).strip()
            if not re.search(r"\w", text):  # "... 800,000. [4]": the marker belongs before
                if out:
                    out[-1].cited.extend(cited)
                continue
            out.append(Claim(text, cited, item))
    return out


def _derivable(found: set[str]) -> set[str]:
    """The sources' numbers and each pair's difference ("from 600,000 to 800,000": 200,000)."""
    values = {int(n) for n in found if n.isdecimal() and len(n) < 16}  # not "①"
    return found | {str(a - b) for a in values for b in values if a > b}


_YES_NO_ANSWER = re.compile(r"\W*(?:yes|no)\b", re.I)


def support(claim: str, question: str, sources: list[Sentence]) -> float:
    """Share of the claim's new content words found in the sources; 0 if a number is missing,
    and 0 for a claim that only restates the question (no content word of its own), which
    answers nothing; all of its words count for a "Yes"/"No" and for a list's intro ("The plan
    included:"), which introduces the answer rather than being it."""
    asked, said = set(content_stems(question)), content_stems(claim)
    yes_no = bool(_YES_NO_ANSWER.match(claim))
    if yes_no:  # the reply's "Yes"/"No" is not a word the sources must hold
        said = [w for w in said if w not in ("yes", "no")]
    words = [w for w in said if w not in asked]
    if not words and (yes_no or claim.rstrip().endswith(":")):
        words = said
    have = set()
    for s in sources:
        have.update(content_stems(s.indexed_text))
    have = _derivable(have)
    if not numbers(claim) <= have:
        return 0.0
    if not words:
        return 0.0
    return sum(w in have or _begins(w, have) for w in words) / len(words)


def _begins(word: str, have: set[str]) -> bool:
    """A name whose adjective the sources use ("Japan": "Japanese"): a word of 5 letters or more
    that begins a stem of the sources."""
    return len(word) >= 5 and word.isalpha() and any(h.startswith(word) for h in have)


def _prune(claim: str, question: str, sources: list[Sentence], threshold: float) -> list[Sentence]:
    """Drop citations the claim does not need (ALCE precision): e.g. a stray copied "[3]"."""
    for s in list(sources):
        rest = [x for x in sources if x is not s]
        if rest and support(claim, question, rest) >= threshold > support(claim, question, [s]):
            sources = rest
    return sources


def _reattribute(
    claim: str, question: str, candidates: list[Sentence], threshold: float
) -> list[Sentence]:
    best: tuple[float, list[Sentence]] = (0.0, [])
    for s in candidates:
        score = support(claim, question, [s])
        if score >= threshold and score > best[0]:
            best = (score, [s])
    if best[1]:
        return best[1]
    for a, b in itertools.combinations(candidates[:8], 2):
        score = support(claim, question, [a, b])
        if score >= threshold and score > best[0]:
            best = (score, [a, b])
    return best[1]


def _in_list(sources: list[Sentence], block: tuple[str, str]) -> bool:
    return any(s.kind != "item" or (s.source, s.context) == block for s in sources)


def _backing(
    claim: str,
    cited: list[Sentence],
    question: str,
    candidates: list[Sentence],
    spans: SpanChecker,
    threshold: float,
) -> list[Sentence]:
    """The sentences that support the claim: its cited ones, else the best one or two
    candidates; only those it needs, and only spans that still hold. Empty: unsupported."""
    sources = cited
    if not sources or support(claim, question, sources) < threshold:
        sources = _reattribute(claim, question, candidates, threshold)
    return [s for s in _prune(claim, question, sources, threshold) if spans.holds(s)]


def _unfinished_lists(
    kept: list[tuple[str, bool, list[Sentence]]], question: str, candidates: list[Sentence]
) -> list[tuple[int, list[Sentence]]]:
    """Lists the answer wrote out at least half of, when the question asks for the whole list:
    (index of the last line citing the list, its items left out). A question naming something
    that picks items out ("which provisions concern NATO?") is left as the model answered it."""
    cited = [s for _, _, sources in kept for s in sources]
    out = []
    for source, intro in dict.fromkeys((s.source, s.context) for s in cited if s.kind == "item"):
        items = sorted(
            {
                c
                for c in candidates
                if c.kind == "item" and (c.source, c.context) == (source, intro)
            },
            key=lambda s: s.start,
        )
        have = [s for s in items if s in cited]
        picks = set(content_stems(question)) - set(content_stems(intro))
        if len(have) < 2 or 2 * len(have) < len(items) or len(have) == len(items):
            continue
        if any(picks & set(content_stems(s.text)) for s in items):
            continue
        at = max(i for i, (_, _, sources) in enumerate(kept) if set(sources) & set(have))
        out.append((at, [s for s in items if s not in have]))
    return sorted(out, key=lambda x: x[0])


class SpanChecker:
    """Confirms `quote == text[start:end]` against the article file as it is on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, tuple[float, str]] = {}

    def holds(self, s: Sentence) -> bool:
        path = Path(s.source) if Path(s.source).is_absolute() else self.root / s.source
        try:
            mtime = path.stat().st_mtime
            if self._texts.get(s.source, (None,))[0] != mtime:
                self._texts[s.source] = (mtime, read_text(path))
        except (OSError, InputError):
            return False
        return self._texts[s.source][1][s.start : s.end] == s.text

    def quotable(self, s: Sentence) -> bool:
        """A sentence a repair may quote: its span holds, and it does not address the model
        (`guard.instructs`)."""
        return self.holds(s) and not instructs(s.text)


def verify(
    reply: str,
    question: str,
    numbering: dict[int, Sentence],
    candidates: list[Sentence],
    spans: SpanChecker,
    threshold: float,
    stats: Stats | None = None,
) -> Answer:
    stats = stats or Stats()
    if not reply.strip() or is_refusal(reply):
        return Answer.refusal(stats)
    citations: list[Citation] = []
    index: dict[Sentence, int] = {}
    kept: list[tuple[str, bool, list[Sentence]]] = []  # (rendered claim, is a list line, sources)
    intro: str | None = None  # "The plan included:" waits for the items that follow it
    block: tuple[str, str] | None = None  # (source, intro) of the list an intro line opened

    def cite(sources: list[Sentence]) -> str:
        for s in sources:
            if s not in index:
                citations.append(Citation(s.source, s.start, s.end, s.text))
                index[s] = len(citations)
        return "".join(f"[{index[s]}]" for s in sources)

    def item_line(s: Sentence) -> tuple[str, bool, list[Sentence]]:
        return f"{s.text} {cite([s])}", True, [s]

    for claim in parse(reply):
        if is_refusal(claim.text):
            continue
        cited = [numbering[n] for n in dict.fromkeys(claim.cited) if n in numbering]
        if claim.text.endswith(":"):
            intro, block = claim.text, None
            claim = Claim("", claim.cited, True)  # cited items of a bare intro are listed below
        sources: list[Sentence] = []
        if claim.text:
            sources = _backing(claim.text, cited, question, candidates, spans, threshold)
            if not sources or (claim.item and block and not _in_list(sources, block)):
                stats.dropped.append(claim.text)  # unsupported, or an item of another list
                continue
            block = block if claim.item else None
        # list items the model cited but did not write out are shown verbatim, with their span,
        # when the claim is about their list (rests on its intro) or is a bare list of numbers;
        # beside a claim resting on an item of its own they are strays
        intros = {s.text for s in sources}
        listed = [
            s
            for s in cited
            if s.kind == "item"
            and s not in sources
            and (not claim.text or s.context in intros)
            and (block is None or _in_list([s], block))
            and spans.holds(s)
        ]
        if intro is not None and (sources or listed):
            # the intro is a claim too: kept when backed, else the list's own intro, verbatim
            first = (sources + listed)[0]
            head = (first.source, first.context)
            own = [x for x in [*candidates, *numbering.values()] if (x.source, x.text) == head][:1]
            backing = _backing(intro, own, question, candidates, spans, threshold)
            if not backing:
                stats.dropped.append(intro)
                if own and spans.holds(own[0]):
                    intro, backing = own[0].text, own[:1]
            if backing:
                kept.append((f"{intro.rstrip(': ')} {cite(backing)}:", False, backing))
                block = (first.source, first.context) if first.kind == "item" else None
            intro = None
        if claim.text:
            body = claim.text.rstrip()
            end = body[-1] if body[-1] in ".!?" else "."
            kept.append((f"{body.rstrip('.!?')} {cite(sources)}{end}", claim.item, sources))
        kept.extend(map(item_line, listed))
    if not kept:
        return Answer.refusal(stats)
    for at, missing in reversed(_unfinished_lists(kept, question, candidates)):
        held = [s for s in missing if spans.holds(s)]
        kept[at + 1 : at + 1] = map(item_line, held)
    # a list line starts with "- "; prose after a list is a new paragraph (Markdown would
    # otherwise continue the last item)
    after = [False] + [item for _, item, _ in kept[:-1]]
    text = "".join(
        ("\n- " if item else "\n\n" if prev else " ") + claim
        for (claim, item, _), prev in zip(kept, after, strict=True)
    ).strip()
    return Answer(text.removeprefix("- ") if len(kept) == 1 else text, citations, False, stats)
