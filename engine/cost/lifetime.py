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
from engine.errors import LawError
from engine.laws.chinchilla import ChinchillaLaw


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


def _require_form(law: ChinchillaLaw) -> None:
    if not isinstance(law, ChinchillaLaw):
        raise LawError(f"law {law.id} is not of the Chinchilla form E + A/N^alpha + B/D^beta; "
                       "the lifetime optimum needs one")


def chinchilla_at_loss(law: ChinchillaLaw, loss: float) -> tuple[float, float]:
    """(N_ch, D_ch): the compute-optimal model that reaches ``loss``."""
    _require_form(law)
    c = law.constants
    gap = float(law.check_target_loss(loss)) - c.E
    return ((c.A * (c.alpha / c.beta + 1) / gap) ** (1 / c.alpha), (c.B * (c.beta / c.alpha + 1) / gap) ** (1 / c.beta))


def lifetime_optimum(
    law: ChinchillaLaw, loss: float, inference_tokens: float, *, inference_weight: float | None = None
) -> LifetimeOptimum:
    """The (N, D) reaching ``loss`` with least training + inference cost.

    ``inference_tokens`` is the lifetime demand D_inf (tokens served); ``inference_weight``, when
    given, replaces it in the optimisation by the dollar weight m_inf/m_tr (see module doc)."""
    _require_form(law)
    if inference_tokens < 0:
        raise LawError(f"inference tokens must be 0 or more, got {inference_tokens}")
    c = law.constants
    n_ch, d_ch = chinchilla_at_loss(law, loss)
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
        loss=float(loss), n_params=float(n), n_tokens=float(d), inference_weight=w,
        flops_train=FLOPS_PER_PARAM_TOKEN * n * d,
        flops_inference=INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens,
        chinchilla_n_params=float(n_ch), chinchilla_n_tokens=float(d_ch),
        chinchilla_flops_total=(FLOPS_PER_PARAM_TOKEN * d_ch + INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens) * n_ch,
    )


def dollar_weight(
    *, prompt_tokens: float, output_tokens: float, train_price_per_flop: float, infer_price_per_flop: float,
    mfu_train: float, mfu_prefill: float, mfu_decode: float,
) -> float:
    """w = m_inf/m_tr: inference demand in training-cost-equivalent tokens (Sardana cost version)."""
    m_inf = infer_price_per_flop * (prompt_tokens / mfu_prefill + output_tokens / mfu_decode)
    m_tr = train_price_per_flop / mfu_train
    return m_inf / m_tr
