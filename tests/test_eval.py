"""Question sets, scoring, the resumable runner, the report and the baseline chunker."""

import json
from pathlib import Path

import pytest

from chatbot.evaluation.baseline import chunks
from chatbot.evaluation.dataset import load_items
from chatbot.evaluation.report import compare, write_report
from chatbot.evaluation.runner import Replay, run
from chatbot.evaluation.scoring import Files, correct, summarize

from conftest import REPO

SETS = sorted((REPO / "eval").glob("*.jsonl"))
CATEGORIES = {
    "single_fact",
    "number",
    "list",
    "comparison",
    "who_said",
    "paraphrase",
    "follow_up",
    "false_premise",
    "unanswerable",
    "off_topic",
    "injection",
}


@pytest.mark.parametrize("path", SETS, ids=[p.name for p in SETS])
def test_gold_spans_are_exact_substrings_of_their_articles(path):
    items = load_items(path)
    for item in items:
        for g in item.gold_spans:
            assert g.quote in (REPO / g.source).read_text(encoding="utf-8"), (item.id, g.quote)
        assert bool(item.expect_refusal) == (not item.gold_spans), item.id
        assert item.category in CATEGORIES


def test_main_set_has_sixty_questions_in_every_category():
    items = load_items(REPO / "eval" / "seed.jsonl")
    assert len(items) >= 60
    assert {i.category for i in items} == CATEGORIES
    assert all(i.history for i in items if i.category == "follow_up")


def test_correctness_rules():
    item = load_items(REPO / "eval" / "seed.jsonl")[0]
    facts = item.required_facts
    assert facts
    good = {"answer": " and ".join(g[0] for g in facts), "refused": False, "citations": []}
    assert correct(item, good)
    assert not correct(item, {**good, "refused": True})
    assert not correct(item, {**good, "answer": "something else"})
    # a false premise: a refusal that states the correction is right, one that doesn't is not
    premise = next(i for i in load_items(REPO / "eval" / "seed.jsonl") if i.correction)
    fixed = " ".join(g[0] for g in premise.required_facts)
    assert correct(
        premise, {"answer": f"The articles don't say. They say {fixed}", "refused": True}
    )
    assert not correct(premise, {"answer": "The articles don't say.", "refused": True})


def test_runner_resumes_scores_and_reports(fake_bot, tmp_path):
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "id": "a",
            "question": "To what was the military force limit increased?",
            "category": "number",
            "expect_refusal": False,
            "required_facts": [["800,000"]],
            "gold_spans": [
                {
                    "source": "seeds/nato-ministers-peace-plan.txt",
                    "quote": "Increasing Ukraine’s military force limit to 800,000",
                }
            ],
        },
        {
            "id": "b",
            "question": "Quelle heure est-il à Tokyo?",
            "category": "off_topic",
            "expect_refusal": True,
        },
        {
            "id": "c",
            "question": "Who accused Moscow of violating allied airspace?",
        },  # no gold: runs, carries no scores
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    items = load_items(questions)
    out = tmp_path / "results.jsonl"
    first = run(fake_bot, items[:1], out, fake_bot.settings.root)
    assert len(first) == 1
    calls = len(fake_bot.llm.prompts)
    results = run(fake_bot, items, out, fake_bot.settings.root)
    assert (
        len(fake_bot.llm.prompts) == calls + 1
    )  # "a" was not asked again; "b" never reaches the model
    by_id = {r["id"]: r for r in results}
    assert by_id["a"]["scores"]["correct"] and by_id["a"]["scores"]["citation_valid"] == 1.0
    assert by_id["a"]["scores"]["retrieval_recall"] == 1.0
    assert by_id["b"]["scores"]["correct"] and "correct" not in by_id["c"]["scores"]
    s = summarize(results)
    assert (
        s["answer_accuracy"] == 1.0 and s["refusal_accuracy"] == 1.0 and s["citation_valid"] == 1.0
    )
    report = tmp_path / "report.md"
    write_report(report, {"ours": results}, {"ours": s})
    assert "| answer accuracy | 100% |" in report.read_text()
    assert Path(f"{tmp_path}/report-scores.png").stat().st_size > 1000
    worse = [{**r, "scores": {**r["scores"], "correct": False}} for r in results]
    assert "regressed in B (2): a, b" in compare(results, worse)


def test_baseline_chunks_keep_offsets_and_size():
    text = (REPO / "seeds" / "nato-ministers-peace-plan.txt").read_text(encoding="utf-8")
    spans = chunks(text)
    assert all(b - a <= 500 for a, b in spans) and "".join(text[a:b] for a, b in spans) == text


def test_files_finds_gold_offsets():
    files = Files(REPO)
    start, end = files.span("seeds/nato-ministers-peace-plan.txt", "800,000")
    assert files.text("seeds/nato-ministers-peace-plan.txt")[start:end] == "800,000"


def test_retrieval_recall_counts_the_same_amount_of_text_for_every_system():
    from chatbot.evaluation.scoring import RETRIEVAL_CHARS, _first_chars

    spans = [{"quote": "x" * 600} for _ in range(5)]
    kept = _first_chars(spans)
    assert len(kept) == 4 and sum(len(c["quote"]) for c in kept[:-1]) < RETRIEVAL_CHARS
    assert _first_chars([{"quote": "y" * 100}] * 30) == [{"quote": "y" * 100}] * 20


def test_replay_re_verifies_stored_replies_without_the_model(fake_bot, tmp_path):
    item = {"id": "a", "question": "To what was the military force limit increased?"}
    follow = {"id": "f", "question": "And before?", "history": [["user", item["question"]]]}
    (tmp_path / "q.jsonl").write_text(json.dumps(item) + "\n" + json.dumps(follow))
    items = load_items(tmp_path / "q.jsonl")
    stored = [
        {"id": "a", "raw": "It rose to 800,000 [26]. Canberra is a capital [26]."},
        {"id": "f", "raw": "It was 600,000 [20]."},
    ]
    rows = run(Replay(fake_bot, items, stored), items, tmp_path / "r.jsonl", fake_bot.settings.root)
    a, f = rows
    assert a["raw"] == stored[0]["raw"] and "Canberra" not in a["answer"]  # checked anew
    assert "800,000" in a["answer"] and "600,000" in f["answer"]
