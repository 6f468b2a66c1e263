"""The Plan model: scenario to recommendation, footprint, fronts and export."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from engine.analysis import plan
from engine.analysis.registry import get_law
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog

CATALOG, GRIDS = load_catalog(), load_grid_intensities()


def run(**changes) -> plan.PlanResult:
    inputs = dataclasses.replace(plan.PlanInputs(), **changes)
    return plan.evaluate(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS)


def test_budget_mode_recommends_the_law_optimum():
    result = run(log10_flops=23.0)
    expected = get_law("chinchilla-epoch").optimal(1e23).scalar()
    assert result.n_params == pytest.approx(expected["n_params"]) and result.loss == pytest.approx(
        expected["loss"]
    )
    CATALOG["h100-sxm"]
    assert result.train.device_hours == pytest.approx(1e23 / (989.4e12 * 0.4) / 3600)
    assert result.train.cost_usd == pytest.approx(result.train.device_hours * 2.0)


def test_devices_times_days_sets_the_budget():
    result = run(plan_mode=plan.PlanMode.DEVICES_DAYS, n_devices=4000, days=30)
    assert result.flops == pytest.approx(4000 * 30 * 86400 * 989.4e12 * 0.4)
    assert result.train.wall_days == pytest.approx(30)


def test_target_mode_reaches_the_loss():
    result = run(plan_mode=plan.PlanMode.TARGET_LOSS, target_loss=2.1)
    assert result.loss == pytest.approx(2.1)


def test_region_changes_carbon_and_nothing_else():
    us, fr = run(region="United States"), run(region="France")
    assert fr.train.co2_kg < us.train.co2_kg / 5
    same = ("flops", "n_params", "n_tokens", "loss")
    assert all(getattr(us, f) == getattr(fr, f) for f in same)
    assert (us.train.energy_kwh, us.train.cost_usd, us.total_cost_usd) == (
        fr.train.energy_kwh,
        fr.train.cost_usd,
        fr.total_cost_usd,
    )


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
    pick = (
        (frame.n_params / 1e9).map(abs).sub(1).abs() + (frame.n_tokens / frame.n_params / 20 - 1).abs()
    ).idxmin()
    one = frame[(frame.n_params == frame.n_params[pick]) & (frame.n_tokens == frame.n_tokens[pick])]
    dense16 = one[(one.experts == 1) & (one.serve_bits == 16)].iloc[0]
    assert one[one.experts == 8].memory_gb.max() > one[one.experts == 1].memory_gb.max()
    assert one[(one.experts == 1) & (one.serve_bits == 4)].loss.iloc[0] > dense16.loss  # PTQ damage
    assert one[(one.experts == 8) & (one.serve_bits == 16)].loss.iloc[0] < dense16.loss  # MoE gain


def test_candidates_within_a_budget_and_a_memory_limit():
    inputs = dataclasses.replace(plan.PlanInputs(), memory_limit_gb=40.0)
    frame = plan.candidates(
        inputs,
        get_law(inputs.plan_law),
        CATALOG[inputs.hardware],
        GRIDS[inputs.region],
        budget=1e22,
        objectives=("memory_gb",),
    )
    assert (
        (frame.flops <= 1e22 * (1 + 1e-9)).all() and (frame.memory_gb <= 40.0).all() and len(frame) > 100_000
    )
    view = plan.front_view(
        inputs,
        get_law(inputs.plan_law),
        CATALOG[inputs.hardware],
        GRIDS[inputs.region],
        "memory_gb",
        budget=1e22,
    )
    assert (
        view.count == len(frame) and view.frame["pareto_memory_gb"].sum() == frame["pareto_memory_gb"].sum()
    )
    # the window frames the front; the background is thinned to at most one candidate per cell
    front = frame[frame["pareto_memory_gb"]]
    assert view.x_range[0] < front["memory_gb"].min() and view.x_range[1] > front["memory_gb"].max()
    assert view.loss_range[0] < front["loss"].min() and view.loss_range[1] > front["loss"].max()
    cells_x, cells_y = plan.BACKGROUND_CELLS
    assert (~view.frame["pareto_memory_gb"]).sum() <= cells_x * cells_y


@pytest.mark.parametrize("memory_limit_gb", [0.0, 60.0])
def test_the_reduced_front_is_the_front_of_all_candidates(memory_limit_gb):
    # the front is found on per-(N, D) least losses where an objective ignores bits and experts;
    # it must equal the plain front of every candidate, ties included
    from engine.analysis.pareto import pareto_mask

    inputs = dataclasses.replace(plan.PlanInputs(), memory_limit_gb=memory_limit_gb)
    frame = plan.candidates(
        inputs,
        get_law(inputs.plan_law),
        CATALOG[inputs.hardware],
        GRIDS[inputs.region],
        n_sizes=60,
        n_ratios=40,
        budget=1e22,
    )
    for objective in plan.OBJECTIVES:
        expected = pareto_mask(frame[["loss", objective]].to_numpy())
        assert (frame[f"pareto_{objective}"].to_numpy() == expected).all(), objective


def test_export_parses_back_to_the_same_inputs():
    inputs = dataclasses.replace(
        plan.PlanInputs(),
        log10_flops=24.3,
        region="France",
        use_custom_grid=True,
        custom_grid=12.5,
        inference_tokens=3e12,
    )
    result = plan.evaluate(inputs, get_law(inputs.plan_law), CATALOG[inputs.hardware], GRIDS)
    text = plan.export_json(result, get_law(inputs.plan_law), CATALOG[inputs.hardware])
    assert plan.import_json(text) == inputs
    data = json.loads(text)
    assert data["law"]["citation"].startswith("Besiroglu") and data["law"]["parameters"]["alpha"] == 0.3478
    assert data["results"]["grid_g_per_kwh"] == 12.5


def test_a_scenario_exported_by_the_first_schema_opens_in_engine_units():
    # flopwise.plan/1 held the page's words and units: "Target loss", 2.5 trillion tokens, front "memory"
    old = {
        "schema": "flopwise.plan/1",
        "inputs": {
            "plan_mode": "Target loss",
            "target_loss": 2.1,
            "inference_tokens_t": 2.5,
            "plan_front": "memory",
        },
    }
    inputs = plan.import_json(json.dumps(old))
    assert inputs.plan_mode is plan.PlanMode.TARGET_LOSS and inputs.target_loss == 2.1
    assert inputs.inference_tokens == 2.5e12 and inputs.front_objective == "memory_gb"
    with pytest.raises(ValueError, match=r"this file says 'flopwise\.plan/9'"):
        plan.import_json(json.dumps({**old, "schema": "flopwise.plan/9"}))


def test_the_modes_are_the_engine_enum_and_refuse_page_words():
    assert plan.PlanInputs(plan_mode="devices_days").plan_mode is plan.PlanMode.DEVICES_DAYS
    with pytest.raises(ValueError, match="plan_mode must be one of"):
        plan.PlanInputs(plan_mode="Devices × days")  # the page's label, not the engine's mode


def test_bad_scenarios_are_refused_with_the_field_named():
    with pytest.raises(plan.PlanError, match=r"mfu_train \(a fraction of peak\) must be .* at most 1"):
        plan.PlanInputs(mfu_train=1.5)
    with pytest.raises(ValueError, match="unknown scenario fields"):
        plan.PlanInputs.from_json({"budget": 1})
    with pytest.raises(ValueError, match="not a FLOPwise scenario"):
        plan.import_json("{}")


# Besiroglu et al. 2024, Table 1 (the chinchilla-epoch law), written here by hand
EPOCH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def epoch_loss(n: float, d: float) -> float:
    return EPOCH["E"] + EPOCH["A"] / n ** EPOCH["alpha"] + EPOCH["B"] / d ** EPOCH["beta"]


def test_a_candidate_travels_in_one_url_word_and_bad_words_are_refused():
    b = plan.Candidate(7.05e10, 1.41e12, 8, 4.0)
    assert b.to_param() == "7.05e10_1.41e12_8_4"  # no "+": it reads as a space in a query string
    assert plan.Candidate.from_param(b.to_param()) == b
    sparse = plan.Candidate(1e9, 2e10, 1, 16.0, 0.5)  # 2:4: a fifth number; a dense word keeps four
    assert (
        sparse.to_param() == "1e09_2e10_1_16_0.5" and plan.Candidate.from_param("1e9_2e10_1_16_0.5") == sparse
    )
    for word, reason in (
        ("abc", "numbers joined by _"),
        ("1e9_2e10_3_16", "experts must be one of"),
        ("1e9_2e10_1_5", "serving bits must be one of"),
        ("-1e9_2e10_1_16", "n_params must be a positive"),
        ("1e9_x_1_16", "numbers joined by _"),
        ("1e9_2e10_1_16_0.3", "sparsity must be one of"),
        ("1e9_2e10_1_16_0.5_1", "numbers joined by _"),
    ):
        with pytest.raises(ValueError, match=reason):
            plan.Candidate.from_param(word)


def test_scenario_b_is_the_candidate_it_names():
    a = run(log10_flops=23.0)
    b = plan.evaluate_candidate(
        a, plan.Candidate(1e10, 5e11), get_law("chinchilla-epoch"), CATALOG["h100-sxm"], GRIDS
    )
    assert b.flops == pytest.approx(6 * 1e10 * 5e11)
    assert b.loss == pytest.approx(epoch_loss(1e10, 5e11), abs=1e-9)  # dense 16-bit: the law itself
    assert b.train.device_hours == pytest.approx(6 * 1e10 * 5e11 / (989.4e12 * 0.4) / 3600)
    moe = plan.evaluate_candidate(
        a, plan.Candidate(1e10, 5e11, 8, 4.0), get_law("chinchilla-epoch"), CATALOG["h100-sxm"], GRIDS
    )
    # 8 experts keep more weights (N_total > N_active) even at 4 bits, and the memory is theirs,
    # with one sequence's KV cache: the default shape of 1e10 is 32 layers with 8 KV heads of 128,
    # so 4,096 tokens × 2 (K, V) × 8 × 128 × 32 × 2 bytes = 0.537 GB
    assert moe.point["total_params"] > 3e10 and moe.point["memory_gb"] == pytest.approx(
        moe.point["total_params"] * (4 + 16 / 64) / 8 / 1e9 + 4096 * 2 * 8 * 128 * 32 * 2 / 1e9, rel=1e-6
    )
    assert moe.inference.weight_bytes == pytest.approx(moe.point["total_params"] * 4 / 8)
    # a decode step at batch 1 reads the routed experts' weights: 1e10 × 4 bits, a quarter of the
    # dense 16-bit model's bytes (both add the same KV cache), over 3.35 TB/s
    kv = b.inference.kv_cache_bytes
    assert moe.inference.decode_s_per_step == pytest.approx((1e10 * 4 / 8 + kv) / 3.35e12, rel=1e-6)
    assert b.inference.decode_s_per_step == pytest.approx((1e10 * 16 / 8 + kv) / 3.35e12, rel=1e-6)


def test_the_recommendation_is_on_its_own_candidate_table():
    a = run(log10_flops=23.0)
    assert a.point["loss"] == pytest.approx(a.loss) and a.point["cost_usd"] == pytest.approx(a.total_cost_usd)
    assert a.point["co2_t"] == pytest.approx(a.total_co2_kg / 1000)


def test_front_gap_says_how_far_a_point_lies_above_a_front():
    import pandas as pd

    front = pd.DataFrame({"cost_usd": [1.0, 2.0, 4.0], "loss": [3.0, 2.5, 2.2]})
    gap = plan.front_gap(front, "cost_usd", 3.0, 2.9)  # at cost 3 the front reaches 2.5
    assert gap["gap"] == pytest.approx(0.4) and gap["row"]["cost_usd"] == 2.0
    assert plan.front_gap(front, "cost_usd", 2.0, 2.5) is None  # on the front
    assert plan.front_gap(front, "cost_usd", 0.5, 4.0) is None  # cheaper than anything on it


def test_gpt3_footprint_from_the_plan_inputs():
    # Patterson et al. 2021, Table 4: GPT-3 on 10,000 V100s, 3.14e23 FLOPs, 330 W measured average
    # power, PUE 1.1, 429 gCO2e/kWh: 1,287 MWh and 552 tCO2e
    result = run(
        log10_flops=math.log10(3.14e23),
        hardware="v100-sxm2",
        train_dtype="fp16",
        n_devices=10_000,
        mfu_train=0.197,
        power_w=330.0,
        pue=1.1,
        use_custom_grid=True,
        custom_grid=429.0,
        inference_tokens=0.0,
    )
    assert result.train.energy_kwh / 1000 == pytest.approx(1287, rel=0.02)
    assert result.train.co2_kg / 1000 == pytest.approx(552, rel=0.02)
    assert result.train.wall_days == pytest.approx(14.8, rel=0.02)  # 3.14e23 / (1e4 × 125e12 × 0.197) / 86400


def test_a_device_with_an_estimated_power_says_so_unless_the_user_gives_one():
    estimated = run(hardware="tpu-v5p")
    assert estimated.train.energy_kwh is not None
    assert any("is an estimate" in note for note in estimated.notes)
    entered = run(hardware="tpu-v5p", power_w=400.0)
    assert not any("is an estimate" in note for note in entered.notes)
    # energy scales with the entered power: kWh = device-hours × W / 1000 × PUE
    assert entered.train.energy_kwh == pytest.approx(entered.train.device_hours * 400.0 / 1000 * 1.1)
