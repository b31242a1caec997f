"""Command line: ingest, articles, ask, chat, eval, serve. User errors become one line, exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .answer import Answer
from .errors import ChatbotError
from .settings import Settings

EXAMPLES = """examples:
  python -m chatbot ingest                      # ingest seeds/
  python -m chatbot ingest my-article.txt page.html notes/
  python -m chatbot articles list --json
  python -m chatbot articles remove seeds/uploads/harbour.txt
  python -m chatbot ask "What changed in the revised draft?" --json
  python -m chatbot ask "Who met in Brussels?" --article seeds/nato-ministers-peace-plan.txt
  python -m chatbot chat
  python -m chatbot questions --article nato-ministers-peace-plan.txt   # its question bank
  python -m chatbot eval eval/seed.jsonl --report report.md
  python -m chatbot serve --port 8000           # HTTP: /ask, /ask/stream, /v1/chat/completions

configuration (environment): CHATBOT_LLM=qwen|smollm2|gguf|openai|fake, CHATBOT_GGUF=path,
  OPENAI_BASE_URL + CHATBOT_OPENAI_MODEL (+ OPENAI_API_KEY), CHATBOT_STORE_DIR,
  CHATBOT_CHROMA_URL=http://host:port (a Chroma server), CHATBOT_EMBEDDER=minilm|minilm-torch|hash
  serve: CHATBOT_API_KEY (bearer key), CHATBOT_SERVE_QUEUE (waiting requests, 4),
  CHATBOT_SERVE_TIMEOUT (seconds a request, 120)
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m chatbot",
        description="Ask questions of news articles; every claim cites the exact words of a source.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ing = sub.add_parser(
        "ingest", help="add .txt/.md/.html articles (files or folders) to the store"
    )
    ing.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (default: seeds/, without the articles 'articles remove' took "
        "out; one named here goes in even if it was removed)",
    )
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    chat = sub.add_parser("chat", help="an interactive conversation (follow-ups use the history)")
    for cmd in (ask, chat):
        cmd.add_argument(
            "--article",
            metavar="SOURCE",
            help="answer from this article only: its source as `articles list` shows it, "
            "or the end of it (harbour.txt)",
        )
    arts = sub.add_parser("articles", help="list or remove stored articles")
    arts_sub = arts.add_subparsers(dest="action", required=True, metavar="ACTION")
    lst = arts_sub.add_parser("list", help="source, date, sentences and title of each article")
    lst.add_argument("--json", action="store_true", help="print the list as JSON")
    rm = arts_sub.add_parser("remove", help="drop one article's records and saved model states")
    rm.add_argument("source", help="the article's source as `articles list` shows it")
    sub.add_parser("prepare", help="assemble the default model and ingest seeds/ (used by set-up)")
    ev = sub.add_parser("eval", help="run a question set and score it")
    ev.add_argument("file", type=Path, nargs="?", help="questions, one JSON object a line")
    ev.add_argument(
        "--out", type=Path, help="results file (resumed when it exists; a replay writes it afresh)"
    )
    ev.add_argument("--report", type=Path, help="write a markdown report with charts")
    ev.add_argument("--baseline", action="store_true", help="also run the naive RAG baseline")
    ev.add_argument(
        "--articles",
        type=Path,
        metavar="DIR",
        help="the set's own articles: answered from a store of its own, built from DIR "
        "(the project's store is left alone); a score_*.py beside FILE scores the results",
    )
    ev.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two results")
    ev.add_argument(
        "--replay",
        type=Path,
        metavar="RESULTS",
        help="re-verify the model replies stored in RESULTS with the current code (no model run)",
    )
    qs = sub.add_parser("questions", help="list each article's question bank (built if needed)")
    qs.add_argument("--article", metavar="SOURCE", help="only this article (as for ask)")
    qs.add_argument("--json", action="store_true", help="print the banks as JSON")
    srv = sub.add_parser("serve", help="answer over HTTP (own API and OpenAI-compatible)")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    srv.add_argument("--port", type=int, default=8000, help="port (8000)")
    return p


def render(answer: Answer) -> str:
    lines = [answer.text]
    for i, c in enumerate(answer.citations, 1):
        lines.append(f"  [{i}] {c.source}:{c.start}-{c.end}  “{c.quote}”")
    return "\n".join(lines)


def _bot(settings: Settings):
    """The chatbot, its model loading while Chroma and LangChain import and the store opens
    (llama.cpp's loader runs outside the interpreter lock): ~1 s off a cold start."""
    from .models import make_llm

    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(make_llm, settings)
        from .chain import Chatbot
        from .embeddings import make_embedder
        from .store import ArticleStore

        try:
            store = ArticleStore(settings, make_embedder(settings))
        finally:
            llm = loading.result()  # its error first: the model is what the user must fix first
        bot = Chatbot.from_settings(settings, llm=llm, store=store)
    if bot.store.count() == 0:
        print("note: the store is empty; run: python -m chatbot ingest", file=sys.stderr)
    return bot


def _chat(settings: Settings, article: str | None) -> int:
    bot = _bot(settings)
    article = bot.find_article(article)
    history: list[tuple[str, str]] = []
    print("Ask me anything about the articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            q = input("> ").strip()
        except EOFError:
            return 0
        if not q:
            return 0
        try:
            answer = bot.ask(q, history, article)
        except ChatbotError as exc:
            print(f"error: {exc}")
            continue
        print(render(answer))
        history += [("user", q), ("assistant", answer.text)]


def _articles(args: argparse.Namespace, settings: Settings) -> int:
    from .embeddings import make_embedder
    from .ingest import remove
    from .store import ArticleStore

    store = ArticleStore(settings, make_embedder(settings))
    if args.action == "remove":
        source = remove(store, settings, args.source)
        print(f"removed   {source}")
        return 0
    listed = store.catalog()
    if args.json:
        print(json.dumps([a.to_dict() for a in listed], ensure_ascii=False, indent=2))
        return 0
    width = max((len(a.source) for a in listed), default=6)
    print(f"{'source':{width}}  {'date':10}  {'sentences':>9}  title")
    for a in listed:
        print(f"{a.source:{width}}  {a.date or '-':10}  {a.sentences:>9}  {a.title}")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "ingest":
        from .chain import Chatbot

        paths = args.paths or [settings.seeds_dir]
        bot = Chatbot.from_settings(settings.with_(llm="fake"))
        done = bot.ingest(paths, progress=not args.quiet, skip_removed=not args.paths)
        for source, status in done:
            note = " (removed earlier; name it to ingest it again)" if status == "skipped" else ""
            print(f"{status:9} {source}{note}")
        print(f"store: {bot.store.count()} sentences in {len(bot.store.articles())} articles")
        return 0
    if args.command == "articles":
        return _articles(args, settings)
    if args.command == "prepare":
        if settings.llm == "qwen":
            from .weights import assemble_qwen

            print(f"model: {assemble_qwen(settings.cache_dir)}")
        from .embeddings import prepare as prepare_embedder

        print(f"embedder: {prepare_embedder(settings)}")
        return run(argparse.Namespace(command="ingest", paths=[], quiet=True), settings)
    if args.command == "ask":
        answer = _bot(settings).ask(args.question, article=args.article)
        print(
            json.dumps(answer.to_dict(), ensure_ascii=False, indent=2)
            if args.json
            else render(answer)
        )
        return 0
    if args.command == "chat":
        return _chat(settings, args.article)
    if args.command == "eval":
        from .evaluation.runner import run_cli

        return run_cli(args, settings)
    if args.command == "questions":
        from .questions import run_cli as questions

        return questions(_bot(settings), args.article, args.json)
    if args.command == "serve":
        from .server import serve

        return serve(_bot(settings), settings, args.host, args.port)
    raise AssertionError(args.command)  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    try:
        return run(args, Settings.from_env())
    except ChatbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
