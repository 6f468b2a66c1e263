"""Serving over batch size (engine.cost.serving): KV-cache variants against DeepSeek-V2's Table 1, a
roofline point computed by hand from the catalog's H100, and the properties issue 14 asks for."""

from __future__ import annotations

import json
import math

import pytest

from engine.analysis import registry
from engine.cost.flops import Architecture
from engine.cost.hardware import load_catalog
from engine.cost.inference import default_architecture
from engine.cost.serving import (
    KV_KINDS,
    POINT_COLUMNS,
    KVLayout,
    ServingError,
    ServingSetup,
    batch_curve,
    best_batch,
    choose_dtype,
    default_batches,
    max_batch,
    serve_point,
    with_bits,
)
from engine.errors import FlopwiseError

CATALOG = load_catalog()
H100 = CATALOG["h100-sxm"]

# DeepSeek-V2's attention (arXiv:2405.04434 §2.1 and Table 1): 60 layers, 128 heads of 128,
# KV latent 512, decoupled RoPE key 64.
DSV2 = {"n_layers": 60, "n_heads": 128, "head_dim": 128}


def strict(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


# --- KV cache per token: DeepSeek-V2 Table 1 ------------------------------------------------


def test_mla_of_deepseek_v2_caches_34560_elements_per_token():
    mla = KVLayout("mla", **DSV2, latent_dim=512, rope_dim=64)
    assert mla.elements_per_token() == (512 + 64) * 60 == 34_560
    assert mla.bytes_per_token(16) == 69_120  # 2 bytes per element
    assert mla.bytes_per_token(8) == 34_560
    mha = KVLayout("mha", **DSV2)
    assert mha.elements_per_token() == 2 * 128 * 128 * 60 == 1_966_080
    assert mla.elements_per_token() / mha.elements_per_token() == pytest.approx(0.0176, abs=5e-5)


def test_mla_defaults_are_deepseek_v2s_choice_of_4_and_half_head_dims():
    # Table 1: MLA ≈ (9/2)·d_h·l, "equal to GQA with only 2.25 groups"
    default = KVLayout("mla", **DSV2)
    assert default.elements_per_token() == 4.5 * 128 * 60 == 34_560
    assert default.elements_per_token() == KVLayout("gqa", **DSV2, n_kv_heads=1).elements_per_token() * 2.25


def test_gqa_and_mqa_per_token():
    assert KVLayout("gqa", **DSV2, n_kv_heads=8).elements_per_token() == 2 * 8 * 128 * 60 == 122_880
    assert KVLayout("mqa", **DSV2).elements_per_token() == 2 * 128 * 60 == 15_360
    # GQA with as many groups as heads is MHA; with one group it is MQA
    assert KVLayout("gqa", **DSV2, n_kv_heads=128).elements_per_token() == 1_966_080
    assert KVLayout("gqa", **DSV2, n_kv_heads=1).elements_per_token() == 15_360


def test_the_layouts_in_words():
    assert KVLayout("gqa", **DSV2, n_kv_heads=8).words() == "grouped-query, 8 KV heads"
    assert KVLayout("mqa", **DSV2).words() == "multi-query, 1 KV head"
    assert KVLayout("mha", **DSV2).words() == "multi-head, 128 KV heads"
    assert KVLayout("mla", **DSV2).words() == "multi-head latent, latent 512 + RoPE key 64"
    assert set(KV_KINDS) == {"mha", "gqa", "mqa", "mla"}


def test_layout_from_an_architecture():
    llama70 = Architecture(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672)
    kv = KVLayout.from_architecture(llama70)
    assert (kv.kind, kv.kv_heads, kv.head_dim) == ("gqa", 8, 128)
    assert kv.bytes_per_token(16) == 2 * 8 * 128 * 80 * 2 == 327_680  # 1.34 GB per 4,096-token sequence
    assert KVLayout.from_architecture(llama70, "mla").elements_per_token() == 4.5 * 128 * 80
    mha = Architecture(n_layers=12, d_model=768, n_heads=12, d_ff=3072)
    assert KVLayout.from_architecture(mha).kind == "mha"
    assert KVLayout.from_architecture(default_architecture(7e9)).words() == "grouped-query, 8 KV heads"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"kind": "xqa", **DSV2}, "kind must be one of"),
        ({"kind": "gqa", **DSV2, "n_kv_heads": 5}, "n_kv_heads=5 must divide n_heads=128"),
        ({"kind": "mha", **DSV2, "n_kv_heads": 8}, "n_kv_heads is for grouped-query"),
        ({"kind": "gqa", **DSV2, "latent_dim": 512}, "latent_dim and rope_dim are for multi-head latent"),
        ({"kind": "mha", "n_layers": 0, "n_heads": 8, "head_dim": 64}, "n_layers must be"),
        ({"kind": "mha", "n_layers": 2.5, "n_heads": 8, "head_dim": 64}, "n_layers must be a whole number"),
    ],
)
def test_impossible_layouts_are_named(kwargs, words):
    with pytest.raises(ServingError, match=words):
        KVLayout(**kwargs)


# --- one roofline point, by hand ------------------------------------------------------------


def test_a_small_roofline_point_by_hand():
    # The catalog's H100 SXM: the datasheet's dense bf16 peak and bandwidth.
    peak = H100.peak_tflops["bf16"] * 1e12
    bandwidth = H100.bandwidth_gb_s * 1e9
    assert (peak, bandwidth) == (989.4e12, 3350e9)
    kv = KVLayout("gqa", n_layers=16, n_heads=16, head_dim=128, n_kv_heads=4)
    setup = ServingSetup(
        n_active=1e9,
        device=H100,
        kv=kv,
        context=1024,
        prompt_tokens=256,
        price_per_device_hour=2.0,
        power_w=700.0,
    )
    p = serve_point(setup, 4)
    # KV per token: 2 (K, V) × 4 KV heads × 128 × 16 layers = 16,384 elements = 32,768 bytes
    assert p.kv_bytes_per_token == 32_768
    # one decode step at batch 4, context 1,024:
    #   FLOPs  = 4 × (2 × 1e9 + 2 × 16 × 1,024 × 2,048) = 4 × 2,067,108,864 = 8,268,435,456
    #   bytes  = 2e9 (weights) + 4 × 1,024 × 32,768 (KV) = 2,134,217,728
    #   compute 8.268e9 / (989.4e12 × 0.5) = 0.016714 ms; memory 2.1342e9 / 3.35e12 = 0.63708 ms
    assert p.flops_per_step == 8_268_435_456
    assert p.bytes_per_step == 2_134_217_728
    assert p.compute_ms == pytest.approx(0.0167140, rel=1e-4)
    assert p.memory_ms == pytest.approx(0.637080, rel=1e-5)
    assert p.bound == "memory-bound" and p.decode_ms_per_token == p.memory_ms
    # 4 tokens per 0.63708 ms = 6,278.65 tokens/s; $2/h → 1e6 / 6,278.65 / 3,600 × 2 = $0.088483
    assert p.tokens_per_s == pytest.approx(6278.65, rel=1e-5)
    assert p.usd_per_mtok == pytest.approx(0.0884833, rel=1e-5)
    # 1e6 / 6,278.65 s × 700 W / 3.6e6 J per kWh = 0.030969 kWh
    assert p.kwh_per_mtok == pytest.approx(0.0309692, rel=1e-5)
    # 8,268,435,456 / 2,134,217,728 = 3.874 FLOPs per byte, against a ridge of 989.4 / 3.35 = 295.34
    assert p.arithmetic_intensity == pytest.approx(3.87422, rel=1e-5)
    assert p.ridge_point == pytest.approx(295.343, rel=1e-5)
    # prefill of 4 × 256 prompt tokens: 1,024 × (2e9 + 2 × 16 × 128 × 2,048) = 2.056589e12 FLOPs
    # → 2.056589e12 / (989.4e12 × 0.5) = 4.15725 ms, above (2e9 + 1,024 × 32,768) / 3.35e12 = 0.6070 ms
    assert p.prefill_ms == pytest.approx(4.15725, rel=1e-5) and p.prefill_bound == "compute-bound"
    # memory held: 2e9 + 4 × 1,024 × 32,768 = 2,134,217,728 bytes of 80e9
    assert p.memory_bytes == 2_134_217_728 and p.fits and p.memory_limit_bytes == 80e9
    # the largest batch: (80e9 − 2e9) / (1,024 × 32,768) = 2,324.6 → 2,324
    assert max_batch(setup) == 2324


def test_a_compute_bound_step_runs_at_peak_times_mfu():
    kv = KVLayout("gqa", n_layers=16, n_heads=16, head_dim=128, n_kv_heads=4)
    setup = ServingSetup(n_active=1e9, device=H100, kv=kv, context=128, prompt_tokens=64)
    p = serve_point(setup, 2048)
    assert p.bound == "compute-bound"
    # 989.4e12 × 0.5 / (2e9 + 2 × 16 × 128 × 2,048) = 494.7e12 / 2,008,388,608 = 246,317 tokens/s
    assert p.tokens_per_s == pytest.approx(246_316.9, rel=1e-5)


# --- the properties of issue 14 -------------------------------------------------------------


@pytest.mark.parametrize("hardware", ["h100-sxm", "a100-80gb", "b200", "mi300x", "tpu-v5p", "l40s"])
@pytest.mark.parametrize("n_params", [1e9, 7e9, 3e10])
def test_serving_cost_falls_from_16_to_8_to_4_bits_when_memory_bound(hardware, n_params):
    device = CATALOG[hardware]
    setup = ServingSetup(n_active=n_params, device=device, price_per_device_hour=2.0, context=2048)
    points = [serve_point(with_bits(setup, bits), 1) for bits in (16, 8, 4)]
    assert all(p.bound == "memory-bound" for p in points)
    costs = [p.usd_per_mtok for p in points]
    assert costs[0] > costs[1] > costs[2]
    latencies = [p.decode_ms_per_token for p in points]
    assert latencies[0] > latencies[1] > latencies[2]
    # weights held halve with the bits; the KV cache stays at 16 bits
    assert points[0].weight_bytes == 2 * points[1].weight_bytes == 4 * points[2].weight_bytes


def test_lower_kv_bits_cut_the_kv_cache_and_its_time():
    setup = ServingSetup(n_active=7e9, device=H100, context=8192)
    full, half = serve_point(setup, 16), serve_point(with_bits(setup, 16, kv_bits=8), 16)
    assert half.kv_bytes == full.kv_bytes / 2 and half.decode_ms_per_token < full.decode_ms_per_token
    assert max_batch(with_bits(setup, 16, kv_bits=8)) >= 2 * max_batch(setup)


@pytest.mark.parametrize(
    ("n_params", "context", "hardware"),
    [(1e9, 128, "h100-sxm"), (7e9, 512, "h100-sxm"), (7e9, 4096, "a100-80gb"), (3e10, 1024, "b200")],
)
def test_throughput_rises_with_batch_until_compute_bound_and_never_falls(n_params, context, hardware):
    setup = ServingSetup(n_active=n_params, device=CATALOG[hardware], context=context, prompt_tokens=64)
    curve = batch_curve(setup)
    assert list(curve.columns) == list(POINT_COLUMNS)
    assert curve["batch"].iloc[0] == 1 and curve["batch"].iloc[-1] == max_batch(setup)
    assert curve["batch"].is_monotonic_increasing and curve["fits"].all()
    tps = curve["tokens_per_s"].to_numpy()
    assert (tps[1:] >= tps[:-1] * (1 - 1e-12)).all()  # never falls
    memory_bound = (curve["bound"] == "memory-bound").to_numpy()
    rising = tps[1:] > tps[:-1]
    assert rising[memory_bound[1:]].all()  # rises at every step that is still memory-bound
    assert curve["decode_ms_per_token"].is_monotonic_increasing  # latency pays for it
    # once compute-bound, it stays so
    first = memory_bound.argmin() if not memory_bound.all() else len(memory_bound)
    assert not memory_bound[first:].any()


def test_a_small_model_with_short_context_reaches_the_compute_bound():
    setup = ServingSetup(n_active=1e9, device=H100, context=128, prompt_tokens=64)
    bounds = set(batch_curve(setup)["bound"])
    assert bounds == {"memory-bound", "compute-bound"}


def test_memory_grows_linearly_with_batch():
    kv = KVLayout("gqa", n_layers=32, n_heads=32, head_dim=128, n_kv_heads=8)
    setup = ServingSetup(n_active=7e9, device=H100, kv=kv, context=4096)
    curve = batch_curve(setup, [1, 2, 5, 10, 40])
    # 2 × 8 × 128 × 32 × 2 bytes = 131,072 bytes per token; × 4,096 tokens = 536,870,912 per sequence
    per_sequence = 131_072 * 4096
    assert (curve["memory_bytes"] == 14e9 + curve["batch"] * per_sequence).all()
    assert curve["fits"].tolist() == [True, True, True, True, True]
    # (80e9 − 14e9) / 536,870,912 = 122.9 → 122
    assert max_batch(setup) == 122
    assert serve_point(setup, 122).fits and not serve_point(setup, 123).fits


def test_a_model_that_does_not_fit_has_no_batch():
    setup = ServingSetup(n_active=70e9, device=CATALOG["rtx-4090"])  # 140 GB of weights on 24 GB
    assert max_batch(setup) == 0 and best_batch(setup, 1e6) is None
    curve = batch_curve(setup)
    assert curve.empty and list(curve.columns) == list(POINT_COLUMNS)
    assert not serve_point(setup, 1).fits


def test_default_batches_are_powers_of_two_with_some_between_and_the_limit():
    assert default_batches(100) == [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 100]
    assert default_batches(1) == [1] and default_batches(0) == []
    assert default_batches(64)[-1] == 64


def test_best_batch_is_the_largest_within_the_latency_limit():
    setup = ServingSetup(n_active=7e9, device=H100)
    best = best_batch(setup, 10.0)
    assert best is not None and best.decode_ms_per_token <= 10.0
    assert serve_point(setup, best.batch + 1).decode_ms_per_token > 10.0
    # no smaller batch is faster
    assert all(serve_point(setup, b).tokens_per_s <= best.tokens_per_s for b in range(1, best.batch))
    # a limit above every batch's step: the largest batch that fits
    top = best_batch(setup, 1e9)
    assert top is not None and top.batch == max_batch(setup)
    # batch 1 takes (14e9 + KV) / 3.35e12 > 4.18 ms: nothing within 4 ms
    assert best_batch(setup, 4.0) is None
    with pytest.raises(ServingError, match="latency_limit_ms"):
        best_batch(setup, 0)


# --- a mixture of experts --------------------------------------------------------------------


def test_a_mixture_of_experts_reads_more_experts_as_the_batch_grows():
    # 8 experts, top-2, 13e9 active of 47e9 held (Mixtral-like): one expert = (47e9 − 13e9) / 6,
    # shared = 13e9 − 2 × that
    kv = KVLayout("gqa", n_layers=32, n_heads=32, head_dim=128, n_kv_heads=8)
    moe = ServingSetup(n_active=13e9, n_total=47e9, n_experts=8, top_k=2, device=CATALOG["h200-sxm"], kv=kv)
    expert = 34e9 / 6
    shared = 13e9 - 2 * expert
    assert moe.weights_read(1) == pytest.approx(13e9)
    # batch 4: 8 × (1 − 0.75⁴) = 5.46875 experts touched in expectation
    assert moe.weights_read(4) == pytest.approx(shared + 5.46875 * expert)
    assert moe.weights_read(10_000) == pytest.approx(47e9)
    points = [serve_point(moe, b) for b in (1, 4, 16)]
    assert [p.weights_read_bytes for p in points] == pytest.approx(
        [2 * 13e9, 2 * (shared + 5.46875 * expert), 2 * (shared + 8 * (1 - 0.75**16) * expert)]
    )
    assert all(p.weight_bytes == 94e9 for p in points)  # all 47e9 held at 2 bytes
    # at batch 1 it reads what a dense 13e9 model reads; at batch 16 more than that
    dense = ServingSetup(n_active=13e9, device=CATALOG["h200-sxm"], kv=kv)
    assert points[0].decode_ms_per_token == pytest.approx(serve_point(dense, 1).decode_ms_per_token)
    assert points[2].decode_ms_per_token > serve_point(dense, 16).decode_ms_per_token
    # given without its routing, the whole model is read every step
    unrouted = ServingSetup(n_active=13e9, n_total=47e9, device=CATALOG["h200-sxm"], kv=kv)
    assert unrouted.weights_read(1) == 47e9


def test_a_mixture_that_does_not_add_up_is_refused():
    with pytest.raises(ServingError, match="do not add up"):
        ServingSetup(n_active=1e9, n_total=47e9, n_experts=8, top_k=2, device=H100)
    with pytest.raises(ServingError, match="together"):
        ServingSetup(n_active=13e9, n_total=47e9, n_experts=8, device=H100)
    with pytest.raises(ServingError, match="n_total > n_active"):
        ServingSetup(n_active=13e9, n_experts=8, top_k=2, device=H100)
    with pytest.raises(ServingError, match="top_k"):
        ServingSetup(n_active=13e9, n_total=47e9, n_experts=8, top_k=8, device=H100)


# --- data types, prices, errors and JSON ----------------------------------------------------


def test_the_compute_data_type_follows_the_weight_bits():
    assert choose_dtype(H100, 16)[0] == "bf16" and choose_dtype(H100, 8)[0] == "fp8"
    assert choose_dtype(H100, 4) == ("fp8", "4-bit weights: the fp8 peak")  # no fp4 on an H100
    assert choose_dtype(CATALOG["b200"], 4)[0] == "fp4"
    assert choose_dtype(CATALOG["tpu-v4"], 8)[0] == "int8"
    dtype, words = choose_dtype(CATALOG["v100-sxm2"], 8)
    assert dtype == "fp16" and "has no fp8 or int8 peak" in words
    setup = ServingSetup(n_active=7e9, device=CATALOG["b200"], weight_bits=4)
    assert setup.dtype == "fp4" and serve_point(setup, 1).ridge_point == pytest.approx(9000e12 / 8000e9)
    assert ServingSetup(n_active=7e9, device=H100, compute_dtype="bf16", weight_bits=4).dtype == "bf16"


def test_cost_needs_a_price_and_the_catalog_has_none():
    plain = serve_point(ServingSetup(n_active=7e9, device=H100), 1)
    assert plain.usd_per_mtok is None and plain.usd_per_mtok_prompt is None
    assert plain.kwh_per_mtok is not None  # the catalog has every device's power
    priced = serve_point(ServingSetup(n_active=7e9, device=H100, price_per_device_hour=3.0), 1)
    assert priced.usd_per_mtok == pytest.approx(1e6 * priced.decode_ms_per_token / 1e3 / 3600 * 3.0)


def test_as_dict_is_strict_json():
    for setup in (
        ServingSetup(n_active=7e9, device=H100),
        ServingSetup(n_active=7e9, device=H100, prompt_tokens=0),
    ):
        row = serve_point(setup, 8).as_dict()
        assert set(row) == set(POINT_COLUMNS)
        text = json.dumps(row, allow_nan=False)
        assert strict(text)["batch"] == 8
        assert all(not isinstance(v, float) or math.isfinite(v) for v in row.values())
    assert serve_point(ServingSetup(n_active=7e9, device=H100, prompt_tokens=0), 1).prefill_ms == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n_active": 0}, "n_active must be a positive"),
        ({"n_active": 7e9, "n_total": 1e9}, "n_total .* must be at least n_active"),
        (
            {"n_active": 7e9, "prompt_tokens": 5000, "context": 4096},
            "prompt_tokens .* must be at most context",
        ),
        ({"n_active": 7e9, "mfu_decode": 1.5}, "mfu_decode must be"),
        ({"n_active": 7e9, "weight_bits": -4}, "weight_bits must be"),
        ({"n_active": 7e9, "context": 0}, "context must be"),
        ({"n_active": 7e9, "compute_dtype": "fp4"}, "has no fp4 peak"),
    ],
)
def test_impossible_setups_are_named(kwargs, words):
    with pytest.raises(FlopwiseError, match=words):
        ServingSetup(device=H100, **kwargs)


def test_a_batch_must_be_a_positive_whole_number():
    setup = ServingSetup(n_active=7e9, device=H100)
    for bad in (0, -1, 2.5, float("nan")):
        with pytest.raises(ServingError, match="batch"):
            serve_point(setup, bad)


def test_the_formulas_are_registered_with_their_sources():
    batch, kv = registry.FORMULAS["serving-batch"], registry.FORMULAS["kv-cache-variants"]
    assert kv.verified and "2405.04434" in kv.citation and "Table 1" in kv.source_detail
    assert not batch.verified  # the roofline and the routing assumption are this app's
    assert any("1 − (1 − k/E)^b" in a for a in batch.assumptions)
