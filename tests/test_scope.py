"""Article-scoped questions, and the system prompt holding one article once the store outgrows
the budget (one saved prompt state per article, least recently used out)."""

from __future__ import annotations

import os
import shutil

import pytest

from chatbot import Chatbot, kvcache
from chatbot.articles import source_key
from chatbot.errors import InputError
from chatbot.models import FakeLLM

from conftest import REPO, SEED, assert_spans_exact

HARBOUR = "seeds/riverton-harbour.txt"


@pytest.fixture
def two_bot(settings, root) -> Chatbot:
    """The seed and a short harbour article, hash embedder, fake model."""
    shutil.copy(REPO / "tests/data/riverton-harbour.txt", root / HARBOUR)
    bot = Chatbot.from_settings(settings, llm=FakeLLM())
    bot.ingest([settings.seeds_dir], progress=False)
    return bot


def one_article_budget(bot: Chatbot) -> int:
    """A budget the seed fits on its own but not together with the harbour article."""
    seed = [s for s in bot.store.sentences() if s.source == SEED]
    budget = next(b for b in range(100, 5000, 10) if bot.prompts.fits(seed, b))
    assert not bot.prompts.fits(bot.store.sentences(), budget)
    return budget


def test_a_scoped_question_reads_and_cites_only_its_article(two_bot, root):
    answer = two_bot.ask("Who voted against the harbour plan?", article=HARBOUR)
    assert not answer.refused and answer.citations
    assert {c.source for c in answer.citations} == {HARBOUR}
    assert {c.source for c in answer.stats.retrieved} == {HARBOUR}
    assert_spans_exact(answer.to_dict(), root)
    other = two_bot.ask("Who voted against the harbour plan?", article=SEED)
    assert {c.source for c in other.stats.retrieved} == {SEED}
    assert all(c.source == SEED for c in other.citations)


def test_an_article_is_named_by_its_source_or_the_end_of_it(two_bot, root):
    assert two_bot.find_article("riverton-harbour.txt") == HARBOUR
    assert two_bot.find_article(HARBOUR) == HARBOUR
    with pytest.raises(InputError, match=r"no article 'seeds/nope\.txt'"):
        two_bot.ask("Who voted?", article="seeds/nope.txt")
    (root / "archive").mkdir()
    shutil.copy(root / HARBOUR, root / "archive")
    two_bot.ingest([root / "archive"], progress=False)
    with pytest.raises(InputError, match="names 2 articles"):
        two_bot.find_article("riverton-harbour.txt")


def test_past_the_budget_the_system_prompt_holds_the_article_of_the_best_evidence(two_bot):
    two_bot.settings = two_bot.settings.with_(corpus_token_budget=one_article_budget(two_bot))
    two_bot.ask("Who voted against the harbour plan in Riverton?")
    two_bot.ask("What did the revised draft include?")
    (harbour_system, _), (seed_system, _) = two_bot.llm.prompts
    assert "Councillor Tom Baker" in harbour_system["content"]
    assert "Rutte" not in harbour_system["content"]
    assert "Rutte" in seed_system["content"] and "Riverton" not in seed_system["content"]
    assert two_bot.llm.labels == [source_key(HARBOUR), source_key(SEED)]


def test_an_article_longer_than_the_budget_is_cut_into_parts_each_with_its_own_state(two_bot):
    seed = two_bot.store.sentences(SEED)
    budget = one_article_budget(two_bot) // 2  # the seed needs two or three parts
    two_bot.settings = two_bot.settings.with_(corpus_token_budget=budget)
    parts = two_bot.prompts.parts(seed, budget)
    assert len(parts) >= 2 and [s for p in parts for s in p] == seed
    assert all(two_bot.prompts.fits(p, budget) for p in parts)
    assert all(p[0].kind != "item" for p in parts)  # a list stays with its intro
    two_bot.ask("Who voted against the harbour plan in Riverton?")  # the harbour fits: one state
    two_bot.ask("What did the revised draft include?", article=SEED)
    two_bot.ask("Where did the NATO foreign ministers meet?", article=SEED)
    key = source_key(SEED)
    assert two_bot.llm.labels[0] == source_key(HARBOUR)
    assert {label.rsplit("-p", 1)[0] for label in two_bot.llm.labels[1:]} == {key}
    for (system, _), label in zip(two_bot.llm.prompts[1:], two_bot.llm.labels[1:], strict=True):
        part = parts[int(label.rsplit("-p", 1)[1]) - 1]
        assert part[0].text in system["content"]  # the part is in the system prompt, numbered
        assert all(s.text not in system["content"] for p in parts if p is not part for s in p)


def test_while_the_store_fits_one_system_prompt_holds_it_all(two_bot):
    two_bot.ask("Who voted against the harbour plan in Riverton?")
    two_bot.ask("What did the revised draft include?")
    first, second = two_bot.llm.prompts
    assert first[0] == second[0] and "Riverton" in first[0]["content"]
    assert two_bot.llm.labels == ["all", "all"]


def test_sentences_of_another_article_are_written_out_numbered_after_the_home_ones(two_bot):
    corpus = two_bot.store.sentences()
    seed = [s for s in corpus if s.source == SEED]
    harbour = [s for s in corpus if s.source == HARBOUR]
    prompt = two_bot.prompts.build(
        home=seed,
        relevant=[seed[3], harbour[2]],
        passages=[],
        ranked=[harbour[2], seed[3]],
        question="Who voted?",
        earlier="",
        budget=5000,
        text_budget=60,
    )
    system, user = (m["content"] for m in prompt.messages)
    away = len(seed) + 1
    assert prompt.numbering[away] == harbour[2]
    assert f"[{away}] {harbour[2].text}" in user and harbour[2].text not in system
    assert f"(article {HARBOUR})" in user
    assert user.count(harbour[2].text) == 1  # written once, named by number below


def test_a_changed_article_or_prompt_file_gets_a_new_saved_state(two_bot, tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights")
    seed = [s for s in two_bot.store.sentences() if s.source == SEED]
    system, _ = two_bot.prompts.system(seed, 5000)
    edited_article, _ = two_bot.prompts.system(seed[1:], 5000)
    two_bot.prompts.templates["system"] = "Changed rules.\n{articles}"
    edited_prompt, _ = two_bot.prompts.system(seed, 5000)
    paths = {kvcache.state_path(tmp_path, "a", model, 4096, s) for s in (system, edited_article)}
    paths.add(kvcache.state_path(tmp_path, "a", model, 4096, edited_prompt))
    assert len(paths) == 3 and all(p.name.startswith("a-") for p in paths)


def test_saved_states_beyond_the_size_bound_go_least_recently_used_first(tmp_path):
    for i, name in enumerate(["old", "mid", "new"]):
        path = tmp_path / f"{name}-x.npz"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + i, 1000 + i))
    kvcache.evict(tmp_path, 250)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["mid-x.npz", "new-x.npz"]
