"""Does an answer speak to what the question asked? Word support (`citations.support`) lets the
question's own words come free, so "Who called the treaty the “worst” deal in decades?" passes
on "…called it the best deal in decades". Here the question's salient terms (names and
nationalities, numbers and years, ordinals, superlatives and comparatives) must stand in the
articles the answer cites: a term they never use is one the answer cannot be about. And the
answer must give the kind of thing the question asks for (`lacks`): a year for "In what
year…?", a century, a time (a relative one too) for "When…?", a number for "How many…?"; a
true sentence copied as the answer to a question it does not answer fails there. Either way the
answer becomes a refusal that quotes what it cited: what the articles do say on the matter.

Measured and not kept (NOTES.md): the cited sentences and their neighbours as the window (it
refused paraphrases such as "Kyiv" for Ukraine), and "when…?" / "how many…?" needing a date or a
number in the cited sentences rather than in the answer (it caught nothing on the tuning set and
refused counts).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from .answer import DECLINED, Answer
from .guard import instructs
from .splitting import Sentence
from .words import STOPWORDS, content_stems, stem, tokens

# Words whose swap changes what is asked: which one, how many, in what order, more or less.
_DEGREE = frozenset(
    """
    second third fourth fifth sixth seventh eighth ninth tenth
    highest lowest largest smallest biggest greatest earliest oldest newest youngest
    longest shortest best worst fewest richest poorest strongest weakest
    higher lower larger smaller bigger greater earlier older newer younger longer
    shorter better worse fewer richer poorer stronger weaker
    """.split()  # noqa: SIM905
)
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
_WORD = re.compile(r"\d[\d,.]*\d(?:st|nd|rd|th)?|\d(?:st|nd|rd|th)?|[^\W\d_][\w’'.-]*")
# capitalised words that are not names: question words and pronouns at odd positions
_NOT_NAMES = STOPWORDS | {"i", "mr", "mrs", "ms", "dr"}


def _unaccented(text: str) -> str:
    """Accents dropped (José → Jose), so a name matches however it is written."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return [w.strip(".-’'") for w in _WORD.findall(_unaccented(text))]


def salient_terms(question: str) -> list[str]:
    """The question's terms an answer must not swap: names (a capitalised word past the first),
    numbers, ordinals, superlatives and comparatives. Lower-cased, possessives dropped."""
    out: list[str] = []
    for i, word in enumerate(_words(question)):
        if _ORDINAL.match(word.lower()):
            out.append(word.lower())
            continue
        low = tokens(word)
        if not low:
            continue
        t = low[0]
        named = i > 0 and word[0].isupper() and t not in _NOT_NAMES
        if named or t[0].isdigit() or t in _DEGREE:
            out.extend(x for x in low if x not in _NOT_NAMES)
    return list(dict.fromkeys(out))


@lru_cache(maxsize=200_000)
def _text_stems(text: str) -> frozenset[str]:
    """One sentence's stems, tokens and dotless words, kept: an article's sentences are checked
    again with every answer that cites it."""
    t = _unaccented(text)
    dotless = (w.lower().replace(".", "") for w in _words(t))  # "U.S." holds "US"
    return frozenset((*content_stems(t), *tokens(t), *dotless))


def _stems(texts: Iterable[str]) -> set[str]:
    return set().union(*map(_text_stems, texts))


_NAME_RUN = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)+")


def unstated(question: str, texts: Iterable[str]) -> list[str]:
    """The question's salient terms that `texts` do not hold (empty: the answer's articles
    speak of every term the question turns on). A name written out whose initials the texts
    use ("European Union" for "EU") is held."""
    have = _stems(texts)
    for run in _NAME_RUN.findall(_unaccented(question)):
        if "".join(w[0] for w in run.split()).lower() in have:
            have.update(tokens(run))
    return [t for t in salient_terms(question) if t not in have and stem(t) not in have]


# What a question asks for, by its opening, and what an answer to it must hold. "When" takes a
# relative time too ("after the talks"); a year, a century or a count must be written out.
_ORDINALS = (
    r"\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    r"|nineteenth|twentieth|twenty-first"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_KINDS: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    (
        "a year",
        re.compile(r"^\W*(?:in\s+)?(?:what|which)\s+years?\b", re.I),
        re.compile(r"\b\d{3,4}s?\b"),
    ),
    (
        "a century",
        re.compile(r"^\W*(?:in\s+)?(?:what|which)\s+century\b", re.I),
        re.compile(rf"\b(?:{_ORDINALS})\b", re.I),
    ),
    (
        "a time",
        re.compile(r"^\W*when\b", re.I),
        re.compile(
            rf"\d|\b(?:{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
            r"|ago|now|then|today|yesterday|tomorrow|tonight|morning|evening|night|soon|later"
            r"|earlier|recently|once|after|before|during|since|until|till|while|as soon as"
            r"|(?:day|week|month|year|decade|century|centuries|era|period|age|reign|time)s?)\b",
            re.I,
        ),
    ),
    (
        "a number",
        re.compile(r"^\W*how\s+many\b", re.I),  # not "how much": "the largest part" answers it
        re.compile(
            r"\d|\b(?:no|none|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
            r"|dozens?|hundreds?|thousands?|millions?|billions?|half|several|few|many|all|both)\b",
            re.I,
        ),
    ),
]


def lacks(question: str, answer: str) -> str:
    """What the question asks for that the answer does not give ("a year" for "In what year…?"
    answered without one); empty when it gives it, or when the question asks for no kind."""
    answer = re.sub(r"\[\d+\]", "", answer)  # its citation markers are not numbers it gives
    for kind, asks, gives in _KINDS:
        if asks.search(question):
            return "" if gives.search(answer) else kind
    return ""


def check(answer: Answer, question: str, cited: list[Sentence], corpus: list[Sentence]) -> Answer:
    """The answer when the articles of the sentences it cites hold every salient term of the
    question and it gives what kind of thing the question asks for (a year, a number, …);
    otherwise a refusal quoting them (what the articles do say on the matter)."""
    if answer.refused or not answer.citations or corrects(question, answer.text):
        return answer
    sources = {s.source for s in cited}
    missing = unstated(question, [s.indexed_text for s in corpus if s.source in sources])
    if missing:
        return declined(answer, f"not about {', '.join(missing)}")
    if kind := lacks(question, answer.text):
        return declined(answer, f"no {kind.removeprefix('a ')} in the answer")
    return answer


_YES_NO = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b"
    r"|,\s*(?:right|correct|true|(?:is|does|did|was|has)n['’]t (?:it|he|she|they))\W*$",
    re.I,
)


def corrects(question: str, answer: str) -> bool:
    """A yes/no question answered "No, …": the answer corrects the question's terms, so they
    need not stand in its sources (its own claims were checked for support)."""
    return bool(_YES_NO.search(question.strip())) and bool(re.match(r"\W*no\b", answer, re.I))


def declined(answer: Answer, why: str) -> Answer:
    """A refusal that quotes what the answer cited: what the articles do say on the matter
    (never a sentence addressed to the model, `guard.instructs`)."""
    answer.stats.dropped.append(f"{why}: {answer.text}")
    shown = [c for c in answer.citations if not instructs(c.quote)]
    if not shown:
        return Answer.refusal(answer.stats)
    quotes = " ".join(f"{_quoted(c.quote)} [{i}]" for i, c in enumerate(shown, 1))
    return Answer(DECLINED.format(quotes=quotes), shown, True, answer.stats)


def _quoted(text: str) -> str:
    """The text in quotation marks, unless it is a quotation already."""
    return text if text[:1] in '“"' and text[-1:] in '”"' else f"“{text}”"
