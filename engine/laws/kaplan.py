"""Kaplan et al. 2020, the joint loss L(N, D), Eq. (1.5) with the Table 2 fit.

    L(N, D) = [ (N_c / N)^(alpha_N / alpha_D) + D_c / D ]^alpha_D

N = non-embedding parameters, D = tokens, L = nats/token on WebText2 (GPT-2 BPE, 50257 tokens,
1024 context). Constants (Table 2): alpha_N = 0.076, alpha_D = 0.103, N_c = 6.4e13, D_c = 1.8e13.

Compute-optimal allocation under C = 6·N·D (closed form, derived here). Write p = alpha_N/alpha_D
and f(N) = (N_c/N)^p + 6·D_c·N/C, so L = f^alpha_D. Setting f'(N) = 0:

    N* = (p · N_c^p · C / (6 · D_c))^(1/(1+p)),   D* = C / (6·N*)

At the optimum 6·D_c·N*/C = p·(N_c/N*)^p, so L* = ((1+p)·(N_c/N*)^p)^alpha_D, which inverts to

    N*(L) = N_c · ((1+p) / L^(1/alpha_D))^(1/p),   C(L) = 6·D_c·N*^(1+p) / (p·N_c^p).

This is the allocation implied by Eq. (1.5) with converged training on D tokens; Kaplan's own
compute-efficient frontier (N ∝ C^0.73, Table 6) comes from early-stopped runs and L(N, S), not
from this equation. That frontier is the second law here, ``kaplan-allocation`` (Table 6, App. A):

    N_opt = 1.3e9 · C_min^0.73   (non-embedding parameters),   C_min = C / 8.64e19  (PF-days)
    D     = C / (6 · N_opt)      (tokens: the budget spent on the 6·N·D line)

C_min is "the minimum non-embedding compute to reach a loss", i.e. training at B ≪ B_crit (§1.3,
Eq. 5.5); a budget C is read as C_min. Table 6 also fits D_opt = 2e10 · C_min^0.27 tokens, but its
N_opt and D_opt do not satisfy C = 6·N·D: 6 · 1.3e9 · 2e10 = 1.56e20 FLOPs = 1.81 PF-days at
C_min = 1 PF-day (both exponents sum to 1.00, so the factor 1.81 holds at every budget; the data
processed is 2·B_crit·S_min, between C_min and the 2·C_min of training at B_crit). D = C/(6·N)
keeps the budget the budget every page and the CLI read (C = 6·N·D, N non-embedding as in
Kaplan's C ≈ 6·N·B·S); Table 6's D_opt is reported beside it as ``n_tokens_table6``. The loss
there is Eq. (1.5) evaluated at (N_opt, D), not minimised: Table 6's allocation is not the
minimum of Eq. (1.5) on the isoFLOP line (that is ``kaplan``'s), and the law says so
(``LawInfo.optimum_minimises_loss``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array

KAPLAN_CITATION = "Kaplan, J. et al. (2020). Scaling Laws for Neural Language Models. arXiv:2001.08361"
KAPLAN_URL = "https://arxiv.org/abs/2001.08361"

PF_DAY_FLOPS = 1e15 * 24 * 3600
"""One PF-day in FLOPs, 10^15 × 24 × 3600 = 8.64e19 (Kaplan et al. 2020 §1.3, Notation)."""


@dataclass(frozen=True)
class KaplanConstants:
    alpha_N: float
    alpha_D: float
    N_c: float
    D_c: float


@dataclass(frozen=True)
class KaplanLaw(Law):
    info: LawInfo
    constants: KaplanConstants

    @property
    def _p(self) -> float:
        return self.constants.alpha_N / self.constants.alpha_D

    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        c = self.constants
        n = np.asarray(n_params, dtype=float)
        d = np.asarray(n_tokens, dtype=float)
        return ((c.N_c / n) ** self._p + c.D_c / d) ** c.alpha_D

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        c = self.constants
        p = self._p
        c_arr = as_positive_array("flops", flops)
        n = (p * c.N_c**p * c_arr / (FLOPS_PER_PARAM_TOKEN * c.D_c)) ** (1.0 / (1.0 + p))
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(n, d, c_arr, self.loss(n, d))

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        c = self.constants
        p = self._p
        l_arr = self.check_target_loss(loss)
        n = c.N_c * ((1.0 + p) / l_arr ** (1.0 / c.alpha_D)) ** (1.0 / p)
        flops = FLOPS_PER_PARAM_TOKEN * c.D_c * n ** (1.0 + p) / (p * c.N_c**p)
        d = flops / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(n, d, flops, l_arr)


_KAPLAN_CONSTANTS = KaplanConstants(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13)
_EQ15_EXPONENT = 1.0 / (1.0 + _KAPLAN_CONSTANTS.alpha_N / _KAPLAN_CONSTANTS.alpha_D)  # N* ∝ C^0.575

KAPLAN = KaplanLaw(
    info=LawInfo(
        id="kaplan",
        title="Kaplan et al. 2020, L(N, D)",
        citation=KAPLAN_CITATION,
        url=KAPLAN_URL,
        equation=(
            r"L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D}"
            r" + \frac{D_c}{D}\right]^{\alpha_D}"
        ),
        source_detail="Eq. (1.5); constants Table 2",
        conventions=(
            "N = non-embedding parameters; D = tokens; C = 6·N·D; L in nats/token on WebText2 "
            "(GPT-2 BPE). Not comparable in absolute value with Chinchilla's MassiveText loss."
        ),
        valid_range="768 to 1.5e9 non-embedding parameters, 22M to 23B tokens",
        verified=True,
        family="kaplan",
        notes="Loss floor is 0: the form has no irreducible term.",
        optimum_note=(
            "N*, D* minimise Kaplan's Eq. (1.5) L(N, D) along C = 6·N·D (derived from the converged-loss "
            f"fit, N* ∝ C^{_EQ15_EXPONENT:.3f}); Kaplan et al.'s own compute-efficient allocation, Table 6's "
            "N_opt = 1.3e9·C_min^0.73, is the law kaplan-allocation."
        ),
    ),
    constants=_KAPLAN_CONSTANTS,
)


# --- Kaplan's compute-efficient allocation, Table 6 ------------------------------------------


@dataclass(frozen=True)
class KaplanAllocationConstants:
    """Table 6: N_opt = k_N·C_min^a_N parameters, D_opt = k_D·C_min^a_D tokens, C_min in PF-days."""

    k_N: float  # N_opt at C_min = 1 PF-day (non-embedding parameters)
    a_N: float
    k_D: float  # Table 6's D_opt at C_min = 1 PF-day (tokens); reported, not what D is
    a_D: float


@dataclass(frozen=True)
class KaplanAllocationLaw(Law):
    """Kaplan's published allocation N_opt(C_min), its budget spent as D = C/(6·N); the loss is
    ``loss_law``'s (Eq. 1.5) at that allocation. Module docstring: why D is not Table 6's D_opt."""

    info: LawInfo
    constants: KaplanAllocationConstants
    loss_law: KaplanLaw = KAPLAN

    def optimum_problem(self) -> str | None:
        """Table 6's exponent must lie in (0, 1): otherwise N or D = C/(6N) shrinks as C grows."""
        a_n = self.constants.a_N
        if not (np.isfinite(a_n) and 0.0 < a_n < 1.0):
            return f"a_N = {a_n:.3g} is not between 0 and 1, so N or D = C/(6N) would shrink with compute"
        if not (np.isfinite(self.constants.k_N) and self.constants.k_N > 0):
            return f"k_N = {self.constants.k_N:.3g} is not a positive number of parameters"
        return None

    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        """Kaplan's Eq. (1.5) with the Table 2 constants (nats/token, WebText2); N non-embedding."""
        return self.loss_law.loss(n_params, n_tokens)

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        """N = k_N·(C/8.64e19)^a_N non-embedding parameters (Table 6, budget read as C_min),
        D = C/(6·N) tokens, loss = Eq. (1.5) at (N, D). Extras: Table 6's own D_opt
        (``n_tokens_table6``, tokens) and the budget in PF-days (``c_min_pf_days``)."""
        c_arr = as_positive_array("flops", flops)
        problem = self.optimum_problem()
        if problem is not None:
            raise LawError(f"{self.info.title}: {problem}")
        k = self.constants
        pf_days = c_arr / PF_DAY_FLOPS
        n = k.k_N * pf_days**k.a_N
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        extras = {"n_tokens_table6": k.k_D * pf_days**k.a_D, "c_min_pf_days": pf_days}
        return Allocation(n, d, c_arr, self.loss(n, d), extras)

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        """Least C whose Table 6 allocation reaches ``loss`` under Eq. (1.5): by bisection (both
        N and D grow with C, so that loss falls with C)."""
        return self.target_by_search(loss)


_TABLE6 = KaplanAllocationConstants(k_N=1.3e9, a_N=0.73, k_D=2e10, a_D=0.27)
_TABLE6_6ND = FLOPS_PER_PARAM_TOKEN * _TABLE6.k_N * _TABLE6.k_D / PF_DAY_FLOPS  # 1.81 PF-days per PF-day
_K = f"{FLOPS_PER_PARAM_TOKEN:g}"
_MANTISSA, _EXP = f"{PF_DAY_FLOPS:.2e}".split("e")
_PF_DAY_LATEX = rf"{_MANTISSA}\times 10^{{{int(_EXP)}}}"  # 8.64\times 10^{19}

KAPLAN_ALLOCATION = KaplanAllocationLaw(
    info=LawInfo(
        id="kaplan-allocation",
        title="Kaplan et al. 2020, compute-efficient allocation (Table 6)",
        citation=KAPLAN_CITATION,
        url=KAPLAN_URL,
        equation=(
            r"N_{opt} = k_N\,C_{min}^{a_N},\quad C_{min} = \frac{C}{" + _PF_DAY_LATEX + r"},\quad "
            r"D = \frac{C}{" + _K + r"\,N_{opt}},\quad L = L_{(1.5)}(N_{opt}, D),\quad "
            r"D_{opt}^{\text{Table 6}} = k_D\,C_{min}^{a_D}"
        ),
        source_detail=(
            "Table 6 (App. A): N_opt = 1.3e9·C_min^0.73, D_opt = 2e10·C_min^0.27, C_min in PF-days "
            "(1 PF-day = 8.64e19 FLOP, §1.3); Fig. 14; loss Eq. (1.5) with the Table 2 constants"
        ),
        conventions=(
            "N = non-embedding parameters; the budget C (FLOPs, non-embedding, C = 6·N·D) is read as "
            "Kaplan's C_min, the compute at a batch far below the critical batch (Eq. 5.5); a run at the "
            "critical batch spends 2·C_min. D = C/(6·N), not Table 6's D_opt: Table 6's N_opt·D_opt does not "
            f"satisfy C = 6ND (6·N_opt·D_opt = {_TABLE6_6ND:.2f}·C_min at every budget); D_opt is reported "
            "as n_tokens_table6. L in nats/token on WebText2 (GPT-2 BPE), Eq. (1.5) at the allocation."
        ),
        valid_range=(
            "C_min over the eight decades of Kaplan's runs (§1.2; about 1e-8 to 1e1 PF-days, Fig. 13-14; "
            "Pearce & Song take 10^12.95 to 10^20.7 FLOPs), N 768 to 1.5e9 non-embedding parameters; "
            "beyond them an extrapolation"
        ),
        verified=True,
        family="kaplan",
        notes=(
            "The allocation Hoffmann et al. Table 2 quotes as a = 0.73. Its loss is Eq. (1.5) evaluated at "
            "the allocation, not minimised: other points of an isoFLOP line can have lower Eq. (1.5) loss "
            "(the Eq. (1.5) optimum is the law kaplan)."
        ),
        optimum_minimises_loss=False,
        optimum_note=(
            "Kaplan et al.'s compute-efficient allocation (Table 6): N = 1.3e9·C_min^0.73 non-embedding "
            "parameters with the budget read as C_min in PF-days (FLOPs / 8.64e19), D = C/(6·N); Table 6's "
            "own D_opt is n_tokens_table6. The loss is Eq. (1.5) at this allocation, not its minimum."
        ),
    ),
    constants=_TABLE6,
)

LAWS = (KAPLAN, KAPLAN_ALLOCATION)
