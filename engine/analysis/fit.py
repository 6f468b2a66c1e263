"""Fitting the Chinchilla form to runs the way Hoffmann et al. (2022, §3.3, App. D.2) did.

Model, in log space with A = e^a, B = e^b, E = e^e:

    log L̂(N, D) = LSE(a - alpha·ln N,  b - beta·ln D,  e)        (LSE = log-sum-exp)

Objective (Eq. 3): sum_i Huber_delta( log L̂(N_i, D_i) - ln L_i ),  delta = 1e-3, minimised by
L-BFGS from every point of the authors' grid: alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5,
..., 1}; a, b in {0, 5, ..., 25} (4,500 starts); the best final objective wins.

Speed: :func:`batched_lbfgs` runs L-BFGS on all starts at once, as (starts × points) numpy
arrays with an analytic gradient; a start leaves the batch when it converges. Each start follows
the same L-BFGS algorithm a per-start scipy loop would (two-loop recursion, memory 10,
backtracking Armijo line search), so the result is the same kind of answer, found together.

Uncertainty: bootstrap. Each resample is the data drawn with replacement, expressed as integer
weights on the points (the Huber sum over a resample equals the weighted sum), refitted by the
same batched L-BFGS from the full-data optimum. Standard errors are the resamples' standard
deviations; 95% intervals their 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from engine.laws.base import LawInfo
from engine.laws.chinchilla import CHINCHILLA_EQUATION, ChinchillaConstants, ChinchillaLaw, frontier_exponents

HUBER_DELTA = 1e-3
PARAM_NAMES = ("E", "A", "B", "alpha", "beta")
Progress = Callable[[float, str], None]


def hoffmann_grid() -> np.ndarray:
    """The 4,500 initial points (a, b, e, alpha, beta) of Hoffmann et al. App. D.2."""
    alphas = betas = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    abs_ = np.arange(0.0, 25.01, 5.0)
    return np.array(list(itertools.product(abs_, abs_, es, alphas, betas)), dtype=float)


@dataclass(frozen=True)
class FitData:
    log_n: np.ndarray
    log_d: np.ndarray
    log_loss: np.ndarray

    @classmethod
    def from_runs(
        cls, n_params: Sequence[float], n_tokens: Sequence[float], loss: Sequence[float]
    ) -> FitData:
        n, d, l_ = (np.asarray(x, dtype=float) for x in (n_params, n_tokens, loss))
        if not (n.shape == d.shape == l_.shape) or n.ndim != 1:
            raise ValueError("n_params, n_tokens and loss must be 1-D arrays of one length")
        if n.size == 0 or np.any(~np.isfinite(n * d * l_)) or np.any((n <= 0) | (d <= 0) | (l_ <= 0)):
            raise ValueError("every run needs positive, finite parameters, tokens and loss")
        return cls(np.log(n), np.log(d), np.log(l_))

    @property
    def size(self) -> int:
        return self.log_n.size


def objective_and_gradient(
    theta: np.ndarray, data: FitData, weights: np.ndarray | None = None, delta: float = HUBER_DELTA
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Huber objective and its gradient for K parameter rows theta (K, 5) = (a, b, e,
    alpha, beta). Returns (f (K,), g (K, 5)). Rows are processed in chunks that fit in cache."""
    k = theta.shape[0]
    f = np.empty(k)
    g = np.empty((k, 5))
    chunk = max(1, _CHUNK_ELEMENTS // max(data.size, 1))
    for start in range(0, k, chunk):
        stop = min(start + chunk, k)
        w = None if weights is None else weights[start:stop]
        f[start:stop], g[start:stop] = _objective_chunk(theta[start:stop], data, w, delta)
    return f, g


_CHUNK_ELEMENTS = 32_768


def _objective_chunk(
    theta: np.ndarray, data: FitData, weights: np.ndarray | None, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    a, b, e, alpha, beta = (theta[:, i : i + 1] for i in range(5))
    t1 = a - alpha * data.log_n
    t2 = b - beta * data.log_d
    m = np.maximum(np.maximum(t1, t2), e)
    t1 -= m
    t2 -= m
    e1 = np.exp(t1, out=t1)
    e2 = np.exp(t2, out=t2)
    e3 = np.exp(e - m)
    s = e1 + e2
    s += e3
    r = np.log(s)
    r += m
    r -= data.log_loss
    abs_r = np.abs(r)
    huber = np.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))
    psi = np.clip(r, -delta, delta, out=r)
    if weights is not None:
        huber *= weights
        psi *= weights
    psi /= s
    p1 = e1
    p1 *= psi
    p2 = e2
    p2 *= psi
    p3 = e3
    p3 *= psi
    g = np.empty((theta.shape[0], 5))
    g[:, 0] = p1.sum(axis=1)
    g[:, 1] = p2.sum(axis=1)
    g[:, 2] = p3.sum(axis=1)
    g[:, 3] = -(p1 @ data.log_n)
    g[:, 4] = -(p2 @ data.log_d)
    return huber.sum(axis=1), g


@dataclass
class LbfgsResult:
    x: np.ndarray  # (K, 5)
    f: np.ndarray  # (K,)
    converged: np.ndarray  # (K,) bool
    iterations: np.ndarray  # (K,)


def batched_lbfgs(
    fg: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    *,
    memory: int = 10,
    max_iter: int = 1000,
    ftol: float = 1e-12,
    gtol: float = 1e-12,
    stationary_gtol: float = 1e-6,
    progress: Progress | None = None,
    progress_label: str = "fitting",
) -> LbfgsResult:
    """L-BFGS on K independent problems at once. ``fg(x, rows)`` returns (f, g) for the rows of
    x (shape (len(rows), p)); ``rows`` index the original problems (for per-problem data).

    A problem stops when its relative decrease falls below ``ftol`` for 3 iterations in a row,
    or its gradient's largest entry below ``gtol`` (converged), or when a line search finds no
    decrease (converged if the gradient is below ``stationary_gtol``, else not).
    """
    k, p = x0.shape
    x_all = x0.astype(float).copy()
    f_all, g_all = fg(x_all, np.arange(k))
    converged = np.zeros(k, dtype=bool)
    iterations = np.zeros(k, dtype=int)
    active = np.arange(k)
    x, f, g = x_all.copy(), f_all.copy(), g_all.copy()
    s_hist = np.zeros((k, memory, p))
    y_hist = np.zeros((k, memory, p))
    rho = np.zeros((k, memory))
    n_hist = np.zeros(k, dtype=int)  # entries stored, capped at memory (newest at index 0)
    stalls = np.zeros(k, dtype=int)

    for it in range(max_iter):
        if active.size == 0:
            break
        # Two-loop recursion for d = -H g, per problem, over its stored pairs.
        q = g.copy()
        alphas = np.zeros((active.size, memory))
        for j in range(memory):
            use = j < n_hist
            a_j = rho[:, j] * np.einsum("kp,kp->k", s_hist[:, j], q)
            a_j = np.where(use, a_j, 0.0)
            alphas[:, j] = a_j
            q -= a_j[:, None] * y_hist[:, j]
        sy = np.einsum("kp,kp->k", s_hist[:, 0], y_hist[:, 0])
        yy = np.einsum("kp,kp->k", y_hist[:, 0], y_hist[:, 0])
        gamma = np.where(
            n_hist > 0, sy / np.where(yy > 0, yy, 1.0), 1.0 / np.maximum(np.abs(g).max(axis=1), 1e-12)
        )
        r = gamma[:, None] * q
        for j in reversed(range(memory)):
            use = j < n_hist
            b_j = rho[:, j] * np.einsum("kp,kp->k", y_hist[:, j], r)
            r += np.where(use, alphas[:, j] - b_j, 0.0)[:, None] * s_hist[:, j]
        d = -r
        slope = np.einsum("kp,kp->k", g, d)
        bad = ~(slope < 0)  # not a descent direction: restart from steepest descent
        if bad.any():
            d[bad] = -g[bad] / np.maximum(np.abs(g[bad]).max(axis=1, keepdims=True), 1e-12)
            slope[bad] = np.einsum("kp,kp->k", g[bad], d[bad])
            n_hist[bad] = 0

        # Backtracking Armijo line search, all problems together.
        step = np.ones(active.size)
        accepted = np.zeros(active.size, dtype=bool)
        x_new, f_new, g_new = x.copy(), f.copy(), g.copy()
        for _ in range(40):
            todo = np.flatnonzero(~accepted)
            if todo.size == 0:
                break
            trial = x[todo] + step[todo, None] * d[todo]
            f_t, g_t = fg(trial, active[todo])
            ok = np.isfinite(f_t) & (f_t <= f[todo] + 1e-4 * step[todo] * slope[todo])
            hit = todo[ok]
            x_new[hit], f_new[hit], g_new[hit] = trial[ok], f_t[ok], g_t[ok]
            accepted[hit] = True
            step[todo[~ok]] *= 0.5
        # Problems whose line search failed keep x (and are treated as stalled below).

        s_vec = x_new - x
        y_vec = g_new - g
        sy_new = np.einsum("kp,kp->k", s_vec, y_vec)
        store = accepted & (sy_new > 1e-16 * np.maximum(np.einsum("kp,kp->k", y_vec, y_vec), 1e-300))
        if store.any():
            s_hist[store] = np.roll(s_hist[store], 1, axis=1)
            y_hist[store] = np.roll(y_hist[store], 1, axis=1)
            rho[store] = np.roll(rho[store], 1, axis=1)
            s_hist[store, 0] = s_vec[store]
            y_hist[store, 0] = y_vec[store]
            rho[store, 0] = 1.0 / sy_new[store]
            n_hist[store] = np.minimum(n_hist[store] + 1, memory)

        decrease = (f - f_new) / np.maximum(np.abs(f), 1e-300)
        stalls = np.where(decrease < ftol, stalls + 1, 0)
        x, f, g = x_new, f_new, g_new
        iterations[active] += 1
        g_max = np.abs(g).max(axis=1)
        # A line search that finds no decrease at all ends the run; that is convergence (in
        # floating point) when the gradient is already negligible.
        stuck = ~accepted
        done = (stalls >= 3) | (g_max < gtol) | stuck
        conv_now = (stalls >= 3) | (g_max < gtol) | (stuck & (g_max < stationary_gtol))
        x_all[active], f_all[active] = x, f
        converged[active[conv_now]] = True
        if done.any():
            keep = ~done
            active = active[keep]
            x, f, g = x[keep], f[keep], g[keep]
            s_hist, y_hist, rho, n_hist, stalls = (
                s_hist[keep],
                y_hist[keep],
                rho[keep],
                n_hist[keep],
                stalls[keep],
            )
        if progress is not None and it % 10 == 0:
            progress(1.0 - active.size / k, f"{progress_label}: {k - active.size} of {k} converged")
    x_all[active], f_all[active] = x, f
    return LbfgsResult(x_all, f_all, converged, iterations)


def _natural(theta: np.ndarray) -> np.ndarray:
    """(a, b, e, alpha, beta) rows -> (E, A, B, alpha, beta) rows."""
    return np.stack(
        [np.exp(theta[:, 2]), np.exp(theta[:, 0]), np.exp(theta[:, 1]), theta[:, 3], theta[:, 4]], axis=1
    )


@dataclass
class FitResult:
    """A fitted Chinchilla law: values, uncertainty, goodness of fit, convergence (lmfit-style)."""

    params: dict[str, float]
    objective: float
    converged: bool
    n_points: int
    n_starts: int
    log_residuals: np.ndarray  # log L̂ - ln L per point
    predicted: np.ndarray
    actual: np.ndarray
    used: np.ndarray  # indices of the input runs the fit used (after dropping high-loss ones)
    samples: np.ndarray | None = None  # bootstrap constants, rows of (E, A, B, alpha, beta)
    warnings: list[str] = field(default_factory=list)  # advice: the fit is usable but weak
    problems: list[str] = field(default_factory=list)  # reasons the fit is not usable as a law

    @property
    def usable(self) -> bool:
        """Whether the constants describe a law (see :func:`assess_constants`)."""
        return not self.problems

    @property
    def constants(self) -> ChinchillaConstants:
        return ChinchillaConstants(**self.params)

    @property
    def exponent_n_opt(self) -> float:
        return frontier_exponents(self.params["alpha"], self.params["beta"])[0]

    @property
    def exponent_d_opt(self) -> float:
        return frontier_exponents(self.params["alpha"], self.params["beta"])[1]

    @property
    def stderr(self) -> dict[str, float] | None:
        if self.samples is None:
            return None
        return {name: float(v) for name, v in zip(PARAM_NAMES, self.samples.std(axis=0, ddof=1))}

    @property
    def ci95(self) -> dict[str, tuple[float, float]] | None:
        if self.samples is None:
            return None
        lo, hi = np.percentile(self.samples, [2.5, 97.5], axis=0)
        return {name: (float(a), float(b)) for name, a, b in zip(PARAM_NAMES, lo, hi)}

    def exponent_ci95(self) -> dict[str, tuple[float, float]] | None:
        if self.samples is None:
            return None
        a, b = frontier_exponents(self.samples[:, 3], self.samples[:, 4])
        return {
            "exponent_n_opt": _interval(a),
            "exponent_d_opt": _interval(b),
        }

    @property
    def rmse_log(self) -> float:
        return float(np.sqrt(np.mean(self.log_residuals**2)))

    def correlations(self) -> pd.DataFrame | None:
        if self.samples is None or len(self.samples) < 3:
            return None
        logged = np.column_stack([np.log(self.samples[:, :3]), self.samples[:, 3:]])
        names = ["log E", "log A", "log B", "alpha", "beta"]
        return pd.DataFrame(np.corrcoef(logged, rowvar=False), index=names, columns=names)

    def allocation(self, flops: Sequence[float] | float) -> pd.DataFrame:
        """N*(C), D*(C) at each budget, with 95% bootstrap intervals when available."""
        c = np.atleast_1d(np.asarray(flops, dtype=float))
        best = ChinchillaLaw(info=_FIT_INFO, constants=self.constants).optimal(c)
        out = pd.DataFrame(
            {"flops": c, "n_params": best.n_params, "n_tokens": best.n_tokens, "loss": best.loss}
        )
        if self.samples is not None:
            band = allocation_band(self.samples, c)
            out = out.join(band.drop(columns="flops"))
        return out

    def record(self, selection: dict) -> dict:
        """What the fits table stores: the summary, the bootstrap samples and the data selection."""
        return {
            **self.summary(),
            "samples": None if self.samples is None else self.samples.tolist(),
            "selection": selection,
        }

    def summary(self) -> dict:
        """A JSON-able record: what the CLI prints and the fits table stores."""
        return {
            "n_points": self.n_points,
            "params": self.params,
            "stderr": self.stderr,
            "ci95": self.ci95,
            "objective": self.objective,
            "converged": self.converged,
            "exponent_n_opt": self.exponent_n_opt,
            "exponent_d_opt": self.exponent_d_opt,
            "exponent_ci95": self.exponent_ci95(),
            "rmse_log_loss": self.rmse_log,
            "n_starts": self.n_starts,
            "n_bootstrap": 0 if self.samples is None else len(self.samples),
            "usable": self.usable,
            "problems": self.problems,
            "warnings": self.warnings,
            "min_loss": float(np.min(self.actual)) if self.actual.size else None,
        }


_FIT_INFO = LawInfo(
    id="fit",
    title="fitted Chinchilla form",
    citation="fitted to user-selected runs",
    url="",
    equation=CHINCHILLA_EQUATION,
    source_detail="",
    conventions="",
    valid_range="",
    verified=True,
    family="fit",
)


def _interval(values: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles (a 95% interval)."""
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def allocation_band(samples: np.ndarray, flops: ArrayLike) -> pd.DataFrame:
    """2.5th and 97.5th percentiles of N*(C) and D*(C) over bootstrap constants (E, A, B, alpha,
    beta) rows, from the closed-form frontier of each sample."""
    s = np.asarray(samples, dtype=float)
    s = s[np.all(np.isfinite(s), axis=1) & np.all(s[:, 1:] > 0, axis=1)]  # resamples without a frontier
    c = np.asarray(flops, dtype=float)
    if len(s) == 0:
        nan = np.full(c.shape, np.nan)
        return pd.DataFrame(
            {"flops": c, "n_params_lo": nan, "n_params_hi": nan, "n_tokens_lo": nan, "n_tokens_hi": nan}
        )
    spread = ChinchillaLaw(
        info=_FIT_INFO, constants=ChinchillaConstants(*(s[:, i : i + 1] for i in range(5)))
    ).optimal(c)
    n_lo, n_hi = np.percentile(spread.n_params, [2.5, 97.5], axis=0)
    d_lo, d_hi = np.percentile(spread.n_tokens, [2.5, 97.5], axis=0)
    return pd.DataFrame(
        {"flops": c, "n_params_lo": n_lo, "n_params_hi": n_hi, "n_tokens_lo": d_lo, "n_tokens_hi": d_hi}
    )


def fitted_law(
    law_id: str, name: str, params: dict[str, float], *, fitted_on: str, problems: Sequence[str] = ()
) -> ChinchillaLaw:
    """A saved fit as a law the pages can use beside the published ones. It is never verified:
    nothing checked it against a source. ``problems`` (from :func:`assess_constants`) travel
    with it and are shown wherever it is used."""
    return ChinchillaLaw(
        info=LawInfo(
            id=law_id,
            title=f"Your fit: {name} (not verified)",
            citation=f"Fitted in FLOPwise: {fitted_on}",
            url="https://arxiv.org/abs/2203.15556",
            equation=CHINCHILLA_EQUATION,
            source_detail="Hoffmann et al.'s method: Huber (delta 1e-3) on log loss, L-BFGS from their 4,500 "
            "starts",
            conventions="As the fitted runs: their parameter convention and loss data set.",
            valid_range="The compute range of the fitted runs.",
            verified=False,
            family="fit",
            user_fit=True,
            fitted_on=fitted_on,
            problems=tuple(problems),
        ),
        constants=ChinchillaConstants(**{k: float(params[k]) for k in PARAM_NAMES}),
    )


# Phase 1 runs every start to about scipy L-BFGS-B's own default stopping point (its factr=1e7
# is a relative decrease of ~2e-9 of max(|f|, 1), i.e. ~2e-6 of these small objectives); phase 2
# refines the best few distinct candidates to a tight tolerance.
_PHASE1: dict[str, Any] = {"ftol": 1e-6, "max_iter": 300}
_PHASE2: dict[str, Any] = {"ftol": 1e-12, "max_iter": 3000}
_REFINE = 20


def _best_of_grid(data: FitData, progress: Progress | None) -> tuple[np.ndarray, float, bool, int]:
    grid = hoffmann_grid()

    def fg(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return objective_and_gradient(x, data)

    coarse = batched_lbfgs(fg, grid, progress=progress, progress_label="initialisations", **_PHASE1)
    order = np.argsort(np.where(np.isfinite(coarse.f), coarse.f, np.inf))
    _, first = np.unique(np.round(coarse.x[order], 4), axis=0, return_index=True)
    candidates = coarse.x[order[np.sort(first)[:_REFINE]]]
    fine = batched_lbfgs(fg, candidates, **_PHASE2)
    best = int(np.nanargmin(fine.f))
    return fine.x[best], float(fine.f[best]), bool(fine.converged[best]), len(grid)


# Beyond these a fitted constant has run off rather than converged: the initial grid spans
# alpha, beta in [0, 2] and ln A, ln B in [0, 25]; published exponents lie in 0.05-0.8.
MAX_EXPONENT = 3.0
MAX_LOG_COEFFICIENT = 35.0  # ln A or ln B; e^35 = 1.6e15
# A loss floor E below this fraction of the lowest observed loss has collapsed towards zero:
# the data do not show an irreducible loss and the fit trades E against A and B.
MIN_FLOOR_FRACTION = 0.01


def assess_constants(params: dict[str, float], *, min_loss: float | None = None) -> list[str]:
    """Reasons, in words, why fitted Chinchilla constants are not usable as a law (empty: usable).

    Not usable: a constant that is not finite; an exponent alpha or beta <= 0 (loss would not
    fall with that resource; the frontier has no real solution) or above MAX_EXPONENT; ln A or
    ln B above MAX_LOG_COEFFICIENT (ran to a bound); E below MIN_FLOOR_FRACTION of the lowest
    observed loss ``min_loss`` (the floor collapsed)."""
    problems = []
    values = {name: float(params.get(name, np.nan)) for name in PARAM_NAMES}
    for name, value in values.items():
        if not np.isfinite(value):
            problems.append(
                f"{name} is {'infinite' if np.isinf(value) else 'not a number'}: the optimiser ran away."
            )
    for name, what in (("alpha", "parameters"), ("beta", "tokens")):
        value = values[name]
        if np.isfinite(value) and value <= 0:
            problems.append(
                f"{name} = {value:.3g} is not positive: the loss would not fall with more {what}, "
                "so there is no compute-optimal allocation."
            )
        elif np.isfinite(value) and value > MAX_EXPONENT:
            problems.append(
                f"{name} = {value:.3g} is far outside the initial grid (0 to 2) and every "
                "published value (0.05 to 0.8): the optimiser ran to a bound."
            )
    for name in ("A", "B"):
        value = values[name]
        if np.isfinite(value) and value > 0 and np.log(value) > MAX_LOG_COEFFICIENT:
            problems.append(f"{name} = {value:.3g} ran to a bound (above e^{MAX_LOG_COEFFICIENT:g}).")
    floor = values["E"]
    if min_loss is not None and np.isfinite(floor) and floor < MIN_FLOOR_FRACTION * min_loss:
        problems.append(
            f"The loss floor E = {floor:.3g} collapsed towards zero (under {MIN_FLOOR_FRACTION:.0%} "
            f"of the lowest loss, {min_loss:.3g}): these runs do not determine an irreducible loss."
        )
    return problems


def _diagnose(data: FitData, result: FitResult) -> list[str]:
    notes = []
    if data.size < 20:
        notes.append(f"Only {data.size} runs for 5 constants: the fit is poorly determined; 50 or more help.")
    if np.unique(np.round(data.log_d, 6)).size == 1:
        notes.append("All runs have one token count: B and beta cannot be determined from these runs.")
    if np.unique(np.round(data.log_n, 6)).size == 1:
        notes.append("All runs have one model size: A and alpha cannot be determined from these runs.")
    if result.ci95:
        for name in ("E", "A", "B"):
            lo, hi = result.ci95[name]
            if lo > 0 and hi / lo > 10:
                notes.append(
                    f"The 95% interval of {name} spans more than an order of magnitude ({lo:.3g} to "
                    f"{hi:.3g})."
                )
    if not result.converged:
        notes.append("The optimiser stopped before converging; treat the constants with care.")
    return notes


def fit_chinchilla(
    n_params: Sequence[float],
    n_tokens: Sequence[float],
    loss: Sequence[float],
    *,
    drop_top_loss: int = 0,
    exclude: Sequence[int] = (),
    bootstrap: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
) -> FitResult:
    """Fit L = E + A/N^alpha + B/D^beta to runs (Hoffmann's method); optional bootstrap.

    ``exclude``: positions of runs to leave out (outliers); then the ``drop_top_loss``
    highest-loss of the rest are left out. ``result.used`` holds the positions fitted."""
    if drop_top_loss < 0 or bootstrap < 0:
        raise ValueError("drop_top_loss and bootstrap must be >= 0")
    data = FitData.from_runs(n_params, n_tokens, loss)
    keep = np.ones(data.size, dtype=bool)
    excluded = np.asarray(exclude, dtype=int)
    if excluded.size and (excluded.min() < 0 or excluded.max() >= data.size):
        raise ValueError(f"runs to exclude must be positions 0 to {data.size - 1}")
    keep[excluded] = False
    if drop_top_loss:
        if drop_top_loss >= keep.sum():
            raise ValueError(f"cannot drop {drop_top_loss} of {keep.sum()} runs")
        candidates = np.flatnonzero(keep)
        highest = candidates[np.argsort(data.log_loss[candidates], kind="stable")[::-1][:drop_top_loss]]
        keep[highest] = False
    used = np.flatnonzero(keep)
    if used.size < data.size:
        data = FitData(data.log_n[used], data.log_d[used], data.log_loss[used])
    if data.size < 5:
        raise ValueError(
            f"{data.size} runs cannot determine 5 constants; need at least 5 (50 or more is better)"
        )

    theta, objective, converged, n_starts = _best_of_grid(data, progress)
    samples = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(data.size, np.full(data.size, 1.0 / data.size), size=bootstrap).astype(
            float
        )
        fg = lambda x, rows: objective_and_gradient(x, data, weights[rows])
        boot = batched_lbfgs(
            fg,
            np.repeat(theta[None, :], bootstrap, axis=0),
            progress=progress,
            progress_label="bootstrap resamples",
            ftol=1e-12,
            max_iter=3000,
        )
        samples = _natural(boot.x)
    natural = _natural(theta[None, :])[0]
    params = {name: float(v) for name, v in zip(PARAM_NAMES, natural)}
    law = ChinchillaLaw(info=_FIT_INFO, constants=ChinchillaConstants(**params))
    predicted = law.loss(np.exp(data.log_n), np.exp(data.log_d))
    result = FitResult(
        params=params,
        objective=objective,
        converged=converged,
        n_points=data.size,
        n_starts=n_starts,
        log_residuals=np.log(predicted) - data.log_loss,
        predicted=predicted,
        actual=np.exp(data.log_loss),
        used=used,
        samples=samples,
    )
    result.warnings = _diagnose(data, result)
    result.problems = assess_constants(params, min_loss=float(np.exp(data.log_loss.min())))
    if not (np.isfinite(objective) and np.all(np.isfinite(result.log_residuals))):
        result.problems.append(
            "The residuals are not finite numbers: the fitted law cannot reproduce the runs."
        )
    if progress is not None:
        progress(1.0, "done")
    return result
