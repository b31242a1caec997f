"""Ingest throughput and hybrid retrieval latency at 1, 1,000 and 100,000 passages.

A synthetic corpus (pseudo-words, news-length sentences, one paragraph = one passage) is generated,
ingested into a fresh Chroma store on disk with the configured embedder (default MiniLM), then
50 queries are timed through HybridRetriever (query embedding + Chroma + BM25 + fusion), and the
first query of a new process on the same store (it loads the saved snapshot, not derives it).
Prints and writes bench/results/retrieval.json.

    .venv/bin/python bench/retrieval.py [--sizes 1 1000 100000] [--embedder minilm|hash]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from common import pct, peak_rss_mb, save

from chatbot import Settings
from chatbot.articles import Article
from chatbot.embeddings import make_embedder
from chatbot.retrieval import HybridRetriever
from chatbot.store import ArticleStore

PER_ARTICLE = 100


def vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sta",
        "ver",
        "don",
        "pel",
        "tri",
        "gan",
        "bo",
        "qui",
    ]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def sentence(rng: random.Random, words: list[str]) -> str:
    body = " ".join(rng.choice(words) for _ in range(rng.randint(12, 26)))
    return body[0].upper() + body[1:] + "."


def corpus(n_passages: int, seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    articles, left, i = [], n_passages, 0
    while left > 0:
        k = min(PER_ARTICLE, left)
        text = "\n\n".join(sentence(rng, words) for _ in range(k)) + "\n"
        articles.append(Article(f"synthetic/{i:05d}.txt", text))
        left, i = left - k, i + 1
    return articles


def run_size(n: int, settings: Settings, embeddings) -> dict:
    articles = corpus(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = ArticleStore(settings.with_(store_dir=Path(tmp)), embeddings)
        t0 = time.perf_counter()
        for a in articles:
            store.upsert(a)
        ingest_s = time.perf_counter() - t0
        retriever = HybridRetriever(store)
        t0 = time.perf_counter()
        retriever.retrieve("warm up the keyword index", 8)
        first_query_s = time.perf_counter() - t0
        # a new process on the same store: opens it and loads the saved snapshot
        t0 = time.perf_counter()
        store = ArticleStore(settings.with_(store_dir=Path(tmp)), embeddings)
        retriever = HybridRetriever(store)
        retriever.retrieve("warm up the saved index", 8)
        reopened_s = time.perf_counter() - t0
        rng = random.Random(2)
        words = articles[0].text.split()
        queries = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(50)]
        times = []
        for q in queries:
            t0 = time.perf_counter()
            retriever.retrieve(q, 8)
            times.append(time.perf_counter() - t0)
        return {
            "passages": n,
            "ingest_s": round(ingest_s, 2),
            "ingest_sentences_per_s": round(n / ingest_s, 1),
            "first_query_s (derives the snapshot)": round(first_query_s, 3),
            "new_process_first_query_s (loads it)": round(reopened_s, 3),
            "retrieval_p50_ms": round(1000 * pct(times, 50), 2),
            "retrieval_p95_ms": round(1000 * pct(times, 95), 2),
        }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 1000, 100_000])
    ap.add_argument("--embedder", default=None, help="minilm (default) or hash")
    args = ap.parse_args()
    settings = Settings.from_env()
    if args.embedder:
        settings = settings.with_(embedder=args.embedder)
    embeddings = make_embedder(settings)
    rows = []
    for n in args.sizes:
        rows.append(run_size(n, settings, embeddings))
        print(rows[-1], flush=True)
    save(
        "retrieval",
        {"embedder": settings.embedder, "sizes": rows, "peak_rss_mb": round(peak_rss_mb(), 1)},
    )


if __name__ == "__main__":
    main()
