"""The grounding check with the real parts (MiniLM, Chroma on disk, the default model) on an
article written for these tests (tests/data/riverton-harbour.txt): for each error shape, the
question the article answers is answered, and its swapped twin is refused with what the article
does say, quoted and cited exactly. `kind`: asked for a year, an answer with none is refused."""

from __future__ import annotations

import shutil

import pytest

from chatbot import Chatbot

from conftest import REPO, assert_spans_exact, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.default_model]
ARTICLE = "tests/data/riverton-harbour.txt"


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):
    root = tmp_path_factory.mktemp("harbour")
    (root / "seeds").mkdir()
    shutil.copy(REPO / ARTICLE, root / "seeds" / "riverton-harbour.txt")
    bot = Chatbot.from_settings(make_settings(root, embedder="minilm", llm="qwen"))
    bot.ingest([root / "seeds"], progress=False)
    return bot, root


SHAPES = {
    "actor": (
        "Which Portuguese company signed the contract to run the ferry crossings?",
        "Atlantico",
        "Which Spanish company signed the contract to run the ferry crossings?",
    ),
    "number": (
        "The harbour budget rose to what amount from 9 million euros?",
        "12 million",
        "The harbour budget rose to what amount from 7 million euros?",
    ),
    "superlative": (
        "What does the largest part of the harbour budget go to?",
        "dredging",
        "What does the smallest part of the harbour budget go to?",
    ),
    "kind": (  # the article gives a year for the one, only a month for the other
        "In what year did the old channel begin to silt up?",
        "2019",
        "In what year will work on the new pier start?",
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_answered_question_and_its_swapped_twin(harbour, shape):
    bot, root = harbour
    right, fact, swapped = SHAPES[shape]
    answer = bot.ask(right)
    assert not answer.refused and fact in answer.text, answer.stats.raw
    assert_spans_exact(answer.to_dict(), root)
    refusal = bot.ask(swapped)
    assert refusal.refused, (refusal.text, refusal.stats.raw)
    assert refusal.text.startswith("The articles don't say.")
    assert_spans_exact(refusal.to_dict(), root)
