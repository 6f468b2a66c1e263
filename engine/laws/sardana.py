"""Sardana et al. 2024 ("Beyond Chinchilla-Optimal"): the Chinchilla form with the authors' constants.

    L(N, D) = E + A / N^alpha + B / D^beta,   A = 406.4, B = 410.7, E = 1.69, alpha = 0.336, beta = 0.283

These are the constants of the authors' code (github.com/nikhilsardana/beyond-chinchilla,
``utils.ChinchillaConstants``), Hoffmann et al.'s Approach 3 fit with alpha and beta to three
decimals instead of Hoffmann's printed 0.34 and 0.28; with them the lifetime optimum
(engine.cost.lifetime) reproduces the paper's Figure 1 (a 13B Chinchilla-style model's loss,
2e12 inference tokens: N* = 6.969e9, 17.4% of lifetime FLOPs saved). Conventions as in their
code: N total parameters, training C = 6·N·D FLOPs, inference 2·N FLOPs per token
(engine.conventions). The frontier, loss and target are Chinchilla's closed forms
(engine.laws.chinchilla.ChinchillaLaw).
"""

from __future__ import annotations

from engine.conventions import FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.laws.base import LawInfo
from engine.laws.chinchilla import (
    CHINCHILLA_EQUATION,
    CHINCHILLA_RANGE,
    ChinchillaConstants,
    ChinchillaLaw,
)

SARDANA_CITATION = (
    "Sardana, N., Portes, J., Doubov, S., Frankle, J. (2024). Beyond Chinchilla-Optimal: Accounting "
    "for Inference in Language Model Scaling Laws. ICML 2024. arXiv:2401.00448"
)
SARDANA_URL = "https://arxiv.org/abs/2401.00448"

_TRAIN, _SERVE = f"{FLOPS_PER_PARAM_TOKEN:g}", f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"

SARDANA_2024 = ChinchillaLaw(
    info=LawInfo(
        id="sardana2024",
        title="Sardana et al. 2024, Chinchilla form with the authors' code constants",
        citation=SARDANA_CITATION,
        url=SARDANA_URL,
        equation=CHINCHILLA_EQUATION,
        source_detail=(
            "Constants of the authors' code, github.com/nikhilsardana/beyond-chinchilla "
            "(utils.ChinchillaConstants): Hoffmann et al.'s Approach 3 fit, alpha and beta to three "
            "decimals; the code reproduces Figure 1 (7B, 17% of FLOPs saved) and was rerun"
        ),
        conventions=(
            f"As in the authors' code: N = total parameters (Hoffmann's convention), C = {_TRAIN}·N·D to "
            f"train, {_SERVE}·N FLOPs per token served; L in nats/token on Hoffmann's MassiveText. Absolute "
            "losses do not transfer to other data sets or tokenizers."
        ),
        valid_range=f"Hoffmann et al.'s fit: {CHINCHILLA_RANGE}",
        verified=True,
        family="chinchilla",
        notes=(
            "Not Hoffmann's printed alpha = 0.34, beta = 0.28 (the law chinchilla): with those, "
            "Figure 1's case (a 13B Chinchilla-optimal model's loss, 2e12 inference tokens) gives "
            "8.02e9 parameters and 10.1% of lifetime FLOPs saved instead of 6.97e9 and 17.4%."
        ),
    ),
    constants=ChinchillaConstants(E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283),
)

LAWS = (SARDANA_2024,)
