"""The embedder registry and MiniLM on onnxruntime: the export's cache key, the export on demand,
and (slow, real model) the same tokens and the same vectors as sentence-transformers on torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatbot import Settings
from chatbot import minilm_onnx as mo
from chatbot.embeddings import EMBEDDERS, make_embedder, prepare
from chatbot.errors import ConfigError, ModelError

from conftest import REPO

LONG = " ".join(
    f"Paragraph {i}: the ministers met in Brussels on {i} March and agreed that the revised draft "
    f"of the plan would raise the force limit by {i * 1000:,} troops, pending a vote."
    for i in range(1, 14)
)
SENTENCES = [
    "Hi.",
    "",
    "   leading and trailing   spaces   ",
    "NATO",
    "What changed in the revised draft?",
    "Increasing Ukraine’s military force limit to 800,000",
    "The budget rose 3.5% to $4.2bn (€3.9bn) on 1 January 2024, up from 1,234,567.89.",
    "Ünïcödé àccents, “curly quotes” — and an em dash… ½ ² ™",
    "北京和东京的部长们周二会面。 日本語の文もあります。",
    "Министры обсудили мирный план. وزراء الخارجية اجتمعوا 🙂👍🏽",
    "e-mail: someone@example.org, URL https://example.org/a?b=c#d, code x_y = f(3) ** 2",
    "ALL CAPS HEADLINE: SUMMIT ENDS WITHOUT DEAL",
    LONG,
    LONG + " Words past the 256th token change nothing in the vector.",
    ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40).strip(),
]


def test_registry_keeps_minilm_and_adds_the_torch_version() -> None:
    assert {"minilm", "minilm-torch", "hash"} <= set(EMBEDDERS)
    with pytest.raises(ConfigError, match="minilm-torch"):
        make_embedder(Settings().with_(embedder="nope"))


def test_prepare_does_nothing_for_the_hash_embedder(tmp_path: Path) -> None:
    assert "nothing" in prepare(Settings().with_(embedder="hash", cache_dir=tmp_path))
    assert not (tmp_path / "onnx").exists()


def _fake_model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 384}')
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_export_folder_is_keyed_by_the_model_files(tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "model")
    first = mo.export_dir(tmp_path / "cache", model)
    assert first == mo.export_dir(tmp_path / "cache", model)
    assert first.parent == tmp_path / "cache" / "onnx"
    assert first.name.startswith("all-MiniLM-L6-v2-")
    (model / "config.json").write_text('{"hidden_size": 385}')
    assert mo.export_dir(tmp_path / "cache", model) != first


def test_the_real_model_key_comes_from_the_wheel_record() -> None:
    """No hashing of the 90 MB weights at start-up: pip's RECORD already has their sha256."""
    model = mo.model_path()
    hashes = mo._file_hashes(model)
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(hashes)
    assert len(hashes["model.safetensors"]) == 43  # urlsafe base64 of a sha256, unpadded


def test_a_missing_export_is_made_on_demand_with_a_note(tmp_path, monkeypatch, capsys) -> None:
    calls = []

    def fake_export(folder: Path, model_dir: Path | None = None) -> Path:
        calls.append(folder)
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"")
        (folder / "meta.json").write_text("{}")
        return folder

    monkeypatch.setattr(mo, "export", fake_export)
    folder = mo.ensure_exported(tmp_path)
    assert calls == [folder] and "exporting MiniLM to ONNX" in capsys.readouterr().err
    assert mo.ensure_exported(tmp_path) == folder and len(calls) == 1
    assert capsys.readouterr().err == ""


def test_export_without_torch_says_to_run_the_set_up(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match="run the set-up"):
        mo.export(tmp_path / "out", _fake_model(tmp_path / "model"))


def test_a_broken_export_is_one_clear_model_error(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load the ONNX MiniLM"):
        mo.OnnxMiniLM(tmp_path)


# -- the real model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_settings(tmp_path_factory) -> Settings:
    """An export made from scratch into an empty cache, as set-up does."""
    settings = Settings().with_(cache_dir=tmp_path_factory.mktemp("cache"))
    folder = Path(prepare(settings))
    assert mo.is_exported(folder) and folder.parent == settings.cache_dir / "onnx"
    return settings


@pytest.fixture(scope="module")
def onnx(onnx_settings):
    return make_embedder(onnx_settings)


@pytest.fixture(scope="module")
def torch_st():
    return make_embedder(Settings().with_(embedder="minilm-torch"))


@pytest.mark.slow
def test_long_sentences_are_longer_than_the_256_token_limit(onnx) -> None:
    full = onnx.tokenizer.encode(LONG, add_special_tokens=True)
    assert len(full.ids) == mo.MAX_SEQ_LENGTH  # truncated at 256, not the file's 128
    onnx.tokenizer.no_truncation()
    try:
        assert len(onnx.tokenizer.encode(LONG).ids) > 300
    finally:
        onnx.tokenizer.enable_truncation(max_length=mo.MAX_SEQ_LENGTH)


@pytest.mark.slow
def test_tokens_match_sentence_transformers(onnx, torch_st) -> None:
    st = torch_st._client  # the SentenceTransformer inside LangChain's wrapper
    assert st.max_seq_length == mo.MAX_SEQ_LENGTH
    features = st.preprocess(SENTENCES)
    for i, enc in enumerate(onnx.tokenizer.encode_batch(SENTENCES)):
        n = int(features["attention_mask"][i].sum())
        assert enc.ids == features["input_ids"][i][:n].tolist(), SENTENCES[i]


@pytest.mark.slow
def test_vectors_match_torch_within_1e4_cosine(onnx, torch_st) -> None:
    import numpy as np

    ours = np.array(onnx.embed_documents(SENTENCES))
    theirs = np.array(torch_st.embed_documents(SENTENCES))
    assert ours.shape == theirs.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    distance = 1.0 - (ours * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
    assert distance.max() < 1e-4, dict(zip(SENTENCES, distance.tolist(), strict=True))
    query = np.array(onnx.embed_query(SENTENCES[5]))
    assert 1.0 - float(query @ theirs[5]) < 1e-4
    assert np.allclose(ours[12], ours[13], atol=1e-6)  # the words past 256 tokens are cut


@pytest.mark.slow
def test_length_sorted_batches_keep_the_input_order(onnx, onnx_settings) -> None:
    import numpy as np

    small = mo.OnnxMiniLM(mo.export_dir(onnx_settings.cache_dir), batch_size=3)
    batched = np.array(small.embed_documents(SENTENCES))
    alone = np.array([onnx.embed_query(s) for s in SENTENCES])
    assert np.abs(batched - alone).max() < 1e-5
    assert onnx.embed_documents([]) == []


@pytest.mark.slow
def test_run_time_imports_no_torch(onnx_settings) -> None:
    code = (
        "import sys; from chatbot import Settings; from chatbot.embeddings import make_embedder; "
        f"e = make_embedder(Settings().with_(cache_dir={str(onnx_settings.cache_dir)!r})); "
        "e.embed_query('hello'); "
        "bad = [m for m in ('torch', 'sentence_transformers', 'langchain_huggingface', "
        "'transformers') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "exporting" not in run.stderr
