"""Over-training: Gadre et al. 2024, "Language models scale reliably with over-training and on
downstream tasks" (arXiv 2403.08540).

    L(C, M) = E + (a·M^eta + b·M^(-eta))·C^(-eta),   M = D/N (token multiplier), C = 6·N·D

The authors' code (github.com/mlfoundations/scaling, scaling/laws.py ``powlaw_ours``) fits the
equivalent L = alpha_c·N^b_c + beta_c·6^(b_c/2)·(M·N)^b_c + E, so eta = -b_c/2, a = alpha_c·6^eta and
b = beta_c. Since M·N = D, that is exactly the Chinchilla form

    L(N, D) = E + A/N^alpha + B/D^beta,   A = alpha_c,  B = beta_c·6^(b_c/2),  alpha = beta = -b_c = 2·eta

so these laws are ChinchillaLaw instances (closed-form frontier, N* ∝ C^0.5, and the inference-aware
optimum of engine.cost.lifetime applies), with L(C, M) as ``OvertrainingLaw.loss_at``.

Conventions: N = total parameters including the (untied) input and output embeddings; D = tokens;
L = loss in nats/token on C4's validation set, for models trained on C4, RedPajama or RefinedWeb (one
law per training set). Each law is fitted on 5 runs: 10.6M-411.6M parameters at M = 20 plus 10.6M at
M = 320 (the paper's default grid). The constants were recomputed by running the authors' fit on
their released runs (the printed table was not seen); the RedPajama law predicts 2.5198 for the released
1.4B-parameter run at M = 640, measured 2.5021.

Downstream (RedPajama, the 17-task average top-1 error): Err(L) = epsilon - k·exp(-gamma·L), fitted by the
same code (``decay_ours``) on the C4 validation loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import positive
from engine.formula import Formula
from engine.laws.base import LawInfo, as_positive_array
from engine.laws.chinchilla import ChinchillaConstants, ChinchillaLaw

GADRE_CITATION = (
    "Gadre, S. Y., Smyrnis, G., Shankar, V., Gururangan, S., Wortsman, M., Shao, R., et al. (2024). Language "
    "models scale reliably with over-training and on downstream tasks. arXiv:2403.08540"
)
GADRE_URL = "https://arxiv.org/abs/2403.08540"
GADRE_CODE = "github.com/mlfoundations/scaling (scaling/laws.py, scaling_explorer.ipynb)"


@dataclass(frozen=True)
class GadreFit:
    """The code's constants: L = alpha_c·N^b_c + beta_c·6^(b_c/2)·(M·N)^b_c + E."""

    alpha_c: float
    beta_c: float
    b_c: float  # negative
    E: float

    @property
    def eta(self) -> float:
        return -self.b_c / 2.0

    def chinchilla_constants(self) -> ChinchillaConstants:
        """The same law as E + A/N^alpha + B/D^beta (module doc)."""
        return ChinchillaConstants(
            E=self.E,
            A=self.alpha_c,
            B=self.beta_c * FLOPS_PER_PARAM_TOKEN ** (self.b_c / 2.0),
            alpha=-self.b_c,
            beta=-self.b_c,
        )


# Recomputed with the authors' fit on their released runs (train set -> fit), loss on C4 validation.
FITS = {
    "c4": GadreFit(alpha_c=113.6926, beta_c=189.5155, b_c=-0.242472, E=1.508261),
    "redpajama": GadreFit(alpha_c=166.2110, beta_c=366.6872, b_c=-0.272851, E=1.836648),
    "refinedweb": GadreFit(alpha_c=125.0957, beta_c=246.2067, b_c=-0.254395, E=1.734462),
}
TRAIN_SET_NAMES = {"c4": "C4", "redpajama": "RedPajama", "refinedweb": "RefinedWeb"}


@dataclass(frozen=True)
class OvertrainingLaw(ChinchillaLaw):
    """A Gadre et al. law: Chinchilla's form with alpha = beta, read also as L(C, M)."""

    @property
    def eta(self) -> float:
        """eta = alpha/2: L falls as C^-eta at any fixed token multiplier M."""
        return self.constants.alpha / 2.0

    def coefficients(self) -> tuple[float, float]:
        """(a, b) of L(C, M) = E + (a·M^eta + b·M^-eta)·C^-eta: a = A·6^eta, b = B·6^eta."""
        k = self.constants
        scale = FLOPS_PER_PARAM_TOKEN**self.eta
        return k.A * scale, k.B * scale

    def loss_at(self, flops: Any, tokens_per_param: Any) -> np.ndarray:
        """L(C, M) (nats/token on C4 validation) at C FLOPs (C = 6·N·D) and M = D/N tokens per parameter."""
        c = as_positive_array("flops", flops)
        m = as_positive_array("tokens_per_param", tokens_per_param)
        a, b = self.coefficients()
        eta = self.eta
        return self.constants.E + (a * m**eta + b * m ** (-eta)) * c ** (-eta)


def optimal_multiplier(fit: GadreFit) -> float:
    """M* = D*/N* = (B/A)^(1/alpha) of the Chinchilla form (G = (A/B)^(1/(2·alpha)) when alpha = beta)."""
    k = fit.chinchilla_constants()
    return float((k.B / k.A) ** (1.0 / k.alpha))


def _gadre_law(train_set: str) -> OvertrainingLaw:
    name = TRAIN_SET_NAMES[train_set]
    fit = FITS[train_set]
    return OvertrainingLaw(
        info=LawInfo(
            id=f"gadre2024-{train_set}",
            title=f"Over-training, trained on {name} (Gadre et al. 2024)",
            citation=GADRE_CITATION,
            url=GADRE_URL,
            equation=(
                r"L(C, M) = E + \left(a M^{\eta} + b M^{-\eta}\right) C^{-\eta}"
                r"\ \equiv\ E + \frac{A}{N^{2\eta}} + \frac{B}{D^{2\eta}},\quad M = \frac{D}{N},\ C = 6ND"
            ),
            source_detail=(
                f"L(C, M) form; fitted on the paper's default 5 runs by the authors' code, {GADRE_CODE}: "
                f"alpha_c = {fit.alpha_c:g}, beta_c = {fit.beta_c:g}, b_c = {fit.b_c:g}, E = {fit.E:g}; "
                "here as A = alpha_c, B = beta_c·6^(b_c/2), alpha = beta = -b_c"
            ),
            conventions=(
                f"N = total parameters including untied input and output embeddings; D = tokens; C = 6·N·D; "
                f"trained on {name}; L in nats/token on C4 validation: not comparable in absolute value with "
                "other papers' losses."
            ),
            valid_range="Fitted on 10.6M-411.6M parameters at M = 20 and 10.6M at M = 320; the released "
            "runs it predicts reach 6.9B parameters and M = 640",
            verified=True,
            family="gadre",
            notes=(
                "Constants recomputed by running the authors' fit on their released runs (the printed table "
                "was not seen). With alpha = beta, N* ∝ C^0.5 and the compute-optimal multiplier is "
                f"M* = (B/A)^(1/alpha) = {optimal_multiplier(fit):.1f} tokens per parameter at every budget, "
                "from fits made mostly at M = 20: the law is meant to be read along a fixed M."
            ),
        ),
        constants=fit.chinchilla_constants(),
    )


GADRE_C4 = _gadre_law("c4")
GADRE_REDPAJAMA = _gadre_law("redpajama")
GADRE_REFINEDWEB = _gadre_law("refinedweb")


@dataclass(frozen=True)
class DownstreamConstants:
    """Err(L) = epsilon - k·exp(-gamma·L)."""

    epsilon: float
    k: float
    gamma: float


DOWNSTREAM_REDPAJAMA_17 = DownstreamConstants(epsilon=0.856992, k=2.20649, gamma=0.714591)


def downstream_error(loss: Any, constants: DownstreamConstants = DOWNSTREAM_REDPAJAMA_17) -> np.ndarray:
    """Average top-1 error over the 17-task split from the C4 validation loss (``DOWNSTREAM_ERROR``),
    for models trained on RedPajama: epsilon - k·exp(-gamma·L)."""
    l_arr = positive("loss", loss)
    return constants.epsilon - constants.k * np.exp(-constants.gamma * l_arr)


DOWNSTREAM_ERROR = Formula(
    id="gadre2024-downstream-error",
    title="Downstream top-1 error from loss (Gadre et al. 2024)",
    latex=r"\mathrm{Err}(L) = \epsilon - k\,e^{-\gamma L}",
    inputs=(
        ("L", "loss in nats/token on C4 validation"),
        ("ε, k, γ", "fitted constants (RedPajama, 17-task split)"),
    ),
    outputs=(("Err", "average top-1 error over the 17 tasks (share, 0-1)"),),
    assumptions=(
        f"RedPajama-trained models: ε = {DOWNSTREAM_REDPAJAMA_17.epsilon:g}, "
        f"k = {DOWNSTREAM_REDPAJAMA_17.k:g}, γ = {DOWNSTREAM_REDPAJAMA_17.gamma:g}, recomputed with the "
        "authors' fit on their released evaluations.",
        "Only for the loss scale it was fitted on (C4 validation) and this task average.",
    ),
    citation=GADRE_CITATION,
    url=GADRE_URL,
    source_detail=f"Err(L) form; fitted by the authors' code ({GADRE_CODE}, decay_ours)",
    verified=True,
    conventions="L on C4 validation; error averaged over the 17-task split.",
    valid_range="The losses of the runs it was fitted on; beyond them an extrapolation.",
)

LAWS = (GADRE_C4, GADRE_REDPAJAMA, GADRE_REFINEDWEB)
FORMULAS = (DOWNSTREAM_ERROR,)
