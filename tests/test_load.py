"""Load (issues 12 and 13): many askers at once on one local model get their own answers.

- 8 threads × 5 questions through the library (`Chatbot.ask`): the same answers as a serial run.
- 20 concurrent `POST /ask` on a real `serve` process: each answered with its own answer (the
  serial run's) or refused at once with 503 + Retry-After; none lost (the refused ones are sent
  again until answered).
- Chat sessions at once (Streamlit AppTest, over CHATBOT_API_URL): each sees its own question and
  answer or a clear "busy" line, and the process's memory comes back after they end.

The fake model restates the sentence that shares most words with the question, and each question
here is built from a different sentence of the seed, so an answer given to the wrong asker shows.
Full counts (50 sessions, the default model) are in bench/load.py.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_server import new_root, serving

from chatbot.ingest import load_all
from chatbot.splitting import sentences_of, split_article

from conftest import REPO, SEED, record

sys.path.insert(0, str(REPO / "bench"))
from load import parallel_apptests

SESSIONS = 12  # bench/load.py runs 50


def questions(root: Path, n: int) -> list[str]:
    """n questions, each from a different sentence of the seed (the longest first)."""
    (article,) = load_all([root / SEED], root)
    sents = sorted(
        {s.text for s in sentences_of(split_article(article)) if len(s.text.split()) >= 8},
        key=len,
        reverse=True,
    )
    assert len(sents) >= n
    return [f"Is it true that {s.rstrip('.')}?" for s in sents[:n]]


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 1024


def serve_pid() -> int:
    """The `python -m chatbot serve` child of this process."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat[1]) == os.getpid() and b"serve" in cmd and b"chatbot" in cmd:
                return int(proc.name)
    raise AssertionError("no serve process")


def test_threads_on_one_model_answer_as_a_serial_run(fake_bot, root):
    asked = questions(root, 20)
    serial = {q: fake_bot.ask(q).to_dict() for q in asked}
    assert len({json_key(a) for a in serial.values()}) >= 16  # a mix-up would show
    assert all(a["citations"] and not a["refused"] for a in serial.values())

    def thread(i: int) -> list[tuple[str, dict]]:
        mine = [asked[(i * 5 + j) % len(asked)] for j in range(5)]  # each asked by two threads
        return [(q, fake_bot.ask(q).to_dict()) for q in mine]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        results = [pair for batch in pool.map(thread, range(8)) for pair in batch]
    wall = time.perf_counter() - t0
    assert len(results) == 40
    differ = [q for q, a in results if a != serial[q]]
    record(
        "load_threads_ci",
        {"threads": 8, "questions_each": 5, "differ_from_serial": len(differ), "wall_s": wall},
    )
    assert differ == []


def json_key(answer: dict) -> str:
    return answer["answer"] + "|" + ",".join(c["quote"] for c in answer["citations"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """`serve` on the fake model taking 0.2 s an answer, 4 requests waiting (the default)."""
    root = new_root(tmp_path_factory)
    with serving(root, {"CHATBOT_FAKE_DELAY": "0.2", "CHATBOT_SERVE_QUEUE": "4"}) as url:
        yield root, url


@pytest.fixture(scope="module")
def asked(server) -> list[str]:
    return questions(server[0], 20)


def test_twenty_concurrent_requests_get_their_own_answers_or_503(server, asked):
    _, url = server
    serial = {q: httpx.post(f"{url}/ask", json={"question": q}, timeout=30) for q in asked}
    assert all(r.status_code == 200 for r in serial.values())
    expected = {q: r.json() for q, r in serial.items()}
    assert len({json_key(a) for a in expected.values()}) >= 16

    def ask(q: str) -> tuple[str, httpx.Response, float]:
        t0 = time.perf_counter()
        r = httpx.post(f"{url}/ask", json={"question": q}, timeout=60)
        return q, r, time.perf_counter() - t0

    waiting, rounds, refused_first, answers, slowest_503 = list(asked), 0, 0, {}, 0.0
    while waiting and rounds < 10:
        rounds += 1
        with ThreadPoolExecutor(len(waiting)) as pool:
            results = list(pool.map(ask, waiting))
        for q, r, _ in results:
            if r.status_code == 200:
                answers[q] = r.json()
            else:  # refused with a retry hint, in the error shape
                assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
                assert "busy" in r.json()["error"]
        refused = [took for _, r, took in results if r.status_code == 503]
        if refused:  # at once: not after the queue's answers (≥ 0.2 s each, one at a time)
            slowest_503 = max(slowest_503, *refused)
            assert max(refused) < max(took for _, r, took in results if r.status_code == 200)
        if rounds == 1:
            refused_first = len(refused)
        waiting = [q for q in waiting if q not in answers]
    mixed = [q for q in asked if answers.get(q) != expected[q]]
    record(
        "load_http_ci",
        {
            "concurrent": 20,
            "queue": 4,
            "refused_503_first_round": refused_first,
            "rounds_until_all_answered": rounds,
            "lost": len(waiting),
            "mixed_up": len(mixed),
            "slowest_503_s": round(slowest_503, 3),
        },
    )
    assert waiting == [] and mixed == []
    assert 20 - refused_first >= 5 and refused_first > 0  # one answering + 4 waiting got in


def test_sessions_at_once_keep_their_own_chats_and_give_memory_back(server, asked, monkeypatch):
    root, url = server
    for key, value in {
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_API_URL": url,
    }.items():
        monkeypatch.setenv(key, value)
    st.cache_resource.clear()
    expected = {q: httpx.post(f"{url}/ask", json={"question": q}, timeout=30).json() for q in asked}

    def session(q: str) -> AppTest:
        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60).run()
        at.chat_input[0].set_value(q)
        return at.run()

    session(asked[0])  # the app's imports and first run, before the baseline
    gc.collect()
    before, server_before = rss_mb(), rss_mb(serve_pid())
    mine = [asked[i % len(asked)] for i in range(SESSIONS)]
    with parallel_apptests(), ThreadPoolExecutor(SESSIONS) as pool:
        sessions = list(pool.map(session, mine))
    during, server_during = rss_mb(), rss_mb(serve_pid())
    answered = busy = 0
    for q, at in zip(mine, sessions, strict=True):
        assert not at.exception
        messages = at.session_state["messages"]
        if messages:  # its own question and the answer to it, nothing else
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[0]["content"] == q and messages[1]["answer"] == expected[q]
            answered += 1
        else:
            assert [e.value for e in at.error] == [
                "the model is busy (one answer running, 4 waiting); retry shortly"
            ]
            busy += 1
    del sessions, at
    gc.collect()
    after, server_after = rss_mb(), rss_mb(serve_pid())
    st.cache_resource.clear()
    record(
        "load_sessions_ci",
        {
            "sessions": SESSIONS,
            "answered": answered,
            "busy": busy,
            "ui_rss_mb": {"before": before, "during": during, "after": after},
            "serve_rss_mb": {
                "before": server_before,
                "during": server_during,
                "after": server_after,
            },
        },
    )
    assert answered >= 5 and answered + busy == SESSIONS
    assert after - before <= max(0.5 * (during - before), 20), (before, during, after)
