"""The real page in headless Chromium: `streamlit run` on 127.0.0.1 with the default model, ask,
click a citation, check that the highlighted text is exactly the cited span; save a screenshot.
The seed's question bank is built in the background as the page opens (4 questions, to keep the
test short): starters, related questions under an answer, a click showing the stored answer."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from conftest import REPO, SEED, app_root, streamlit_app

pytestmark = [pytest.mark.slow, pytest.mark.default_model]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: scripts/test.sh installs it")
    root = tmp_path_factory.mktemp("browser")
    env = app_root(root, CHATBOT_BANK_QUESTIONS="4")
    with streamlit_app(root, env) as url:
        yield url, root


def test_ask_click_citation_and_see_the_exact_span_highlighted(server):
    from playwright.sync_api import sync_playwright

    url, root = server
    text = (root / SEED).read_text(encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            _drive(page, url, text)
        finally:
            page.screenshot(path=str(ARTIFACTS / "browser-citation.png"), full_page=True)
            browser.close()


def _drive(page, url: str, text: str) -> None:
    page.goto(url)
    box = page.get_by_placeholder("Ask me anything")
    box.wait_for(timeout=180_000)
    # model and store loaded, the seed's question bank built (~30 s on an idle machine)
    page.get_by_text("Try one of these").wait_for(timeout=600_000)
    box.fill("What changed in the revised draft?")
    box.press("Enter")
    pressed = time.perf_counter()
    assistant = page.locator('[data-testid="stChatMessage"]').nth(1)
    assistant.wait_for(timeout=180_000)
    first_text = page.wait_for_function(
        """() => { const m = document.querySelectorAll('[data-testid="stChatMessage"]');
                   const t = m.length > 1 && [...m[1].querySelectorAll(
                       '[data-testid="stMarkdownContainer"]')].find(  // not the spinner's text
                       e => !e.closest('[data-testid="stSpinner"]') && e.innerText.trim());
                   return t && t.innerText; }""",
        timeout=180_000,
        polling=20,
    ).json_value()
    on_screen = time.perf_counter() - pressed
    print("first text on screen:", repr(first_text[:80]))
    chip = page.locator('[data-testid="stPopover"] button').first
    chip.wait_for(timeout=180_000)
    timing = page.get_by_text(re.compile(r"first text .* \(model .*\)")).inner_text()
    chip.click()
    mark = page.locator("mark.cited.active").first
    mark.wait_for(timeout=30_000)
    caption = page.get_by_text(re.compile(r"characters \d+–\d+")).first.inner_text()
    start, end = map(int, re.search(r"characters (\d+)–(\d+)", caption).groups())
    assert mark.inner_text() == text[start:end]
    chain_ttft = float(re.search(r"\(model ([\d.]+) s\)", timing).group(1))
    figures = {
        "enter_to_first_text_on_screen_s": round(on_screen, 3),  # verified text, not the spinner
        "chain_ttft_s": chain_ttft,  # the model's first token
        "held_back_s": round(on_screen - chain_ttft, 3),  # verification, repairs and the UI
    }
    (ARTIFACTS / "ui-latency.json").write_text(json.dumps(figures, indent=2))
    print(figures)


def test_an_answer_offers_related_questions_and_a_click_shows_the_stored_one(server):
    from playwright.sync_api import sync_playwright

    url, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        try:
            _related(page, url)
        finally:
            browser.close()


def _related(page, url: str) -> None:
    page.goto(url)
    box = page.get_by_placeholder("Ask me anything")
    box.wait_for(timeout=180_000)
    page.get_by_text("Try one of these").wait_for(timeout=600_000)  # the bank is built
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0  # toolbarMode minimal
    assert page.locator(".st-key-start-0 button").count() == 1
    box.fill("What changed in the revised draft?")
    box.press("Enter")
    page.get_by_text("Explore related questions").wait_for(timeout=180_000)
    first = page.locator(".st-key-m1-rel-0 button")
    first.wait_for(timeout=30_000)
    label = first.inner_text().strip().splitlines()[-1]  # after the icon's ligature
    page.screenshot(path=str(ARTIFACTS / "browser-related.png"), full_page=True)
    first.click()
    clicked = time.perf_counter()
    page.wait_for_function(
        """() => { const m = document.querySelectorAll('[data-testid="stChatMessage"]');
                   return m.length >= 4 && m[3].innerText.includes('answered earlier'); }""",
        timeout=30_000,
        polling=10,
    )
    shown = time.perf_counter() - clicked
    messages = page.locator('[data-testid="stChatMessage"]')
    assert label in messages.nth(2).inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser-stored-answer.png"), full_page=True)
    figures = {"click_to_stored_answer_on_screen_s": round(shown, 3)}
    (ARTIFACTS / "ui-stored-answer.json").write_text(json.dumps(figures, indent=2))
    print(figures)
    # generous: one click on a shared machine is noise around the 0.3 s target; its p50 over many
    # clicks is bench/stored_click.py's figure
    assert shown < 3.0
