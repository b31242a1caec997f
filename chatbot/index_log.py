"""A vector index that a crash cut short is rebuilt from chromadb's own log (issue 13).

The embedded chromadb writes every add and delete to a log in its SQLite file
(`embeddings_queue`) and applies it to the HNSW index, whose files it saves every
`hnsw:sync_threshold` records. A process killed while they are saved can leave
`index_metadata.pickle` cut short, and then every read fails ("Error creating hnsw segment
reader"). chromadb purges the log up to the last save by default; `keep_log` turns that off
(chromadb's own `automatically_purge` setting, in its `embeddings_queue_config` table) for a
store whose log is still whole, so the log holds every record since the store was made. Then
`rebuild` drops the index files and chromadb's note of how far they reached (`max_seq_id`), and
chromadb rebuilds the index from the log on the next read. A store whose log was purged before
(made before this) is not whole, and keeps chromadb's default.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

_TYPE = "EmbeddingsQueueConfigurationInternal"


def _db(store_dir: Path, timeout_s: float = 60) -> sqlite3.Connection:
    return sqlite3.connect(store_dir / "chroma.sqlite3", timeout=timeout_s)


def _vector_segments(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM segments WHERE scope = 'VECTOR'")]


def whole_log(store_dir: Path) -> bool:
    """Whether the log holds every record the store was ever sent: its first is still there, or
    nothing was ever written."""
    with closing(_db(store_dir)) as db:
        first = db.execute("SELECT MIN(seq_id) FROM embeddings_queue").fetchone()[0]
        if first is not None:
            return first == 1
        segments = _vector_segments(db)
        marks = ",".join("?" * len(segments))
        done = db.execute(
            f"SELECT MAX(seq_id) FROM max_seq_id WHERE segment_id IN ({marks})", segments
        ).fetchone()[0]
        return not done


def keep_log(store_dir: Path) -> bool:
    """Stop chromadb purging the log of a store whose log is whole; whether it is kept (best
    effort: a store that cannot be written now, a full disk, keeps chromadb's default)."""
    try:
        return whole_log(store_dir) and _keep(store_dir)
    except sqlite3.Error:
        return False


def _keep(store_dir: Path) -> bool:
    with closing(_db(store_dir, timeout_s=1)) as db, db:  # a reader does not wait for a writer
        row = db.execute("SELECT config_json_str FROM embeddings_queue_config WHERE id = 1")
        found = row.fetchone()
        config = json.loads(found[0]) if found else {"_type": _TYPE}
        if config.get("automatically_purge") is not False:
            config["automatically_purge"] = False
            db.execute(
                "INSERT OR REPLACE INTO embeddings_queue_config (id, config_json_str) VALUES (1, ?)",
                (json.dumps(config, separators=(",", ":")),),
            )
    return True


def rebuild(store_dir: Path) -> int:
    """Drop the vector index files and their `max_seq_id`, so chromadb rebuilds the index from
    the (whole) log on the next read; how many indexes were dropped."""
    with closing(_db(store_dir)) as db, db:
        segments = _vector_segments(db)
        for segment in segments:
            shutil.rmtree(store_dir / segment, ignore_errors=True)
            db.execute("DELETE FROM max_seq_id WHERE segment_id = ?", (segment,))
    return len(segments)
