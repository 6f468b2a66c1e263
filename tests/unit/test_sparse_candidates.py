"""2:4 weight sparsity and FP8 training as Plan candidate dimensions (issue 14, point 4): the loss
gain from Frantar et al.'s T5 constants, training at the dense size's cost and serving from the 2:4
layout, each worked by hand here; FP8's loss penalty from Sun et al.'s worked numbers and its
training hours at the FP8 peak; and both on the fronts of a device that has them."""

from __future__ import annotations

import dataclasses
import math

import pytest

from engine.analysis import plan
from engine.analysis.registry import get_law
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog

CATALOG, GRIDS = load_catalog(), load_grid_intensities()
INPUTS = plan.PlanInputs()
LAW = get_law(INPUTS.plan_law)
GRID = GRIDS[INPUTS.region]
N, D = 1e9, 2e10
DENSE, SPARSE = plan.Candidate(N, D), plan.Candidate(N, D, sparsity=0.5)

# Frantar et al.'s T5 fit in its notebook's units (N in millions of non-zero parameters), from
# ../shared/reference/laws_serving_compression.md §8: a_S 0.56778512, b_S 0.72161276, b_N 0.24513173.
# At the same non-zero N (and D, whose term cancels) the 2:4 model's loss differs by
# a_S·((1 − 0.5)^b_S − 1)·N^(−b_N): 0.5^0.72161276 = 0.606418, 1000^(−0.24513173) = 0.183917,
# 0.56778512 × (−0.393582) × 0.183917 = −0.041100.
SPARSE_GAIN_1E9 = -0.041100

# serving memory at batch 1 without a draft: weights plus one sequence's 4,096 tokens of 16-bit KV.
# The 2:4 model keeps its dense size's shape (2e9): 18 layers, 8 KV heads of 128, so
# 2·8·128·18·2 = 73,728 bytes per token, × 4,096 = 0.30199 GB. Weights: 1e9 kept values of 2 bytes
# and a 2-bit index each on an H100 (2.25 GB); on a TPU v5p (no sparse tensor cores) the zeros are
# stored too: 2e9 × 2 bytes (4 GB).
KV_2E9_GB = 2 * 8 * 128 * 18 * 2 * 4096 / 1e9


def point(candidate: plan.Candidate, device: str = "h100-sxm") -> dict:
    return plan.candidate_point(INPUTS, LAW, CATALOG[device], GRID, candidate)


def test_a_2_4_model_gains_frantars_sparsity_term_at_the_same_non_zero_size():
    gain = point(SPARSE)["loss"] - point(DENSE)["loss"]
    assert gain == pytest.approx(SPARSE_GAIN_1E9, abs=2e-6)


def test_a_2_4_model_trains_at_its_dense_size_cost():
    assert SPARSE.training_flops == pytest.approx(6 * N * D / 0.5)  # 2.4e20
    assert point(SPARSE)["flops"] == pytest.approx(2.4e20)
    assert point(DENSE)["flops"] == pytest.approx(1.2e20)


def test_a_2_4_model_holds_its_kept_weights_and_indices_only_where_the_device_has_sparse_cores():
    assert point(SPARSE)["memory_gb"] == pytest.approx(N * (2 + 0.25) / 1e9 + KV_2E9_GB, rel=1e-9)
    assert point(SPARSE, "tpu-v5p")["memory_gb"] == pytest.approx(2 * N * 2 / 1e9 + KV_2E9_GB, rel=1e-9)
    assert CATALOG["h100-sxm"].sparse_2_4 and not CATALOG["tpu-v5p"].sparse_2_4
    assert not CATALOG["v100-sxm2"].sparse_2_4  # 2:4 sparse tensor cores came with Ampere


def test_scenario_b_can_be_a_2_4_model_from_its_url_word():
    a = plan.evaluate(INPUTS, LAW, CATALOG["h100-sxm"], GRIDS)
    b = plan.evaluate_candidate(
        a, plan.Candidate.from_param("1e9_2e10_1_16_0.5"), LAW, CATALOG["h100-sxm"], GRIDS
    )
    assert b.flops == pytest.approx(2.4e20) and b.candidate.sparsity == 0.5
    frame = plan.results_frame(a, b)
    assert list(frame["sparsity"]) == [0.0, 0.5]


def test_2_4_models_reach_the_fronts_on_an_h100_and_the_words_say_so():
    inputs = dataclasses.replace(INPUTS, front_objective="memory_gb")
    view = plan.front_view(inputs, LAW, CATALOG["h100-sxm"], GRID, "memory_gb", budget=1e23)
    shares = view.front["sparsity"].value_counts()
    assert shares.get(0.5, 0) > 0 and shares.get(0.0, 0) > 0
    assert "2:4 sparse" in plan.front_words(view)
    # every candidate on the front is within the budget, the sparse ones at their dense-size cost
    assert (view.front["flops"] <= 1e23 * (1 + 1e-9)).all()
    # sizes × token shares × experts × serving bits × sparsity × training format
    assert view.count == 125 * 100 * len(plan.EXPERTS) * len(plan.SERVING_BITS) * 2 * 2 == 1_000_000


def test_a_sparsity_other_than_2_4_is_refused():
    with pytest.raises(ValueError, match="sparsity must be one of"):
        plan.Candidate(N, D, sparsity=0.3)
    assert math.isclose(plan.Candidate(N, D).training_flops, 1.2e20)


def test_fp8_training_costs_sun_et_als_penalty_and_half_the_h100_training_hours():
    # Sun et al. 2025 (reference §11): at N 1e9, D 1e11, block 128, E4M3 gives 2.5631 and BF16
    # (E8M7) 2.5626 nats/token: FP8 adds 0.0005 (each rounded to 4 places, so within 1e-4)
    dense, fp8 = plan.Candidate(N, 1e11), plan.Candidate(N, 1e11, fp8_training=True)
    assert point(fp8)["loss"] - point(dense)["loss"] == pytest.approx(0.0005, abs=1e-4)
    # same FLOPs; the catalog's H100 runs FP8 at 1,978.9 against BF16's 989.4 TFLOP/s
    train_hours = 6 * N * 1e11 / (989.4e12 * INPUTS.mfu_train) / 3600
    a = plan.evaluate(INPUTS, LAW, CATALOG["h100-sxm"], GRIDS)
    b = plan.evaluate_candidate(a, fp8, LAW, CATALOG["h100-sxm"], GRIDS)
    assert b.train.device_hours == pytest.approx(train_hours * 989.4 / 1978.9)
    assert fp8.to_param() == "1e09_1e11_1_16_0_fp8" and plan.Candidate.from_param(fp8.to_param()) == fp8


def test_fp8_trained_models_reach_the_cost_front_only_where_the_device_has_an_fp8_peak():
    for device, expected in (("h100-sxm", True), ("a100-80gb", False)):
        view = plan.front_view(INPUTS, LAW, CATALOG[device], GRID, "cost_usd", budget=1e23)
        assert bool(view.front["fp8_training"].any()) is expected, device
    # latency and memory do not count training: an FP8 twin only adds loss there
    view = plan.front_view(INPUTS, LAW, CATALOG["h100-sxm"], GRID, "latency_ms", budget=1e23)
    assert not view.front["fp8_training"].any()
