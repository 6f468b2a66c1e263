"""Muennighoff et al. 2023, "Scaling Data-Constrained Language Models": repeated data.

    L(N, D, U) = E + A / N'^alpha + B / D'^beta

    U_D = min(U, D)                       unique tokens actually seen
    R_D = D / U_D - 1                     repetitions beyond the first epoch
    D'  = U_D + U_D · R*_D · (1 - exp(-R_D / R*_D))
    U_N = min(N, N_opt(U_D)),  N_opt(D) = G · (D·G)^(beta/alpha),  G = (alpha·A/(beta·B))^(1/(alpha+beta))
    R_N = N / U_N - 1                     parameters in excess of what U_D tokens support
    N'  = U_N + U_N · R*_N · (1 - exp(-R_N / R*_N))

Repeated tokens are worth less with every epoch (D'/U saturates at 1 + R*_D = 16.4), and so
are parameters beyond the data-optimal size. Constants from the authors' ``parametric_fit``
notebook (huggingface/datablations), given there in log space: a = 6.255414, b = 7.3049974,
e = 0.6254804, alpha = beta = 0.3526596, R*_D = 15.387756, R*_N = 5.309743.

No closed-form optimum: ``optimal`` minimises over N numerically at each budget (engine.laws.optimize).
With no unique-token limit (``unique_tokens=None``) every token is fresh (U = D).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.optimize import minimize_over_params


@dataclass(frozen=True)
class DataConstrainedConstants:
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    R_star_D: float
    R_star_N: float


@dataclass(frozen=True)
class DataConstrainedLaw(Law):
    info: LawInfo
    constants: DataConstrainedConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.E

    def _n_opt(self, n_tokens: np.ndarray) -> np.ndarray:
        c = self.constants
        g = (c.alpha * c.A / (c.beta * c.B)) ** (1.0 / (c.alpha + c.beta))
        return g * (n_tokens * g) ** (c.beta / c.alpha)

    def effective_tokens(self, n_tokens: Any, unique_tokens: Any = None) -> np.ndarray:
        """D', the fresh-token equivalent of D tokens drawn from U unique ones."""
        d = np.asarray(n_tokens, dtype=float)
        u_d = d if unique_tokens is None else np.minimum(np.asarray(unique_tokens, float), d)
        r_d = d / u_d - 1.0
        r_star = self.constants.R_star_D
        return u_d + u_d * r_star * (1.0 - np.exp(-r_d / r_star))

    def effective_params(self, n_params: Any, n_tokens: Any, unique_tokens: Any = None) -> np.ndarray:
        """N', the parameter count discounted for excess over what the unique data supports."""
        n = np.asarray(n_params, dtype=float)
        d = np.asarray(n_tokens, dtype=float)
        u_d = d if unique_tokens is None else np.minimum(np.asarray(unique_tokens, float), d)
        u_n = np.minimum(n, self._n_opt(u_d))
        r_n = n / u_n - 1.0
        r_star = self.constants.R_star_N
        return u_n + u_n * r_star * (1.0 - np.exp(-r_n / r_star))

    def loss(self, n_params: Any, n_tokens: Any, unique_tokens: Any = None, **inputs: Any) -> np.ndarray:
        c = self.constants
        n_eff = self.effective_params(n_params, n_tokens, unique_tokens)
        d_eff = self.effective_tokens(n_tokens, unique_tokens)
        return c.E + c.A * n_eff ** (-c.alpha) + c.B * d_eff ** (-c.beta)

    def saturation_loss(self, unique_tokens: Any) -> np.ndarray:
        """The loss no compute gets below with U unique tokens: N, D -> infinity gives
        D' -> U·(1 + R*_D) and N' -> N_opt(U)·(1 + R*_N)."""
        c = self.constants
        u = as_positive_array("unique_tokens", unique_tokens)
        n_eff = self._n_opt(u) * (1.0 + c.R_star_N)
        d_eff = u * (1.0 + c.R_star_D)
        return c.E + c.A * n_eff ** (-c.alpha) + c.B * d_eff ** (-c.beta)

    def _checked_unique(self, unique_tokens: Any) -> Any:
        return None if unique_tokens is None else as_positive_array("unique_tokens", unique_tokens)

    def optimal(self, flops: Any, unique_tokens: Any = None, **inputs: Any) -> Allocation:
        c_arr = as_positive_array("flops", flops)
        u = self._checked_unique(unique_tokens)
        n = minimize_over_params(lambda n_, d_: self.loss(n_, d_, u), c_arr)
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(n, d, c_arr, self.loss(n, d, u))

    def target(self, loss: Any, unique_tokens: Any = None, **inputs: Any) -> Allocation:
        l_arr = self.check_target_loss(loss)
        u = self._checked_unique(unique_tokens)
        if u is not None and np.any(l_arr <= self.saturation_loss(u)):
            raise LawError(
                f"target loss {loss!r} is out of reach with {float(np.max(u)):.3g} unique tokens: "
                f"repeating them cannot bring the loss below {float(np.min(self.saturation_loss(u))):.4f}"
            )
        return self.target_by_search(l_arr, unique_tokens=u)


DATA_CONSTRAINED = DataConstrainedLaw(
    info=LawInfo(
        id="data-constrained",
        title="Data-constrained scaling (Muennighoff et al. 2023)",
        citation=(
            "Muennighoff, N. et al. (2023). Scaling Data-Constrained Language Models. "
            "NeurIPS 2023. arXiv:2305.16264"
        ),
        url="https://arxiv.org/abs/2305.16264",
        equation=(
            r"L(N, D, U) = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}},\quad "
            r"D' = U_D + U_D R^*_D\left(1 - e^{-R_D/R^*_D}\right),\quad "
            r"N' = U_N + U_N R^*_N\left(1 - e^{-R_N/R^*_N}\right)"
        ),
        source_detail=(
            "Eq. (5)-(6); constants from the authors' utils/parametric_fit.ipynb "
            "(huggingface/datablations README, 'Parametric Fit')"
        ),
        conventions=(
            "N = total parameters; D = tokens seen; U = unique tokens available; C = 6·N·D. "
            "A, B, E, alpha (= beta) were fit to Chinchilla's C4 IsoFLOP points; R*_D, R*_N to "
            "the authors' own C4 runs. L in nats/token on C4 (GPT-2 BPE)."
        ),
        valid_range="Runs up to 9B parameters, 900B tokens and many epochs",
        verified=True,
        family="data-constrained",
        extra_inputs=("unique_tokens",),
        notes="Up to ~4 epochs repeated data is nearly as good as fresh; beyond ~16 it decays fast.",
    ),
    constants=DataConstrainedConstants(
        E=float(np.exp(0.6254804)),
        A=float(np.exp(6.255414)),
        B=float(np.exp(7.3049974)),
        alpha=0.3526596,
        beta=0.3526596,
        R_star_D=15.387756,
        R_star_N=5.309743,
    ),
)

LAWS = (DATA_CONSTRAINED,)
