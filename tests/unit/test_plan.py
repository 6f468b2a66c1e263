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


def test_a_million_candidates_over_size_tokens_precision_and_experts():
    inputs = plan.PlanInputs()
    args = (inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region])
    frame = plan.candidates(*args)
    assert len(frame) >= 1_000_000
    assert set(frame["serve_bits"]) == set(plan.SERVING_BITS) and set(frame["experts"]) == set(plan.EXPERTS)
    for objective in plan.OBJECTIVES:
        assert 0 < frame[f"pareto_{objective}"].sum() < len(frame)
    # memory: a 4-bit or sparse model is the better buy somewhere on the front
    memory_front = frame[frame["pareto_memory_gb"]]
    assert memory_front["serve_bits"].nunique() > 1 and memory_front["experts"].nunique() > 1
    # the dimensions act as their laws say
    # a model inside the joint law's fitted range: ~1B active parameters on ~20 tokens per parameter
    pick = ((frame.n_params / 1e9).map(abs).sub(1).abs() + (frame.n_tokens / frame.n_params / 20 - 1).abs()).idxmin()
    one = frame[(frame.n_params == frame.n_params[pick]) & (frame.n_tokens == frame.n_tokens[pick])]
    dense16 = one[(one.experts == 1) & (one.serve_bits == 16)].iloc[0]
    assert (one[one.experts == 8].memory_gb.max() > one[one.experts == 1].memory_gb.max())
    assert one[(one.experts == 1) & (one.serve_bits == 4)].loss.iloc[0] > dense16.loss  # PTQ damage
    assert one[(one.experts == 8) & (one.serve_bits == 16)].loss.iloc[0] < dense16.loss  # MoE gain


def test_candidates_within_a_budget_and_a_memory_limit():
    inputs = dataclasses.replace(plan.PlanInputs(), memory_limit_gb=40.0)
    frame = plan.candidates(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region],
                            budget=1e22, objectives=("memory_gb",))
    assert (frame.flops <= 1e22 * (1 + 1e-9)).all() and (frame.memory_gb <= 40.0).all() and len(frame) > 100_000
    view, count = plan.front_view(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region],
                                  "memory_gb", budget=1e22)
    assert count == len(frame) and view["pareto_memory_gb"].sum() == frame["pareto_memory_gb"].sum()


@pytest.mark.parametrize("memory_limit_gb", [0.0, 60.0])
def test_the_reduced_front_is_the_front_of_all_candidates(memory_limit_gb):
    # the front is found on per-(N, D) least losses where an objective ignores bits and experts;
    # it must equal the plain front of every candidate, ties included
    from engine.pareto import pareto_mask

    inputs = dataclasses.replace(plan.PlanInputs(), memory_limit_gb=memory_limit_gb)
    frame = plan.candidates(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS[inputs.region],
                            n_sizes=60, n_ratios=40, budget=1e22)
    for objective in plan.OBJECTIVES:
        expected = pareto_mask(frame[["loss", objective]].to_numpy())
        assert (frame[f"pareto_{objective}"].to_numpy() == expected).all(), objective


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
