"""Fitting the Chinchilla form: recovery of known constants, the published refit's intervals,
the bootstrap and the diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.analysis.fit import FitData, batched_lbfgs, fit_chinchilla, hoffmann_grid, objective_and_gradient
from engine.analysis.isoflop import group_budgets, isoflop_analysis
from engine.laws.chinchilla import CHINCHILLA_EPOCH
from engine.paths import REPO_ROOT

TRUE = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def synthetic_sweep(noise: float, seed: int = 0, budgets=np.logspace(18, 22, 9), per_budget: int = 12):
    """IsoFLOP-style sweep drawn from the Epoch constants with multiplicative loss noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        n_star = float(CHINCHILLA_EPOCH.optimal(c).n_params)
        for n in n_star * np.logspace(-0.8, 0.8, per_budget):
            d = c / (6 * n)
            loss = float(CHINCHILLA_EPOCH.loss(n, d)) * (1 + noise * rng.standard_normal())
            rows.append((n, d, c, loss))
    return pd.DataFrame(rows, columns=["n_params", "n_tokens", "flops", "loss"])


def test_grid_is_hoffmanns_4500_starts():
    grid = hoffmann_grid()
    assert grid.shape == (4500, 5)
    assert set(np.unique(grid[:, 3])) == {0.0, 0.5, 1.0, 1.5, 2.0}
    assert set(np.unique(grid[:, 0])) == {0.0, 5.0, 10.0, 15.0, 20.0, 25.0}


def test_analytic_gradient_matches_finite_differences():
    sweep = synthetic_sweep(0.005)
    data = FitData.from_runs(sweep.n_params, sweep.n_tokens, sweep.loss)
    theta = np.array([[6.0, 7.5, 0.55, 0.33, 0.36], [5.0, 8.0, 0.6, 0.3, 0.4]])
    _, g = objective_and_gradient(theta, data)
    h = 1e-7
    for j in range(5):
        step = np.zeros_like(theta)
        step[:, j] = h
        numeric = (
            objective_and_gradient(theta + step, data)[0] - objective_and_gradient(theta - step, data)[0]
        ) / (2 * h)
        assert g[:, j] == pytest.approx(numeric, rel=1e-4, abs=1e-9)


def test_batched_lbfgs_minimises_independent_quadratics():
    centres = np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0]])
    fg = lambda x, rows: (
        ((x - centres[rows]) ** 2 * [1.0, 10.0]).sum(axis=1),
        2 * (x - centres[rows]) * [1.0, 10.0],
    )
    result = batched_lbfgs(fg, np.zeros((3, 2)), gtol=1e-10)
    assert result.converged.all()
    assert result.x == pytest.approx(centres, abs=1e-6)


def test_synthetic_sweep_recovers_the_constants():
    sweep = synthetic_sweep(0.005)
    result = fit_chinchilla(sweep.n_params, sweep.n_tokens, sweep.loss)
    assert result.converged
    assert result.params["alpha"] == pytest.approx(TRUE["alpha"], abs=0.01)
    assert result.params["beta"] == pytest.approx(TRUE["beta"], abs=0.01)
    assert result.params["E"] == pytest.approx(TRUE["E"], abs=0.01)


def test_shipped_chinchilla_runs_fit_within_besiroglu_intervals():
    runs = pd.read_csv(REPO_ROOT / "datasets" / "hoffmann2022_chinchilla_runs.csv")
    result = fit_chinchilla(runs.N, runs.D, runs.loss, drop_top_loss=5, bootstrap=100, seed=1)
    p = result.params
    assert 285 <= p["A"] <= 744 and 1042 <= p["B"] <= 5810 and 1.769 <= p["E"] <= 1.871
    assert 0.317 <= p["alpha"] <= 0.373 and 0.331 <= p["beta"] <= 0.415
    assert result.n_points == 229 and result.converged
    # the bootstrap gives an interval around each constant, and the exponent's interval
    for name, (lo, hi) in result.ci95.items():
        assert lo <= p[name] <= hi and result.stderr[name] > 0
    lo, hi = result.exponent_ci95()["exponent_n_opt"]
    assert lo < result.exponent_n_opt < hi
    alloc = result.allocation([1e21, 1e23])
    assert (alloc.n_params_lo < alloc.n_params).all() and (alloc.n_params < alloc.n_params_hi).all()


def test_bootstrap_is_reproducible_with_a_seed():
    sweep = synthetic_sweep(0.01, per_budget=6)
    a = fit_chinchilla(sweep.n_params, sweep.n_tokens, sweep.loss, bootstrap=20, seed=7)
    b = fit_chinchilla(sweep.n_params, sweep.n_tokens, sweep.loss, bootstrap=20, seed=7)
    assert np.array_equal(a.samples, b.samples)


def test_warnings_in_words_when_the_data_cannot_pin_the_law_down():
    sweep = synthetic_sweep(0.005, budgets=[1e19, 1e20], per_budget=4)
    result = fit_chinchilla(sweep.n_params, sweep.n_tokens, sweep.loss)
    assert any("Only 8 runs" in w for w in result.warnings)
    one_d = pd.DataFrame({"n": np.logspace(8, 10, 12), "d": 1e10})
    one_d["loss"] = CHINCHILLA_EPOCH.loss(one_d.n, one_d.d)
    result = fit_chinchilla(one_d.n, one_d.d, one_d.loss)
    assert any("one token count" in w for w in result.warnings)


def test_bad_fit_requests_are_refused():
    with pytest.raises(ValueError, match="at least 5"):
        fit_chinchilla([1e9] * 3, [1e10] * 3, [2.5] * 3)
    with pytest.raises(ValueError, match="positive"):
        fit_chinchilla([1e9, -1], [1e10, 1e10], [2.5, 2.6])


def test_isoflop_analysis_recovers_the_exponent():
    sweep = synthetic_sweep(0.0)
    result = isoflop_analysis(sweep.n_params, sweep.flops, sweep.loss)
    true_a = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
    assert result.exponent_n_opt == pytest.approx(true_a, abs=0.01)
    lo, hi = result.exponent_n_opt_ci95
    assert lo <= result.exponent_n_opt <= hi
    assert result.budgets["used"].sum() == 9


def test_budget_grouping_tolerates_digitisation_jitter():
    flops = np.array([1e19, 1.02e19, 0.98e19, 1e20, 1.05e20, 1e21])
    labels = group_budgets(flops, tolerance_decades=0.05)
    assert len(set(labels)) == 3 and labels[0] == labels[1] == labels[2]


def test_isoflop_analysis_needs_three_budgets():
    sweep = synthetic_sweep(0.0, budgets=[1e19, 1e20])
    with pytest.raises(ValueError, match="at least 3 budgets"):
        isoflop_analysis(sweep.n_params, sweep.flops, sweep.loss)
