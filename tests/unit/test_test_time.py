"""Test-time compute (engine.cost.test_time): Kinetics' eFLOPs (Sadhukhan et al. 2025, the authors'
code) for a Qwen3-8B-like shape, worked by hand; routing; reasoning tokens over a lifetime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.analysis import registry
from engine.cost import test_time
from engine.cost.hardware import load_catalog
from engine.cost.serving import ServingError
from engine.cost.test_time import (
    KINETICS_INTENSITY,
    device_intensity,
    kinetics_cost,
    reasoning_lifetime_tokens,
    routed_cost,
)
from engine.errors import FlopwiseError

CATALOG = load_catalog()
# Qwen3-8B as the authors' script sees it: 36 layers, 32 query heads, 8 KV heads of 128,
# P = 8.19e9 (their model_sizes table); a 1,000-token prompt and 4,000 generated tokens.
QWEN3_8B = {"n_layers": 36, "n_heads": 32, "n_kv_heads": 8, "head_dim": 128}


def test_one_trial_of_the_qwen3_8b_shape():
    cost = kinetics_cost(8.19e9, **QWEN3_8B, input_tokens=1000, output_tokens=4000)
    # hd = 128 × 36 = 4,608
    # C_comp = 2 × 8.19e9 × 4,000 + 2 × (2 × 1,000 + 4,000) × 4,000 × 32 × 4,608
    #        = 65.52e12 + 7.0779e12 = 72.598e12 FLOPs
    # C_mem  = 2 × (2 × 1,000 + 4,000) × 4,000 × 8 × 4,608 = 1.769472e12 bytes; × 562.5 = 995.33e12
    assert cost.c_comp == pytest.approx(72.598e12, rel=1e-3)
    assert cost.c_mem == pytest.approx(1.769472e12, rel=1e-6)
    assert cost.memory_eflops == pytest.approx(995.33e12, rel=1e-3)
    assert cost.eflops == pytest.approx(1067.93e12, rel=1e-3)
    assert cost.memory_share == pytest.approx(0.93, abs=0.005)
    assert cost.intensity == KINETICS_INTENSITY == 562.5


def test_eight_trials_share_the_prompt():
    cost = kinetics_cost(8.19e9, **QWEN3_8B, input_tokens=1000, output_tokens=4000, trials=8)
    # C_comp = 8 × 72.598e12 = 580.78e12
    # C_mem  = 2 × (2 × 1,000 + 8 × 4,000) × 4,000 × 8 × 4,608 = 10.027e12 bytes; × 562.5 = 5,640.19e12
    assert cost.c_comp == pytest.approx(580.78e12, rel=1e-3)
    assert cost.memory_eflops == pytest.approx(5640.19e12, rel=1e-3)
    assert cost.eflops == pytest.approx(6220.98e12, rel=1e-3)
    one = kinetics_cost(8.19e9, **QWEN3_8B, input_tokens=1000, output_tokens=4000)
    assert cost.c_mem < 8 * one.c_mem  # the prompt's KV is read once for all trials
    assert json.loads(json.dumps(cost.as_dict(), allow_nan=False))["trials"] == 8


def test_the_code_intensity_is_a_b200s_fp8_peak_over_its_bandwidth():
    # 4,500 TFLOP/s ÷ 8,000 GB/s = 562.5 FLOPs per byte (the catalog's B200)
    assert device_intensity(CATALOG["b200"], "fp8") == pytest.approx(562.5)
    # 989.4 TFLOP/s ÷ 3,350 GB/s = 295.34 (H100 SXM, bf16)
    assert device_intensity(CATALOG["h100-sxm"]) == pytest.approx(295.343, rel=1e-5)
    h100 = kinetics_cost(8.19e9, **QWEN3_8B, input_tokens=1000, output_tokens=4000, intensity=295.343)
    assert h100.eflops == pytest.approx(72.598e12 + 295.343 * 1.769472e12, rel=1e-3)


def test_longer_generation_more_trials_and_longer_prompts_cost_more():
    base = {"input_tokens": 1000, "output_tokens": 4000, "trials": 2}
    ref = kinetics_cost(8.19e9, **QWEN3_8B, **base).eflops
    for key in base:
        more = kinetics_cost(8.19e9, **QWEN3_8B, **{**base, key: base[key] * 2}).eflops
        assert more > ref, key
    # memory dominates more as generations grow (attention over the KV grows quadratically)
    shares = [
        kinetics_cost(8.19e9, **QWEN3_8B, input_tokens=1000, output_tokens=n).memory_share
        for n in (1000, 4000, 16000)
    ]
    assert shares == sorted(shares)


def test_impossible_shapes_are_named():
    with pytest.raises(ServingError, match="n_kv_heads"):
        kinetics_cost(8e9, **{**QWEN3_8B, "n_kv_heads": 64}, input_tokens=1, output_tokens=1)
    with pytest.raises(ServingError, match="trials"):
        kinetics_cost(8e9, **QWEN3_8B, input_tokens=1, output_tokens=1, trials=0)
    with pytest.raises(ServingError, match="params"):
        kinetics_cost(-1, **QWEN3_8B, input_tokens=1, output_tokens=1)


def test_routing_costs_by_hand():
    # 30% to a model costing 1, the rest to one costing 10: 0.3 + 7 = 7.3
    assert float(routed_cost(0.3, 1.0, 10.0)) == pytest.approx(7.3)
    assert float(routed_cost(0.0, 1.0, 10.0)) == 10.0 and float(routed_cost(1.0, 1.0, 10.0)) == 1.0
    assert routed_cost(np.array([0, 0.5, 1]), 2.0, 4.0).tolist() == [4.0, 3.0, 2.0]
    with pytest.raises(ServingError, match="q"):
        routed_cost(1.2, 1.0, 10.0)


def test_reasoning_tokens_over_a_lifetime():
    # 1e6 queries × (200 answer + 2,000 reasoning tokens) = 2.2e9 tokens
    assert float(reasoning_lifetime_tokens(1e6, 200, 2000)) == 2.2e9
    assert float(reasoning_lifetime_tokens(1e6, 200)) == 2e8
    with pytest.raises(ServingError, match="reasoning_tokens_per_query"):
        reasoning_lifetime_tokens(1e6, 200, -5)


def test_the_formulas_are_registered():
    kinetics, routing = registry.FORMULAS["test-time-kinetics"], registry.FORMULAS["routing"]
    assert kinetics.verified and "2506.05333" in kinetics.citation and "562.5" in kinetics.source_detail
    assert not routing.verified


def test_generation_cost_and_sequence_time_by_hand():
    # 4,000 tokens at $2.76 per million: $0.01104; at 5 ms a token, 20 s
    assert float(test_time.generation_cost_usd(4000, 2.76)) == pytest.approx(0.01104)
    assert test_time.generation_cost_usd(4000, None) is None
    assert float(test_time.sequence_seconds(4000, 5.0)) == pytest.approx(20.0)
    with pytest.raises(FlopwiseError, match="tokens"):
        test_time.generation_cost_usd(-1, 2.0)
