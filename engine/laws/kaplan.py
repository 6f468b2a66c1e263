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
from this equation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array


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


KAPLAN = KaplanLaw(
    info=LawInfo(
        id="kaplan",
        title="Kaplan et al. 2020, L(N, D)",
        citation=("Kaplan, J. et al. (2020). Scaling Laws for Neural Language Models. arXiv:2001.08361"),
        url="https://arxiv.org/abs/2001.08361",
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
    ),
    constants=KaplanConstants(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13),
)

LAWS = (KAPLAN,)
