"""Train compute-optimal, over-train or distil (engine.analysis.shrink): hand calculations in
Busbridge et al.'s constants and the properties the comparison must have."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis import registry
from engine.analysis.shrink import (
    COLUMNS,
    COMPUTE_OPTIMAL,
    DISTIL,
    OVERTRAIN,
    SHRINK_OPTIONS,
    shrink_options,
    supervised_flops_at_size,
)
from engine.errors import LawError
from engine.laws.distillation import BUSBRIDGE_STUDENT

# Busbridge et al. Eq. 1 (reference §9)
E, A, B, ALPHA, BETA, GAMMA = 1.220, 3355.0, 18186.0, 0.408, 0.431, 0.452
STRONG = {"teacher_params": 7e9, "teacher_tokens": 1e12}  # Eq. 1 gives L_T ≈ 1.914
WEAK = {"teacher_params": 1.5e9, "teacher_tokens": 3e10}  # L_T ≈ 2.289


def rows(frame):
    return {row["option"]: row for row in frame.to_dict("records")}


def test_three_options_each_naming_its_law():
    frame = shrink_options(2.3, 1e12, **STRONG)
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["option"]) == [COMPUTE_OPTIMAL, OVERTRAIN, DISTIL]
    assert list(frame["law"]) == [
        "busbridge2025-supervised",
        "busbridge2025-supervised",
        "busbridge2025-student",
    ]
    assert "C4" in frame.attrs["loss_data_set"] and frame.attrs["formula"] == SHRINK_OPTIONS.id
    assert SHRINK_OPTIONS in registry.COMPRESSION_FORMULAS


def test_compute_optimal_row_by_hand():
    # L = l  <=>  A/N^α + B/D^β = g = (l - E)^(1/γ); the least 6ND there is Chinchilla's closed form
    loss = 2.3
    g = (loss - E) ** (1 / GAMMA)
    n = (A * (ALPHA / BETA + 1) / g) ** (1 / ALPHA)
    d = (B * (BETA / ALPHA + 1) / g) ** (1 / BETA)
    row = rows(shrink_options(loss, 1e12, **STRONG))[COMPUTE_OPTIMAL]
    assert row["n_params"] == pytest.approx(n, rel=1e-9) and row["n_tokens"] == pytest.approx(d, rel=1e-9)
    assert row["student_train_flops"] == pytest.approx(6 * n * d, rel=1e-9)
    assert row["inference_flops"] == pytest.approx(2 * n * 1e12, rel=1e-9)
    assert row["lifetime_flops"] == pytest.approx(6 * n * d + 2 * n * 1e12, rel=1e-9)


@pytest.mark.parametrize("loss", [2.4, 2.3, 2.15, 2.05])
@pytest.mark.parametrize("demand", [1e10, 1e12, 1e14])
def test_over_training_never_costs_more_over_the_lifetime(loss, demand):
    opts = rows(shrink_options(loss, demand, **STRONG))
    over, optimal = opts[OVERTRAIN], opts[COMPUTE_OPTIMAL]
    assert over["lifetime_flops"] <= optimal["lifetime_flops"] * (1 + 1e-12)
    assert over["n_params"] < optimal["n_params"] and over["n_tokens"] > optimal["n_tokens"]
    # both reach the target under Eq. 1
    n, d = over["n_params"], over["n_tokens"]
    assert E + (A / n**ALPHA + B / d**BETA) ** GAMMA == pytest.approx(loss, abs=1e-9)


def test_without_demand_over_training_is_compute_optimal():
    opts = rows(shrink_options(2.3, 0.0, **STRONG))
    assert opts[OVERTRAIN]["n_params"] == pytest.approx(opts[COMPUTE_OPTIMAL]["n_params"], rel=1e-9)
    assert opts[OVERTRAIN]["lifetime_flops"] == pytest.approx(
        opts[COMPUTE_OPTIMAL]["lifetime_flops"], rel=1e-9
    )


SCENARIOS = [
    (loss, demand, teacher)
    for loss in (2.4, 2.35, 2.3, 2.2)
    for demand in (0.0, 1e11, 1e13, 1e14)
    for teacher in (STRONG, WEAK)
    if not (teacher is WEAK and loss <= 2.3)
]


@pytest.mark.parametrize(("loss", "demand", "teacher"), SCENARIOS)
def test_distilling_from_an_existing_teacher_saves_student_compute_only_where_the_law_says_so(
    loss, demand, teacher
):
    row = rows(shrink_options(loss, demand, **teacher))[DISTIL]
    n_s, d_s, l_t = row["n_params"], row["n_tokens"], row["teacher_loss"]
    assert float(BUSBRIDGE_STUDENT.loss(n_s, d_s, teacher_loss=l_t)) == pytest.approx(loss, abs=1e-9)
    # supervised training of the same student size to the same loss, by hand from Eq. 1
    d_sup = (B / ((loss - E) ** (1 / GAMMA) - A / n_s**ALPHA)) ** (1 / BETA)
    assert supervised_flops_at_size(n_s, loss) == pytest.approx(6 * n_s * d_sup, rel=1e-9)
    law_says_distillation_wins = float(BUSBRIDGE_STUDENT.loss(n_s, d_sup, teacher_loss=l_t)) < loss
    assert (row["student_train_flops"] < 6 * n_s * d_sup) == law_says_distillation_wins


def test_both_verdicts_occur():
    # a strong teacher and little serving: distillation needs far less student compute; a weak teacher
    # near the target: supervised training of that size is cheaper
    strong = rows(shrink_options(2.3, 1e11, **STRONG))[DISTIL]
    assert strong["student_train_flops"] < 0.2 * supervised_flops_at_size(strong["n_params"], 2.3)
    weak = rows(shrink_options(2.35, 1e13, **WEAK))[DISTIL]
    assert weak["student_train_flops"] > supervised_flops_at_size(weak["n_params"], 2.35)


def test_a_teacher_trained_for_this_is_charged():
    exists = rows(shrink_options(2.3, 1e12, **STRONG))[DISTIL]
    trained = rows(shrink_options(2.3, 1e12, teacher_exists=False, **STRONG))[DISTIL]
    assert trained["n_params"] == pytest.approx(exists["n_params"], rel=1e-9)  # the same student
    assert trained["teacher_flops"] - exists["teacher_flops"] == pytest.approx(6 * 7e9 * 1e12, rel=1e-9)
    # the existing teacher's share is its logits, 2·N_T per student token
    assert exists["teacher_flops"] == pytest.approx(2 * 7e9 * exists["n_tokens"], rel=1e-9)
    stored = rows(shrink_options(2.3, 1e12, teacher_logits=False, **STRONG))[DISTIL]
    assert stored["teacher_flops"] == 0.0


def test_the_student_stays_inside_the_fitted_sizes_and_on_a_token_per_parameter():
    for demand in (0.0, 1e12):
        row = rows(shrink_options(2.3, demand, **STRONG))[DISTIL]
        assert 143e6 <= row["n_params"] <= 12.6e9 and row["n_tokens"] >= row["n_params"] * (1 - 1e-9)


def test_a_target_at_or_below_the_teacher_cannot_be_distilled():
    row = rows(shrink_options(2.2, 1e12, **WEAK))[DISTIL]
    assert math.isnan(row["n_params"]) and math.isnan(row["lifetime_flops"])
    assert "never reaches its teacher" in row["note"]
    given = rows(shrink_options(2.3, 1e12, teacher_loss=2.4, **STRONG))[DISTIL]
    assert given["teacher_loss"] == 2.4 and np.isnan(given["n_params"])


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((2.3, -1.0), STRONG, "inference tokens"),
        ((1.1, 1e12), STRONG, "irreducible"),
        ((2.3, 1e12), {"teacher_params": 0.0, "teacher_tokens": 1e12}, "teacher_params"),
    ],
)
def test_bad_input_is_refused_by_name(args, kwargs, match):
    with pytest.raises(LawError, match=match):
        shrink_options(*args, **kwargs)
