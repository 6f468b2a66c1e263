"""Distillation: Busbridge et al. 2025, "Distillation Scaling Laws" (ICML 2025, arXiv 2502.08606v2).

Supervised baseline (Eq. 1), 73 runs:

    L(N, D) = E + (A/N^alpha + B/D^beta)^gamma

Student distilled from a teacher of cross-entropy L_T (Eq. 8), 697 runs:

    L_S = L_T + L_T^(-c0)·[1 + (L_T/(L~_S·d1))^(1/f1)]^(-c1·f1)·(A'/N_S^alpha' + B'/D_S^beta')^gamma'

with L~_S = L(N_S, D_S) the supervised loss of the same student. N = non-embedding parameters, D =
tokens, losses = cross-entropy in nats on English C4. The bracket never lets the student reach its
teacher: L_S > L_T for any finite student.

Compute of distillation (Eq. 9), with F(N) the forward FLOPs per token:

    C = 3·F(N_S)·D_S + F(N_T)·(delta_Lgt·D_S + delta_Pre·3·D_T)

delta_Lgt = 1 when the teacher's logits are computed for the student's tokens, delta_Pre = 1 when the
teacher's own training is charged to this student. Here F(N) = 2N: App. H's correction
2N·(1 + c1·N^(-1/3) + c2·N^(-2/3)) (attention and other terms) is left out, so C = 6·N_S·D_S +
2·N_T·(delta_Lgt·D_S + 3·delta_Pre·D_T).

The supervised law's optimum under C = 6·N·D is Chinchilla's: gamma > 0, so minimising the loss means
minimising A/N^alpha + B/D^beta, a Chinchilla-form law with E = 0 (``equivalent_chinchilla``), and a loss
l is reached exactly where that form reaches (l - E)^(1/gamma). So the frontier, the least compute for a
loss and the inference-aware optimum (engine.cost.lifetime) are all closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError, positive
from engine.formula import Formula
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.chinchilla import ChinchillaConstants, ChinchillaLaw
from engine.laws.optimize import minimize_over_params

BUSBRIDGE_CITATION = (
    "Busbridge, D., Shidani, A., Weers, F., Ramapuram, J., Littwin, E., Webb, R. (2025). Distillation "
    "Scaling Laws. ICML 2025. arXiv:2502.08606"
)
BUSBRIDGE_URL = "https://arxiv.org/abs/2502.08606"
BUSBRIDGE_CONVENTIONS = (
    "N = non-embedding parameters; D = training tokens; losses = cross-entropy in nats on English C4: "
    "not comparable in absolute value with laws fitted on other data sets."
)
BUSBRIDGE_RANGE = "143M-12.6B parameters, up to 512B tokens"
FITTED_PARAMS = (143e6, 12.6e9)  # the runs' non-embedding parameters, smallest and largest
FITTED_MAX_TOKENS = 512e9
MIN_STUDENT_TOKENS_PER_PARAM = 1.0
"""FLOPwise's guard, not the paper's: searches for a best student skip students on fewer tokens than
parameters, where Eq. 8 predicts near-teacher losses from a few million tokens, far from any run."""


@dataclass(frozen=True)
class SupervisedConstants:
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    gamma: float


@dataclass(frozen=True)
class SupervisedLaw(Law):
    """Busbridge et al.'s supervised baseline E + (A/N^alpha + B/D^beta)^gamma (Eq. 1)."""

    info: LawInfo
    constants: SupervisedConstants

    @property
    def loss_floor(self) -> float:
        return self.constants.E

    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        k = self.constants
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        return k.E + (k.A * n ** (-k.alpha) + k.B * d ** (-k.beta)) ** k.gamma

    def equivalent_chinchilla(self) -> ChinchillaLaw:
        """A/N^alpha + B/D^beta as a Chinchilla-form law with E = 0: the same optimum at every C, and
        it reaches ``reduced_loss(l)`` exactly where this law reaches l."""
        k = self.constants
        return ChinchillaLaw(
            info=self.info, constants=ChinchillaConstants(E=0.0, A=k.A, B=k.B, alpha=k.alpha, beta=k.beta)
        )

    def reduced_loss(self, loss: Any) -> np.ndarray:
        """(l - E)^(1/gamma): the equivalent Chinchilla-form law's loss at the points this law gives l."""
        l_arr = self.check_target_loss(loss)
        return (l_arr - self.constants.E) ** (1.0 / self.constants.gamma)

    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        alloc = self.equivalent_chinchilla().optimal(flops)
        return Allocation(
            alloc.n_params, alloc.n_tokens, alloc.flops, self.loss(alloc.n_params, alloc.n_tokens)
        )

    def target(self, loss: Any, **inputs: Any) -> Allocation:
        l_arr = self.check_target_loss(loss)
        alloc = self.equivalent_chinchilla().target(self.reduced_loss(l_arr))
        return Allocation(alloc.n_params, alloc.n_tokens, alloc.flops, l_arr)

    def tokens_for_loss(self, n_params: Any, loss: Any) -> np.ndarray:
        """D at which N parameters reach ``loss`` (closed form: B/D^beta = (l-E)^(1/gamma) - A/N^alpha);
        inf where N is too small to reach it with any D."""
        k = self.constants
        n = as_positive_array("n_params", n_params)
        room = self.reduced_loss(loss) - k.A * n ** (-k.alpha)
        safe = np.where(room > 0, room, 1.0)
        return np.where(room > 0, (k.B / safe) ** (1.0 / k.beta), np.inf)


BUSBRIDGE_SUPERVISED = SupervisedLaw(
    info=LawInfo(
        id="busbridge2025-supervised",
        title="Supervised baseline of the distillation study (Busbridge et al. 2025)",
        citation=BUSBRIDGE_CITATION,
        url=BUSBRIDGE_URL,
        equation=r"L(N, D) = E + \left(\frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}\right)^{\gamma}",
        source_detail="Eq. (1), fitted on 73 supervised runs; constants as printed",
        conventions=BUSBRIDGE_CONVENTIONS + " C = 6·N·D.",
        valid_range=BUSBRIDGE_RANGE,
        verified=True,
        family="distillation",
        notes="The frontier is Chinchilla's for A/N^α + B/D^β (γ > 0): closed form.",
    ),
    constants=SupervisedConstants(E=1.220, A=3355.0, B=18186.0, alpha=0.408, beta=0.431, gamma=0.452),
)


@dataclass(frozen=True)
class StudentConstants:
    A_prime: float
    B_prime: float
    alpha_prime: float
    beta_prime: float
    gamma_prime: float
    c0: float
    c1: float
    f1: float
    d1: float


def _teacher_loss(value: Any) -> np.ndarray:
    if value is None:
        raise LawError("the student law needs teacher_loss: the teacher's cross-entropy (nats on C4)")
    return positive("teacher_loss", value)


@dataclass(frozen=True)
class StudentLaw(Law):
    """The distilled student's loss (Eq. 8), given its teacher's loss; ``supervised`` gives L~_S."""

    info: LawInfo
    constants: StudentConstants
    supervised: SupervisedLaw

    @property
    def loss_floor(self) -> float:
        return self.supervised.constants.E

    def loss(self, n_params: Any, n_tokens: Any, teacher_loss: Any = None, **inputs: Any) -> np.ndarray:
        """L_S (nats on C4) of a student with N_S non-embedding parameters distilled on D_S tokens from a
        teacher of cross-entropy ``teacher_loss``."""
        k = self.constants
        l_t = _teacher_loss(teacher_loss)
        n = np.asarray(n_params, float)
        d = np.asarray(n_tokens, float)
        l_sup = self.supervised.loss(n, d)
        transition = (1.0 + (l_t / (l_sup * k.d1)) ** (1.0 / k.f1)) ** (-k.c1 * k.f1)
        capacity = (k.A_prime * n ** (-k.alpha_prime) + k.B_prime * d ** (-k.beta_prime)) ** k.gamma_prime
        return l_t + l_t ** (-k.c0) * transition * capacity

    def tokens_for_loss(self, n_params: Any, loss: Any, teacher_loss: Any) -> np.ndarray:
        """D_S at which a student of N_S parameters reaches ``loss`` from this teacher (bisection in
        log D: L_S falls with D); inf where no D reaches it (the loss at or below the student's limit)."""
        target = positive("loss", loss)
        l_t = _teacher_loss(teacher_loss)
        n = as_positive_array("n_params", n_params)
        shape = np.broadcast(n, target, l_t).shape
        n, target, l_t = (np.broadcast_to(x, shape).astype(float) for x in (n, target, l_t))
        lo, hi = np.full(shape, np.log(1e3)), np.full(shape, np.log(1e22))
        reachable = self.loss(n, np.exp(hi), l_t) < target
        for _ in range(120):
            mid = 0.5 * (lo + hi)
            ok = self.loss(n, np.exp(mid), l_t) <= target
            hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
        return np.where(reachable, np.exp(hi), np.inf)

    def optimal(self, flops: Any, teacher_loss: Any = None, **inputs: Any) -> Allocation:
        """Least-loss student at ``flops`` of student training, C = 6·N_S·D_S (an existing teacher whose
        logits are not charged; ``distillation_flops`` counts them). Numeric search over N_S within the
        fitted sizes (``FITTED_PARAMS``) and at least ``MIN_STUDENT_TOKENS_PER_PARAM`` tokens per
        parameter: unbounded, Eq. 8 extrapolates to students of trillions of parameters on a few hundred
        million tokens, far from any run, so the optimum is held at that edge."""
        c_arr = as_positive_array("flops", flops)
        l_t = float(_teacher_loss(teacher_loss))
        low, high = FITTED_PARAMS

        def loss_of(n_: np.ndarray, d_: np.ndarray) -> np.ndarray:
            inside = (n_ >= low) & (n_ <= high) & (d_ >= MIN_STUDENT_TOKENS_PER_PARAM * n_)
            return np.where(inside, self.loss(n_, d_, l_t), np.inf)

        n = np.clip(minimize_over_params(loss_of, c_arr), low, high)
        d = c_arr / (FLOPS_PER_PARAM_TOKEN * n)
        return Allocation(n, d, c_arr, self.loss(n, d, l_t), {"teacher_loss": np.full_like(c_arr, l_t)})

    def target(self, loss: Any, teacher_loss: Any = None, **inputs: Any) -> Allocation:
        l_t = float(_teacher_loss(teacher_loss))
        if np.any(np.asarray(loss, float) <= l_t):
            raise LawError(
                f"target loss {loss!r} is at or below the teacher's loss {l_t:g}: a distilled student never "
                "reaches its teacher (Eq. 8)"
            )
        return self.target_by_search(loss, hi_flops=1e34, teacher_loss=l_t)


BUSBRIDGE_STUDENT = StudentLaw(
    info=LawInfo(
        id="busbridge2025-student",
        title="Distilled student from a teacher's loss (Busbridge et al. 2025)",
        citation=BUSBRIDGE_CITATION,
        url=BUSBRIDGE_URL,
        equation=(
            r"L_S = L_T + \frac{1}{L_T^{c_0}}\left(1 + \left(\frac{L_T}{\tilde L_S d_1}\right)^{1/f_1}"
            r"\right)^{-c_1 f_1}\left(\frac{A'}{N_S^{\alpha'}} + \frac{B'}{D_S^{\beta'}}\right)^{\gamma'}"
        ),
        source_detail="Eq. (8), fitted on 697 distillation runs (90% intervals Table 6, App. F.3); "
        "L~_S from Eq. (1); compute Eq. (9)",
        conventions=BUSBRIDGE_CONVENTIONS + " N_S, D_S: the student's; L_T: the teacher's loss.",
        valid_range=BUSBRIDGE_RANGE,
        verified=True,
        family="distillation",
        extra_inputs=("teacher_loss",),
        notes=(
            "Needs the teacher's loss, so it is not offered where a law is picked by N and D alone. The "
            "student never reaches its teacher; supervised training wins once the student has enough tokens."
        ),
        compute_model="C = 6·N_S·D_S (student only; the teacher's logits and training: Eq. 9)",
        params_meaning="student non-embedding parameters",
        symbols=(
            ("A_prime", "A'"),
            ("B_prime", "B'"),
            ("alpha_prime", "α'"),
            ("beta_prime", "β'"),
            ("gamma_prime", "γ'"),
            ("c0", "c_0"),
            ("c1", "c_1"),
            ("f1", "f_1"),
            ("d1", "d_1"),
        ),
    ),
    constants=StudentConstants(
        A_prime=2243.0,
        B_prime=24181.0,
        alpha_prime=0.321,
        beta_prime=0.637,
        gamma_prime=0.764,
        c0=2.549,
        c1=522.6,
        f1=0.090,
        d1=1.315,
    ),
    supervised=BUSBRIDGE_SUPERVISED,
)


def distillation_flops(
    student_params: Any,
    student_tokens: Any,
    teacher_params: Any,
    teacher_tokens: Any = 0.0,
    *,
    teacher_logits: bool = True,
    teacher_training: bool = False,
) -> np.ndarray:
    """Eq. 9 with F(N) = 2N (``DISTILLATION_COMPUTE``): 6·N_S·D_S + 2·N_T·(δ_Lgt·D_S + 3·δ_Pre·D_T)
    FLOPs; δ_Lgt = ``teacher_logits``, δ_Pre = ``teacher_training``."""
    n_s = as_positive_array("student_params", student_params)
    d_s = as_positive_array("student_tokens", student_tokens)
    n_t = as_positive_array("teacher_params", teacher_params)
    d_t = positive("teacher_tokens", teacher_tokens, allow_zero=True)
    forward = INFERENCE_FLOPS_PER_PARAM_TOKEN  # F(N) = 2N
    student = 3.0 * forward * n_s * d_s
    teacher = forward * n_t * (float(teacher_logits) * d_s + float(teacher_training) * 3.0 * d_t)
    return student + teacher


DISTILLATION_COMPUTE = Formula(
    id="distillation-compute",
    title="Compute of distilling a student (Busbridge et al. 2025)",
    latex=(
        r"C = 3F(N_S)D_S + F(N_T)\left(\delta_{Lgt}D_S + 3\,\delta_{Pre}D_T\right),\qquad F(N) \approx 2N"
    ),
    inputs=(
        ("N_S, D_S", "the student's non-embedding parameters and distillation tokens"),
        ("N_T, D_T", "the teacher's non-embedding parameters and training tokens"),
        ("δ_Lgt", "1 when the teacher's logits are computed for the student's tokens, else 0"),
        ("δ_Pre", "1 when the teacher is trained for this student (its training charged here), else 0"),
        ("F(N)", "forward FLOPs per token"),
    ),
    outputs=(("C", "training FLOPs of the student, with the teacher's share as the flags say"),),
    assumptions=(
        f"F(N) = {INFERENCE_FLOPS_PER_PARAM_TOKEN:g}·N: App. H's correction "
        "2N·(1 + c1·N^(-1/3) + c2·N^(-2/3)) (attention and other terms) is left out, so training is "
        "6·N·D as for every other law here.",
        "An existing teacher (δ_Pre = 0) still costs its logits on every student token unless they "
        "are stored.",
    ),
    citation=BUSBRIDGE_CITATION,
    url=BUSBRIDGE_URL,
    source_detail="Eq. (9); F(N) from App. H, simplified",
    verified=True,
    conventions="N non-embedding parameters for student and teacher.",
    valid_range="The law's range: 143M-12.6B parameters, up to 512B tokens.",
)

LAWS = (BUSBRIDGE_SUPERVISED,)
COMPRESSION_LAWS = (BUSBRIDGE_STUDENT,)
FORMULAS = (DISTILLATION_COMPUTE,)
