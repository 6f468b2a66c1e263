"""Inference cost (roofline, KV cache) and the inference-aware optimum (Sardana et al. 2024)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from engine.analysis.registry import get_law
from engine.cost.flops import Architecture
from engine.cost.hardware import load_catalog
from engine.cost.inference import default_architecture, estimate, kv_cache_bytes, weight_bytes
from engine.cost.lifetime import chinchilla_at_loss, lifetime_optimum
from engine.errors import LawError
from engine.laws.chinchilla import CHINCHILLA
from tests.strategies import log10_inference_tokens, target_losses

H100 = load_catalog()["h100-sxm"]
# The constants of the authors' code (utils.ChinchillaConstants): alpha, beta to 3 decimals.
SARDANA = CHINCHILLA.with_constants(alpha=0.336, beta=0.283)


def test_kv_cache_of_a_grouped_query_model():
    llama70 = Architecture(
        n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672, gated_mlp=True, seq_len=4096
    )
    assert kv_cache_bytes(llama70, 4096, 1, "bf16") == 2 * 80 * 8 * 128 * 4096 * 2  # 1.34 GB per sequence
    mha = Architecture(n_layers=80, d_model=8192, n_heads=64, d_ff=28672, seq_len=4096)
    assert kv_cache_bytes(mha, 4096, 1) == 8 * kv_cache_bytes(llama70, 4096, 1)


def test_weights_by_precision():
    assert float(weight_bytes(7e9, 16)) == 14e9 and float(weight_bytes(7e9, 4)) == 3.5e9


def test_decode_is_memory_bound_at_batch_1_and_compute_bound_at_large_batch():
    small = estimate(7e9, H100, batch=1)
    assert small.decode_bound == "memory-bound" and "memory-bound" in small.explain()
    assert small.decode_s_per_step == pytest.approx((small.weight_bytes + small.kv_cache_bytes) / 3.35e12)
    big = estimate(7e9, H100, batch=4096, context=128)
    assert big.decode_bound == "compute-bound"
    assert big.tokens_per_s > 100 * small.tokens_per_s
    priced = estimate(7e9, H100, batch=1, price_per_device_hour=2.0)
    assert priced.cost_per_million_tokens_usd == pytest.approx(1e6 / priced.tokens_per_s / 3600 * 2.0)


def test_default_architecture_has_about_n_parameters():
    from engine.cost.flops import non_embedding_params

    for n in (1e9, 7e9, 70e9):
        assert non_embedding_params(default_architecture(n)) == pytest.approx(n, rel=0.25)


def test_sardana_figure_1():
    loss = float(
        SARDANA.constants.E
        + SARDANA.constants.A
        * (SARDANA.constants.alpha / SARDANA.constants.beta + 1)
        / 13e9**SARDANA.constants.alpha
    )
    assert loss == pytest.approx(2.045282, abs=1e-6)  # the 13B Chinchilla-optimal model's loss
    result = lifetime_optimum(SARDANA, loss, 2e12)
    assert result.n_params == pytest.approx(6.969e9, rel=0.005)
    assert result.n_tokens == pytest.approx(1.248e12, rel=0.005)
    assert result.saving_fraction == pytest.approx(0.174, abs=0.005 * 0.174)
    assert result.chinchilla_flops_total - result.flops_total == pytest.approx(1.69e22, rel=0.01)


@pytest.mark.parametrize(
    ("loss", "tokens", "n_star", "d_ratio", "saving"),
    [(1.958253, 1e13, 1.361e10, 2.845, 0.280), (1.947, 2e12, 2.418e10, 2.657e12 / 1.810e12, 1 - 0.9522)],
)
def test_sardana_code_fixtures(loss, tokens, n_star, d_ratio, saving):
    result = lifetime_optimum(SARDANA, loss, tokens)
    assert result.n_params == pytest.approx(n_star, rel=0.005)
    assert result.n_tokens / result.chinchilla_n_tokens == pytest.approx(d_ratio, rel=0.005)
    assert result.saving_fraction == pytest.approx(saving, abs=0.002)


def test_zero_inference_is_the_chinchilla_optimum():
    result = lifetime_optimum(SARDANA, 2.1, 0.0)
    n_ch, d_ch = chinchilla_at_loss(SARDANA, 2.1)
    assert (result.n_params, result.n_tokens) == pytest.approx((n_ch, d_ch), rel=1e-9)
    # and the Chinchilla point at loss l is the compute-optimal model of the law
    assert float(SARDANA.optimal(6 * n_ch * d_ch).loss) == pytest.approx(2.1, abs=1e-9)


@given(loss=target_losses, a=log10_inference_tokens, b=log10_inference_tokens)
@settings(max_examples=100, deadline=None)
def test_more_inference_never_gives_a_larger_model(loss, a, b):
    low, high = sorted((10.0**a if a > 0 else 0.0, 10.0**b if b > 0 else 0.0))
    n_low = lifetime_optimum(SARDANA, loss, low).n_params
    n_high = lifetime_optimum(SARDANA, loss, high).n_params
    assert n_high <= n_low * (1 + 1e-9)
    reached = float(
        SARDANA.loss(
            lifetime_optimum(SARDANA, loss, high).n_params, lifetime_optimum(SARDANA, loss, high).n_tokens
        )
    )
    assert reached == pytest.approx(loss, abs=1e-9)


def test_lifetime_needs_a_chinchilla_form_law():
    with pytest.raises(LawError, match="not of the Chinchilla form"):
        lifetime_optimum(get_law("kaplan"), 2.5, 1e12)
    with pytest.raises(LawError, match="irreducible"):
        lifetime_optimum(SARDANA, 1.5, 1e12)
