"""Step Law (Li et al. 2025) and fitting it to a learning-rate and batch-size sweep.

Every expected number comes from outside engine.analysis.hyperparams: the paper's formula written out by
hand, the authors' bootstrap CSV, or the constants a synthetic sweep was generated with.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from engine.analysis.hyperparams import (
    STEP_LAW,
    STEP_LAW_BOOTSTRAP_MEDIAN,
    best_per_cell,
    cell_optimum,
    fit_hyperparams,
    flag_diverged,
    recommend_hyperparams,
)
from engine.errors import LawError

# --- the published law -------------------------------------------------------------------------


def test_paper_law_at_a_hand_computed_point():
    n, d = 1e9, 1e11
    lr = 1.79 * 1e9**-0.713 * 1e11**0.307  # eta = 1.79 · N^-0.713 · D^0.307
    bs = 0.58 * 1e11**0.571  # B = 0.58 · D^0.571 tokens
    # by hand: 10^(-9·0.713 + 11·0.307) = 10^-3.04 = 9.1201e-4; 10^(11·0.571) = 10^6.281 = 1.90985e6
    assert lr == pytest.approx(1.79 * 9.1201e-4, rel=1e-4)
    assert bs == pytest.approx(0.58 * 1.90985e6, rel=1e-4)
    assert float(STEP_LAW.learning_rate(n, d)) == pytest.approx(lr, rel=1e-12)
    assert float(STEP_LAW.batch_size_tokens(d)) == pytest.approx(bs, rel=1e-12)
    rec = recommend_hyperparams(n, d)
    assert rec.as_dict() == pytest.approx({"learning_rate": lr, "batch_size_tokens": bs}, rel=1e-12)
    assert set(rec.as_dict()) == {"learning_rate", "batch_size_tokens"}
    assert rec.batch_size_sequences(2048) == pytest.approx(bs / 2048)


def test_bootstrap_median_constants_are_the_authors():
    # medians of step-law/steplaw data/1004_fitted_lr_bs_scaling_model_parameters.csv
    n, d = 4e8, 4e10
    lr = math.exp(0.5780096927745788) * n**-0.7122430902287895 * d**0.3069826948009491
    bs = math.exp(-0.5562999967903401) * d**0.5713119902180508
    got = STEP_LAW_BOOTSTRAP_MEDIAN.recommend(n, d)
    assert got.learning_rate == pytest.approx(lr, rel=1e-12)
    assert got.batch_size_tokens == pytest.approx(bs, rel=1e-12)
    # the rounded law is within 2% of the median fit at this point
    assert STEP_LAW.recommend(n, d).learning_rate == pytest.approx(lr, rel=0.02)


def test_law_is_vectorised_and_documents_its_conventions():
    n = np.array([1e8, 1e9, 1e10])
    d = np.array([[1e10], [1e11]])
    assert STEP_LAW.learning_rate(n, d).shape == (2, 3)
    assert STEP_LAW.batch_size_tokens(d).shape == (2, 1)
    info = STEP_LAW.info
    assert "2503.04715" in info.citation and info.url.endswith("2503.04715")
    assert "non-embedding" in info.conventions and "tokens" in info.conventions
    assert info.verified and info.params_meaning == "non-embedding parameters"


@pytest.mark.parametrize("bad", [0.0, -1e9, float("nan"), float("inf")])
def test_law_rejects_non_positive_inputs_naming_them(bad):
    with pytest.raises(LawError, match="n_params"):
        STEP_LAW.learning_rate(bad, 1e10)
    with pytest.raises(LawError, match="n_tokens"):
        STEP_LAW.learning_rate(1e9, bad)
    with pytest.raises(LawError, match="n_tokens"):
        STEP_LAW.batch_size_tokens(bad)


def test_extrapolation_is_flagged_outside_the_dense_grid():
    # dense grid in the authors' released data: N 2.15e8-1.07e9, D 4e9-1e11
    inside = STEP_LAW.outside_fitted_range([3e8, 1e9], [1e10, 1e11])
    assert not inside.any()
    assert STEP_LAW.outside_fitted_range([7e9, 3e8], [1e10, 1.4e12]).all()
    assert STEP_LAW.extrapolation_warning(5e8, 2e10) is None
    assert "extrapolation" in STEP_LAW.extrapolation_warning(7e9, 1.4e12)


# --- a synthetic sweep -------------------------------------------------------------------------

P, Q, R = -0.7, 0.3, 0.57  # generating exponents
A, B = 1.2, 0.5  # lr* = A·N^P·D^Q; bs* = B·D^R tokens
NS = [1e8, 3e8, 1e9]
DS = [2e9, 1e10, 5e10]
C_LR, C_BS = 0.03, 0.015  # curvature of the loss in ln(lr) and ln(bs)
TOLERANCE = 0.02  # on each exponent


def sweep(cells=None, seed=0, diverged_per_cell=2) -> pd.DataFrame:
    """Per cell a 7 × 7 grid (factors of 2) around the optimum, offset by a random fraction of a
    step so the optimum is off-grid; loss = L0 + C_LR·ln²(lr/lr*) + C_BS·ln²(bs/bs*) + noise; plus
    diverged runs (loss 8) at learning rates 16× the optimum."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, d in itertools.product(NS, DS) if cells is None else cells:
        lr_star, bs_star = A * n**P * d**Q, B * d**R
        base = 1.7 + 400 * n**-0.34 + 400 * d**-0.28
        u, v = rng.uniform(-0.5, 0.5, 2)
        for i, j in itertools.product(range(-3, 4), range(-3, 4)):
            lr, bs = lr_star * 2.0 ** (i + u), bs_star * 2.0 ** (j + v)
            loss = base + C_LR * math.log(lr / lr_star) ** 2 + C_BS * math.log(bs / bs_star) ** 2
            rows.append((n, d, lr, bs, loss + rng.normal(0, 2e-4), False))
        for j in range(diverged_per_cell):
            rows.append((n, d, lr_star * 2.0 ** (4 + u), bs_star * 2.0 ** (j + v), 8.0, True))
    columns = ["n_params", "n_tokens", "learning_rate", "batch_size", "loss", "planted"]
    return pd.DataFrame(rows, columns=columns)


def test_diverged_runs_are_flagged_and_only_they():
    runs = sweep()
    flags = flag_diverged(runs)
    assert flags.index.equals(runs.index)
    assert (flags == runs.planted).all()
    assert flags.sum() == 2 * 9
    # with an initial loss (ln of a 50k vocabulary = 10.8) nothing more is flagged; at 5 the same runs
    assert (flag_diverged(runs, initial_loss=math.log(50_000)) == runs.planted).all()
    assert (flag_diverged(runs, threshold=10, initial_loss=5.0) == runs.planted).all()


def test_best_per_cell_is_the_least_loss_run_with_counts():
    runs = sweep()
    best = best_per_cell(runs)
    assert len(best) == 9 and (best.n_runs == 49 + 2).all()
    for _, row in best.iterrows():
        cell = runs[(runs.n_params == row.n_params) & (runs.n_tokens == row.n_tokens)]
        assert row.loss == cell.loss.min()
        assert row.learning_rate == cell.loc[cell.loss.idxmin(), "learning_rate"]


def test_cell_optimum_is_the_quadratic_minimum_not_the_grid_point():
    runs = sweep(cells=[(3e8, 1e10)])
    opt = cell_optimum(runs)
    lr_star, bs_star = A * 3e8**P * 1e10**Q, B * 1e10**R
    assert opt.method == "quadratic" and opt.note == ""
    assert opt.n_diverged == 2 and opt.n_used >= 8
    assert math.log(opt.learning_rate / lr_star) == pytest.approx(0, abs=0.02)
    assert math.log(opt.batch_size / bs_star) == pytest.approx(0, abs=0.03)
    # the grid's best point is off the optimum by a fraction of a step
    assert abs(math.log(opt.best_learning_rate / lr_star)) > abs(math.log(opt.learning_rate / lr_star))


def test_cell_optimum_falls_back_to_argmin_at_the_grid_edge():
    runs = sweep(cells=[(3e8, 1e10)], diverged_per_cell=0)
    lr_star = A * 3e8**P * 1e10**Q
    edge = runs[runs.learning_rate > lr_star * 1.5]  # the optimum lies below every sampled lr
    opt = cell_optimum(edge)
    assert opt.method == "argmin" and "outside the sampled learning rate range" in opt.note
    assert opt.learning_rate == opt.best_learning_rate


def test_fit_recovers_the_generating_exponents():
    runs = sweep()
    fit = fit_hyperparams(runs)
    assert fit.usable, fit.reasons
    assert fit.n_cells == 9 and fit.n_runs == len(runs) and fit.n_diverged == 18
    got = {k: v.value for k, v in fit.params.items()}
    assert got["lr_exponent_n"] == pytest.approx(P, abs=TOLERANCE)
    assert got["lr_exponent_d"] == pytest.approx(Q, abs=TOLERANCE)
    assert got["bs_exponent_d"] == pytest.approx(R, abs=TOLERANCE)
    assert got["lr_coefficient"] == pytest.approx(A, rel=0.3)
    assert got["bs_coefficient"] == pytest.approx(B, rel=0.3)
    for name, truth in [("lr_exponent_n", P), ("lr_exponent_d", Q), ("bs_exponent_d", R)]:
        est = fit.params[name]
        assert est.stderr > 0 and est.ci_low < truth < est.ci_high
    assert (fit.cells.method == "quadratic").all()
    assert len(fit.residuals) == 9 and fit.residuals.lr_residual_log.abs().max() < 0.05
    # the bare argmin per cell is off-grid and recovers the exponents worse
    bare = fit_hyperparams(runs, optimum="argmin")
    err = lambda f: sum(
        abs(f.params[k].value - t)
        for k, t in [("lr_exponent_n", P), ("lr_exponent_d", Q), ("bs_exponent_d", R)]
    )
    assert err(fit) < err(bare)


def test_bootstrap_intervals_over_cells():
    fit = fit_hyperparams(sweep(), bootstrap=200, seed=1)
    assert fit.usable and "bootstrap" in fit.interval_method
    est = fit.params["bs_exponent_d"]
    assert est.ci_low < R < est.ci_high
    again = fit_hyperparams(sweep(), bootstrap=200, seed=1)
    assert again.params["bs_exponent_d"].ci_low == est.ci_low  # reproducible with the seed


# --- degenerate sweeps: usable=False with the reason, no exception ---------------------------


def test_one_cell_is_not_usable():
    fit = fit_hyperparams(sweep(cells=[(3e8, 1e10)]))
    assert not fit.usable
    assert any("only 1 cell" in r for r in fit.reasons)
    assert all(p.value is None and p.note for p in fit.params.values())
    with pytest.raises(LawError, match="not usable"):
        fit.to_law()


def test_all_cells_at_one_n_cannot_determine_p():
    fit = fit_hyperparams(sweep(cells=[(3e8, d) for d in DS]))
    assert not fit.usable
    assert any("one N" in r and "exponent p" in r for r in fit.reasons)
    assert fit.params["lr_exponent_n"].value is None
    # the batch-size law depends on D only and is still determined
    assert fit.params["bs_exponent_d"].value == pytest.approx(R, abs=TOLERANCE)


def test_collinear_cells_cannot_separate_p_and_q():
    fit = fit_hyperparams(sweep(cells=[(n, 20 * n) for n in NS]))  # 20 tokens per parameter
    assert not fit.usable
    assert any("collinear" in r for r in fit.reasons)


def test_bad_values_raise_naming_the_column():
    runs = sweep(cells=[(3e8, 1e10)])
    runs.loc[3, "learning_rate"] = -1.0
    with pytest.raises(LawError, match="learning_rate"):
        fit_hyperparams(runs)
    with pytest.raises(LawError, match="batch_size"):
        fit_hyperparams(runs.drop(columns="batch_size"))


# --- strict JSON ------------------------------------------------------------------------------


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "runs",
    [sweep(), sweep(cells=[(3e8, 1e10)]), sweep(cells=[(3e8, d) for d in DS]), sweep(cells=[])],
    ids=["good", "one-cell", "one-N", "empty"],
)
def test_summary_is_strict_json(runs):
    summary = fit_hyperparams(runs.drop(columns="planted")).summary()
    back = _strict(json.dumps(summary))
    assert back["usable"] == summary["usable"]
    assert set(back["params"]) == {
        "lr_coefficient",
        "lr_exponent_n",
        "lr_exponent_d",
        "bs_coefficient",
        "bs_exponent_d",
    }
    for est in back["params"].values():
        assert est["value"] is not None or est["note"]
    if not back["usable"]:
        assert back["reasons"]


def test_fit_becomes_an_unverified_law():
    law = fit_hyperparams(sweep()).to_law()
    assert not law.info.verified and "not verified" in law.info.title
    n, d = 3e8, 1e10
    assert law.recommend(n, d).learning_rate == pytest.approx(A * n**P * d**Q, rel=0.05)
    assert not law.outside_fitted_range(n, d) and law.outside_fitted_range(1e10, d)
