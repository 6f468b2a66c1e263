"""Serving one model on one device over batch size: the roofline of prefill and decode, the KV
cache of each attention variant, and cost from device time (not from FLOPs).

KV cache elements per token (DeepSeek-V2, arXiv:2405.04434, Table 1), l layers, n_h heads of d_h:

    MHA  2·n_h·d_h·l      GQA  2·n_g·d_h·l (n_g KV heads)      MQA  2·d_h·l
    MLA  (d_c + d_h^R)·l  (latent d_c, default 4·d_h; decoupled RoPE key d_h^R, default d_h/2)

bytes per token = elements × kv_bits / 8.

One decode step (one new token for each of b sequences, each holding T tokens of KV):

    FLOPs   = b · (2·N_active + 2·l·T·n_h·d_h)                  (Kaplan et al. 2020, Eq. 2.2)
    bytes   = W_read(b) + b · T · KV bytes per token
    t_step  = max(FLOPs / (peak · MFU_decode), bytes / BW)          (roofline, no overlap)

W_read(b) is the weight bytes one step reads: N_active·bits/8 for a dense model; for a mixture of
experts with E experts and top-k routing, the shared weights plus the experts that at least one
of the b tokens is routed to, E·(1 − (1 − k/E)^b) of them in expectation (routing assumed uniform
and independent between tokens), which grows from N_active at b = 1 to N_total at large b.

Prefill of P prompt tokens for each of the b sequences: FLOPs b·P·(2·N_active + 2·l·(P/2)·n_h·d_h)
at the prefill MFU, against reading the weights once and writing b·P tokens of KV.

Throughput b / t_step tokens/s; $ per million generated tokens = 10⁶ · t_step / b / 3600 × price
per device-hour; kWh per million = 10⁶ · t_step / b × power / 3.6e6. Memory held: N_total·bits/8
+ b · T · KV bytes per token (activations and the runtime's own buffers are not counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.flops import Architecture
from engine.cost.hardware import Device
from engine.cost.inference import DEFAULT_SEQ_LEN, default_architecture
from engine.errors import FlopwiseError, number_problem, positive
from engine.formula import Formula


class ServingError(FlopwiseError, ValueError):
    """An impossible serving setup (a non-positive size, a KV layout that does not add up), named."""


KV_KINDS = ("mha", "gqa", "mqa", "mla")
KV_KIND_WORDS = {
    "mha": "multi-head",
    "gqa": "grouped-query",
    "mqa": "multi-query",
    "mla": "multi-head latent",
}
MLA_LATENT_PER_HEAD_DIM = 4.0  # d_c = 4·d_h (DeepSeek-V2 Table 1 and §2.1.4: d_c 512 for d_h 128)
MLA_ROPE_PER_HEAD_DIM = 0.5  # d_h^R = d_h / 2 (DeepSeek-V2: 64 for d_h 128)

DEFAULT_PROMPT_TOKENS = 512  # tokens of prompt per sequence, as engine.cost.inference.estimate
DEFAULT_MFU = 0.5  # share of the peak reached in prefill and decode, as engine.cost.inference.estimate
CATALOG_PRICE_KEY = "price_per_device_hour"  # a device's own hourly price, where its entry has one
DEFAULT_BATCHES_BETWEEN = (3, 6, 12, 24, 48, 96, 192, 384, 768, 1536, 3072, 6144)  # between powers of 2


def whole_number(name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int: a whole number >= ``low``; ServingError naming ``name`` otherwise."""
    problem = number_problem(value, float(low), low_inclusive=True)
    if problem is None and float(value) != int(value):
        problem = "must be a whole number"
    if problem:
        raise ServingError(f"{name} {problem} (a whole number), got {value!r}")
    return int(value)


def _pos(name: str, value: Any, *, allow_zero: bool = False, high: float | None = None) -> float:
    return float(positive(name, value, error=ServingError, allow_zero=allow_zero, high=high))


# --- the KV cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KVLayout:
    """How a model's attention keeps its keys and values: ``kind`` one of KV_KINDS; ``n_kv_heads``
    for GQA (the groups n_g; defaults to n_heads); ``latent_dim`` (d_c) and ``rope_dim`` (d_h^R)
    for MLA (defaults 4·d_h and d_h/2, DeepSeek-V2's choice)."""

    kind: str
    n_layers: int
    n_heads: int
    head_dim: int
    n_kv_heads: int | None = None
    latent_dim: int | None = None
    rope_dim: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KV_KINDS:
            raise ServingError(f"kind must be one of {', '.join(KV_KINDS)}, got {self.kind!r}")
        for name in ("n_layers", "n_heads", "head_dim"):
            whole_number(name, getattr(self, name))
        for name in ("n_kv_heads", "latent_dim", "rope_dim"):
            if getattr(self, name) is not None:
                whole_number(name, getattr(self, name), low=0 if name == "rope_dim" else 1)
        if self.n_kv_heads is not None:
            if self.kind != "gqa":
                raise ServingError(f"n_kv_heads is for grouped-query attention (gqa), not {self.kind}")
            if self.n_kv_heads > self.n_heads or self.n_heads % self.n_kv_heads:
                raise ServingError(
                    f"n_kv_heads={self.n_kv_heads} must divide n_heads={self.n_heads} (each KV head serves "
                    "a group of query heads)"
                )
        if (self.latent_dim is not None or self.rope_dim is not None) and self.kind != "mla":
            raise ServingError(
                f"latent_dim and rope_dim are for multi-head latent attention (mla), not {self.kind}"
            )

    @property
    def kv_heads(self) -> int:
        """Key/value heads cached per layer: n_h (MHA), n_g (GQA), 1 (MQA); 0 for MLA (a latent)."""
        if self.kind == "mha":
            return self.n_heads
        if self.kind == "gqa":
            return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads
        return 1 if self.kind == "mqa" else 0

    @property
    def d_c(self) -> float:
        """MLA's compressed KV latent dimension d_c (default 4·d_h)."""
        return (
            float(self.latent_dim) if self.latent_dim is not None else MLA_LATENT_PER_HEAD_DIM * self.head_dim
        )

    @property
    def d_rope(self) -> float:
        """MLA's decoupled RoPE key dimension d_h^R (default d_h / 2)."""
        return float(self.rope_dim) if self.rope_dim is not None else MLA_ROPE_PER_HEAD_DIM * self.head_dim

    @property
    def d_attn(self) -> int:
        """Width of the query heads, n_h · d_h (the attention FLOPs' width)."""
        return self.n_heads * self.head_dim

    def elements_per_token(self) -> float:
        """KV-cache elements per token of context, all layers (DeepSeek-V2 Table 1):
        MHA 2·n_h·d_h·l, GQA 2·n_g·d_h·l, MQA 2·d_h·l, MLA (d_c + d_h^R)·l."""
        if self.kind == "mla":
            return (self.d_c + self.d_rope) * self.n_layers
        return 2.0 * self.kv_heads * self.head_dim * self.n_layers

    def bytes_per_token(self, kv_bits: float = 16.0) -> float:
        """KV-cache bytes per token of context: elements × kv_bits / 8."""
        return self.elements_per_token() * _pos("kv_bits", kv_bits, high=64.0) / 8.0

    def words(self) -> str:
        """The layout in words: 'grouped-query, 8 KV heads', 'multi-head latent, latent 512 + RoPE key 64'."""
        kind = KV_KIND_WORDS[self.kind]
        if self.kind == "mla":
            return f"{kind}, latent {self.d_c:,.0f} + RoPE key {self.d_rope:,.0f}"
        heads = self.kv_heads
        return f"{kind}, {heads:,} KV head{'s' if heads != 1 else ''}"

    @classmethod
    def from_architecture(
        cls,
        arch: Architecture,
        kind: str | None = None,
        *,
        n_kv_heads: int | None = None,
        latent_dim: int | None = None,
        rope_dim: int | None = None,
    ) -> KVLayout:
        """The layout of ``arch`` (engine.cost.flops.Architecture, e.g. default_architecture(N)).
        ``kind`` None: read from the shape (MHA if every head has its own K and V, MQA if one,
        GQA otherwise). ``kind='gqa'`` takes ``n_kv_heads`` or else the shape's KV heads."""
        if kind is None:
            kind = "mha" if arch.kv_heads == arch.n_heads else "mqa" if arch.kv_heads == 1 else "gqa"
        if kind == "gqa" and n_kv_heads is None:
            n_kv_heads = arch.kv_heads
        return cls(
            kind=kind,
            n_layers=arch.n_layers,
            n_heads=arch.n_heads,
            head_dim=arch.head_dim,
            n_kv_heads=n_kv_heads if kind == "gqa" else None,
            latent_dim=latent_dim,
            rope_dim=rope_dim,
        )


# --- the compute data type from the weight bits ---------------------------------------------


def choose_dtype(device: Device, weight_bits: float) -> tuple[str, str]:
    """The data type whose dense peak a step runs at, for weights of ``weight_bits``, and why in
    words: above 8 bits bf16 (fp16 where the device has no bf16); 8 bits fp8, else int8; 4 bits
    or fewer the fastest of fp4, int8 and fp8 the device has; bf16 when it has none of them."""
    have = device.supported_dtypes
    sixteen = next((d for d in ("bf16", "fp16") if d in have), None) or (have[0] if have else "bf16")
    if weight_bits > 16 and "fp32" in have:
        return "fp32", f"{weight_bits:g}-bit weights: the fp32 peak"
    if weight_bits > 8:
        return sixteen, f"{weight_bits:g}-bit weights: the {sixteen} peak"
    options = ("fp8", "int8") if weight_bits > 4 else ("fp4", "fp8", "int8")
    found = [d for d in options if d in have]
    if not found:
        return sixteen, (
            f"{weight_bits:g}-bit weights: {device.name} has no {' or '.join(options)} peak, so the "
            f"weights are dequantised and multiplied at {sixteen}"
        )
    best = max(found, key=lambda d: device.peak_tflops[d]) if weight_bits <= 4 else found[0]
    return best, f"{weight_bits:g}-bit weights: the {best} peak"


# --- the setup ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ServingSetup:
    """A model served on one device. ``n_active``: parameters that compute each token;
    ``n_total``: parameters held in memory (default n_active; a mixture of experts holds all its
    experts); ``n_experts`` and ``top_k``: the routing, for the weights a batch reads (without
    them a model with n_total > n_active is assumed to read all n_total weights every step, the
    large-batch limit). ``kv``: the KV layout (default: default_architecture(n_active)'s, grouped-
    query). ``context``: tokens of KV held per sequence; ``prompt_tokens``: the prompt of each.
    Price None: the device entry's own hourly price if it has one (the shipped catalog has none:
    then no $); power None: the device's power figure (W). ``compute_dtype`` None: chosen from
    the weight bits (:func:`choose_dtype`)."""

    n_active: float
    device: Device
    n_total: float | None = None
    n_experts: int | None = None
    top_k: int | None = None
    weight_bits: float = 16.0
    kv_bits: float = 16.0
    kv: KVLayout | None = None
    context: int = DEFAULT_SEQ_LEN
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    mfu_prefill: float = DEFAULT_MFU
    mfu_decode: float = DEFAULT_MFU
    price_per_device_hour: float | None = None
    power_w: float | None = None
    compute_dtype: str | None = None

    def __post_init__(self) -> None:
        _pos("n_active", self.n_active)
        if self.n_total is not None and _pos("n_total", self.n_total) < self.n_active:
            raise ServingError(
                f"n_total ({self.n_total:,.4g}) must be at least n_active ({self.n_active:,.4g}): the "
                "parameters held include those that compute"
            )
        _pos("weight_bits", self.weight_bits, high=32.0)
        _pos("kv_bits", self.kv_bits, high=32.0)
        whole_number("context", self.context)
        whole_number("prompt_tokens", self.prompt_tokens, low=0)
        if self.prompt_tokens > self.context:
            raise ServingError(
                f"prompt_tokens ({self.prompt_tokens:,}) must be at most context ({self.context:,}): the KV "
                "cache holds the prompt"
            )
        _pos("mfu_prefill", self.mfu_prefill, high=1.0)
        _pos("mfu_decode", self.mfu_decode, high=1.0)
        if self.price_per_device_hour is not None:
            _pos("price_per_device_hour", self.price_per_device_hour, allow_zero=True)
        if self.power_w is not None:
            _pos("power_w", self.power_w)
        if (self.n_experts is None) != (self.top_k is None):
            raise ServingError("give n_experts and top_k together (the routing of a mixture of experts)")
        if self.n_experts is not None and self.top_k is not None:
            experts, k = whole_number("n_experts", self.n_experts, low=2), whole_number("top_k", self.top_k)
            if k >= experts:
                raise ServingError(f"top_k ({k}) must be below n_experts ({experts})")
            if self.params_held <= self.n_active:
                raise ServingError(
                    "a mixture of experts holds more than it computes: give n_total > n_active"
                )
            if self._expert_params * k > self.n_active:
                raise ServingError(
                    f"n_active ({self.n_active:,.4g}) is below the {k} routed experts' own parameters "
                    f"({self._expert_params * k:,.4g} for n_total {self.params_held:,.4g} over {experts} "
                    "experts): the numbers do not add up"
                )
        if self.compute_dtype is not None:
            self.device.peak_flops(self.compute_dtype)  # HardwareError if the device lacks it

    @property
    def params_held(self) -> float:
        """N_total: parameters in memory (n_total, or n_active when not given)."""
        return float(self.n_total if self.n_total is not None else self.n_active)

    @property
    def kv_layout(self) -> KVLayout:
        """The KV layout given, or default_architecture(n_active)'s (grouped-query with 8 KV heads
        from 8 query heads up)."""
        return (
            self.kv
            if self.kv is not None
            else KVLayout.from_architecture(default_architecture(self.n_active))
        )

    @property
    def shape_assumed(self) -> bool:
        return self.kv is None

    @property
    def dtype(self) -> str:
        """The data type whose peak the steps run at (given, or chosen from the weight bits)."""
        return self.compute_dtype or choose_dtype(self.device, self.weight_bits)[0]

    def dtype_words(self) -> str:
        if self.compute_dtype is not None:
            return f"the {self.compute_dtype} peak (chosen)"
        return choose_dtype(self.device, self.weight_bits)[1]

    @property
    def price(self) -> float | None:
        """$ per device-hour: the given price, else the device entry's own, else None."""
        if self.price_per_device_hour is not None:
            return float(self.price_per_device_hour)
        own = self.device.extra.get(CATALOG_PRICE_KEY)
        return None if own is None else float(own)

    @property
    def watts(self) -> float | None:
        return float(self.power_w) if self.power_w is not None else self.device.tdp_w

    @property
    def _expert_params(self) -> float:
        """Parameters of one expert (all layers): (N_total − N_active) / (E − k)."""
        assert self.n_experts is not None and self.top_k is not None
        return (self.params_held - self.n_active) / (self.n_experts - self.top_k)

    def weights_read(self, tokens: float) -> float:
        """Parameters whose weights one step over ``tokens`` tokens reads: N_active for a dense
        model; shared + E·(1 − (1 − k/E)^tokens) experts for a mixture of experts (uniform,
        independent routing); N_total for a sparse model given without its routing."""
        if self.params_held <= self.n_active:
            return float(self.n_active)
        if self.n_experts is None or self.top_k is None:
            return self.params_held
        e, k = float(self.n_experts), float(self.top_k)
        shared = self.n_active - k * self._expert_params
        touched = e * (1.0 - (1.0 - k / e) ** float(tokens))
        return shared + touched * self._expert_params

    def weight_bytes(self) -> float:
        """Bytes of the weights held: N_total · weight_bits / 8."""
        return self.params_held * self.weight_bits / 8.0

    def kv_bytes_per_sequence(self) -> float:
        """KV-cache bytes of one sequence at the full context."""
        return self.kv_layout.bytes_per_token(self.kv_bits) * self.context


# --- one point of the curve ------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """A JSON-safe value: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class ServingPoint:
    """The roofline at one batch. Times in ms, rates per second, bytes in bytes, $ and kWh per
    million generated tokens (``usd_per_mtok_prompt``: per million prompt tokens prefilled)."""

    batch: int
    prefill_ms: float  # the prompts of all ``batch`` sequences
    decode_ms_per_token: float  # one decode step: one new token for every sequence
    tokens_per_s: float  # generated tokens per second over the batch
    usd_per_mtok: float | None
    usd_per_mtok_prompt: float | None
    kwh_per_mtok: float | None
    kv_bytes_per_token: float
    weight_bytes: float  # held
    kv_bytes: float  # held, batch × context tokens
    memory_bytes: float  # weight_bytes + kv_bytes
    memory_limit_bytes: float
    fits: bool
    bound: str  # "memory-bound" or "compute-bound" (decode)
    prefill_bound: str
    arithmetic_intensity: float  # decode FLOPs per byte moved
    ridge_point: float  # the device's peak / bandwidth at the compute data type
    effective_ridge_point: float  # peak · MFU_decode / bandwidth: where the decode bound changes
    compute_ms: float  # decode step, compute alone
    memory_ms: float  # decode step, memory traffic alone
    flops_per_step: float
    bytes_per_step: float
    weights_read_bytes: float  # of bytes_per_step
    dtype: str
    context: int

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (no NaN or infinity: None)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}


POINT_COLUMNS = tuple(f.name for f in fields(ServingPoint))


def decode_step(
    setup: ServingSetup, batch: int, tokens_per_sequence: int = 1
) -> tuple[float, float, float, float]:
    """(FLOPs, bytes, weight bytes, seconds) of one step that processes ``tokens_per_sequence``
    new tokens of each of ``batch`` sequences (1: decoding; γ + 1: verifying a draft) against
    their ``context`` tokens of KV."""
    kv = setup.kv_layout
    tokens = batch * tokens_per_sequence
    per_token = (
        INFERENCE_FLOPS_PER_PARAM_TOKEN * setup.n_active + 2.0 * kv.n_layers * setup.context * kv.d_attn
    )
    flops = tokens * per_token
    w_read = setup.weights_read(tokens) * setup.weight_bits / 8.0
    moved = w_read + batch * setup.context * kv.bytes_per_token(setup.kv_bits)
    peak = setup.device.peak_flops(setup.dtype)
    seconds = max(flops / (peak * setup.mfu_decode), moved / setup.device.bandwidth_bytes_per_s)
    return flops, moved, w_read, seconds


def serve_point(setup: ServingSetup, batch: int) -> ServingPoint:
    """The serving roofline of ``setup`` at ``batch`` sequences decoded together (module doc)."""
    b = whole_number("batch", batch)
    device, kv = setup.device, setup.kv_layout
    peak = device.peak_flops(setup.dtype)
    bandwidth = device.bandwidth_bytes_per_s
    kv_token = kv.bytes_per_token(setup.kv_bits)

    flops, moved, w_read, _ = decode_step(setup, b)
    compute_s = flops / (peak * setup.mfu_decode)
    memory_s = moved / bandwidth
    step = max(compute_s, memory_s)

    p = setup.prompt_tokens
    prefill_per_token = (
        INFERENCE_FLOPS_PER_PARAM_TOKEN * setup.n_active + 2.0 * kv.n_layers * (p / 2.0) * kv.d_attn
    )
    prefill_compute = b * p * prefill_per_token / (peak * setup.mfu_prefill)
    prefill_memory = (setup.weights_read(b * p) * setup.weight_bits / 8.0 + b * p * kv_token) / bandwidth
    prefill = max(prefill_compute, prefill_memory) if p else 0.0

    tokens_per_s = b / step
    price, watts = setup.price, setup.watts
    usd = None if price is None else 1e6 / tokens_per_s / 3600.0 * price
    usd_prompt = None if price is None or p == 0 else 1e6 * prefill / (b * p) / 3600.0 * price
    kwh = None if watts is None else 1e6 / tokens_per_s * watts / 3.6e6
    w_held = setup.weight_bytes()
    kv_held = b * setup.context * kv_token
    return ServingPoint(
        batch=b,
        prefill_ms=prefill * 1e3,
        decode_ms_per_token=step * 1e3,
        tokens_per_s=tokens_per_s,
        usd_per_mtok=usd,
        usd_per_mtok_prompt=usd_prompt,
        kwh_per_mtok=kwh,
        kv_bytes_per_token=kv_token,
        weight_bytes=w_held,
        kv_bytes=kv_held,
        memory_bytes=w_held + kv_held,
        memory_limit_bytes=device.memory_bytes,
        fits=w_held + kv_held <= device.memory_bytes,
        bound="memory-bound" if memory_s >= compute_s else "compute-bound",
        prefill_bound="memory-bound" if prefill_memory >= prefill_compute else "compute-bound",
        arithmetic_intensity=flops / moved,
        ridge_point=peak / bandwidth,
        effective_ridge_point=peak * setup.mfu_decode / bandwidth,
        compute_ms=compute_s * 1e3,
        memory_ms=memory_s * 1e3,
        flops_per_step=flops,
        bytes_per_step=moved,
        weights_read_bytes=w_read,
        dtype=setup.dtype,
        context=setup.context,
    )


def max_batch(setup: ServingSetup) -> int:
    """The largest batch whose weights (N_total·bits/8) and KV cache (batch × context tokens) fit
    in the device's memory; 0 when the weights alone, or with one sequence, do not."""
    free = setup.device.memory_bytes - setup.weight_bytes()
    if free <= 0:
        return 0
    return math.floor(free / setup.kv_bytes_per_sequence() * (1 + 1e-12))


def default_batches(limit: int) -> list[int]:
    """Powers of two and a few between them (3, 6, 12, ...), from 1 to ``limit``, and ``limit``."""
    if limit < 1:
        return []
    found = {1 << i for i in range(limit.bit_length())} | set(DEFAULT_BATCHES_BETWEEN)
    return sorted({b for b in found if b <= limit} | {limit})


def batch_curve(setup: ServingSetup, batches: Any = None) -> pd.DataFrame:
    """One row per batch with the ServingPoint fields (``POINT_COLUMNS``). ``batches`` None:
    :func:`default_batches` up to :func:`max_batch` (no rows when the model does not fit)."""
    chosen = (
        default_batches(max_batch(setup)) if batches is None else [whole_number("batch", b) for b in batches]
    )
    return pd.DataFrame([serve_point(setup, b).as_dict() for b in chosen], columns=list(POINT_COLUMNS))


def best_batch(setup: ServingSetup, latency_limit_ms: float) -> ServingPoint | None:
    """The point of highest throughput whose decode step is at most ``latency_limit_ms``, among
    batches that fit; None when even batch 1 misses the limit or does not fit. The step time
    grows with batch and the throughput never falls (module doc), so this is the largest batch
    within the limit, found by bisection."""
    limit = _pos("latency_limit_ms", latency_limit_ms)
    top = max_batch(setup)

    def within(b: int) -> bool:
        return decode_step(setup, b)[3] * 1e3 <= limit

    if top < 1 or not within(1):
        return None
    low, high = 1, top  # within(low) holds
    while low < high:
        mid = (low + high + 1) // 2
        if within(mid):
            low = mid
        else:
            high = mid - 1
    return serve_point(setup, low)


def with_bits(setup: ServingSetup, weight_bits: float, kv_bits: float | None = None) -> ServingSetup:
    """The same setup at other weight (and KV) bits, its compute data type chosen again."""
    return replace(
        setup,
        weight_bits=weight_bits,
        kv_bits=setup.kv_bits if kv_bits is None else kv_bits,
        compute_dtype=None,
    )


# --- the formulas the pages show ---------------------------------------------------------------

_TWO = f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"
SERVING_BATCH = Formula(
    id="serving-batch",
    title="Serving over batch size: latency, throughput, memory and $ per token from device time",
    latex=(
        r"\begin{aligned}"
        r"t_{step}(b) &= \max\left(\frac{b\,(" + _TWO + r"N_{act} + 2\,l\,T\,n_h d_h)}{\text{peak}\cdot"
        r"\text{MFU}_{dec}},\ \frac{W(b) + b\,T\,\kappa}{BW}\right)\\"
        r"W(b) &= \frac{\text{bits}}{8}\left(N_{sh} + E\left(1 - (1 - k/E)^{b}\right) N_{exp}\right),"
        r"\qquad M(b) = \frac{\text{bits}}{8} N_{tot} + b\,T\,\kappa\\"
        r"\text{tokens/s} &= \frac{b}{t_{step}},\qquad \$ / 10^6\ \text{tokens} = "
        r"\frac{10^6\, t_{step}}{3600\, b}\, p"
        r"\end{aligned}"
    ),
    inputs=(
        ("t_step", "time of one decode step (s): one new token for each of the b sequences"),
        ("b", "sequences decoded together (batch), 1 up to the largest that fits in memory"),
        ("N_act", "parameters that compute each token (a mixture of experts: shared + top-k experts)"),
        ("l, n_h, d_h", "layers, query heads and head size of the model's shape"),
        ("T", "tokens of KV held per sequence (context)"),
        (
            "κ",
            "KV-cache bytes per token of the attention's layout (see kv-cache-variants)",
        ),
        ("peak", "dense peak of the device at the data type chosen from the weight bits (FLOP/s)"),
        ("MFU_dec", "share of the peak reached while decoding"),
        ("W(b)", "weight bytes one step reads"),
        ("N_sh, N_exp", "a mixture of experts' shared parameters and one expert's parameters"),
        ("E, k", "experts and experts per token (top-k)"),
        ("N_tot", "parameters held in memory"),
        ("M(b)", "memory held: weights and the batch's KV cache (bytes)"),
        ("bits", "bits per weight"),
        ("BW", "memory bandwidth of the device (bytes/s)"),
        ("p", "price ($ per device-hour)"),
    ),
    outputs=(
        ("tokens/s", "generated tokens per second over the batch"),
        ("$ / 10^6 tokens", "cost of a million generated tokens from the device time they take"),
    ),
    assumptions=(
        "One device holds the weights and the KV cache; no tensor or pipeline parallelism. Activations and "
        "the serving runtime's buffers are not counted in memory.",
        "Each decode step reads the weights that compute and every sequence's whole KV cache once; compute "
        "and memory traffic do not overlap in part: the step takes the longer of the two (a roofline). The "
        "bound changes where the FLOPs per byte cross peak · MFU ÷ bandwidth.",
        "A mixture of experts: at batch b, each layer reads its shared weights and the experts that at least "
        "one of the b tokens is routed to; with uniform, independent top-k routing that is "
        "E·(1 − (1 − k/E)^b) experts in expectation (an assumption of this app; a real router that sends "
        "tokens to the same experts touches fewer, so this errs towards more bytes). Given without its "
        "routing, a sparse model is assumed to read all N_tot weights every step.",
        "The data type of the peak follows the weight bits: 16 bits bf16 (fp16 without bf16), 8 bits fp8 "
        "(else int8), 4 bits the fastest of fp4, int8 and fp8 the device has; bf16 if it has none. "
        "Attention FLOPs 2·l·T·n_h·d_h per token for every KV layout (Kaplan et al. Eq. 2.2).",
        f"Prefill: P prompt tokens per sequence (default {DEFAULT_PROMPT_TOKENS}), FLOPs "
        f"b·P·({_TWO}N_act + 2·l·(P/2)·n_h·d_h) at the prefill MFU against reading the weights once; priced "
        "per million prompt tokens apart from the generated ones.",
        f"Default MFU {DEFAULT_MFU:g} for prefill and decode; default context {DEFAULT_SEQ_LEN:,} tokens; "
        "the price is the one given (the shipped catalog has no prices); power is the device's figure.",
    ),
    citation="Williams, S., Waterman, A., Patterson, D. (2009). Roofline: an insightful visual performance "
    "model for multicore architectures. CACM 52(4); Kaplan, J. et al. (2020). Scaling Laws for Neural "
    "Language Models. arXiv:2001.08361 (FLOPs per token); DeepSeek-AI (2024). DeepSeek-V2. "
    "arXiv:2405.04434 (KV cache per token, Table 1)",
    url="https://arxiv.org/abs/2405.04434",
    source_detail="FLOPs per token: Kaplan Eq. (2.2); KV elements per token: DeepSeek-V2 Table 1; the "
    "roofline, the expected experts touched and the cost from device time are this app's model",
    verified=False,
    conventions=f"{_TWO}·N_act forward FLOPs per token (2 per multiply-accumulate); bytes are 10⁹ per GB; "
    "N_act and N_tot count every weight read (embeddings included).",
    valid_range="One device; batch 1 to the largest that fits; no continuous-batching scheduler overheads.",
    notes="The FLOP and KV counts are published; the roofline and the routing assumption are this app's "
    "simplifications, not checked against measured serving.",
)

KV_CACHE_VARIANTS = Formula(
    id="kv-cache-variants",
    title="KV cache per token: multi-head, grouped-query, multi-query and multi-head latent attention",
    latex=(
        r"\begin{aligned}"
        r"\text{MHA}&: 2\,n_h d_h l, \qquad \text{GQA}: 2\,n_g d_h l, \qquad \text{MQA}: 2\,d_h l\\"
        r"\text{MLA}&: (d_c + d_h^R)\, l \approx \tfrac{9}{2}\, d_h l, \qquad "
        r"\kappa = \text{elements}\cdot\frac{\text{bits}_{KV}}{8}"
        r"\end{aligned}"
    ),
    inputs=(
        ("n_h", "attention heads"),
        ("d_h", "dimension of each head"),
        ("l", "layers"),
        ("n_g", "key/value groups (KV heads) of grouped-query attention"),
        (
            "d_c",
            f"multi-head latent attention's KV latent dimension (default {MLA_LATENT_PER_HEAD_DIM:g}·d_h)",
        ),
        ("d_h^R", f"its decoupled RoPE key dimension (default {MLA_ROPE_PER_HEAD_DIM:g}·d_h)"),
        ("bits_KV", "bits per cached element"),
        ("κ", "KV-cache bytes per token of context"),
    ),
    assumptions=(
        f"MLA's defaults are DeepSeek-V2's: d_c = {MLA_LATENT_PER_HEAD_DIM:g}·d_h and d_h^R = "
        f"{MLA_ROPE_PER_HEAD_DIM:g}·d_h (512 and 64 for heads of 128).",
        "Elements are counted whatever their storage precision; bytes follow from the KV bits.",
    ),
    citation="DeepSeek-AI (2024). DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts "
    "Language Model. arXiv:2405.04434",
    url="https://arxiv.org/abs/2405.04434",
    source_detail="Table 1 (KV cache per token of MHA, GQA, MQA and MLA) and §2.1",
    verified=True,
    conventions="Elements per token of context over all layers; keys and values both counted.",
    valid_range="Any decoder; DeepSeek-V2's shape: l 60, n_h 128, d_h 128, d_c 512, d_h^R 64 → 34,560 "
    "elements per token.",
)
