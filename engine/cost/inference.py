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

from engine.cost.flops import Architecture
from engine.cost.hardware import Device
from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN

BYTES_PER_ELEMENT = {"fp64": 8.0, "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5}


DEFAULT_SEQ_LEN = 4096  # tokens per sequence of the default serving architecture


def default_architecture(n_params: float, *, seq_len: int = DEFAULT_SEQ_LEN, n_kv_heads: int = 8) -> Architecture:
    """A plausible modern decoder for N parameters when the user gives no shape: N ≈ 12·L·d²
    (Kaplan Table 1) with aspect ratio d_model ≈ 128·n_layers, head size 128, grouped-query
    attention with 8 KV heads. An assumption, said so on the pages."""
    d_model = max(256, int(round((128.0 * float(n_params) / 12.0) ** (1.0 / 3.0) / 128.0)) * 128)
    n_layers = max(2, int(round(float(n_params) / (12.0 * d_model**2))))
    n_heads = d_model // 128
    kv = min(n_kv_heads, n_heads)
    while n_heads % kv:
        kv -= 1
    return Architecture(n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=kv, d_ff=4 * d_model,
                        seq_len=seq_len, d_head=128)


def decode_flops_per_token(n_params, arch: Architecture, context: float) -> np.ndarray:
    """2·N + 2·n_layer·L_ctx·d_attn (Kaplan Eq. 2.2)."""
    return INFERENCE_FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, float) + 2.0 * arch.n_layers * context * arch.d_attn


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

    def as_dict(self) -> dict:
        return asdict(self)

    def explain(self) -> str:
        intensity = float(f"{self.arithmetic_intensity:.2g}")
        unit = "FLOP" if intensity == 1 else "FLOPs"
        return (f"Decode is {self.decode_bound}: {intensity:g} {unit} per byte moved against the device's ridge "
                f"point of {self.ridge_point:,.0f}.")


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
        flops_per_token=flops_token, weight_bytes=w_bytes, kv_cache_bytes=kv_bytes,
        fits_in_memory=w_bytes + kv_bytes <= device.memory_bytes, decode_s_per_step=step,
        decode_bound="memory-bound" if memory_s >= compute_s else "compute-bound", prefill_s=prefill,
        tokens_per_s=tokens_per_s, cost_per_million_tokens_usd=cost, energy_per_million_tokens_kwh=energy,
        arithmetic_intensity=batch * flops_token / moved, ridge_point=device.ridge_point(dtype),
    )


def decode_latency_s(n_params, device: Device, *, bits: float = 16.0, dtype: str = "bf16", mfu: float = 0.5,
                     batch: int = 1) -> np.ndarray:
    """Vectorized per-token decode latency (weights-only roofline; no KV term): the Pareto
    candidates' latency objective."""
    n = np.asarray(n_params, float)
    return np.maximum(batch * INFERENCE_FLOPS_PER_PARAM_TOKEN * n / (device.peak_flops(dtype) * mfu), n * bits / 8.0 / device.bandwidth_bytes_per_s)
