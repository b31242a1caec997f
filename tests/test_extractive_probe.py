"""The extractive probe (`bench/extractive.py`): its scoring helpers, the chain's `prepare` it
builds on (the same prompt the chain sends), and the wrapped logits read on the real model."""

from __future__ import annotations

import importlib
import shutil
import sys

import numpy as np
import pytest

from chatbot import Chatbot
from chatbot.fitting import counter_of, fit
from chatbot.models import FakeLLM

from conftest import REPO, make_settings

sys.path.insert(0, str(REPO / "bench"))
extractive = importlib.import_module("extractive")


def test_none_probability_weighs_the_none_tokens_against_the_numbers():
    logits = np.zeros(10)
    logits[[1, 2]] = 3.0  # two spellings of "none"
    assert extractive.none_probability(logits, [1, 2], [5, 6]) > 0.9
    assert extractive.none_probability(logits, [5, 6], [1, 2]) < 0.1
    assert extractive.none_probability(np.zeros(10), [1], [5]) == pytest.approx(0.5)


def test_auc_counts_ties_as_half():
    assert extractive.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert extractive.auc([0.1], [0.9]) == 0.0
    assert extractive.auc([0.5], [0.5]) == 0.5


def test_a_reply_without_a_known_sentence_is_none():
    assert extractive.said_none({"reply": "none", "chosen": []})
    assert extractive.said_none({"reply": "[99]", "chosen": []})  # a number not shown
    assert not extractive.said_none({"reply": "[3]", "chosen": ["A sentence."]})


def test_prepare_gives_the_prompt_the_chain_sends(fake_bot: Chatbot):
    question = "What force limit did the revised draft set?"
    fake_bot.llm = FakeLLM(["The limit is 800,000 [1]."])
    fake_bot.ask(question)
    prep = fake_bot.prepare(question)
    room = fake_bot.settings.n_ctx - fake_bot.settings.max_tokens
    assert prep.parts is not None and prep.hits
    prompt = fit(fake_bot.prompts, prep.parts, room, counter_of(fake_bot.llm))
    assert prompt.messages == fake_bot.llm.prompts[0]
    assert fake_bot.llm.labels[0] == prep.label


@pytest.mark.slow
@pytest.mark.default_model
def test_the_first_token_logits_are_those_the_reply_starts_with(tmp_path):
    (tmp_path / "seeds").mkdir()
    shutil.copy(REPO / "tests/data/riverton-harbour.txt", tmp_path / "seeds" / "harbour.txt")
    bot = Chatbot.from_settings(make_settings(tmp_path, embedder="minilm", llm="qwen"))
    # saved states of its own: one saved by an earlier run holds this very prompt (a state is
    # saved after its first reply), and it would be read from the cache, with nothing new
    bot.llm.kv_dir = tmp_path / "kv"
    bot.ingest([tmp_path / "seeds"], progress=False)
    bot.prompts.templates["question"] = (REPO / "prompts" / "extract.txt").read_text()
    prep = bot.prepare("Which company signed the contract to run the ferry crossings?")
    assert prep.parts is not None
    prompt = fit(bot.prompts, prep.parts, 4096, counter_of(bot.llm))
    reply, logits, new = extractive.pick(bot.llm, prompt.messages, prep.label)
    llama = bot.llm.llama
    first = llama.tokenize(reply.encode(), add_bos=False, special=False)[0]
    assert int(np.argmax(logits)) == first  # greedy: the reply starts with the best token
    assert 0 < new <= len(llama._input_ids)
    again = extractive.pick(bot.llm, prompt.messages, prep.label)
    assert again[0] == reply and again[2] <= 1  # the same prompt is read from the cache
