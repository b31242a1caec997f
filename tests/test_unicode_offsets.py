"""Citation offsets survive Unicode (issue 13): `text[start:end] == quote` for text full of
NFKC-sensitive characters, ligatures, combining marks, emoji, CRLF and zero-width characters,
through splitting, through citation building and verification against the file on disk, and
through the Chroma store and back."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from chatbot.articles import Article, load_article
from chatbot.citations import SpanChecker, verify
from chatbot.embeddings import HashEmbeddings
from chatbot.splitting import sentences_of, split_article
from chatbot.store import ArticleStore

from conftest import make_settings, record

EXAMPLES = 1000  # verification, each example split first (the count)
SPLIT_EXAMPLES = 300  # splitting alone: more shapes of text, no file
STORE_EXAMPLES = 25
COUNTS = {"split_examples": 0, "verify_examples": 0, "citations_checked": 0, "store_examples": 0}

# characters whose NFKC form differs, or that join, combine, vanish or break lines
TRICKY = [
    "\ufb01",  # ﬁ ligature
    "\ufb00",  # ﬀ
    "\u2460",  # ①
    "\u00b2",  # ²
    "\uff21",  # fullwidth A
    "\uff76",  # halfwidth katakana
    "\u2126",  # ohm sign
    "\u212b",  # angstrom sign
    "e\u0301",  # e + combining acute
    "\u0301",  # a lone combining mark
    "\u0915\u094d\u0937",  # Devanagari conjunct
    "\U0001f44d\U0001f3fd",  # thumbs up, skin tone
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family (ZWJ sequence)
    "\U0001f1fa\U0001f1e6",  # flag
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # BOM / zero-width no-break space
    "\u00a0",  # no-break space
    "\u2009",  # thin space
    "\u00ad",  # soft hyphen
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\x85",  # next line
    "\x0c",  # form feed
    "\t",
    "\u201c",
    "\u201d",
    "\u2019",
    "İ",  # lower() changes its length
    "ß",  # upper() changes its length
]
PIECES = [
    "The",
    "harbour",
    "reopened",
    "U.S.",
    "Dr.",
    "3,000",
    "800,000",
    ". ",
    "? ",
    "! ",
    ": ",
    "- ",
    "* ",
    "1. ",
    "# ",
    "---\n",
    "title: x\n",
    " ",
    " ",
    "A",
    "These",
]


def texts() -> st.SearchStrategy[str]:
    piece = st.one_of(
        st.sampled_from(TRICKY),
        st.sampled_from(PIECES),
        st.text(min_size=1, max_size=4),  # anything at all
    )
    return st.lists(piece, min_size=1, max_size=80).map("".join)


def _check_split(text: str) -> list:
    passages = split_article(Article("a.txt", text))
    for p in passages:
        assert p.start <= p.end
        for s in p.sentences:
            assert text[s.start : s.end] == s.text
    return sentences_of(passages)


@hsettings(max_examples=SPLIT_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts())
def test_split_offsets_are_exact(text):
    _check_split(text)
    COUNTS["split_examples"] += 1


def _write(root: Path, text: str) -> Path:
    """The file as a user would have it: UTF-8 bytes, no newline translation."""
    path = root / "a.txt"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


@hsettings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts(), picks=st.lists(st.integers(0, 50), min_size=1, max_size=4))
def test_citations_quote_the_file_exactly(tmp_path_factory, text, picks):
    """A reply restating sentences (with and without their markers) gives citations whose
    quote is exactly the file's text at their offsets."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return  # not encodable as UTF-8: no file can hold it
    root = tmp_path_factory.mktemp("u")
    _write(root, text)
    sents = _check_split(text)
    if not sents:
        return
    numbering = {i + 1: s for i, s in enumerate(sents)}
    chosen = [numbering[1 + p % len(sents)] for p in picks]
    reply = " ".join(f"{s.text} [{1 + sents.index(s)}]." for s in chosen)
    answer = verify(reply, "What happened?", numbering, sents, SpanChecker(root), 0.5)
    disk = (root / "a.txt").read_bytes().decode("utf-8")
    for c in answer.citations:
        assert disk[c.start : c.end] == c.quote
    COUNTS["verify_examples"] += 1
    COUNTS["citations_checked"] += len(answer.citations)


@hsettings(
    max_examples=STORE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=texts())
def test_offsets_survive_the_store(tmp_path_factory, text):
    """Loaded from disk, stored in Chroma, read back: every stored span is exact in the file."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text) or "\0" in text or not text.strip():
        return  # files that cannot be ingested (not UTF-8, binary, empty)
    root = tmp_path_factory.mktemp("s")
    path = _write(root, text + "\nThe end.\n")
    store = ArticleStore(make_settings(root), HashEmbeddings())
    store.upsert(load_article(path, root))
    disk = path.read_bytes().decode("utf-8")
    stored = store.sentences()
    assert stored
    for s in stored:
        assert disk[s.start : s.end] == s.text
    COUNTS["store_examples"] += 1


def test_unicode_offsets_figure():
    """The figure: the examples the tests above checked (each would have failed on a violation)."""
    record("unicode_offsets", {**COUNTS, "violations": 0})
