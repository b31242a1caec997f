"""The store's faults (issue 13): `kill -9` during an ingest, two processes writing at once, a
model or embedder the store was not built with, a full disk. Real Chroma on disk, real
processes; the hash embedder keeps them fast. `bench/faults.py` runs the full counts."""

from __future__ import annotations

import errno
import importlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import chromadb
import pytest

from chatbot import Chatbot
from chatbot.embeddings import HashEmbeddings
from chatbot.errors import StoreError
from chatbot.store import ArticleStore

from conftest import REPO, SEED, cli_env, make_settings, record, run_cli

sys.path.insert(0, str(REPO / "bench"))
faults = importlib.import_module("faults")  # the trials; bench/faults.py runs the full counts

KILL_TRIALS = 2  # one into an empty store, one replacing; bench/faults.py: 20
KILL_ARTICLES, KILL_SENTENCES = 3, 600  # bench/faults.py: 4 of 1,200
WRITES = 30  # each of two processes; bench/faults.py: 500


def test_kill_9_during_ingest_leaves_whole_articles_and_a_rerun_completes(root):
    folder = faults.write_kill_articles(root, KILL_ARTICLES, KILL_SENTENCES)
    results = [faults.kill_trial(root, folder, seed=i, window_s=1.5) for i in range(KILL_TRIALS)]
    for r in results:
        assert r["consistent"], r
        assert r["completed_after_rerun"], r
    record(
        "kill_9_ci",
        {
            "trials": len(results),
            "consistent": sum(r["consistent"] for r in results),
            "completed_after_rerun": sum(r["completed_after_rerun"] for r in results),
            "articles_whole_at_kill": [r["whole_at_kill"] for r in results],
            "articles": KILL_ARTICLES,
            "replacing": sum(r["replacing"] for r in results),
        },
    )


def test_two_processes_writing_at_once_lose_nothing(root):
    result = faults.two_writers(root, WRITES)
    assert result["exit_codes"] == [0, 0], result
    assert result["count"] == 2 * WRITES, result
    assert result["locked_errors"] == 0, result
    record("two_writers_ci", result)


def test_a_store_of_another_chromadb_release_is_a_clear_error(root):
    settings = make_settings(root)
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)
    store = ArticleStore(settings, HashEmbeddings())
    meta = {k: v for k, v in store._metadata().items() if not k.startswith("hnsw:")}
    assert meta["chromadb"] == chromadb.__version__ and meta["dimension"] == 256
    store.client.get_collection(settings.collection).modify(metadata={**meta, "chromadb": "0.4.24"})
    with pytest.raises(StoreError, match=r"chromadb 0\.4\.24.*install chromadb==0\.4\.24"):
        ArticleStore(settings, HashEmbeddings())
    run = run_cli(root, "articles", "list")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "CHATBOT_STORE_DIR" in run.stderr and "Traceback" not in run.stderr
    # the embedder: another dimension, then another model under the same dimension
    store.client.get_collection(settings.collection).modify(metadata=meta)
    with pytest.raises(StoreError, match=r"hash-256 \(256 dims\).*\(128 dims\).*CHATBOT_EMBEDDER"):
        ArticleStore(settings, HashEmbeddings(dim=128))
    other = HashEmbeddings()
    other.model_name = "another-model"
    with pytest.raises(StoreError, match="built with hash-256"):
        ArticleStore(settings, other)
    assert ArticleStore(settings, HashEmbeddings()).count() == 34  # and the store is intact
    record(
        "version_mismatch",
        {"chromadb": "clear error", "dimension": "clear error", "embedding_model": "clear error"},
    )


def test_a_full_disk_during_ingest_is_a_clear_error_and_the_store_stays_whole(root, tmp_path):
    """On a small tmpfs when the machine lets us mount one; the test says so when it cannot."""
    mount = tmp_path / "small"
    mount.mkdir()
    why = faults.mount_tmpfs(mount, faults.TMPFS_SIZE)
    if why:
        pytest.skip(
            f"cannot mount a tmpfs here ({why}); test_an_enospc_from_the_write_path covers it"
        )
    try:
        result = faults.disk_full_trial(root, mount, annex=800)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert result["error"].startswith("error: the disk is full"), result
    assert result["store_as_before"] and result["completed_after_freeing"], result
    record("disk_full_tmpfs", result)


def test_an_enospc_from_the_write_path_is_a_clear_error(root, monkeypatch):
    """The fault injected: the disk fills after a few batches were written."""
    bot = Chatbot.from_settings(make_settings(root))
    bot.ingest([root / "seeds"], progress=False)
    before = bot.store.db.get(include=["metadatas"])
    path = root / SEED
    path.write_text(
        path.read_text(encoding="utf-8") + "".join(f"Line {i} of the annex.\n" for i in range(900)),
        encoding="utf-8",
    )
    real, calls = bot.store.db.add_texts, []

    def add(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.store.db, "add_texts", add)
    with pytest.raises(StoreError, match=r"the disk is full.*free some space"):
        bot.ingest([root / "seeds"], progress=False)
    # on a full disk the undo waits for the next read or open (chromadb's delete hangs there)
    assert bot.store.journal.path.exists()
    assert bot.store.articles() == {SEED: 34}
    assert bot.store.db.get(include=["metadatas"]) == before
    assert not bot.store.journal.path.exists()
    record("disk_full_injected", {"batches_before_fault": 2, "store_as_before": True})


def test_a_write_killed_before_its_journal_is_cleared_is_undone_on_the_next_open(root):
    """What a reader in a fresh process sees after a writer died mid-article: the old store."""
    settings = make_settings(root)
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)
    _dying_write(root)
    assert (settings.store_dir / "journal.json").exists()
    fresh = ArticleStore(settings, HashEmbeddings())
    assert fresh.articles() == {SEED: 34} and fresh.count() == 34
    assert not (settings.store_dir / "journal.json").exists()
    assert Path(root / SEED).exists()


def _dying_write(root: Path) -> None:
    """A writer killed in the middle of an article (its journal left behind)."""
    code = (
        "import os\n"
        "from chatbot.articles import Article\n"
        "from chatbot.embeddings import HashEmbeddings\n"
        "from chatbot.settings import Settings\n"
        "from chatbot.store import ArticleStore\n"
        "store = ArticleStore(Settings.from_env(), HashEmbeddings())\n"
        "real, n = store.db.add_texts, [0]\n"
        "def add(*a, **k):\n"
        "    n[0] += 1\n"
        "    if n[0] == 3: os.kill(os.getpid(), 9)\n"
        "    return real(*a, **k)\n"
        "store.db.add_texts = add\n"
        "text = ''.join(f'Sentence {i} of the dying write.\\n' for i in range(1000))\n"
        "store.upsert(Article('seeds/dying.txt', text))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(root), cwd=root, timeout=120)
    assert done.returncode == -9


def _cut_index_short(store_dir: Path) -> Path:
    """What a kill -9 while chromadb saves its vector index left once in 20 trials."""
    (pickle,) = store_dir.glob("*/index_metadata.pickle")
    pickle.write_bytes(pickle.read_bytes()[: pickle.stat().st_size // 2])
    return pickle


def test_a_vector_index_cut_short_by_a_kill_is_rebuilt_from_chromadbs_log(root):
    settings = make_settings(root)
    long = "".join(f"Line {i}: the harbour pier {i} was repaired.\n" for i in range(1200))
    (root / "seeds" / "long.txt").write_text(long, encoding="utf-8")
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)  # index saved once
    before = ArticleStore(settings, HashEmbeddings())
    whole = before.articles()
    query = before.embeddings.embed_query("harbour pier 7 repaired")
    expected = [h.source for h, _ in before.search(query, 5)]
    _dying_write(root)
    pickle = _cut_index_short(settings.store_dir)
    with pytest.raises(Exception, match="hnsw segment reader"):
        chromadb.PersistentClient(str(settings.store_dir)).get_collection("articles").count()
    fresh = ArticleStore(settings, HashEmbeddings())  # opens, finds the journal, rebuilds, undoes
    assert fresh.articles() == whole and fresh.count() == sum(whole.values())
    assert [h.source for h, _ in fresh.search(query, 5)] == expected
    assert not (settings.store_dir / "journal.json").exists() and pickle.stat().st_size > 0


def test_a_cut_short_index_without_a_whole_log_says_what_to_do(root):
    settings = make_settings(root)
    long = "".join(f"Line {i}: the harbour pier {i} was repaired.\n" for i in range(1200))
    (root / "seeds" / "long.txt").write_text(long, encoding="utf-8")
    Chatbot.from_settings(settings).ingest([root / "seeds"], progress=False)
    _dying_write(root)
    _cut_index_short(settings.store_dir)
    with sqlite3.connect(settings.store_dir / "chroma.sqlite3") as db:  # as chromadb's purge does
        db.execute("DELETE FROM embeddings_queue WHERE seq_id < 10")
    with pytest.raises(StoreError, match=r"cut short.*move the store aside"):
        ArticleStore(settings, HashEmbeddings())
