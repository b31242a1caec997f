"""Word-level helpers shared by keyword retrieval and citation checks: tokens, stems, numbers."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[^\W\d_]+(?:['’][^\W\d_]+)?")
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves said says say according reportedly did does tell told one two
    new article articles
    """.split()  # noqa: SIM905
)


def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers; numbers lose their thousands separators (800,000 → 800000)."""
    out = []
    for t in _TOKEN.findall(text.lower()):
        if t[0].isdigit():
            t = t.replace(",", "").rstrip(".")
        else:
            t = t.replace("’", "'").removesuffix("'s")
        out.append(t)
    return out


def stem(word: str) -> str:
    """A crude stem: enough to match forces/force, increasing/increased, talks/talk."""
    if word[0].isdigit() or len(word) <= 4:
        return word
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning (stopwords dropped), in order."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]


def numbers(text: str) -> set[str]:
    return {t for t in tokens(text) if t[0].isdigit()}
