"""Sun et al. 2025's floating-point quantised-training law against the worked numbers of
shared/reference/laws_serving_compression.md §11 (Table 2 constants, Eq. 19, Eq. 21)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis import registry
from engine.errors import LawError
from engine.laws.fp_quant import (
    BF16,
    CHANNEL_WISE_LOG2_BLOCK,
    FP4_E2M1,
    FP8_E4M3,
    SUN,
    optimal_mantissa_bits,
)


@pytest.mark.parametrize(("fmt", "expected"), [(BF16, 1.73e15), (FP8_E4M3, 2.73e13), (FP4_E2M1, 3.93e11)])
def test_critical_data_size_worked_values(fmt, expected):
    # reference §11: N 1e9, B 128 -> the paper's 1730T, 27T, 0.4T tokens (quoted to 3 figures)
    assert float(SUN.critical_data_size(1e9, *fmt, block_size=128)) == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize(("fmt", "expected"), [(FP8_E4M3, 2.5631), (FP4_E2M1, 2.5979), (BF16, 2.5626)])
def test_loss_worked_values(fmt, expected):
    assert float(SUN.loss(1e9, 1e11, *fmt, block_size=128)) == pytest.approx(expected, abs=5e-5)


def test_loss_by_hand_for_e4m3():
    # Table 2 constants written out: n/N^α + d/D^β + ε + D^β/N^α · log2 B / (γ (E+.5)^δ (M+.5)^ν)
    n_, d_ = 1e9, 1e11
    by_hand = (
        69.2343 / n_**0.2368
        + 68973.0621 / d_**0.5162
        + 1.9061
        + d_**0.5162 / n_**0.2368 * math.log2(128) / (11334.5197 * 4.5**3.1926 * 3.5**2.9543)
    )
    assert float(SUN.loss(n_, d_, 4, 3, 128)) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize(("bits", "expected", "tol"), [(8, 3.345, 5e-4), (4, 1.42, 5e-3), (16, 7.19, 5e-3)])
def test_optimal_mantissa_worked_values(bits, expected, tol):
    assert float(optimal_mantissa_bits(bits)) == pytest.approx(expected, abs=tol)


def test_optimal_split_beats_the_neighbouring_splits():
    # Eq. 19 maximises (E+.5)^δ (M+.5)^ν at E + M + 1 = P: the loss at M_opt is below that at M_opt ± 0.5
    p = 8.0
    m_opt = float(optimal_mantissa_bits(p))

    def loss(m):
        return float(SUN.loss(1e9, 5e11, p - 1 - m, m, 128))

    assert loss(m_opt) < loss(m_opt - 0.5) and loss(m_opt) < loss(m_opt + 0.5)


def test_critical_data_size_is_the_least_loss_on_more_data():
    n, fmt = 1e9, FP4_E2M1
    d_crit = float(SUN.critical_data_size(n, *fmt))
    d = np.logspace(np.log10(d_crit) - 2, np.log10(d_crit) + 2, 40_001)
    grid_best = float(d[np.argmin(SUN.loss(n, d, *fmt))])
    assert grid_best == pytest.approx(d_crit, rel=1e-3)
    # past D_crit more tokens raise the loss
    assert float(SUN.loss(n, 2 * d_crit, *fmt)) > float(SUN.loss(n, d_crit, *fmt))


def test_fewer_bits_and_coarser_blocks_raise_the_loss():
    losses = [float(SUN.loss(5e8, 5e10, *fmt)) for fmt in (BF16, FP8_E4M3, FP4_E2M1)]
    assert losses == sorted(losses)
    fine, channel = (
        SUN.loss(5e8, 5e10, *FP8_E4M3, block_size=32),
        SUN.loss(5e8, 5e10, *FP8_E4M3, block_size=2**CHANNEL_WISE_LOG2_BLOCK),
    )
    assert float(fine) < float(SUN.loss(5e8, 5e10, *FP8_E4M3, block_size=128)) < float(channel)


def test_optimum_and_target_at_a_format():
    alloc = SUN.optimal(1e21, *FP8_E4M3)
    n, d = float(alloc.n_params), float(alloc.n_tokens)
    assert 6 * n * d == pytest.approx(1e21, rel=1e-9)
    for factor in (0.3, 0.7, 1.5, 3.0):
        other = n * factor
        assert float(SUN.loss(other, 1e21 / (6 * other), *FP8_E4M3)) > float(alloc.loss)
    back = SUN.target(float(alloc.loss), *FP8_E4M3)
    assert float(back.flops) == pytest.approx(1e21, rel=1e-5)
    # the same budget in FP4 reaches a worse loss than in BF16
    assert float(SUN.optimal(1e21, *FP4_E2M1).loss) > float(SUN.optimal(1e21, *BF16).loss)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mantissa_bits": -1}, "mantissa_bits"),
        ({"exponent_bits": float("nan")}, "exponent_bits"),
        ({"block_size": 0.5}, "block_size"),
        ({"exponent_bits": 40}, "exponent_bits"),
    ],
)
def test_bad_formats_are_refused_by_name(kwargs, name):
    with pytest.raises(LawError, match=name):
        SUN.loss(1e9, 1e11, **kwargs)


def test_registered_as_a_language_model_law_with_its_conventions():
    assert registry.LAWS["sun-fp-quant"] is SUN and SUN.info.verified
    words = SUN.info.conventions
    assert "non-embedding" in words and "Dolma" in words and "not comparable" in words
    assert set(SUN.info.extra_inputs) == {"exponent_bits", "mantissa_bits", "block_size"}
