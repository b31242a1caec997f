"""Shared fixtures: a temporary repo root with the seed article, and bots on fake or real parts."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatbot import Chatbot, Settings
from chatbot.models import FakeLLM

REPO = Path(__file__).resolve().parent.parent
SEED = "seeds/nato-ministers-peace-plan.txt"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repo-like folder: seeds/ with the seed article, the real prompts/, an empty store."""
    (tmp_path / "seeds").mkdir()
    shutil.copy(REPO / SEED, tmp_path / SEED)
    return tmp_path


def make_settings(root: Path, **changes: object) -> Settings:
    base = Settings.from_env(
        {"CHATBOT_ROOT": str(root), "CHATBOT_PROMPTS_DIR": str(REPO / "prompts")}
    )
    return base.with_(**{"embedder": "hash", "llm": "fake", **changes})


@pytest.fixture
def settings(root: Path) -> Settings:
    return make_settings(root)


@pytest.fixture
def fake_bot(settings: Settings) -> Chatbot:
    """Hash embedder, fake LLM, real Chroma on disk, the seed ingested."""
    bot = Chatbot.from_settings(settings, llm=FakeLLM())
    bot.ingest([settings.seeds_dir], progress=False)
    return bot


OPENERS = ["What about", "Who is in", "Why", "How about", "When was", "Where is", "Which part of"]


class QuestionWriter(FakeLLM):
    """The fake model, able to write questions: asked for questions about sentences [a] to [b],
    it turns each into one (plus a vague one, a repeat and one the articles cannot answer, which
    the bank must drop); a question about football it refuses; the rest it answers as FakeLLM."""

    def stream(self, messages, max_tokens, usage=None, label=""):
        user = messages[-1]["content"]
        asked = re.search(r"sentences \[(\d+)\] to \[(\d+)\]", user)
        if asked is None:
            if "football" in user.split("Question:")[-1]:
                self.prompts.append(messages)
                yield "The articles don't say."
                return
            yield from super().stream(messages, max_tokens, usage, label)
            return
        self.prompts.append(messages)
        self.labels.append(label)
        text = "\n".join(m["content"] for m in messages)
        lines = dict(re.findall(r"^\[(\d+)\] (?:  - )?(.+)$", text, re.M))  # the article's last
        lo, hi = map(int, asked.groups())
        out = [  # openings vary, as the bank wants them to
            f"{OPENERS[n % len(OPENERS)]} {' '.join(lines[str(n)].split()[:9]).rstrip('.,:;')}? [{n}]"
            for n in range(lo, hi + 1)
            if str(n) in lines and len(lines[str(n)].split()) >= 4
        ]
        if not out:
            return
        yield "\n".join(
            [*out[:1], "What did he say? [1]", out[0], "Who won the football match? [2]", *out[1:]]
        )


def build_banks(root: Path) -> None:
    """Question banks for every stored article, written by QuestionWriter (named "fake", as the
    app's model is in tests, so the app finds them)."""
    from chatbot.questions import QuestionBank

    bot = Chatbot.from_settings(make_settings(root), llm=QuestionWriter())
    bank = QuestionBank(bot)
    for a in bot.store.catalog():
        bank.get(a.source)


def assert_spans_exact(answer_dict: dict, root: Path) -> None:
    """The contract: every citation's quote is exactly text[start:end] of its file."""
    for c in answer_dict["citations"]:
        text = (root / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["quote"], c


def cli_env(root: Path, extra: dict | None = None) -> dict[str, str]:
    """The environment of a `python -m chatbot` process on the store under `root` (hash
    embedder, fake model)."""
    return {
        **os.environ,
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_LLM": "fake",
        "PYTHONPATH": str(REPO),
        **(extra or {}),
    }


def run_cli(root: Path, *args: str, extra: dict | None = None, stdin: str | None = None):
    """`python -m chatbot ARGS` in a separate process on the store under `root` (hash embedder,
    fake model), as a user, a second app or a shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        capture_output=True,
        text=True,
        env=cli_env(root, extra),
        cwd=root,
        input=stdin,
        timeout=120,
    )


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
# shared with the benchmarks: robustness figures (issue 13), free ports, servers run until healthy
from common import free_port, record, running  # noqa: E402, F401


def app_root(root: Path, **settings: str) -> dict[str, str]:
    """`root` made like a fresh checkout's app (the seed, `.streamlit/`, ingested as
    scripts/start.sh does); returns the environment to run it with, `settings` added."""
    (root / "seeds").mkdir()
    shutil.copy(REPO / SEED, root / SEED)
    shutil.copytree(REPO / ".streamlit", root / ".streamlit")
    env = {
        **os.environ,
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        **settings,
    }
    subprocess.run(
        [sys.executable, "-m", "chatbot", "ingest", "--quiet"], env=env, check=True, cwd=root
    )
    return env


@contextlib.contextmanager
def streamlit_app(root: Path, env: dict[str, str]) -> Iterator[str]:
    """`streamlit run streamlit_app.py` in `root` on a free 127.0.0.1 port; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running(cmd, f"{url}/_stcore/health", root / "streamlit.log", env, 60):
        yield url
