"""Helpers shared by the benchmarks (and the tests that start servers): percentiles, peak RSS,
writing the figures, a free port, a server process run until its health URL answers."""

from __future__ import annotations

import json
import platform
import resource
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    cmd: list[str], health: str, log: Path, env: dict | None = None, timeout_s: float = 90
) -> Iterator[subprocess.Popen]:
    """Run `cmd` (output to `log`, in `log`'s folder) until the block ends; enter once `health`
    answers 200. A process that exits or stays silent past `timeout_s` raises RuntimeError with
    the end of its log."""
    out = log.open("w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:4]} did not answer {health} in {timeout_s:.0f} s")
            time.sleep(0.25)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
