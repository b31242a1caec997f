"""Many askers on one local model at once (issue 12's 20 requests, issue 13's faults and load).

- threads: 8 threads × 5 questions through the library (`Chatbot.ask`, each thread the questions
  in another order), against a serial run at temperature 0: answers that differ, crashes;
- http: 20 concurrent `POST /ask` on a `serve` process (queue 4): answered, refused at once with
  503, sent again until answered; lost ones, ones that differ from a serial run over HTTP;
- sessions: 50 Streamlit sessions (AppTest, in threads) over CHATBOT_API_URL on that server:
  each sees its own question and answer or the "busy" line, nothing of another's; RSS of this
  process (the UI) and of the server before, during and after.

Each figure goes to bench/results/robustness.json (`record`) and bench/results/load_MODEL.json.

    .venv/bin/python bench/load.py [--model qwen|fake] [--sessions 50] [--requests 20]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from common import record, save
from serve import ROOT, bench_root, env_for, ingest, serving

from chatbot import Chatbot, Settings
from chatbot.evaluation.dataset import load_items


@contextmanager
def parallel_apptests() -> Iterator[None]:
    """Let AppTest sessions run in threads at once. AppTest puts a mock Runtime in Streamlit's
    global slot for a run and empties it at the end, so one session ending would pull the
    Runtime from under the others ("Runtime hasn't been created!"); while this is open, an empty
    slot answers with the last mock put there. Sessions stay apart: each has its own state.
    Scripts are compiled one at a time: CPython 3.11's ast is not safe in threads at once
    ("SystemError: AST constructor recursion depth mismatch"), and each run compiles anew."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    compiling = threading.Lock()
    get_bytecode = ScriptCache.get_bytecode

    def compile_alone(self: ScriptCache, script_path: str) -> object:
        with compiling:
            return get_bytecode(self, script_path)

    last: list[object] = []
    instance, exists = Runtime.__dict__["instance"], Runtime.__dict__["exists"]

    def get(cls: type[Runtime]) -> Runtime:
        if cls._instance is not None:
            last[:] = [cls._instance]
            return cls._instance
        if last:
            return last[0]  # type: ignore[return-value]
        return instance.__func__(cls)

    Runtime.instance = classmethod(get)  # type: ignore[method-assign,assignment]
    Runtime.exists = classmethod(lambda cls: cls._instance is not None or bool(last))  # type: ignore[method-assign,assignment]
    ScriptCache.get_bytecode = compile_alone  # type: ignore[method-assign]
    try:
        yield
    finally:
        Runtime.instance, Runtime.exists = instance, exists  # type: ignore[method-assign]
        ScriptCache.get_bytecode = get_bytecode  # type: ignore[method-assign]


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 1024


def threads(bot: Chatbot, questions: list[str], n_threads: int, each: int) -> dict:
    asked = questions[:each]
    t0 = time.perf_counter()
    serial = {q: bot.ask(q).to_dict() for q in asked}
    serial_s = time.perf_counter() - t0

    def run(i: int) -> list[tuple[str, dict]]:
        order = asked[i % each :] + asked[: i % each]  # at a given moment, others' questions
        return [(q, bot.ask(q).to_dict()) for q in order]

    t0 = time.perf_counter()
    errors: list[str] = []
    with ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(run, i) for i in range(n_threads)]
        results = []
        for f in futures:
            try:
                results += f.result()
            except Exception as exc:  # a crash is a figure here, not the end of the bench
                errors.append(f"{type(exc).__name__}: {exc}")
    wall = time.perf_counter() - t0
    differ = [q for q, a in results if a != serial[q]]
    return {
        "threads": n_threads,
        "questions_each": each,
        "answers": len(results),
        "errors": errors,
        "differ_from_serial": len(differ),
        "differing": [
            {"question": q, "serial": serial[q]["answer"], "threaded": a["answer"]}
            for q, a in results
            if a != serial[q]
        ],
        "serial_s": round(serial_s, 2),
        "threaded_wall_s": round(wall, 2),
    }


def http_burst(url: str, questions: list[str]) -> dict:
    with httpx.Client(base_url=url, timeout=900) as http:
        t0 = time.perf_counter()
        serial = {q: http.post("/ask", json={"question": q}).json() for q in questions}
        serial_s = time.perf_counter() - t0

    def ask(q: str) -> tuple[str, httpx.Response, float]:
        t = time.perf_counter()
        r = httpx.post(f"{url}/ask", json={"question": q}, timeout=900)
        return q, r, time.perf_counter() - t

    waiting, answers, rounds, first_round, refusal_s = list(questions), {}, 0, {}, []
    t0 = time.perf_counter()
    while waiting and rounds < 20:
        rounds += 1
        with ThreadPoolExecutor(len(waiting)) as pool:
            results = list(pool.map(ask, waiting))
        other = []
        for q, r, took in results:
            if r.status_code == 200:
                answers[q] = r.json()
            elif r.status_code == 503 and r.headers.get("Retry-After"):
                refusal_s.append(took)
            else:
                other.append(f"{r.status_code} {r.text[:100]}")
        if rounds == 1:
            first_round = {
                "answered": sum(r.status_code == 200 for _, r, _ in results),
                "refused_503": sum(r.status_code == 503 for _, r, _ in results),
                "other": other,
            }
        waiting = [q for q in waiting if q not in answers]
    return {
        "concurrent": len(questions),
        "first_round": first_round,
        "rounds_until_all_answered": rounds,
        "slowest_503_s": round(max(refusal_s, default=0.0), 3),
        "lost": len(waiting),
        "differ_from_serial": sum(answers.get(q) != serial[q] for q in questions),
        "differing": [
            {"question": q, "serial": serial[q]["answer"], "concurrent": answers[q]["answer"]}
            for q in questions
            if q in answers and answers[q] != serial[q]
        ],
        "serial_s": round(serial_s, 2),
        "burst_wall_s": round(time.perf_counter() - t0, 2),
    }, serial


def sessions(
    app: Path, root: Path, url: str, server_pid: int, questions: list[str], n: int, expected
) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ.update(env_for(root, {"CHATBOT_API_URL": url}))
    st.cache_resource.clear()

    def session(q: str) -> AppTest:
        at = AppTest.from_file(str(app), default_timeout=900).run()
        at.chat_input[0].set_value(q)
        return at.run()

    session(questions[0])  # imports and the first run, before the baseline
    gc.collect()
    me = os.getpid()
    before = (rss_mb(me), rss_mb(server_pid))
    mine = [questions[i % len(questions)] for i in range(n)]
    peak = list(before)
    done = threading.Event()

    def sample() -> None:  # the highest RSS of each process while the sessions run
        while not done.wait(0.1):
            peak[:] = [max(peak[0], rss_mb(me)), max(peak[1], rss_mb(server_pid))]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    with parallel_apptests(), ThreadPoolExecutor(n) as pool:
        ats = list(pool.map(session, mine))
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    during = (rss_mb(me), rss_mb(server_pid))  # all sessions still open
    answered = busy = crossed = failed = 0
    errors, differing = set(), []
    for q, at in zip(mine, ats, strict=True):
        messages = at.session_state["messages"]
        if at.exception:
            failed += 1
            errors |= {e.value for e in at.exception}
        elif messages:
            got = messages[1]["answer"] if len(messages) == 2 else None
            if messages[0]["content"] != q or got is None:
                crossed += 1  # another session's question, or more than one exchange
            elif got == expected[q]:
                answered += 1
            elif any(got == a for other, a in expected.items() if other != q):
                crossed += 1  # another question's answer
            else:  # its own question, answered otherwise than the serial run did
                differing.append({"question": q, "serial": expected[q]["answer"], "session": got})
        elif at.error:
            errors |= {e.value for e in at.error}
            busy += any("busy" in e.value for e in at.error)
        else:
            failed += 1
    del ats
    gc.collect()
    time.sleep(1)
    after = (rss_mb(me), rss_mb(server_pid))
    return {
        "sessions": n,
        "answered_own": answered,
        "busy": busy,
        "cross_talk": crossed,
        "own_answer_differs_from_serial": differing,
        "failed": failed,
        "error_lines": sorted(errors),
        "wall_s": round(wall, 2),
        "ui_rss_mb": {"before": before[0], "peak": peak[0], "open": during[0], "after": after[0]},
        "serve_rss_mb": {
            "before": before[1],
            "peak": peak[1],
            "open": during[1],
            "after": after[1],
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="qwen", help="CHATBOT_LLM (qwen: the default 1.5B model)")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--each", type=int, default=5, help="questions a thread asks")
    ap.add_argument("--requests", type=int, default=20, help="concurrent HTTP requests")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--skip", default="", help="parts to skip: threads,http,sessions")
    ap.add_argument("--app", type=Path, default=ROOT / "streamlit_app.py")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    items = [i for i in load_items(ROOT / "eval" / "seed.jsonl") if i.expect_refusal is False]
    questions = [i.question for i in items if not i.history][: max(args.requests, args.each)]
    extra = {"CHATBOT_LLM": args.model}
    figures: dict = {"model": args.model}

    with tempfile.TemporaryDirectory() as tmp:
        root = bench_root(Path(tmp))
        ingest(root, extra)
        with serving(root, extra) as (url, pid):  # first: this process holds no model yet
            expected = {}
            if "http" not in skip:
                figures["http"], expected = http_burst(url, questions[: args.requests])
                record(f"load_http_{args.model}", figures["http"])
            if "sessions" not in skip:
                asked = questions[: args.requests]
                for q in asked:
                    if q not in expected:
                        expected[q] = httpx.post(
                            f"{url}/ask", json={"question": q}, timeout=900
                        ).json()
                figures["sessions"] = sessions(
                    args.app, root, url, pid, asked, args.sessions, expected
                )
                record(f"load_sessions_{args.model}", figures["sessions"])
        if "threads" not in skip:
            bot = Chatbot.from_settings(Settings.from_env(env_for(root, extra)))
            bot.warm()
            figures["threads"] = threads(bot, questions, args.threads, args.each)
            record(f"load_threads_{args.model}", figures["threads"])
    save(f"load_{args.model}", figures)


if __name__ == "__main__":
    main()
