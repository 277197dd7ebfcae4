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


def pump(app, until, timeout: float = 60.0, nap: float = 0.0005) -> None:
    """Process Qt events until ``until()`` is true (TimeoutError after ``timeout`` s)."""
    t0 = time.perf_counter()
    while not until():
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the window did not get there in time")
        time.sleep(nap)
