"""Precision laws: Kumar et al. 2025 (training and post-training precision), Dettmers &
Zettlemoyer 2023 (k-bit inference rules and memory), Dremov et al. 2025 (QAT fraction).

Kumar et al., "Scaling Laws for Precision" (ICLR 2025), Eq. (1)/(11):

    L = A·N_eff^-alpha + B·D^-beta + E + delta_PTQ
    N_eff = N · prod_x (1 - exp(-P_x/gamma_x + n_x)),  x in {weights, activations, KV cache}
    delta_PTQ = C_T · D^gamma_D / N_eff^gamma_N · exp(-P_post/gamma_post + b)      (P_post < P_train)
    compute   C = (6/16)·N·D·P                                                      (§4.3, Eq. 5)
    D_crit    = (beta·B·N^gamma_N·exp(P_post/gamma_post - b) / (gamma_D·C_T))^(1/(gamma_D+beta))

Constants: Appendix K, Table 2, with its offsets n_x and b ("e^{x/gamma_x} ... is really computed
with offset e^{x/gamma_x + n}"); without them the law gives P* = 3.5 bits, not the paper's 7-8.
N = non-embedding parameters; L in nats/token on Dolma v1.7; integer fake-quantised training.
A precision left unset means full precision: no discount (the paper's BF16 baseline). Activation or
KV precision at 3 bits or fewer is outside the law (App. L: unstable, not fitted) and refused.

Because L depends on N only through N_eff = f(P)·N, and N·D = 16·C/(6·P), the optimum at a given
precision is the Chinchilla optimum at the effective budget C_eff = 16·C·f(P)/P (closed form), and
the compute-optimal precision with N, D and P free maximises f(P)/P, independently of C (Eq. 7).

The robustification constants C_x of Eq. (8)-(9) (PTQ after low-precision training) are not in
Table 2, so delta_PTQ here uses the BF16-trained form for any training precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from engine.errors import LawError
from engine.formula import Formula
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.chinchilla import ChinchillaConstants, ChinchillaLaw

KUMAR_CITATION = (
    "Kumar, T., Ankner, Z., Spector, B. F., Bordelon, B., Muennighoff, N., Paul, M., Pehlevan, C., Ré, C., "
    "Raghunathan, A. (2025). Scaling Laws for Precision. ICLR 2025. arXiv:2411.04330"
)
MIN_STABLE_BITS = 3.0  # activations / KV at or below this are outside the law


@dataclass(frozen=True)
class KumarConstants:
    A: float
    alpha: float
    B: float
    beta: float
    E: float
    gamma_w: float
    n_w: float
    gamma_a: float
    n_a: float
    gamma_kv: float
    n_kv: float
    C_T: float
    gamma_D: float
    gamma_N: float
    gamma_post: float
    b: float


def equivalent_6nd_budget(flops: Any, bits: Any) -> np.ndarray:
    """Kumar's compute C = (6/16)·N·D·P as a C = 6·N·D budget: C·16/P (equal at 16 bits)."""
    return np.asarray(flops, float) * 16.0 / np.asarray(bits, float)


def _bits(name: str, value: Any) -> np.ndarray:
    """Bits as an array: positive, at most 32; LawError naming ``name`` otherwise."""
    arr = as_positive_array(name, value)
    if np.any(arr > 32):
        raise LawError(f"{name} must be at most 32 bits, got {value!r}")
    return arr


@dataclass(frozen=True)
class PrecisionLaw(Law):
    info: LawInfo
    constants: KumarConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.E

    def precision_factor(
        self, bits_weights: Any = None, bits_activations: Any = None, bits_kv: Any = None
    ) -> Any:
        """f = N_eff/N = prod over the given precisions of (1 - exp(-P/gamma + n))."""
        c = self.constants
        factor: Any = 1.0
        for name, value, gamma, offset in (
            ("bits_weights", bits_weights, c.gamma_w, c.n_w),
            ("bits_activations", bits_activations, c.gamma_a, c.n_a),
            ("bits_kv", bits_kv, c.gamma_kv, c.n_kv),
        ):
            if value is None:  # this part kept at full precision
                continue
            bits = _bits(name, value)
            if name != "bits_weights" and np.any(bits <= MIN_STABLE_BITS):
                raise LawError(
                    f"{name} at {MIN_STABLE_BITS:g} bits or fewer is outside the law "
                    "(Kumar et al. App. L: not stable, not fitted); not extrapolated"
                )
            factor = factor * (1.0 - np.exp(-bits / gamma + offset))
        if np.any(np.asarray(factor) <= 0):
            raise LawError("these precisions give no effective parameters under the law")
        return factor

    def ptq_degradation(
        self, n_params: Any, n_tokens: Any, bits_post: Any, bits_train: Any = 16.0
    ) -> np.ndarray:
        """delta_PTQ: loss added by quantising the weights to bits_post after training (0 when
        bits_post >= the training precision)."""
        c = self.constants
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        post = _bits("bits_post", bits_post)
        delta = c.C_T * d**c.gamma_D / n**c.gamma_N * np.exp(-post / c.gamma_post + c.b)
        return np.where(post >= np.asarray(bits_train, float), 0.0, delta)

    def critical_data_size(self, n_params: Any, bits_post: Any) -> np.ndarray:
        """D_crit: past this many tokens more pretraining raises the post-quantisation loss."""
        c = self.constants
        n = np.asarray(n_params, float)
        post = _bits("bits_post", bits_post)
        return (c.beta * c.B * n**c.gamma_N * np.exp(post / c.gamma_post - c.b) / (c.gamma_D * c.C_T)) ** (
            1.0 / (c.gamma_D + c.beta)
        )

    def loss(
        self,
        n_params: Any,
        n_tokens: Any,
        bits_weights: Any = None,
        bits_activations: Any = None,
        bits_kv: Any = None,
        bits_post: Any = None,
        **inputs: Any,
    ) -> np.ndarray:
        c = self.constants
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        n_eff = n * self.precision_factor(bits_weights, bits_activations, bits_kv)
        value = c.A * n_eff ** (-c.alpha) + c.B * d ** (-c.beta) + c.E
        if bits_post is not None:
            trained = 16.0 if bits_weights is None else bits_weights
            value = value + self.ptq_degradation(n_eff, d, bits_post, trained)
        return value

    def _chinchilla(self) -> ChinchillaLaw:
        c = self.constants
        return ChinchillaLaw(
            info=self.info, constants=ChinchillaConstants(E=c.E, A=c.A, B=c.B, alpha=c.alpha, beta=c.beta)
        )

    def optimal_precision(self) -> float:
        """P* (tied precision, bits) maximising f(P)/P: compute-optimal with N, D, P free (Eq. 7)."""
        result = minimize_scalar(
            lambda p: -float(self.precision_factor(p, p, p)) / p,
            bounds=(3.05, 16.0),
            method="bounded",
            options={"xatol": 1e-6},
        )
        return float(result.x)

    def optimal(self, flops: Any, bits: Any = None, **inputs: Any) -> Allocation:
        """Loss-optimal N, D at C = (6/16)·N·D·P for a tied training precision ``bits``
        (None: the compute-optimal precision P*). Extras: precision_bits."""
        c_arr = as_positive_array("flops", flops)
        p: float | np.ndarray = self.optimal_precision() if bits is None else _bits("bits", bits)
        f = self.precision_factor(p, p, p)
        effective = self._chinchilla().optimal(equivalent_6nd_budget(c_arr, p) * f)
        n = effective.n_params / f
        d = effective.n_tokens
        return Allocation(
            n, d, c_arr, self.loss(n, d, p, p, p), {"precision_bits": np.broadcast_to(p, c_arr.shape)}
        )

    def target(self, loss: Any, bits: Any = None, **inputs: Any) -> Allocation:
        l_arr = self.check_target_loss(loss)
        p: float | np.ndarray = self.optimal_precision() if bits is None else _bits("bits", bits)
        f = self.precision_factor(p, p, p)
        effective = self._chinchilla().target(l_arr)
        flops = effective.flops / equivalent_6nd_budget(1.0, p) / f
        return Allocation(
            effective.n_params / f,
            effective.n_tokens,
            flops,
            l_arr,
            {"precision_bits": np.broadcast_to(p, np.shape(flops))},
        )


PRECISION = PrecisionLaw(
    info=LawInfo(
        id="precision",
        title="Precision-aware scaling (Kumar et al. 2025)",
        citation=KUMAR_CITATION,
        url="https://arxiv.org/abs/2411.04330",
        equation=(
            r"L = A\,N_{\mathrm{eff}}^{-\alpha} + B\,D^{-\beta} + E + \delta_{PTQ},\quad "
            r"N_{\mathrm{eff}} = N\prod_{x\in\{w,a,kv\}}\left(1 - e^{-P_x/\gamma_x + n_x}\right)"
        ),
        source_detail="Eq. (1), (4), (8), (13); compute C = (6/16)NDP, Eq. (5); constants App. K Table 2 "
        "with offsets",
        conventions=(
            "N = non-embedding parameters; D = tokens; P in bits (integer fake quantisation, forward pass); "
            "C = (6/16)·N·D·P. L in nats/token on Dolma v1.7. Unset precisions mean full precision."
        ),
        valid_range="Fit on 30M-220M parameters, 1.5B-26B tokens, 3-12 bit training; validated to 1.7B",
        verified=True,
        family="precision",
        extra_inputs=("bits_weights", "bits_activations", "bits_kv", "bits_post", "bits"),
        notes="The authors stress the trends and forms, not the fitted numbers, transfer to other setups.",
        compute_model="C = (6/16)·N·D·P",
    ),
    constants=KumarConstants(
        A=4.299e3,
        alpha=0.4965,
        B=1.806e4,
        beta=0.4965,
        E=2.7648,
        gamma_w=2.6745,
        n_w=0.3037,
        gamma_a=2.2102,
        n_a=1.4072,
        gamma_kv=0.9578,
        n_kv=2.4185,
        C_T=0.0598,
        gamma_D=0.5068,
        gamma_N=0.3439,
        gamma_post=0.5907,
        b=1.1277,
    ),
)


# --- Dettmers & Zettlemoyer 2023: k-bit inference -------------------------------------------

KBIT_RULES = (
    "By default, use 4-bit quantization for LLM inference: for a fixed number of model bits, 4-bit is almost "
    "universally optimal for zero-shot accuracy.",
    "Use a block size of 128 or lower (64 to 128 is best for most 4-bit models).",
    "Use a floating-point or quantile data type rather than integers (integers can win on latency).",
    "To trade size for quality, keep 4 bits and change the parameter count. Exception: when memory fits a "
    "model at a higher precision but no larger model (e.g. 48 GB: a 66B model at 5 bits beats a 175B that "
    "does not fit at 4).",
)


DEFAULT_BLOCK_SIZE = 64  # weights per quantization block (Dettmers & Zettlemoyer: 64 to 128 is best)
SCALE_BITS = 16.0  # one 16-bit scale constant per block
KBIT_WEIGHT_MEMORY = Formula(
    id="kbit-weight-memory",
    title="Memory of k-bit weights with block-wise scales (Dettmers & Zettlemoyer 2023)",
    latex=r"\text{bytes} = \frac{N\left(k + s/B\right)}{8}\quad (k < 16),\qquad \frac{N k}{8}\quad (k \ge "
    r"16)",
    inputs=(
        ("N", "parameters held in memory (every expert of a mixture)"),
        ("k", "bits per weight"),
        ("s", "bits of each block's scale constant"),
        ("B", "weights per block"),
    ),
    outputs=(("bytes", "weight memory (bytes; 10⁹ per GB)"),),
    assumptions=(
        f"One {SCALE_BITS:g}-bit scale per block of {DEFAULT_BLOCK_SIZE} weights: "
        f"{SCALE_BITS / DEFAULT_BLOCK_SIZE:g} extra bits per parameter.",
        "Unquantized (16-bit and wider) weights carry no block constants.",
        "Weights only: the KV cache and activations are counted apart.",
    ),
    citation=(
        "Dettmers, T., Zettlemoyer, L. (2023). The case for 4-bit precision: k-bit Inference Scaling Laws. "
        "ICML 2023, PMLR 202:7750-7774. arXiv:2212.09720"
    ),
    url="https://arxiv.org/abs/2212.09720",
    source_detail="§4 and App. C: 16-bit constants per block of 64 add 16/64 = 0.25 bit per parameter",
    verified=True,
    valid_range="Block-wise integer, float or quantile data types of 3 to 8 bits, as the paper's "
    "experiments.",
)


def kbit_weight_bytes(
    n_params: Any, bits: float = 4.0, block_size: int = DEFAULT_BLOCK_SIZE, scale_bits: float = SCALE_BITS
) -> np.ndarray:
    """Weights at k bits with one ``scale_bits`` constant per block: N·(k + scale_bits/block)/8 bytes
    (16/64 = 0.25 extra bits per parameter at block 64): ``KBIT_WEIGHT_MEMORY``."""
    as_positive_array("block_size", block_size)
    k = np.asarray(bits, float)
    overhead = np.where(k >= 16, 0.0, scale_bits / block_size)
    return np.asarray(n_params, float) * (k + overhead) / 8.0


def largest_model_that_fits(
    memory_bytes: float, bits: float = 4.0, block_size: int = DEFAULT_BLOCK_SIZE
) -> float:
    """The most parameters whose k-bit weights (with block constants) fit in ``memory_bytes``."""
    return float(memory_bytes / kbit_weight_bytes(1.0, bits, block_size))


def recommend_kbit(
    memory_bytes: float, family_sizes: list[float], block_size: int = DEFAULT_BLOCK_SIZE
) -> tuple[float, float] | None:
    """Dettmers' rule over a model family: the largest size that fits at 4 bits, then the highest
    precision (up to 8 bits) at which that same size still fits. None when nothing fits at 4 bits."""
    fits = [n for n in family_sizes if kbit_weight_bytes(n, 4.0, block_size) <= memory_bytes]
    if not fits:
        return None
    size = max(fits)
    bits = max(b for b in (4.0, 5.0, 6.0, 7.0, 8.0) if kbit_weight_bytes(size, b, block_size) <= memory_bytes)
    return size, bits


# --- Dremov et al. 2025: compute-optimal QAT fraction (secondary source) ---------------------

QAT_A = 6.7297  # fitted constant of the QAT-fraction formula (secondary source; MAE 0.091)


def optimal_qat_fraction(n_params: Any, n_tokens: Any, bits: Any, a: float = QAT_A) -> np.ndarray:
    """f = exp(ln S - a/ln S)/S, S = D/(N·B/8) tokens per parameter byte (Dremov et al. 2025, as given
    by a secondary source; natural log assumed). The share of training to spend in QAT."""
    s = np.asarray(n_tokens, float) / (np.asarray(n_params, float) * np.asarray(bits, float) / 8.0)
    log_s = np.log(s)
    if np.any(log_s <= 0):
        raise LawError("needs more than one token per parameter byte (S > 1)")
    return np.exp(log_s - a / log_s) / s


LAWS = (PRECISION,)
