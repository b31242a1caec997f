"""The CLI as a user runs it: one clear line and a non-zero exit for bad input, store unchanged."""

import json
import os
import subprocess
import sys

from conftest import REPO, SEED


def cli(root, *args, stdin=None):
    env = {
        **os.environ,
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_LLM": "fake",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        input=stdin,
        timeout=120,
    )


def one_error_line(run):
    assert run.returncode == 2, run.stderr
    lines = [x for x in run.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr


def test_ingest_ask_json_and_bad_input(root):
    run = cli(root, "ingest", "--quiet")
    assert run.returncode == 0 and f"added     {SEED}" in run.stdout
    run = cli(root, "ask", "To what was the military force limit increased?", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) == {"answer", "refused", "citations"} and out["citations"]
    text = (root / SEED).read_text(encoding="utf-8")
    assert all(text[c["start"] : c["end"]] == c["quote"] for c in out["citations"])
    assert out["citations"][0]["source"] == SEED

    (root / "empty.txt").write_text("")
    (root / "latin.txt").write_bytes(b"caf\xe9")
    for args in (
        ["ask", ""],
        ["ask", "x" * 100_000],
        ["ingest", "missing.txt"],
        ["ingest", "empty.txt"],
        ["ingest", "latin.txt"],
        ["eval", "missing.jsonl"],
    ):
        one_error_line(cli(root, *args))
    assert "store: 34 sentences in 1 articles" in cli(root, "ingest", "--quiet").stdout


def test_chat_keeps_history(root):
    cli(root, "ingest", "--quiet")
    run = cli(root, "chat", stdin="What did the initial plan include?\nAnd the revised one?\n\n")
    assert run.returncode == 0 and run.stdout.count("[1]") >= 2


def test_help_lists_commands_and_configuration(root):
    run = cli(root, "--help")
    assert run.returncode == 0
    for word in ("ingest", "ask", "chat", "eval", "CHATBOT_LLM", "OPENAI_BASE_URL"):
        assert word in run.stdout


def test_eval_replays_stored_replies(root):
    assert cli(root, "ingest", "--quiet").returncode == 0
    q = {"id": "a", "question": "To what was the military force limit increased?"}
    (root / "q.jsonl").write_text(json.dumps(q))
    assert cli(root, "eval", "q.jsonl", "--out", "r.jsonl").returncode == 0
    stale = json.loads((root / "r.jsonl").read_text()) | {"answer": "stale"}
    (root / "r.replay.jsonl").write_text(json.dumps(stale))  # a replay never resumes
    run = cli(root, "eval", "q.jsonl", "--replay", "r.jsonl")
    assert run.returncode == 0, run.stderr
    assert "answer accuracy" in run.stdout
    assert json.loads((root / "r.replay.jsonl").read_text())["answer"] != "stale"
    one_error_line(cli(root, "eval", "q.jsonl", "--replay", "missing.jsonl"))
