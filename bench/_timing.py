"""Timing helper shared by the benchmarks: median and spread of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_ms(fn: Callable[[], object], repeats: int = 20, warmup: int = 2) -> dict[str, float]:
    """Run ``fn`` warmup + repeats times; milliseconds as median, min and max of the repeats."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples)}
