"""Floating-point quantised training: Sun et al. 2025, "Scaling Laws for Floating-Point Quantization
Training" (ICML 2025, arXiv 2501.02423v3).

    L(N, D, E, M, B) = n/N^alpha + d/D^beta + epsilon
                       + (D^beta/N^alpha)·log2(B) / (gamma·(E + 0.5)^delta·(M + 0.5)^nu)

E = exponent bits, M = mantissa bits of the training format (BF16 = E8M7, FP8 = E4M3 or E5M2,
FP4 = E2M1), B = the block size sharing one scaling factor (channel-wise scaling counts as
log2 B = 13.1567, a transcribed value whose derivation was not checked here);
N = non-embedding parameters; D = training tokens; L = loss in nats/token on the
paper's Dolma v1.7 subset. Constants: Table 2 (App. B.1), fitted on 358 runs.

The last term grows with D: past the critical data size (Eq. 21, where dL/dD = 0)

    D_crit = [d·gamma·N^alpha·(E + 0.5)^delta·(M + 0.5)^nu / log2 B]^(1/(2·beta))

more tokens raise the loss. For P = E + M + 1 bits (one sign bit), maximising (E + 0.5)^delta·(M + 0.5)^nu
under (E + 0.5) + (M + 0.5) = P gives the optimal mantissa (Eq. 19)

    M_opt = nu·P/(delta + nu) - 0.5,   E_opt = P - 1 - M_opt.

Compute here is the FLOP count C = 6·N·D whatever the format (the paper's cost-performance analysis,
which weighs compute by the bit width, is not modelled). At a fixed format the loss along C = 6·N·D is
a sum of powers of N (a·N^-alpha + b·N^beta + q·N^-(alpha+beta)), convex in log N, so the numeric
optimum over N is the global one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import LawError, number_problem
from engine.formula import Formula
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.optimize import minimize_over_params

SUN_CITATION = (
    "Sun, X., Li, S., Xie, R., Han, W., Wu, K., Yang, Z., et al. (2025). Scaling Laws for Floating-Point "
    "Quantization Training. ICML 2025. arXiv:2501.02423"
)
SUN_URL = "https://arxiv.org/abs/2501.02423"

BF16 = (8, 7)  # (exponent, mantissa) bits
FP8_E4M3 = (4, 3)
FP8_E5M2 = (5, 2)
FP4_E2M1 = (2, 1)
DEFAULT_BLOCK_SIZE = 128  # elements per scaling factor (the reference's worked numbers)
CHANNEL_WISE_LOG2_BLOCK = 13.1567  # log2 B for channel-wise scaling (transcribed, derivation unchecked)


@dataclass(frozen=True)
class FpQuantConstants:
    n: float
    alpha: float
    d: float
    beta: float
    epsilon: float
    gamma: float
    delta: float
    nu: float


def _bits(name: str, value: Any) -> np.ndarray:
    problem = number_problem(value, 0.0, 32.0, low_inclusive=True)
    if problem:
        raise LawError(f"{name} {problem}, got {value!r}")
    return np.asarray(value, dtype=float)


def _log2_block(block_size: Any) -> np.ndarray:
    problem = number_problem(block_size, 1.0, low_inclusive=True)
    if problem:
        raise LawError(f"block_size (elements sharing one scaling factor) {problem}, got {block_size!r}")
    return np.log2(np.asarray(block_size, dtype=float))


@dataclass(frozen=True)
class FpQuantLaw(Law):
    info: LawInfo
    constants: FpQuantConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.epsilon

    def _precision_denominator(self, exponent_bits: Any, mantissa_bits: Any) -> np.ndarray:
        """gamma·(E + 0.5)^delta·(M + 0.5)^nu."""
        k = self.constants
        e = _bits("exponent_bits", exponent_bits)
        m = _bits("mantissa_bits", mantissa_bits)
        return k.gamma * (e + 0.5) ** k.delta * (m + 0.5) ** k.nu

    def quantisation_term(
        self,
        n_params: Any,
        n_tokens: Any,
        exponent_bits: Any = BF16[0],
        mantissa_bits: Any = BF16[1],
        block_size: Any = DEFAULT_BLOCK_SIZE,
    ) -> np.ndarray:
        """The loss the format adds: (D^beta/N^alpha)·log2 B/(gamma·(E+0.5)^delta·(M+0.5)^nu)."""
        k = self.constants
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        return (
            d**k.beta
            / n**k.alpha
            * _log2_block(block_size)
            / self._precision_denominator(exponent_bits, mantissa_bits)
        )

    def loss(
        self,
        n_params: Any,
        n_tokens: Any,
        exponent_bits: Any = BF16[0],
        mantissa_bits: Any = BF16[1],
        block_size: Any = DEFAULT_BLOCK_SIZE,
        **inputs: Any,
    ) -> np.ndarray:
        """L (nats/token, Dolma subset) for N non-embedding parameters on D tokens trained in an
        E-exponent, M-mantissa float format with one scale per ``block_size`` elements (default BF16)."""
        k = self.constants
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        return (
            k.n / n**k.alpha
            + k.d / d**k.beta
            + k.epsilon
            + self.quantisation_term(n, d, exponent_bits, mantissa_bits, block_size)
        )

    def critical_data_size(
        self,
        n_params: Any,
        exponent_bits: Any = BF16[0],
        mantissa_bits: Any = BF16[1],
        block_size: Any = DEFAULT_BLOCK_SIZE,
    ) -> np.ndarray:
        """D_crit (tokens, Eq. 21): the D of least loss at N; more tokens raise the loss
        (``CRITICAL_DATA``)."""
        k = self.constants
        n = as_positive_array("n_params", n_params)
        ratio = (
            k.d
            * self._precision_denominator(exponent_bits, mantissa_bits)
            * n**k.alpha
            / _log2_block(block_size)
        )
        return ratio ** (1.0 / (2.0 * k.beta))

    def optimal(
        self,
        flops: Any,
        exponent_bits: Any = BF16[0],
        mantissa_bits: Any = BF16[1],
        block_size: Any = DEFAULT_BLOCK_SIZE,
        **inputs: Any,
    ) -> Allocation:
        """Least-loss N, D at C = 6·N·D FLOPs in a fixed format (numeric search over N)."""
        c_arr = as_positive_array("flops", flops)
        fmt = (float(_bits("exponent_bits", exponent_bits)), float(_bits("mantissa_bits", mantissa_bits)))
        _log2_block(block_size)
        block = float(block_size)
        n = minimize_over_params(lambda n_, d_: self.loss(n_, d_, *fmt, block), c_arr)
        d = c_arr / (6.0 * n)
        return Allocation(n, d, c_arr, self.loss(n, d, *fmt, block))

    def target(
        self,
        loss: Any,
        exponent_bits: Any = BF16[0],
        mantissa_bits: Any = BF16[1],
        block_size: Any = DEFAULT_BLOCK_SIZE,
        **inputs: Any,
    ) -> Allocation:
        return self.target_by_search(
            loss, exponent_bits=exponent_bits, mantissa_bits=mantissa_bits, block_size=block_size
        )


SUN = FpQuantLaw(
    info=LawInfo(
        id="sun-fp-quant",
        title="Floating-point quantised training (Sun et al. 2025)",
        citation=SUN_CITATION,
        url=SUN_URL,
        equation=(
            r"L = \frac{n}{N^{\alpha}} + \frac{d}{D^{\beta}} + \epsilon + \frac{D^{\beta}}{N^{\alpha}}\,"
            r"\frac{\log_2 B}{\gamma\,(E + 0.5)^{\delta}\,(M + 0.5)^{\nu}}"
        ),
        source_detail="Unified scaling law; constants Table 2 (App. B.1); D_crit Eq. (21); optimal mantissa "
        "Eq. (19)",
        conventions=(
            "N = non-embedding parameters; D = training tokens; E, M = exponent and mantissa bits of the "
            "training format; B = elements per scaling factor; C = 6·N·D. L in nats/token on the paper's "
            "Dolma v1.7 subset: not comparable in absolute value with other laws' losses. Default format "
            "BF16 (E8M7), B = 128."
        ),
        valid_range="Fitted on 41M-679M parameters, 10B-100B tokens (358 runs); validated at 1.2B, 7B, 70B",
        verified=True,
        family="fp-quant",
        extra_inputs=("exponent_bits", "mantissa_bits", "block_size"),
        notes=(
            "Past the critical data size D_crit more tokens raise the loss. The paper's cost-performance "
            "precision (compute weighted by bits) is not modelled: C counts FLOPs."
        ),
    ),
    constants=FpQuantConstants(
        n=69.2343,
        alpha=0.2368,
        d=68973.0621,
        beta=0.5162,
        epsilon=1.9061,
        gamma=11334.5197,
        delta=3.1926,
        nu=2.9543,
    ),
)


def optimal_mantissa_bits(total_bits: Any, law: FpQuantLaw = SUN) -> np.ndarray:
    """M_opt = nu·P/(delta + nu) - 0.5 for P = E + M + 1 bits (Eq. 19; ``OPTIMAL_MANTISSA``); the
    exponent then takes E_opt = P - 1 - M_opt. Real-valued: round to a format that exists."""
    p = as_positive_array("total_bits", total_bits)
    k = law.constants
    return k.nu * p / (k.delta + k.nu) - 0.5


CRITICAL_DATA = Formula(
    id="sun-critical-data-size",
    title="Critical data size of low-precision training (Sun et al. 2025)",
    latex=(
        r"D_{crit} = \left[\frac{d\,\gamma\,N^{\alpha}\,(E + 0.5)^{\delta}\,(M + 0.5)^{\nu}}{\log_2 B}"
        r"\right]^{\frac{1}{2\beta}}"
    ),
    inputs=(
        ("N", "non-embedding parameters"),
        ("E, M", "exponent and mantissa bits of the training format"),
        ("B", "elements sharing one scaling factor"),
        ("d, γ, α, β, δ, ν", "the law's Table 2 constants"),
    ),
    outputs=(("D_crit", "training tokens past which more data raises the loss (tokens)"),),
    assumptions=("Where dL/dD = 0 at fixed N and format: d·β/D^(β+1) equals the quantisation term's slope.",),
    citation=SUN_CITATION,
    url=SUN_URL,
    source_detail="Eq. (21); constants Table 2 (App. B.1)",
    verified=True,
    conventions="N non-embedding; D tokens.",
    valid_range="The law's fitted range: 41M-679M parameters, 10B-100B tokens.",
)

OPTIMAL_MANTISSA = Formula(
    id="sun-optimal-mantissa",
    title="Optimal exponent-mantissa split for a bit width (Sun et al. 2025)",
    latex=r"M_{opt} = \frac{\nu\,P}{\delta + \nu} - 0.5,\qquad E_{opt} = P - 1 - M_{opt}",
    inputs=(
        ("P", "bits per value, E + M + 1 (one sign bit)"),
        ("δ, ν", "the law's exponent and mantissa constants (Table 2)"),
    ),
    outputs=(("M_opt, E_opt", "mantissa and exponent bits of least loss (real-valued)"),),
    assumptions=(
        "Maximises (E + 0.5)^δ·(M + 0.5)^ν under (E + 0.5) + (M + 0.5) = P: the split does not depend "
        "on N, D or B.",
        "Real-valued; a format has whole bits, so round to the nearest that exists.",
    ),
    citation=SUN_CITATION,
    url=SUN_URL,
    source_detail="Eq. (19); constants Table 2 (App. B.1)",
    verified=True,
    conventions="P counts the sign bit.",
    valid_range="The law's fitted range; outside the formats the paper trained (FP4 to BF16) an "
    "extrapolation.",
)

LAWS = (SUN,)
FORMULAS = (CRITICAL_DATA, OPTIMAL_MANTISSA)
