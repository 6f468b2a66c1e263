"""Inference cost on given hardware: FLOPs per token, KV cache, weights, roofline latency.

    FLOPs/token (decode)  = 2·N + 2·n_layer·L_ctx·d_attn            (Kaplan et al. 2020, Eq. 2.2)
    KV-cache bytes        = 2 · n_layer · n_kv_heads · d_head · L_ctx · batch · bytes/elem
    weight bytes          = N · bits / 8

Roofline per decode step (one token for each of ``batch`` sequences): the step takes the longer
of its compute time, batch·FLOPs/token / (peak × MFU), and its memory time, (weight bytes + KV
bytes) / bandwidth. Prefill of L_in prompt tokens: compute 2·N·L_in·batch (+ attention) at the
prefill MFU against reading the weights once. Decode is memory-bound when the arithmetic intensity
(FLOPs per byte moved) is below the device's ridge point, peak / bandwidth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.flops import Architecture
from engine.cost.hardware import Device
from engine.formula import Formula

BYTES_PER_ELEMENT = {
    "fp64": 8.0,
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
}


DEFAULT_SEQ_LEN = 4096  # tokens per sequence of the default serving architecture
DEFAULT_KV_HEADS = 8  # grouped-query attention, as in Llama 2 70B and Llama 3
DEFAULT_HEAD_DIM = 128  # size of each attention head
DEFAULT_ASPECT_RATIO = 128  # d_model per layer
PARAMS_PER_LAYER_WIDTH2 = 12  # N ≈ 12·n_layer·d_model² (Kaplan et al. 2020, Table 1)


def default_architecture(
    n_params: float, *, seq_len: int = DEFAULT_SEQ_LEN, n_kv_heads: int = DEFAULT_KV_HEADS
) -> Architecture:
    """A plausible modern decoder for N parameters when the user gives no shape: N ≈ 12·L·d²
    (Kaplan Table 1) with aspect ratio d_model ≈ 128·n_layers, heads of 128, grouped-query
    attention with 8 KV heads: the query heads are rounded to a multiple of the KV heads, so a
    model with at least 8 heads has exactly 8 KV heads (a smaller one has one KV head per query
    head). An assumption, said so on the pages (``SERVING_ROOFLINE``)."""
    width = (DEFAULT_ASPECT_RATIO * float(n_params) / PARAMS_PER_LAYER_WIDTH2) ** (1.0 / 3.0)
    heads = max(2, round(width / DEFAULT_HEAD_DIM))
    kv = min(n_kv_heads, heads)
    n_heads = max(kv, round(heads / kv) * kv)
    d_model = n_heads * DEFAULT_HEAD_DIM
    n_layers = max(2, round(float(n_params) / (PARAMS_PER_LAYER_WIDTH2 * d_model**2)))
    return Architecture(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=kv,
        d_ff=4 * d_model,
        seq_len=seq_len,
        d_head=DEFAULT_HEAD_DIM,
    )


def shape_words(arch: Architecture) -> str:
    """The shape in words, for a caption: '48 layers, d_model 6,144, 48 query heads and 8 KV heads
    of 128 (grouped-query attention)'."""
    kind = (
        "multi-head"
        if arch.kv_heads == arch.n_heads
        else "multi-query"
        if arch.kv_heads == 1
        else "grouped-query"
    )
    return (
        f"{arch.n_layers:,} layers, d_model {arch.d_model:,}, {arch.n_heads:,} query heads and "
        f"{arch.kv_heads:,} KV head{'s' if arch.kv_heads != 1 else ''} of {arch.head_dim:,} ({kind} "
        "attention)"
    )


def decode_flops_per_token(n_params, arch: Architecture, context: float) -> np.ndarray:
    """2·N + 2·n_layer·L_ctx·d_attn (Kaplan Eq. 2.2)."""
    return (
        INFERENCE_FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, float)
        + 2.0 * arch.n_layers * context * arch.d_attn
    )


def kv_cache_bytes(arch: Architecture, context: float, batch: float, dtype: str = "bf16") -> float:
    """2 (K and V) · n_layer · n_kv_heads · d_head · L_ctx · batch · bytes per element."""
    return 2.0 * arch.n_layers * arch.kv_heads * arch.head_dim * context * batch * BYTES_PER_ELEMENT[dtype]


def weight_bytes(n_params, bits: float = 16.0) -> np.ndarray:
    return np.asarray(n_params, float) * bits / 8.0


@dataclass(frozen=True)
class InferenceEstimate:
    flops_per_token: float
    weight_bytes: float
    kv_cache_bytes: float
    fits_in_memory: bool
    decode_s_per_step: float  # one token for every sequence in the batch
    decode_bound: str  # "memory-bound" or "compute-bound"
    prefill_s: float
    tokens_per_s: float  # decode throughput over the batch
    cost_per_million_tokens_usd: float | None
    energy_per_million_tokens_kwh: float | None
    arithmetic_intensity: float
    ridge_point: float
    context_tokens: float = 0.0  # L_ctx of the KV cache
    architecture: Architecture | None = None  # the shape of the KV cache and attention
    shape_assumed: bool = False  # True: no shape was given, ``architecture`` is default_architecture(N)

    def as_dict(self) -> dict:
        return asdict(self)

    def explain(self) -> str:
        intensity = float(f"{self.arithmetic_intensity:.2g}")
        unit = "FLOP" if intensity == 1 else "FLOPs"
        return (
            f"Decode is {self.decode_bound}: {intensity:g} {unit} per byte moved against the device's ridge "
            f"point of {self.ridge_point:,.0f}."
        )


_TWO = f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"  # forward FLOPs per parameter and token
_BYTES = ", ".join(f"{dtype} {size:g}" for dtype, size in BYTES_PER_ELEMENT.items())
SERVING_ROOFLINE = Formula(
    id="serving-roofline",
    title="Serving on one device: decode time per token, KV cache and $ per million tokens",
    latex=(
        r"\begin{aligned}"
        r"t_{token} &= \max\left(\frac{b\,(" + _TWO + r"N + 2\,n_{layer} L_{ctx} d_{attn})}"
        r"{\text{peak}\cdot\text{MFU}_{decode}},\ \frac{W + KV}{BW}\right)\\"
        r"W &= N\cdot\frac{\text{bits}}{8},\qquad KV = 2\, n_{layer}\, n_{kv}\, d_{head}\, L_{ctx}\, b\cdot"
        r"\text{bytes}\\"
        r"\$ / 10^6\ \text{tokens} &= \frac{10^6\, t_{token}}{b \cdot 3600}\, p"
        r"\end{aligned}"
    ),
    inputs=(
        ("t_token", "time of one decode step (s): one new token for each of the b sequences"),
        ("b", "sequences decoded together (batch); the Plan page serves at batch 1"),
        ("N", "parameters that compute each token (a mixture of experts: the routed ones)"),
        ("n_layer, d_attn", "layers, and attention width = query heads × head size, of the model's shape"),
        ("L_ctx", "tokens of context held in the KV cache per sequence"),
        ("n_kv, d_head", "key/value heads and the size of each head"),
        ("peak", "dense peak of one device at the serving data type (FLOP/s)"),
        ("MFU_decode", "share of the peak reached while generating (decode MFU)"),
        ("W", "weight bytes read per step"),
        ("bits", "bits per weight (16 unless quantized)"),
        ("KV", "KV-cache bytes, keys and values"),
        ("bytes", "bytes per KV element at the serving data type"),
        ("BW", "memory bandwidth of the device (bytes/s)"),
        ("p", "price ($ per device-hour)"),
    ),
    assumptions=(
        f"Where no shape is given, one is assumed from N: N ≈ {PARAMS_PER_LAYER_WIDTH2}·n_layer·d_model² "
        f"(Kaplan et al. Table 1), d_model ≈ {DEFAULT_ASPECT_RATIO}·n_layer, heads of {DEFAULT_HEAD_DIM}, "
        f"grouped-query attention with {DEFAULT_KV_HEADS} KV heads (query heads rounded to a multiple of "
        f"{DEFAULT_KV_HEADS}; a model with fewer heads has one KV head per query head).",
        f"Context of {DEFAULT_SEQ_LEN:,} tokens per sequence, all of it in the KV cache.",
        f"Bytes per element by data type: {_BYTES}.",
        "Each step reads the weights that compute and the whole KV cache once; compute and memory traffic "
        "are not overlapped in part: the step takes the longer of the two (a roofline). Decode is "
        "memory-bound when its FLOPs per byte moved fall below the device's ridge point, peak ÷ bandwidth.",
        "Cost counts decode time on one device at its hourly price; the prompt's prefill is priced in the "
        "lifetime serving device-hours instead.",
    ),
    citation="Kaplan, J. et al. (2020). Scaling Laws for Neural Language Models. arXiv:2001.08361 (FLOPs per "
    "token); Williams, S., Waterman, A., Patterson, D. (2009). Roofline: an insightful visual performance "
    "model for multicore architectures. CACM 52(4)",
    url="https://arxiv.org/abs/2001.08361",
    source_detail="FLOPs per token: Kaplan Eq. (2.2); KV cache: 2 (K and V) × n_layer × n_kv × d_head "
    "elements per token of context",
    verified=False,
    conventions=f"{_TWO}·N forward FLOPs per parameter and token (2 per multiply-accumulate); bytes are 10⁹ "
    "per GB.",
    valid_range="One device holding the whole model; no tensor or pipeline parallelism, no speculative "
    "decoding.",
    notes="The FLOP and KV-cache counts are the published ones; the assumed shape and the no-overlap "
    "roofline are this app's simplifications, not checked against measured serving.",
)

CANDIDATE_LATENCY = Formula(
    id="candidate-latency",
    title="Decode latency of the Plan page's candidates (weights-only roofline)",
    latex=(
        r"t_{token} = \max\left(\frac{b\cdot " + _TWO + r"N}{\text{peak}\cdot\text{MFU}},\ "
        r"\frac{N\cdot \text{bits}/8}{BW}\right)"
    ),
    inputs=(
        ("N", "parameters that compute each token"),
        ("b", "batch (1 on the fronts)"),
        ("bits", "serving precision of the weights"),
        ("peak", "dense peak of one device (FLOP/s)"),
        ("MFU", "decode MFU"),
        ("BW", "memory bandwidth (bytes/s)"),
    ),
    assumptions=(
        "No KV-cache bytes and no attention FLOPs: a lower bound on the serving roofline's step time, "
        "the same for every context length.",
    ),
    citation="Kaplan, J. et al. (2020). Scaling Laws for Neural Language Models. arXiv:2001.08361",
    url="https://arxiv.org/abs/2001.08361",
    source_detail="2·N forward FLOPs per token, Kaplan §2.1",
    verified=False,
    conventions="As the serving roofline.",
)


def estimate(
    n_params: float,
    device: Device,
    *,
    arch: Architecture | None = None,
    batch: int = 1,
    prompt_tokens: int = 512,
    context: int | None = None,
    dtype: str = "bf16",
    weight_bits: float = 16.0,
    weight_params: float | None = None,
    mfu_prefill: float = 0.5,
    mfu_decode: float = 0.5,
    price_per_device_hour: float | None = None,
    power_w: float | None = None,
) -> InferenceEstimate:
    """Roofline estimate for serving an N-parameter model on one ``device`` (see module doc).
    ``weight_params``: the parameters held in memory when they differ from the N that computes
    each token (a mixture of experts keeps all experts: N_total > N_active); default N. They set
    ``weight_bytes`` and whether the model fits; a decode step at batch 1 reads the weights of
    the N that compute (the routed experts), so its memory time counts those."""
    shape_assumed = arch is None
    arch = arch or default_architecture(n_params)
    ctx = float(context if context is not None else arch.seq_len)
    peak = device.peak_flops(dtype)
    flops_token = float(decode_flops_per_token(n_params, arch, ctx))
    w_bytes = float(weight_bytes(n_params if weight_params is None else weight_params, weight_bits))
    read_bytes = float(weight_bytes(n_params, weight_bits))  # per step: the weights that compute
    kv_bytes = kv_cache_bytes(arch, ctx, batch, dtype)
    moved = read_bytes + kv_bytes
    compute_s = batch * flops_token / (peak * mfu_decode)
    memory_s = moved / device.bandwidth_bytes_per_s
    step = max(compute_s, memory_s)
    prefill_flops = batch * float(decode_flops_per_token(n_params, arch, prompt_tokens / 2.0)) * prompt_tokens
    prefill = max(prefill_flops / (peak * mfu_prefill), read_bytes / device.bandwidth_bytes_per_s)
    tokens_per_s = batch / step
    seconds_per_million = 1e6 / tokens_per_s
    cost = None if price_per_device_hour is None else seconds_per_million / 3600.0 * price_per_device_hour
    watts = power_w if power_w is not None else device.tdp_w
    energy = None if watts is None else seconds_per_million * watts / 3.6e6
    return InferenceEstimate(
        flops_per_token=flops_token,
        weight_bytes=w_bytes,
        kv_cache_bytes=kv_bytes,
        fits_in_memory=w_bytes + kv_bytes <= device.memory_bytes,
        decode_s_per_step=step,
        decode_bound="memory-bound" if memory_s >= compute_s else "compute-bound",
        prefill_s=prefill,
        tokens_per_s=tokens_per_s,
        cost_per_million_tokens_usd=cost,
        energy_per_million_tokens_kwh=energy,
        arithmetic_intensity=batch * flops_token / moved,
        ridge_point=device.ridge_point(dtype),
        context_tokens=ctx,
        architecture=arch,
        shape_assumed=shape_assumed,
    )


def decode_latency_s(
    n_params, device: Device, *, bits: float = 16.0, dtype: str = "bf16", mfu: float = 0.5, batch: int = 1
) -> np.ndarray:
    """Vectorized per-token decode latency (weights-only roofline; no KV term): the Pareto
    candidates' latency objective."""
    n = np.asarray(n_params, float)
    return np.maximum(
        batch * INFERENCE_FLOPS_PER_PARAM_TOKEN * n / (device.peak_flops(dtype) * mfu),
        n * bits / 8.0 / device.bandwidth_bytes_per_s,
    )
