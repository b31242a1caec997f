"""Scaling out on real servers started here, on 127.0.0.1: the store on a Chroma server
(`chroma run`), the model on llama-cpp-python's OpenAI-compatible server (SmolLM2), and
`scripts/scale-out.sh` with both and two `serve` replicas. Real MiniLM embedder throughout."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatbot import Answer, Chatbot, Settings
from chatbot.models import FakeLLM
from chatbot.weights import smollm2_path

from conftest import REPO, SEED, assert_spans_exact, free_port, make_settings, run_cli, running

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMA = BIN / "chroma"
SLOW = 600  # seconds an answer may take on a busy machine (an idle one answers in seconds)
QUESTION = "To what was the military force limit increased?"
SERVER_EXTRA = ("sse_starlette", "starlette_context", "pydantic_settings")  # llama_cpp[server]
HARBOUR = "harbour.txt"
HARBOUR_TEXT = (
    "Harbour reopens after storm\n\n"
    "The port of Eastmere reopened on Monday after the storm closed it for nine days.\n"
    "Harbour master Lena Okafor said 41 ships had waited offshore during the closure.\n"
)
HARBOUR_Q = "How many ships waited offshore during the closure, said the harbour master?"


def is_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def cache_dir(tmp: Path) -> Path:
    """A cache of the test's own (snapshots, states) that shares the exported ONNX MiniLM."""
    onnx = Settings().cache_dir / "onnx"
    onnx.mkdir(parents=True, exist_ok=True)
    (tmp / "cache").mkdir()
    (tmp / "cache" / "onnx").symlink_to(onnx)
    return tmp / "cache"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"no Chroma server binary at {CHROMA} (the chromadb package installs it)")
    tmp = tmp_path_factory.mktemp("chroma")
    port = free_port()
    cmd = [str(CHROMA), "run", "--path", str(tmp / "data"), "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with running([*cmd, "--port", str(port)], f"{url}/api/v2/heartbeat", tmp / "chroma.log", env):
        yield url
    assert not is_open(port)


def needs_llama_server() -> None:
    missing = [m for m in SERVER_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama_cpp.server needs {', '.join(missing)}: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own server on SmolLM2 (the model is named `smollm2` there)."""
    needs_llama_server()
    tmp = tmp_path_factory.mktemp("model")
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path())]
    cmd += ["--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "4096", "--n_threads", "2", "--logits_all", "false"]
    cmd += ["--interrupt_requests", "false"]
    url = f"http://127.0.0.1:{port}/v1"
    with running(cmd, f"{url}/models", tmp / "model.log"):
        yield url


def new_root(tmp: Path) -> Path:
    (tmp / "seeds").mkdir(parents=True)
    shutil.copy(REPO / SEED, tmp / SEED)
    (tmp / "seeds" / HARBOUR).write_text(HARBOUR_TEXT, encoding="utf-8")
    return tmp


def sources(answer: dict) -> set[str]:
    return {c["source"] for c in answer["citations"]}


def test_store_on_a_chroma_server_seen_by_another_process(chroma_url, tmp_path):
    """The CLI (one process) and a long-lived chatbot (this one) share the Chroma server: each
    sees the other's ingest and removal on its next question, through the store's revision."""
    root = new_root(tmp_path / "root")
    settings = make_settings(
        root, embedder="minilm", chroma_url=chroma_url, cache_dir=cache_dir(tmp_path)
    )
    cli = {"CHATBOT_CHROMA_URL": chroma_url, "CHATBOT_EMBEDDER": "minilm"}
    cli["CHATBOT_CACHE_DIR"] = str(settings.cache_dir)
    bot = Chatbot.from_settings(settings, llm=FakeLLM())
    assert bot.store.count() == 0 and bot.ask(QUESTION).refused

    ingested = run_cli(root, "ingest", "--quiet", str(root / SEED), extra=cli)
    assert ingested.returncode == 0, ingested.stderr
    answer = bot.ask(QUESTION).to_dict()  # the other process's ingest, on the next question
    assert "800,000" in answer["answer"] and sources(answer) == {SEED}
    assert_spans_exact(answer, root)

    bot.ingest([root / "seeds" / HARBOUR], progress=False)
    asked = run_cli(root, "ask", HARBOUR_Q, "--json", extra=cli)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "41" in answer["answer"] and sources(answer) == {f"seeds/{HARBOUR}"}
    assert_spans_exact(answer, root)

    removed = run_cli(root, "articles", "remove", HARBOUR, extra=cli)
    assert removed.returncode == 0, removed.stderr
    after = bot.ask(HARBOUR_Q).to_dict()
    assert f"seeds/{HARBOUR}" not in sources(after)
    assert [a.source for a in bot.store.catalog()] == [SEED]
    # nothing embedded: the records are on the server, the snapshot in the cache
    assert not (root / "vectorstore").exists()
    assert list((settings.cache_dir / "snapshots").glob("*.pickle"))


def test_model_on_llama_cpp_server_plain_and_streaming(model_url, tmp_path):
    root = new_root(tmp_path / "root")
    settings = make_settings(
        root,
        embedder="minilm",
        llm="openai",
        openai_base_url=model_url,
        openai_model="smollm2",
        cache_dir=cache_dir(tmp_path),
    )
    bot = Chatbot.from_settings(settings)
    bot.ingest([root / "seeds"], progress=False)
    answer = bot.ask(HARBOUR_Q)  # SmolLM2 may quote the wrong sentence; it is verified
    assert not answer.refused and answer.stats.raw, answer.stats.raw
    assert sources(answer.to_dict()) == {f"seeds/{HARBOUR}"}
    assert_spans_exact(answer.to_dict(), root)

    events = list(bot.stream(HARBOUR_Q))
    pieces, final = events[:-1], events[-1]
    assert isinstance(final, Answer) and pieces
    assert "".join(pieces) == final.text  # the stream shows the verified text only
    assert final.to_dict() == answer.to_dict()  # temperature 0: the same answer


def scale_out(env: dict[str, str], action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "scale-out.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=3 * SLOW,
    )


def test_scale_out_script_two_replicas_share_store_and_model(tmp_path):
    """Both replicas answer; an article added through one is cited by the other; removed
    through the other, it is gone from both; `stop` leaves no process and no open port."""
    if not CHROMA.exists():
        pytest.skip(f"no Chroma server binary at {CHROMA} (the chromadb package installs it)")
    needs_llama_server()
    root = new_root(tmp_path / "root")
    (root / "seeds" / HARBOUR).unlink()  # it comes through a replica
    ports = [free_port() for _ in range(4)]
    env = {
        **os.environ,
        "SCALE_DIR": str(tmp_path / "scale"),
        "CHROMA_PORT": str(ports[0]),
        "MODEL_PORT": str(ports[1]),
        "SERVE_PORTS": f"{ports[2]} {ports[3]}",
        "MODEL_GGUF": str(smollm2_path()),
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "minilm",
        "CHATBOT_CACHE_DIR": str(cache_dir(tmp_path)),
        "CHATBOT_SERVE_TIMEOUT": str(SLOW),  # a busy machine: an answer is slow, not wrong
    }
    one, two = (f"http://127.0.0.1:{p}" for p in ports[2:])
    pids: list[int] = []
    try:
        started = scale_out(env, "start")
        assert started.returncode == 0, started.stdout + started.stderr
        pids = [int(p.read_text()) for p in (tmp_path / "scale" / "run").glob("*.pid")]
        assert len(pids) == 4
        for url in (one, two):
            answer = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=SLOW).json()
            assert answer["citations"] and sources(answer) == {SEED}, answer
            assert_spans_exact(answer, root)

        article = {"name": HARBOUR, "text": HARBOUR_TEXT}
        added = httpx.post(f"{one}/articles", json=article, timeout=SLOW)
        assert added.json() == {"source": f"seeds/uploads/{HARBOUR}", "status": "added"}
        answer = httpx.post(f"{two}/ask", json={"question": HARBOUR_Q}, timeout=SLOW).json()
        assert not answer["refused"] and sources(answer) == {f"seeds/uploads/{HARBOUR}"}, answer
        assert_spans_exact(answer, root)

        gone = httpx.delete(f"{two}/articles/seeds/uploads/{HARBOUR}", timeout=SLOW)
        assert gone.json() == {"removed": f"seeds/uploads/{HARBOUR}"}
        assert [a["source"] for a in httpx.get(f"{one}/articles").json()] == [SEED]
        status = scale_out(env, "status")
        print(status.stdout)  # the parts' RSS (README "Running for many users")
    finally:
        stopped = scale_out(env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not [p for p in ports if is_open(p)]
    assert not list((tmp_path / "scale" / "run").glob("*.pid"))
    assert not [p for p in pids if alive(p)]


def alive(pid: int) -> bool:
    """A process that runs (an exited one not yet reaped by init is a zombie: not alive)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
