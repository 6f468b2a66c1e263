"""Fits that say when they are wrong: degenerate fits are reported not usable, in words; a law
whose constants have no frontier raises a clear LawError (never a complex-number TypeError);
the CLI's JSON is strict JSON whatever the fit gave."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given

from engine.analysis import registry, scaling
from engine.analysis.fit import assess_constants, fit_chinchilla, fitted_law
from engine.cli import main, strict_json
from engine.errors import LawError
from tests.strategies import nested_json


def strict_loads(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (what a strict parser does)."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def collinear_runs(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nine runs at 20 tokens per parameter (N and D move together, so A/N^a and B/D^b cannot be
    told apart), Chinchilla's constants with 1% noise."""
    rng = np.random.default_rng(seed)
    n = np.logspace(8, 10, 9)
    d = 20 * n * np.exp(rng.normal(0, 0.02, 9))
    loss = (1.69 + 406.4 / n**0.34 + 410.7 / d**0.28) * np.exp(rng.normal(0, 0.01, 9))
    return n, d, loss


def test_nine_collinear_runs_are_not_usable_and_say_why():
    result = fit_chinchilla(*collinear_runs())
    assert not result.usable
    assert result.summary()["usable"] is False
    assert any("collapsed" in p or "not positive" in p for p in result.problems), result.problems


def test_a_sweep_whose_loss_floor_collapses_is_not_usable():
    # generated with no irreducible loss at all: L = 50/N^0.2 + 30/D^0.15
    rng = np.random.default_rng(0)
    n = np.logspace(7, 9, 30)
    d = np.logspace(9, 11, 30)[rng.permutation(30)]
    result = fit_chinchilla(n, d, 50 / n**0.2 + 30 / d**0.15)
    assert not result.usable
    assert any("loss floor" in p and "collapsed" in p for p in result.problems)


def test_published_like_fit_is_usable():
    # a full grid generated from Besiroglu et al.'s constants: nothing to complain about
    n, d = (g.ravel() for g in np.meshgrid(np.logspace(7.5, 10, 8), np.logspace(9, 11.5, 8)))
    loss = 1.8172 + 482.01 / n**0.3478 + 2085.43 / d**0.3658
    result = fit_chinchilla(n, d, loss)
    assert result.usable, result.problems
    assert result.params["alpha"] == pytest.approx(0.3478, rel=0.01)


def test_the_runaway_moe_fit_has_three_reasons():
    # what a Step Law MoE sweep fitted to: A = Infinity, alpha = 106, E = 3e-108
    problems = assess_constants(
        {"E": 3e-108, "A": math.inf, "B": 2.0, "alpha": 106.0, "beta": 0.3}, min_loss=2.1
    )
    text = " ".join(problems)
    assert "A is infinite" in text
    assert "alpha = 106" in text
    assert "collapsed" in text


def test_negative_exponent_law_raises_a_clear_law_error_not_a_type_error():
    law = fitted_law(
        "fit:bad",
        "bad",
        {"E": 0.5, "A": 300.0, "B": 9.0, "alpha": 0.31, "beta": -0.059},
        fitted_on="9 runs",
        problems=assess_constants({"E": 0.5, "A": 300.0, "B": 9.0, "alpha": 0.31, "beta": -0.059}),
    )
    assert law.info.problems and "beta = -0.059 is not positive" in law.info.problems[0]
    with pytest.raises(LawError, match=r"beta = -0\.059 is not positive"):
        law.optimal(5.76e23)
    with pytest.raises(LawError, match="not positive"):
        law.target(2.0)
    assert not registry.has_compute_optimum(law)
    table = scaling.optima_table([law], 5.76e23)
    assert "not positive" in table.loc[0, "error"]


def test_a_user_fit_is_never_verified_and_says_what_it_was_fitted_on():
    from datetime import datetime

    row = {
        "name": "my **sweep**",
        "n_points": 245,
        "created_at": datetime(2026, 12, 1),
        "record": {
            "params": {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37},
            "selection": {"sources": ["user"], "uploads": ["runs.csv"], "drop_top_loss": 5},
        },
    }
    law, _ = registry.saved_fit_laws([row])["fit:my **sweep**"]
    assert law.info.verified is False and law.info.user_fit
    assert "not verified" in law.info.title
    assert (
        "245 runs" in law.info.fitted_on
        and "runs.csv" in law.info.fitted_on
        and "5 highest-loss" in law.info.fitted_on
    )
    assert law.info.problems == ()


def test_an_old_saved_fit_is_assessed_from_its_constants():
    row = {
        "name": "old",
        "n_points": 9,
        "created_at": None,
        "record": {"params": {"E": 0.5, "A": 300.0, "B": 9.0, "alpha": 0.31, "beta": -0.059}},
    }
    law, _ = registry.saved_fit_laws([row])["fit:old"]
    assert any("beta" in p for p in law.info.problems)


@given(nested_json)
def test_strict_json_always_gives_strict_json(value):
    clean, nulls = strict_json(value)
    strict_loads(json.dumps(clean, allow_nan=False))
    assert all(reason in ("NaN (not a number)", "Infinity", "-Infinity") for reason in nulls.values())


def test_cli_fit_of_a_degenerate_sweep_prints_strict_json(tmp_path, capsys):
    n, d, loss = collinear_runs()
    path = tmp_path / "collinear.csv"
    path.write_text(
        "params,tokens,loss\n" + "".join(f"{a:.6g},{b:.6g},{c:.6g}\n" for a, b, c in zip(n, d, loss))
    )
    assert main(["fit", str(path), "--bootstrap", "20", "--json"]) == 0
    captured = capsys.readouterr()
    result = strict_loads(captured.out)
    assert result["usable"] is False and result["problems"]
    assert "not usable" in captured.err


def test_cli_json_names_the_values_that_were_not_finite(capsys, monkeypatch):
    import engine.cli as cli

    monkeypatch.setattr(
        cli, "cmd_laws", lambda args: {"params": {"A": math.inf, "E": 3e-108}, "rmse": math.nan}
    )
    assert main(["laws", "--json"]) == 0
    result = strict_loads(capsys.readouterr().out)
    assert result["params"] == {"A": None, "E": 3e-108} and result["rmse"] is None
    assert result["null_values"] == {"params.A": "Infinity", "rmse": "NaN (not a number)"}
