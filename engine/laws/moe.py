"""Mixture-of-experts laws.

* ``moe-fine-grained``: Krajewski et al. 2024, Eq. (9), L(N, D, G) = c + (g/G^gamma + a)/N^alpha
  + b/D^beta, Table 1 constants (E = 64 experts); N = total non-embedding parameters
  = d_model²·(8E + 4)·n_blocks with d_model = 64·n_blocks; FLOPs Eq. (10)/(11):
  F = (12·d_model²·c_f + d_model·E·G·c_r)·D·n_blocks, c_f = 6, c_r = 14 (routing included).
  Here n_params is the active, dense-equivalent count 12·d_model²·n_blocks (Table 2's "64 × X").
  ``moe-fine-grained-dense`` is the same paper's dense fit, Eq. (1), L = c + a/N^alpha + b/D^beta
  (Table 1, second row), N = non-embedding 12·d_model²·n_blocks, F = 6·N·D (Eq. 10 without experts).
* ``moe-joint``: Ludziejewski et al. 2025, Eq. (6), L(N_act, D, Ê) = a·Ê^delta·N_act^(alpha + gamma·ln Ê)
  + b·Ê^omega·D^(beta + zeta·ln Ê) + c, Table 3. For fixed E it is m·N^mu + n·D^nu + c (Table 4), whose
  compute optimum (C = 6·N_act·D) is N = G·(C/6)^(nu/(mu+nu)), D = G^-1·(C/6)^(mu/(mu+nu)) with
  G = (mu·m/(nu·n))^(-1/(mu+nu)): the sign-corrected Eq. (7) (mu, nu < 0; the printed exponent
  1/(mu+nu) gives nonsense). Memory: N_total = 2·d·V + (4 + 9E)·n_blocks·d², N_act = 2·d·V + 13·n_blocks·d²,
  n_blocks = d/64, V = 50,257, KV cache 2·T·n_blocks·d elements (App. A, §4.3). With D_inf tokens
  served the budget is 6·N_act·D + 2·N_act·D_inf = F (§4.4) and the optimum is found numerically.
* ``moe-routed``: Clark et al. 2022, log10 L = a·log10 N + b·log10 Ê + c·log10 N·log10 Ê + d, at their
  fixed 130B-token budget (no compute optimum). Constants from a secondary transcription.
* ``moe-sparsity``: Abnar et al. 2025, Eq. (6), L = a/N^alpha + b/D^beta + c/(1-S)^lambda
  + d/((1-S)^delta·N^gamma) + e, N = total parameters, S = inactive share of experts. Constants
  from a secondary transcription. Here n_params is active; N_total ≈ N_act/(1-S) (an approximation:
  non-expert weights are dense).

Saturating expert transform (Clark Eq. 2): 1/Ê = 1/(E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError, positive
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.chinchilla import ChinchillaConstants, ChinchillaLaw
from engine.laws.optimize import minimize_over_params

GPT2_VOCAB = 50_257
KRAJEWSKI_RANGE = "129M-3.7B parameters, 16B-130B tokens"  # Krajewski et al. 2024 §5 (MoE and dense runs)


def transformed_experts(experts: Any, e_start: float, e_max: float) -> np.ndarray:
    """Ê, the saturating transform of the expert count (Ê(1) = E_start)."""
    e = as_positive_array("experts", experts)
    return 1.0 / (1.0 / (e - 1.0 + 1.0 / (1.0 / e_start - 1.0 / e_max)) + 1.0 / e_max)


# --- Krajewski et al. 2024 ------------------------------------------------------------------


@dataclass(frozen=True)
class FineGrainedConstants:
    a: float
    alpha: float
    b: float
    beta: float
    g: float
    gamma: float
    c: float
    expansion: float = 64.0  # E: total expert parameters / dense FFN parameters
    c_f: float = 6.0
    c_r: float = 14.0


GRANULARITIES = 2.0 ** np.arange(0, 9)  # 1 .. 256


@dataclass(frozen=True)
class FineGrainedMoeLaw(Law):
    info: LawInfo
    constants: FineGrainedConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.c

    def shape(self, n_active: Any) -> tuple[np.ndarray, np.ndarray]:
        """(n_blocks, d_model) with 12·d²·n_blocks = n_active and d = 64·n_blocks."""
        n_blocks = (np.asarray(n_active, float) / (12.0 * 64.0**2)) ** (1.0 / 3.0)
        return n_blocks, 64.0 * n_blocks

    def total_params(self, n_active: Any) -> np.ndarray:
        n_blocks, d = self.shape(n_active)
        return d**2 * (8.0 * self.constants.expansion + 4.0) * n_blocks

    def flops(self, n_active: Any, n_tokens: Any, granularity: Any) -> np.ndarray:
        """Eq. (10): (12·d²·c_f + d·E·G·c_r)·D·n_blocks."""
        c = self.constants
        n_blocks, d = self.shape(n_active)
        return (
            (12.0 * d**2 * c.c_f + d * c.expansion * np.asarray(granularity, float) * c.c_r)
            * np.asarray(n_tokens, float)
            * n_blocks
        )

    def loss(self, n_params: Any, n_tokens: Any, granularity: Any = 1.0, **inputs: Any) -> np.ndarray:
        c = self.constants
        n_total = self.total_params(n_params)
        g = as_positive_array("granularity", granularity)
        return c.c + (c.g / g**c.gamma + c.a) / n_total**c.alpha + c.b / np.asarray(n_tokens, float) ** c.beta

    def _optimal_at(self, flops: np.ndarray, granularity: float) -> tuple[np.ndarray, np.ndarray]:
        def loss_of(n_act: np.ndarray, d6: np.ndarray) -> np.ndarray:
            # minimize_over_params hands D = C/(6N); convert to the routed FLOPs model
            budget = d6 * FLOPS_PER_PARAM_TOKEN * n_act
            per_token = self.flops(n_act, 1.0, granularity)
            return self.loss(n_act, budget / per_token, granularity)

        n = minimize_over_params(loss_of, flops)
        return n, flops / self.flops(n, 1.0, granularity)

    def optimal(self, flops: Any, granularity: Any = None, **inputs: Any) -> Allocation:
        """Least-loss (N_active, D, G) at F FLOPs (Eq. 10 with routing), G over powers of two
        1..256 unless given. Extras: granularity, total_params."""
        c_arr = as_positive_array("flops", flops)
        options = (
            GRANULARITIES
            if granularity is None
            else np.atleast_1d(as_positive_array("granularity", granularity))
        )
        best: list[np.ndarray] | None = None  # N, D, G, loss of the best option so far
        for g in options:
            n, d = self._optimal_at(c_arr, float(g))
            l_ = self.loss(n, d, g)
            candidate = [n, d, np.full_like(l_, g), l_]
            if best is None:
                best = candidate
            else:
                better = l_ < best[3] - 1e-12
                best = [np.where(better, new, old) for new, old in zip(candidate, best)]
        assert best is not None, "options is never empty"
        best_n, best_d, best_g, best_l = best
        return Allocation(
            best_n, best_d, c_arr, best_l, {"granularity": best_g, "total_params": self.total_params(best_n)}
        )

    def target(self, loss: Any, granularity: Any = None, **inputs: Any) -> Allocation:
        return self.target_by_search(loss, hi_flops=1e32, granularity=granularity)


KRAJEWSKI = FineGrainedMoeLaw(
    info=LawInfo(
        id="moe-fine-grained",
        title="Fine-grained MoE (Krajewski et al. 2024)",
        citation=(
            "Krajewski, J., Ludziejewski, J., Adamczewski, K., Pióro, M., Krutul, M., Antoniak, S., et al. "
            "(2024). Scaling Laws for Fine-Grained Mixture of Experts. ICML 2024. arXiv:2402.07871"
        ),
        url="https://arxiv.org/abs/2402.07871",
        equation=r"L(N, D, G) = c + \frac{g/G^{\gamma} + a}{N^{\alpha}} + \frac{b}{D^{\beta}}",
        source_detail="Eq. (9); Table 1 (E = 64); FLOPs Eq. (10)/(11), c_f = 6, c_r = 14; d_model = "
        "64·n_blocks",
        conventions=(
            "n_params = active (dense-equivalent) 12·d²·n_blocks; the law's N is total non-embedding "
            "d²(8E+4)n_blocks; G = d_ff/d_expert; L = smoothed training loss, nats/token on C4 (GPT-2)."
        ),
        valid_range=f"{KRAJEWSKI_RANGE}, G 1-16",
        verified=True,
        family="moe",
        extra_inputs=("granularity",),
        compute_model="F = (12·d²·6 + 14·d·E·G)·D·n_blocks",
        params_meaning="active parameters",
    ),
    constants=FineGrainedConstants(a=18.1, alpha=0.115, b=30.8, beta=0.147, g=2.1, gamma=0.58, c=0.47),
)


KRAJEWSKI_DENSE = ChinchillaLaw(
    info=LawInfo(
        id="moe-fine-grained-dense",
        title="Dense baseline of fine-grained MoE (Krajewski et al. 2024)",
        citation=KRAJEWSKI.info.citation,
        url=KRAJEWSKI.info.url,
        equation=r"L(N, D) = c + \frac{a}{N^{\alpha}} + \frac{b}{D^{\beta}}",
        source_detail="Eq. (1); Table 1, dense row (fitted on the same runs' dense models)",
        conventions=(
            "N = non-embedding parameters 12·d²·n_blocks, d = 64·n_blocks; C = 6·N·D; L = smoothed training "
            "loss, nats/token on C4 (GPT-2 tokenizer): compare with moe-fine-grained, not with Chinchilla."
        ),
        valid_range=KRAJEWSKI_RANGE,
        verified=True,
        family="moe",
        symbols=(
            ("E", "c"),
            ("A", "a"),
            ("B", "b"),
        ),  # the paper's letters for the Chinchilla form's constants
    ),
    constants=ChinchillaConstants(E=0.47, A=16.3, B=26.7, alpha=0.126, beta=0.127),
)


def dense_compute_multiplier(moe: FineGrainedMoeLaw, dense: ChinchillaLaw, flops: Any) -> np.ndarray:
    """How many times ``flops`` a compute-optimal dense model needs to reach the loss of the
    compute-optimal fine-grained MoE at ``flops`` (Krajewski et al. report about 20x at 1e20)."""
    moe_loss = moe.optimal(flops).loss
    return dense.target(moe_loss).flops / as_positive_array("flops", flops)


# --- Ludziejewski et al. 2025 ---------------------------------------------------------------


@dataclass(frozen=True)
class JointMoeConstants:
    a: float
    alpha: float
    delta: float
    gamma: float
    b: float
    beta: float
    omega: float
    zeta: float
    E_start: float
    E_max: float
    c: float


EXPERT_COUNTS = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class JointMoeLaw(Law):
    info: LawInfo
    constants: JointMoeConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.c

    def reduced(self, experts: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(m, mu, n, nu) of L = m·N^mu + n·D^nu + c at a fixed expert count (Table 4)."""
        k = self.constants
        e_hat = transformed_experts(experts, k.E_start, k.E_max)
        log_e = np.log(e_hat)
        return k.a * e_hat**k.delta, k.alpha + k.gamma * log_e, k.b * e_hat**k.omega, k.beta + k.zeta * log_e

    def loss(self, n_params: Any, n_tokens: Any, experts: Any = 1.0, **inputs: Any) -> np.ndarray:
        m, mu, n, nu = self.reduced(experts)
        return (
            m * np.asarray(n_params, float) ** mu + n * np.asarray(n_tokens, float) ** nu + self.constants.c
        )

    def _optimal_fixed(self, flops: np.ndarray, experts: Any) -> tuple[np.ndarray, np.ndarray]:
        m, mu, n, nu = self.reduced(experts)
        g = (mu * m / (nu * n)) ** (-1.0 / (mu + nu))
        x = flops / FLOPS_PER_PARAM_TOKEN
        return g * x ** (nu / (mu + nu)), x ** (mu / (mu + nu)) / g

    @staticmethod
    def training_tokens(flops: Any, n_active: Any, inference_tokens: float = 0.0) -> np.ndarray:
        """D from the joint budget of §4.4, 6·N_act·D + 2·N_act·D_inf = F (<= 0 where serving
        D_inf tokens alone uses the budget up)."""
        return np.asarray(flops, float) / (FLOPS_PER_PARAM_TOKEN * np.asarray(n_active, float)) - (
            INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens / FLOPS_PER_PARAM_TOKEN
        )

    def _loss_or_inf(self, n_active: np.ndarray, n_tokens: np.ndarray, experts: float) -> np.ndarray:
        positive = n_tokens > 0
        return np.where(positive, self.loss(n_active, np.where(positive, n_tokens, 1.0), experts), np.inf)

    def _optimal_with_inference(
        self, flops: np.ndarray, experts: float, inference_tokens: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """argmin over N_act of L(N_act, D, E) with D = F/(6N) - D_inf/3 (numeric: no closed form)."""
        shift = INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens / FLOPS_PER_PARAM_TOKEN
        n = minimize_over_params(lambda n_, d6: self._loss_or_inf(n_, d6 - shift, experts), flops)
        return n, self.training_tokens(flops, n, inference_tokens)

    # memory model (App. A)
    @staticmethod
    def d_model_for(n_active: Any) -> np.ndarray:
        """d_model with 2·d·V + 13·(d/64)·d² = N_act (the cubic's one positive root).

        Newton on f(d) = 13/64·d³ + 2·V·d - N from d0 = min(cbrt(64N/13), N/(2V)): each term alone
        is at most N, so d0 is at or above the root, and on this convex increasing f Newton then
        falls monotonically onto it (within 1e-10 relative after 4 steps, 2 more for machine precision)."""
        target = np.asarray(n_active, float)
        d = np.minimum(np.cbrt(target * 64.0 / 13.0), target / (2.0 * GPT2_VOCAB))
        for _ in range(6):
            f = 13.0 / 64.0 * d**3 + 2.0 * GPT2_VOCAB * d - target
            d = d - f / (39.0 / 64.0 * d**2 + 2.0 * GPT2_VOCAB)
        return d

    def total_params(self, n_active: Any, experts: Any) -> np.ndarray:
        d = self.d_model_for(n_active)
        return 2.0 * d * GPT2_VOCAB + (4.0 + 9.0 * np.asarray(experts, float)) * (d / 64.0) * d**2

    def memory_bytes(
        self, n_active: Any, experts: Any, *, kv_tokens: float = 16_384, bytes_per_value: float = 2.0
    ) -> np.ndarray:
        """Weights (total parameters) plus a KV cache of 2·T·n_blocks·d values, in bytes."""
        d = self.d_model_for(n_active)
        kv = 2.0 * kv_tokens * (d / 64.0) * d
        return (self.total_params(n_active, experts) + kv) * bytes_per_value

    def max_active_for_memory(self, memory_bytes: Any, experts: float, **kw: float) -> np.ndarray:
        """The most active parameters whose model fits in ``memory_bytes`` (vectorized bisection
        in log N; memory grows monotonically with N)."""
        memory = np.asarray(memory_bytes, float)
        lo, hi = np.full_like(memory, np.log(1e6)), np.full_like(memory, np.log(1e14))
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            fits = self.memory_bytes(np.exp(mid), experts, **kw) <= memory
            lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
        return np.exp(lo)

    def optimal(
        self,
        flops: Any,
        experts: Any = None,
        memory_bytes: Any = None,
        *,
        kv_tokens: float = 16_384,
        inference_tokens: float = 0.0,
        **inputs: Any,
    ) -> Allocation:
        """Least-loss (N_act, D) for an expert count, or the best count among 1..32 when ``experts``
        is None.

        * ``memory_bytes`` (broadcasts with ``flops``): the model must fit, weights plus a
          ``kv_tokens`` KV cache in bf16 (§4.3), so N_act is capped and D grows; the loss along
          the budget is unimodal in N_act, so the capped optimum is the cap.
        * ``inference_tokens``: the budget also serves D_inf tokens, 6·N_act·D + 2·N_act·D_inf = F
          (§4.4); ``flops`` is then the joint budget. A configuration whose serving alone exceeds
          the budget is infeasible (loss inf).
        Extras: experts, total_params, memory_bytes, inference_flops (2·N_act·D_inf)."""
        c_arr = as_positive_array("flops", flops)
        positive("inference_tokens", inference_tokens, allow_zero=True)
        positive("kv_tokens", kv_tokens, allow_zero=True)
        options = EXPERT_COUNTS if experts is None else np.atleast_1d(as_positive_array("experts", experts))
        best: list[np.ndarray] | None = None  # N, D, E, loss of the best option so far
        for e in options:
            e = float(e)
            if inference_tokens > 0:
                n, d = self._optimal_with_inference(c_arr, e, inference_tokens)
            else:
                n, d = self._optimal_fixed(c_arr, e)
            if memory_bytes is not None:
                n = np.minimum(n, self.max_active_for_memory(memory_bytes, e, kv_tokens=kv_tokens))
                d = self.training_tokens(c_arr, n, inference_tokens)
            l_ = self._loss_or_inf(n, d, e)
            candidate = [n, d, np.full_like(l_, e), l_]
            if best is None:
                best = candidate
            else:
                better = l_ < best[3] - 1e-12
                best = [np.where(better, new, old) for new, old in zip(candidate, best)]
        assert best is not None, "options is never empty"
        n, d, e_best, l_best = best
        return Allocation(
            n,
            d,
            c_arr,
            l_best,
            {
                "experts": e_best,
                "total_params": self.total_params(n, e_best),
                "memory_bytes": self.memory_bytes(n, e_best, kv_tokens=kv_tokens),
                "inference_flops": INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens,
            },
        )

    def target(self, loss: Any, experts: Any = None, **inputs: Any) -> Allocation:
        return self.target_by_search(loss, experts=experts)


LUDZIEJEWSKI = JointMoeLaw(
    info=LawInfo(
        id="moe-joint",
        title="Joint MoE scaling (Ludziejewski et al. 2025)",
        citation=(
            "Ludziejewski, J., Pióro, M., Krajewski, J., Stefaniak, M., Krutul, M., Małaśnicki, J., et al. "
            "(2025). Joint MoE Scaling Laws: Mixture of Experts Can Be Memory Efficient. ICML 2025. "
            "arXiv:2502.05172"
        ),
        url="https://arxiv.org/abs/2502.05172",
        equation=(
            r"L(N_{act}, D, \hat E) = a\hat E^{\delta} N_{act}^{\alpha + \gamma\ln\hat E} + "
            r"b\hat E^{\omega} D^{\beta + \zeta\ln\hat E} + c"
        ),
        source_detail=(
            "Eq. (6), Table 3; optimum Eq. (7) with the sign-corrected G exponent; memory model App. A "
            "and §4.3 (weights + KV cache); joint training and inference budget §4.4"
        ),
        conventions=(
            "n_params = active parameters including embeddings; E = experts (Switch top-1); C = 6·N_act·D; "
            "L in nats/token on FineWeb-Edu (GPT-2 tokenizer). alpha, beta are negative in this convention."
        ),
        valid_range="N_act 79M-2.7B, N_total up to 5B, E 1-32, 0.5B-80B tokens",
        verified=True,
        family="moe",
        extra_inputs=("experts", "memory_bytes", "kv_tokens", "inference_tokens"),
        params_meaning="active parameters",
        notes=(
            "Table 2 (optimal E under 24/80/640 GB) reproduces in 9 of 12 cells with this memory model; "
            "at 1e21 FLOPs/24 GB it gives 32 experts (paper 16), at 1e23/80 GB 4 (paper 8) and at "
            "1e24/640 GB 8 (paper 16). The paper does not state the inference load it adds there."
        ),
    ),
    constants=JointMoeConstants(
        a=35.91,
        alpha=-0.1889,
        delta=-0.2285,
        gamma=0.0098,
        b=35.98,
        beta=-0.1775,
        omega=0.5529,
        zeta=-0.0259,
        E_start=2.0732,
        E_max=290.4521,
        c=1.3637,
    ),
)


# --- Clark et al. 2022 (secondary constants) --------------------------------------------------


@dataclass(frozen=True)
class RoutedConstants:
    a: float
    b: float
    c: float
    d: float
    E_start: float
    E_max: float


@dataclass(frozen=True)
class RoutedLaw(Law):
    info: LawInfo
    constants: RoutedConstants

    def loss(self, n_params: Any, n_tokens: Any = None, experts: Any = 1.0, **inputs: Any) -> np.ndarray:
        k = self.constants
        log_n = np.log10(np.asarray(n_params, float))
        log_e = np.log10(transformed_experts(experts, k.E_start, k.E_max))
        value = 10.0 ** (k.a * log_n + k.b * log_e + k.c * log_n * log_e + k.d)
        if n_tokens is not None:  # D does not enter (fixed 130B tokens) but the grid's shape does
            value = np.broadcast_to(value, np.broadcast_shapes(value.shape, np.shape(n_tokens))).copy()
        return value

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        raise LawError(
            "moe-routed is fitted at a fixed 130B-token budget: it has no compute-optimal allocation"
        )

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        raise LawError(
            "moe-routed is fitted at a fixed 130B-token budget: it has no compute-optimal allocation"
        )


CLARK_DENSE = {"alpha_N": 0.078, "N_c": 3.568e13}  # the same transcription's dense fit L = (N_c/N)^alpha_N

CLARK = RoutedLaw(
    info=LawInfo(
        id="moe-routed",
        title="Routed language models, S-BASE (Clark et al. 2022)",
        citation=(
            "Clark, A., de las Casas, D., Guy, A., Mensch, A., et al. (2022). Unified Scaling Laws for "
            "Routed Language Models. ICML 2022. arXiv:2202.01169"
        ),
        url="https://arxiv.org/abs/2202.01169",
        equation=r"\log_{10} L = a\log_{10} N + b\log_{10}\hat E + c\log_{10} N\log_{10}\hat E + d",
        source_detail="Eq. (1)-(2) (form quoted in Ludziejewski 2025 and Krajewski 2024); S-BASE row of "
        "Table 3 from a secondary transcription",
        conventions="N = dense (base) parameters; E = experts; all models at 130B tokens (loss at fixed "
        "data, not compute-optimal); log base 10; Ê(1) = E_start.",
        valid_range="Up to ~1.3B base parameters, 512 experts",
        verified=False,
        family="moe",
        extra_inputs=("experts",),
        compute_model="fixed 130B tokens",
        params_meaning="dense (base) parameters",
        notes="Constants are from a secondary transcription: check Clark et al. Table 3 and edit them here.",
    ),
    constants=RoutedConstants(a=-0.082, b=-0.108, c=0.009, d=1.104, E_start=1.847, E_max=314.478),
)


# --- Abnar et al. 2025 (secondary constants) --------------------------------------------------


@dataclass(frozen=True)
class SparsityConstants:
    a: float
    alpha: float
    b: float
    beta: float
    c: float
    lam: float
    d: float
    delta: float
    gamma: float
    e: float


@dataclass(frozen=True)
class SparsityLaw(Law):
    info: LawInfo
    constants: SparsityConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.e

    @staticmethod
    def _dense_share(sparsity: Any) -> np.ndarray:
        s = np.asarray(sparsity, float)
        if np.any((s < 0) | (s >= 1)):
            raise LawError(f"sparsity is the inactive share of experts, in [0, 1); got {sparsity!r}")
        return 1.0 - s

    def loss(self, n_params: Any, n_tokens: Any, sparsity: Any = 0.0, **inputs: Any) -> np.ndarray:
        k = self.constants
        keep = self._dense_share(sparsity)
        n_total = np.asarray(n_params, float) / keep
        return (
            k.a / n_total**k.alpha
            + k.b / np.asarray(n_tokens, float) ** k.beta
            + k.c / keep**k.lam
            + k.d / (keep**k.delta * n_total**k.gamma)
            + k.e
        )

    def optimal(self, flops: Any, sparsity: Any = 0.0, **inputs: Any) -> Allocation:
        c_arr = as_positive_array("flops", flops)
        n = minimize_over_params(lambda n_, d_: self.loss(n_, d_, sparsity), c_arr)
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(
            n, d, c_arr, self.loss(n, d, sparsity), {"total_params": n / self._dense_share(sparsity)}
        )

    def target(self, loss: Any, sparsity: Any = 0.0, **inputs: Any) -> Allocation:
        return self.target_by_search(loss, sparsity=sparsity)


ABNAR = SparsityLaw(
    info=LawInfo(
        id="moe-sparsity",
        title="Optimal MoE sparsity (Abnar et al. 2025)",
        citation=(
            "Abnar, S., Shah, H., Busbridge, D., Ali, A. M. E., Susskind, J., Thilak, V. (2025). Parameters "
            "vs FLOPs: Scaling Laws for Optimal Sparsity for Mixture-of-Experts Language Models. ICML 2025. "
            "arXiv:2501.12370"
        ),
        url="https://arxiv.org/abs/2501.12370",
        equation=(
            r"L(N, D, S) = \frac{a}{N^{\alpha}} + \frac{b}{D^{\beta}} + \frac{c}{(1-S)^{\lambda}} + "
            r"\frac{d}{(1-S)^{\delta}N^{\gamma}} + e"
        ),
        source_detail="Eq. (6) (verified form); Table 3 constants from a secondary transcription",
        conventions=(
            "n_params = active parameters, N_total ≈ N_act/(1-S); S = (E-K)/E inactive share of experts; "
            "C = 6·N_act·D; L in nats/token on RedPajama (GPT-NeoX tokenizer)."
        ),
        valid_range="Budgets 3e19-1e21 FLOPs, sparsity 0-98% (held-out S = 0.98 fits poorly)",
        verified=False,
        family="moe",
        extra_inputs=("sparsity",),
        params_meaning="active parameters",
        notes="Constants are from a secondary transcription: check Abnar et al. Table 3 and edit them here.",
    ),
    constants=SparsityConstants(
        a=16612.50,
        alpha=0.5962,
        b=5455.67,
        beta=0.3954,
        c=0.4598,
        lam=-0.1666,
        d=17.26,
        delta=0.1603,
        gamma=0.1595,
        e=0.94,
    ),
)

LAWS = (KRAJEWSKI, KRAJEWSKI_DENSE, LUDZIEJEWSKI, CLARK, ABNAR)
