"""The Streamlit chat: streamed answers, citation chips that open the highlighted source,
starter and related questions from each article's question bank (built in the background, each
answered before it is offered; a click shows the stored answer), and a sidebar to add (upload or paste) and remove articles. UI only: every
answer comes from Chatbot.stream.

    bash scripts/start.sh        # or: .venv/bin/streamlit run streamlit_app.py
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from chatbot import Answer, Chatbot, ChatbotError, Settings
from chatbot.articles import read_text
from chatbot.client import RemoteChatbot
from chatbot.highlight import escape_markdown, excerpt
from chatbot.ingest import load_all
from chatbot.question_builder import Builder
from chatbot.questions import Banked, QuestionBank
from chatbot.splitting import sentences_of, split_article
from chatbot.suggestions import Suggestions
from chatbot.uploads import save_pasted, save_upload

STYLE = """<style>
mark.cited { background: #fde68a; padding: 0 2px; border-radius: 3px; }
mark.cited.active { background: #f59e0b; }
.article-excerpt { font-size: 0.92rem; line-height: 1.5; max-height: 22rem; overflow-y: auto; }
</style>"""


@st.cache_resource(show_spinner="Loading the model, the embedder and the store…")
def load() -> tuple[Chatbot | RemoteChatbot, Builder | None]:
    """One bot per process: the model, embedder and store load once; model calls are serialized.
    With CHATBOT_API_URL, a running `serve` answers instead (no suggested questions then)."""
    settings = Settings.from_env()
    if settings.api_url:
        return RemoteChatbot(settings), None
    bot = Chatbot.from_settings(settings)
    bot.warm()  # read the fixed prompt prefix now, so the first question is fast
    return bot, Builder(QuestionBank(bot))


@st.cache_resource(show_spinner=False)
def suggestions(_builder: Builder) -> Suggestions:
    """The picker of starters and related questions, one per process (it keeps embeddings)."""
    return Suggestions(_builder.bank)


MANY = 8  # in a store of more articles, a bank is built when its article is viewed or asked about


def ask_later(question: str) -> None:
    st.session_state.pending = question


def show_stored(question: str, source: str) -> None:
    """A banked question was clicked (a callback, before the run it starts): its stored answer
    joins the conversation now, drawn by the chat's fragment alone; no longer valid, the question
    is asked anew, which needs the whole page (`chat_tail` starts that run)."""
    started = time.perf_counter()
    _, builder = load()
    if not show_stored_answer(builder, question, source, started):
        st.session_state.pending = question
        st.session_state.rerun_app = True


def question_buttons(items: list[Banked], key: str) -> None:
    for j, b in enumerate(items):
        st.button(
            escape_markdown(b.question),  # a label renders markdown (images too)
            key=f"{key}-{j}",
            icon=":material/quiz:",
            on_click=show_stored,
            args=(b.question, b.source),
        )


@st.fragment
def chat_tail(builder: Builder | None, slot: DeltaGenerator | None) -> None:
    """What a click on a suggested question changes, so that a click reruns only this, not the
    page (the click's callback has added the stored answer): the related questions of the last
    message the page's last run drew (into `slot`, the end of its bubble), the messages added
    since, or the starters of an empty chat. The sidebar and the earlier messages stay as drawn."""
    state = st.session_state
    if state.pop("rerun_app", False):
        st.rerun()
    if slot is not None:
        with slot:
            related_buttons(state.messages[state.tail_from - 1], state.tail_from - 1)
    for i in range(state.tail_from, len(state.messages)):
        render(state.messages[i], i)
    if state.messages:
        return
    if builder is None:  # CHATBOT_API_URL: no suggestions offered
        st.caption("Every answer cites the exact words of its source.")
        return
    starters = suggestions(builder).starters(article=state.get("scope"))
    if starters:
        st.caption("Every answer cites the exact words of its source. Try one of these:")
    else:
        st.caption("Every answer cites the exact words of its source. Ask a question below.")
    question_buttons(starters, "start")


def citation_chips(answer: dict, key: str) -> None:
    cites = answer["citations"]
    cols = st.columns(min(len(cites), 4) or 1)
    for i, c in enumerate(cites, 1):
        short = c["quote"] if len(c["quote"]) <= 48 else c["quote"][:46] + "…"
        label = f"\\[{i}\\] {escape_markdown(short)}"  # article text: never markup
        with cols[(i - 1) % len(cols)].popover(label, key=f"{key}-cite-{i}"):
            st.caption(f"{escape_markdown(c['source'])} · characters {c['start']}–{c['end']}")
            try:
                text = read_text(st.session_state.settings.root / c["source"])
            except ChatbotError as exc:
                st.error(str(exc))
                continue
            spans = [(x["start"], x["end"]) for x in cites if x["source"] == c["source"]]
            st.html(STYLE + excerpt(text, spans, (c["start"], c["end"])))


def related_buttons(message: dict, index: int) -> None:
    if message.get("related"):
        st.caption("Explore related questions")
        question_buttons(message["related"], f"m{index}-rel")


def render(message: dict, index: int, related: bool = True) -> DeltaGenerator:
    """One message; returns a slot at the end of its bubble (where its related questions go
    when `related` is False: `chat_tail` fills it)."""
    with st.chat_message(message["role"]):
        if message["role"] == "user":
            st.markdown(escape_markdown(message["content"]))
            return st.container()
        answer = message["answer"]
        if answer["refused"]:  # a refusal may quote what the articles do say, cited
            st.info(escape_markdown(answer["answer"]), icon=":material/search_off:")
        else:
            st.markdown(escape_markdown(answer["answer"]))
        if answer["citations"]:
            citation_chips(answer, f"m{index}")
        if message.get("timing"):
            st.caption(message["timing"])
        slot = st.container()
        if related:
            with slot:
                related_buttons(message, index)
        return slot


def ask(bot: Chatbot, builder: Builder | None, question: str, started: float) -> None:
    state = st.session_state
    history = [(m["role"], m["content"]) for m in state.messages]
    state.messages.append({"role": "user", "content": question})
    render(state.messages[-1], len(state.messages) - 1)
    final: dict = {}

    def pieces():
        for event in bot.stream(question, history, state.get("scope")):
            if isinstance(event, Answer):
                final["answer"] = event
            else:
                final.setdefault("first", time.perf_counter() - started)
                yield escape_markdown(event)  # verified sentences: shown, never rendered

    with st.chat_message("assistant"):
        try:
            with st.spinner("Writing and checking each sentence against the articles…"):
                st.write_stream(pieces)
        except ChatbotError as exc:
            state.messages.pop()
            st.error(str(exc))
            return
    answer: Answer = final["answer"]
    related = [] if answer.refused else offer_related(builder, answer.to_dict())
    first = final.get("first")
    timing = f"answer {answer.stats.latency_s:.1f} s"
    if first is not None and answer.stats.ttft_s is not None:
        timing = f"first text {first:.2f} s (model {answer.stats.ttft_s:.2f} s) · " + timing
    state.messages.append(
        {
            "role": "assistant",
            "content": answer.text,
            "answer": answer.to_dict(),
            "related": related,
            "timing": timing,
            "ui_ttft": first,
            "chain_ttft": answer.stats.ttft_s,
        }
    )
    st.rerun()


def offer_related(builder: Builder | None, answer: dict) -> list[Banked]:
    """Banked questions near what `answer` cited, none asked yet; the cited articles' banks are
    queued when missing (a store of many articles builds a bank when it is first asked about)."""
    if builder is None:
        return []
    state = st.session_state
    builder.want({c["source"] for c in answer["citations"]})
    asked = {m["content"] for m in state.messages if m["role"] == "user"}
    return suggestions(builder).related(answer["citations"], asked, article=state.get("scope"))


def show_stored_answer(builder: Builder | None, question: str, source: str, started: float) -> bool:
    """Show a banked question's stored answer at once; False when it is no longer valid."""
    stored = builder.bank.stored(question, source) if builder else None
    if stored is None:
        return False
    state = st.session_state
    state.messages.append({"role": "user", "content": question})
    state.messages.append(
        {
            "role": "assistant",
            "content": stored["answer"],
            "answer": stored,
            "stored": True,
            "related": [],
            "timing": f"answered earlier · shown in {time.perf_counter() - started:.2f} s",
        }
    )
    state.messages[-1]["related"] = offer_related(builder, stored)
    return True


@st.fragment(run_every=2.0)
def bank_progress(builder: Builder) -> None:
    """While a bank is being built (re-drawn every 2 s): which article, how far; when it is
    done and the chat is still empty, the page runs again to show the new starters."""
    status = builder.status()
    state = st.session_state
    if status is None:
        if state.get("bank-building"):
            state["bank-building"] = False
            if not state.get("messages"):
                st.rerun(scope="app")
        return
    state["bank-building"] = True
    source, done, total, note, waiting = status
    more = f" ({waiting} more waiting)" if waiting else ""
    with st.status(f"Writing questions for {source}{more}", state="running"):
        st.progress(min(done / max(total, 1), 1.0), text=note)


def add_article(bot: Chatbot, path: Path) -> None:
    """Ingest one saved file (an HTML page: its extracted text) with a progress bar."""
    if isinstance(bot, RemoteChatbot):  # CHATBOT_API_URL: the server saves and ingests it
        bot.add(path)
        return
    (article,) = load_all([path], bot.settings.root)
    bar = st.progress(0.0, text=f"Ingesting {path.name}…")
    total = max(len(sentences_of(split_article(article))), 1)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        bar.progress(min(done[0] / total, 1.0))

    status = bot.store.upsert(article, progress=step)
    bar.progress(1.0, text=f"{path.name}: {status}")
    st.session_state.new_article = article.source  # its question bank is built next


def article_list(bot: Chatbot) -> None:
    """Each stored article by title (its source on hover), with a remove button."""
    for a in sorted(bot.store.catalog(), key=lambda a: (a.title.casefold(), a.source)):
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.markdown(escape_markdown(a.title or a.source), help=a.source)
        left.caption(" · ".join(x for x in (a.date, f"{a.sentences} sentences") if x))
        if right.button(
            "",
            icon=":material/close:",
            key=f"remove-{a.source}",
            help=f"Remove {a.source} from the store",
        ):
            try:
                bot.remove(a.source)
                st.rerun()
            except ChatbotError as exc:
                st.error(str(exc))


def scope_picker(bot: Chatbot) -> None:
    """Limit the chat to one article, or ask all of them; a new scope starts a new chat."""
    articles = {a.source: a.title or a.source for a in bot.store.catalog()}
    state = st.session_state
    if state.get("scope") not in articles:
        state.scope = None
    choice = st.selectbox(
        "Ask about",
        [None, *articles],
        format_func=lambda s: "All articles" if s is None else articles[s],
        index=0 if state.scope is None else 1 + list(articles).index(state.scope),
        key="scope-picker",
    )
    if choice != state.scope:
        state.scope, state.messages = choice, []
        if choice is not None:  # load (or read, the first time) its saved prompt state now
            with st.spinner(f"Reading {articles[choice]}…"):
                bot.warm(choice)
        st.rerun()
    if state.scope is not None:
        state.scope_title = articles[state.scope]


def sidebar(bot: Chatbot) -> None:
    with st.sidebar:
        scope_picker(bot)
        st.header("Articles")
        article_list(bot)
        folder = bot.settings.seeds_dir / "uploads"
        upload = st.file_uploader(
            "Add an article (.txt, .md or .html)", type=["txt", "md", "html", "htm"], key="upload"
        )
        if upload is not None and st.session_state.get("ingested") != upload.file_id:
            try:
                add_article(bot, save_upload(folder, upload.name, upload.getvalue()))
                st.session_state.ingested = upload.file_id
                st.rerun()
            except ChatbotError as exc:
                st.error(str(exc))
        with st.form("paste", clear_on_submit=True, border=False):
            title = st.text_input("Title (optional)", key="paste-title")
            text = st.text_area("Or paste an article", height=120, key="paste-text")
            if st.form_submit_button("Add pasted text"):
                try:
                    add_article(bot, save_pasted(folder, text, title))
                    st.rerun()
                except ChatbotError as exc:
                    st.error(str(exc))
        st.divider()
        st.caption(f"Model: {bot.llm.name}")
        store = getattr(bot, "url", "") or bot.settings.chroma_url or bot.settings.store_dir
        st.caption(f"Store: {store} ({bot.store.count()} sentences)")
        if st.button("New chat", icon=":material/edit_square:"):
            st.session_state.messages = []
            st.rerun()


def main() -> None:
    # an emoji icon, not a material one: that one is fetched from fonts.gstatic.com
    st.set_page_config(page_title="News chatbot", page_icon="📰")
    started = time.perf_counter()
    st.title("Ask the articles")
    try:
        bot, builder = load()
    except ChatbotError as exc:
        st.error(f"The chatbot could not start: {exc}")
        st.stop()
    state = st.session_state
    state.setdefault("messages", [])
    state.settings = bot.settings
    sidebar(bot)
    if state.get("scope"):
        st.caption(f"Asking one article: {escape_markdown(state.scope_title)}")
    state.pop("rerun_app", None)  # this is the whole page's run
    if builder is not None:
        queue_banks(bot, builder)
    state.tail_from, slot = len(state.messages), None
    for i, message in enumerate(state.messages):
        slot = render(message, i, related=i < state.tail_from - 1)
    chat_tail(builder, slot)
    question = st.chat_input("Ask me anything") or state.pop("pending", None)
    if question:
        try:
            ask(bot, builder, question, started)
        except ChatbotError as exc:
            st.error(str(exc))
    if builder is not None and (builder.busy() or state.get("bank-building")):
        bank_progress(builder)  # last: its rerun must not cut a question's run short


def queue_banks(bot: Chatbot, builder: Builder) -> None:
    """Which articles want a bank now: a new upload; in a small store every article, in a store
    of many the one the chat is limited to (viewed). Articles asked about: `offer_related`."""
    state = st.session_state
    wanted = [state.pop("new_article")] if state.get("new_article") else []
    listed = [a.source for a in bot.store.catalog()]
    wanted += listed if len(listed) <= MANY else [state.get("scope")] if state.get("scope") else []
    builder.want([s for s in wanted if s in listed])


try:
    main()
except Exception as exc:  # the last net: one friendly line, never a stack trace
    st.error(f"Something went wrong: {type(exc).__name__}: {exc}")
