"""CHATBOT_API_URL: the UI and `RemoteChatbot` asking a real `serve` process on 127.0.0.1 (fake
model, hash embedder) instead of a model in-process."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_server import new_root, serving

from chatbot import Answer, ConfigError, InputError, ModelError
from chatbot.client import RemoteChatbot

from conftest import REPO, SEED, assert_spans_exact, make_settings

QUESTION = "To what was the military force limit increased?"
KEY = "client-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_root(tmp_path_factory)


@pytest.fixture(scope="module")
def url(root: Path) -> Iterator[str]:
    """A server with a key, a model that takes 0.5 s and one request waiting."""
    extra = {"CHATBOT_API_KEY": KEY, "CHATBOT_FAKE_DELAY": "0.5", "CHATBOT_SERVE_QUEUE": "1"}
    with serving(root, extra) as url:
        yield url


def remote(root: Path, url: str, key: str = KEY) -> RemoteChatbot:
    return RemoteChatbot(make_settings(root, api_url=url, api_key=key))


def test_stream_is_the_servers_answer_with_its_pieces(root, url):
    bot = remote(root, url)
    events = list(bot.stream(QUESTION))
    *pieces, answer = events
    assert pieces and all(isinstance(p, str) for p in pieces) and isinstance(answer, Answer)
    plain = httpx.post(f"{url}/ask", json={"question": QUESTION}, headers=AUTH, timeout=30)
    assert answer.to_dict() == plain.json() and "800,000" in answer.text
    assert_spans_exact(answer.to_dict(), root)
    assert 0 < answer.stats.ttft_s <= answer.stats.latency_s
    history = [("user", "What did the initial plan include?"), ("assistant", "600,000 [1].")]
    scoped = bot.ask("And the revised one?", history, "nato-ministers-peace-plan.txt")
    assert scoped.citations and {c.source for c in scoped.citations} == {SEED}
    listed = httpx.get(f"{url}/articles", headers=AUTH).json()
    assert [a.to_dict() for a in bot.store.catalog()] == listed
    assert bot.store.count() == sum(a["sentences"] for a in listed)
    assert bot.llm.name == f"fake at {url}"


def test_errors_are_the_servers_lines_as_chatbot_errors(root, url):
    bot = remote(root, url)
    said = httpx.post(f"{url}/ask", json={"question": " "}, headers=AUTH).json()["error"]
    with pytest.raises(InputError) as empty:
        bot.ask(" ")
    assert str(empty.value) == said and "empty" in said
    with pytest.raises(InputError, match=r"nope\.txt"):
        bot.ask(QUESTION, article="nope.txt")
    with pytest.raises(ConfigError, match="CHATBOT_API_KEY"):
        remote(root, url, key="wrong")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ModelError, match="cannot reach the chatbot server"):
        remote(root, dead)


def test_beyond_the_queue_is_a_clear_busy_error(root, url):
    bot = remote(root, url)

    def ask(_: int) -> str:
        try:
            return bot.ask(QUESTION).text
        except ModelError as exc:
            return f"error: {exc}"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(ask, range(6)))
    busy = [r for r in results if r.startswith("error: the model is busy")]
    answered = [r for r in results if "800,000" in r]
    assert len(busy) + len(answered) == 6 and busy and len(answered) >= 2, results


def test_the_ui_asks_the_server(root, url, monkeypatch):
    for key, value in {
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_LLM": "qwen",  # never loaded: the server answers
        "CHATBOT_API_URL": url,
        "CHATBOT_API_KEY": KEY,
    }.items():
        monkeypatch.setenv(key, value)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"Model: fake at {url}" in [c.value for c in at.sidebar.caption]
    titles = [m.value for m in at.sidebar.markdown]
    assert any("NATO" in t for t in titles), titles

    at.chat_input[0].set_value(QUESTION)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (answer,) = [m["answer"] for m in at.session_state["messages"] if m["role"] == "assistant"]
    assert "800,000" in answer["answer"] and answer["citations"]
    assert answer == remote(root, url).ask(QUESTION).to_dict()
    assert_spans_exact(answer, root)
    quote = answer["citations"][0]["quote"]  # the chip opens the highlighted span
    assert any(f'<mark class="cited active">{quote}</mark>' in h.proto.body for h in at.html)

    # an upload goes to the server, which ingests it; another client's answer cites it
    text = "The ferry to Lunde Island returns on 1 May.\nTickets cost 12 euros for adults.\n"
    at.sidebar.file_uploader[0].set_value(("lunde.txt", text.encode(), "text/plain")).run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    source = "seeds/uploads/lunde.txt"
    assert source in [a.source for a in remote(root, url).store.catalog()]
    other = remote(root, url).ask("How much do ferry tickets to Lunde Island cost for adults?")
    assert {c.source for c in other.citations} == {source}
    next(b for b in at.sidebar.button if b.key == f"remove-{source}").click().run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert source not in [a.source for a in remote(root, url).store.catalog()]
    st.cache_resource.clear()
