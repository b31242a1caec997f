"""A click on a suggested question: time until its stored answer is on screen, headless Chromium.

`streamlit run streamlit_app.py` on a temporary root holding the seed, with the fake model (so the
figure is the UI's own cost, not the model's) and the configured embedder; the seed's question
bank is built first by the tests' question-writing fake model. Each trial starts a new chat, types
a question, waits for its answer's related questions, clicks the first one and times until the
stored answer ("answered earlier") is shown; then clicks on down the chain of related questions
under each stored answer, as a reader exploring would. Prints p50/p90 of both kinds (and any click
whose answer did not show within 30 s, with what the page showed) and writes
bench/results/stored_click.json.

    .venv/bin/python bench/stored_click.py [--trials 12] [--chain 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import pct, save

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # conftest: streamlit_app(), QuestionWriter

from chatbot import Chatbot, Settings  # noqa: E402
from chatbot.questions import QuestionBank  # noqa: E402

from conftest import SEED, QuestionWriter, app_root, streamlit_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SHOWN = """n => { const m = document.querySelectorAll('[data-testid="stChatMessage"]');
                  return m.length >= n && m[n - 1].innerText.includes('answered earlier'); }"""


def prepare(root: Path) -> dict[str, str]:
    env = app_root(root, CHATBOT_LLM="fake")
    os.environ.update({k: env[k] for k in ("CHATBOT_ROOT", "CHATBOT_PROMPTS_DIR", "CHATBOT_LLM")})
    bot = Chatbot.from_settings(Settings.from_env(), llm=QuestionWriter())
    QuestionBank(bot).get(SEED)
    return env


def drive(url: str, trials: int, chain: int) -> tuple[list[float], list[float], list[dict]]:
    """Click times after a typed answer and under stored answers, and the clicks whose stored
    answer did not show within 30 s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    first, further, missed = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(url)
        box = page.get_by_placeholder("Ask me anything")
        box.wait_for(timeout=180_000)
        page.get_by_text("Try one of these").wait_for(timeout=180_000)
        for _ in range(trials):
            box.fill("What changed in the revised draft?")
            box.press("Enter")
            page.locator(".st-key-m1-rel-0 button").wait_for(timeout=60_000)
            messages, key = 2, "m1-rel-0"
            for step in range(1 + chain):
                button = page.locator(f".st-key-{key} button")
                if step and button.count() == 0:
                    break  # no related question left to click
                button.click()
                clicked = time.perf_counter()
                try:
                    page.wait_for_function(SHOWN, arg=messages + 2, timeout=30_000, polling=5)
                except PlaywrightTimeout:  # counted, and what the page shows kept
                    chat = page.locator('[data-testid="stChatMessage"]')
                    shown = [chat.nth(i).inner_text()[:120] for i in range(chat.count())]
                    missed.append({"key": key, "step": step, "messages": shown})
                    break
                (further if step else first).append(time.perf_counter() - clicked)
                messages += 2
                key = f"m{messages - 1}-rel-0"
                page.wait_for_timeout(300)  # the run finishes (its related buttons drawn)
            page.get_by_role("button", name="New chat").click()
            page.get_by_text("Try one of these").wait_for(timeout=30_000)
        browser.close()
    return first, further, missed


def figures(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(statistics.median(values), 3),
        "p90_s": round(pct(values, 90), 3),
        "max_s": round(max(values), 3),
        "all_s": [round(v, 3) for v in values],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=12, help="new chats, each with a first click")
    p.add_argument("--chain", type=int, default=3, help="further clicks down related questions")
    p.add_argument(
        "--name", default="stored_click", help="results file name (bench/results/NAME.json)"
    )
    args = p.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-click-") as tmp:
        root = Path(tmp)
        env = prepare(root)
        with streamlit_app(root, env) as url:
            first, further, missed = drive(url, args.trials, args.chain)
    save(
        args.name,
        {
            "model": "fake",
            "embedder": Settings.from_env().embedder,
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "first_click_after_a_typed_answer": figures(first),
            "click_under_a_stored_answer": figures(further),
            "all_clicks": figures(first + further),
            "not_shown_in_30_s": missed,
        },
    )


if __name__ == "__main__":
    main()
