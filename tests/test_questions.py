"""The question bank: built from the model's questions, only grounded answers kept, stored with its
article and invalidated with it; starters and related questions picked from it; the command line.
Fake-model tests for the logic, one real-model test building a small bank."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from chatbot import Chatbot
from chatbot.question_builder import Builder
from chatbot.questions import QuestionBank, folder, parse
from chatbot.suggestions import Suggestions

from conftest import REPO, SEED, QuestionWriter, assert_spans_exact, make_settings, run_cli

RIVERTON = "seeds/riverton-harbour.txt"


@pytest.fixture
def writer_bot(settings) -> Chatbot:
    bot = Chatbot.from_settings(settings, llm=QuestionWriter())
    bot.ingest([settings.seeds_dir], progress=False)
    return bot


def add_riverton(root, bot: Chatbot) -> None:
    shutil.copy(REPO / "tests/data/riverton-harbour.txt", root / RIVERTON)
    bot.ingest([root / RIVERTON], progress=False)


def test_parse_keeps_questions_that_stand_alone():
    reply = (
        "1. What force limit did the initial plan set? [12]\n"
        "- What did he say? [3]\n"
        "Who met in Brussels on Wednesday?\n"
        "Here are some questions:\n"
        "Why? [4]\n"
    )
    assert parse(reply) == [
        "What force limit did the initial plan set?",
        "Who met in Brussels on Wednesday?",
    ]


def test_a_bank_keeps_only_grounded_answers_and_is_stored(writer_bot, root):
    bank = QuestionBank(writer_bot, candidates=8)
    built = bank.build(SEED)
    assert len(built.questions) == 6 and built.candidates == 6  # it stops once 6 are kept
    # the football one is not worded from the article: turned away before it is answered
    assert "Who won the football match?: not worded from the article" in built.turned_away
    assert all("football" not in b.question and " he " not in b.question for b in built.questions)
    assert len({b.question for b in built.questions}) == 6
    for b in built.questions:
        assert not b.answer["refused"] and b.answer["citations"]
        assert {c["source"] for c in b.answer["citations"]} == {SEED}
        assert_spans_exact(b.answer, root)
    (path,) = folder(writer_bot.settings).glob("*.json")
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["questions"][0]["answer"] == built.questions[0].answer  # the answer JSON shape
    again = QuestionBank(Chatbot.from_settings(writer_bot.settings))  # a new process reads it
    assert [b.question for b in again.load(SEED).questions] == [b.question for b in built.questions]


def test_question_prompt_continues_the_chats_system_prompt(writer_bot):
    writer_bot.ask("What force limit did the initial plan set?")
    chat_system, chat_label = writer_bot.llm.prompts[-1][0]["content"], writer_bot.llm.labels[-1]
    QuestionBank(writer_bot).write_questions(
        SEED, writer_bot.store.sentences(SEED)[:10], "NATO ministers"
    )
    assert writer_bot.llm.prompts[-1][0]["content"] == chat_system  # the saved state is reused
    assert writer_bot.llm.labels[-1] == chat_label


def test_the_bank_is_invalidated_when_its_article_changes_or_is_removed(writer_bot, root):
    bank = QuestionBank(writer_bot)
    bank.build(SEED)
    add_riverton(root, writer_bot)
    bank.build(RIVERTON)
    assert bank.load(SEED) is not None  # another article's ingest: still valid, re-checked

    path = root / SEED
    path.write_text(path.read_text(encoding="utf-8") + "\nA new last line was added.\n")
    assert bank.load(SEED) is not None  # the store still holds the old text…
    assert bank.stored(bank.load(SEED).questions[0].question, SEED)
    writer_bot.ingest([path], progress=False)
    assert bank.load(SEED) is None  # …re-ingested: its bank is gone until built anew
    assert QuestionBank(writer_bot).load(SEED) is None
    rebuilt = bank.build(SEED)
    assert len(list(folder(writer_bot.settings).glob("*.json"))) == 2  # the old file went
    assert rebuilt.questions and bank.load(SEED) is not None

    writer_bot.remove(RIVERTON)
    assert bank.load(RIVERTON) is None
    assert len(list(folder(writer_bot.settings).glob("*.json"))) == 1


def test_stored_answers_whose_quotes_no_longer_match_the_file_are_dropped(writer_bot, root):
    bank = QuestionBank(writer_bot)
    question = bank.build(SEED).questions[0].question
    path = root / SEED
    path.write_text("X" + path.read_text(encoding="utf-8"), encoding="utf-8")  # offsets shift
    add_riverton(root, writer_bot)  # a new revision: the stored answers are checked again
    assert bank.stored(question, SEED) is None and bank.load(SEED) is None


def test_starters_cite_different_sentences_and_follow_the_scope(writer_bot, root):
    bank = QuestionBank(writer_bot)
    bank.build(SEED)
    add_riverton(root, writer_bot)
    bank.build(RIVERTON)
    offer = Suggestions(bank)
    for scope in (None, SEED, RIVERTON):
        starters = offer.starters(article=scope)
        assert 3 <= len(starters) <= 4
        cited = [c for b in starters for c in b.cited]
        assert len(cited) == len(set(cited))  # no sentence cited by two
        if scope:
            assert {b.source for b in starters} == {scope}
    assert {b.source for b in offer.starters()} == {SEED, RIVERTON}  # spread over both


def test_related_questions_are_near_the_answer_new_and_on_different_sentences(writer_bot):
    bank = QuestionBank(writer_bot)
    built = bank.build(SEED)
    first = built.questions[0]
    offer = Suggestions(bank)
    related = offer.related(first.answer["citations"], {first.question})
    assert related and first.question not in [b.question for b in related]
    cited = [c for b in related for c in b.cited]
    assert len(cited) == len(set(cited))
    assert all(not b.cited <= first.cited for b in related)
    asked = {first.question, related[0].question}
    assert related[0].question not in [
        b.question for b in offer.related(first.answer["citations"], asked)
    ]


def test_the_builder_works_in_the_background_and_reports_progress(writer_bot):
    bank = QuestionBank(writer_bot)
    builder = Builder(bank)
    seen: list = []
    original = bank.build

    def build(source, progress=None):
        def note(done, total, what):
            progress(done, total, what)
            seen.append(builder.status())

        return original(source, note)

    bank.build = build
    builder.want([SEED])
    assert builder.wait(60) and builder.finished == [SEED] and not builder.errors
    assert seen and seen[0][0] == SEED and any("answering" in s[3] for s in seen)
    builder.want([SEED])  # ready: nothing to do
    assert not builder.busy() and builder.finished == [SEED]


def test_cli_lists_the_bank_building_it_if_needed(root):
    Chatbot.from_settings(make_settings(root)).ingest([root / "seeds"], progress=False)
    built = run_cli(root, "questions", "--json")  # the plain fake model writes no questions
    assert built.returncode == 0, built.stderr
    (listed,) = json.loads(built.stdout)
    assert listed["source"] == SEED and listed["questions"] == [] and listed["candidates"] == 0

    shutil.rmtree(folder(make_settings(root)))
    bank = QuestionBank(Chatbot.from_settings(make_settings(root), llm=QuestionWriter()), 8)
    kept = [b.question for b in bank.build(SEED).questions]
    text = run_cli(root, "questions", "--article", "nato-ministers-peace-plan.txt")
    assert text.returncode == 0 and "6 of 6 questions kept" in text.stdout
    assert all(q in text.stdout for q in kept)  # listed, not built again
    missing = run_cli(root, "questions", "--article", "nowhere.txt")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no article")


@pytest.mark.slow
@pytest.mark.default_model
def test_the_default_model_writes_questions_the_chain_answers(root):
    """A small bank on a short article: the 1.5B model's questions, answered and verified."""
    (root / SEED).unlink()
    shutil.copy(REPO / "tests/data/riverton-harbour.txt", root / RIVERTON)
    settings = make_settings(root, llm="qwen", embedder="minilm")
    bot = Chatbot.from_settings(settings)
    bot.ingest([settings.seeds_dir], progress=False)
    t0 = time.perf_counter()
    built = QuestionBank(bot, candidates=4, per_batch=4, keep=4).build(RIVERTON)
    print(
        f"bank: {len(built.questions)} of {built.candidates} kept in {time.perf_counter() - t0:.1f} s"
    )
    print("\n".join(b.question for b in built.questions))
    assert built.candidates >= 3 and len(built.questions) >= 2
    for b in built.questions:
        assert b.question.endswith("?") and not b.answer["refused"]
        assert_spans_exact(b.answer, root)
