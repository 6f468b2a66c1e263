"""Selecting runs for browsing and fitting, and exporting them safely."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

USER_SOURCE = "user"  # the source of every uploaded run

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


NOT_GIVEN = "(not given)"  # how a run without a stated loss data set is offered in a filter


@dataclass(frozen=True)
class RunFilter:
    """Which stored runs to show or fit (None: no filter on that column); hashable, so a cache key.
    Only runs with parameters, tokens and loss (what a fit needs) are selected."""

    sources: tuple[str, ...] | None = None
    user_uploads: tuple[str, ...] | None = None  # of the users' runs, only these uploads
    eval_sets: tuple[str, ...] | None = None  # NOT_GIVEN stands for runs without one
    n_params_range: tuple[float, float] | None = None


def best_run_per_cell(runs: pd.DataFrame, loss_column: str = "loss") -> pd.DataFrame:
    """The least-loss run of each (N, D) cell (the best over the other hyperparameters: learning
    rate, batch size, ...), all columns kept; runs without that loss are left out."""
    finite = runs[runs[loss_column].notna()]
    if finite.empty:
        return finite
    best = finite.groupby(["n_params", "n_tokens"], sort=False)[loss_column].idxmin()
    return finite.loc[best.to_numpy()]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            text = out[column]
            risky = text.astype("string").str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            out[column] = text.where(~risky, "'" + text.astype("string"))
    out.columns = [("'" + c) if str(c).startswith(FORMULA_PREFIXES) else c for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame`` with formula-like text neutralised (UTF-8)."""
    buffer = io.StringIO()
    neutralise_formulas(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")
