"""The store's faults at full counts (issue 13): `kill -9` during an ingest (20 trials), two
processes writing at once (2 × 500 adds), a full disk (a small tmpfs), and questions in 20
languages on the real model, and what keeping chromadb's log whole costs (ingest time, disk, a
rebuild; `log`). tests/test_faults.py runs the same trials with reduced counts.

    .venv/bin/python bench/faults.py [--trials 20] [--writes 500] [--parts kill,writers,disk,languages,log]

Every trial runs real processes on a real Chroma store on disk (the hash embedder, so the time
goes to the store). Figures go to bench/results/robustness.json (sections *_bench).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import record

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KILL_ARTICLES = 4  # articles in the folder a trial ingests
KILL_SENTENCES = 1200  # sentences in each
KILL_WINDOW_S = 8.0  # the kill comes this long at most after the first write began
TMPFS_SIZE = "48m"
DISK_ANNEX = 2000  # sentences of the article that fills the disk

# a fresh process: open the store (recovering any unfinished write), report what it holds and
# whether it is consistent, then (with "rerun") run the ingest again and report once more
CHECK = r"""
import hashlib, json, sys
from pathlib import Path
from chatbot import Chatbot
from chatbot.settings import Settings

settings = Settings.from_env()
bot = Chatbot.from_settings(settings)
expected = json.loads(sys.argv[1])

def state():
    got = bot.store.db.get(include=["metadatas"])
    by_source = {}
    for m in got["metadatas"]:
        by_source.setdefault(m["source"], []).append(m)
    whole = True
    for source, records in by_source.items():
        text = (settings.root / source).read_text(encoding="utf-8")
        versions = {m["article_id"] for m in records}
        current = hashlib.sha256(text.encode("utf-8")).hexdigest() in versions
        # the old version's spans index the old file (the file on disk is the new one)
        exact = not current or all(text[m["start"]:m["end"]] == m["text"] for m in records)
        whole &= len(versions) == 1 and len(records) in expected.get(source, []) and exact
    hits = bot.store.search(bot.store.embeddings.embed_query("harbour pier report"), 5)
    return {
        "count": bot.store.count(),
        "records": len(got["ids"]),
        "sources": sorted(by_source),
        "whole": whole and bot.store.count() == len(got["ids"]),
        "query_ok": (len(hits) > 0) == (len(got["ids"]) > 0)
        and all(h.source in by_source for h, _ in hits),
        "journal_left": bot.store.journal.path.exists(),
    }

out = {"after_kill": state()}
if len(sys.argv) > 2:
    bot.ingest([Path(sys.argv[2])], progress=False)
    out["after_rerun"] = state()
print(json.dumps(out))
"""

WRITER = r"""
import os, sys, time
from pathlib import Path
from chatbot.articles import Article
from chatbot.embeddings import HashEmbeddings
from chatbot.settings import Settings
from chatbot.store import ArticleStore

k, n, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = ArticleStore(Settings.from_env(), HashEmbeddings())
go.with_name(f"ready-{k}").touch()
while not go.exists():
    time.sleep(0.01)
t0 = time.perf_counter()
for i in range(n):
    store.upsert(Article(f"w{k}/{i}.txt", f"Writer {k} filed note {i} about the harbour pier.\n"))
print(time.perf_counter() - t0)
"""


def env_for(root: Path, extra: dict | None = None) -> dict[str, str]:
    """A `python -m chatbot` environment on the store under `root`: hash embedder, fake model."""
    return {
        **os.environ,
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(ROOT / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_LLM": "fake",
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }


def write_kill_articles(
    root: Path, articles: int = KILL_ARTICLES, sentences: int = KILL_SENTENCES, version: int = 2
) -> Path:
    """The folder a kill trial ingests: `articles` articles of `sentences` sentences; version 1
    is the old one a replace trial starts from (a tenth shorter, other words)."""
    folder = root / "reports"
    folder.mkdir(exist_ok=True)
    n = sentences if version == 2 else sentences * 9 // 10
    for a in range(articles):
        lines = [f"Report {a}\n\n"] + [
            f"Report {a} line {i}: the harbour pier {i} was repaired for {i * 7 * version} euros.\n"
            for i in range(n)
        ]
        (folder / f"report-{a}.txt").write_text("".join(lines), encoding="utf-8")
    return folder


def _counts(root: Path, folder: Path) -> dict[str, int]:
    from chatbot.articles import load_article
    from chatbot.splitting import sentences_of, split_article

    out = {}
    for f in sorted(folder.glob("*.txt")):
        article = load_article(f, root)
        out[article.source] = len(sentences_of(split_article(article)))
    return out


def _expected(root: Path, folder: Path, old: dict[str, int] | None = None) -> dict[str, list]:
    """source → the sentence counts a whole version of it may have (the new one, or the old)."""
    return {
        k: [n, *([old[k]] if old and k in old else [])] for k, n in _counts(root, folder).items()
    }


def _ingest_here(root: Path, store: Path, folder: Path) -> None:
    """Ingest in this process (a set-up step, not the process under test), then let go."""
    from chatbot import Chatbot
    from chatbot.settings import Settings

    env = env_for(root, {"CHATBOT_STORE_DIR": str(store)})
    Chatbot.from_settings(Settings.from_env(env)).ingest([folder], progress=False)


_OLD: dict[str, object] = {}  # the store holding version 1 of the articles, built once


def _old_store(root: Path, folder: Path) -> tuple[Path, dict[str, int]]:
    if "store" not in _OLD:
        counts = _counts(root, folder)
        articles, sentences = len(counts), next(iter(counts.values())) - 1
        write_kill_articles(root, articles, sentences, version=1)
        store = root / "stores" / "old"
        _ingest_here(root, store, folder)
        _OLD["store"], _OLD["counts"] = store, _counts(root, folder)
        write_kill_articles(root, articles, sentences, version=2)
    return _OLD["store"], _OLD["counts"]  # type: ignore[return-value]


def _check(env: dict, root: Path, expected: dict, rerun: Path | None) -> dict:
    args = [sys.executable, "-c", CHECK, json.dumps(expected)] + ([str(rerun)] if rerun else [])
    done = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def kill_trial(root: Path, folder: Path, seed: int, window_s: float = KILL_WINDOW_S) -> dict:
    """Start an ingest of `folder` and kill -9 it while it writes (a random moment after its
    first write began), then in a fresh process: reopen, check, ingest again, check. An even
    trial ingests into an empty store, an odd one replaces an older version of each article."""
    replace = seed % 2 == 1
    store = root / "stores" / f"trial-{seed}"
    shutil.rmtree(store, ignore_errors=True)
    old: dict[str, int] | None = None
    if replace:
        base, old = _old_store(root, folder)
        shutil.copytree(base, store)
    expected = _expected(root, folder, old)
    env = env_for(root, {"CHATBOT_STORE_DIR": str(store)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "ingest", "--quiet", str(folder)],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    t0 = time.perf_counter()
    while not (store / "journal.json").exists() and proc.poll() is None:
        time.sleep(0.005)  # the first article's write has begun
    delay = random.Random(seed).uniform(0.0, window_s)
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = True
    at = time.perf_counter() - t0
    found = _check(env, root, expected, folder)
    after, again = found.get("after_kill", {}), found.get("after_rerun", {})
    return {
        "seed": seed,
        "replacing": replace,
        "killed_at_s": round(at, 2),
        "killed": killed,
        "whole_at_kill": len(after.get("sources", [])),
        "consistent": bool(after.get("whole") and after.get("query_ok"))
        and not after.get("journal_left"),
        "completed_after_rerun": bool(again.get("whole") and again.get("query_ok"))
        and again.get("sources") == sorted(expected)
        and again.get("count") == sum(n[0] for n in expected.values()),
        "error": found.get("error"),
    }


NO_LOCK = (  # the comparison: the same writers with the write lock taken out
    "import contextlib\nfrom chatbot import journal\n"
    "journal.Journal.writing = lambda self: contextlib.nullcontext()\n"
)


def two_writers(root: Path, n: int, lock: bool = True) -> dict:
    """Two processes, each adding `n` one-sentence articles to the same store at once."""
    store = root / "stores" / "two-writers"
    shutil.rmtree(store, ignore_errors=True)
    env = env_for(root, {"CHATBOT_STORE_DIR": str(store)})
    go = root / "go"
    for f in (go, root / "ready-1", root / "ready-2"):
        f.unlink(missing_ok=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER if lock else NO_LOCK + WRITER, str(k), str(n), str(go)],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    ready = [root / "ready-1", root / "ready-2"]
    while not all(f.exists() for f in ready) and all(p.poll() is None for p in procs):
        time.sleep(0.05)  # both have opened the store: start them together
    t0 = time.perf_counter()
    go.touch()
    outs = [p.communicate(timeout=1800) for p in procs]
    wall = time.perf_counter() - t0
    from chatbot.embeddings import HashEmbeddings
    from chatbot.settings import Settings
    from chatbot.store import ArticleStore

    fresh = ArticleStore(Settings.from_env(env), HashEmbeddings())
    errors = "".join(err for _, err in outs)
    return {
        "writes_each": n,
        "write_lock": lock,
        "exit_codes": [p.returncode for p in procs],
        "count": fresh.count(),
        "articles": len(fresh.articles()),
        "locked_errors": errors.count("database is locked"),
        "wall_s": round(wall, 2),
        "adds_per_s": round(2 * n / wall, 1),
        "stderr_tail": errors.strip().splitlines()[-1:] if errors.strip() else [],
    }


INGEST = (
    "import sys\nfrom pathlib import Path\nfrom chatbot import Chatbot, index_log\n"
    "from chatbot.settings import Settings\n"
    "if sys.argv[2] == 'purged': index_log.keep_log = lambda store_dir: False\n"
    "Chatbot.from_settings(Settings.from_env()).ingest([Path(sys.argv[1])], progress=False)\n"
)
REBUILD = (
    "from chatbot.embeddings import HashEmbeddings\nfrom chatbot.settings import Settings\n"
    "from chatbot.store import ArticleStore\n"
    "s = ArticleStore(Settings.from_env(), HashEmbeddings())\n"
    "print(s.count(), len(s.search(s.embeddings.embed_query('harbour pier 7'), 5)))\n"
)


def log_cost(root: Path, sentences: int) -> dict:
    """What keeping chromadb's log whole costs (chatbot/index_log.py), on `sentences` sentences
    (articles of 10,000) ingested by a fresh process: its time and the store's size on disk with
    chromadb's purge (the default) and with the log kept, and the time a fresh process takes to
    rebuild a dropped index from the log (count and a first query)."""
    from chatbot import index_log

    folder = root / "log-cost"
    folder.mkdir(exist_ok=True)
    lines = [
        f"Line {i}: the harbour pier {i} was repaired for {i * 7} euros.\n"
        for i in range(sentences)
    ]
    for k in range(0, sentences, 10_000):  # articles of 10,000 lines, under the 5 MB limit
        text = f"Log cost {k}\n\n" + "".join(lines[k : k + 10_000])
        (folder / f"long-{k}.txt").write_text(text, encoding="utf-8")
    out: dict = {"sentences": sentences}
    for how in ("purged", "kept"):
        store = root / "stores" / f"log-{how}"
        shutil.rmtree(store, ignore_errors=True)
        env = env_for(root, {"CHATBOT_STORE_DIR": str(store)})
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", INGEST, str(folder), how], env=env, cwd=root, check=True
        )
        out[f"ingest_s_{how}"] = round(time.perf_counter() - t0, 2)
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        out[f"disk_mb_{how}"] = round(size / 2**20, 1)
    index_log.rebuild(store)  # the kept store: as after a save cut short
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", REBUILD],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    out["rebuild_open_count_query_s"] = round(time.perf_counter() - t0, 2)
    out["after_rebuild_count_hits"] = done.stdout.split()
    return out


def mount_tmpfs(path: Path, size: str) -> str:
    """Mount a tmpfs of `size` at `path`; "" when done, else why it could not be."""
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def disk_full_trial(root: Path, mount: Path, annex: int = DISK_ANNEX) -> dict:
    """On a tmpfs at `mount`: ingest the seed, fill the disk, ingest a long article (the CLI's
    one line), free the space, reopen in a fresh process (the store as before), ingest again."""
    store = mount / "store"
    env = env_for(root, {"CHATBOT_STORE_DIR": str(store)})
    cli = [sys.executable, "-m", "chatbot"]
    seeds = root / "seeds"
    _ingest_here(root, store, seeds)
    before = {"sources": sorted(_counts(root, seeds)), "count": sum(_counts(root, seeds).values())}
    long = root / "annex"
    long.mkdir(exist_ok=True)
    (long / "annex.txt").write_text(
        "Annex\n\n"
        + "".join(f"Clause {i} sets the pier levy at {i} euros.\n" for i in range(annex)),
        encoding="utf-8",
    )
    free = shutil.disk_usage(mount).free
    filler = mount / "filler"
    with filler.open("wb") as f:
        f.write(b"\0" * max(free - 384 * 1024, 0))
    done = subprocess.run(
        [*cli, "ingest", "--quiet", str(long)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    filler.unlink()
    expected = {**_expected(root, seeds), **_expected(root, long)}
    found = _check(env, root, expected, long)  # reopen (undo), check, ingest again, check
    after, again = found.get("after_kill", {}), found.get("after_rerun", {})
    return {
        "exit_code": done.returncode,
        "error": lines[-1] if lines else "",
        "stderr_lines": len(lines),
        "store_as_before": after.get("sources") == before["sources"]
        and after.get("count") == before["count"]
        and bool(after.get("whole")),
        "completed_after_freeing": again.get("count")
        == before["count"] + expected["annex/annex.txt"][0]
        and bool(again.get("whole")),
        "after_freeing": {k: again.get(k) for k in ("count", "whole", "journal_left")},
    }


def languages_real() -> dict:
    """The 20-language questions on the real embedder and model: answered (spans exact) or
    refused, never an error."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_bad_input import LANGUAGES

    from chatbot import Chatbot
    from chatbot.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env().with_(store_dir=Path(tmp) / "store")
        bot = Chatbot.from_settings(settings)
        bot.ingest([settings.seeds_dir], progress=False)
        out = {"answered": 0, "refused": 0, "errors": 0, "spans_exact": True, "by_language": {}}
        for lang, q in LANGUAGES.items():
            t0 = time.perf_counter()
            try:
                a = bot.ask(q).to_dict()
            except Exception as exc:  # counted, not hidden
                out["errors"] += 1
                out["by_language"][lang] = f"error: {exc}"
                continue
            for c in a["citations"]:
                text = (settings.root / c["source"]).read_text(encoding="utf-8")
                out["spans_exact"] &= text[c["start"] : c["end"]] == c["quote"]
            key = "refused" if a["refused"] else "answered"
            out[key] += 1
            out["by_language"][lang] = f"{key} {time.perf_counter() - t0:.1f} s"
        return out


PARTS = ("kill", "writers", "disk", "languages", "log")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--writes", type=int, default=500)
    ap.add_argument("--parts", default=",".join(PARTS), help=f"some of {', '.join(PARTS)}")
    ap.add_argument("--log-sentences", type=int, nargs="+", default=[5000, 100000])
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()
        shutil.copy(ROOT / "seeds" / "nato-ministers-peace-plan.txt", root / "seeds")
        if "kill" in parts:
            folder = write_kill_articles(root)
            trials = [kill_trial(root, folder, seed=i) for i in range(args.trials)]
            for t in trials:
                print(json.dumps(t))
            record(
                "kill_9_bench",
                {
                    "trials": len(trials),
                    "replacing": sum(t["replacing"] for t in trials),
                    "killed_while_writing": sum(t["killed"] for t in trials),
                    "consistent": sum(t["consistent"] for t in trials),
                    "completed_after_rerun": sum(t["completed_after_rerun"] for t in trials),
                    "articles_whole_at_kill": [t["whole_at_kill"] for t in trials],
                },
            )
        if "writers" in parts:
            record("two_writers_bench", two_writers(root, args.writes))
            record("two_writers_without_lock_bench", two_writers(root, args.writes, lock=False))
        if "disk" in parts:
            mount = root / "small"
            mount.mkdir()
            why = mount_tmpfs(mount, TMPFS_SIZE)
            if why:
                record("disk_full_bench", {"skipped": f"cannot mount a tmpfs: {why}"})
            else:
                try:
                    record("disk_full_bench", disk_full_trial(root, mount))
                finally:
                    subprocess.run(["umount", "-l", str(mount)], check=False)
        if "log" in parts:
            for n in args.log_sentences:
                record(f"index_log_cost_{n}_bench", log_cost(root, n))
    if "languages" in parts:
        record("questions_languages_real", languages_real())
    return 0


if __name__ == "__main__":
    sys.exit(main())
