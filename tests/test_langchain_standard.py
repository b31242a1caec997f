"""langchain-tests' standard suites on the project's LangChain components: the embedders
(`HashEmbeddings`; the ONNX MiniLM, slow) and `ArticleRetriever` over a real Chroma store on disk
with the seed ingested. The project has no chat-model adapter (its LLMs are not LangChain chat
models), so there is no chat-model suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from chatbot import Chatbot, Settings
from chatbot.embeddings import HashEmbeddings
from chatbot.lc_retriever import ArticleRetriever
from chatbot.minilm_onnx import OnnxMiniLM, ensure_exported
from chatbot.models import FakeLLM
from chatbot.retrieval import HybridRetriever

from conftest import REPO, SEED, make_settings

# the suites' async tests (`test_ainvoke_…`, `test_aembed_…`) run on pytest-asyncio (strict mode):
# the mark cannot go on the inherited methods alone, so it goes on all, and its note on the sync
# tests ("marked with '@pytest.mark.asyncio' but it is not an async function") is silenced
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings(
        "ignore:The test <Function .* is marked with '@pytest.mark.asyncio'"
    ),
]


# -- embeddings --------------------------------------------------------------------------------


class TestHashEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return HashEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dim": 64}


class TestHashEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return HashEmbeddings


@pytest.mark.slow
class TestOnnxMiniLMIntegration(EmbeddingsIntegrationTests):
    """The `minilm` registry entry: the export in the configured cache (made first if missing)."""

    @property
    def embeddings_class(self) -> type[Embeddings]:
        return OnnxMiniLM

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        settings = Settings.from_env()
        return {"folder": ensure_exported(settings.cache_dir), "n_threads": settings.n_threads}


# -- the retriever -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    """Hash embedder, real Chroma on disk, the seed ingested (as conftest's `fake_bot`)."""
    root: Path = tmp_path_factory.mktemp("root")
    (root / "seeds").mkdir()
    (root / SEED).write_bytes((REPO / SEED).read_bytes())
    settings = make_settings(root)
    bot = Chatbot.from_settings(settings, llm=FakeLLM())
    bot.ingest([settings.seeds_dir], progress=False)
    return bot.retriever


class TestArticleRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _store(self, seeded: HybridRetriever) -> None:
        self.hybrid = seeded

    @property
    def retriever_constructor(self) -> type[ArticleRetriever]:
        return ArticleRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": self.hybrid}

    @property
    def retriever_query_example(self) -> str:
        return "What did the revised draft include?"


def test_article_retriever_documents_are_exact_spans_of_the_seed(
    seeded: HybridRetriever,
) -> None:
    docs = ArticleRetriever(retriever=seeded, k=3).invoke("What did the revised draft include?")
    assert len(docs) == 3
    text = (REPO / SEED).read_text(encoding="utf-8")
    for doc in docs:
        assert doc.metadata["source"] == SEED
        assert text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    assert any("revised draft" in doc.page_content for doc in docs)


def test_article_retriever_limits_to_one_article(seeded: HybridRetriever) -> None:
    retriever = ArticleRetriever(retriever=seeded, article="seeds/no-such-article.txt")
    assert retriever.invoke("What did the revised draft include?") == []
    assert len(retriever.invoke("What did the revised draft include?", article=SEED, k=2)) == 2
