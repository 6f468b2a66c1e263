"""Each law's loss on a 1e6-point (N, D) grid, in one vectorized call (issue 2; aim <= 50 ms)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import time_ms

from engine.analysis.registry import LAWS

AIM_MS = 50.0


def main() -> None:
    n = np.logspace(7, 12, 1000)[:, None]
    d = np.logspace(9, 14, 1000)[None, :]
    print(f"loss on a {n.size * d.size:.0e}-point grid (median of 20, ms; aim <= {AIM_MS:.0f})")
    for law in LAWS.values():
        if not law.has_loss:
            continue
        extra = {"unique_tokens": 1e11} if "unique_tokens" in law.info.extra_inputs else {}
        t = time_ms(lambda: law.loss(n, d, **extra))
        verdict = "ok" if t["median_ms"] <= AIM_MS else "SLOW"
        print(
            f"  {law.id:22} {t['median_ms']:7.1f} ms  (min {t['min_ms']:.1f}, max {t['max_ms']:.1f})  "
            f"{verdict}"
        )
    rng = np.random.default_rng(0)
    n_flat = 10 ** rng.uniform(7, 12, 1_000_000)
    d_flat = 10 ** rng.uniform(9, 14, 1_000_000)
    print("loss on 1e6 unstructured (N, D) pairs (every point a full evaluation):")
    for law in LAWS.values():
        if not law.has_loss:
            continue
        extra = {"unique_tokens": 1e11} if "unique_tokens" in law.info.extra_inputs else {}
        t = time_ms(lambda: law.loss(n_flat, d_flat, **extra), repeats=10)
        verdict = "ok" if t["median_ms"] <= AIM_MS else "SLOW"
        print(f"  {law.id:22} {t['median_ms']:7.1f} ms  {verdict}")
    budgets = np.logspace(18, 27, 1_000_000)
    for law in LAWS.values():
        if law.info.extra_inputs:
            continue
        t = time_ms(lambda: law.optimal(budgets), repeats=10)
        print(f"  optimal over 1e6 budgets, {law.id:22} {t['median_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
