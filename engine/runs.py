"""Selecting runs for browsing and fitting, and exporting them safely."""

from __future__ import annotations

import io
from collections.abc import Collection

import pandas as pd

USER_SOURCE = "user"  # the source of every uploaded run

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def select_runs(
    runs: pd.DataFrame,
    *,
    sources: Collection[str] | None = None,
    user_uploads: Collection[str] | None = None,
    eval_sets: Collection[str] | None = None,
    n_params_range: tuple[float, float] | None = None,
    flops_range: tuple[float, float] | None = None,
    require_fit_columns: bool = False,
) -> pd.DataFrame:
    """The runs matching every given filter (None means no filter on that column).
    ``user_uploads`` keeps, of the users' uploaded runs, only those of these uploads (published
    runs are unaffected)."""
    keep = pd.Series(True, index=runs.index)
    if sources is not None:
        keep &= runs["source"].isin(list(sources))
    if user_uploads is not None:
        keep &= (runs["source"] != USER_SOURCE) | runs["upload_id"].isin(list(user_uploads))
    if eval_sets is not None:
        keep &= runs["loss_eval_set"].fillna("(not given)").isin(list(eval_sets))
    if n_params_range is not None:
        keep &= runs["n_params"].between(*n_params_range)
    if flops_range is not None:
        keep &= runs["flops"].between(*flops_range)
    if require_fit_columns:
        keep &= runs[["n_params", "n_tokens", "loss"]].notna().all(axis=1)
    return runs[keep]


def best_run_per_cell(runs: pd.DataFrame, loss_column: str = "loss") -> pd.DataFrame:
    """The least-loss run of each (N, D) cell (the best over the other hyperparameters: learning
    rate, batch size, ...), all columns kept; runs without that loss are left out."""
    finite = runs[runs[loss_column].notna()]
    if finite.empty:
        return finite
    best = finite.groupby(["n_params", "n_tokens"], sort=False)[loss_column].idxmin()
    return finite.loc[best.to_numpy()]


def cells_with_several_runs(runs: pd.DataFrame) -> int:
    """How many (N, D) cells hold more than one run (a sweep over other hyperparameters)."""
    return int((runs.groupby(["n_params", "n_tokens"], sort=False).size() > 1).sum())


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
