"""Pareto extraction over 1e6 candidates (issue 4; aim <= 100 ms), two objectives."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import time_ms

from engine.analysis.pareto import pareto_mask

AIM_MS = 100.0


def main() -> None:
    rng = np.random.default_rng(0)
    random = rng.random((1_000_000, 2))
    # a realistic shape: loss falling with cost, with scatter
    cost = 10 ** rng.uniform(2, 8, 1_000_000)
    loss = 1.8 + 50 * cost**-0.3 + rng.exponential(0.05, 1_000_000)
    for name, pts in (("uniform random", random), ("loss-vs-cost shaped", np.column_stack([loss, cost]))):
        t = time_ms(lambda: pareto_mask(pts), repeats=11, warmup=1)
        print(
            f"Pareto mask, 1e6 candidates ({name}): median {t['median_ms']:.0f} ms "
            f"(min {t['min_ms']:.0f}); front size {int(pareto_mask(pts).sum())}; aim <= {AIM_MS:.0f} ms: "
            f"{'ok' if t['median_ms'] <= AIM_MS else 'SLOW'}"
        )


if __name__ == "__main__":
    main()
