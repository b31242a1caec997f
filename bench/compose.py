"""Compose fictional news articles (deterministic) to grow a store past a few real ones.

Each article is ~1,200 characters of local-news prose: a council, a company, a university or a
court, with names, numbers, dates and quotes drawn from small lists, so the articles look alike
the way a newsroom's archive does and retrieval has near misses to get past.

    .venv/bin/python bench/compose.py OUT_DIR [--n 93]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

TOWNS = [
    "Alder",
    "Brookfield",
    "Carrow",
    "Dunmore",
    "Elsworth",
    "Fairhaven",
    "Glenmoor",
    "Harlow",
    "Ivydale",
    "Kestrel",
]
PEOPLE = [
    "Maria Lind", "Jonas Weber", "Aisha Khan", "Peter Novak", "Lucia Ferreira", "Omar Haddad",
    "Ingrid Berg", "Samuel Okafor", "Chen Wei", "Nora Quinn", "Pavel Dusek", "Elena Rossi",
]  # fmt: skip
BODIES = ["town council", "regional court", "university senate", "port authority", "water board"]
TOPICS = [
    ("a new tram line", "tram", "the station"),
    ("a flood barrier", "barrier", "the river"),
    ("a school merger", "merger", "the two schools"),
    ("a hospital wing", "wing", "the hospital"),
    ("a wind farm", "turbines", "the coast"),
    ("a housing plan", "homes", "the old mill"),
    ("a library renovation", "library", "the square"),
    ("a ferry contract", "ferries", "the harbour"),
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
]


def article(rng: random.Random, n: int) -> str:
    town, body = rng.choice(TOWNS), rng.choice(BODIES)
    what, short, where = rng.choice(TOPICS)
    a, b, c = rng.sample(PEOPLE, 3)
    cost, old, votes = rng.randint(2, 90), rng.randint(1, 60), rng.randint(5, 12)
    year, month = rng.randint(2019, 2027), rng.choice(MONTHS)
    lines = [
        f"{town} {body} backs {what}",
        "",
        f"The {town} {body} voted {votes} to {rng.randint(0, 4)} on {rng.choice(MONTHS)} "
        f"{rng.randint(1, 28)} to approve {what} near {where}.",
        f"The project is expected to cost {cost} million euros, against {old} million euros "
        f"for the plan rejected in {year - 1}.",
        f"{a}, who chairs the {body}, said the {short} would “change daily life in {town}”.",
        f"{b} voted against, warning that the cost could rise by a further "
        f"{rng.randint(5, 40)} percent.",
        "",
        f"Work is due to start in {month} {year}, and the first phase should be finished "
        f"within {rng.randint(12, 48)} months.",
        f"The {body} will hold {rng.randint(2, 9)} public meetings before building begins.",
        f"Residents near {where} have collected {rng.randint(300, 9000)} signatures for "
        f"changes to the route.",
        f"{c}, a local engineer, said the {short} was “{rng.choice(['overdue', 'too costly', 'a fair compromise', 'badly planned'])}”.",
        "",
        "The plan approved on the day includes:",
        f"  - {rng.randint(2, 12)} new jobs in maintenance",
        f"  - A review of the budget every {rng.randint(2, 6)} months",
        f"  - A public report on progress before {month} {year + 1}",
        "",
        f"Opposition groups said they would appeal to the regional authority in {year}.",
        f"A final decision on funding from the national government is expected by "
        f"{rng.choice(MONTHS)} {year + 1}.",
        f"It is the {rng.choice(['second', 'third', 'fourth'])} time since {year - rng.randint(3, 9)} "
        f"that the {body} has voted on {what}.",
        "",
        f"(Archive article {n:03d}.)",
        "",
    ]
    return "\n".join(lines)


def compose(out: Path, n: int, seed: int = 7) -> list[Path]:
    """Write `n` articles into `out` (the same ones every time) and return their paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = out / f"archive-{i:03d}.txt"
        path.write_text(article(rng, i), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=93)
    args = ap.parse_args()
    print(f"{len(compose(args.out, args.n))} articles in {args.out}")
