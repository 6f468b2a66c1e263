"""Optimal learning rate and batch size: the Step Law (Li et al. 2025) and fitting it to a sweep.

The law, Li et al. (2025), "Predictable Scale: Part I", arXiv:2503.04715:

    eta_opt(N, D) = a · N^p · D^q        a = 1.79,  p = -0.713,  q = 0.307
    B_opt(D)      = b · D^r              b = 0.58,  r = 0.571

* N: non-embedding parameters (attention and feed-forward matrices; no embedding, no output head).
* D: training tokens.
* eta_opt: peak learning rate (the authors' runs decay to a fixed final lr of 1e-5: every run
  name in their dense data carries mlr1.00e-05 or mlr1e-5).
* B_opt: batch size in TOKENS (sequences × sequence length).

Fitting the same two laws to a user's sweep (:func:`fit_hyperparams`):

1. Runs are grouped into (N, D) cells; each cell is swept over learning rates and batch sizes.
2. Diverged runs are flagged (:func:`flag_diverged`): non-finite loss, loss more than 50% above
   the cell's best, or at or above a given initial loss (e.g. ln(vocabulary size)).
3. Each cell's optimum (:func:`cell_optimum`) is the minimum of a quadratic surface
   L ≈ c0 + c1·x + c2·y + c3·x² + c4·y² + c5·x·y, x = ln(lr), y = ln(bs), least-squares fitted
   to the cell's non-diverged runs near its best (loss within 2% of the best, widened to the
   lowest-loss runs until there are enough points). It falls back to the bare argmin, saying so,
   when the surface is not convex or its minimum lies outside the sampled range.
4. ln(lr_opt) = ln a + p·ln N + q·ln D and ln(bs_opt) = ln b + r·ln D are fitted by ordinary
   least squares over the cells' optima. Intervals: analytic OLS (Student t, 95%) by default,
   or a percentile bootstrap over cells when ``bootstrap > 0``.

Verification (what was checked, and where), github.com/step-law/steplaw at commit 32a8f4c:

* Form and units: README ("lr = exp(intercept) * N^coefN * D^coefD; bs = exp(intercept) *
  D^coefD") and code/fit_tool.py (``query_optimal_lr_bs_data`` turns batch size in sequences into
  tokens, bs·seq_len; ``pred-opt-lr-bs`` prints bs in tokens and bs/seq_len in sequences).
* Constants: data/1004_fitted_lr_bs_scaling_model_parameters.csv (1000 bootstrap fits). Means
  1.797, -0.7129, 0.3075, 0.5807, 0.5709 (what the authors' tool predicts with); medians 1.782,
  -0.7122, 0.3070, 0.5733, 0.5713. The printed 1.79, -0.713, 0.307, 0.58, 0.571 agree with the
  means to the printed digits (1.797 truncated to 1.79).
* N convention: in data/dense_lr_bs_loss.csv every model's N equals numl·(4·h² + 3·h·ffnh)
  exactly, i.e. non-embedding parameters (no vocabulary embedding or output head).
* Fitted range: the same file's N column spans 214,663,680 to 1,073,741,824 and D 4e9 to 1e11
  (17 cells, 1,911 runs, 181 with smoothed loss more than 70% above their cell's best).
* Not checked: the equation as printed in the paper (only its abstract was reachable here).
* On that dense file this module's fit (smoothed loss, bs·2048 tokens) gives bs_opt =
  0.55·D^0.569, the paper's batch-size law; for the learning rate p = -0.69 but q = 0.21, as the
  authors' own near-best regression (fit_tool.py, 0.25% filter) on the released file does
  (q = 0.20): the published lr constants are not reproduced from that file alone.

Everything here is numpy/pandas/scipy; no UI and no database.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from engine.errors import LawError
from engine.laws.base import LawInfo, as_positive_array

# --- the published law ---------------------------------------------------------------------

STEP_LAW_CITATION = (
    "Li, H., Zheng, W., Hu, J., Wang, Q., Zhang, H., Wang, Z., Xu, Y., Zhou, S., Zhang, X., "
    "Jiang, D. (2025). Predictable Scale: Part I - Optimal Hyperparameter Scaling Law in Large "
    "Language Model Pretraining. arXiv:2503.04715"
)
STEP_LAW_URL = "https://arxiv.org/abs/2503.04715"
STEP_LAW_REPOSITORY = "https://github.com/step-law/steplaw"
STEP_LAW_EQUATION = r"\eta_{opt} = a\,N^{p}\,D^{q}, \quad B_{opt} = b\,D^{r}"
STEP_LAW_CONVENTIONS = (
    "N = non-embedding parameters: in the authors' dense data every model's N equals "
    "numl·(4·h² + 3·h·ffnh) exactly (attention + SwiGLU matrices; no embedding, no output head). "
    "D = training tokens. eta = peak learning rate (the authors' runs end at a fixed final lr "
    "of 1e-5). B = batch size in tokens: the authors' fitting code converts their batch size "
    "in sequences to tokens as bs·seq_len (seq_len 2048), and their tool prints B/seq_len as the "
    "batch size in sequences."
)
STEP_LAW_RANGE = (
    "Dense grid in the released data (data/dense_lr_bs_loss.csv): 5 model sizes, N = 2.15e8 to "
    "1.07e9 non-embedding parameters; 15 data sizes, D = 4e9 to 1e11 tokens; 17 (N, D) cells. "
    "Outside this range the law is an extrapolation."
)
# Checked against the repository's data/dense_lr_bs_loss.csv: min and max of its N and D columns.
STEP_LAW_FITTED_N = (214_663_680.0, 1_073_741_824.0)
STEP_LAW_FITTED_D = (4e9, 1e11)

_VERIFICATION = (
    "Checked against github.com/step-law/steplaw (commit 32a8f4c): README gives the form "
    "lr = exp(intercept)·N^coefN·D^coefD, bs = exp(intercept)·D^coefD; "
    "data/1004_fitted_lr_bs_scaling_model_parameters.csv holds 1000 bootstrap fits whose means are "
    "exp(0.58631)=1.797, -0.71292, 0.30749, exp(-0.54354)=0.5807, 0.57094 and medians "
    "exp(0.57801)=1.782, -0.71224, 0.30698, exp(-0.55630)=0.5733, 0.57131. The printed "
    "1.79, -0.713, 0.307, 0.58, 0.571 match the means to the printed digits (1.797 truncated); "
    "the authors' tool (code/fit_tool.py pred-opt-lr-bs) predicts with the means. The paper's own "
    "equation text could not be read here (only its abstract was reachable)."
)


@dataclass(frozen=True)
class StepLawConstants:
    """eta_opt = lr_coefficient · N^lr_exponent_n · D^lr_exponent_d;
    B_opt = bs_coefficient · D^bs_exponent_d (tokens)."""

    lr_coefficient: float
    lr_exponent_n: float
    lr_exponent_d: float
    bs_coefficient: float
    bs_exponent_d: float


STEP_LAW_SYMBOLS = {
    "lr_coefficient": "a",
    "lr_exponent_n": "p",
    "lr_exponent_d": "q",
    "bs_coefficient": "b",
    "bs_exponent_d": "r",
}
"""Each constant's symbol in STEP_LAW_EQUATION."""
STEP_LAW_ROLES = {
    "lr_coefficient": "learning rate",
    "lr_exponent_n": "exponent of N",
    "lr_exponent_d": "exponent of D",
    "bs_coefficient": "batch size",
    "bs_exponent_d": "exponent of D",
}
"""What each constant does in STEP_LAW_EQUATION, in words for a table beside its symbol."""


@dataclass(frozen=True)
class HyperparamRecommendation:
    """Learning rate and batch size (tokens) for one (N, D); ``as_dict()`` is what the CLI prints."""

    learning_rate: float
    batch_size_tokens: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    def batch_size_sequences(self, seq_len: float) -> float:
        """The batch size in sequences of ``seq_len`` tokens (not rounded)."""
        return self.batch_size_tokens / float(as_positive_array("seq_len", seq_len))


@dataclass(frozen=True)
class HyperparamLaw:
    """A hyperparameter law: provenance (LawInfo), constants and the (N, D) range it was fitted on."""

    info: LawInfo
    constants: StepLawConstants
    fitted_n: tuple[float, float]  # min, max non-embedding parameters of the fitting data
    fitted_d: tuple[float, float]  # min, max training tokens of the fitting data

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def parameters(self) -> dict[str, float]:
        return dataclasses.asdict(self.constants)

    def learning_rate(self, n_params: Any, n_tokens: Any) -> np.ndarray:
        """eta_opt = a·N^p·D^q (broadcast over arrays); N non-embedding parameters, D tokens."""
        n = as_positive_array("n_params", n_params)
        d = as_positive_array("n_tokens", n_tokens)
        c = self.constants
        return c.lr_coefficient * n**c.lr_exponent_n * d**c.lr_exponent_d

    def batch_size_tokens(self, n_tokens: Any) -> np.ndarray:
        """B_opt = b·D^r in tokens (broadcast over arrays); D training tokens."""
        d = as_positive_array("n_tokens", n_tokens)
        c = self.constants
        return c.bs_coefficient * d**c.bs_exponent_d

    def recommend(self, n_params: float, n_tokens: float) -> HyperparamRecommendation:
        """Both optima for one scalar (N, D)."""
        n, d = _scalar("n_params", n_params), _scalar("n_tokens", n_tokens)
        return HyperparamRecommendation(
            learning_rate=float(self.learning_rate(n, d)),
            batch_size_tokens=float(self.batch_size_tokens(d)),
        )

    def outside_fitted_range(self, n_params: Any, n_tokens: Any) -> np.ndarray:
        """True where (N, D) lies outside the box of the law's fitting data (an extrapolation)."""
        n = as_positive_array("n_params", n_params)
        d = as_positive_array("n_tokens", n_tokens)
        (n_lo, n_hi), (d_lo, d_hi) = self.fitted_n, self.fitted_d
        return (n < n_lo) | (n > n_hi) | (d < d_lo) | (d > d_hi)

    def extrapolation_warning(self, n_params: float, n_tokens: float) -> str | None:
        """A sentence for the page/CLI when a scalar (N, D) is outside the fitted range, else None."""
        n, d = _scalar("n_params", n_params), _scalar("n_tokens", n_tokens)
        if not bool(self.outside_fitted_range(n, d)):
            return None
        (n_lo, n_hi), (d_lo, d_hi) = self.fitted_n, self.fitted_d
        return (
            f"N = {n:.3g}, D = {d:.3g} lies outside the range {self.info.title} was fitted on "
            f"(N {n_lo:.3g} to {n_hi:.3g}, D {d_lo:.3g} to {d_hi:.3g}): the learning rate and "
            "batch size are an extrapolation."
        )


def _step_info(law_id: str, title: str, source_detail: str, notes: str) -> LawInfo:
    return LawInfo(
        id=law_id,
        title=title,
        citation=STEP_LAW_CITATION,
        url=STEP_LAW_URL,
        equation=STEP_LAW_EQUATION,
        source_detail=source_detail,
        conventions=STEP_LAW_CONVENTIONS,
        valid_range=STEP_LAW_RANGE,
        verified=True,
        family="step-law",
        notes=notes,
        compute_model="not used: the law takes N and D directly",
        params_meaning="non-embedding parameters",
        symbols=tuple(STEP_LAW_SYMBOLS.items()),
    )


STEP_LAW = HyperparamLaw(
    info=_step_info(
        "step-law",
        "Step Law (Li et al. 2025)",
        "Rounded constants as printed; exponents and coefficients checked against the authors' "
        f"bootstrap fits in {STEP_LAW_REPOSITORY}",
        _VERIFICATION,
    ),
    constants=StepLawConstants(
        lr_coefficient=1.79,
        lr_exponent_n=-0.713,
        lr_exponent_d=0.307,
        bs_coefficient=0.58,
        bs_exponent_d=0.571,
    ),
    fitted_n=STEP_LAW_FITTED_N,
    fitted_d=STEP_LAW_FITTED_D,
)

STEP_LAW_BOOTSTRAP_MEAN = HyperparamLaw(
    info=_step_info(
        "step-law-bootstrap-mean",
        "Step Law, mean of the authors' 1000 bootstrap fits",
        "Means of data/1004_fitted_lr_bs_scaling_model_parameters.csv (what the authors' "
        "pred-opt-lr-bs tool predicts with)",
        _VERIFICATION,
    ),
    constants=StepLawConstants(
        lr_coefficient=math.exp(0.5863077907399267),
        lr_exponent_n=-0.7129222911869904,
        lr_exponent_d=0.30749095041206964,
        bs_coefficient=math.exp(-0.5435421736103339),
        bs_exponent_d=0.5709443646895044,
    ),
    fitted_n=STEP_LAW_FITTED_N,
    fitted_d=STEP_LAW_FITTED_D,
)

STEP_LAW_BOOTSTRAP_MEDIAN = HyperparamLaw(
    info=_step_info(
        "step-law-bootstrap-median",
        "Step Law, median of the authors' 1000 bootstrap fits",
        "Medians of data/1004_fitted_lr_bs_scaling_model_parameters.csv",
        _VERIFICATION,
    ),
    constants=StepLawConstants(
        lr_coefficient=math.exp(0.5780096927745788),
        lr_exponent_n=-0.7122430902287895,
        lr_exponent_d=0.3069826948009491,
        bs_coefficient=math.exp(-0.5562999967903401),
        bs_exponent_d=0.5713119902180508,
    ),
    fitted_n=STEP_LAW_FITTED_N,
    fitted_d=STEP_LAW_FITTED_D,
)

HYPERPARAM_LAWS = (STEP_LAW, STEP_LAW_BOOTSTRAP_MEAN, STEP_LAW_BOOTSTRAP_MEDIAN)


def recommend_hyperparams(
    n_params: float, n_tokens: float, law: HyperparamLaw = STEP_LAW
) -> HyperparamRecommendation:
    """The law's learning rate and batch size (tokens) for N non-embedding parameters, D tokens."""
    return law.recommend(n_params, n_tokens)


def _scalar(name: str, value: Any) -> float:
    arr = as_positive_array(name, value)
    if arr.size != 1:
        raise LawError(f"{name} must be a single number, got {arr.size} values")
    return float(arr.reshape(()))


# --- sweeps: divergence, best run, smoothed optimum per cell -----------------------------------

RUN_COLUMNS = ("n_params", "n_tokens", "learning_rate", "batch_size", "loss")
CELL_KEYS = ["n_params", "n_tokens"]
DIVERGED_REL_THRESHOLD = 0.5
"""A run is diverged when its loss exceeds its cell's best by more than this fraction (50%).
On the authors' dense data the ratios loss/best - 1 have a gap from 0.3 to 0.7: all 181 runs above
it (loss above 4) are the diverged ones."""
NEAR_BEST_MARGIN = 0.02
"""Runs within 2% of the cell's best loss are used for the quadratic surface."""
MIN_QUADRATIC_POINTS = 8
DISTINCT_LOG_TOL = 0.01  # two learning rates (batch sizes) within 1% count as one grid value
CONFIDENCE = 0.95


def _check_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The five run columns as floats; LawError naming a missing column or a bad value."""
    missing = [c for c in RUN_COLUMNS if c not in runs.columns]
    if missing:
        raise LawError(f"runs are missing column(s) {missing}; need {list(RUN_COLUMNS)}")
    out = pd.DataFrame(
        {c: pd.to_numeric(runs[c], errors="coerce").astype(float) for c in RUN_COLUMNS}, index=runs.index
    )
    for col in RUN_COLUMNS[:4]:
        bad = ~(np.isfinite(out[col]) & (out[col] > 0))
        if bad.any():
            row = bad.idxmax()
            raise LawError(
                f"{col} must be a positive finite number in every run; row {row!r} has {runs.at[row, col]!r}"
            )
    bad_loss = np.isfinite(out["loss"]) & (out["loss"] <= 0)
    if bad_loss.any():
        row = bad_loss.idxmax()
        raise LawError(f"loss must be positive (nats/token); row {row!r} has {runs.at[row, 'loss']!r}")
    return out


def sweep_from_runs(
    runs: pd.DataFrame, *, loss_column: str = "loss", sequence_length: int | None = None
) -> pd.DataFrame:
    """The columns :func:`fit_hyperparams` takes, from stored or ingested runs (engine.data.store
    RUN_COLUMNS): batch size in tokens (a batch in sequences times ``sequence_length``) and the
    chosen loss column ('loss' or 'loss_smoothed'); runs without them are left out. LawError
    says what is missing."""
    missing = [c for c in ("learning_rate", "batch_size") if c not in runs or runs[c].isna().all()]
    if missing:
        raise LawError(
            f"the runs have no {' or '.join(missing)}: a learning-rate and batch-size sweep needs "
            "both (columns like lr, bs)"
        )
    if loss_column not in runs or runs[loss_column].isna().all():
        raise LawError(
            f"the runs have no {'smoothed ' if loss_column == 'loss_smoothed' else ''}loss; "
            "choose the other loss"
        )
    batch = runs["batch_size"].astype(float)
    in_sequences = (runs["batch_size_unit"] == "sequences").to_numpy() if "batch_size_unit" in runs else False
    if np.any(in_sequences):
        if not sequence_length or sequence_length <= 0:
            raise LawError(
                "the batch sizes are in sequences; give the sequence length to turn them into tokens"
            )
        batch = batch.where(~in_sequences, batch * sequence_length)
    out = runs[["n_params", "n_tokens", "learning_rate"]].assign(batch_size=batch, loss=runs[loss_column])
    return out.dropna().reset_index(drop=True)


def flag_diverged(
    runs: pd.DataFrame, *, threshold: float = DIVERGED_REL_THRESHOLD, initial_loss: float | None = None
) -> pd.Series:
    """Boolean Series (runs' index): True for a diverged run.

    A run is diverged when its loss is not finite (NaN or inf), or
    loss > (1 + threshold) · (least finite loss in its (N, D) cell)  (threshold 0.5: 50% above), or,
    when ``initial_loss`` is given (e.g. ln(vocabulary size), the loss of a uniform prediction),
    loss >= initial_loss.
    """
    r = _check_runs(runs)
    finite = np.isfinite(r["loss"])
    best = r["loss"].where(finite).groupby([r[k] for k in CELL_KEYS]).transform("min")
    diverged = ~finite | (r["loss"] > (1.0 + threshold) * best)
    if initial_loss is not None:
        diverged |= r["loss"] >= float(initial_loss)
    return diverged.fillna(True).astype(bool).rename("diverged")


def best_per_cell(runs: pd.DataFrame) -> pd.DataFrame:
    """The least-loss run of each (N, D) cell, with ``n_runs`` (all runs in the cell).

    Columns: n_params, n_tokens, learning_rate, batch_size, loss, n_runs. A cell whose runs all
    have non-finite loss gets NaN learning_rate, batch_size and loss.
    """
    r = _check_runs(runs)
    counts = r.groupby(CELL_KEYS).size().rename("n_runs")
    finite = r[np.isfinite(r["loss"])]
    best = finite.loc[finite.groupby(CELL_KEYS)["loss"].idxmin()].set_index(CELL_KEYS)
    out = best[["learning_rate", "batch_size", "loss"]].reindex(counts.index).join(counts)
    return out.reset_index()


@dataclass(frozen=True)
class CellOptimum:
    """The optimum of one (N, D) cell. ``method`` is "quadratic" or "argmin" (then ``note`` says why)."""

    n_params: float
    n_tokens: float
    learning_rate: float  # smoothed optimum (the argmin's when method == "argmin")
    batch_size: float  # tokens
    loss: float  # the surface's value at its minimum (the argmin's loss when method == "argmin")
    method: str
    note: str
    n_runs: int
    n_diverged: int
    n_used: int  # runs the quadratic surface was fitted to (1 for the argmin)
    best_learning_rate: float  # the least-loss run
    best_batch_size: float
    best_loss: float


def _n_distinct(logs: np.ndarray) -> int:
    return int(np.unique(np.round(logs / DISTINCT_LOG_TOL)).size)


def _near_best(x: np.ndarray, y: np.ndarray, loss: np.ndarray, margin: float, min_points: int) -> np.ndarray:
    """Indices of runs within ``margin`` of the best loss, widened (in loss order) until there are
    ``min_points`` of them with 3 distinct values in each swept dimension, or all runs."""
    order = np.argsort(loss, kind="stable")
    k = int(np.sum(loss <= loss[order[0]] * (1.0 + margin)))
    want_x, want_y = min(3, _n_distinct(x)), min(3, _n_distinct(y))
    while k < len(order):
        idx = order[:k]
        if k >= min_points and _n_distinct(x[idx]) >= want_x and _n_distinct(y[idx]) >= want_y:
            break
        k += 1
    return order[:k]


def _quadratic_minimum(
    x: np.ndarray, y: np.ndarray, loss: np.ndarray
) -> tuple[np.ndarray, float, list[bool]] | str:
    """Minimum (x*, y*) and value of a least-squares quadratic in the dimensions with at least 3
    distinct values, or a sentence saying why there is none. x, y are centred at the best run."""
    active = [_n_distinct(x) >= 3, _n_distinct(y) >= 3]
    if not any(active):
        return "fewer than 3 distinct learning rates and batch sizes near the best"
    dims = [v for v, a in zip((x, y), active) if a]
    cols = [np.ones_like(loss), *dims, *(v * v for v in dims)]
    if len(dims) == 2:
        cols.append(dims[0] * dims[1])
    design = np.column_stack(cols)
    if len(loss) < design.shape[1] + 1 or np.linalg.matrix_rank(design) < design.shape[1]:
        return f"too few runs near the best ({len(loss)}) to fit a quadratic in {len(dims)} variable(s)"
    coef = np.linalg.lstsq(design, loss, rcond=None)[0]
    k = len(dims)
    grad = coef[1 : 1 + k]
    hess = np.diag(2.0 * coef[1 + k : 1 + 2 * k])
    if k == 2:
        hess[0, 1] = hess[1, 0] = coef[5]
    if np.any(np.linalg.eigvalsh(hess) <= 0):
        return "the quadratic surface near the best is not convex"
    z = np.linalg.solve(hess, -grad)
    value = float(coef[0] + 0.5 * grad @ z)
    full = np.zeros(2)
    full[np.array(active)] = z
    return full, value, active


def cell_optimum(
    cell_runs: pd.DataFrame,
    *,
    margin: float = NEAR_BEST_MARGIN,
    min_points: int = MIN_QUADRATIC_POINTS,
    threshold: float = DIVERGED_REL_THRESHOLD,
    initial_loss: float | None = None,
) -> CellOptimum:
    """Smoothed optimum of one (N, D) cell (``cell_runs`` all share one n_params and n_tokens).

    Fits L ≈ c0 + c1·x + c2·y + c3·x² + c4·y² + c5·x·y (x = ln lr, y = ln bs, centred at the best
    run) to the non-diverged runs within ``margin`` (2%) of the cell's least loss, widened in loss order
    to at least ``min_points`` runs with 3 distinct values per swept dimension. A dimension swept
    over fewer than 3 values near the best is held at the best run's value. The optimum is the
    surface's stationary point if the surface is convex there and the point lies within the
    sampled learning rates and batch sizes; otherwise the bare argmin, with ``note`` saying why.
    """
    r = _check_runs(cell_runs)
    if r[CELL_KEYS].drop_duplicates().shape[0] != 1:
        raise LawError("cell_optimum needs the runs of one (n_params, n_tokens) cell")
    diverged = flag_diverged(r, threshold=threshold, initial_loss=initial_loss)
    ok = r[~diverged]
    n, d = float(r["n_params"].iloc[0]), float(r["n_tokens"].iloc[0])
    if ok.empty:
        raise LawError(f"cell N={n:.4g}, D={d:.4g} has no run with a finite, non-diverged loss")
    best = ok.loc[ok["loss"].idxmin()]
    x = np.log(ok["learning_rate"].to_numpy()) - math.log(best["learning_rate"])
    y = np.log(ok["batch_size"].to_numpy()) - math.log(best["batch_size"])
    loss = ok["loss"].to_numpy()
    idx = _near_best(x, y, loss, margin, min_points)
    result = _quadratic_minimum(x[idx], y[idx], loss[idx])
    if not isinstance(result, str):
        z, _, active = result
        dims = (("learning rate", z[0], x, active[0]), ("batch size", z[1], y, active[1]))
        outside = [name for name, zi, v, a in dims if a and not (v.min() - 1e-9 <= zi <= v.max() + 1e-9)]
        if outside:
            result = f"the quadratic's minimum lies outside the sampled {' and '.join(outside)} range"
    common: dict[str, Any] = {
        "n_params": n,
        "n_tokens": d,
        "n_runs": len(r),
        "n_diverged": int(diverged.sum()),
        "best_learning_rate": float(best["learning_rate"]),
        "best_batch_size": float(best["batch_size"]),
        "best_loss": float(best["loss"]),
    }
    if isinstance(result, str):
        return CellOptimum(
            learning_rate=float(best["learning_rate"]),
            batch_size=float(best["batch_size"]),
            loss=float(best["loss"]),
            method="argmin",
            note=f"{result}: used the least-loss run",
            n_used=1,
            **common,
        )
    z, value, _ = result
    return CellOptimum(
        learning_rate=float(best["learning_rate"] * math.exp(z[0])),
        batch_size=float(best["batch_size"] * math.exp(z[1])),
        loss=value,
        method="quadratic",
        note="",
        n_used=len(idx),
        **common,
    )


# --- fitting the two power laws over cells ---------------------------------------------------


@dataclass(frozen=True)
class ParamEstimate:
    """One fitted constant with its standard error and 95% interval; None values carry a ``note``.

    For the coefficients a and b the fit is on ln a (ln b): ``stderr`` is the delta-method a·se(ln a)
    and the interval is exp(ln a ± t·se), asymmetric around a.
    """

    name: str
    value: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return _json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class _LinearFit:
    beta: np.ndarray
    stderr: np.ndarray | None
    ci: np.ndarray | None  # rows (low, high) per coefficient, in log space for intercepts
    residuals: np.ndarray
    note: str


def _ols(design: np.ndarray, target: np.ndarray, bootstrap: int, rng: np.random.Generator) -> _LinearFit:
    n, k = design.shape
    beta = np.linalg.lstsq(design, target, rcond=None)[0]
    residuals = target - design @ beta
    if bootstrap > 0:
        samples = []
        for _ in range(bootstrap):
            pick = rng.integers(0, n, n)
            if np.linalg.matrix_rank(design[pick]) == k:
                samples.append(np.linalg.lstsq(design[pick], target[pick], rcond=None)[0])
        if len(samples) < max(20, bootstrap // 2):
            note = f"only {len(samples)} of {bootstrap} bootstrap resamples of the cells could be fitted"
            return _LinearFit(beta, None, None, residuals, note)
        s = np.array(samples)
        ci = np.percentile(s, [2.5, 97.5], axis=0).T
        return _LinearFit(beta, s.std(axis=0, ddof=1), ci, residuals, "")
    dof = n - k
    if dof < 1:
        return _LinearFit(
            beta,
            None,
            None,
            residuals,
            f"{n} cells for {k} constants leave no degrees of freedom for an error estimate",
        )
    cov = (residuals @ residuals / dof) * np.linalg.inv(design.T @ design)
    se = np.sqrt(np.diag(cov))
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, dof)
    return _LinearFit(beta, se, np.column_stack([beta - t * se, beta + t * se]), residuals, "")


def _estimates(names: tuple[str, ...], fit: _LinearFit) -> dict[str, ParamEstimate]:
    """Intercept (index 0) reported as exp(.), exponents as they are."""
    out = {}
    for i, name in enumerate(names):
        value = float(fit.beta[i])
        se = None if fit.stderr is None else float(fit.stderr[i])
        lo, hi = (None, None) if fit.ci is None else (float(fit.ci[i, 0]), float(fit.ci[i, 1]))
        if i == 0:
            value = math.exp(value)
            se = None if se is None else value * se
            lo, hi = (None, None) if lo is None or hi is None else (math.exp(lo), math.exp(hi))
        out[name] = ParamEstimate(name, value, se, lo, hi, fit.note if se is None else "")
    return out


def _undetermined(names: tuple[str, ...], reason: str) -> dict[str, ParamEstimate]:
    return {name: ParamEstimate(name, None, None, None, None, reason) for name in names}


LR_NAMES = ("lr_coefficient", "lr_exponent_n", "lr_exponent_d")
BS_NAMES = ("bs_coefficient", "bs_exponent_d")


def _distinct_values(values: np.ndarray) -> np.ndarray:
    return np.unique(np.round(np.log(values) / DISTINCT_LOG_TOL))


def _lr_determinable(log_n: np.ndarray, log_d: np.ndarray, n_values: tuple[np.ndarray, np.ndarray]) -> str:
    """'' if p and q can be determined from these cells, else the reason in words."""
    if len(log_n) < 3:
        return f"only {len(log_n)} cell(s) with an optimum: the learning-rate law has 3 constants (a, p, q)"
    if _distinct_values(n_values[0]).size < 2:
        return (
            f"all cells are at one N ({n_values[0][0]:.4g}): "
            "the exponent p of N in lr_opt cannot be determined"
        )
    if _distinct_values(n_values[1]).size < 2:
        return (
            f"all cells are at one D ({n_values[1][0]:.4g}): "
            "the exponent q of D in lr_opt cannot be determined"
        )
    centred = np.column_stack([log_n - log_n.mean(), log_d - log_d.mean()])
    sv = np.linalg.svd(centred / np.linalg.norm(centred, axis=0), compute_uv=False)
    if sv[-1] < 0.1:  # |corr(ln N, ln D)| > 0.995
        return (
            "ln N and ln D are (nearly) collinear across the cells (e.g. one IsoFLOP line or a fixed "
            "tokens-per-parameter ratio): the exponents p and q cannot be told apart"
        )
    return ""


def _bs_determinable(log_d: np.ndarray, d_values: np.ndarray) -> str:
    if len(log_d) < 2:
        return f"only {len(log_d)} cell(s) with an optimum: the batch-size law has 2 constants (b, r)"
    if _distinct_values(d_values).size < 2:
        return (
            f"all cells are at one D ({d_values[0]:.4g}): the exponent r of D in bs_opt cannot be determined"
        )
    return ""


@dataclass(frozen=True, eq=False)
class HyperparamFit:
    """Fitted lr_opt = a·N^p·D^q and bs_opt = b·D^r over a sweep's cells (lmfit style).

    ``params`` holds the five constants (names as in :class:`StepLawConstants`); a constant that
    cannot be determined has value None and a note. ``usable`` is False when either law could not be
    determined or the fit is not finite; ``reasons`` says why in words. ``cells`` is the per-cell
    table (optima, methods, log residuals ln(observed/predicted)).
    """

    params: dict[str, ParamEstimate]
    usable: bool
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    interval_method: str
    n_cells: int
    n_runs: int
    n_diverged: int
    cells: pd.DataFrame
    lr_rmse_log: float | None
    bs_rmse_log: float | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def residuals(self) -> pd.DataFrame:
        return self.cells[[*CELL_KEYS, "lr_residual_log", "bs_residual_log"]]

    @property
    def constants(self) -> StepLawConstants:
        if not self.usable:
            raise LawError("the fit is not usable: " + "; ".join(self.reasons))
        return StepLawConstants(**{k: float(v.value) for k, v in self.params.items() if v.value is not None})

    def to_law(
        self, law_id: str = "your-hyperparam-fit", title: str = "your fit (not verified)"
    ) -> HyperparamLaw:
        """The fit as a law (verified=False), fitted range = the cells' N and D range."""
        cells = self.cells.dropna(subset=["learning_rate"])
        info = LawInfo(
            id=law_id,
            title=title,
            citation="fitted to a user's learning-rate and batch-size sweep",
            url="",
            equation=STEP_LAW_EQUATION,
            source_detail=f"{self.n_cells} cells, {self.n_runs} runs ({self.n_diverged} diverged); "
            f"intervals: {self.interval_method}",
            conventions="As the uploaded sweep: N and D as mapped, batch size in tokens.",
            valid_range=f"N {cells.n_params.min():.3g} to {cells.n_params.max():.3g}, "
            f"D {cells.n_tokens.min():.3g} to {cells.n_tokens.max():.3g}",
            verified=False,
            family="step-law-fit",
            params_meaning="parameters as mapped",
            compute_model="not used: the law takes N and D directly",
        )
        return HyperparamLaw(
            info=info,
            constants=self.constants,
            fitted_n=(float(cells.n_params.min()), float(cells.n_params.max())),
            fitted_d=(float(cells.n_tokens.min()), float(cells.n_tokens.max())),
        )

    def summary(self) -> dict[str, Any]:
        """A strict-JSON-able record (no NaN or Infinity: None, with the reason in a note)."""
        reference = STEP_LAW.parameters
        return _json_safe(
            {
                "usable": self.usable,
                "reasons": list(self.reasons),
                "warnings": list(self.warnings),
                "equation": "lr_opt = lr_coefficient * N^lr_exponent_n * D^lr_exponent_d; "
                "bs_opt = bs_coefficient * D^bs_exponent_d (tokens)",
                "params": {k: v.as_dict() for k, v in self.params.items()},
                "step_law": {"id": STEP_LAW.id, "params": reference},
                "interval_method": self.interval_method,
                "confidence": CONFIDENCE,
                "n_cells": self.n_cells,
                "n_runs": self.n_runs,
                "n_diverged": self.n_diverged,
                "lr_rmse_log": self.lr_rmse_log,
                "bs_rmse_log": self.bs_rmse_log,
                "options": self.options,
                "cells": self.cells.to_dict(orient="records"),
            }
        )


def fit_hyperparams(
    runs: pd.DataFrame,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    optimum: str = "quadratic",
    margin: float = NEAR_BEST_MARGIN,
    threshold: float = DIVERGED_REL_THRESHOLD,
    initial_loss: float | None = None,
) -> HyperparamFit:
    """Fit lr_opt = a·N^p·D^q and bs_opt = b·D^r to a sweep (one row per run).

    ``runs`` columns: n_params, n_tokens, learning_rate, batch_size (tokens), loss. Each cell's
    optimum comes from :func:`cell_optimum` (``optimum="argmin"``: the bare least-loss run). The laws
    are least squares in log space over the cells' optima, each cell weighted equally. Intervals:
    analytic OLS with Student-t 95% intervals when ``bootstrap == 0``; otherwise the 2.5th/97.5th
    percentiles of ``bootstrap`` refits to cells resampled with replacement (``seed``). Degenerate
    sweeps (too few cells, one N, one D, collinear N and D) give ``usable=False`` with the reason;
    bad values (non-positive N, D, lr or batch size; missing columns) raise LawError.
    """
    if optimum not in ("quadratic", "argmin"):
        raise LawError(f"optimum must be 'quadratic' or 'argmin', got {optimum!r}")
    if bootstrap < 0:
        raise LawError(f"bootstrap must be >= 0, got {bootstrap!r}")
    r = _check_runs(runs)
    diverged = flag_diverged(r, threshold=threshold, initial_loss=initial_loss)
    optima, warnings = [], []
    for _, cell in r.groupby(CELL_KEYS, sort=True):
        if diverged[cell.index].all():
            n, d = cell.n_params.iloc[0], cell.n_tokens.iloc[0]
            warnings.append(f"cell N={n:.4g}, D={d:.4g}: every run diverged; skipped")
            continue
        opt = cell_optimum(cell, margin=margin, threshold=threshold, initial_loss=initial_loss)
        if optimum == "argmin":
            opt = dataclasses.replace(
                opt,
                learning_rate=opt.best_learning_rate,
                batch_size=opt.best_batch_size,
                loss=opt.best_loss,
                method="argmin",
                note="argmin requested",
                n_used=1,
            )
        optima.append(opt)
    cells = pd.DataFrame(
        [dataclasses.asdict(o) for o in optima], columns=[f.name for f in dataclasses.fields(CellOptimum)]
    )
    fallbacks = cells[(cells.method == "argmin") & (cells.note != "argmin requested")]
    if len(fallbacks):
        warnings.append(
            f"{len(fallbacks)} of {len(cells)} cells fell back to the bare argmin: "
            + "; ".join(
                f"N={a:.4g}, D={b:.4g}: {c}"
                for a, b, c in zip(fallbacks.n_params, fallbacks.n_tokens, fallbacks.note)
            )
        )

    rng = np.random.default_rng(seed)
    log_n, log_d = np.log(cells.n_params.to_numpy(float)), np.log(cells.n_tokens.to_numpy(float))
    log_lr, log_bs = np.log(cells.learning_rate.to_numpy(float)), np.log(cells.batch_size.to_numpy(float))
    reasons = [] if len(r) else ["no runs"]
    params: dict[str, ParamEstimate] = {}
    cells["lr_residual_log"] = np.nan
    cells["bs_residual_log"] = np.nan
    rmse = {}

    why = _lr_determinable(log_n, log_d, (cells.n_params.to_numpy(float), cells.n_tokens.to_numpy(float)))
    if why:
        reasons.append(f"learning-rate law: {why}")
        params.update(_undetermined(LR_NAMES, why))
    else:
        fit = _ols(np.column_stack([np.ones_like(log_n), log_n, log_d]), log_lr, bootstrap, rng)
        params.update(_estimates(LR_NAMES, fit))
        cells["lr_residual_log"] = fit.residuals
        rmse["lr"] = float(np.sqrt(np.mean(fit.residuals**2)))

    why = _bs_determinable(log_d, cells.n_tokens.to_numpy(float))
    if why:
        reasons.append(f"batch-size law: {why}")
        params.update(_undetermined(BS_NAMES, why))
    else:
        fit = _ols(np.column_stack([np.ones_like(log_d), log_d]), log_bs, bootstrap, rng)
        params.update(_estimates(BS_NAMES, fit))
        cells["bs_residual_log"] = fit.residuals
        rmse["bs"] = float(np.sqrt(np.mean(fit.residuals**2)))

    for p in params.values():
        if p.value is not None and not math.isfinite(p.value):
            reasons.append(f"{p.name} is not finite")
    warnings.extend(_sign_warnings(params))
    method = (
        "percentile bootstrap over cells" + f" ({bootstrap} resamples, seed {seed})"
        if bootstrap
        else "analytic OLS in log space, Student-t 95% intervals"
    )
    return HyperparamFit(
        params=params,
        usable=not reasons,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        interval_method=method,
        n_cells=len(cells),
        n_runs=len(r),
        n_diverged=int(diverged.sum()),
        cells=cells,
        lr_rmse_log=rmse.get("lr"),
        bs_rmse_log=rmse.get("bs"),
        options={
            "optimum": optimum,
            "margin": margin,
            "diverged_threshold": threshold,
            "initial_loss": initial_loss,
            "bootstrap": bootstrap,
            "seed": seed,
        },
    )


def _sign_warnings(params: dict[str, ParamEstimate]) -> list[str]:
    """Advice (not a reason to reject): exponents of the opposite sign to Step Law's."""
    out = []
    for name, ref in dataclasses.asdict(STEP_LAW.constants).items():
        value = params[name].value
        if name.endswith(("_n", "_d")) and value is not None and value * ref < 0:
            out.append(f"{name} = {value:.3g} has the opposite sign to Step Law's {ref}")
    return out


def _json_safe(obj: Any) -> Any:
    """Plain Python values for json.dumps(allow_nan=False): non-finite floats become None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
