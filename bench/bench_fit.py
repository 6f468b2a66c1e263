"""The full-grid Chinchilla fit against a per-start scipy loop, and the bootstrap (issue 3).

Reference: scipy.optimize.minimize(method="L-BFGS-B") called once per initialisation in a Python
loop with a numeric gradient, as the published notebooks do: same data (the shipped Chinchilla
runs), same 4,500-point grid, same objective (Huber, delta 1e-3, on the log-space LSE residual).
Aims: 20x faster or more, objective no worse; 1000 bootstrap resamples in 30 s or less.

    python bench/bench_fit.py                     # the whole reference loop (~5 minutes here)
    python bench/bench_fit.py --reference-starts 450   # a random tenth of it, extrapolated
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import logsumexp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.analysis.fit import HUBER_DELTA, fit_chinchilla, hoffmann_grid
from engine.paths import REPO_ROOT


def reference_objective(theta, log_n, log_d, log_loss):
    a, b, e, alpha, beta = theta
    pred = logsumexp([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)], axis=0)
    r = pred - log_loss
    abs_r = np.abs(r)
    return np.where(abs_r <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (abs_r - 0.5 * HUBER_DELTA)).sum()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--reference-starts", type=int, default=None, help="run the reference on a random subset"
    )
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    runs = pd.read_csv(REPO_ROOT / "datasets" / "hoffmann2022_chinchilla_runs.csv")
    log_n, log_d, log_loss = (
        np.log(runs.N.to_numpy()),
        np.log(runs.D.to_numpy()),
        np.log(runs.loss.to_numpy()),
    )

    times = []
    for _ in range(3):
        start = time.perf_counter()
        ours = fit_chinchilla(runs.N, runs.D, runs.loss)
        times.append(time.perf_counter() - start)
    ours_s = float(np.median(times))

    grid = hoffmann_grid()
    if args.reference_starts:
        grid = grid[np.random.default_rng(0).choice(len(grid), args.reference_starts, replace=False)]
    start = time.perf_counter()
    best = np.inf
    for x0 in grid:
        result = minimize(reference_objective, x0, args=(log_n, log_d, log_loss), method="L-BFGS-B")
        if np.isfinite(result.fun):
            best = min(best, float(result.fun))
    ref_s = (time.perf_counter() - start) * len(hoffmann_grid()) / len(grid)
    label = "" if not args.reference_starts else f" (extrapolated from {len(grid)} starts)"

    print(f"full-grid fit on {len(runs)} Chinchilla runs, 4500 starts")
    print(f"  FLOPwise batched L-BFGS: {ours_s:.2f} s (median of 3), objective {ours.objective:.10g}")
    print(f"  scipy loop reference:    {ref_s:.1f} s{label}, objective {best:.10g}")
    print(
        f"  speed-up {ref_s / ours_s:.0f}x (aim >= 20x); objective "
        f"{'no worse' if ours.objective <= best * (1 + 1e-9) else 'WORSE'} "
        f"(difference {ours.objective - best:+.3g})"
    )

    start = time.perf_counter()
    fit_chinchilla(runs.N, runs.D, runs.loss)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    boot = fit_chinchilla(runs.N, runs.D, runs.loss, bootstrap=args.bootstrap, seed=0)
    total = time.perf_counter() - start
    print(
        f"fit + {args.bootstrap} bootstrap resamples: {total:.1f} s (the fit alone just before: {alone:.1f} "
        "s; aim <= 30 s for the resamples); alpha 95% CI "
        f"{boot.ci95['alpha'][0]:.3f}-{boot.ci95['alpha'][1]:.3f}"
    )


if __name__ == "__main__":
    main()
