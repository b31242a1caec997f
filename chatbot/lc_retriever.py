"""The hybrid retriever as a LangChain `BaseRetriever`, for use in other LangChain pipelines.

`ArticleRetriever(retriever=bot.retriever, k=4, article=None).invoke(question)` returns the `k`
best sentences (dense + BM25, `retrieval.HybridRetriever`) as `Document`s: the sentence's text,
with `source`, `start` and `end` in the metadata (text[start:end] of that file is the sentence).
`k` and `article` (limit to one article's `source`) can also be given per call to `invoke`.
The chatbot itself does not use it; it passes langchain-tests' `RetrieversIntegrationTests`.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from .retrieval import HybridRetriever


class ArticleRetriever(BaseRetriever):
    """The `k` best sentences for a query, from one article when `article` is set."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = Field(default=4, ge=1)
    article: str | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        article: str | None = None,
    ) -> list[Document]:
        found = self.retriever.retrieve(
            query, self.k if k is None else k, source=article or self.article
        )
        return [
            Document(
                page_content=hit.sentence.text,
                metadata={
                    "source": hit.sentence.source,
                    "start": hit.sentence.start,
                    "end": hit.sentence.end,
                },
            )
            for hit in found.hits
        ]
