"""Speculative decoding (Leviathan, Kalman, Matias 2023, ICML; arXiv:2211.17192).

A draft model proposes γ tokens one at a time; the target model scores all γ + 1 positions in one
run and keeps the longest accepted prefix plus one token of its own. With acceptance rate α (the
expected share of the draft's distribution the target agrees with, Cor. 3.6):

    E[tokens per target run] = (1 − α^(γ+1)) / (1 − α)            (Eq. 1; γ + 1 at α = 1)
    wall-time improvement   = (1 − α^(γ+1)) / ((1 − α)(γ·c + 1))    (Thm. 3.8)
    operations increase     = (1 − α)(γ·ĉ + γ + 1) / (1 − α^(γ+1))  (Thm. 3.11)

c = time of one draft run ÷ time of one target run; ĉ = draft ÷ target arithmetic per token.
The optimal γ is the integer that maximises Thm. 3.8 (found numerically, §3.5).

On a device, :func:`speculative_point` replaces the theorem's assumption that a target run over
γ + 1 tokens takes as long as one over 1 token with the roofline of engine.cost.serving: the
verify step does (γ + 1)× the FLOPs but reads the weights and the KV cache once, so the two agree
while the target is memory-bound and the gain shrinks where it is compute-bound.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.serving import (
    ServingError,
    ServingSetup,
    decode_step,
    json_safe,
    serve_point,
    whole_number,
)
from engine.errors import positive
from engine.formula import Formula

DEFAULT_MAX_GAMMA = 32  # drafted tokens searched by optimal_gamma


def _alpha(alpha: Any) -> np.ndarray:
    return positive("alpha (acceptance rate)", alpha, error=ServingError, allow_zero=True, high=1.0)


def _gamma(gamma: Any) -> np.ndarray:
    g = positive("gamma (drafted tokens)", gamma, error=ServingError, allow_zero=True)
    if np.any(g != np.round(g)):
        raise ServingError(f"gamma (drafted tokens) must be a whole number, got {gamma!r}")
    return g


def _cost(name: str, value: Any) -> np.ndarray:
    return positive(name, value, error=ServingError, allow_zero=True)


def expected_tokens_per_step(alpha: Any, gamma: Any) -> np.ndarray:
    """Expected tokens one target run yields, (1 − α^(γ+1)) / (1 − α); γ + 1 at α = 1 (Eq. 1).
    Vectorized over α in [0, 1] and whole γ >= 0 (γ = 0: plain decoding, one token)."""
    a, g = np.broadcast_arrays(_alpha(alpha), _gamma(gamma))
    full = g + 1.0
    safe = np.where(a < 1.0, a, 0.0)
    return np.where(a < 1.0, (1.0 - safe**full) / (1.0 - safe), full)


def speedup(alpha: Any, gamma: Any, c: Any) -> np.ndarray:
    """Expected wall-time improvement over plain decoding, (1 − α^(γ+1)) / ((1 − α)(γ·c + 1))
    (Thm. 3.8); c = draft run time ÷ target run time. 1 at γ = 0 and, with c = 0, at α = 0."""
    return expected_tokens_per_step(alpha, gamma) / (_gamma(gamma) * _cost("c", c) + 1.0)


def ops_increase(alpha: Any, gamma: Any, c_hat: Any) -> np.ndarray:
    """Expected factor of arithmetic operations over plain decoding,
    (1 − α)(γ·ĉ + γ + 1) / (1 − α^(γ+1)) (Thm. 3.11); ĉ = draft ÷ target operations per token."""
    g = _gamma(gamma)
    return (g * _cost("c_hat", c_hat) + g + 1.0) / expected_tokens_per_step(alpha, gamma)


def optimal_gamma(alpha: float, c: float, max_gamma: int = DEFAULT_MAX_GAMMA) -> int:
    """The γ in 0..max_gamma with the largest speed-up (Thm. 3.8); the smallest on a tie. 0 means
    speculation does not pay (plain decoding is faster: α too low for the draft's cost c)."""
    top = whole_number("max_gamma", max_gamma)
    gammas = np.arange(top + 1, dtype=float)
    gains = speedup(float(alpha), gammas, float(c))
    return int(np.argmax(gains > gains.max() * (1 - 1e-12)))


def draft_setup(target: ServingSetup, draft_params: float | ServingSetup) -> ServingSetup:
    """The draft model as a ServingSetup: one given, or a dense model of ``draft_params``
    parameters on the target's device, at its bits, context and prompt, with the default shape."""
    if isinstance(draft_params, ServingSetup):
        return draft_params
    return replace(target, n_active=float(draft_params), n_total=None, n_experts=None, top_k=None, kv=None)


def draft_cost_ratio(draft: ServingSetup, target: ServingSetup, batch: int) -> float:
    """c of Thm. 3.8: the draft's decode step time ÷ the target's, both at ``batch`` on their
    devices (serve_point's roofline)."""
    return serve_point(draft, batch).decode_ms_per_token / serve_point(target, batch).decode_ms_per_token


@dataclass(frozen=True)
class SpeculativePoint:
    """Speculative decoding at one batch. Times in ms; $ and kWh per million generated tokens."""

    alpha: float
    gamma: int
    batch: int
    c: float  # draft step time ÷ target step time
    c_hat: float  # draft ÷ target FLOPs per token
    expected_tokens_per_step: float  # Eq. 1
    speedup_theorem: float  # Thm. 3.8 at this c
    speedup: float  # on the roofline: plain decode time per token ÷ speculative
    ops_increase: float  # Thm. 3.11 at this ĉ
    optimal_gamma: int  # Thm. 3.8's best γ at this c (0: do not speculate)
    target_decode_ms_per_token: float  # plain decoding
    draft_step_ms: float  # one draft run (one token for each sequence)
    verify_ms: float  # one target run over γ + 1 tokens of each sequence
    decode_ms_per_token: float  # (γ·draft + verify) ÷ E[tokens]: time between tokens of a sequence
    tokens_per_s: float
    usd_per_mtok: float | None
    kwh_per_mtok: float | None
    memory_bytes: float  # both models' weights and KV caches
    fits: bool

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (no NaN or infinity: None)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}


def speculative_point(
    target_setup: ServingSetup,
    draft_params: float | ServingSetup,
    alpha: float,
    gamma: int,
    batch: int = 1,
) -> SpeculativePoint:
    """Serve ``target_setup`` at ``batch`` with a draft (``draft_params`` parameters, or its own
    setup) proposing ``gamma`` tokens accepted at rate ``alpha`` (module doc). The draft runs on
    the same device: both models' memory is counted together."""
    b = whole_number("batch", batch)
    g = int(_gamma(gamma))
    a = float(_alpha(alpha))
    draft = draft_setup(target_setup, draft_params)
    target_pt, draft_pt = serve_point(target_setup, b), serve_point(draft, b)
    c = draft_pt.decode_ms_per_token / target_pt.decode_ms_per_token
    c_hat = (INFERENCE_FLOPS_PER_PARAM_TOKEN * draft.n_active) / (
        INFERENCE_FLOPS_PER_PARAM_TOKEN * target_setup.n_active
    )
    tokens = float(expected_tokens_per_step(a, g))
    verify_ms = decode_step(target_setup, b, g + 1)[3] * 1e3
    iteration_ms = g * draft_pt.decode_ms_per_token + verify_ms
    per_token_ms = iteration_ms / tokens
    tokens_per_s = b * 1e3 / per_token_ms
    price, watts = target_setup.price, target_setup.watts
    memory = target_pt.memory_bytes + (draft_pt.memory_bytes if draft.device is target_setup.device else 0.0)
    return SpeculativePoint(
        alpha=a,
        gamma=g,
        batch=b,
        c=c,
        c_hat=c_hat,
        expected_tokens_per_step=tokens,
        speedup_theorem=float(speedup(a, g, c)),
        speedup=target_pt.decode_ms_per_token / per_token_ms,
        ops_increase=float(ops_increase(a, g, c_hat)),
        optimal_gamma=optimal_gamma(a, c),
        target_decode_ms_per_token=target_pt.decode_ms_per_token,
        draft_step_ms=draft_pt.decode_ms_per_token,
        verify_ms=verify_ms,
        decode_ms_per_token=per_token_ms,
        tokens_per_s=tokens_per_s,
        usd_per_mtok=None if price is None else 1e6 / tokens_per_s / 3600.0 * price,
        kwh_per_mtok=None if watts is None else 1e6 / tokens_per_s * watts / 3.6e6,
        memory_bytes=memory,
        fits=memory <= target_setup.device.memory_bytes,
    )


def best_gamma(
    target_setup: ServingSetup,
    draft_params: float | ServingSetup,
    alpha: float,
    batch: int = 1,
    max_gamma: int = DEFAULT_MAX_GAMMA,
) -> int:
    """The γ in 0..max_gamma with the largest roofline speed-up of :func:`speculative_point` (the
    verify run's cost included); 0 when plain decoding is faster."""
    top = whole_number("max_gamma", max_gamma)
    gains = [1.0] + [
        speculative_point(target_setup, draft_params, alpha, g, batch).speedup for g in range(1, top + 1)
    ]
    best = max(gains)
    return next(g for g, gain in enumerate(gains) if gain >= best * (1 - 1e-12))


SPECULATIVE_DECODING = Formula(
    id="speculative-decoding",
    title="Speculative decoding: tokens per target run, speed-up and extra work (Leviathan et al. 2023)",
    latex=(
        r"\begin{aligned}"
        r"E[\text{tokens}] &= \frac{1 - \alpha^{\gamma+1}}{1 - \alpha},\qquad "
        r"\text{speed-up} = \frac{1 - \alpha^{\gamma+1}}{(1 - \alpha)(\gamma c + 1)}\\"
        r"\text{ops} &= \frac{(1 - \alpha)(\gamma \hat{c} + \gamma + 1)}{1 - \alpha^{\gamma+1}}"
        r"\end{aligned}"
    ),
    inputs=(
        ("α", "acceptance rate: expected share of drafted tokens the target accepts (0 to 1)"),
        ("γ", "tokens drafted per target run (a whole number; 0 is plain decoding)"),
        ("c", "time of one draft run ÷ time of one target run"),
        ("ĉ", "draft ÷ target arithmetic operations per token"),
    ),
    outputs=(
        ("E[tokens]", "expected tokens per target run (Eq. 1; γ + 1 at α = 1)"),
        ("speed-up", "expected wall-time improvement over plain decoding (Thm. 3.8)"),
        ("ops", "expected factor of arithmetic operations (Thm. 3.11)"),
    ),
    assumptions=(
        "Acceptances are independent with the same rate α at every position (the paper's simplifying "
        "assumption).",
        f"The optimal γ is searched over 0 to {DEFAULT_MAX_GAMMA} (Thm. 3.8, as §3.5 does numerically).",
        "On a device, c is the ratio of the two models' decode-step times on the serving roofline at the "
        "chosen batch, and the verify run over γ + 1 tokens per sequence is timed on that roofline "
        "((γ + 1)× the FLOPs, the weights and KV cache read once) instead of being taken equal to one "
        "decode step; the draft shares the device, so both models' memory counts.",
        "A draft given by its size alone is a dense model of the default shape at the target's bits.",
    ),
    citation="Leviathan, Y., Kalman, M., Matias, Y. (2023). Fast Inference from Transformers via "
    "Speculative Decoding. ICML 2023. arXiv:2211.17192",
    url="https://arxiv.org/abs/2211.17192",
    source_detail="Eq. (1) (expected tokens), Theorem 3.8 (wall-time improvement), Theorem 3.11 "
    "(operations), §3.5 (optimal γ), Table 1 (worked values at c = ĉ = 0)",
    verified=True,
    conventions="α as in Corollary 3.6 (α = E[Σ min(p, q)]); c and ĉ as in Theorems 3.8 and 3.11.",
    valid_range="0 ≤ α ≤ 1, whole γ ≥ 0, c ≥ 0. Measured (Table 2: T5-XXL with a T5-small draft on "
    "TPU v4, batch 1): translation α 0.75, γ 7, 3.4× at temperature 0.",
    notes="The forms are the paper's; the roofline timing of draft and verify runs is this app's model.",
)
