"""Analyses over scaling laws that pages show: optima per law, isoFLOP curves, frontiers.

Every function returns a pandas DataFrame with unit-named columns (``n_params``, ``n_tokens``,
``flops``, ``loss``) so figures and tables can be built without knowing the laws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError
from engine.laws.base import Law


def law_inputs(law: Law, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``inputs`` that ``law`` takes (e.g. unique_tokens for data-constrained)."""
    return {k: v for k, v in inputs.items() if k in law.info.extra_inputs and v is not None}


def _per_law(laws: Sequence[Law], answer: Any, fallback: dict[str, Any]) -> pd.DataFrame:
    """One row per law from ``answer(law)`` (an Allocation); a LawError becomes ``fallback`` with
    the reason in ``error`` (empty when the law answered)."""
    rows = []
    for law in laws:
        row: dict[str, Any] = {"law": law.id, "title": law.info.title, "verified": law.info.verified}
        try:
            row.update(answer(law).scalar())
            row["error"] = ""
        except LawError as exc:
            row.update(dict.fromkeys(("n_params", "n_tokens", "tokens_per_param", "flops", "loss"), np.nan))
            row.update(fallback)
            row["error"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows)


def optima_table(laws: Sequence[Law], flops: float, inputs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per law: the compute-optimal N*, D*, D*/N* and loss at ``flops`` FLOPs (and any
    extra choices the law makes, e.g. precision_bits); ``error`` says why a law cannot, else empty."""
    return _per_law(laws, lambda law: law.optimal(flops, **law_inputs(law, inputs or {})), {"flops": flops})


def target_table(laws: Sequence[Law], loss: float, inputs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per law: the least compute reaching ``loss`` and its N*, D*; ``error`` says why
    a law cannot (no loss model, loss at or below its floor, unreachable), else is empty."""
    return _per_law(laws, lambda law: law.target(loss, **law_inputs(law, inputs or {})), {"loss": loss})


def isoflop_curves(
    law: Law,
    budgets: Sequence[float],
    inputs: Mapping[str, Any] | None = None,
    *,
    points: int = 121,
    span: float = 30.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Loss against N at fixed compute C (D = C/(6N)), N from N*/span to N*·span.

    Returns (curves, minima): curves has one row per (budget, N); minima one row per budget
    with the law's optimum.
    """
    extra = law_inputs(law, inputs or {})
    budgets_arr = np.asarray(budgets, dtype=float)
    optimum = law.optimal(budgets_arr, **extra)
    factors = np.logspace(-np.log10(span), np.log10(span), points)
    n = optimum.n_params[:, None] * factors[None, :]
    c = budgets_arr[:, None] * np.ones_like(factors)[None, :]
    d = c / (FLOPS_PER_PARAM_TOKEN * n)
    curves = pd.DataFrame(
        {
            "flops": c.ravel(),
            "n_params": n.ravel(),
            "n_tokens": d.ravel(),
            "loss": law.loss(n, d, **extra).ravel(),
        }
    )
    minima = pd.DataFrame(
        {
            "flops": budgets_arr,
            "n_params": optimum.n_params,
            "n_tokens": optimum.n_tokens,
            "loss": optimum.loss,
        }
    )
    return curves, minima


def frontier(
    law: Law,
    flops_min: float = 1e18,
    flops_max: float = 1e27,
    inputs: Mapping[str, Any] | None = None,
    *,
    points: int = 73,
) -> pd.DataFrame:
    """The compute-optimal N*(C), D*(C) and L*(C) over a log grid of budgets."""
    flops = np.logspace(np.log10(flops_min), np.log10(flops_max), points)
    alloc = law.optimal(flops, **law_inputs(law, inputs or {}))
    return pd.DataFrame(
        {
            "law": law.id,
            "flops": flops,
            "n_params": alloc.n_params,
            "n_tokens": alloc.n_tokens,
            "tokens_per_param": alloc.tokens_per_param,
            "loss": alloc.loss,
        }
    )


def frontier_columns() -> pd.DataFrame:
    """An empty frontier table (no law in the selection has a frontier)."""
    return pd.DataFrame(columns=["law", "flops", "n_params", "n_tokens", "tokens_per_param", "loss"])


def budgets_around(flops: float, decades: int = 2) -> np.ndarray:
    """Budgets flops·10^k for k = -decades..decades (the isoFLOP set around a chosen budget)."""
    return flops * 10.0 ** np.arange(-decades, decades + 1)
