"""2:4 weight sparsity as a Plan candidate dimension (issue 14, point 4): the loss gain from Frantar
et al.'s T5 constants, training at the dense size's cost and serving from the 2:4 layout, each
worked by hand here; and the 2:4 models on the fronts of a device with sparse tensor cores."""

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
    assert view.count == 250 * 100 * len(plan.EXPERTS) * len(plan.SERVING_BITS) * 2


def test_a_sparsity_other_than_2_4_is_refused():
    with pytest.raises(ValueError, match="sparsity must be one of"):
        plan.Candidate(N, D, sparsity=0.3)
    assert math.isclose(plan.Candidate(N, D).training_flops, 1.2e20)
