"""Precision and mixture-of-experts laws against the papers' numbers
(shared/reference/laws_precision_moe_inference.md)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import LawError
from engine.laws.moe import (
    ABNAR,
    CLARK,
    CLARK_DENSE,
    KRAJEWSKI,
    KRAJEWSKI_DENSE,
    LUDZIEJEWSKI,
    dense_compute_multiplier,
)
from engine.laws.precision import (
    PRECISION,
    kbit_weight_bytes,
    largest_model_that_fits,
    optimal_qat_fraction,
    recommend_kbit,
)


@pytest.mark.parametrize(("bits", "ratio"), [(4, 0.191), (6, 0.611), (8, 0.828), (12, 0.967), (16, 0.994)])
def test_kumar_effective_parameters(bits, ratio):
    assert float(PRECISION.precision_factor(bits, bits, bits)) == pytest.approx(ratio, abs=0.0005)


def test_kumar_full_precision_loss_and_ptq():
    assert float(PRECISION.loss(3e7, 1.5e9)) == pytest.approx(4.100, abs=0.001)
    assert float(PRECISION.ptq_degradation(3e7, 2.6e10, 4)) == pytest.approx(0.108, abs=0.001)
    assert float(PRECISION.critical_data_size(3e7, 4)) == pytest.approx(2.9e10, rel=0.02)
    # past D_crit more data raises the post-quantisation loss
    d_crit = float(PRECISION.critical_data_size(3e7, 4))
    post = lambda d: float(PRECISION.loss(3e7, d, bits_post=4))
    assert post(d_crit * 2) > post(d_crit) < post(d_crit / 2)


@pytest.mark.parametrize("flops", [1e18, 1e21, 1e24])
def test_kumar_compute_optimal_precision_is_7_bits_at_any_budget(flops):
    alloc = PRECISION.optimal(flops)
    assert float(alloc.extras["precision_bits"]) == pytest.approx(7.0, abs=0.5)
    p = float(alloc.extras["precision_bits"])
    assert 6 / 16 * float(alloc.n_params * alloc.n_tokens) * p == pytest.approx(flops, rel=1e-9)
    for other in (4.0, 5.0, 10.0, 16.0):  # no other precision does better at this compute
        assert float(PRECISION.optimal(flops, bits=other).loss) >= float(alloc.loss) - 1e-12


def test_kumar_refuses_activations_at_3_bits_or_fewer():
    with pytest.raises(LawError, match="outside the law"):
        PRECISION.loss(1e8, 1e10, bits_weights=8, bits_activations=3)
    with pytest.raises(LawError, match="outside the law"):
        PRECISION.loss(1e8, 1e10, bits_kv=2.5)


def test_dettmers_memory_and_rules():
    assert float(kbit_weight_bytes(1e9, 4, block_size=64)) == pytest.approx(1e9 * 4.25 / 8)
    assert largest_model_that_fits(48e9, 4) == pytest.approx(48e9 * 8 / 4.25)
    family = [7e9, 13e9, 30e9, 66e9, 175e9]  # the paper's exception: 48 GB -> 66B at 5 bits, not 175B
    assert recommend_kbit(48e9, family) == (66e9, 5.0)
    assert recommend_kbit(1e9, family) is None


def test_qat_fraction_grows_with_tokens_per_parameter_byte():
    low, high = optimal_qat_fraction(1e9, [1e10, 1e12], 4)
    assert 0 < low < high < 1


KRAJEWSKI_TABLE2 = [  # active (12·d²·n_blocks), tokens, G, FLOPs, loss
    (100e6, 4.37e9, 8, 2.95e18, 3.133),
    (1e9, 28.94e9, 16, 1.93e20, 2.491),
    (3e9, 72.90e9, 16, 1.41e21, 2.245),
    (7e9, 137.60e9, 32, 6.46e21, 2.076),
    (70e9, 941.07e9, 32, 4.16e23, 1.694),
    (300e9, 2.96e12, 64, 5.69e24, 1.503),
    (1e12, 7.94e12, 64, 4.97e25, 1.367),
]


@pytest.mark.parametrize(("n", "d", "g", "flops", "loss"), KRAJEWSKI_TABLE2)
def test_krajewski_table2_flops_and_losses(n, d, g, flops, loss):
    assert float(KRAJEWSKI.flops(n, d, g)) == pytest.approx(flops, rel=0.005)  # three significant figures
    assert float(KRAJEWSKI.loss(n, d, g)) == pytest.approx(loss, abs=0.03)


def test_krajewski_optimal_granularity_never_falls_with_budget():
    granularity = KRAJEWSKI.optimal(np.logspace(18, 26, 17)).extras["granularity"]
    assert np.all(np.diff(granularity) >= 0) and granularity[-1] > granularity[0]


@pytest.mark.parametrize(
    ("experts", "m", "mu", "n", "nu"),
    [
        (1, 30.3640, -0.1817, 53.9838, -0.1965),
        (8, 21.8330, -0.1676, 119.9126, -0.2338),
        (32, 16.5424, -0.1557, 234.6726, -0.2652),
    ],
)
def test_ludziejewski_table4_from_table3(experts, m, mu, n, nu):
    got = [float(x) for x in LUDZIEJEWSKI.reduced(experts)]
    assert got == pytest.approx([m, mu, n, nu], rel=0.005)


@pytest.mark.parametrize(
    ("flops", "experts", "n_act", "tokens"),
    [
        (1e20, 1, 1.7e9, 9.7e9),
        (1e20, 32, 669e6, 24.9e9),
        (1e21, 8, 3.79e9, 4.40e10),
        (1e21, 1, 5.7e9, 29.3e9),
        (1e22, 16, 13.2e9, 126.5e9),
    ],
)
def test_ludziejewski_table1_optima(flops, experts, n_act, tokens):
    alloc = LUDZIEJEWSKI.optimal(flops, experts=experts)
    assert float(alloc.n_params) == pytest.approx(n_act, rel=0.02)
    assert float(alloc.n_tokens) == pytest.approx(tokens, rel=0.02)


def test_ludziejewski_memory_rule_of_section_4_5():
    assert float(LUDZIEJEWSKI.loss(1.1e9, 8e9, 1)) == pytest.approx(2.666, abs=0.001)
    assert float(LUDZIEJEWSKI.loss(7.09e8, 1.6e10, 2)) == pytest.approx(2.626, abs=0.001)
    assert float(LUDZIEJEWSKI.loss(4.26e8, 3.2e10, 4)) == pytest.approx(2.597, abs=0.001)


def test_ludziejewski_memory_limit_lowers_the_best_expert_count():
    free = LUDZIEJEWSKI.optimal(1e23).extras["experts"]
    tight = LUDZIEJEWSKI.optimal(1e23, memory_bytes=24e9).extras["experts"]
    assert float(free) == 32 and float(tight) == 1
    assert float(LUDZIEJEWSKI.memory_bytes(LUDZIEJEWSKI.optimal(1e23, memory_bytes=24e9).n_params, 1)) <= 24e9


# Table 2: optimal E under 24/80/640 GB (16k-token KV cache, bf16). Three cells do not follow from
# Table 3 with the App. A memory model: 1e21/24 GB gives 32 (E=32 beats E=16 by 0.004 nats),
# 1e23/80 GB gives 4 (E=8 needs 138 GB), 1e24/640 GB gives 8 (E=16 needs 1.2 TB). No reading of the
# stated conventions (bytes per value, KV length, embeddings, 100B inference tokens) fixes all three,
# so they are strict xfails: if the memory model changes so that they pass, the test says so.
_TABLE_2_MISMATCH = pytest.mark.xfail(
    strict=True, reason="not reproducible from Table 3 + App. A; see comment"
)
TABLE_2 = [
    pytest.param(1e21, 24, 16, marks=_TABLE_2_MISMATCH),
    (1e21, 80, 32),
    (1e21, 640, 32),
    (1e22, 24, 4),
    (1e22, 80, 16),
    (1e22, 640, 32),
    (1e23, 24, 1),
    pytest.param(1e23, 80, 8, marks=_TABLE_2_MISMATCH),
    (1e23, 640, 32),
    (1e24, 24, 1),
    (1e24, 80, 1),
    pytest.param(1e24, 640, 16, marks=_TABLE_2_MISMATCH),
]


@pytest.mark.parametrize(("flops", "memory_gb", "experts"), TABLE_2)
def test_ludziejewski_table_2_optimal_experts_under_memory(flops, memory_gb, experts):
    alloc = LUDZIEJEWSKI.optimal(flops, memory_bytes=memory_gb * 1e9)
    assert float(alloc.extras["experts"]) == experts
    assert float(LUDZIEJEWSKI.memory_bytes(alloc.n_params, experts)) <= memory_gb * 1e9 * (1 + 1e-9)


@pytest.mark.parametrize("n", [1e7, 1e8, 1e9])
def test_clark_at_one_expert_is_within_2_percent_of_the_dense_law(n):
    dense = (CLARK_DENSE["N_c"] / n) ** CLARK_DENSE["alpha_N"]
    assert float(CLARK.loss(n, None, experts=1)) == pytest.approx(dense, rel=0.02)
    assert not CLARK.info.verified and not ABNAR.info.verified


def test_clark_has_no_compute_optimum():
    with pytest.raises(LawError, match="fixed 130B-token budget"):
        CLARK.optimal(1e21)


@pytest.mark.parametrize(
    ("active", "sparsity", "loss"), [(1e9, 0.0, 2.566), (2.5e8, 0.75, 2.628), (1e8, 0.9, 2.702)]
)
def test_abnar_examples(active, sparsity, loss):
    assert float(ABNAR.loss(active, 2e10, sparsity)) == pytest.approx(loss, abs=0.001)


def test_krajewski_dense_fit_is_table_1_second_row():
    k = KRAJEWSKI_DENSE.constants
    assert (k.A, k.alpha, k.B, k.beta, k.E) == (16.3, 0.126, 26.7, 0.127, 0.47)
    # closed-form optimum lies on C = 6ND and is the least loss along that line
    alloc = KRAJEWSKI_DENSE.optimal(1e21)
    assert float(6 * alloc.n_params * alloc.n_tokens) == pytest.approx(1e21, rel=1e-12)
    n = float(alloc.n_params) * np.array([0.8, 1.25])
    assert np.all(KRAJEWSKI_DENSE.loss(n, 1e21 / (6 * n)) > float(alloc.loss))


def test_krajewski_moe_matches_dense_at_about_20x_compute_and_the_gap_grows():
    # §1/Fig. 1: a compute-optimal MoE at 1e20 FLOPs matches a dense model trained with ~20x the compute
    budgets = np.logspace(18, 26, 9)
    multiplier = dense_compute_multiplier(KRAJEWSKI, KRAJEWSKI_DENSE, budgets)
    assert float(multiplier[2]) == pytest.approx(20.0, rel=0.1)
    assert np.all(np.diff(multiplier) > 0)


def test_ludziejewski_d_model_solves_the_app_a_parameter_count():
    # App. E lists d_model = 1664 for the 1.1B dense model and 512 for the 79M one (N_blocks = d/64)
    n_act = np.logspace(6, 14, 2001)
    d = LUDZIEJEWSKI.d_model_for(n_act)
    assert np.allclose(2 * d * 50_257 + 13 * (d / 64) * d**2, n_act, rtol=1e-12)
    assert float(LUDZIEJEWSKI.d_model_for(2 * 1664 * 50_257 + 13 * 26 * 1664**2)) == pytest.approx(
        1664, rel=1e-12
    )
    assert float(LUDZIEJEWSKI.total_params(2 * 1664 * 50_257 + 13 * 26 * 1664**2, 4)) == pytest.approx(
        3.0e9, rel=0.02
    )


def test_ludziejewski_joint_training_and_inference_budget():
    # §4.4: 6·N·D + 2·N·D_inf = F. Serving favours fewer active parameters; D_inf = 0 is the closed form.
    plain = LUDZIEJEWSKI.optimal(1e22, experts=8)
    zero = LUDZIEJEWSKI.optimal(1e22, experts=8, inference_tokens=0.0)
    assert float(zero.n_params) == float(plain.n_params)
    served = LUDZIEJEWSKI.optimal(1e22, experts=8, inference_tokens=1e12)
    n, d = float(served.n_params), float(served.n_tokens)
    assert 6 * n * d + 2 * n * 1e12 == pytest.approx(1e22, rel=1e-9)
    assert n < float(plain.n_params) and float(served.loss) > float(plain.loss)
    for factor in (0.9, 1.1):  # a least loss along the joint budget
        other = n * factor
        assert float(LUDZIEJEWSKI.loss(other, LUDZIEJEWSKI.training_tokens(1e22, other, 1e12), 8)) > float(
            served.loss
        )
    # more experts need fewer active parameters, so serving shifts the best count up (Fig. 3c)
    assert float(
        LUDZIEJEWSKI.optimal(1e21, memory_bytes=24e9, inference_tokens=1e12).extras["experts"]
    ) >= float(LUDZIEJEWSKI.optimal(1e21, memory_bytes=24e9).extras["experts"])


def test_ludziejewski_memory_limit_broadcasts_and_counts_the_kv_cache():
    limits = np.array([10e9, 40e9, 160e9])
    alloc = LUDZIEJEWSKI.optimal(1e23, experts=8, memory_bytes=limits, kv_tokens=32_768)
    assert (
        alloc.n_params.shape == (3,)
        and np.all(np.diff(alloc.n_params) > 0)
        and np.all(np.diff(alloc.loss) < 0)
    )
    assert np.all(alloc.extras["memory_bytes"] <= limits * (1 + 1e-9))
    longer = LUDZIEJEWSKI.optimal(1e23, experts=8, memory_bytes=limits, kv_tokens=131_072)
    assert np.all(longer.n_params < alloc.n_params)
    with pytest.raises(LawError):
        LUDZIEJEWSKI.optimal(1e23, inference_tokens=-1)


def test_dense_vs_moe_reports_the_share_of_the_budget_serving_takes():
    from engine.analysis.precision_moe import dense_vs_moe

    frame = dense_vs_moe(LUDZIEJEWSKI, 1e22, 8, 80e9, inference_tokens=1e12)
    expected = 2 * frame["n_params"] * 1e12 / 1e22
    assert np.allclose(frame["serving_share"], expected) and (frame["serving_share"] > 0.05).all()
    assert (dense_vs_moe(LUDZIEJEWSKI, 1e22, 8)["serving_share"] == 0).all()
