"""Escaping (issue 13): article text and model output are shown as text, never as markup.

An article full of markup (<script>, <img src=http://…>, markdown images and links, HTML
comments, an iframe, a javascript: link, inline styles) is ingested; the real Streamlit page is
driven in headless Chromium on the fake model, which echoes the article's most relevant
sentence, markup and all, into the streamed and the final answer. No script may run (a flag the
injected scripts would set on `window`, and no dialog), no request may leave 127.0.0.1 (every
request is counted), and the markup must be on the page as visible text. The API side: the
answer's quotes come back exact, as JSON, never as a page a browser would render.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import REPO, cli_env, record, streamlit_app

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"

MARKUP = """Harbour <b>news</b> <img src=http://attacker.example/title.png onerror="window.__pwned='title'"> ![t](http://attacker.example/title-md.png)

The harbour board approved the ferry plan <script>window.__pwned='script';alert(1)</script> on Monday.
The ferry plan costs ![chart](http://attacker.example/chart.png) 5 million euros, see [the plan](http://attacker.example/plan).
<!-- a comment <img src=http://attacker.example/comment.png> --> The ferry will run every hour from the pier.
The ferry stops at <a href="javascript:window.__pwned='link'">the old pier</a> <iframe src="http://attacker.example/frame"></iframe> near the market.
The ticket office opens <img src="http://attacker.example/pixel.gif" onload="window.__pwned='img'"> <style>body{background:url(http://attacker.example/bg.png)}</style> at seven.
"""
QUESTIONS = [
    "What did the harbour board approve for the ferry plan?",
    "How much does the ferry plan cost in euros?",
    "When does the ticket office open?",
]
LOCAL = {"127.0.0.1", "localhost", ""}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: scripts/test.sh installs it")
    root = tmp_path_factory.mktemp("escaping")
    (root / "seeds").mkdir()
    (root / "seeds" / "markup.txt").write_text(MARKUP, encoding="utf-8")
    env = cli_env(root, {"HF_HUB_OFFLINE": "1"})
    subprocess.run(
        [sys.executable, "-m", "chatbot", "ingest", "--quiet"], env=env, check=True, cwd=root
    )
    with streamlit_app(root, env) as url:
        yield url, root


def test_markup_in_articles_and_answers_is_shown_as_text_in_chromium(app):
    from playwright.sync_api import sync_playwright

    url, _ = app
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            pwned, shown = _drive(page, url)
        finally:
            page.screenshot(path=str(REPO / "tests" / "artifacts" / "escaping.png"), full_page=True)
            browser.close()
    outside = [
        u
        for u in requests
        if urlparse(u).hostname not in LOCAL and urlparse(u).scheme in ("http", "https")
    ]
    figures = {
        "questions": len(QUESTIONS),
        "requests": len(requests),
        "non_local_requests": len(outside),
        "scripts_run": int(pwned is not None) + len(dialogs),
        "markup_shown_as_text": shown,
    }
    record("escaping_chromium", figures)
    assert outside == [], outside
    assert pwned is None and dialogs == [], (pwned, dialogs)
    assert shown["script"] and shown["image"], shown


def _drive(page, url: str):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    box = page.get_by_placeholder("Ask me anything")
    box.wait_for(timeout=120_000)
    page.get_by_text("Every answer cites").first.wait_for(timeout=120_000)
    for i, q in enumerate(QUESTIONS):
        for _ in range(5):  # a rerun (the question bank finishing) can swallow a question
            box.fill(q)
            box.press("Enter")
            try:
                page.wait_for_function(  # the answer is in when its timing caption is
                    "n => document.body.innerText.split('· answer ').length - 1 >= n",
                    arg=i + 1,
                    timeout=20_000,
                )
                break
            except PlaywrightTimeout:
                continue
    chips = page.locator('[data-testid="stPopover"] button')
    chips.first.wait_for(timeout=60_000)
    for j in range(chips.count()):
        chips.nth(j).click()
        page.locator("mark.cited.active").first.wait_for(timeout=30_000)
        page.keyboard.press("Escape")
    time.sleep(1.0)  # give any injected image or script the time to load or run
    text = page.locator("body").inner_text()
    shown = {"script": "<script>" in text, "image": "attacker.example" in text}
    return page.evaluate("() => window.__pwned ?? null"), shown


def test_the_api_returns_markup_as_json_text(tmp_path):
    """`serve` on the fake model: the answer quotes the markup exactly, as application/json."""
    import httpx
    from test_server import serving

    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "markup.txt").write_text(MARKUP, encoding="utf-8")
    with serving(tmp_path) as base:
        r = httpx.post(f"{base}/ask", json={"question": QUESTIONS[0]}, timeout=60)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["citations"], body
    for c in body["citations"]:
        assert MARKUP[c["start"] : c["end"]] == c["quote"]
    assert any("<script>" in c["quote"] for c in body["citations"]), body
