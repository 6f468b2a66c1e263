"""Serving strategies on the Plan page's fronts (issue 14, point 2): the time-based serving cost of
a candidate computed by hand from the catalog's H100, precision and experts moving the fronts, and
"a front computed with serving strategies is never worse than the front without them"."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis import plan
from engine.analysis import serving_strategy as ss
from engine.analysis.pareto import pareto_mask
from engine.analysis.registry import get_law
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog
from engine.cost.inference import default_architecture
from engine.laws.moe import LUDZIEJEWSKI
from tests.strategies import log10_flops

CATALOG, GRIDS = load_catalog(), load_grid_intensities()
H100 = CATALOG["h100-sxm"]  # catalog: bf16 989.4 TFLOP/s, fp8 1,978.9, 3.35 TB/s, 80 GB
BF16, FP8, BW = 989.4e12, 1978.9e12, 3.35e12

# default_architecture(1e10), by hand: width (128·1e10/12)^(1/3) = 4,744 -> 37 heads -> 40 query
# heads (a multiple of 8 KV heads), d_model 5,120, layers round(1e10 / (12·5,120²)) = 32.
KV_1E10 = 2 * 8 * 128 * 32 * 2  # bytes per token of context, 16-bit: 131,072
ATTN_1E10 = 2 * 32 * 4096 * 5120  # attention FLOPs per token at 4,096 tokens of context
# the draft, 1e10/50 = 2e8: width 1,287 -> 10 heads -> 8, d_model 1,024, 16 layers
KV_2E8 = 2 * 8 * 128 * 16 * 2
ATTN_2E8 = 2 * 16 * 4096 * 1024


def per_token_s(n=1e10, experts=1.0, bits=16.0, strategies=(ss.PLAIN,), mfu_decode=0.05, **kw):
    """Device-seconds per generated token (no prompt) of one candidate, from serving_strategy."""
    total = float(LUDZIEJEWSKI.total_params(n, experts))
    choice = ss.choose(
        n,
        total,
        experts,
        bits,
        H100,
        prompt_tokens=0.0,
        output_tokens=1.0,
        mfu_prefill=0.5,
        mfu_decode=mfu_decode,
        strategies=strategies,
        **kw,
    )
    return float(choice.serve_hours) * 3600.0, choice


def test_the_default_shape_is_default_architectures_vectorised():
    sizes = np.logspace(6, 13, 71)
    layers, width, kv = ss.default_shape(sizes)
    for i, n in enumerate(sizes):
        arch = default_architecture(float(n))
        assert (layers[i], width[i], kv[i]) == (arch.n_layers, arch.d_attn, arch.kv_heads)
    assert ss.kv_bytes_per_token(1e10) == KV_1E10


def test_a_memory_bound_decode_at_batch_1_by_hand_and_4_bits_reads_about_a_quarter():
    # 16-bit: 2e10 bytes of weights + 4,096 × 131,072 bytes of KV over 3.35 TB/s = 6.130 ms, against
    # (2e10 + attention) FLOPs over 989.4 TFLOP/s × MFU 0.05 = 0.431 ms: memory-bound
    kv = 4096 * KV_1E10
    t16 = (2e10 + kv) / BW
    assert t16 > (2e10 + ATTN_1E10) / (BF16 * 0.05)
    s16, c16 = per_token_s(bits=16.0)
    assert s16 == pytest.approx(t16, rel=1e-9) and t16 == pytest.approx(6.1304e-3, rel=1e-4)
    # 4-bit, with one 16-bit constant per block of 64 (4.25 bits): 5.3125e9 bytes, the fp8 peak
    t4 = (1e10 * 4.25 / 8 + kv) / BW
    assert t4 > (2e10 + ATTN_1E10) / (FP8 * 0.05)
    s4, _ = per_token_s(bits=4.0)
    assert s4 == pytest.approx(t4, rel=1e-9)
    # the weight reads shrink to 4.25/16 = 27%; with the same KV read the step to 28%
    assert (s4 * BW - kv) / (s16 * BW - kv) == pytest.approx(4.25 / 16, rel=1e-9)
    assert 0.25 < s4 / s16 < 0.3
    # one device holds it (20.5 GB): the latency per token is the step itself
    assert float(c16.latency_s) == pytest.approx(t16) and float(c16.devices) == 1
    assert float(c16.memory_bytes) == pytest.approx(2e10 + kv)


def test_a_larger_batch_and_a_draft_by_hand():
    # batch 64: 64 × (2e10 + attention) FLOPs / (989.4e12 × 0.05) = 27.6 ms > (2e10 + 64 × KV) / BW
    # = 16.2 ms: compute-bound, 0.431 ms per token; 2e10 + 64 × 0.537 GB = 54 GB fits in 80 GB
    step = 64 * (2e10 + ATTN_1E10) / (BF16 * 0.05)
    assert step > (2e10 + 64 * 4096 * KV_1E10) / BW
    s, choice = per_token_s(strategies=(ss.PLAIN, ss.Strategy(64)))
    assert s == pytest.approx(step / 64, rel=1e-9) and int(choice.serve_batch) == 64
    # batch 1 with a draft of 2e8 parameters, γ 4, α 0.7: the draft's step (4e8 + 4,096 × 65,536) /
    # BW, the verify step over 5 tokens still memory-bound (6.130 ms), (1 − 0.7⁵)/0.3 = 2.7731
    # tokens per verify (Leviathan et al. 2023, Eq. 1)
    draft = max((4e8 + 4096 * KV_2E8) / BW, (4e8 + ATTN_2E8) / (BF16 * 0.05))
    verify = max((2e10 + 4096 * KV_1E10) / BW, 5 * (2e10 + ATTN_1E10) / (BF16 * 0.05))
    tau = (1 - 0.7**5) / (1 - 0.7)
    assert tau == pytest.approx(2.77310, rel=1e-5) and pytest.approx(tau) == ss.TOKENS_PER_DRAFT_STEP
    s, choice = per_token_s(strategies=(ss.PLAIN, ss.Strategy(1, True)))
    assert s == pytest.approx((verify + 4 * draft) / tau, rel=1e-9) and bool(choice.speculative)
    assert float(choice.latency_s) == pytest.approx((verify + 4 * draft) / tau, rel=1e-9)


def test_a_batch_whose_kv_cache_does_not_fit_is_not_used():
    # 3e10 at 16 bits: 60 GB of weights and 0.8 GB of KV per sequence leave room for about 24
    # sequences on one 80 GB device: batch 8 fits, 64 does not
    _, choice = per_token_s(n=3e10, strategies=(ss.PLAIN, ss.Strategy(8), ss.Strategy(64)), mfu_decode=0.5)
    assert int(choice.serve_batch) == 8 and float(choice.devices) == 1
    # a latency limit below batch 8's step keeps batch 1
    _, fast = per_token_s(n=3e10, strategies=(ss.PLAIN, ss.Strategy(8)), latency_limit_s=0.0185)
    assert int(fast.serve_batch) == 1
    # a limit nothing meets: no strategy (batch 0) and an infinite cost
    s, none = per_token_s(n=3e10, latency_limit_s=1e-4)
    assert math.isinf(s) and int(none.serve_batch) == 0


def test_a_mixture_of_experts_reads_its_routed_experts():
    n, e = 1e9, 8.0
    total = float(LUDZIEJEWSKI.total_params(n, e))
    expert = (total - n) / (e - 1)  # Ludziejewski App. A: top-1, each expert alike
    kv = 4096 * float(ss.kv_bytes_per_token(n))
    # batch 1, top-1 routing: one expert read, the same bytes as the dense model of its active size
    dense1, _ = per_token_s(n=n, experts=1.0, mfu_decode=0.5)
    moe1, _ = per_token_s(n=n, experts=e, mfu_decode=0.5)
    assert moe1 == pytest.approx(dense1) == pytest.approx((2 * n + kv) / BW)
    # batch 64 (its 64 × 0.34 GB of KV fit beside the weights): 8 × (1 − (7/8)^64) = 7.9985 experts
    # read, nearly all N_total: the total parameters cost bandwidth, more per token than the dense
    # model of the same active size ...
    touched = e * (1 - (1 - 1 / e) ** 64)
    assert touched == pytest.approx(7.9985, abs=1e-4)
    b64 = (ss.PLAIN, ss.Strategy(64))
    dense64, _ = per_token_s(n=n, experts=1.0, strategies=b64, mfu_decode=0.5)
    moe64, c = per_token_s(n=n, experts=e, strategies=b64, mfu_decode=0.5)
    read = 2 * (n + (touched - 1) * expert)
    assert int(c.serve_batch) == 64 and moe64 == pytest.approx((read + 64 * kv) / BW / 64, rel=1e-9)
    assert moe64 > dense64
    # ... but less per token than the same model at batch 1
    assert moe64 < moe1 / 4


def test_a_large_inference_demand_moves_the_cost_front_off_16_bits():
    # 1e13 tokens served after 1e23 FLOPs of training: before the serving model was time-based
    # every point of this front was 16-bit (serving cost counted FLOPs). Now 8- and 6-bit weights
    # hold most of it; 4-bit appears only at its cheapest end: Kumar et al.'s PTQ damage at 4 bits
    # (0.03 to 0.13 nats here) outweighs the bandwidth it saves over 6 bits.
    inputs = dataclasses.replace(plan.PlanInputs(), inference_tokens=1e13)
    view = plan.front_view(
        inputs, get_law(inputs.plan_law), H100, GRIDS[inputs.region], "cost_usd", budget=1e23
    )
    front = view.front
    assert (front["serve_bits"] < 16).mean() > 0.5
    assert (front["serve_bits"] == 4).any()
    # and the points say how they are served: batches above 1 where serving pays
    assert set(front["serve_batch"]) <= set(ss.BATCHES) and (front["serve_batch"] > 1).mean() > 0.9
    # without served tokens serving costs nothing: the cost front is as before, 16-bit throughout
    idle = plan.front_view(
        dataclasses.replace(inputs, inference_tokens=0.0),
        get_law(inputs.plan_law),
        H100,
        GRIDS[inputs.region],
        "cost_usd",
        budget=1e23,
    )
    assert set(idle.front["serve_bits"]) == {16.0} and set(idle.front["serve_batch"]) == {1}


def front_is_never_worse(with_: pd.DataFrame, without: pd.DataFrame, objective: str) -> bool:
    """Every point of ``without``'s front is matched or beaten (no more objective, no more loss) by
    a point of ``with_``'s front."""
    a = with_[with_[f"pareto_{objective}"]].sort_values(objective)
    b = without[without[f"pareto_{objective}"]]
    best = np.minimum.accumulate(a["loss"].to_numpy())
    at = np.searchsorted(a[objective].to_numpy(), b[objective].to_numpy() * (1 + 1e-12), side="right") - 1
    return bool(np.all((at >= 0) & (best[np.maximum(at, 0)] <= b["loss"].to_numpy() + 1e-12)))


@given(
    log10_budget=log10_flops.filter(lambda x: 19.0 <= x <= 26.0),
    hardware=st.sampled_from(sorted(CATALOG)),
    log10_tokens=st.floats(10.0, 14.0),
    latency_limit_ms=st.sampled_from([0.0, 5.0, 50.0]),
)
@settings(max_examples=25, deadline=None)
def test_a_front_with_serving_strategies_is_never_worse_than_without(
    log10_budget, hardware, log10_tokens, latency_limit_ms
):
    inputs = dataclasses.replace(
        plan.PlanInputs(),
        hardware=hardware,
        train_dtype="fp16" if "bf16" not in CATALOG[hardware].peak_tflops else "bf16",
        inference_tokens=10**log10_tokens,
        latency_limit_ms=latency_limit_ms,
    )
    args = (inputs, get_law(inputs.plan_law), CATALOG[hardware], GRIDS[inputs.region])
    kw = {"n_sizes": 30, "n_ratios": 20, "budget": 10**log10_budget, "objectives": ("cost_usd", "latency_ms")}
    with_ = plan.candidates(*args, **kw)
    without = plan.candidates(*args, **kw, strategies=(ss.PLAIN,))
    # candidate by candidate (batch 1 without a draft is always among the choices) ...
    assert (with_["cost_usd"].to_numpy() <= without["cost_usd"].to_numpy() * (1 + 1e-12)).all()
    assert (with_["latency_ms"].to_numpy() <= without["latency_ms"].to_numpy() * (1 + 1e-12)).all()
    # ... and so front by front
    assert front_is_never_worse(with_, without, "cost_usd")
    assert front_is_never_worse(with_, without, "latency_ms")


@pytest.mark.parametrize(
    ("tokens", "limit", "memory"), [(1e13, 0.0, 0.0), (1e13, 8.0, 0.0), (1e12, 2.0, 40.0)]
)
def test_the_front_by_groups_is_the_front_of_all_candidates(tokens, limit, memory):
    # cost and CO2e vary along every axis with served tokens: their fronts are searched by groups of
    # (N, D), which must give the plain front of every candidate, ties and infinite costs included
    inputs = dataclasses.replace(
        plan.PlanInputs(), inference_tokens=tokens, latency_limit_ms=limit, memory_limit_gb=memory
    )
    frame = plan.candidates(
        inputs,
        get_law(inputs.plan_law),
        H100,
        GRIDS[inputs.region],
        n_sizes=60,
        n_ratios=40,
        budget=1e22,
    )
    if limit:
        assert np.isinf(frame["cost_usd"]).any() and (frame["serve_batch"] == 0).any()
    for objective in plan.OBJECTIVES:
        expected = pareto_mask(frame[["loss", objective]].to_numpy())
        assert (frame[f"pareto_{objective}"].to_numpy() == expected).all(), objective


def test_the_latency_limit_is_a_plan_input_checked_like_the_others():
    assert plan.PlanInputs().latency_limit_ms == 0.0
    with pytest.raises(plan.PlanError, match="latency_limit_ms"):
        plan.PlanInputs(latency_limit_ms=-1.0)
    # a scenario saved before the field existed opens with no limit
    old = {k: v for k, v in plan.PlanInputs().to_json().items() if k != "latency_limit_ms"}
    assert plan.PlanInputs.from_json(old).latency_limit_ms == 0.0


def test_scenario_b_keeps_its_url_word_and_is_served_at_its_cheapest_strategy():
    # the strategy is a function of the candidate and the scenario, so the four-part word stays
    b = plan.Candidate.from_param("1e10_2e11_8_4")
    assert b == plan.Candidate(1e10, 2e11, 8, 4.0) and b.to_param() == "1e10_2e11_8_4"
    inputs = dataclasses.replace(plan.PlanInputs(), log10_flops=23.0)
    law = get_law(inputs.plan_law)
    a = plan.evaluate(inputs, law, H100, GRIDS)
    alt = plan.evaluate_candidate(a, b, law, H100, GRIDS)
    assert alt.point["serve_batch"] in ss.BATCHES and alt.point["latency_batch"] == 1
    # its serving footprint is the strategy's device-hours over the 1e12 tokens served
    assert alt.serve.device_hours == pytest.approx(alt.point["serve_hours"])
    row = plan.results_frame(a, alt).iloc[1]
    assert row["serve_batch"] == alt.point["serve_batch"] and row["speculative"] == bool(
        alt.point["speculative"]
    )


def test_a_model_that_cannot_meet_the_latency_limit_is_costed_at_its_fastest_and_says_so():
    inputs = dataclasses.replace(plan.PlanInputs(), log10_flops=24.0, latency_limit_ms=0.5)
    result = plan.evaluate(inputs, get_law(inputs.plan_law), H100, GRIDS)
    assert math.isinf(result.point["cost_usd"])  # off the cost front
    assert result.serve is not None and math.isfinite(result.serve.device_hours)
    assert any("latency limit of 0.5 ms" in note for note in result.notes)


def test_the_front_in_words():
    front = pd.DataFrame(
        {
            "n_params": [2e8, 5e8, 3e9, 8e9, 2e10, 6e10],
            "serve_bits": [16.0, 16.0, 4.0, 4.0, 4.0, 4.0],
            "experts": [1, 1, 1, 1, 8, 8],
            "serve_batch": [64, 64, 64, 64, 8, 8],
            "speculative": [False] * 6,
        }
    )
    # by decade of N: 16-bit on both 1e8-decade points, 4-bit on the rest
    assert ss.front_words(front) == (
        "Along the front (6 points, by active parameters): 16-bit below 3 B, 4-bit from 3 B up; "
        "dense below 20 B, 8 experts from 20 B up; batch 64 below 20 B, batch 8 from 20 B up; "
        "no speculative decoding throughout."
    )
    mixed = front.assign(serve_batch=[64, 256, 64, 64, 64, 64])
    assert "mostly batch 64 (83%; batch 256 17%)" in ss.front_words(mixed)


def test_strategies_refuse_what_cannot_be():
    with pytest.raises(ValueError, match="batch must be a whole number >= 1"):
        ss.Strategy(0)
    with pytest.raises(ValueError, match="at least one serving strategy"):
        per_token_s(strategies=())


def test_the_fixed_draft_length_is_near_leviathans_best():
    # Thm. 3.8 at α 0.7 (Leviathan et al. 2023): γ = 4 is the best at c = 0.1 and within 7% of the
    # best speed-up for draft costs c from 0.02 to 0.2, as the strategy's assumptions say
    from engine.cost.speculative import optimal_gamma, speedup

    assert optimal_gamma(ss.DRAFT_ACCEPTANCE, 0.1) == ss.DRAFT_TOKENS == 4
    for c in (0.02, 0.05, 0.1, 0.2):
        best = float(speedup(0.7, optimal_gamma(0.7, c), c))
        assert float(speedup(0.7, 4, c)) >= 0.93 * best
