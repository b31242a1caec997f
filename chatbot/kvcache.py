"""Keep llama.cpp's state after each fixed system prompt on disk, so no prompt is read twice.

The system prompt holds what is fixed (instructions, example and one article, or the whole small
store); reading it costs ~15 s on 2 cores. After the first answer on a system prompt, the model
state is saved under a key of (model, context size, llama.cpp build, system prompt text, which
holds the prompt files and the article); a later question on another article, or a new process,
loads it in well under a second, and llama.cpp's prefix matching reuses the cached system part.
File names start with a label (the article's key, or "all"), so removing an article can drop its
states; the folder is kept under a size bound, least recently used first out.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np


@functools.cache
def _build() -> str:
    """llama.cpp's compiled CPU features: a state saved by another build is not reused."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode()


def state_path(folder: Path, label: str, model: Path, n_ctx: int, system: str) -> Path:
    key = f"{model.resolve()}|{model.stat().st_size}|{n_ctx}|{_build()}|{system}"
    return folder / f"{label or 'all'}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def evict(folder: Path, limit_bytes: int) -> None:
    """Remove the least recently used states until the folder holds at most `limit_bytes`."""
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for f in files:
        total += f.stat().st_size
        if total > limit_bytes:
            f.unlink(missing_ok=True)


def save(llama, path: Path, limit_bytes: int) -> None:
    """Write the model state (the logits buffer is left out: sampling does not read it back),
    then keep the folder under `limit_bytes`."""
    state = llama.save_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # not *.npz: never read or evicted
    with tmp.open("wb") as f:
        np.savez(
            f,
            input_ids=state.input_ids,
            n_tokens=np.int64(state.n_tokens),
            llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
            seed=np.int64(state.seed),
        )
    tmp.replace(path)
    evict(path.parent, limit_bytes)


def restore(llama, path: Path) -> bool:
    """Load a saved state into a fresh model; False (and the file removed) if it does not fit."""
    from llama_cpp import LlamaState

    try:
        with np.load(path) as f:
            raw = f["llama_state"].tobytes()
            state = LlamaState(
                input_ids=f["input_ids"],
                scores=np.zeros((1, llama.n_vocab()), dtype=np.single),
                n_tokens=int(f["n_tokens"]),
                llama_state=raw,
                llama_state_size=len(raw),
                seed=int(f["seed"]),
            )
        # load_state writes its one row of scores over the whole n_batch × vocabulary buffer
        # (311 MB for Qwen): give it a one-row buffer instead (sampling does not read it)
        full, llama.scores = llama.scores, state.scores
        try:
            llama.load_state(state)
        finally:
            llama.scores = full
        os.utime(path)  # recently used: evicted last
        return True
    except Exception:  # a stale or foreign file: read the prompt as usual
        path.unlink(missing_ok=True)
        llama.reset()
        return False
