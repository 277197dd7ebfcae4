"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of fn() in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def report(name: str, value: float, unit: str, target: str = "") -> None:
    line = f"{name:<58} {value:10.1f} {unit}"
    if target:
        line += f"   (target {target})"
    print(line, flush=True)
