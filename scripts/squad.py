"""Run the shared SQuAD 2.0 set (../shared/eval-squad) on one split, ours and the baseline, and
score it by the set's own rules. The data stays where it is: the split's questions and gold are
written to a scratch folder outside the repository, never into it.

Splits: `tune` (the three articles changes may be tuned on), `held` (the three held back: the
figure that counts) and `all`.

    .venv/bin/python scripts/squad.py tune [--baseline] [--replay RESULTS] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval-squad"
SPLITS = {
    "tune": ["imperialism.txt", "islamism.txt", "normans.txt"],
    "held": ["huguenot.txt", "yuan-dynasty.txt", "harvard-university.txt"],
}
SPLITS["all"] = SPLITS["tune"] + SPLITS["held"]


def write_split(split: str, out: Path) -> tuple[Path, Path]:
    """The split's questions and gold lines, in `out`."""
    gold = [json.loads(x) for x in (SQUAD / "gold.jsonl").read_text().splitlines() if x.strip()]
    keep = {g["id"] for g in gold if g["article"] in SPLITS[split]}
    questions = [x for x in (SQUAD / "questions.jsonl").read_text().splitlines() if x.strip()]
    out.mkdir(parents=True, exist_ok=True)
    q, g = out / f"{split}-questions.jsonl", out / f"{split}-gold.jsonl"
    q.write_text("\n".join(x for x in questions if json.loads(x)["id"] in keep) + "\n")
    g.write_text("\n".join(json.dumps(x) for x in gold if x["id"] in keep) + "\n")
    return q, g


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "split",
        choices=sorted(SPLITS),
        help="tune: the articles changes may be tuned on; held: the ones held back; all: both",
    )
    p.add_argument("--baseline", action="store_true", help="also run the naive RAG baseline")
    p.add_argument("--replay", type=Path, help="re-verify the replies stored in RESULTS")
    p.add_argument(
        "--out",
        type=Path,
        default=Path.home() / ".cache" / "chatbot" / "squad",
        help="scratch folder for the split and its results (default: ~/.cache/chatbot/squad)",
    )
    p.add_argument("--tag", default="", help="a name for this run's results file")
    args = p.parse_args()
    if not SQUAD.is_dir():
        sys.exit(f"error: the shared set is not at {SQUAD}")
    questions, gold = write_split(args.split, args.out)
    results = args.out / f"{args.split}{'-' + args.tag if args.tag else ''}.jsonl"
    cmd = [sys.executable, "-m", "chatbot", "eval", str(questions)]
    cmd += ["--articles", str(SQUAD / "articles"), "--out", str(results)]
    if args.baseline:
        cmd.append("--baseline")
    if args.replay:
        cmd += ["--replay", str(args.replay)]
        results = results.with_name(args.replay.stem + ".replay.jsonl")
        cmd[cmd.index("--out") + 1] = str(results)
    subprocess.run(cmd, check=True, cwd=ROOT)
    scored = {"ours": results, "baseline": results.with_name(results.stem + ".baseline.jsonl")}
    for name, path in scored.items():
        if path.exists():
            print(f"== {name}: {path}")
            subprocess.run(
                [sys.executable, str(SQUAD / "score_squad.py"), str(path), "--gold", str(gold)],
                check=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
