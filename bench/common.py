"""Helpers shared by the benchmarks: percentiles, peak RSS, writing the figures."""

from __future__ import annotations

import json
import platform
import resource
import statistics
import time
from pathlib import Path

from filelock import FileLock

RESULTS = Path(__file__).resolve().parent / "results"


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    figures = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.machine(), **figures}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    print(f"written: {path}")
    return path


def record(section: str, figures: dict) -> Path:
    """Merge one robustness figure set into results/robustness.json under `section` (issue 13:
    the tests and the benchmarks each report their figures there), and print it."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "robustness.json"
    with FileLock(path.with_suffix(".lock")):  # tests finishing together each keep their section
        data = json.loads(path.read_text()) if path.exists() else {}
        data[section] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)
    print(f"robustness[{section}]: {json.dumps(figures)}")
    return path
