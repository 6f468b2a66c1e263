"""How the Plan page's candidates are served: a batch size and speculative decoding on or off,
chosen per candidate on the time-based roofline of engine.cost.serving, vectorised over the grid.

For a candidate (active parameters N, total N_tot, experts E, weight bits) and a strategy
s = (batch b, draft on or off), one device's time for a step in which each of b sequences adds q
new tokens (q = 1 decoding, γ + 1 verifying a draft) against T tokens of KV each is

    R(b, q) = max( b·q·(2N + 2·l·T·n_h·d_h) / (peak·MFU_dec),  (W_read(b·q) + b·T·κ) / BW )
    W_read(t) = w·(N + (E·(1 − (1 − 1/E)^t) − 1)·N_exp),   N_exp = (N_tot − N) / (E − 1)

(engine.cost.serving.decode_step: the routed experts are those at least one of the t tokens is sent
to, top-1 routing uniform and independent; w bytes per weight, k-bit with block constants; κ the KV
bytes per token of default_architecture(N)). Device-seconds per generated token and the decode
latency of one sequence, per token, on a replica of g devices:

    plain         R(b, 1) / b                       latency R(b, 1) / g
    speculative   (γ·R_d(b) + R(b, γ+1)) / (b·τ)     latency (γ·R_d(b) + R(b, γ+1)) / (g·τ)
                  τ = (1 − α^(γ+1)) / (1 − α)        (Leviathan et al. 2023, Eq. 1)

R_d is the draft's R (a dense model of N/50 parameters at the same bits). A 2:4-sparse candidate
(S = 0.5, N its kept weights) has the shape (l, n_h·d_h, κ) of its dense size N/(1 − S); with
sparse tensor cores w gains a 2-bit index per kept weight and 2N stays the arithmetic (the 2N/(1 − S)
products run at twice the peak), elsewhere w and 2N are divided by 1 − S (``sparse_weights``).
Prefill, per prompt token, of b prompts of P tokens (and the draft's, speculating), at the prefill MFU:
max(b·P·(2N + 2·l·(P/2)·n_h·d_h)/(peak·MFU_pre), (W_read(b·P) + b·P·κ)/BW) / (b·P).

Memory held M(s) = w·(N_tot + N_d·[draft]) + b·T·(κ + κ_d·[draft]). A replica is the fewest devices
whose memory holds the plain batch-1 layout, g = ⌈M(1, plain) / device memory⌉; a strategy fits
when M(s) <= g × device memory (and the plan's serving memory limit). The split over g devices is
taken as ideal (no communication time), so device-seconds per token do not depend on g.

Per candidate: for cost and CO2e the strategy with the fewest serving device-seconds for the plan's
prompt and generated tokens, among those that fit and meet the latency limit (none: infinite
cost); for latency the fastest that fits; for memory batch 1 without a draft (the least held).
Batch 1 without a draft is always allowed, so a front with these strategies is never worse than
one without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.hardware import Device
from engine.cost.inference import (
    DEFAULT_ASPECT_RATIO,
    DEFAULT_HEAD_DIM,
    DEFAULT_KV_HEADS,
    DEFAULT_SEQ_LEN,
    PARAMS_PER_LAYER_WIDTH2,
)
from engine.cost.serving import DEFAULT_PROMPT_TOKENS, choose_dtype
from engine.cost.speculative import expected_tokens_per_step
from engine.errors import FlopwiseError, positive
from engine.formula import Formula
from engine.laws.precision import kbit_weight_bytes


class StrategyError(FlopwiseError, ValueError):
    """A serving strategy that cannot be: a batch below 1, an empty set of strategies."""


BATCHES = (1, 8, 64, 256)  # sequences decoded together
DRAFT_FRACTION = 1.0 / 50.0  # draft parameters ÷ the target's active parameters
DRAFT_ACCEPTANCE = 0.7  # α: near Leviathan et al.'s measured 0.75 (Table 2, T5-XXL, translation)
DRAFT_TOKENS = 4  # γ, fixed: Thm. 3.8's best for α 0.7 at c = 0.1, within 7% of it for c >= 0.02
CONTEXT_TOKENS = DEFAULT_SEQ_LEN  # T: tokens of KV held per sequence
PROMPT_TOKENS = DEFAULT_PROMPT_TOKENS  # P: tokens of each prompt (the prefill's shape)
KV_BITS = 16.0  # the KV cache stays at 16 bits whatever the weights' bits


@dataclass(frozen=True, order=True)
class Strategy:
    """One way to serve: ``batch`` sequences decoded together, with or without a speculative draft."""

    batch: int
    speculative: bool = False

    def __post_init__(self) -> None:
        if not float(self.batch).is_integer() or self.batch < 1:
            raise StrategyError(f"batch must be a whole number >= 1, got {self.batch!r}")


PLAIN = Strategy(1, False)
"""Batch 1 without a draft: the only strategy of the Plan page before it had strategies."""

STRATEGIES = tuple(Strategy(b, s) for s in (False, True) for b in BATCHES)
"""What each candidate chooses from, PLAIN first (a tie keeps the earlier one)."""

TOKENS_PER_DRAFT_STEP = float(expected_tokens_per_step(DRAFT_ACCEPTANCE, DRAFT_TOKENS))
"""τ = (1 − 0.7⁵) / 0.3 = 2.773 tokens per target run (Leviathan et al. Eq. 1)."""


def default_shape(n_params: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(layers l, query width n_h·d_h, KV heads) of engine.cost.inference.default_architecture(N),
    vectorised over N: N ≈ 12·l·d² with d ≈ 128·l, heads of 128, 8 KV heads (query heads rounded
    to a multiple of them)."""
    n = np.asarray(n_params, float)
    width = (DEFAULT_ASPECT_RATIO * n / PARAMS_PER_LAYER_WIDTH2) ** (1.0 / 3.0)
    heads = np.maximum(2.0, np.round(width / DEFAULT_HEAD_DIM))
    kv = np.minimum(float(DEFAULT_KV_HEADS), heads)
    n_heads = np.maximum(kv, np.round(heads / kv) * kv)
    d_model = n_heads * DEFAULT_HEAD_DIM
    layers = np.maximum(2.0, np.round(n / (PARAMS_PER_LAYER_WIDTH2 * d_model**2)))
    return layers, d_model, kv


def kv_bytes_per_token(n_params: Any, kv_bits: float = KV_BITS) -> np.ndarray:
    """KV-cache bytes per token of context of default_architecture(N): 2·n_kv·d_h·l·bits/8."""
    layers, _, kv = default_shape(n_params)
    return 2.0 * kv * DEFAULT_HEAD_DIM * layers * kv_bits / 8.0


SPARSE_INDEX_BYTES = 2.0 / 8.0
"""2:4 storage: each kept weight carries a 2-bit index of its place in its group of four."""


def sparse_weights(dense_bytes: Any, sparsity: Any, device: Device) -> tuple[np.ndarray, np.ndarray]:
    """(bytes stored and read per non-zero weight, FLOPs per non-zero weight relative to dense) for a
    share ``sparsity`` of zero weights. Dense (S = 0): (w, 1). 2:4 on a device with sparse tensor
    cores (hardware.SPARSE_2_4): (w + 2 bits, 1): the kept values and their indices, multiplied at
    twice the dense peak, so a 2:4 model of N non-zero weights takes a dense N's time. Elsewhere the
    zeros are stored and multiplied: (w / (1 − S), 1 / (1 − S))."""
    w, s = np.asarray(dense_bytes, float), np.asarray(sparsity, float)
    keep = 1.0 - s
    if device.sparse_2_4:
        return np.where(s > 0, w + SPARSE_INDEX_BYTES, w), np.ones_like(s * w)
    return w / keep, np.broadcast_to(1.0 / keep, np.broadcast_shapes(w.shape, s.shape))


def _peak(device: Device, bits: np.ndarray) -> np.ndarray:
    """The dense peak (FLOP/s) a step runs at for weights of ``bits`` (serving.choose_dtype)."""
    values, inverse = np.unique(bits, return_inverse=True)
    peaks = np.array([device.peak_flops(choose_dtype(device, float(b))[0]) for b in values])
    return peaks[inverse].reshape(bits.shape)


@dataclass(frozen=True)
class ServingChoice:
    """Each candidate's chosen strategies and what they give, as arrays of the candidates' shape.
    Hours are device-hours over the plan's served tokens; times in seconds; bytes in bytes."""

    serve_hours: np.ndarray  # at the cheapest strategy (inf: none meets the latency limit)
    serve_batch: np.ndarray  # its batch (0 where none meets the limit)
    speculative: np.ndarray  # its draft (bool)
    fastest_hours: np.ndarray  # device-hours at the fastest strategy
    latency_s: np.ndarray  # decode time per token of one sequence at the fastest strategy
    latency_batch: np.ndarray
    latency_speculative: np.ndarray
    memory_bytes: np.ndarray  # held at batch 1 without a draft: weights and one sequence's KV
    devices: np.ndarray  # replica size g


def choose(
    n_active: Any,
    n_total: Any,
    experts: Any,
    bits: Any,
    device: Device,
    *,
    prompt_tokens: float,
    output_tokens: float,
    mfu_prefill: float,
    mfu_decode: float,
    latency_limit_s: float | None = None,
    memory_limit_bytes: float | None = None,
    strategies: tuple[Strategy, ...] = STRATEGIES,
    sparsity: Any = 0.0,
) -> ServingChoice:
    """The strategies of candidates given as broadcastable arrays (module doc), for ``prompt_tokens``
    prefilled and ``output_tokens`` generated over the model's life. ``latency_limit_s`` None or 0:
    no limit; ``memory_limit_bytes`` None or 0: the replica's memory only. ``sparsity`` S is the
    share of zero weights (0, or 0.5 for 2:4; N counts the non-zero ones): see ``sparse_weights``."""
    if not strategies:
        raise StrategyError("give at least one serving strategy")
    for name, value in (("prompt_tokens", prompt_tokens), ("output_tokens", output_tokens)):
        positive(name, value, error=StrategyError, allow_zero=True)
    positive("mfu_prefill", mfu_prefill, error=StrategyError, high=1.0)
    positive("mfu_decode", mfu_decode, error=StrategyError, high=1.0)

    def last(a: Any) -> np.ndarray:  # a strategy axis last; each array keeps its own axes
        return np.asarray(a, float)[..., None]

    n, n_tot, e, k_bits, sp = (np.asarray(a, float) for a in (n_active, n_total, experts, bits, sparsity))
    shape = np.broadcast_shapes(n.shape, n_tot.shape, e.shape, k_bits.shape, sp.shape)
    dense_w = kbit_weight_bytes(1.0, bits)  # bytes per weight, block constants included
    stored, scale = sparse_weights(dense_w, sp, device)
    w, flop_scale = last(stored), last(scale)  # per non-zero weight
    dense_w = last(dense_w)  # the draft is dense
    peak = last(_peak(device, k_bits))
    bw, held = device.bandwidth_bytes_per_s, device.memory_bytes
    big_n, big_e = last(n), last(e)
    layers, d_attn, kv_heads = (last(a) for a in default_shape(n / (1.0 - sp)))  # the dense shape
    kappa = 2.0 * kv_heads * DEFAULT_HEAD_DIM * layers * KV_BITS / 8.0
    expert = np.where(big_e > 1, (last(n_tot) - big_n) / np.maximum(big_e - 1.0, 1.0), 0.0)
    n_d = big_n * DRAFT_FRACTION
    d_layers, d_attn_d, d_kv = (last(a) for a in default_shape(n * DRAFT_FRACTION))
    kappa_d = 2.0 * d_kv * DEFAULT_HEAD_DIM * d_layers * KV_BITS / 8.0

    b = np.array([s.batch for s in strategies], float)
    spec = np.array([s.speculative for s in strategies])
    q = np.where(spec, DRAFT_TOKENS + 1.0, 1.0)
    tau = np.where(spec, TOKENS_PER_DRAFT_STEP, 1.0)
    t, p = float(CONTEXT_TOKENS), float(PROMPT_TOKENS)
    miss = 1.0 - 1.0 / big_e  # an expert's chance of being missed by one token (top-1)

    def read(tokens: np.ndarray) -> np.ndarray:  # weight bytes a step over ``tokens`` tokens reads
        return w * (big_n + (big_e * (1.0 - miss**tokens) - 1.0) * expert)

    two = INFERENCE_FLOPS_PER_PARAM_TOKEN
    decode_flops = two * big_n * flop_scale + 2.0 * layers * t * d_attn
    draft_flops = two * n_d + 2.0 * d_layers * t * d_attn_d
    compute = 1.0 / (peak * mfu_decode)
    target_step = np.maximum((b * q) * decode_flops * compute, (read(b * q) + (b * t) * kappa) / bw)
    draft_step = np.maximum(b * draft_flops * compute, (dense_w * n_d + (b * t) * kappa_d) / bw)
    iteration = target_step + np.where(spec, DRAFT_TOKENS, 0.0) * draft_step
    decode_s = iteration / (b * tau)  # device-seconds per generated token

    prefill_tokens = b * p
    prefill_compute = 1.0 / (peak * mfu_prefill)
    prefill = np.maximum(
        prefill_tokens * (two * big_n * flop_scale + 2.0 * layers * (p / 2.0) * d_attn) * prefill_compute,
        (read(prefill_tokens) + prefill_tokens * kappa) / bw,
    ) + np.where(spec, 1.0, 0.0) * np.maximum(
        prefill_tokens * (two * n_d + 2.0 * d_layers * (p / 2.0) * d_attn_d) * prefill_compute,
        (dense_w * n_d + prefill_tokens * kappa_d) / bw,
    )
    prefill_s = prefill / prefill_tokens

    on = np.where(spec, 1.0, 0.0)
    memory = w * last(n_tot) + dense_w * on * n_d + (b * t) * (kappa + on * kappa_d)
    plain_memory = np.broadcast_to(w[..., 0] * n_tot + t * kappa[..., 0], shape)
    devices = np.maximum(1.0, np.ceil(plain_memory / held * (1 - 1e-12)))
    room = devices * held
    if memory_limit_bytes:
        room = np.minimum(room, memory_limit_bytes)
    is_plain = np.array([s == PLAIN for s in strategies])
    fits = (memory <= room[..., None] * (1 + 1e-12)) | is_plain
    latency = iteration / (last(devices) * tau)

    total_s = prompt_tokens * prefill_s + output_tokens * decode_s
    allowed = fits
    if latency_limit_s and prompt_tokens + output_tokens > 0:  # nothing served: no limit to meet
        allowed = fits & (latency <= latency_limit_s * (1 + 1e-12))
    cheap_cost = np.where(allowed, total_s, np.inf)
    cheapest = np.argmin(cheap_cost, axis=-1)
    served = np.take_along_axis(cheap_cost, cheapest[..., None], axis=-1)[..., 0]
    none = ~np.isfinite(served)
    fast_cost = np.where(fits, latency, np.inf)
    fastest = np.argmin(fast_cost, axis=-1)

    def pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
        full = np.broadcast_to(values, (*shape, len(strategies)))
        return np.take_along_axis(full, index[..., None], -1)[..., 0]

    batches = np.array([s.batch for s in strategies], np.int64)
    return ServingChoice(
        serve_hours=served / 3600.0,
        serve_batch=np.where(none, 0, batches[cheapest]),
        speculative=np.where(none, False, spec[cheapest]),
        fastest_hours=pick(total_s, fastest) / 3600.0,
        latency_s=pick(latency, fastest),
        latency_batch=batches[fastest],
        latency_speculative=spec[fastest],
        memory_bytes=plain_memory,
        devices=devices,
    )


# --- the front in words -----------------------------------------------------------------------


def _size(x: float) -> str:
    """1.2e10 -> '12 B', 6.7e8 -> '670 M' (two significant figures, M/B/T as the pages write
    parameters)."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if x >= scale * 0.995 or scale == 1.0:
            v = float(f"{x / scale:.2g}")
            return f"{v:g} {suffix}".strip() if v < 1e5 else f"{x:.2g}"
    return f"{x:.2g}"


def _share_words(values: np.ndarray, value: Any, name) -> str:
    """'8-bit' where every value is ``value``; 'mostly 8-bit (76%; 16-bit 15%)' where it holds at
    least half (the runner-up named where it holds 5% or more); else 'mixed (16 experts 37%,
    2 experts 19%, dense 15%)'."""
    share = float(np.mean(values == value))
    if share == 1.0:
        return name(value)
    kinds, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    if share < 0.5:
        return (
            "mixed (" + ", ".join(f"{name(kinds[i])} {counts[i] / len(values):.0%}" for i in order[:3]) + ")"
        )
    runner = order[1]
    runner_share = counts[runner] / len(values)
    tail = f"; {name(kinds[runner])} {runner_share:.0%}" if runner_share >= 0.05 else ""
    return f"mostly {name(value)} ({share:.0%}{tail})"


def _majority(values: np.ndarray) -> Any:
    kinds, counts = np.unique(values, return_counts=True)
    return kinds[np.argmax(counts)]


MAX_STRETCHES = 3  # more changes of majority than this along a front are summarised as shares


def _along(n: np.ndarray, values: np.ndarray, name) -> str:
    """How one attribute runs along the front by size (``n`` ascending): the majority in each decade
    of N, neighbouring decades with the same majority merged, as 'X below a, Y from a to b, Z from
    b up' ('mostly' where a stretch is not all one value, as ``_share_words``); a front with more
    than MAX_STRETCHES stretches is described by its shares alone."""
    if len(np.unique(values)) == 1:
        return f"{name(values[0])} throughout"
    decade = np.floor(np.log10(n))
    stretches: list[list[Any]] = []  # [majority, first position, last position]
    for d in np.unique(decade):
        where = np.flatnonzero(decade == d)
        majority = _majority(values[where])
        if stretches and stretches[-1][0] == majority:
            stretches[-1][2] = where[-1]
        else:
            stretches.append([majority, where[0], where[-1]])
    if len(stretches) == 1:
        return _share_words(values, stretches[0][0], name)
    if len(stretches) > MAX_STRETCHES:  # too many changes to follow: the shares of the whole front
        return _share_words(values, _majority(values), name)
    words = []
    for k, (value, first, last) in enumerate(stretches):
        what = _share_words(values[first : last + 1], value, name)
        if k == 0:
            words.append(f"{what} below {_size(float(n[stretches[1][1]]))}")
        elif k == len(stretches) - 1:
            words.append(f"{what} from {_size(float(n[first]))} up")
        else:
            words.append(f"{what} from {_size(float(n[first]))} to {_size(float(n[stretches[k + 1][1]]))}")
    return ", ".join(words)


def sparsity_words(sparsity: float) -> str:
    """A candidate's weight sparsity in words: '2:4 sparse' or 'unpruned'."""
    return "2:4 sparse" if sparsity else "unpruned"


def front_words(front: Any) -> str:
    """What a front holds, in words, by active parameters: its precision, experts, sparsity, batch
    and draft (``front``: rows with n_params, serve_bits, experts and, where known, sparsity,
    serve_batch and speculative), e.g. '16-bit below 2.1 B, 4-bit from 2.1 B up; dense throughout;
    unpruned throughout; batch 256 throughout; no speculative decoding throughout'."""
    if len(front) == 0:
        return "The front is empty."
    order = np.argsort(np.asarray(front["n_params"], float), kind="stable")
    n = np.asarray(front["n_params"], float)[order]

    def column(key: str) -> np.ndarray:
        return np.asarray(front[key])[order]

    parts = [
        _along(n, column("serve_bits").astype(float), lambda b: f"{b:g}-bit"),
        _along(n, column("experts").astype(int), lambda e: "dense" if e == 1 else f"{e} experts"),
    ]
    if "sparsity" in front:
        parts.append(_along(n, column("sparsity").astype(float), sparsity_words))
    if "fp8_training" in front:
        parts.append(
            _along(
                n,
                column("fp8_training").astype(bool),
                lambda f: "trained in FP8" if f else "trained at the plan's data type",
            )
        )
    if "serve_batch" in front:
        parts.append(
            _along(
                n,
                column("serve_batch").astype(int),
                lambda b: f"batch {b}" if b else "no batch within the latency limit",
            )
        )
    if "speculative" in front:
        parts.append(
            _along(
                n,
                column("speculative").astype(bool),
                lambda s: "speculative decoding" if s else "no speculative decoding",
            )
        )
    return f"Along the front ({len(front):,} points, by active parameters): " + "; ".join(parts) + "."


# --- the formula the pages show ---------------------------------------------------------------

_BATCH_WORDS = ", ".join(str(b) for b in BATCHES)
SERVING_STRATEGY = Formula(
    id="serving-strategy",
    title="Serving strategy of the Plan page's candidates: batch and speculative decoding, from device time",
    latex=(
        r"\begin{aligned}"
        r"R(b, q) &= \max\left(\frac{b\,q\,(2N + 2\,l\,T\,n_h d_h)}{\text{peak}\cdot\text{MFU}_{dec}},\ "
        r"\frac{W(bq) + b\,T\,\kappa}{BW}\right)\\"
        r"s_{tok} &= \frac{R(b, 1)}{b}\ \text{(plain)},\qquad "
        r"s_{tok} = \frac{\gamma R_d(b) + R(b, \gamma+1)}{b\,\tau},\ "
        r"\tau = \frac{1 - \alpha^{\gamma+1}}{1 - \alpha}\ \text{(speculative)}\\"
        r"H &= (D_{in}\, s_{pre} + D_{out}\, s_{tok}) / 3600,\qquad t_{token} = s_{tok}\, b / g"
        r"\end{aligned}"
    ),
    inputs=(
        ("R(b, q)", "one device's time (s) for a step in which b sequences each add q tokens"),
        ("b", f"batch: one of {_BATCH_WORDS}, as far as the replica's memory holds its KV cache"),
        ("q", "new tokens per sequence in the step: 1 decoding, γ + 1 verifying a draft"),
        ("N", "active parameters of the candidate"),
        ("l, n_h d_h", "layers and query width of default_architecture(N)"),
        ("T", f"tokens of KV held per sequence ({CONTEXT_TOKENS:,})"),
        ("κ", "KV-cache bytes per token (grouped-query, 8 KV heads, 16-bit)"),
        ("W(t)", "weight bytes a step over t tokens reads: the routed experts' share of N_total"),
        ("peak", "dense peak at the data type the weight bits choose (FLOP/s)"),
        ("MFU_dec", "the plan's decode MFU (the compute roof of a decode step)"),
        ("BW", "memory bandwidth (bytes/s)"),
        ("R_d", f"the draft's R: a dense model of N/{1 / DRAFT_FRACTION:g} parameters at the same bits"),
        ("γ, α", f"drafted tokens ({DRAFT_TOKENS}) and acceptance rate ({DRAFT_ACCEPTANCE:g})"),
        ("τ", f"expected tokens per target run ({TOKENS_PER_DRAFT_STEP:.3f})"),
        ("s_tok, s_pre", "device-seconds per generated token and per prompt token"),
        ("D_in, D_out", "prompt and generated tokens served over the model's life"),
        ("g", "devices of the replica"),
    ),
    outputs=(
        ("H", "serving device-hours of the cheapest strategy (cost and CO2e fronts)"),
        (
            "t_token",
            "decode latency per token of one sequence (the latency front takes the fastest strategy)",
        ),
    ),
    assumptions=(
        f"Strategies: batch {_BATCH_WORDS}, each with and without a speculative draft; batch 1 without a "
        "draft is always allowed, so a front with strategies is never worse than one without.",
        f"Speculative decoding (Leviathan et al. 2023): a dense draft of N/{1 / DRAFT_FRACTION:g} parameters "
        f"at the target's bits, γ = {DRAFT_TOKENS} tokens drafted and α = {DRAFT_ACCEPTANCE:g} accepted, "
        f"so τ = {TOKENS_PER_DRAFT_STEP:.3f} tokens per target run (Eq. 1); α near their measured 0.75 "
        "(Table 2, T5-XXL with a T5-small draft, translation); γ fixed, not tuned per candidate: at α 0.7 "
        "it is Thm. 3.8's best γ where a draft step costs a tenth of a target step, and within 7% of the "
        "best speed-up where it costs a fiftieth or more.",
        "A replica is the fewest devices whose memory holds the weights (k-bit with block constants, all "
        "N_total) and one sequence's KV cache; a batch, or the draft, is allowed only where its weights "
        "and KV caches fit there (and within the plan's serving memory limit). The split over devices is "
        "ideal: device-seconds per token do not depend on the replica's size, the step time falls with it.",
        "Mixture of experts: Switch top-1 routing (Ludziejewski et al. 2025, App. A), each of the t tokens "
        "of a step sent to an expert uniformly and independently: E·(1 − (1 − 1/E)^t) experts read.",
        "2:4 weight sparsity (half the weights zero; N counts the kept ones): the model has its dense "
        "size's shape (layers, width, KV cache of 2N). With sparse tensor cores (NVIDIA since Ampere) its "
        "weights are the kept values plus a 2-bit index each, multiplied at twice the dense peak, so its "
        "arithmetic takes a dense N's time; elsewhere its zeros are stored and multiplied (a dense 2N).",
        f"Prefill of {PROMPT_TOKENS} prompt tokens per sequence at the prefill MFU (the draft prefills "
        "too); the plan's prompt share of the served tokens is prefilled, the rest generated.",
        "Cost and CO2e take the strategy with the fewest serving device-seconds that fits and meets the "
        "plan's latency limit (none: the candidate leaves those fronts); latency takes the fastest that "
        "fits; memory counts batch 1 without a draft.",
    ),
    citation="Leviathan, Y., Kalman, M., Matias, Y. (2023). Fast Inference from Transformers via "
    "Speculative Decoding. ICML 2023. arXiv:2211.17192; the roofline of engine.cost.serving (Williams "
    "et al. 2009; Kaplan et al. 2020 Eq. 2.2; DeepSeek-V2 Table 1)",
    url="https://arxiv.org/abs/2211.17192",
    source_detail="Expected tokens per target run: Leviathan Eq. (1); measured α: Table 2; the strategy "
    "set, the draft's size, the replica and the choice per candidate are this app's model",
    verified=False,
    conventions="2·N forward FLOPs per active parameter and token; N_total from Ludziejewski App. A; bytes "
    "10⁹ per GB.",
    valid_range="Decoder-only models of the default shape; one replica; no scheduler or communication "
    "overheads.",
    notes="The expected-tokens formula is the paper's; the rest is this app's simplification, not checked "
    "against measured serving.",
)
