"""Inference-aware optimum (Sardana et al. 2024, "Beyond Chinchilla-Optimal").

For a target loss l and lifetime inference demand, minimise training plus inference cost
subject to the Chinchilla law L(N, D) = E + A/N^alpha + B/D^beta = l:

    FLOPs:   min 6·N·D + 2·N·D_inf
    dollars: min 6·N·D·c_tr/MFU_tr + 2·N·D_in·c_inf/MFU_prefill + 2·N·D_out·c_inf/MFU_decode

Both reduce to one stationarity condition in D (the authors' code), with w = D_inf for FLOPs and
w = m_inf/m_tr for dollars (m_inf = c_inf·(D_in/MFU_in + D_out/MFU_out), m_tr = c_tr/MFU_tr,
c = $ per FLOP = price per hour / (3600 · peak)):

    (beta·B/alpha + B)·D^-beta + (w·beta·B/(3·alpha))·D^(-beta-1) + E - l = 0

whose left side falls monotonically in D, so it has one root (found by bracketing in log D).
Then N = (A / (l - E - B·D^-beta))^(1/alpha). With w = 0 this is the Chinchilla optimum at loss l:
N_ch = (A·(alpha/beta + 1)/(l - E))^(1/alpha), D_ch = (B·(beta/alpha + 1)/(l - E))^(1/beta).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from scipy.optimize import brentq

from engine.conventions import FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError, positive
from engine.formula import Formula
from engine.laws.base import Law
from engine.laws.chinchilla import ChinchillaLaw

_TRAIN, _SERVE = f"{FLOPS_PER_PARAM_TOKEN:g}", f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"
_RATIO = f"{FLOPS_PER_PARAM_TOKEN / INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"  # the 3 of the stationarity condition
LIFETIME_OPTIMUM = Formula(
    id="lifetime-optimum",
    title="Inference-aware optimum: least training + serving cost for a loss (Sardana et al. 2024)",
    latex=(
        r"\begin{aligned}&\min_{N,\,D}\ "
        + _TRAIN
        + r"ND\,\frac{c}{\text{MFU}_{tr}} + "
        + _SERVE
        + r"N\left(\frac{D_{in}}{\text{MFU}_{prefill}} + \frac{D_{out}}{\text{MFU}_{decode}}\right)c"
        r"\quad\text{s.t.}\quad E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}} = \ell\\"
        r"&\left(\frac{\beta B}{\alpha} + B\right)D^{-\beta} + \frac{w\,\beta B}{"
        + _RATIO
        + r"\alpha}\,D^{-\beta-1} + E - \ell = 0,\qquad N = \left(\frac{A}{\ell - E - B D^{-\beta}}"
        r"\right)^{1/\alpha}\end{aligned}"
    ),
    inputs=(
        ("ℓ", "the loss to reach: the compute-optimal model's, for the Plan page (nats/token)"),
        ("E, A, B, α, β", "the Chinchilla-form law's constants"),
        ("D_in, D_out", "prompt and generated tokens served over the model's life"),
        (
            "MFU_tr, MFU_prefill, MFU_decode",
            "shares of the peak reached training, reading prompts, generating",
        ),
        ("c", "dollars per FLOP at the peak: price per device-hour ÷ (3600 × peak)"),
        (
            "w",
            "serving demand in training-cost-equivalent tokens: w = m_inf/m_tr, m_inf = c·(D_in/MFU_prefill "
            "+ D_out/MFU_decode), m_tr = c/MFU_tr (w = D_in + D_out in the FLOPs version)",
        ),
    ),
    outputs=(("N, D", "the parameters and training tokens that reach ℓ at least lifetime cost"),),
    assumptions=(
        f"{_TRAIN}·N·D FLOPs to train, {_SERVE}·N per token served; training and serving on the same device "
        "at the same price, so c cancels from w.",
        "The stationarity condition's left side falls with D, so it has one root, found by bracketing in log "
        "D; with no tokens served (w = 0) the answer is the Chinchilla optimum at loss ℓ.",
        "Only for laws of the Chinchilla form E + A/N^α + B/D^β.",
    ),
    citation="Sardana, N., Portes, J., Doubov, S., Frankle, J. (2024). Beyond Chinchilla-Optimal: Accounting "
    "for Inference in Language Model Scaling Laws. ICML 2024. arXiv:2401.00448",
    url="https://arxiv.org/abs/2401.00448",
    source_detail="Cost version of the objective and its stationarity condition in D, from the authors' code "
    "(github.com/nikhilsardana/beyond-chinchilla @190f70e); Fig. 1's numbers reproduced "
    "(tests/unit/test_inference_lifetime.py)",
    verified=True,
    conventions="N, D, ℓ as the law defines them (Chinchilla: total parameters, nats/token on MassiveText).",
    valid_range="The law's valid range; far more tokens served than trained pushes D past it.",
)


@dataclass(frozen=True)
class LifetimeOptimum:
    loss: float
    n_params: float
    n_tokens: float
    inference_weight: float  # w above: inference tokens in training-FLOP-equivalents
    flops_train: float
    flops_inference: float
    chinchilla_n_params: float
    chinchilla_n_tokens: float
    chinchilla_flops_total: float

    @property
    def flops_total(self) -> float:
        return self.flops_train + self.flops_inference

    @property
    def saving_fraction(self) -> float:
        """Share of the Chinchilla-optimal model's lifetime FLOPs saved."""
        return 1.0 - self.flops_total / self.chinchilla_flops_total

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(flops_total=self.flops_total, saving_fraction=self.saving_fraction)
        return out


def _require_form(law: Law) -> ChinchillaLaw:
    if not isinstance(law, ChinchillaLaw):
        raise LawError(
            f"law {law.id} is not of the Chinchilla form E + A/N^alpha + B/D^beta; "
            "the lifetime optimum needs one"
        )
    return law


def chinchilla_at_loss(law: ChinchillaLaw, loss: float) -> tuple[float, float]:
    """(N_ch, D_ch): the compute-optimal model that reaches ``loss``."""
    _require_form(law)
    c = law.constants
    gap = float(law.check_target_loss(loss)) - c.E
    return (
        (c.A * (c.alpha / c.beta + 1) / gap) ** (1 / c.alpha),
        (c.B * (c.beta / c.alpha + 1) / gap) ** (1 / c.beta),
    )


def lifetime_optimum(
    law: Law, loss: float, inference_tokens: float, *, inference_weight: float | None = None
) -> LifetimeOptimum:
    """The (N, D) reaching ``loss`` with least training + inference cost.

    ``inference_tokens`` is the lifetime demand D_inf (tokens served); ``inference_weight``, when
    given, replaces it in the optimisation by the dollar weight m_inf/m_tr (see module doc)."""
    chinchilla = _require_form(law)
    positive("inference tokens", inference_tokens, allow_zero=True)
    c = chinchilla.constants
    n_ch, d_ch = chinchilla_at_loss(chinchilla, loss)
    w = float(inference_tokens if inference_weight is None else inference_weight)
    k = c.beta * c.B / c.alpha + c.B
    gap = loss - c.E

    def stationarity(log_d: float) -> float:
        d = pow(10.0, log_d)
        return k * d ** (-c.beta) + (w * c.beta * c.B / (3 * c.alpha)) * d ** (-c.beta - 1) - gap

    if w == 0:
        d = d_ch
    else:
        lo, hi = 0.0, 40.0
        d = pow(10.0, brentq(stationarity, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))
    residual = gap - c.B * d ** (-c.beta)
    n = (c.A / residual) ** (1 / c.alpha)
    return LifetimeOptimum(
        loss=float(loss),
        n_params=float(n),
        n_tokens=float(d),
        inference_weight=w,
        flops_train=FLOPS_PER_PARAM_TOKEN * n * d,
        flops_inference=INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens,
        chinchilla_n_params=float(n_ch),
        chinchilla_n_tokens=float(d_ch),
        chinchilla_flops_total=(
            FLOPS_PER_PARAM_TOKEN * d_ch + INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens
        )
        * n_ch,
    )


def dollar_weight(
    *,
    prompt_tokens: float,
    output_tokens: float,
    train_price_per_flop: float,
    infer_price_per_flop: float,
    mfu_train: float,
    mfu_prefill: float,
    mfu_decode: float,
) -> float:
    """w = m_inf/m_tr: inference demand in training-cost-equivalent tokens (Sardana cost version)."""
    m_inf = infer_price_per_flop * (prompt_tokens / mfu_prefill + output_tokens / mfu_decode)
    m_tr = train_price_per_flop / mfu_train
    return m_inf / m_tr
