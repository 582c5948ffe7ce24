"""Shared pieces of the benchmarks: peers found on this machine, timing, reporting."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def measure(fn: Callable[[], None], n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "n": len(s),
        "median_ms": statistics.median(s) * 1e3,
        "mean_ms": statistics.fmean(s) * 1e3,
        "p10_ms": s[len(s) // 10] * 1e3,
        "p90_ms": s[(len(s) * 9) // 10] * 1e3,
    }


def report(name: str, rows: dict[str, dict[str, float]], base: str, notes: list[str]) -> str:
    lines = [f"# {name} — {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cpus)", ""]
    lines.append(f"{'case':<34}{'median ms':>11}{'mean ms':>10}{'p90 ms':>9}{'ratio':>8}")
    b = rows.get(base, {}).get("median_ms")
    for k, r in rows.items():
        ratio = f"{r['median_ms'] / b:.2f}" if b else "-"
        lines.append(f"{k:<34}{r['median_ms']:>11.1f}{r['mean_ms']:>10.1f}{r['p90_ms']:>9.1f}{ratio:>8}")
    lines.append(f"\nratio = median / median of '{base}'")
    lines += notes
    text = "\n".join(lines) + "\n"
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return text
