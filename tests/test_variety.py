"""A varied bank: repeats turned away before the chain answers them (same words, same sentence,
same meaning, a used opening), one answer per set of cited sentences, questions asked about
sentences spread over each part; the same-meaning threshold on the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot import Chatbot, Settings
from chatbot.embeddings import make_embedder
from chatbot.models import FakeLLM
from chatbot.questions import QuestionBank, targets_in
from chatbot.splitting import Sentence
from chatbot.variety import SAME_MEANING, Variety, about, direct, opening
from chatbot.words import content_stems

from conftest import SEED

AXES = {"dredging": 0, "pier": 1, "ferry": 2, "budget": 3, "vote": 4}


def by_topic(texts: list[str]) -> list[list[float]]:
    """A stand-in embedder: one axis per topic word, so two questions on a topic are the same."""
    out = []
    for t in texts:
        v = np.zeros(len(AXES) + 1)
        v[next((i for w, i in AXES.items() if w in t.casefold()), len(AXES))] = 1.0
        out.append(v.tolist())
    return out


def test_opening_is_the_first_three_words_case_folded():
    assert opening("What is the name of the mayor?") == "what is the name"
    assert opening("Who’s Riverton's mayor?") == "who’s riverton's mayor"


def test_the_name_of_the_person_who_is_asked_directly():
    assert direct("What is the name of the person who chaired the meeting?") == (
        "Who chaired the meeting?"
    )
    assert direct("What was the name of the official that signed it?") == "Who signed it?"
    assert direct("What is the name of the ferry company?") == (
        "What is the name of the ferry company?"
    )


def test_a_first_word_is_used_twice_at_most():
    v = Variety(by_topic)
    assert v.refuse("Who signed the ferry contract?", 1) is None
    assert v.refuse("Who voted against the plan?", 2) is None
    assert v.refuse("Who approved the budget?", 3) == "first word 'who' already used 2 times"
    assert v.refuse("How much is the budget?", 3) is None


def test_repeats_are_turned_away_and_the_rest_taken():
    v = Variety(by_topic)
    assert v.refuse("How much did the dredging cost?", 3) is None
    assert v.refuse("How much did the dredging cost ?", 9) == "the same question"
    assert v.refuse("When does work on the pier start?", 3) == "a sentence already asked about"
    assert (
        v.refuse("How much did the ferry contract cost?", 5)
        == "opening 'how much did the' already used"
    )
    assert (
        v.refuse("Which channel needs dredging since 2019?", 6) == "the same meaning as one taken"
    )
    assert v.refuse("When does work on the pier start?", 7) is None
    assert v.refuse("Who voted against the plan?", None) is None  # no sentence number: fine
    assert v.same_answer(frozenset({("a.txt", 0, 10)})) is False
    assert v.same_answer(frozenset({("a.txt", 0, 10)})) is True
    assert v.same_answer(frozenset({("a.txt", 0, 10), ("a.txt", 11, 20)})) is False


class Repeater(FakeLLM):
    """Asked for questions, writes flat and repeated ones; answers like FakeLLM otherwise."""

    REPLY = (
        "What is the name of the mayor? [2]\n"  # the prompt's example, not the article
        "What is the name of the person who warned the meeting? [3]\n"  # asked "Who…?"
        "Who warned the meeting of NATO ministers? [3]\n"  # same sentence
        "Who warned the meeting about Russia? [7]\n"  # opening used
        "What force limit did the initial plan set? [12]\n"
        "What force limit did the initial plan set? [13]\n"  # same words
        "What force limit did the revised draft set? [99]\n"  # opening used; no such sentence
    )

    def stream(self, messages, max_tokens, usage=None, label=""):
        if "Do not answer anything now" in messages[-1]["content"]:
            self.prompts.append(messages)
            yield self.REPLY
            return
        yield from super().stream(messages, max_tokens, usage, label)


def test_a_bank_answers_only_the_varied_candidates(settings, monkeypatch):
    bot = Chatbot.from_settings(settings, llm=Repeater())
    bot.ingest([settings.seeds_dir], progress=False)
    asked, ask = [], Chatbot.ask

    def counted(self, question, *args, **kwargs):
        asked.append(question)
        return ask(self, question, *args, **kwargs)

    monkeypatch.setattr(Chatbot, "ask", counted)  # the chain, counted
    built = QuestionBank(bot, candidates=5, per_batch=5).build(SEED)
    assert asked == ["Who warned the meeting?", "What force limit did the initial plan set?"]
    assert built.candidates == 2
    assert built.turned_away == [
        "What is the name of the mayor?: not worded from the article",
        "Who warned the meeting of NATO ministers?: a sentence already asked about",
        "Who warned the meeting about Russia?: opening 'who warned the meeting' already used",
        "What force limit did the initial plan set?: the same question",
        "What force limit did the revised draft set?: opening 'what force limit did' already used",
    ]
    assert len(built.questions) == len({b.cited for b in built.questions})


def _sentences(words: list[int]) -> list[Sentence]:
    return [
        Sentence("a.txt", i * 100, i * 100 + 50, " ".join(["word"] * n))
        for i, n in enumerate(words)
    ]


def test_targets_are_spread_over_the_part_and_skip_short_lines():
    part = _sentences([2, 8, 8, 3, 8, 8, 8, 8, 8, 8])
    full = [s for s in part if len(s.text.split()) >= 6]
    assert targets_in(part, 4) == [full[1], full[3], full[5], full[7]]  # one in each quarter
    assert targets_in(part[:3], 4) == part[1:3]  # fewer than asked: every full one
    assert targets_in(_sentences([2, 3]), 4) == _sentences([2, 3])  # none full: any


@pytest.mark.slow
def test_same_meaning_threshold_on_minilm():
    """The pairs the threshold was set on (variety.py): the repeat above it, the closest pair of
    different questions below it."""
    embed = make_embedder(Settings().with_(embedder="minilm")).embed_documents

    def cosine(a: str, b: str) -> float:
        x, y = (np.asarray(v) / np.linalg.norm(v) for v in embed([a, b]))
        return float(x @ y)

    same = cosine(
        "What is the name of the person who warned about Russia's testing of deterrence?",
        "What is the name of the person who warned Russia about its testing of deterrence?",
    )
    different = cosine("When was Harvard University founded?", "Who was Harvard named after?")
    assert different < SAME_MEANING <= same


def test_a_question_not_worded_from_its_article_is_turned_away():
    """The 1.5B model asks about the prompt's worked example ("the mayor", "the tram line"): a
    question whose content words the article mostly lacks is turned away before it is answered;
    one adding a verb of its own is taken."""
    article = "The harbour board voted on Tuesday to dredge the northern channel for ferries."
    v = Variety(by_topic, article)
    assert v.refuse("What is the name of the mayor?", 1) == "not worded from the article"
    assert v.refuse("Who called the vote a good day for the city?", 2) == (
        "not worded from the article"
    )
    assert v.refuse("What happened to the northern channel?", 3) is None
    assert about("When did the harbour board vote?", set(content_stems(article)))


def test_an_unanswered_question_gives_its_opening_back():
    v = Variety(by_topic)
    assert v.refuse("How much did the dredging cost?", 3) is None
    v.release("How much did the dredging cost?")  # the chain did not answer it
    assert v.refuse("How much did the ferry contract cost?", 5) is None
    assert v.refuse("How much did the dredging cost?", 7) == "the same question"  # still asked
