"""MiniLM on onnxruntime (`minilm`) against sentence-transformers on torch (`minilm-torch`).

Each backend runs in a fresh subprocess, so its imports and memory are its own:
- import time (the backend's libraries) and model load time, RSS after load and at the end;
- sentences/s at several batch sizes on real article sentences (the seed and, when present,
  ../shared/eval-squad/articles, read in place), with CPU seconds beside the wall time: on a busy
  machine sentences per CPU-second × threads is the better guess of the figure on idle cores;
- ingest into a fresh Chroma store (those articles, then a synthetic 1,000-passage corpus from
  bench/retrieval.py), split into time inside the embedder and the rest (Chroma adds, splitting).
Then the cosine distance between the two backends' vectors. Prints a table and writes
bench/results/embedder.json.

    .venv/bin/python bench/embedder.py [--batches 1 8 16 64] [--seconds 3] [--synthetic 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval-squad" / "articles"
LIBRARIES = {
    "minilm": ["numpy", "onnxruntime", "tokenizers"],
    "minilm-torch": ["torch", "sentence_transformers", "langchain_huggingface"],
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def article_files() -> list[Path]:
    return sorted((ROOT / "seeds").glob("*.txt")) + sorted(SQUAD.glob("*.txt"))


def load_articles():  # -> list[Article]
    from chatbot.articles import Article

    return [
        Article(str(p.relative_to(p.parents[1])), p.read_text("utf-8")) for p in article_files()
    ]


def sentences() -> list[str]:
    from chatbot.splitting import sentences_of, split_article

    return [s.indexed_text for a in load_articles() for s in sentences_of(split_article(a))]


class Timed:
    """An Embeddings wrapper that adds up the time spent embedding documents."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.seconds = inner, inner.model_name, 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        t0 = time.perf_counter()
        out = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - t0
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def set_batch(emb, n: int) -> int:
    """Set the embedder's batch size; returns the one it had."""
    if hasattr(emb, "batch_size"):  # OnnxMiniLM
        old, emb.batch_size = emb.batch_size, n
    else:  # HuggingFaceEmbeddings
        old, emb.encode_kwargs["batch_size"] = emb.encode_kwargs["batch_size"], n
    return old


def ingest(emb, settings, articles, label: str) -> dict:
    from chatbot.splitting import sentences_of, split_article
    from chatbot.store import ArticleStore

    n = sum(len(sentences_of(split_article(a))) for a in articles)
    timed = Timed(emb)
    with tempfile.TemporaryDirectory() as tmp:
        store = ArticleStore(settings.with_(store_dir=Path(tmp)), timed)  # type: ignore[arg-type]
        timed.seconds = 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        for a in articles:
            store.upsert(a)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "corpus": label,
        "sentences": n,
        "wall_s": round(wall, 2),
        "sentences_per_s": round(n / wall, 1),
        "embed_s": round(timed.seconds, 2),
        "rest_s (chroma, splitting)": round(wall - timed.seconds, 2),
        "cpu_s": round(cpu, 2),
    }


def worker(name: str, batches: list[int], seconds: float, synthetic: int, out: Path) -> None:
    """One backend in this fresh process; figures as JSON on stdout, vectors into `out`."""
    import importlib

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    for lib in LIBRARIES[name]:
        importlib.import_module(lib)
    import_s = time.perf_counter() - t0
    import numpy as np

    from chatbot import Settings
    from chatbot.embeddings import make_embedder

    settings = Settings.from_env().with_(embedder=name)
    t0 = time.perf_counter()
    emb = make_embedder(settings)
    emb.embed_query("warm up")
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    texts = sentences()
    rates, configured = [], set_batch(emb, 1)
    for b in batches:
        set_batch(emb, b)
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            emb.embed_documents(texts)
            n += len(texts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rates.append(
            {
                "batch": b,
                "sentences_per_s": round(n / wall, 1),
                "per_cpu_s x threads": round(n / cpu * settings.n_threads, 1),
            }
        )
    set_batch(emb, configured)  # the registry's batch size for the vectors and ingest
    np.save(out, np.array(emb.embed_documents(texts), dtype=np.float32))
    sys.path.insert(0, str(Path(__file__).parent))
    from retrieval import corpus

    runs = [ingest(emb, settings, load_articles(), "articles")]
    if synthetic:
        runs.append(ingest(emb, settings, corpus(synthetic), f"synthetic {synthetic} passages"))
    print(
        json.dumps(
            {
                "embedder": name,
                "import_s": round(import_s, 2),
                "load_s": round(load_s, 2),
                "rss_after_load_mb": round(rss_loaded, 1),
                "peak_rss_mb": round(rss_mb(), 1),
                "throughput": rates,
                "ingest": runs,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 64])
    ap.add_argument("--seconds", type=float, default=3.0, help="per batch size")
    ap.add_argument("--synthetic", type=int, default=1000, help="passages (0: none)")
    ap.add_argument("--worker", choices=list(LIBRARIES), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.batches, args.seconds, args.synthetic, args.out)

    import numpy as np

    from chatbot.minilm_onnx import _tokenizer, ensure_exported
    from chatbot.settings import Settings

    texts = sentences()
    tok = _tokenizer(ensure_exported(Settings.from_env().cache_dir) / "tokenizer.json")
    tokens = [len(e.ids) for e in tok.encode_batch(texts)]
    results, vectors = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in LIBRARIES:
            out = Path(tmp) / f"{name}.npy"
            cmd = [sys.executable, __file__, "--worker", name, "--out", str(out)]
            cmd += ["--batches", *map(str, args.batches), "--seconds", str(args.seconds)]
            cmd += ["--synthetic", str(args.synthetic)]
            run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"{name} worker failed:\n{run.stderr[-3000:]}")
            results[name] = json.loads(run.stdout.strip().splitlines()[-1])
            vectors[name] = np.load(out)
    a, b = vectors["minilm"], vectors["minilm-torch"]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    agreement = {
        "sentences": len(texts),
        "mean_tokens": round(sum(tokens) / len(tokens), 1),
        "max_cosine_distance": float(f"{(1 - cos).max():.2e}"),
        "mean_cosine_distance": float(f"{(1 - cos).mean():.2e}"),
    }
    print(f"\n{len(texts)} sentences, {agreement['mean_tokens']} tokens on average")
    print(f"{'':14}{'import s':>10}{'load s':>8}{'RSS loaded MB':>15}{'peak RSS MB':>13}")
    for name, r in results.items():
        print(
            f"{name:14}{r['import_s']:>10}{r['load_s']:>8}"
            f"{r['rss_after_load_mb']:>15}{r['peak_rss_mb']:>13}"
        )
    print(f"\n{'sentences/s':14}" + "".join(f"{'batch ' + str(b):>16}" for b in args.batches))
    for name, r in results.items():
        cells = [f"{t['sentences_per_s']} ({t['per_cpu_s x threads']})" for t in r["throughput"]]
        print(f"{name:14}" + "".join(f"{c:>16}" for c in cells))
    print("  (in brackets: sentences per CPU-second × threads, the idle-machine estimate)")
    print(f"\n{'ingest':14}{'corpus':>28}{'sent/s':>9}{'embed s':>9}{'rest s':>9}")
    for name, r in results.items():
        for i in r["ingest"]:
            rest = i["rest_s (chroma, splitting)"]
            print(f"{name:14}{i['corpus']:>28}{i['sentences_per_s']:>9}{i['embed_s']:>9}{rest:>9}")
    print(f"\nagreement: max cosine distance {agreement['max_cosine_distance']}")
    save("embedder", {"backends": results, "agreement": agreement})


if __name__ == "__main__":
    main()
