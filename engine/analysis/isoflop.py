"""IsoFLOP analysis, Hoffmann et al. 2022 Approach 2 (§3.2).

1. Group runs by training budget C: runs whose log10 C lie within ``tolerance_decades`` of their
   neighbour share a budget (exact sweeps group exactly; digitised data groups approximately).
2. Per budget with at least 3 model sizes, fit a parabola loss = c2·x² + c1·x + c0 in x = ln N;
   its minimum x* = -c1/(2·c2) gives N_opt(C) (only when c2 > 0; flagged if x* lies outside the
   sizes tried).
3. Fit ln N_opt = ln k + a·ln C by least squares over the budgets; the 95% interval of a uses
   Student's t with (budgets - 2) degrees of freedom. D_opt = C/(6·N_opt) gives b = 1 - a.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from engine.conventions import FLOPS_PER_PARAM_TOKEN


@dataclass
class IsoFlopResult:
    budgets: pd.DataFrame  # budget, n_runs, n_opt, d_opt, loss_opt, used, note
    exponent_n_opt: float
    exponent_n_opt_ci95: tuple[float, float]
    coefficient: float  # k in N_opt = k·C^a
    warnings: list[str] = field(default_factory=list)

    @property
    def exponent_d_opt(self) -> float:
        return 1.0 - self.exponent_n_opt

    def summary(self) -> dict:
        lo, hi = self.exponent_n_opt_ci95
        return {
            "exponent_n_opt": self.exponent_n_opt,
            "exponent_n_opt_ci95": [lo, hi],
            "exponent_d_opt": self.exponent_d_opt,
            "exponent_d_opt_ci95": [1 - hi, 1 - lo],
            "coefficient": self.coefficient,
            "n_budgets_used": int(self.budgets["used"].sum()),
            "warnings": self.warnings,
        }


def group_budgets(flops: ArrayLike, tolerance_decades: float = 0.05) -> np.ndarray:
    """A group label per run: sorted budgets split wherever the gap exceeds the tolerance."""
    log_c = np.log10(np.asarray(flops, dtype=float))
    order = np.argsort(log_c)
    breaks = np.diff(log_c[order]) > tolerance_decades
    labels_sorted = np.concatenate([[0], np.cumsum(breaks)])
    labels = np.empty_like(labels_sorted)
    labels[order] = labels_sorted
    return labels


def isoflop_analysis(
    n_params: Sequence[float],
    flops: Sequence[float],
    loss: Sequence[float],
    *,
    tolerance_decades: float = 0.05,
) -> IsoFlopResult:
    """Approach 2 on runs: per-budget parabola minima, then the power law N_opt ∝ C^a."""
    n = np.asarray(n_params, dtype=float)
    c = np.asarray(flops, dtype=float)
    l_ = np.asarray(loss, dtype=float)
    labels = group_budgets(c, tolerance_decades)
    rows = []
    for label in np.unique(labels):
        mask = labels == label
        budget = float(np.exp(np.mean(np.log(c[mask]))))
        x, y = np.log(n[mask]), l_[mask]
        row: dict[str, Any] = {
            "budget": budget,
            "n_runs": int(mask.sum()),
            "n_opt": np.nan,
            "d_opt": np.nan,
            "loss_opt": np.nan,
            "used": False,
            "note": "",
        }
        if np.unique(np.round(x, 6)).size < 3:
            row["note"] = "fewer than 3 model sizes"
        else:
            c2, c1, c0 = np.polyfit(x, y, 2)
            if c2 <= 0:
                row["note"] = "not convex: no minimum"
            else:
                x_star = -c1 / (2 * c2)
                row.update(n_opt=float(np.exp(x_star)), loss_opt=float(c0 - c1 * c1 / (4 * c2)), used=True)
                row["d_opt"] = budget / (FLOPS_PER_PARAM_TOKEN * row["n_opt"])
                if not (x.min() <= x_star <= x.max()):
                    row["note"] = "minimum outside the sizes tried (extrapolated)"
        rows.append(row)
    budgets = pd.DataFrame(rows)
    used = budgets[budgets["used"]]
    warnings = []
    if len(used) < 3:
        raise ValueError(
            f"IsoFLOP analysis needs at least 3 budgets with 3 or more model sizes each; found {len(used)} "
            f"among {len(budgets)} budget groups (tolerance {tolerance_decades} decades)"
        )
    x, y = np.log(used["budget"].to_numpy()), np.log(used["n_opt"].to_numpy())
    fit = stats.linregress(x, y)
    t = stats.t.ppf(0.975, len(used) - 2)
    ci = (float(fit.slope - t * fit.stderr), float(fit.slope + t * fit.stderr))
    if len(used) < 5:
        warnings.append(f"Only {len(used)} budgets: the exponent's interval is wide.")
    if (used["note"] != "").any():
        warnings.append("Some budgets' minima lie outside the sizes tried; their N_opt is extrapolated.")
    return IsoFlopResult(budgets, float(fit.slope), ci, float(np.exp(fit.intercept)), warnings)
