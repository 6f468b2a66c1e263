"""Speculative decoding (engine.cost.speculative) against Leviathan et al. 2023 (arXiv:2211.17192):
Table 1's values at c = ĉ = 0, the optimal γ at α 0.8 and c 0.05, hand calculations and properties."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import registry
from engine.cost.hardware import load_catalog
from engine.cost.serving import KVLayout, ServingError, ServingSetup
from engine.cost.speculative import (
    best_gamma,
    draft_cost_ratio,
    draft_setup,
    expected_tokens_per_step,
    ops_increase,
    optimal_gamma,
    speculative_point,
    speedup,
)

CATALOG = load_catalog()
H200 = CATALOG["h200-sxm"]

# Table 1 of the paper (c = ĉ = 0): alpha, gamma -> (operations, speed), printed to 2 decimals.
TABLE_1 = [
    (0.6, 2, 1.53, 1.96),
    (0.7, 3, 1.58, 2.53),
    (0.8, 2, 1.23, 2.44),
    (0.8, 5, 1.63, 3.69),
    (0.9, 2, 1.11, 2.71),
    (0.9, 10, 1.60, 6.86),
]


@pytest.mark.parametrize(("alpha", "gamma", "ops", "speed"), TABLE_1)
def test_table_1_of_the_paper(alpha, gamma, ops, speed):
    assert float(speedup(alpha, gamma, 0.0)) == pytest.approx(speed, abs=0.005)
    assert float(ops_increase(alpha, gamma, 0.0)) == pytest.approx(ops, abs=0.005)
    # with c = 0 the speed-up is the expected tokens per target run (Eq. 1)
    assert float(expected_tokens_per_step(alpha, gamma)) == pytest.approx(speed, abs=0.005)


def test_the_optimal_gamma_at_alpha_08_and_c_005():
    assert optimal_gamma(0.8, 0.05) == 8
    # (1 − 0.8⁹) / (0.2 × (8 × 0.05 + 1)) = 0.865782 / 0.28 = 3.0921
    assert float(speedup(0.8, 8, 0.05)) == pytest.approx(3.092, abs=5e-4)
    assert float(speedup(0.8, 7, 0.05)) < float(speedup(0.8, 8, 0.05)) > float(speedup(0.8, 9, 0.05))


def test_expected_tokens_by_hand():
    # α 0.5, γ 3: (1 − 0.5⁴) / 0.5 = 1.875; α = 1: every draft accepted, γ + 1; α = 0: one token
    assert float(expected_tokens_per_step(0.5, 3)) == pytest.approx(1.875)
    assert float(expected_tokens_per_step(1.0, 4)) == 5.0
    assert float(expected_tokens_per_step(0.0, 7)) == 1.0
    grid = expected_tokens_per_step(np.array([0.0, 0.5, 1.0]), np.array([[1], [3]]))
    assert np.allclose(grid, [[1.0, 1.5, 2.0], [1.0, 1.875, 4.0]])
    # α = 1 with c: (γ + 1) / (γ·c + 1) = 5 / 1.4
    assert float(speedup(1.0, 4, 0.1)) == pytest.approx(5 / 1.4)


def test_speedup_is_one_at_alpha_zero_without_draft_cost_and_below_one_with_it():
    gammas = np.arange(0, 20)
    assert speedup(0.0, gammas, 0.0).tolist() == [1.0] * 20
    assert (speedup(0.0, gammas[1:], 0.05) < 1.0).all()
    assert float(speedup(0.7, 0, 0.3)) == 1.0  # γ = 0 is plain decoding
    assert optimal_gamma(0.0, 0.05) == 0  # speculation does not pay: do not draft
    # §3.5: if α > c, γ = 1 already gains (1 + α) / (1 + c)
    assert float(speedup(0.6, 1, 0.2)) == pytest.approx(1.6 / 1.2)


@pytest.mark.parametrize("c", [0.0, 0.02, 0.2])
def test_more_acceptance_never_slows_and_tokens_are_bounded(c):
    alphas = np.linspace(0, 1, 41)
    for gamma in (1, 3, 8):
        tokens = expected_tokens_per_step(alphas, gamma)
        assert (np.diff(tokens) > 0).all() and (tokens >= 1).all() and (tokens <= gamma + 1).all()
        assert (np.diff(speedup(alphas, gamma, c)) > 0).all()
    # with c = 0 more drafting never hurts
    assert (np.diff(speedup(0.8, np.arange(0, 30), 0.0)) > 0).all()


def test_bad_inputs_are_named():
    with pytest.raises(ServingError, match="alpha"):
        speedup(1.5, 3, 0.0)
    with pytest.raises(ServingError, match=r"gamma .* whole number"):
        expected_tokens_per_step(0.5, 2.5)
    with pytest.raises(ServingError, match="c must be"):
        speedup(0.5, 2, -0.1)


# --- on the device ----------------------------------------------------------------------------


def _target(**kw):
    kv = KVLayout("gqa", n_layers=80, n_heads=64, head_dim=128, n_kv_heads=8)
    return ServingSetup(n_active=70e9, device=H200, kv=kv, weight_bits=8, context=2048, **kw)


def _draft(**kw):
    kv = KVLayout("gqa", n_layers=16, n_heads=16, head_dim=128, n_kv_heads=4)
    return ServingSetup(n_active=1e9, device=H200, kv=kv, weight_bits=8, context=2048, **kw)


def test_the_draft_cost_ratio_of_two_memory_bound_models_by_hand():
    # batch 1 at 8 bits, context 2,048 (both memory-bound on an H200 at 4.8 TB/s):
    #   target bytes 70e9 + 2,048 × 2 × 8 × 128 × 80 × 2 = 70e9 + 671,088,640
    #   draft bytes   1e9 + 2,048 × 2 × 4 × 128 × 16 × 2 = 1e9 + 67,108,864
    c = draft_cost_ratio(_draft(), _target(), 1)
    assert c == pytest.approx((1e9 + 67_108_864) / (70e9 + 671_088_640), rel=1e-9)


def test_at_a_memory_bound_batch_the_roofline_gives_the_theorem():
    point = speculative_point(_target(price_per_device_hour=2.0), _draft(), 0.8, 5, 1)
    c = (1e9 + 67_108_864) / (70e9 + 671_088_640)
    assert point.c == pytest.approx(c)
    assert point.verify_ms == pytest.approx(point.target_decode_ms_per_token)  # 6 tokens, same bytes
    # Thm 3.8: (1 − 0.8⁶) / (0.2 × (5c + 1))
    theorem = (1 - 0.8**6) / (0.2 * (5 * c + 1))
    assert point.speedup_theorem == pytest.approx(theorem) and point.speedup == pytest.approx(theorem)
    assert point.expected_tokens_per_step == pytest.approx(3.68928)
    assert point.decode_ms_per_token == pytest.approx(point.target_decode_ms_per_token / theorem)
    # ĉ = 1e9 / 70e9 of the arithmetic per token; Thm 3.11: (5ĉ + 6) / 3.68928
    assert point.ops_increase == pytest.approx((5 / 70 + 6) / 3.68928)
    assert point.usd_per_mtok == pytest.approx(1e6 / point.tokens_per_s / 3600 * 2.0)
    assert point.fits  # 70 GB + 1 GB of weights and their KV on 141 GB
    assert point.as_dict()["gamma"] == 5


def test_when_verifying_is_compute_bound_the_gain_shrinks_below_the_theorem():
    point = speculative_point(_target(), _draft(), 0.8, 8, 48)
    assert point.verify_ms > point.target_decode_ms_per_token
    assert 1.0 < point.speedup < point.speedup_theorem


def test_best_gamma_on_the_roofline_and_the_draft_by_size():
    target = _target()
    g = best_gamma(target, _draft(), 0.8, 1)
    gains = {k: speculative_point(target, _draft(), 0.8, k, 1).speedup for k in range(1, 33)}
    assert gains[g] == max(gains.values())
    assert best_gamma(target, _draft(), 0.0, 1) == 0  # nothing accepted: plain decoding
    by_size = draft_setup(target, 1e9)
    assert by_size.n_active == 1e9 and by_size.weight_bits == 8 and by_size.kv is None
    assert speculative_point(target, 1e9, 0.8, 4, 1).speedup > 2.5


def test_the_formula_is_registered_as_verified():
    f = registry.FORMULAS["speculative-decoding"]
    assert f.verified and "2211.17192" in f.citation and "Theorem 3.8" in f.source_detail
