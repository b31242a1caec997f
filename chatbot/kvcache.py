"""Keep llama.cpp's state after the fixed system prompt on disk, so a new process skips reading it.

The prompt puts what is fixed first (instructions, example, the whole small store); reading it
costs ~15 s on 2 cores. After the first answer in a process, the model state is saved under a key
of (model, context size, llama.cpp build, system prompt); a later process with the same key loads
it in well under a second, and llama.cpp's prefix matching reuses the cached system part.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

KEEP = 4  # state files kept; each is ~30 KB per cached token


@functools.cache
def _build() -> str:
    """llama.cpp's compiled CPU features: a state saved by another build is not reused."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode()


def state_path(folder: Path, model: Path, n_ctx: int, system: str) -> Path:
    key = f"{model.resolve()}|{model.stat().st_size}|{n_ctx}|{_build()}|{system}"
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def save(llama, path: Path) -> None:
    """Write the model state; the logits buffer is left out (sampling does not read it back)."""
    state = llama.save_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        input_ids=state.input_ids,
        n_tokens=np.int64(state.n_tokens),
        llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
        seed=np.int64(state.seed),
    )
    tmp.replace(path)
    for old in sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
        old.unlink(missing_ok=True)


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
        llama.load_state(state)
        return True
    except Exception:  # a stale or foreign file: read the prompt as usual
        path.unlink(missing_ok=True)
        llama.reset()
        return False
