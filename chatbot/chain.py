"""The chain: question → retrieve → floor → prompt → model → verify → Answer.

`Chatbot.ask` and `Chatbot.stream` are what every front end calls (CLI, Streamlit, eval, apps).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .answer import Answer, Citation, Stats
from .articles import source_key
from .citations import SpanChecker, verify
from .embeddings import make_embedder
from .errors import InputError
from .evidence import pointed_at
from .fitting import Parts, counter_of, fit
from .grounding import salient_terms, unstated
from .guard import leaks, off_limits
from .ingest import ingest, load_all, remove, stored_source
from .models import LLM, Usage, make_llm
from .prompting import PromptBuilder
from .release import finished, in_order, settled
from .repairs import Context, known, repair
from .retrieval import HybridRetriever
from .settings import Settings
from .splitting import Sentence
from .store import ArticleStore

MAX_QUESTION_CHARS = 2000
History = Sequence[tuple[str, str]]  # (role, text), role "user" or "assistant"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def check_question(question: str) -> str:
    q = _CONTROL.sub(" ", question or "").strip()  # control characters read as spaces
    if not q:
        raise InputError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(q):,} characters; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return q


def previous_question(history: History) -> str:
    for role, text in reversed(list(history)):
        if role == "user":
            return text.strip()
    return ""


@dataclass
class Prepared:
    """What a question's prompt is built from: retrieval's results and the prompt's parts."""

    stats: Stats
    hits: list[Sentence]
    relevant: list[Sentence]
    corpus: list[Sentence]
    label: str  # names the saved prompt state of the system message (its home sentences)
    parts: Parts | None  # None: nothing relevant enough (the chain refuses)


@dataclass
class Chatbot:
    settings: Settings
    store: ArticleStore
    llm: LLM
    prompts: PromptBuilder
    retriever: HybridRetriever
    spans: SpanChecker

    @classmethod
    def from_settings(
        cls, settings: Settings, llm: LLM | None = None, store: ArticleStore | None = None
    ) -> Chatbot:
        known(settings.repairs)
        store = store or ArticleStore(settings, make_embedder(settings))
        return cls(
            settings=settings,
            store=store,
            llm=llm or make_llm(settings),
            prompts=PromptBuilder(settings.prompts_dir),
            retriever=HybridRetriever(store),
            spans=SpanChecker(settings.root),
        )

    def ingest(
        self, paths: Sequence[Path], progress: bool = True, skip_removed: bool = False
    ) -> list[tuple[str, str]]:
        """(source, status) per article (`ingest.ingest`); `skip_removed` leaves out articles
        removed from the store, for a folder ingested by default rather than named."""
        s = self.settings
        found = load_all(paths, s.root, s.ingest_dirs, s.max_article_bytes)
        return ingest(self.store, found, progress, skip_removed)

    def ask(self, question: str, history: History = (), article: str | None = None) -> Answer:
        """Answer `question`, a follow-up to `history`, from every article or only `article`."""
        for event in self.stream(question, history, article):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def home(
        self, corpus: list[Sentence], source: str | None, anchor: Sentence | None = None
    ) -> tuple[list[Sentence], str]:
        """The sentences the cached system prompt holds, and their label: the whole store while
        it fits the budget, else the article `source` (one saved prompt state per article), or
        the part of it holding `anchor` when the article alone is too long."""
        budget = self.settings.corpus_token_budget
        if source is None or self.prompts.fits(corpus, budget):
            return corpus, "all"
        article = self.store.sentences(source)
        if self.prompts.fits(article, budget):
            return article, source_key(source)
        parts = self.prompts.parts(article, budget)
        at = next((i for i, part in enumerate(parts) if anchor in part), 0)
        return parts[at], f"{source_key(source)}-p{at + 1}"

    def find_article(self, name: str | None) -> str | None:
        """The stored source `name` names (see `ingest.stored_source`); None for every article."""
        return None if name is None else stored_source(self.store, name, self.settings.root)

    def remove(self, name: str) -> str:
        """Drop an article's records, saved prompt states and question bank (its files stay, and
        an ingest of the seeds folder skips it until it is named again); its source."""
        return remove(self.store, self.settings, name)

    def prepare(self, q: str, earlier: str = "", article: str | None = None) -> Prepared:
        """Retrieve for `q` and gather the prompt's parts (`parts` is None below the floor)."""
        found = self.retriever.retrieve(q, self.settings.retrieve_k, earlier, article)
        stats = Stats(best_cosine=found.best_cosine)
        hits = [h.sentence for h in found.hits]
        stats.retrieved = [Citation(s.source, s.start, s.end, s.text) for s in hits]
        if not hits or not self.on_topic(q, found.best_cosine, hits):
            return Prepared(stats, hits, [], [], "", None)
        relevant = pointed_at(self.store, hits[: self.settings.show_k])
        corpus = self.store.sentences()
        home, label = self.home(corpus, article or hits[0].source, hits[0])
        passages = list(dict.fromkeys(self.store.passage_of(s) for s in hits))
        parts = Parts(
            home=home,
            relevant=relevant,
            passages=passages[: self.settings.context_passages],
            ranked=hits,
            question=q,
            earlier=earlier,
            budget=self.settings.corpus_token_budget,
            text_budget=self.settings.shown_text_tokens,
        )
        return Prepared(stats, hits, relevant, corpus, label, parts)

    def on_topic(self, q: str, best_cosine: float, hits: list[Sentence]) -> bool:
        """Whether the model is asked at all: the best sentence is over the relevance floor, or
        the best few hold every name and number the question asks about (a short question
        scores low: "Who met in Brussels?" is at 0.28 against the seed's sentence about it)."""
        if best_cosine >= self.settings.relevance_floor:
            return True
        top = [s.indexed_text for s in hits[: self.settings.show_k]]
        return bool(salient_terms(q)) and not unstated(q, top)

    def stream(
        self, question: str, history: History = (), article: str | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer's text as it is verified, then the verified Answer (authoritative).
        Each finished sentence of the model's reply is checked with those before it (citations,
        the grounding check, `guard.leaks`) and only the text that passes is released, so what
        is shown is what the answer says, never the model's raw words. With `article` (its
        source, or the end of it: "harbour.txt"), only that article is read."""
        t0 = time.perf_counter()
        q = check_question(question)
        article = self.find_article(article)
        earlier = previous_question(history)
        prep = self.prepare(q, earlier, article)
        stats, hits, relevant, corpus = prep.stats, prep.hits, prep.relevant, prep.corpus
        if prep.parts is None or off_limits(q):
            stats.latency_s = time.perf_counter() - t0
            answer = Answer.refusal(stats)
            yield answer.text
            yield answer
            return
        label = prep.label
        room = self.settings.n_ctx - self.settings.max_tokens  # the prompt never exceeds it
        prompt = fit(self.prompts, prep.parts, room, counter_of(self.llm))
        ctx = Context(
            question=q,
            ranked=hits,
            corpus=corpus,
            passage_of=self.store.passage_of,
            vocabulary=self.retriever.vocabulary(),
            spans=self.spans,
            stats=stats,
        )

        def checked(raw: str, stats: Stats, repairs: tuple[str, ...], final: bool) -> Answer:
            ctx.stats = stats
            answer = verify(
                raw,
                q,
                prompt.numbering,
                list(dict.fromkeys(hits + relevant)),  # what the model was pointed at
                self.spans,
                self.settings.support_threshold,
                stats,
            )
            if answer.refused and not final:  # a sentence still being written may be backed
                return answer
            answer = repair(answer, ctx, repairs)
            if leaks(answer.text, self.prompts.templates["system"]):  # recites the instructions
                answer = Answer.refusal(stats)
            return answer

        # while the model writes, only the checks that keep or drop what is written: a repair
        # that adds text ("changes", "named_premise") or rescues a refusal waits for the end
        dropping = tuple(r for r in self.settings.repairs if r == "grounded")
        usage, pieces, shown, done = Usage(), [], "", 0
        for piece in self.llm.stream(prompt.messages, self.settings.max_tokens, usage, label):
            if stats.ttft_s is None:
                stats.ttft_s = time.perf_counter() - t0
            pieces.append(piece)
            raw = "".join(pieces)
            end = settled(raw, finished(raw))  # what can no longer change (`release`)
            if end > done:
                done = end
                probe = checked(raw[:end], Stats(), dropping, final=False)
                text = "" if probe.refused else in_order(probe.text)
                if text.startswith(shown) and len(text) > len(shown):
                    yield text[len(shown) :]
                    shown = text
        stats.raw = "".join(pieces)
        stats.prompt_tokens, stats.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        answer = checked(stats.raw, stats, self.settings.repairs, final=True)
        stats.latency_s = time.perf_counter() - t0
        if answer.text.startswith(shown) and answer.text != shown:
            yield answer.text[len(shown) :]
        yield answer

    def warm(self, article: str | None = None) -> None:
        """Read the fixed system prompt now (or load its saved state) so the first question is
        fast: the whole store's when it fits, else `article`'s."""
        corpus = self.store.sentences()
        if corpus:
            home, label = self.home(corpus, article)
            system, _ = self.prompts.system(home, self.settings.corpus_token_budget)
            messages = [{"role": "system", "content": system}, {"role": "user", "content": "Hello"}]
            for _ in self.llm.stream(messages, 1, None, label):
                pass
