"""The Streamlit app through AppTest: ask, follow-up, starters and related questions from the
question bank (a click shows the stored answer), upload, refusal, error."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from chatbot import Chatbot, ModelError
from chatbot import models as models_module
from chatbot.highlight import escape_markdown
from chatbot.models import FakeLLM

from conftest import REPO, assert_spans_exact, build_banks, make_settings


@pytest.fixture
def fake(root, monkeypatch):
    """The app on the hash embedder and a fake LLM we keep a hand on; the seed ingested, its
    question bank built (by a fake model that writes questions)."""
    for key, value in {
        "CHATBOT_ROOT": str(root),
        "CHATBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CHATBOT_EMBEDDER": "hash",
        "CHATBOT_LLM": "fake",
    }.items():
        monkeypatch.setenv(key, value)
    Chatbot.from_settings(make_settings(root)).ingest([root / "seeds"], progress=False)
    build_banks(root)
    llm = FakeLLM()
    monkeypatch.setitem(models_module.LLMS, "fake", lambda s: llm)
    st.cache_resource.clear()
    return llm


def start() -> AppTest:
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run()


def answers(at: AppTest) -> list[dict]:
    return [m["answer"] for m in at.session_state["messages"] if m["role"] == "assistant"]


def test_empty_state_offers_starters_and_invites_questions(fake):
    at = start()
    assert not at.exception and not at.error
    assert at.chat_input[0].placeholder == "Ask me anything"
    starters = [b for b in at.button if b.key and b.key.startswith("start-")]
    assert 3 <= len(starters) <= 4
    starters[0].click().run()
    assert len(answers(at)) == 1


def test_a_clicked_question_shows_its_stored_answer_then_typing_follows_up(fake, root):
    at = start()
    starters = [b for b in at.button if b.key and b.key.startswith("start-")]
    label, calls = starters[1].label, len(fake.prompts)  # the warm-up at load is one
    starters[1].click().run()
    assert not at.exception and len(fake.prompts) == calls  # no model call: the bank's answer
    (message,) = [m for m in at.session_state["messages"] if m["role"] == "assistant"]
    assert message["stored"] and not message["answer"]["refused"]
    assert_spans_exact(message["answer"], root)
    assert any(c.value.startswith("answered earlier") for c in at.caption)
    related = [b for b in at.button if b.key and b.key.startswith("m1-rel-")]
    assert related and label not in [b.label for b in related]
    cited = [
        (c["source"], c["start"], c["end"])
        for m in message["related"]
        for c in m.answer["citations"]
    ]
    assert len(cited) == len(set(cited))  # no two resting on the same sentence
    second = related[0].label
    related[0].click().run()
    assert len(fake.prompts) == calls and answers(at)[-1] == message["related"][0].answer
    assert second not in [b.label for b in at.button if b.key and b.key.startswith("m3-rel-")]
    ask(at, "And who chaired the meeting?")  # typed: a normal follow-up through the chain
    earlier = message["related"][0].question  # the label is the question, markdown-escaped
    assert f"Earlier question: {earlier}" in fake.prompts[-1][-1]["content"]
    assert len(answers(at)) == 3 and not at.session_state["messages"][-1].get("stored")


def test_a_clicked_question_whose_stored_answer_went_stale_is_asked_anew(fake, root):
    at = ask(start(), "To what was the military force limit increased?")
    related = [b for b in at.button if b.key and b.key.startswith("m1-rel-")]
    seed = root / "seeds" / "nato-ministers-peace-plan.txt"
    seed.write_text("Updated. " + seed.read_text(encoding="utf-8"), encoding="utf-8")
    at.sidebar.text_area(key="paste-text").input("The ferry to Lunde Island returns on 1 May.\n")
    add_pasted(at)  # a new store revision: stored answers are checked against the files again
    calls = len(fake.prompts)
    related[0].click().run()
    assert not at.exception, at.exception
    assert len(fake.prompts) == calls + 1  # through the chain, not the bank
    users = [m["content"] for m in at.session_state["messages"] if m["role"] == "user"]
    assert users[-1] == at.session_state["messages"][1]["related"][0].question
    assert not at.session_state["messages"][-1].get("stored")


def test_ask_cites_highlights_follows_up_and_explores(fake, root):
    at = ask(start(), "To what was the military force limit increased?")
    assert not at.exception
    (answer,) = answers(at)
    assert "800,000" in answer["answer"] and answer["citations"]
    assert_spans_exact(answer, root)
    quote = answer["citations"][0]["quote"]
    assert any(f'<mark class="cited active">{quote}</mark>' in h.proto.body for h in at.html)
    related = [b for b in at.button if b.key and b.key.startswith("m1-rel-")]
    assert len(related) == 3

    ask(at, "And the initial plan?")
    assert (
        "Earlier question: To what was the military force limit increased?"
        in fake.prompts[-1][-1]["content"]
    )

    related = [b for b in at.button if b.key and b.key.startswith("m3-rel-")]
    label = related[0].label
    related[0].click().run()
    users = [m["content"] for m in at.session_state["messages"] if m["role"] == "user"]
    assert users[-1] == label and len(answers(at)) == 3


def test_refusal_looks_different(fake):
    at = ask(start(), "Quelle heure est-il à Tokyo?")
    assert answers(at)[0]["refused"]
    assert at.info and at.info[0].value == escape_markdown("The articles don't say.")


def test_a_refusal_quoting_what_the_articles_say_shows_its_citations(fake):
    fake.replies = ["The ministers were expected to focus on emerging peace initiatives [7]."]
    at = ask(start(), "What did the NATO ministers decide at their Lisbon meeting?")
    answer = answers(at)[0]
    assert answer["refused"] and answer["citations"]
    assert at.info[0].value.startswith(escape_markdown("The articles don't say. What they say"))
    quote = answer["citations"][0]["quote"]  # its citation chip opens the highlighted span
    assert any(f'<mark class="cited active">{quote}</mark>' in h.proto.body for h in at.html)


def test_upload_an_article_and_ask_about_it(fake, root):
    at = start()
    text = "The harbour of Tillbury reopened on Monday after the storm.\nIts repair cost 3 million euros.\n"
    at.sidebar.file_uploader[0].set_value(("harbour.txt", text.encode(), "text/plain")).run()
    assert not at.error, [e.value for e in at.error]
    assert (root / "seeds" / "uploads" / "harbour.txt").read_text() == text
    title = escape_markdown("The harbour of Tillbury reopened on Monday after the storm.")
    listed = {m.value: m.proto.help for m in at.sidebar.markdown}  # by title, the path on hover
    assert listed[title] == "seeds/uploads/harbour.txt"
    ask(at, "Its repair cost how many euros?")
    answer = answers(at)[-1]
    assert answer["citations"][0]["source"] == "seeds/uploads/harbour.txt"
    assert_spans_exact(answer, root)


def test_bad_upload_is_one_friendly_error(fake, root):
    at = start()
    at.sidebar.file_uploader[0].set_value(("bad.txt", b"\xff\xfe\x00bad", "text/plain")).run()
    assert [e.value.split(";")[0] for e in at.error] == ["bad.txt is UTF-16 text, not UTF-8"]
    assert not (root / "seeds" / "uploads" / "bad.txt").exists()


def test_model_failure_is_one_friendly_error(fake, monkeypatch):
    def broken(messages, *args, **kwargs):
        if "Question:" in messages[-1]["content"]:  # warm-up at load works, questions fail
            raise ModelError("the model endpoint failed: connection refused")
        yield "ok"

    monkeypatch.setattr(fake, "stream", broken)
    at = ask(start(), "To what was the military force limit increased?")
    assert not at.exception
    assert [e.value for e in at.error] == ["the model endpoint failed: connection refused"]


def test_a_model_that_cannot_load_is_one_friendly_error(fake, monkeypatch):
    def missing(settings):
        raise ModelError("model file not found: /models/missing.gguf")

    monkeypatch.setitem(models_module.LLMS, "fake", missing)
    at = start()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The chatbot could not start: model file not found: /models/missing.gguf"
    ]


def test_sessions_do_not_share_conversations_and_markup_is_escaped(fake):
    one, two = start(), start()
    ask(one, "What about <b>NATO</b> ![x](http://example.com/x.png)?")
    two.run()
    assert len(one.session_state["messages"]) == 2 and two.session_state["messages"] == []
    shown = one.chat_message[0].markdown[0].value
    assert (
        "\\<b\\>" in shown and "\\!\\[x\\]" in shown and "<b>" not in shown.replace("\\<b\\>", "")
    )


def sidebar_button(at: AppTest, key: str):
    return next(b for b in at.sidebar.button if b.key == key)


def add_pasted(at: AppTest) -> AppTest:
    return next(b for b in at.sidebar.button if b.label == "Add pasted text").click().run()


def test_paste_an_article_ask_about_it_and_remove_it(fake, root):
    at = start()
    text = "The ferry to Lunde Island returns on 1 May.\nTickets cost 12 euros for adults.\n"
    at.sidebar.text_input(key="paste-title").input("Lunde ferry returns")
    at.sidebar.text_area(key="paste-text").input(text)
    add_pasted(at)
    assert not at.error and not at.exception, [e.value for e in at.error]
    saved = root / "seeds" / "uploads" / "lunde-ferry-returns.txt"
    assert saved.read_text(encoding="utf-8") == f"---\ntitle: Lunde ferry returns\n---\n\n{text}"
    listed = {m.value: m.proto.help for m in at.sidebar.markdown}
    assert listed["Lunde ferry returns"] == "seeds/uploads/lunde-ferry-returns.txt"

    ask(at, "How much do tickets for the ferry to Lunde Island cost for adults?")
    answer = answers(at)[-1]
    assert answer["citations"][0]["source"] == "seeds/uploads/lunde-ferry-returns.txt"
    assert_spans_exact(answer, root)

    sidebar_button(at, "remove-seeds/uploads/lunde-ferry-returns.txt").click().run()
    assert not at.error and not at.exception
    assert "Lunde ferry returns" not in [m.value for m in at.sidebar.markdown]
    assert not any(
        b.key == "remove-seeds/uploads/lunde-ferry-returns.txt" for b in at.sidebar.button
    )
    assert saved.exists()  # the file stays; its records are gone
    ask(at, "How much do tickets for the ferry to Lunde Island cost for adults?")
    assert all(c["source"] != str(saved.relative_to(root)) for c in answers(at)[-1]["citations"])


def test_pasting_nothing_is_one_friendly_error(fake, root):
    at = start()
    at.sidebar.text_area(key="paste-text").input("   \n ")
    add_pasted(at)
    assert [e.value for e in at.error] == ["the pasted text is empty"]
    assert not (root / "seeds" / "uploads").exists()


def test_an_html_upload_is_listed_by_its_title(fake, root):
    page = (
        "<html><head><title>Harbour | Gazette</title></head><body><nav><a href='/'>Home</a>"
        "<a href='/login'>Sign in</a></nav><article><h1>Tillbury harbour reopens</h1>"
        "<p>The harbour of Tillbury reopened on Monday after the storm closed it for six "
        "days.</p><p>Repairs to the north pier cost 3 million euros, the port authority said."
        "</p></article><footer>All rights reserved.</footer></body></html>"
    )
    at = start()
    at.sidebar.file_uploader[0].set_value(("harbour.html", page.encode(), "text/html")).run()
    assert not at.error, [e.value for e in at.error]
    extracted = root / "seeds" / "uploads" / "harbour.html.txt"
    assert "Sign in" not in extracted.read_text(encoding="utf-8")
    listed = {m.proto.help: m.value for m in at.sidebar.markdown}
    assert listed["seeds/uploads/harbour.html.txt"] == "Tillbury harbour reopens"


def test_a_chat_limited_to_one_article_reads_only_it(fake, root):
    (root / "seeds" / "riverton-harbour.txt").write_text(
        (REPO / "tests/data/riverton-harbour.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    Chatbot.from_settings(make_settings(root)).ingest([root / "seeds"], progress=False)
    build_banks(root)
    at = ask(start(), "Who voted against the plan?")
    assert len(answers(at)) == 1
    at.sidebar.selectbox(key="scope-picker").select("seeds/riverton-harbour.txt").run()
    assert not at.exception and at.session_state["messages"] == []  # a new chat
    assert "Asking one article: Riverton council approves harbour plan" in [
        c.value for c in at.caption
    ]
    starters = [b.label for b in at.button if b.key and b.key.startswith("start-")]
    assert starters and not any("NATO" in q or "Rutte" in q for q in starters), starters
    ask(at, "Who voted against the plan?")
    (answer,) = answers(at)
    assert answer["citations"] and {c["source"] for c in answer["citations"]} == {
        "seeds/riverton-harbour.txt"
    }
    assert_spans_exact(answer, root)


def test_a_new_articles_bank_is_built_in_the_background_with_progress(fake, root):
    at = start()
    fake.delay_s = 1.0  # the builder's model call takes a while
    text = "The harbour of Tillbury reopened on Monday after the storm.\nIts repair cost 3 million euros.\n"
    at.sidebar.file_uploader[0].set_value(("harbour.txt", text.encode(), "text/plain")).run()
    assert not at.exception, at.exception
    assert [s.label for s in at.status] == ["Writing questions for seeds/uploads/harbour.txt"]
    fake.delay_s = 0.0
    ask(at, "Its repair cost how many euros?")  # the chat stays usable meanwhile
    assert answers(at)[-1]["citations"][0]["source"] == "seeds/uploads/harbour.txt"
