"""The markdown report (tables per category, failures, PNG charts) and run-to-run comparison."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .scoring import summarize

RATES = [
    "answer_accuracy",
    "refusal_accuracy",
    "citation_valid",
    "gold_recall",
    "gold_precision",
    "support_recall",
    "support_precision",
    "retrieval_recall",
]


METRICS = [
    ("answer_accuracy", "answer accuracy", "%"),
    ("refusal_accuracy", "refusal accuracy", "%"),
    ("false_refusal_rate", "false refusals", "%"),
    ("citation_valid", "citation validity", "%"),
    ("gold_recall", "citation recall (gold)", "%"),
    ("gold_precision", "citation precision (gold)", "%"),
    ("support_recall", "citation recall (support)", "%"),
    ("support_precision", "citation precision (support)", "%"),
    ("retrieval_recall", "retrieval recall @2,000 chars", "%"),
    ("ttft_p50", "first token p50", "s"),
    ("latency_p50", "answer p50", "s"),
    ("latency_p95", "answer p95", "s"),
]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.0f}%" if unit == "%" else f"{value:.2f} s"


def _bar_chart(path: Path, summaries: dict[str, dict]) -> None:
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(summaries)
    for i, (name, s) in enumerate(summaries.items()):
        vals = [100 * (s[k] or 0) for k in RATES]
        ax.bar([x + i * width for x in range(len(RATES))], vals, width, label=name)
    ax.set_xticks([x + width * (len(summaries) - 1) / 2 for x in range(len(RATES))])
    ax.set_xticklabels([k.replace("_", "\n") for k in RATES], fontsize=8)
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _latency_chart(path: Path, runs: dict[str, list[dict]]) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, rows in runs.items():
        ax.hist([r["latency_s"] for r in rows], bins=20, alpha=0.6, label=name)
    ax.set_xlabel("seconds per answer")
    ax.set_ylabel("questions")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(
    path: Path,
    runs: dict[str, list[dict]],
    summaries: dict[str, dict],
    set_scores: dict[str, str] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("")
    scores_png, latency_png = Path(f"{stem}-scores.png"), Path(f"{stem}-latency.png")
    _bar_chart(scores_png, summaries)
    _latency_chart(latency_png, runs)
    names = list(summaries)
    out = [
        "# Eval report",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for key, label, unit in METRICS:
        out.append(f"| {label} | " + " | ".join(fmt(summaries[n][key], unit) for n in names) + " |")
    out += ["", f"![scores]({scores_png.name})", "", f"![latency]({latency_png.name})", ""]
    for name, text in (set_scores or {}).items():
        lines = text.splitlines()
        out += [f"## The set's own scorer: {name}", "", f"**{lines[-1]}**" if lines else "", ""]
        out += [f"- {x}" for x in lines[:-1]] + [""]
    for name, rows in runs.items():
        out += [
            f"## By category: {name}",
            "",
            "| category | n | correct | refusals right | support recall | answer p50 |",
            "|---|---|---|---|---|---|",
        ]
        for cat in sorted({r["category"] for r in rows}):
            s = summarize([r for r in rows if r["category"] == cat])
            refusal_ok = [r["scores"].get("refusal_ok") for r in rows if r["category"] == cat]
            ok = [x for x in refusal_ok if x is not None]
            out.append(
                f"| {cat} | {s['n']} | {fmt(s['correct'], '%')} | "
                f"{fmt(sum(ok) / len(ok) if ok else None, '%')} | "
                f"{fmt(s['support_recall'], '%')} | {fmt(s['latency_p50'], 's')} |"
            )
        out.append("")
    for name, rows in runs.items():
        failures = [r for r in rows if r["scores"].get("correct") is False]
        out += [f"## Failures: {name} ({len(failures)})", ""]
        for r in failures:
            expected = (
                "a refusal" if r.get("expect_refusal") else "an answer with the required facts"
            )
            answer = r["answer"].replace("\n", " ")
            out.append(
                f"- **{r['id']}** ({r['category']}) {r['question']}  \n"
                f"  answer: {answer}  \n  expected: {expected}"
            )
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


def compare(a: list[dict], b: list[dict]) -> str:
    """What got better and what regressed from run A to run B."""
    sa, sb = summarize(a), summarize(b)
    lines = [f"{'metric':30}{'A':>10}{'B':>10}"]
    for key, label, unit in METRICS:
        lines.append(f"{label:30}{fmt(sa[key], unit):>10}{fmt(sb[key], unit):>10}")
    before = {r["id"]: r["scores"].get("correct") for r in a}
    better = [r["id"] for r in b if r["scores"].get("correct") and before.get(r["id"]) is False]
    worse = [r["id"] for r in b if r["scores"].get("correct") is False and before.get(r["id"])]
    lines += [
        "",
        f"better in B ({len(better)}): {', '.join(better) or '–'}",
        f"regressed in B ({len(worse)}): {', '.join(worse) or '–'}",
    ]
    return "\n".join(lines)
