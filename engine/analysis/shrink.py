"""Train large, then shrink: for a target loss and a lifetime demand, train compute-optimal, over-train
for inference, or distil from a teacher.

All three options are computed within one loss family, Busbridge et al. 2025's fits on English C4
(N non-embedding): their supervised law (Eq. 1) for training from scratch and their student law (Eq. 8)
for distillation, whose L~_S is that same supervised law. A loss of another law is on another data set
and tokenizer, so mixing laws would compare numbers that do not measure the same thing; each row says
which law it uses.

* train compute-optimal: the least training compute reaching the loss (Eq. 1's frontier, closed form).
* over-train for inference: Sardana et al.'s inference-aware optimum, min 6·N·D + 2·N·D_inf subject
  to L(N, D) = l (engine.cost.lifetime.lifetime_optimum). Eq. 1 reaches l exactly where its
  Chinchilla-form core A/N^alpha + B/D^beta reaches (l - E)^(1/gamma), so the optimum is that of
  ``SupervisedLaw.equivalent_chinchilla()`` at that reduced loss.
* distil from the teacher: the student (N_S, D_S) with L_S(N_S, D_S; L_T) = l and the least
  6·N_S·D_S + delta_Lgt·2·N_T·D_S + 2·N_S·D_inf (Eq. 9 with F(N) = 2N, plus serving), searched over the
  fitted student sizes on at least one token per parameter (MIN_STUDENT_TOKENS_PER_PARAM); the
  teacher's training 6·N_T·D_T is added when it is trained for this
  (``teacher_exists=False``), and left out when the teacher exists already. A student never reaches
  its teacher: at a target at or below L_T the row says so.

Lifetime FLOPs count training (student and teacher as above) and serving 2·N per token; every option
serves the same ``lifetime_inference_tokens``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from engine.conventions import FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.lifetime import lifetime_optimum
from engine.errors import positive
from engine.formula import Formula
from engine.laws.distillation import (
    BUSBRIDGE_STUDENT,
    FITTED_MAX_TOKENS,
    FITTED_PARAMS,
    MIN_STUDENT_TOKENS_PER_PARAM,
    StudentLaw,
)

COMPUTE_OPTIMAL = "train compute-optimal"
OVERTRAIN = "over-train for inference"
DISTIL = "distil from the teacher"

TEACHER_TOKENS_PER_PARAM = 20.0  # a teacher trained the Chinchilla way, when the page sizes one by N only

COLUMNS = (
    "option",
    "law",
    "n_params",
    "n_tokens",
    "tokens_per_param",
    "loss",
    "teacher_loss",
    "student_train_flops",
    "teacher_flops",
    "inference_flops",
    "lifetime_flops",
    "in_fitted_range",
    "note",
)

_TRAIN, _SERVE = f"{FLOPS_PER_PARAM_TOKEN:g}", f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}"
SHRINK_OPTIONS = Formula(
    id="shrink-options",
    title="Train compute-optimal, over-train, or distil: least lifetime compute for a loss",
    latex=(
        r"\begin{aligned}&\text{train: } \min_{N,D}\ " + _TRAIN + r"ND \ \text{ s.t. } L(N, D) = \ell"
        r"\qquad \text{over-train: } \min_{N,D}\ " + _TRAIN + r"ND + " + _SERVE + r"N D_{inf}"
        r" \ \text{ s.t. } L(N, D) = \ell\\"
        r"&\text{distil: } \min_{N_S,D_S}\ " + _TRAIN + r"N_S D_S + " + _SERVE + r"N_T\left(\delta_{Lgt}D_S"
        r" + 3\,\delta_{Pre}D_T\right) + " + _SERVE + r"N_S D_{inf}\ \text{ s.t. } L_S(N_S, D_S; L_T) = \ell"
        r"\end{aligned}"
    ),
    inputs=(
        ("ℓ", "the target loss (nats/token on English C4, Busbridge et al.'s data)"),
        ("D_inf", "tokens served over the model's life"),
        ("L(N, D)", "Busbridge et al.'s supervised law, Eq. 1 (N non-embedding)"),
        ("L_S(N_S, D_S; L_T)", "their distilled-student law, Eq. 8"),
        ("N_T, D_T, L_T", "the teacher's parameters, training tokens and loss (Eq. 1 unless given)"),
        ("δ_Lgt, δ_Pre", "1 when the teacher's logits / its training are charged, else 0"),
    ),
    outputs=(("N, D, FLOPs", "each option's model, its training, teacher and serving FLOPs, and their sum"),),
    assumptions=(
        "One loss family: every option is computed in Busbridge et al.'s C4 fits, never across laws "
        "fitted on other data sets.",
        f"Training {_TRAIN}·N·D, serving {_SERVE}·N per token, the teacher's logits {_SERVE}·N_T per student "
        "token (App. H's attention terms left out).",
        "The over-trained option is Sardana et al.'s optimum on Eq. 1's Chinchilla-form core at the reduced "
        "loss (ℓ - E)^(1/γ): the constraint sets are the same.",
        "The distilled student is searched within the fitted sizes "
        f"{FITTED_PARAMS[0]:.3g}-{FITTED_PARAMS[1]:.3g} parameters and on at least "
        f"{MIN_STUDENT_TOKENS_PER_PARAM:g} token per parameter (FLOPwise's guard): beyond them Eq. 8 is an "
        "extrapolation far from any run.",
        "A student never reaches its teacher's loss; distillation beats supervised training only where Eq. 8 "
        "gives a lower loss than Eq. 1 (few tokens per parameter, a strong teacher).",
    ),
    citation=(
        "Busbridge, D. et al. (2025). Distillation Scaling Laws. ICML 2025. arXiv:2502.08606; "
        "Sardana, N. et al. (2024). Beyond Chinchilla-Optimal. ICML 2024. arXiv:2401.00448"
    ),
    url="https://arxiv.org/abs/2502.08606",
    source_detail="Busbridge et al. Eq. (1), (8), (9); Sardana et al.'s objective (engine.cost.lifetime)",
    verified=True,
    conventions="N non-embedding parameters; losses in nats on English C4; FLOPs as above.",
    valid_range="143M-12.6B parameters, up to 512B tokens (Busbridge et al.'s runs); each row says "
    "whether it lies inside.",
)


def _in_range(n_params: float, n_tokens: float) -> bool:
    return FITTED_PARAMS[0] <= n_params <= FITTED_PARAMS[1] and n_tokens <= FITTED_MAX_TOKENS


def _row(option: str, law_id: str, n: float, d: float, loss: float, **values: Any) -> dict[str, Any]:
    student = values.get("student_train_flops", FLOPS_PER_PARAM_TOKEN * n * d)
    teacher = values.get("teacher_flops", 0.0)
    inference = values["inference_flops"]
    return {
        "option": option,
        "law": law_id,
        "n_params": n,
        "n_tokens": d,
        "tokens_per_param": d / n if n > 0 else math.nan,
        "loss": loss,
        "teacher_loss": values.get("teacher_loss", math.nan),
        "student_train_flops": student,
        "teacher_flops": teacher,
        "inference_flops": inference,
        "lifetime_flops": student + teacher + inference,
        "in_fitted_range": bool(np.isfinite(n) and _in_range(n, d)),
        "note": values.get("note", ""),
    }


def _best_student(
    law: StudentLaw,
    loss: float,
    teacher_loss: float,
    teacher_params: float,
    logits: bool,
    inference_tokens: float,
) -> tuple[float, float] | None:
    """(N_S, D_S) reaching ``loss`` with the least student, logit and serving FLOPs, over the fitted sizes
    on at least MIN_STUDENT_TOKENS_PER_PARAM tokens per parameter: a log grid, then a bounded search
    between the grid's neighbours. None when no fitted size reaches it."""
    teacher_per_token = INFERENCE_FLOPS_PER_PARAM_TOKEN * teacher_params * float(logits)

    def cost(n: np.ndarray) -> np.ndarray:
        d = law.tokens_for_loss(n, loss, teacher_loss)
        usable = np.isfinite(d) & (d >= MIN_STUDENT_TOKENS_PER_PARAM * n)
        d = np.where(usable, d, 0.0)  # no inf·0 where the logits are not charged
        flops = (
            FLOPS_PER_PARAM_TOKEN * n * d
            + teacher_per_token * d
            + INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens
        )
        return np.where(usable, flops, np.inf)

    def usable(log_n_: float) -> bool:
        return bool(np.isfinite(cost(np.exp(np.array(log_n_)))))

    def edge(bad: float, good: float) -> float:
        """Where usability starts between an unusable and a usable log N (both conditions are monotone
        in N, so the usable sizes are one interval)."""
        for _ in range(60):
            mid = 0.5 * (bad + good)
            bad, good = (bad, mid) if usable(mid) else (mid, good)
        return good

    log_n = np.linspace(np.log(FITTED_PARAMS[0]), np.log(FITTED_PARAMS[1]), 121)
    values = cost(np.exp(log_n))
    ok = np.isfinite(values)
    if not np.any(ok):
        return None
    i = int(np.argmin(values))
    lo = log_n[i] if i == 0 else (log_n[i - 1] if ok[i - 1] else edge(log_n[i - 1], log_n[i]))
    last = log_n.size - 1
    hi = log_n[i] if i == last else (log_n[i + 1] if ok[i + 1] else edge(log_n[i + 1], log_n[i]))
    best = float(log_n[i])
    if hi > lo:
        found = minimize_scalar(
            lambda x: float(cost(np.exp(np.array(x)))),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-9},
        )
        if np.isfinite(found.fun) and found.fun <= values[i]:
            best = float(found.x)
    n_s = math.exp(best)
    return n_s, float(law.tokens_for_loss(n_s, loss, teacher_loss))


def shrink_options(
    target_loss: float,
    lifetime_inference_tokens: float,
    *,
    teacher_params: float,
    teacher_tokens: float,
    teacher_loss: float | None = None,
    teacher_exists: bool = True,
    teacher_logits: bool = True,
    student_law: StudentLaw = BUSBRIDGE_STUDENT,
) -> pd.DataFrame:
    """The three ways to a model of ``target_loss`` (nats/token on English C4) that serves
    ``lifetime_inference_tokens``: one row each, ``COLUMNS``, FLOPs throughout (``SHRINK_OPTIONS``).

    ``teacher_params``/``teacher_tokens``: the teacher's non-embedding parameters and training tokens;
    its loss is Eq. 1's at that size unless ``teacher_loss`` gives it. ``teacher_exists``: its training is
    sunk (False: charged to this student, 6·N_T·D_T). ``teacher_logits``: its forward pass over the
    student's tokens is charged (False: the logits are stored already)."""
    supervised = student_law.supervised
    loss = float(supervised.check_target_loss(target_loss))
    demand = float(positive("lifetime inference tokens", lifetime_inference_tokens, allow_zero=True))
    n_t = float(positive("teacher_params", teacher_params))
    d_t = float(positive("teacher_tokens", teacher_tokens))
    l_t = float(supervised.loss(n_t, d_t) if teacher_loss is None else positive("teacher_loss", teacher_loss))

    life = lifetime_optimum(supervised.equivalent_chinchilla(), float(supervised.reduced_loss(loss)), demand)
    serve = INFERENCE_FLOPS_PER_PARAM_TOKEN * demand
    rows = [
        _row(
            COMPUTE_OPTIMAL,
            supervised.id,
            life.chinchilla_n_params,
            life.chinchilla_n_tokens,
            loss,
            inference_flops=serve * life.chinchilla_n_params,
        ),
        _row(
            OVERTRAIN,
            supervised.id,
            life.n_params,
            life.n_tokens,
            loss,
            inference_flops=life.flops_inference,
            note="Sardana et al.'s least training + serving FLOPs for the loss",
        ),
    ]

    teacher_training = 0.0 if teacher_exists else FLOPS_PER_PARAM_TOKEN * n_t * d_t
    sunk = (
        "teacher exists: its training not charged" if teacher_exists else "teacher trained for this: charged"
    )
    if loss <= l_t:
        student = None
        why = f"the target is at or below the teacher's loss {l_t:.4g}: a student never reaches its teacher"
    else:
        student = _best_student(student_law, loss, l_t, n_t, teacher_logits, demand)
        why = (
            "no student of the fitted sizes (on a token per parameter or more) reaches the target from "
            "this teacher"
        )
    if student is None:
        rows.append(
            _row(
                DISTIL,
                student_law.id,
                math.nan,
                math.nan,
                loss,
                student_train_flops=math.nan,
                teacher_flops=math.nan,
                inference_flops=math.nan,
                teacher_loss=l_t,
                note=why,
            )
        )
    else:
        n_s, d_s = student
        logits = INFERENCE_FLOPS_PER_PARAM_TOKEN * n_t * d_s * float(teacher_logits)
        rows.append(
            _row(
                DISTIL,
                student_law.id,
                n_s,
                d_s,
                loss,
                teacher_flops=logits + teacher_training,
                inference_flops=serve * n_s,
                teacher_loss=l_t,
                note=sunk + ("; logits charged" if teacher_logits else "; logits stored, not charged"),
            )
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs.update(
        loss_data_set="English C4 (Busbridge et al. 2025)",
        params_meaning="non-embedding parameters",
        formula=SHRINK_OPTIONS.id,
    )
    return frame


def supervised_flops_at_size(
    n_params: float, target_loss: float, student_law: StudentLaw = BUSBRIDGE_STUDENT
) -> float:
    """6·N·D for N parameters trained supervised (Eq. 1) to ``target_loss``: what a distilled student of
    the same size is compared with (inf where that size cannot reach the loss)."""
    d = float(student_law.supervised.tokens_for_loss(n_params, target_loss))
    if not math.isfinite(d):
        return math.inf
    return FLOPS_PER_PARAM_TOKEN * float(n_params) * d
