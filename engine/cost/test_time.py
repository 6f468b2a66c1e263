"""Test-time compute: Kinetics' cost of best-of-n and long reasoning (Sadhukhan et al. 2025,
arXiv:2506.05333; the authors' code Infini-AI-Lab/Kinetics, ``cost_model/utils.py::dense_cost``),
routing a share of queries to a small model, and the tokens reasoning adds over a lifetime.

For n trials of L_out generated tokens after a prompt of L_in tokens, with P parameters, n_h query
heads, n_kv KV heads and hd = head_dim × layers (the per-layer terms summed):

    C_comp = n · [2·P·L_out + 2·(2·L_in + L_out)·L_out·n_h·hd]      FLOPs
    C_mem  = 2·(2·L_in + n·L_out)·L_out·n_kv·hd                     bytes of KV read (2 per element)
    eFLOPs = C_comp + I · C_mem

The prompt's KV is read once per step for all n trials (shared), each trial's own tokens for each;
weight reads are not counted (the code comments them out). I = peak FLOP/s ÷ bandwidth (bytes/s)
turns bytes into the FLOPs the device could have done meanwhile: 562.5 in the code.

Routing: a share q of queries to the small model costs q·c_small + (1 − q)·c_large per query.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.cost.hardware import Device
from engine.cost.serving import ServingError, json_safe, whole_number
from engine.errors import positive
from engine.formula import Formula

KINETICS_INTENSITY = 562.5
"""I of the authors' code (``E_flops = 562.5`` in cost_model/*/cost_model_*.py): FLOPs per byte.
It equals an fp8 peak of 4.5 PFLOP/s over 8 TB/s (a B200's catalog figures); the paper's own
derivation was not checked."""


@dataclass(frozen=True)
class KineticsCost:
    """Kinetics' cost of one query: ``c_comp`` FLOPs, ``c_mem`` bytes of KV read, ``eflops`` =
    c_comp + intensity·c_mem (FLOP-equivalents), ``memory_share`` = intensity·c_mem / eflops."""

    c_comp: float
    c_mem: float
    eflops: float
    memory_share: float
    memory_eflops: float  # intensity · c_mem
    intensity: float
    trials: int
    input_tokens: int
    output_tokens: int

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (no NaN or infinity: None)."""
        return {k: json_safe(v) for k, v in asdict(self).items()}


def kinetics_cost(
    params: float,
    *,
    n_layers: int,
    n_heads: int,
    n_kv_heads: int,
    head_dim: int,
    input_tokens: int,
    output_tokens: int,
    trials: int = 1,
    intensity: float = KINETICS_INTENSITY,
) -> KineticsCost:
    """Kinetics' eFLOPs of ``trials`` samples of ``output_tokens`` after a prompt of
    ``input_tokens`` (module doc); ``params`` P total parameters; ``intensity`` I in FLOPs per
    byte (default the authors' 562.5; :func:`device_intensity` for another device)."""
    p = float(positive("params", params, error=ServingError))
    layers = whole_number("n_layers", n_layers)
    heads = whole_number("n_heads", n_heads)
    kv_heads = whole_number("n_kv_heads", n_kv_heads)
    if kv_heads > heads:
        raise ServingError(f"n_kv_heads ({kv_heads}) must be at most n_heads ({heads})")
    hd = float(whole_number("head_dim", head_dim) * layers)
    l_in = float(whole_number("input_tokens", input_tokens, low=0))
    l_out = float(whole_number("output_tokens", output_tokens))
    n = whole_number("trials", trials)
    i = float(positive("intensity", intensity, error=ServingError))
    c_comp = n * (2.0 * p * l_out + 2.0 * (2.0 * l_in + l_out) * l_out * heads * hd)
    c_mem = 2.0 * (2.0 * l_in + n * l_out) * l_out * kv_heads * hd
    memory = i * c_mem
    return KineticsCost(
        c_comp=c_comp,
        c_mem=c_mem,
        eflops=c_comp + memory,
        memory_share=memory / (c_comp + memory),
        memory_eflops=memory,
        intensity=i,
        trials=n,
        input_tokens=int(l_in),
        output_tokens=int(l_out),
    )


def device_intensity(device: Device, dtype: str = "bf16") -> float:
    """Kinetics' I for ``device``: its dense peak at ``dtype`` (FLOP/s) ÷ its bandwidth (bytes/s),
    the roofline's ridge point."""
    return device.peak_flops(dtype) / device.bandwidth_bytes_per_s


def routed_cost(q: Any, cost_small: Any, cost_large: Any) -> np.ndarray:
    """Expected cost per query when a share ``q`` (0 to 1) goes to the small model:
    q·c_small + (1 − q)·c_large, in the costs' unit. Vectorized."""
    share = positive("q (share routed to the small model)", q, error=ServingError, allow_zero=True, high=1.0)
    small = positive("cost_small", cost_small, error=ServingError, allow_zero=True)
    large = positive("cost_large", cost_large, error=ServingError, allow_zero=True)
    return share * small + (1.0 - share) * large


def reasoning_lifetime_tokens(
    queries: Any, output_tokens_per_query: Any, reasoning_tokens_per_query: Any = 0.0
) -> np.ndarray:
    """Tokens generated over a lifetime: queries × (answer tokens + reasoning tokens per query);
    what the lifetime optimum's inference demand becomes when the model thinks before answering."""
    n = positive("queries", queries, error=ServingError, allow_zero=True)
    out = positive("output_tokens_per_query", output_tokens_per_query, error=ServingError, allow_zero=True)
    think = positive(
        "reasoning_tokens_per_query", reasoning_tokens_per_query, error=ServingError, allow_zero=True
    )
    return n * (out + think)


TEST_TIME_KINETICS = Formula(
    id="test-time-kinetics",
    title="Test-time compute: Kinetics' eFLOPs of best-of-n and long reasoning (Sadhukhan et al. 2025)",
    latex=(
        r"\begin{aligned}"
        r"C_{comp} &= n\left[2 P L_{out} + 2\,(2 L_{in} + L_{out})\, L_{out}\, n_h\, hd\right]\\"
        r"C_{mem} &= 2\,(2 L_{in} + n L_{out})\, L_{out}\, n_{kv}\, hd,\qquad "
        r"\text{eFLOPs} = C_{comp} + I\cdot C_{mem}"
        r"\end{aligned}"
    ),
    inputs=(
        ("n", "trials (samples of best-of-n; 1 for one long reasoning trace)"),
        ("P", "parameters of the model (total)"),
        ("L_in", "prompt tokens"),
        ("L_out", "tokens generated per trial"),
        ("n_h, n_kv", "query heads and key/value heads"),
        ("hd", "head dimension × layers (the per-layer terms summed)"),
        (
            "I",
            f"FLOPs per byte: peak ÷ bandwidth of the device ({KINETICS_INTENSITY:g} in the authors' code)",
        ),
    ),
    outputs=(
        ("C_comp", "FLOPs: parameters and attention"),
        ("C_mem", "bytes of KV cache read (2 bytes per element)"),
        ("eFLOPs", "the cost in FLOP-equivalents: compute plus memory traffic at the device's intensity"),
    ),
    assumptions=(
        "The n trials share the prompt's KV cache (read once per step), each reads its own generated tokens.",
        "Weight reads are not counted (the authors' code has them commented out).",
        f"I = {KINETICS_INTENSITY:g} FLOPs per byte by default, the authors' value (a B200's fp8 peak over "
        "its bandwidth); use the chosen device's peak ÷ bandwidth instead where given.",
    ),
    citation="Sadhukhan, R., Chen, Z., Zheng, H., Zhou, Y., Strubell, E., Chen, B. (2025). Kinetics: "
    "Rethinking Test-Time Scaling Laws. arXiv:2506.05333",
    url="https://arxiv.org/abs/2506.05333",
    source_detail="The authors' code, Infini-AI-Lab/Kinetics cost_model/utils.py (dense_cost) and "
    "cost_model/best_of_N/cost_model_ntrial.py (E_flops = 562.5, head_dim × layers)",
    verified=True,
    conventions="P total parameters; FLOPs 2 per multiply-accumulate; bytes at 16-bit KV.",
    valid_range="Dense attention (the code's sparse-attention variants are not modelled); the authors "
    "apply it to Qwen3 0.6B–32B on AIME 2024 and 2025.",
    notes="Form and default intensity read from the authors' code; the intensity's derivation in the paper "
    "was not checked.",
)

ROUTING = Formula(
    id="routing",
    title="Routing: a share of queries to a small model",
    latex=r"c(q) = q\, c_{small} + (1 - q)\, c_{large}",
    inputs=(
        ("q", "share of queries sent to the small model (0 to 1)"),
        ("c_small, c_large", "cost of one query on each model ($, FLOPs or kWh, the same unit)"),
    ),
    outputs=(("c(q)", "expected cost per query"),),
    assumptions=(
        "The router's own cost is not counted; each query goes to one model only (no cascade).",
        "The quality reached at share q is the user's input: it depends on the router and the task and is "
        "not modelled here.",
    ),
    citation="The setting of Ong, I. et al. (2024). RouteLLM: Learning to Route LLMs with Preference "
    "Data. arXiv:2406.18665 (a router between a stronger and a weaker model); the cost is an expected-"
    "cost identity with no fitted constants",
    url="https://arxiv.org/abs/2406.18665",
    source_detail="Linearity of expectation over the two models; the quality against q is the router's "
    "and is not modelled",
    verified=False,
    conventions="Costs per query, in any one unit.",
    valid_range="0 ≤ q ≤ 1.",
)


def generation_cost_usd(tokens: Any, usd_per_mtok: float | None) -> np.ndarray | None:
    """Dollars for generating ``tokens`` at ``usd_per_mtok`` dollars per million generated tokens
    (engine.cost.serving.ServingPoint.usd_per_mtok: device time at a batch); None without a price."""
    if usd_per_mtok is None:
        return None
    n = positive("tokens", tokens, error=ServingError, allow_zero=True)
    return n * float(usd_per_mtok) / 1e6


def sequence_seconds(tokens: Any, decode_ms_per_token: float) -> np.ndarray:
    """Wall time for one sequence to generate ``tokens`` at ``decode_ms_per_token`` (ms between two
    of its tokens at the serving batch)."""
    n = positive("tokens", tokens, error=ServingError, allow_zero=True)
    return n * float(positive("decode_ms_per_token", decode_ms_per_token, error=ServingError)) / 1e3
