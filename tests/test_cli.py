"""The CLI as a user runs it: one clear line and a non-zero exit for bad input, store unchanged."""

import json

from chatbot.articles import source_key

from conftest import REPO, SEED, run_cli


def cli(root, *args, stdin=None):
    return cli_env(root, {}, *args, stdin=stdin)


def cli_env(root, extra, *args, stdin=None):
    return run_cli(root, *args, extra=extra, stdin=stdin)


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


def test_ask_and_eval_can_be_limited_to_one_article(root, tmp_path):
    (root / "seeds" / "riverton-harbour.txt").write_text(
        (REPO / "tests/data/riverton-harbour.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    cli(root, "ingest", "--quiet")
    question = "Who voted against the harbour plan?"
    run = cli(root, "ask", question, "--article", "riverton-harbour.txt", "--json")
    assert run.returncode == 0, run.stderr
    cited = {c["source"] for c in json.loads(run.stdout)["citations"]}
    assert cited == {"seeds/riverton-harbour.txt"}
    one_error_line(cli(root, "ask", question, "--article", "nope.txt"))
    items = [
        {"id": "a", "question": question, "article": "riverton-harbour.txt"},
        {"id": "b", "question": question, "article": SEED},
    ]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    run = cli(root, "eval", str(tmp_path / "q.jsonl"), "--out", str(tmp_path / "r.jsonl"))
    assert run.returncode == 0, run.stderr
    rows = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {r["retrieved"][0]["source"] for r in rows} == {"seeds/riverton-harbour.txt", SEED}
    assert all(c["source"] == r["retrieved"][0]["source"] for r in rows for c in r["citations"])


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


def test_eval_with_its_own_articles_leaves_the_project_store_alone(root, tmp_path):
    """A question set with its own articles is answered from a store of its own, and a scorer
    shipped beside its questions scores the results by the set's rules."""
    assert cli(root, "ingest", "--quiet").returncode == 0
    shared = tmp_path / "other-set"
    (shared / "articles").mkdir(parents=True)
    (shared / "articles" / "harbour.txt").write_text(
        "Harbour news\n\nThe Riverton council approved a harbour budget of 12 million euros.\n"
    )
    q = {"id": "h1", "question": "What harbour budget did the Riverton council approve?"}
    (shared / "questions.jsonl").write_text(json.dumps(q) + "\n")
    (shared / "score_set.py").write_text(
        "import json, sys\n"
        "rows = [json.loads(x) for x in open(sys.argv[1])]\n"
        "hits = sum('12 million' in r['answer'] for r in rows)\n"
        "print(f'set: answer {hits}/{len(rows)}, articles {sys.argv[3]}')\n"
    )
    cache = tmp_path / "cache"
    env_cache = {"CHATBOT_CACHE_DIR": str(cache)}
    run = cli_env(
        root,
        env_cache,
        "eval",
        str(shared / "questions.jsonl"),
        "--articles",
        str(shared / "articles"),
        "--out",
        str(tmp_path / "r.jsonl"),
    )
    assert run.returncode == 0, run.stderr
    assert "score_set.py (ours): set: answer 1/1" in run.stdout
    row = json.loads((tmp_path / "r.jsonl").read_text())
    assert row["citations"][0]["source"].endswith("harbour.txt")
    assert list((cache / "eval-stores").iterdir())  # the set's own store, in the cache
    # the project's store still holds only the seed, and still answers from it
    ask = cli(root, "ask", "What harbour budget did the Riverton council approve?", "--json")
    assert all(c["source"] == SEED for c in json.loads(ask.stdout)["citations"])


def test_articles_list_and_remove(root, tmp_path):
    (root / "seeds" / "harbour.md").write_text(
        "---\ntitle: Harbour reopens\ndate: 2024-03-05\n---\n\n"
        "The harbour of Tillbury reopened on Monday.\nRepairs cost 3 million euros.\n",
        encoding="utf-8",
    )
    assert cli(root, "ingest", "--quiet").returncode == 0
    kv = tmp_path / "cache" / "kv"  # saved model states: the harbour's two, and another's
    kv.mkdir(parents=True)
    mine = [kv / f"{source_key('seeds/harbour.md')}-{n}.npz" for n in ("a1", "b2")]
    other = kv / f"{source_key(SEED)}-c3.npz"
    for f in [*mine, other]:
        f.write_bytes(b"state")
    env = {"CHATBOT_CACHE_DIR": str(tmp_path / "cache")}

    run = cli_env(root, env, "articles", "list", "--json")
    assert run.returncode == 0, run.stderr
    listed = json.loads(run.stdout)
    assert listed[0] == {
        "source": "seeds/harbour.md",
        "title": "Harbour reopens",
        "date": "2024-03-05",
        "sentences": 2,
    }
    assert listed[1]["source"] == SEED and listed[1]["sentences"] == 34
    assert listed[1]["title"].startswith("At the meeting of NATO foreign ministers")
    table = cli(root, "articles", "list").stdout.splitlines()
    assert table[0].split() == ["source", "date", "sentences", "title"]
    assert table[1].split()[:4] == ["seeds/harbour.md", "2024-03-05", "2", "Harbour"]

    one_error_line(cli_env(root, env, "articles", "remove", "seeds/missing.txt"))
    run = cli_env(root, env, "articles", "remove", "seeds/harbour.md")
    assert run.returncode == 0 and "removed   seeds/harbour.md" in run.stdout
    assert not any(f.exists() for f in mine) and other.exists()
    assert (root / "seeds" / "harbour.md").exists()  # the file stays; only its records went
    after = json.loads(cli(root, "articles", "list", "--json").stdout)
    assert [a["source"] for a in after] == [SEED] and after[0]["sentences"] == 34
    one_error_line(cli(root, "articles", "remove", "seeds/harbour.md"))  # not stored any more

    # the removal lasts: ingesting seeds/ again (as set-up does at every start) skips it ...
    run = cli(root, "ingest", "--quiet")
    assert run.returncode == 0 and "skipped   seeds/harbour.md (removed earlier" in run.stdout
    assert f"unchanged {SEED}" in run.stdout
    assert [a["source"] for a in json.loads(cli(root, "articles", "list", "--json").stdout)] == [
        SEED
    ]
    # ... until it is named: then it is back, and the folder's ingest takes it again
    run = cli(root, "ingest", "--quiet", "seeds/harbour.md")
    assert run.returncode == 0 and "added     seeds/harbour.md" in run.stdout
    run = cli(root, "ingest", "--quiet")
    assert "unchanged seeds/harbour.md" in run.stdout and "skipped" not in run.stdout


def test_articles_remove_accepts_an_html_page_for_its_extracted_text(root):
    (root / "page.html").write_text(
        "<html><head><title>Harbour</title></head><body><nav><a href='/'>Home</a></nav>"
        "<article><h1>Harbour reopens</h1><p>The harbour of Tillbury reopened on Monday after "
        "the storm closed it for six days.</p><p>Repairs cost 3 million euros, the port "
        "authority said on Tuesday.</p></article></body></html>",
        encoding="utf-8",
    )
    run = cli(root, "ingest", "--quiet", "page.html")
    assert run.returncode == 0 and "added     page.html.txt" in run.stdout
    run = cli(root, "articles", "remove", "page.html")
    assert run.returncode == 0 and "removed   page.html.txt" in run.stdout
    assert json.loads(cli(root, "articles", "list", "--json").stdout) == []
