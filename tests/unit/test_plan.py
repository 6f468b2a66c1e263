"""The Plan model: scenario to recommendation, footprint, fronts and export."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine import plan
from engine.carbon import load_grid_intensities
from engine.hardware import load_catalog
from engine.registry import get_law

CATALOG, GRIDS = load_catalog(), load_grid_intensities()


def run(**changes) -> plan.PlanResult:
    inputs = dataclasses.replace(plan.PlanInputs(), **changes)
    return plan.evaluate(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS)


def test_budget_mode_recommends_the_law_optimum():
    result = run(log10_flops=23.0)
    expected = get_law("chinchilla-epoch").optimal(1e23).scalar()
    assert result.n_params == pytest.approx(expected["n_params"]) and result.loss == pytest.approx(expected["loss"])
    h100 = CATALOG["h100-sxm"]
    assert result.train.device_hours == pytest.approx(1e23 / (989.4e12 * 0.4) / 3600)
    assert result.train.cost_usd == pytest.approx(result.train.device_hours * 2.0)


def test_devices_times_days_sets_the_budget():
    result = run(plan_mode="Devices × days", n_devices=4000, days=30)
    assert result.flops == pytest.approx(4000 * 30 * 86400 * 989.4e12 * 0.4)
    assert result.train.wall_days == pytest.approx(30)


def test_target_mode_reaches_the_loss():
    result = run(plan_mode="Target loss", target_loss=2.1)
    assert result.loss == pytest.approx(2.1)


def test_region_changes_carbon_and_nothing_else():
    us, fr = run(region="United States"), run(region="France")
    assert fr.train.co2_kg < us.train.co2_kg / 5
    same = ("flops", "n_params", "n_tokens", "loss")
    assert all(getattr(us, f) == getattr(fr, f) for f in same)
    assert (us.train.energy_kwh, us.train.cost_usd, us.total_cost_usd) == (fr.train.energy_kwh, fr.train.cost_usd, fr.total_cost_usd)


def test_candidates_number_at_least_100k_and_fronts_are_marked():
    inputs = plan.PlanInputs()
    frame = plan.candidates(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region])
    assert len(frame) >= 100_000
    for objective in ("cost_usd", "co2_t", "latency_ms"):
        assert 0 < frame[f"pareto_{objective}"].sum() < len(frame)
    within = plan.candidates(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region], budget=1e22)
    assert (within.flops <= 1e22 * (1 + 1e-9)).all()


def test_export_parses_back_to_the_same_inputs():
    inputs = dataclasses.replace(plan.PlanInputs(), log10_flops=24.3, region="France", use_custom_grid=True,
                                 custom_grid=12.5, inference_tokens_t=3.0)
    result = plan.evaluate(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS)
    text = plan.export_json(result, get_law(inputs.plan_law), CATALOG[inputs.hardware])
    assert plan.import_json(text) == inputs
    data = json.loads(text)
    assert data["law"]["citation"].startswith("Besiroglu") and data["law"]["parameters"]["alpha"] == 0.3478
    assert data["results"]["grid_g_per_kwh"] == 12.5


def test_bad_scenarios_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="mfu_train is a fraction"):
        plan.PlanInputs(mfu_train=1.5)
    with pytest.raises(ValueError, match="unknown scenario fields"):
        plan.PlanInputs.from_json({"budget": 1})
    with pytest.raises(ValueError, match="not a FLOPwise scenario"):
        plan.import_json("{}")
