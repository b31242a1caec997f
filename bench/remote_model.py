"""The model on an OpenAI-compatible server (llama-cpp-python's own, `python -m llama_cpp.server`)
against the in-process backend, with the server's prompt cache off and on.

Three back ends answer the same questions, each from cold (a new server, or a new Llama with an
empty saved-state folder): in-process llama.cpp (its saved prompt states, chatbot/kvcache.py),
the server with `--cache false` and with `--cache true` (earlier prompts' states kept in RAM).
Two scenarios, each on a store of its own:
- `one home`: seed questions on the seed article (the system prompt is the same every time);
- `two homes`: questions alternating between the seed and a second article (the shared set's
  normans.txt), too long together for the prompt budget, so each is its own system prompt: the
  third question goes back to the first article (a saved state, the server's RAM cache, or a
  new read of it).
Figures per back end and scenario: the first question (it reads the system prompt), then time
to first token and answer time p50 over the rest, and the server's peak RSS. Prints a table and
writes bench/results/remote_model.json.

    .venv/bin/python bench/remote_model.py [--model PATH.gguf|smollm2] [--n 4] [--only "two homes"]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import llama_cpp
from common import pct, save

from chatbot import Chatbot, Settings
from chatbot.embeddings import make_embedder
from chatbot.models import LlamaCppLLM
from chatbot.store import ArticleStore
from chatbot.weights import assemble_qwen, smollm2_path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "nato-ministers-peace-plan.txt"
SECOND = ROOT.parent / "shared" / "eval-squad" / "articles" / "normans.txt"
SEED_QS = [
    "In which city did the NATO foreign ministers meet?",
    "What changed in the revised draft?",
    "Who is the NATO Secretary General quoted in the article?",
    "What force limit did the initial plan set for Ukraine's army?",
    "Who called the changes to the peace plan “unacceptable”?",
    "What did the initial U.S. plan include?",
]
SECOND_QS = [  # each reaches the model with normans.txt as its home (checked with the fake)
    "When was the Duchy of Normandy founded?",
    "What was one of the Norman's major exports?",
    "What century did the Normans first gain their separate identity?",
    "Who was the first Duke of Normandy?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Server:
    """llama_cpp.server on 127.0.0.1, as scripts/scale-out.sh starts it."""

    def __init__(self, model: Path, cache: bool, threads: int, log: Path) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
        cmd += ["--model_alias", "m", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--n_ctx", "4096", "--n_batch", "512", "--n_threads", str(threads)]
        cmd += ["--n_threads_batch", str(threads), "--logits_all", "false"]
        cmd += ["--cache", str(cache).lower(), "--interrupt_requests", "false"]
        self.log = log.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/v1"
        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited: see {log}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.25)
        raise SystemExit("llama_cpp.server did not start in 150 s")

    def stop(self) -> float:
        peak = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        return peak


def store_of(tmp: Path, articles: list[Path], settings: Settings) -> ArticleStore:
    (tmp / "seeds").mkdir(parents=True)
    for a in articles:
        shutil.copy(a, tmp / "seeds" / a.name)
    store = ArticleStore(settings, make_embedder(settings))
    Chatbot.from_settings(settings.with_(llm="fake"), store=store).ingest(
        [tmp / "seeds"], progress=False
    )
    return store


def run(bot: Chatbot, questions: list[str]) -> dict:
    rows = []
    for q in questions:
        a = bot.ask(q)
        rows.append(
            {
                "question": q,
                "ttft_s": a.stats.ttft_s,
                "answer_s": a.stats.latency_s,
                "refused": a.refused,
                "citations": len(a.citations),
            }
        )
    rest = [r for r in rows[1:] if r["ttft_s"] is not None]
    return {
        "first_ttft_s": rows[0]["ttft_s"],
        "first_answer_s": rows[0]["answer_s"],
        "ttft_p50_s": pct([r["ttft_s"] for r in rest], 50) if rest else None,
        "answer_p50_s": pct([r["answer_s"] for r in rest], 50) if rest else None,
        "answered": sum(not r["refused"] for r in rows),
        "questions": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", help="a GGUF, or smollm2 (default: the default Qwen2.5-1.5B)")
    ap.add_argument("--n", type=int, default=4, help="questions a scenario (default 4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["one home", "two homes"], help="run one scenario only")
    args = ap.parse_args()
    base = Settings.from_env({**os.environ, "CHATBOT_ROOT": str(ROOT)})
    if args.model == "smollm2":
        model = smollm2_path()
    else:
        model = Path(args.model) if args.model else assemble_qwen(base.cache_dir)
    scenarios = {"one home": ([SEED], SEED_QS[: args.n])}
    if SECOND.exists():
        mixed = [q for pair in zip(SEED_QS, SECOND_QS, strict=False) for q in pair]
        scenarios["two homes"] = ([SEED, SECOND], mixed[: args.n])
    else:
        print(f"note: {SECOND} not found; the two-homes scenario is left out", file=sys.stderr)
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if k == args.only}

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cache = tmp / "cache"
        cache.mkdir()
        (cache / "onnx").symlink_to(base.cache_dir / "onnx")
        for backend in ("in-process", "server, cache off", "server, cache on"):
            for scenario, (articles, questions) in scenarios.items():
                work = tmp / f"{len(results)}"
                settings = base.with_(
                    root=work,
                    store_dir=work / "vectorstore",
                    seeds_dir=work / "seeds",
                    cache_dir=cache,
                    embedder=base.embedder,
                    n_threads=args.threads,
                )
                store = store_of(work, articles, settings)
                shutil.rmtree(cache / "kv", ignore_errors=True)  # cold: no saved states
                server, rss = None, None
                t0 = time.perf_counter()
                if backend == "in-process":
                    llm = LlamaCppLLM(model, settings)
                    # prompt reading on --threads too, as the server's --n_threads_batch
                    llama_cpp.llama_set_n_threads(llm.llama._ctx.ctx, args.threads, args.threads)
                else:
                    server = Server(model, "on" in backend, args.threads, tmp / "server.log")
                    settings = settings.with_(
                        llm="openai", openai_base_url=server.url, openai_model="m"
                    )
                    llm = None
                load_s = time.perf_counter() - t0
                try:
                    bot = Chatbot.from_settings(settings, llm=llm, store=store)
                    figures = run(bot, questions)
                finally:
                    if server is not None:
                        rss = server.stop()
                del llm
                results[f"{backend} / {scenario}"] = {
                    **figures,
                    "load_s": load_s,
                    "server_peak_rss_mb": rss,
                }
                print(f"done: {backend} / {scenario}", file=sys.stderr)

    print()
    head = (
        "back end / scenario",
        "load s",
        "1st ttft",
        "1st answer",
        "ttft p50",
        "answer p50",
        "answered",
        "server RSS",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    for name, r in results.items():
        rss = "–" if r["server_peak_rss_mb"] is None else f"{r['server_peak_rss_mb']:.0f} MiB"
        cells = (
            name,
            f(r["load_s"]),
            f(r["first_ttft_s"]),
            f(r["first_answer_s"]),
            f(r["ttft_p50_s"]),
            f(r["answer_p50_s"]),
            f"{r['answered']}/{len(r['questions'])}",
            rss,
        )
        print("| " + " | ".join(cells) + " |")
    save(
        "remote_model",
        {
            "model": str(model),
            "threads": args.threads,
            "load_average_at_end": os.getloadavg(),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
