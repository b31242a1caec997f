"""Turn the model's reply into a verified Answer: parse [n] markers, check support, repair or drop.

Per answer sentence, take its content words not already in the question. It is supported when at
least `threshold` of them, and every number, occur in the cited sentences. An unsupported sentence
is re-attributed to the best one or two retrieved sentences that pass, else dropped. Nothing left
means a refusal. Last, every span is checked against the file itself: `quote == text[start:end]`.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from .answer import REFUSAL, Answer, Citation, Stats
from .articles import read_text
from .errors import InputError
from .splitting import Sentence, split_sentences
from .words import content_stems, numbers

_MARKERS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_REFUSAL = re.compile(r"\b(?:do(?:es)?n['’]?t|do(?:es)? not) say\b", re.I)


def is_refusal(reply: str) -> bool:
    return bool(_REFUSAL.search(reply)) and len(reply) < 2 * len(REFUSAL)


def parse(reply: str) -> list[tuple[str, list[int]]]:
    """(claim text without markers, cited numbers) for each sentence of the reply."""
    reply = re.sub(r"^\s*answer:\s*", "", reply.strip(), flags=re.I)
    reply = re.split(r"\n\s*(?:Question|Earlier question):", reply)[0]  # the model ran on
    out: list[tuple[str, list[int]]] = []
    lines = [line.strip(" -*•\t") for line in reply.splitlines()]
    units = [line[a:b] for line in lines for a, b in split_sentences(line, 0, len(line))]
    for part in units:
        cited = [int(n) for group in _MARKERS.findall(part) for n in re.split(r"[,;]", group)]
        claim = _MARKERS.sub("", part).strip()
        if not re.search(
            r"\w", claim
        ):  # "... 800,000. [4]": the marker belongs to the claim before
            if out:
                out[-1][1].extend(cited)
            continue
        out.append((claim, cited))
    return out


def support(claim: str, question: str, sources: list[Sentence]) -> float:
    """Share of the claim's new content words found in the sources; 0 if a number is missing."""
    asked = set(content_stems(question))
    words = [w for w in content_stems(claim) if w not in asked] or content_stems(claim)
    have = set()
    for s in sources:
        have.update(content_stems(s.indexed_text))
    if not numbers(claim) <= {n for s in sources for n in numbers(s.indexed_text)}:
        return 0.0
    if not words:
        return 0.0
    return sum(w in have for w in words) / len(words)


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
    kept: list[str] = []
    for claim, cited in parse(reply):
        if is_refusal(claim):
            continue
        sources = [numbering[n] for n in dict.fromkeys(cited) if n in numbering]
        if not sources or support(claim, question, sources) < threshold:
            sources = _reattribute(claim, question, candidates, threshold)
        sources = _prune(claim, question, sources, threshold)
        sources = [s for s in sources if spans.holds(s)]
        if not sources:
            stats.dropped.append(claim)
            continue
        marks = []
        for s in sources:
            if s not in index:
                citations.append(Citation(s.source, s.start, s.end, s.text))
                index[s] = len(citations)
            marks.append(f"[{index[s]}]")
        body = claim.rstrip()
        end = body[-1] if body[-1] in ".!?" else ""
        kept.append(f"{body.rstrip('.!?')} {''.join(marks)}{end or '.'}")
    if not kept:
        return Answer.refusal(stats)
    return Answer(" ".join(kept), citations, False, stats)
