"""Hoffmann et al. 2022 (Chinchilla) and the Besiroglu et al. 2024 refit.

Parametric loss, Hoffmann et al. Eq. (2):

    L(N, D) = E + A / N^alpha + B / D^beta

N = total parameters (embeddings included, App. F), D = training tokens (one epoch),
L = nats/token on the paper's own validation set.

Compute-optimal frontier under C = 6·N·D, Eq. (4), closed form:

    G  = (alpha·A / (beta·B))^(1/(alpha+beta))
    N* = G · (C/6)^a,   D* = G^-1 · (C/6)^b,   a = beta/(alpha+beta),  b = alpha/(alpha+beta)

Along the frontier both reducible terms fall with the same exponent alpha·beta/(alpha+beta), so

    L*(C) = E + K · (C/6)^(-alpha·beta/(alpha+beta)),   K = A·G^-alpha + B·G^beta

and the least compute that reaches a loss L > E inverts it:

    C(L) = 6 · (K / (L - E))^((alpha+beta)/(alpha·beta)).

Also here: the Approach 1 and 2 allocation power laws (Table 2), N_opt = k·C^a, D_opt = C/(6·N_opt),
which give an allocation but no loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError
from engine.formula import Formula
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array

HOFFMANN_CITATION = (
    "Hoffmann, J. et al. (2022). Training Compute-Optimal Large Language Models. "
    "NeurIPS 2022. arXiv:2203.15556"
)
HOFFMANN_URL = "https://arxiv.org/abs/2203.15556"
BESIROGLU_CITATION = (
    "Besiroglu, T., Erdil, E., Barnett, M., You, J. (2024). Chinchilla Scaling: A replication "
    "attempt. arXiv:2404.10102"
)
BESIROGLU_URL = "https://arxiv.org/abs/2404.10102"

CHINCHILLA_EQUATION = r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}"
CHINCHILLA_CONVENTIONS = (
    "N = total parameters including embeddings (Hoffmann App. F); D = training tokens, one epoch; "
    "C = 6·N·D; L in nats/token on MassiveText (32k SentencePiece). Absolute losses do not "
    "transfer to other data sets or tokenizers; exponents and ratios do."
)
CHINCHILLA_RANGE = "70M to 16B parameters, 5B to 500B tokens; IsoFLOP budgets 6e18 to 3e21 FLOPs"


def frontier_exponents(alpha: Any, beta: Any) -> tuple[Any, Any]:
    """(a, b) = (beta/(alpha+beta), alpha/(alpha+beta)): N* ∝ C^a and D* ∝ C^b on the frontier of
    E + A/N^alpha + B/D^beta (Hoffmann Eq. 4). Vectorized: bootstrap samples of alpha and beta give
    samples of a and b. The one place the engine computes them."""
    a = np.asarray(beta, float) / (np.asarray(alpha, float) + np.asarray(beta, float))
    a = float(a) if a.ndim == 0 else a  # a scalar in, a float out
    return a, 1.0 - a


_K = f"{FLOPS_PER_PARAM_TOKEN:g}"
CHINCHILLA_FRONTIER = Formula(
    id="chinchilla-frontier",
    title="Compute-optimal frontier of a Chinchilla-form law, closed form",
    latex=(
        r"N^* = G\left(\frac{C}{"
        + _K
        + r"}\right)^{a},\quad D^* = G^{-1}\left(\frac{C}{"
        + _K
        + r"}\right)^{b},\quad G = \left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}},\quad "
        r"a = \frac{\beta}{\alpha+\beta},\ b = \frac{\alpha}{\alpha+\beta}"
    ),
    inputs=(
        ("C", "training compute (FLOPs)"),
        ("A, B, α, β", "the law's constants (L = E + A/N^α + B/D^β)"),
        ("N*, D*", "the loss-minimising parameters and tokens at C"),
        ("a, b", "the frontier's exponents, a + b = 1"),
    ),
    assumptions=(
        f"C = {_K}·N·D.",
        "A, B, α, β all positive: otherwise the law has no frontier and says why.",
    ),
    citation=HOFFMANN_CITATION,
    url=HOFFMANN_URL,
    source_detail="Eq. (4); the frontier loss L*(C) = E + K·(C/6)^(-αβ/(α+β)) and its inverse are derived in "
    "engine/laws/chinchilla.py",
    verified=True,
    conventions="Every law of the form E + A/N^α + B/D^β: Hoffmann, Besiroglu, the users' fits, and the "
    "Chinchilla part of Kumar's precision law.",
)


@dataclass(frozen=True)
class ChinchillaConstants:
    E: float
    A: float
    B: float
    alpha: float
    beta: float


@dataclass(frozen=True)
class ChinchillaLaw(Law):
    """The parametric form L = E + A/N^alpha + B/D^beta with its closed-form frontier."""

    info: LawInfo
    constants: ChinchillaConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.E

    @property
    def exponent_n_opt(self) -> float:
        """a in N* ∝ C^a."""
        return frontier_exponents(self.constants.alpha, self.constants.beta)[0]

    @property
    def exponent_d_opt(self) -> float:
        """b in D* ∝ C^b."""
        return frontier_exponents(self.constants.alpha, self.constants.beta)[1]

    def optimum_problem(self) -> str | None:
        """Why these constants have no compute-optimal frontier, or None when they have one.

        The closed form needs A, B > 0 and alpha, beta > 0, all finite: with a non-positive
        exponent the loss does not fall with that resource, the base of G is negative or zero and
        the frontier has no real solution (a degenerate fit gives such constants)."""
        c = self.constants
        for name in ("A", "B", "alpha", "beta"):
            value = np.asarray(getattr(c, name), dtype=float)
            if not np.all(np.isfinite(value)):
                return f"{name} is not a finite number"
            if np.any(value <= 0):
                shown = f"{float(np.min(value)):.3g}"
                return (
                    f"{name} = {shown} is not positive, so the loss does not fall with more "
                    + ("parameters" if name in ("A", "alpha") else "tokens")
                    + "; no compute-optimal allocation exists"
                )
        return None

    def _check_optimum(self) -> None:
        problem = self.optimum_problem()
        if problem is not None:
            raise LawError(f"{self.info.title}: {problem}")

    def _g(self) -> float:
        c = self.constants
        return (c.alpha * c.A / (c.beta * c.B)) ** (1.0 / (c.alpha + c.beta))

    def _frontier_coefficient(self) -> float:
        """K in L*(C) = E + K·(C/6)^(-alpha·beta/(alpha+beta))."""
        c = self.constants
        g = self._g()
        return c.A * g ** (-c.alpha) + c.B * g**c.beta

    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        c = self.constants
        n = np.asarray(n_params, dtype=float)
        d = np.asarray(n_tokens, dtype=float)
        return c.E + c.A * n ** (-c.alpha) + c.B * d ** (-c.beta)

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        c_arr = as_positive_array("flops", flops)
        self._check_optimum()
        g = self._g()
        x = c_arr / FLOPS_PER_PARAM_TOKEN
        n = g * x**self.exponent_n_opt
        d = x**self.exponent_d_opt / g
        return Allocation(n, d, c_arr, self.loss(n, d))

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        l_arr = self.check_target_loss(loss)
        self._check_optimum()
        c = self.constants
        exponent = (c.alpha + c.beta) / (c.alpha * c.beta)
        flops = FLOPS_PER_PARAM_TOKEN * (self._frontier_coefficient() / (l_arr - c.E)) ** exponent
        alloc = self.optimal(flops)
        return Allocation(alloc.n_params, alloc.n_tokens, flops, l_arr)


CHINCHILLA_TRAINING_FLOPS = 5.76e23  # Chinchilla 70B's own training budget (Hoffmann et al. 2022, Table 3)

CHINCHILLA = ChinchillaLaw(
    info=LawInfo(
        id="chinchilla",
        title="Chinchilla, Approach 3 (Hoffmann et al. 2022)",
        citation=HOFFMANN_CITATION,
        url=HOFFMANN_URL,
        equation=CHINCHILLA_EQUATION,
        source_detail="Eq. (2) form; constants Eq. (10), App. D.2; frontier Eq. (4)",
        conventions=CHINCHILLA_CONVENTIONS,
        valid_range=CHINCHILLA_RANGE,
        verified=True,
        family="chinchilla",
        notes="Rounded constants as printed. Besiroglu et al. (2024) reject them (chi2(5)=238).",
    ),
    constants=ChinchillaConstants(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
)

CHINCHILLA_UNROUNDED = ChinchillaLaw(
    info=LawInfo(
        id="chinchilla-unrounded",
        title="Chinchilla, Approach 3, unrounded constants",
        citation=HOFFMANN_CITATION,
        url=HOFFMANN_URL,
        equation=CHINCHILLA_EQUATION,
        source_detail=(
            "Values used as 'Hoffmann et al.' in Epoch AI's analyzing-chinchilla notebook: "
            "ln A = 6.0073404, ln B = 6.0179186, ln E = 0.5267228"
        ),
        conventions=CHINCHILLA_CONVENTIONS,
        valid_range=CHINCHILLA_RANGE,
        verified=False,
        family="chinchilla",
        notes=(
            "Their origin is not in the paper; they reproduce its 40B projection for the "
            "Gopher budget (the rounded constants give 32B)."
        ),
    ),
    constants=ChinchillaConstants(
        E=float(np.exp(0.5267228)),
        A=float(np.exp(6.0073404)),
        B=float(np.exp(6.0179186)),
        alpha=0.33917084,
        beta=0.2849083,
    ),
)

CHINCHILLA_EPOCH = ChinchillaLaw(
    info=LawInfo(
        id="chinchilla-epoch",
        title="Chinchilla refit (Besiroglu et al. 2024, Epoch AI)",
        citation=BESIROGLU_CITATION,
        url=BESIROGLU_URL,
        equation=CHINCHILLA_EQUATION,
        source_detail=(
            "Table 1 estimates; fit on 240 points digitised from Hoffmann Fig. 4, Huber loss on "
            "log loss, 4000-sample bootstrap"
        ),
        conventions=CHINCHILLA_CONVENTIONS,
        valid_range=CHINCHILLA_RANGE,
        verified=True,
        family="chinchilla",
        notes=(
            "95% intervals: A 285-744, B 1042-5810, E 1.769-1.871, alpha 0.317-0.373, "
            "beta 0.331-0.415. Implies about 20 tokens per parameter."
        ),
    ),
    constants=ChinchillaConstants(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658),
)


# --- Approach 1 and 2: allocation power laws -----------------------------------------------

# Hoffmann Table 3 (Approach 1) and Table A3 (Approach 2): model size -> compute-optimal tokens.
_TABLE3_PARAMS = np.array([400e6, 1e9, 10e9, 67e9, 175e9, 280e9, 520e9, 1e12, 10e12])
_TABLE3_TOKENS_APPROACH1 = np.array(
    [8.0e9, 20.2e9, 205.1e9, 1.5e12, 3.7e12, 5.9e12, 11.0e12, 21.2e12, 216.2e12]
)
_TABLEA3_TOKENS_APPROACH2 = np.array(
    [7.7e9, 20.0e9, 219.5e9, 1.7e12, 4.3e12, 7.1e12, 13.4e12, 26.5e12, 292.0e12]
)


@dataclass(frozen=True)
class PowerLawConstants:
    """N_opt = k · C^a (N params, C FLOPs); D_opt = C / (6·N_opt), so D_opt ∝ C^(1-a)."""

    k: float
    a: float


def fit_power_law_coefficient(n_params: np.ndarray, n_tokens: np.ndarray, a: float) -> float:
    """k minimising the squared log error of N = k·C^a over (N, D) rows, with C = 6·N·D."""
    flops = FLOPS_PER_PARAM_TOKEN * n_params * n_tokens
    return float(np.exp(np.mean(np.log(n_params) - a * np.log(flops))))


@dataclass(frozen=True)
class PowerLawAllocation(Law):
    """An allocation rule N_opt = k·C^a without a loss model."""

    info: LawInfo
    constants: PowerLawConstants

    has_loss = False

    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        raise LawError(f"law {self.id} is an allocation rule and predicts no loss")

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        c_arr = as_positive_array("flops", flops)
        n = self.constants.k * c_arr**self.constants.a
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(n, d, c_arr, np.full_like(c_arr, np.nan))

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        raise LawError(f"law {self.id} is an allocation rule and cannot reach a target loss")


def _approach_info(number: int, table: str, a: float, interval: str) -> LawInfo:
    return LawInfo(
        id=f"chinchilla-approach{number}",
        title=f"Chinchilla, Approach {number} power law (N_opt ∝ C^{a})",
        citation=HOFFMANN_CITATION,
        url=HOFFMANN_URL,
        equation=r"N_{opt} = k\,C^{a}, \quad D_{opt} = \frac{C}{6\,N_{opt}}",
        source_detail=(
            f"Exponent a = {a} from Table 2 ({interval}); k fitted here by least squares in log "
            f"space to the (N, D) rows of {table}"
        ),
        conventions="N = total parameters, C = 6·N·D. An allocation rule: it predicts no loss.",
        valid_range="Fitted on 6e18 to 3e21 FLOPs; tables extrapolate to 1.3e28",
        verified=True,
        family="chinchilla-approach",
    )


CHINCHILLA_APPROACH1 = PowerLawAllocation(
    info=_approach_info(1, "Table 3", 0.50, "10th-90th pct 0.488-0.502"),
    constants=PowerLawConstants(
        k=fit_power_law_coefficient(_TABLE3_PARAMS, _TABLE3_TOKENS_APPROACH1, 0.50), a=0.50
    ),
)
CHINCHILLA_APPROACH2 = PowerLawAllocation(
    info=_approach_info(2, "Table A3 (Approach 2 column)", 0.49, "10th-90th pct 0.462-0.534"),
    constants=PowerLawConstants(
        k=fit_power_law_coefficient(_TABLE3_PARAMS, _TABLEA3_TOKENS_APPROACH2, 0.49), a=0.49
    ),
)

LAWS = (CHINCHILLA, CHINCHILLA_UNROUNDED, CHINCHILLA_EPOCH, CHINCHILLA_APPROACH1, CHINCHILLA_APPROACH2)
