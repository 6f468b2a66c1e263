"""Fitting guidance the way the papers did it: what to check before a fit and what to look at after.

Before (:func:`selection_warnings`), on the runs about to be fitted (their aggregates, computed
in the store: engine.data.store.selection_profile):

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

from engine.analysis.fit import PARAM_NAMES, FitResult

OUTLIER_Z = 3.5
MAD_TO_SIGMA = 1.4826
HIGH_LOSS_PRECEDENT = (
    "Besiroglu et al. (2024) dropped the 5 highest-loss points of their 245 before "
    "refitting Chinchilla (arXiv:2404.10102, §2)."
)
HIGH_LOSS_PRECEDENT_K = 5


def selection_warnings(profile: dict) -> list[str]:
    """Why the selected runs should not be fitted together as they are (empty: nothing to say),
    from the selection's aggregates (engine.data.store.selection_profile)."""
    if not profile["n_runs"]:
        return []
    warnings = []
    sets = profile["data_sets"]
    if len(sets) > 1:
        listed = "; ".join(f"{name} ({n:,} runs)" for name, n in list(sets.items())[:4])
        warnings.append(
            f"The selection mixes {len(sets)} loss data sets: {listed}. Losses on different data sets "
            "or tokenizers are not comparable; fit one at a time."
        )
    conventions = profile["conventions"]
    if len(conventions) > 1:
        listed = ", ".join(f"{name} ({n:,} runs)" for name, n in conventions.items())
        warnings.append(
            f"The selection mixes parameter conventions: {listed}. N means different things in them."
        )
    if profile["duplicate_groups"]:
        origins = ", ".join(profile["duplicate_origins"][:4])
        warnings.append(
            f"{profile['duplicate_groups']:,} runs appear in more than one upload or source ({origins}) "
            "with the same N, D and loss within rounding: probably copies of the same runs, counted twice."
        )
    return warnings


def find_outliers(result: FitResult, threshold: float = OUTLIER_Z) -> pd.DataFrame:
    """The fit's outliers: position in the fitted runs (``result.used``), loss, log residual,
    robust z-score and the reason in words, worst first."""
    r = np.asarray(result.log_residuals, dtype=float)
    scale = MAD_TO_SIGMA * np.median(np.abs(r - np.median(r)))
    z = (r - np.median(r)) / scale if scale > 0 else np.zeros_like(r)
    flagged = np.flatnonzero(np.abs(z) > threshold)
    flagged = flagged[np.argsort(-np.abs(z[flagged]))]
    return pd.DataFrame(
        {
            "run": result.used[flagged],
            "loss": result.actual[flagged],
            "predicted": result.predicted[flagged],
            "log_residual": r[flagged],
            "robust_z": z[flagged],
            # r = log predicted - log measured: a negative residual is a loss above the fit
            "reason": [
                f"{abs(v):.1f} robust standard deviations {'below' if v > 0 else 'above'} the fit"
                for v in z[flagged]
            ],
        }
    )


def compare_fits(before: FitResult, after: FitResult) -> pd.DataFrame:
    """How the constants moved from one fit to another: values, the change and the change in units
    of the first fit's bootstrap standard error (NaN without a bootstrap)."""
    stderr = before.stderr or {}
    rows = []
    for name in PARAM_NAMES:
        a, b = before.params[name], after.params[name]
        se = stderr.get(name, np.nan)
        rows.append(
            {
                "constant": name,
                "before": a,
                "after": b,
                "change": b - a,
                "change_in_stderr": (b - a) / se if se and np.isfinite(se) and se > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)
