"""Fitting guidance the way the papers did it: what to check before a fit and what to look at after.

Before (:func:`selection_warnings`), on the runs about to be fitted:

* mixed loss data sets: losses on different validation sets (or tokenizers) are not comparable.
  A run without a stated data set counts as its own upload's (or source's) data set;
* mixed parameter conventions (total, non-embedding, active): N means different things;
* near-duplicates: the same N, D and loss within rounding (3 significant figures for N and D,
  3 decimals of loss) in two different uploads or sources, e.g. Epoch's digitised copy of
  Hoffmann's runs uploaded beside the shipped ones: the same runs would be counted twice.

After (:func:`find_outliers`), on a fit's log residuals r_i = log L̂_i - log L_i: a run is an
outlier when its robust z-score |r_i - median(r)| / (1.4826·MAD(r)) exceeds 3.5 (Iglewicz and
Hoaglin's modified z-score; 1.4826·MAD estimates a normal sigma). The precedent for dropping the
highest-loss tail: Besiroglu et al. (2024, §2) dropped the five highest-loss points of their 245
before refitting Chinchilla's Approach 3 (:data:`HIGH_LOSS_PRECEDENT`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.fit import PARAM_NAMES, FitResult

OUTLIER_Z = 3.5
MAD_TO_SIGMA = 1.4826
HIGH_LOSS_PRECEDENT = ("Besiroglu et al. (2024) dropped the 5 highest-loss points of their 245 before "
                       "refitting Chinchilla (arXiv:2404.10102, §2).")
HIGH_LOSS_PRECEDENT_K = 5


def loss_data_sets(runs: pd.DataFrame) -> pd.Series:
    """Each run's loss data set: its stated one, else '(not stated) in <upload or source>'."""
    stated = runs["loss_eval_set"].astype(object)
    origin = runs["upload_id"].where(runs["source"] == "user", runs["source"]).astype(str)
    return stated.where(stated.notna(), "(not stated) in " + origin)


def _three_figures(values: pd.Series) -> np.ndarray:
    """Positive values rounded to 3 significant figures (vectorised)."""
    v = values.to_numpy(dtype=float)
    scale = 10.0 ** (np.floor(np.log10(v)) - 2)
    return np.round(v / scale) * scale


def near_duplicates(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose N, D and loss agree within rounding with a run of another upload or source:
    columns run_id, origin and group (one group per shared configuration)."""
    origin = runs["upload_id"].astype(str)
    key = pd.DataFrame({"n": _three_figures(runs["n_params"]), "d": _three_figures(runs["n_tokens"]),
                        "loss": runs["loss"].round(3)}, index=runs.index)
    group = key.groupby(["n", "d", "loss"], sort=False).ngroup()
    origins_per_group = origin.groupby(group).transform("nunique")
    shared = origins_per_group > 1
    return pd.DataFrame({"run_id": runs["run_id"][shared], "origin": origin[shared], "group": group[shared]})


def selection_warnings(runs: pd.DataFrame) -> list[str]:
    """Why the selected runs should not be fitted together as they are (empty: nothing to say)."""
    if runs.empty:
        return []
    warnings = []
    sets = loss_data_sets(runs).value_counts()
    if len(sets) > 1:
        listed = "; ".join(f"{name} ({n:,} runs)" for name, n in sets.head(4).items())
        warnings.append(f"The selection mixes {len(sets)} loss data sets: {listed}. Losses on different data sets "
                        "or tokenizers are not comparable; fit one at a time.")
    conventions = runs["n_params_convention"].dropna().value_counts()
    if len(conventions) > 1:
        listed = ", ".join(f"{name} ({n:,} runs)" for name, n in conventions.items())
        warnings.append(f"The selection mixes parameter conventions: {listed}. N means different things in them.")
    dups = near_duplicates(runs)
    if not dups.empty:
        origins = ", ".join(sorted(dups["origin"].unique())[:4])
        warnings.append(f"{dups['group'].nunique():,} runs appear in more than one upload or source ({origins}) with the "
                        "same N, D and loss within rounding: probably copies of the same runs, counted twice.")
    return warnings


def find_outliers(result: FitResult, threshold: float = OUTLIER_Z) -> pd.DataFrame:
    """The fit's outliers: position in the fitted runs (``result.used``), loss, log residual,
    robust z-score and the reason in words, worst first."""
    r = np.asarray(result.log_residuals, dtype=float)
    scale = MAD_TO_SIGMA * np.median(np.abs(r - np.median(r)))
    z = (r - np.median(r)) / scale if scale > 0 else np.zeros_like(r)
    flagged = np.flatnonzero(np.abs(z) > threshold)
    flagged = flagged[np.argsort(-np.abs(z[flagged]))]
    return pd.DataFrame({
        "run": result.used[flagged],
        "loss": result.actual[flagged],
        "predicted": result.predicted[flagged],
        "log_residual": r[flagged],
        "robust_z": z[flagged],
        # r = log predicted - log measured: a negative residual is a loss above the fit
        "reason": [f"{abs(v):.1f} robust standard deviations {'below' if v > 0 else 'above'} the fit "
                   f"(predicted {p:.3f}, measured {a:.3f})"
                   for v, p, a in zip(z[flagged], result.predicted[flagged], result.actual[flagged])],
    })


def compare_fits(before: FitResult, after: FitResult) -> pd.DataFrame:
    """How the constants moved from one fit to another: values, the change and the change in units
    of the first fit's bootstrap standard error (NaN without a bootstrap)."""
    stderr = before.stderr or {}
    rows = []
    for name in PARAM_NAMES:
        a, b = before.params[name], after.params[name]
        se = stderr.get(name, np.nan)
        rows.append({"constant": name, "before": a, "after": b, "change": b - a,
                     "change_in_stderr": (b - a) / se if se and np.isfinite(se) and se > 0 else np.nan})
    return pd.DataFrame(rows)
