"""Numeric optima for laws without a closed form, vectorized over budgets.

* :func:`minimize_over_params` finds N* = argmin_N L(N, C/(6N)) for each budget C: a log-spaced
  grid over N (both N and D at least ``min_count``) brackets the minimum, then golden-section
  search in log N refines it to ~1e-10 relative.
* :func:`least_flops_for_loss` inverts a non-increasing frontier loss L*(C) by bisection in log C.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError

LossOfND = Callable[[np.ndarray, np.ndarray], np.ndarray]

_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0


def minimize_over_params(
    loss: LossOfND,
    flops: np.ndarray,
    *,
    grid_points: int = 241,
    iterations: int = 60,
    min_count: float = 1e3,
) -> np.ndarray:
    """N* (same shape as ``flops``) minimising ``loss(N, C/(6N))`` at each budget C."""
    c = np.asarray(flops, dtype=float)
    x = np.ravel(c) / FLOPS_PER_PARAM_TOKEN  # N·D
    lo = np.full_like(x, np.log(min_count))
    hi = np.maximum(np.log(x / min_count), lo + 1e-9)
    t = np.linspace(0.0, 1.0, grid_points)
    log_n = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    values = loss(np.exp(log_n), x[:, None] / np.exp(log_n))
    i = np.clip(np.nanargmin(values, axis=1), 1, grid_points - 2)
    rows = np.arange(x.size)
    a, b = log_n[rows, i - 1], log_n[rows, i + 1]

    def f(log_n_: np.ndarray) -> np.ndarray:
        n = np.exp(log_n_)
        return loss(n, x / n)

    c1, c2 = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    f1, f2 = f(c1), f(c2)
    for _ in range(iterations):
        left = f1 < f2  # the minimum lies in [a, c2]: drop (c2, b]; else drop [a, c1)
        a, b = np.where(left, a, c1), np.where(left, c2, b)
        kept_c, kept_f = np.where(left, c1, c2), np.where(left, f1, f2)
        new_c = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        new_f = f(new_c)
        c1, f1 = np.where(left, new_c, kept_c), np.where(left, new_f, kept_f)
        c2, f2 = np.where(left, kept_c, new_c), np.where(left, kept_f, new_f)
    return np.exp(0.5 * (a + b)).reshape(c.shape)


def least_flops_for_loss(
    frontier_loss: Callable[[np.ndarray], np.ndarray],
    target: np.ndarray,
    *,
    lo_flops: float = 1e6,
    hi_flops: float = 1e40,
    iterations: int = 80,
) -> np.ndarray:
    """Least C with frontier_loss(C) <= target, for a non-increasing frontier_loss.

    Raises LawError when even ``hi_flops`` does not reach a target.
    """
    t = np.asarray(target, dtype=float)
    flat = np.ravel(t)
    reachable = frontier_loss(np.full_like(flat, hi_flops)) <= flat
    if not np.all(reachable):
        bad = flat[~reachable]
        raise LawError(
            f"target loss {bad[0]:.4g} is not reached even at {hi_flops:.0e} FLOPs under this law "
            "and its inputs"
        )
    lo = np.full_like(flat, np.log(lo_flops))
    hi = np.full_like(flat, np.log(hi_flops))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        ok = frontier_loss(np.exp(mid)) <= flat
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.exp(hi).reshape(t.shape)
