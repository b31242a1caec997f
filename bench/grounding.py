"""What the grounding check costs per answer, beside the answer it checks.

Splits the articles of a folder (default: the shared SQuAD set's six articles, else seeds/) into
sentences as ingest does, then times `grounding.check` for an answer citing each sentence in turn,
asked a question built from that sentence's words, every other one with a name no article uses
(so both outcomes run).
Prints and writes bench/results/grounding.json.

    .venv/bin/python bench/grounding.py [FOLDER]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common import pct, save

from chatbot.answer import Answer, Citation
from chatbot.articles import Article
from chatbot.grounding import check
from chatbot.splitting import sentences_of, split_article

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval-squad" / "articles"


def main() -> None:
    folder = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED if SHARED.is_dir() else ROOT / "seeds"
    )
    corpus = []
    for path in sorted(folder.glob("*.txt")):
        corpus += sentences_of(split_article(Article(path.name, path.read_text(encoding="utf-8"))))
    times, refused = [], 0
    for i, s in enumerate(corpus):
        swapped = " and Zanzibar" if i % 2 else ""
        question = f"What did {' '.join(s.text.split()[:8])}{swapped} do?"
        answer = Answer("An answer [1].", [Citation(s.source, s.start, s.end, s.text)], False)
        t0 = time.perf_counter()
        refused += check(answer, question, [s], corpus).refused
        times.append(time.perf_counter() - t0)
    save(
        "grounding",
        {
            "folder": str(folder),
            "sentences": len(corpus),
            "checks": len(times),
            "refused": refused,
            "check_ms_p50": round(1000 * pct(times, 50), 2),
            "check_ms_p95": round(1000 * pct(times, 95), 2),
        },
    )


if __name__ == "__main__":
    main()
