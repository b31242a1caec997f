"""The question bank: per article, questions a reader would ask, each answered before it is offered.

The model writes candidate questions from `prompts/questions.txt`, in small batches over parts of
the article. The prompt continues the chain's own system prompt for that article, with the same
label, so the article is read once (or its saved state loaded) and no extra state is saved that
could push the chat's out. The prompt asks for questions of different kinds (a number, who said
what, what changed, why, what next) on different sentences; `variety.py` turns away a repeat
before it is answered. The chain then answers each candidate within the article; a question
is kept only when its answer is not refused and every citation is exact in the article's file.

A bank is one JSON file per article under the store (`vectorstore/questions/`), named by the
article's source key, its content hash (the store's `article_id`) and a version of the prompts
and model: a changed article has no bank until one is built, and removing the article drops it
(`ingest.remove` calls `drop`). The answers were made at one store revision; at a new revision
their citations are checked against the files again before a stored answer is shown.

What the chat offers from the banks (starters, related questions) is picked in `suggestions.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from .articles import read_text, source_key
from .errors import ChatbotError, ConfigError
from .prompting import PROMPT_FILES, PromptBuilder
from .settings import Settings
from .variety import Variety, direct

if TYPE_CHECKING:
    from .answer import Answer
    from .chain import Chatbot
    from .splitting import Sentence

FORMAT = 2  # of the bank file and the building rules; part of the version
Span = tuple[str, int, int]
Progress = Callable[[int, int, str], None]  # (done, total, what is happening)
_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)]|Q\d*[:.])?\s*(?P<q>[^?\n]{8,}\?)\s*(?:\[(?P<n>\d+)\])?")
_VAGUE = re.compile(r"\b(?:he|she|him|her|his|the article|this article|the text)\b", re.I)


# -- the file format (pydantic: read back from disk) ----------------------------------------------
class _Citation(BaseModel):
    source: str
    start: int
    end: int
    quote: str


class _Answer(BaseModel):
    answer: str
    refused: bool
    citations: list[_Citation]


class _Entry(BaseModel):
    question: str
    answer: _Answer


class _BankFile(BaseModel):
    source: str
    article_id: str
    version: str
    revision: str
    model: str
    candidates: int
    seconds: float
    questions: list[_Entry]
    turned_away: list[str] = []


# -- records ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # identity: the answer dict is not hashable
class Banked:
    """One kept question and its answer (the answer JSON shape)."""

    question: str
    answer: dict
    source: str

    @property
    def cited(self) -> frozenset[Span]:
        return frozenset((c["source"], c["start"], c["end"]) for c in self.answer["citations"])


@dataclass
class Bank:
    """An article's kept questions, as built at one store revision."""

    source: str
    article_id: str
    version: str
    revision: str
    model: str
    candidates: int  # questions the model wrote (after de-duplication)
    seconds: float  # build time
    questions: list[Banked]
    turned_away: list[str] = dataclasses.field(default_factory=list)  # "question: why"

    def to_dict(self) -> dict:
        return {
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
            "questions": [{"question": b.question, "answer": b.answer} for b in self.questions],
        }


def folder(settings: Settings) -> Path:
    """Banks live with an embedded store (and go with it), else in the cache per server store."""
    if settings.chroma_url:
        key = hashlib.sha256(f"{settings.chroma_url}|{settings.collection}".encode()).hexdigest()
        return settings.cache_dir / "questions" / key[:16]
    return settings.store_dir / "questions"


def drop(settings: Settings, source: str) -> int:
    """Delete every bank of article `source` (it was removed or changed); how many files went."""
    files = list(folder(settings).glob(f"{source_key(source)}-*.json"))
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)


def parse(reply: str) -> list[str]:
    """The questions in a model reply: one a line, a sentence number after it (dropped)."""
    return [q for q, _ in parse_numbered(reply)]


def parse_numbered(reply: str) -> list[tuple[str, int | None]]:
    """Each question in a model reply with the sentence number written after it (if any)."""
    out = []
    for line in reply.splitlines():
        m = _LINE.match(line)
        if m:
            q = " ".join(m.group("q").split())
            words = len(q.split())
            if 4 <= words <= 25 and not _VAGUE.search(q):
                out.append((q, int(m.group("n")) if m.group("n") else None))
    return out


def targets_in(part: list[Sentence], n: int) -> list[Sentence]:
    """Up to n sentences of `part` to ask about, spread evenly over it: those of 6 words or more
    (a title, a dateline or a list's intro line answers little), else any."""
    full = [s for s in part if len(s.text.split()) >= 6 and not s.text.rstrip().endswith(":")]
    pool = full or part
    if len(pool) <= n:
        return pool
    return [pool[(2 * i + 1) * len(pool) // (2 * n)] for i in range(n)]


def grounded(answer: Answer, source: str, root: Path) -> bool:
    """Not refused, cited, and every citation an exact span of `source`'s file."""
    if answer.refused or not answer.citations:
        return False
    text = read_text(root / source)
    return all(c.source == source and text[c.start : c.end] == c.quote for c in answer.citations)


def _exact(answers: Iterable[dict], root: Path) -> bool:
    texts: dict[str, str] = {}
    try:
        for a in answers:
            for c in a["citations"]:
                if c["source"] not in texts:
                    texts[c["source"]] = read_text(root / c["source"])
                if texts[c["source"]][c["start"] : c["end"]] != c["quote"]:
                    return False
    except ChatbotError:  # the file is gone or unreadable
        return False
    return True


class QuestionBank:
    """Build, store, load and pick from the question banks of a chatbot's store."""

    def __init__(
        self, bot: Chatbot, candidates: int | None = None, per_batch: int = 5, keep: int = 6
    ) -> None:
        """`candidates` questions are written and answered at most (settings.bank_questions),
        `per_batch` in one model call over one part of the article; building stops once `keep`
        are kept."""
        self.bot, self.settings = bot, bot.settings
        self.candidates = candidates or self.settings.bank_questions
        self.per_batch, self.keep = min(per_batch, self.candidates), keep
        path = self.settings.prompts_dir / "questions.txt"
        try:
            self.template = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"prompt file missing: {path}") from None
        # the builder's own prompt cache: the chat thread's stays its own
        self._builder = dataclasses.replace(bot, prompts=PromptBuilder(self.settings.prompts_dir))
        self.version = self._version()
        self._lock = threading.Lock()
        self._banks: dict[str, Bank] = {}  # source → the bank last loaded or built
        self._ids: dict[tuple[str, str], str | None] = {}  # (revision, source) → article id

    def _version(self) -> str:
        h = hashlib.sha256(f"{FORMAT}|{self.bot.llm.name}|{self.settings.repairs}".encode())
        for name in (*PROMPT_FILES, "questions"):
            h.update((self.settings.prompts_dir / f"{name}.txt").read_bytes())
        return h.hexdigest()[:12]

    # -- where a bank is -------------------------------------------------------------------------
    def article_id(self, source: str, revision: str | None = None) -> str | None:
        """The content hash the store holds for `source` (None when it is not stored)."""
        revision = self.bot.store.revision() if revision is None else revision
        key = (revision, source)
        if key not in self._ids:
            got = self.bot.store.db.get(where={"source": source}, limit=1, include=["metadatas"])
            self._ids[key] = got["metadatas"][0].get("article_id") if got["ids"] else None
        return self._ids[key]

    def path(self, source: str, article_id: str) -> Path:
        return folder(self.settings) / f"{source_key(source)}-{article_id[:16]}-{self.version}.json"

    # -- loading ---------------------------------------------------------------------------------
    def load(self, source: str, revision: str | None = None) -> Bank | None:
        """The bank of `source` for its stored text, valid at the store's current revision; None
        when there is none (not built yet, the article changed or was removed)."""
        revision = self.bot.store.revision() if revision is None else revision
        article_id = self.article_id(source, revision)
        if article_id is None:
            return None
        with self._lock:
            bank = self._banks.get(source)
            if bank is None or bank.article_id != article_id or bank.version != self.version:
                bank = self._read(self.path(source, article_id))
            if bank is not None and bank.revision != revision:
                # a new store revision: the answers stand while their citations are still exact
                if not _exact((b.answer for b in bank.questions), self.settings.root):
                    self.path(source, article_id).unlink(missing_ok=True)
                    bank = None
                else:
                    bank.revision = revision
                    self._write(bank)
            if bank is None:
                self._banks.pop(source, None)
            else:
                self._banks[source] = bank
            return bank

    @staticmethod
    def _read(path: Path) -> Bank | None:
        try:
            raw = _BankFile.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError):  # cut short or another format: build anew
            path.unlink(missing_ok=True)
            return None
        entries = [Banked(e.question, e.answer.model_dump(), raw.source) for e in raw.questions]
        fields = raw.model_dump(exclude={"questions"})
        return Bank(**fields, questions=entries)

    def _write(self, bank: Bank) -> None:
        path = self.path(bank.source, bank.article_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{source_key(bank.source)}-*.json"):
            if old != path:  # an earlier text of the article, or other prompts
                old.unlink(missing_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(bank.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

    def ready(self, source: str) -> bool:
        return self.load(source) is not None

    # -- building --------------------------------------------------------------------------------
    def get(self, source: str, progress: Progress | None = None) -> Bank:
        """The bank of `source`, built first when there is none."""
        return self.load(source) or self.build(source, progress)

    def _messages(self, sentences: list[Sentence], part: list[Sentence], title: str):
        """The question-writing prompt (the chain's system prompt for the article, then ours),
        its label, and the numbers it gives `part`'s sentences."""
        bot = self._builder
        home, label = bot.home(bot.store.sentences(), sentences[0].source, part[0])
        system, numbers = bot.prompts.system(home, self.settings.corpus_token_budget)
        written = ""
        if not all(s in numbers for s in part):  # the article is not in the system prompt
            numbers = {s: i for i, s in enumerate(part, 1)}
            written = "Its sentences:\n" + PromptBuilder._lines(part, numbers) + "\n"
        targets = [f"[{numbers[t]}]" for t in targets_in(part, self.per_batch)]
        user = self.template.format(
            count=len(targets),
            title=title or part[0].source,
            first=f"[{numbers[part[0]]}]",
            last=f"[{numbers[part[-1]]}]",
            targets=", ".join(targets[:-1]) + (" and " if len(targets) > 1 else "") + targets[-1],
            sentences=written,
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return messages, label, {numbers[x] for x in part}

    def write_questions(
        self, source: str, part: list[Sentence], title: str
    ) -> list[tuple[str, int | None]]:
        """The model's questions about `part` of the article (one call), each with the number
        of the sentence it wrote after it (None when that is not one of `part`'s: the 1.5B model
        numbers a second part from [1] at times)."""
        messages, label, inside = self._messages(self.bot.store.sentences(source), part, title)
        reply = "".join(self.bot.llm.stream(messages, 40 * self.per_batch, None, label))
        return [(q, n if n in inside else None) for q, n in parse_numbered(reply)]

    def build(self, source: str, progress: Progress | None = None) -> Bank:
        """Write candidates batch by batch, answer each through the chain (within the article),
        keep the grounded ones; stop once `keep` are kept or `candidates` were asked."""
        t0 = time.perf_counter()
        revision = self.bot.store.revision()
        article_id = self.article_id(source, revision)
        sentences = self.bot.store.sentences(source)
        if article_id is None or not sentences:
            raise ConfigError(f"no article {source!r} in the store")
        title = next((a.title for a in self.bot.store.catalog() if a.source == source), "")
        batches = max(1, -(-self.candidates // self.per_batch))
        size = -(-len(sentences) // batches)
        parts = [sentences[i : i + size] for i in range(0, len(sentences), size)]
        variety = Variety(
            self.bot.store.embeddings.embed_documents, " ".join(s.text for s in sentences)
        )
        kept: list[Banked] = []
        turned_away: list[str] = []
        asked = 0
        note = progress or (lambda done, total, what: None)
        for k, part in enumerate(parts):
            note(asked, self.candidates, f"writing questions ({k + 1}/{len(parts)})")
            written = [(direct(q), n) for q, n in self.write_questions(source, part, title)]
            for q, n in written:  # each judged after the answers before it (`release`)
                if asked >= self.candidates or len(kept) >= self.keep:
                    break
                why = variety.refuse(q, n)
                if why is not None:
                    turned_away.append(f"{q}: {why}")
                    continue
                note(asked, self.candidates, f"answering: {q}")
                answer = self._builder.ask(q, article=source)
                asked += 1
                banked = Banked(q, answer.to_dict(), source)
                if not grounded(answer, source, self.settings.root):
                    turned_away.append(f"{q}: not answered")
                    variety.release(q)
                elif variety.same_answer(banked.cited):
                    turned_away.append(f"{q}: the sentences of a kept one")
                else:
                    kept.append(banked)
            if len(kept) >= self.keep or asked >= self.candidates:
                break
        note(asked, asked, f"{len(kept)} of {asked} questions kept")
        bank = Bank(
            source,
            article_id,
            self.version,
            revision,
            self.bot.llm.name,
            asked,
            round(time.perf_counter() - t0, 2),
            kept,
            turned_away,
        )
        with self._lock:
            self._write(bank)
            self._banks[source] = bank
        return bank

    # -- a stored answer ------------------------------------------------------------------------
    def stored(self, question: str, source: str) -> dict | None:
        """The stored answer to a banked question, if still valid at the current revision."""
        bank = self.load(source)
        key = question.casefold().strip()
        found = bank and next((b for b in bank.questions if b.question.casefold() == key), None)
        return found.answer if found else None


def run_cli(bot: Chatbot, article: str | None, as_json: bool) -> int:
    """`python -m chatbot questions`: each article's bank, built first (with a progress bar)."""
    from tqdm import tqdm

    bank = QuestionBank(bot)
    listed = {a.source: a.title for a in bot.store.catalog()}
    sources = [bot.find_article(article)] if article else list(listed)
    out = []
    for source in sources:
        found = bank.load(source)
        if found is None:
            with tqdm(total=bank.candidates, desc=f"questions {source}", unit="q") as bar:

                def step(done: int, total: int, note: str, bar: tqdm = bar) -> None:
                    bar.total = max(total, 1)
                    bar.n = done
                    bar.set_postfix_str(note[:40])
                    bar.refresh()

                found = bank.build(source, step)
        out.append({"source": source, "title": listed.get(source, ""), **found.to_dict()})
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    for b in out:
        print(f"{b['title'] or b['source']}  ({b['source']})")
        print(
            f"  {len(b['questions'])} of {b['candidates']} questions kept, built in {b['seconds']} s"
        )
        for q in b["questions"]:
            print(f"  - {q['question']}\n      {q['answer']['answer']}")
    return 0
