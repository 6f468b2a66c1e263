"""Busbridge et al. 2025's supervised and distillation laws against the worked numbers of
shared/reference/laws_serving_compression.md §9 (Eq. 1, Eq. 8, Eq. 9)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import registry
from engine.errors import LawError
from engine.laws.distillation import (
    BUSBRIDGE_STUDENT,
    BUSBRIDGE_SUPERVISED,
    DISTILLATION_COMPUTE,
    FITTED_PARAMS,
    distillation_flops,
)

SUPERVISED, STUDENT = BUSBRIDGE_SUPERVISED, BUSBRIDGE_STUDENT


def test_supervised_worked_value():
    assert float(SUPERVISED.loss(1e9, 2e10)) == pytest.approx(2.3747, abs=5e-5)


@pytest.mark.parametrize(("teacher_loss", "expected"), [(1.9, 2.2643), (2.2, 2.3170), (2.8, 2.8000)])
def test_student_worked_values(teacher_loss, expected):
    assert float(STUDENT.loss(1e9, 2e10, teacher_loss=teacher_loss)) == pytest.approx(expected, abs=5e-5)


def test_tokens_for_a_loss_invert_the_worked_values():
    assert float(SUPERVISED.tokens_for_loss(1e9, 2.3746922)) == pytest.approx(2e10, rel=1e-5)
    assert float(STUDENT.tokens_for_loss(1e9, 2.2642815, 1.9)) == pytest.approx(2e10, rel=1e-5)
    # a student too small for the loss at any D: 143M parameters cannot reach 2.0 supervised
    assert np.isinf(SUPERVISED.tokens_for_loss(1.43e8, 2.0))


def test_a_student_never_reaches_its_teacher():
    n = np.logspace(8, 10.2, 12)[:, None]
    d = np.logspace(9, 12, 12)[None, :]
    for teacher in (1.8, 2.0, 2.4):
        assert np.all(STUDENT.loss(n, d, teacher_loss=teacher) > teacher)
    # a teacher worse than the student would be on its own: the student sits at the teacher's loss
    # (the bracket of Eq. 8 vanishes, below double precision here), never below it
    weak = STUDENT.loss(n, d, teacher_loss=3.0)
    assert np.all(weak >= 3.0) and float(weak.max() - 3.0) < 0.07


def test_distillation_wins_on_few_tokens_and_supervised_on_many():
    # the paper's conclusion: distillation beats supervised learning only up to a token budget that
    # grows with the student (here N_S 1e9, a strong teacher L_T 1.9)
    few, many = 2e10, 1e13
    assert float(STUDENT.loss(1e9, few, teacher_loss=1.9)) < float(SUPERVISED.loss(1e9, few))
    assert float(STUDENT.loss(1e9, many, teacher_loss=1.9)) > float(SUPERVISED.loss(1e9, many))


def test_supervised_optimum_is_the_chinchilla_frontier_of_its_core():
    # gamma > 0: the argmin of E + (A/N^α + B/D^β)^γ on C = 6ND is that of A/N^α + B/D^β (Hoffmann Eq. 4)
    a_, b_, alpha, beta = 3355.0, 18186.0, 0.408, 0.431
    c = 1e21
    g = (alpha * a_ / (beta * b_)) ** (1 / (alpha + beta))
    n_star = g * (c / 6) ** (beta / (alpha + beta))
    alloc = SUPERVISED.optimal(c)
    assert float(alloc.n_params) == pytest.approx(n_star, rel=1e-10)
    assert float(alloc.loss) == pytest.approx(float(SUPERVISED.loss(n_star, c / (6 * n_star))), rel=1e-12)
    back = SUPERVISED.target(float(alloc.loss))
    assert float(back.flops) == pytest.approx(c, rel=1e-9)


def test_student_optimum_and_target():
    c = 1e21
    alloc = STUDENT.optimal(c, teacher_loss=1.9)
    n, d = float(alloc.n_params), float(alloc.n_tokens)
    assert 6 * n * d == pytest.approx(c, rel=1e-9)
    assert FITTED_PARAMS[0] <= n <= FITTED_PARAMS[1] and d >= n  # searched within the fitted sizes
    assert float(STUDENT.target(float(alloc.loss), teacher_loss=1.9).flops) == pytest.approx(c, rel=1e-5)
    with pytest.raises(LawError, match="never"):
        STUDENT.target(1.85, teacher_loss=1.9)


def test_student_needs_a_teacher_loss():
    with pytest.raises(LawError, match="teacher_loss"):
        STUDENT.loss(1e9, 2e10)
    with pytest.raises(LawError, match="teacher_loss"):
        STUDENT.loss(1e9, 2e10, teacher_loss=-1.0)


def test_distillation_compute_by_hand():
    # Eq. 9 with F(N) = 2N: 3·2·1e9·2e10 = 1.2e20 student; logits 2·7e9·2e10 = 2.8e20; teacher
    # training 3·2·7e9·1e12 = 4.2e22
    assert float(distillation_flops(1e9, 2e10, 7e9, 1e12)) == pytest.approx(4.0e20)
    assert float(distillation_flops(1e9, 2e10, 7e9, 1e12, teacher_training=True)) == pytest.approx(
        4.0e20 + 4.2e22
    )
    assert float(distillation_flops(1e9, 2e10, 7e9, teacher_logits=False)) == pytest.approx(1.2e20)
    assert "App. H" in " ".join(DISTILLATION_COMPUTE.assumptions)  # the F(N) simplification is stated


def test_registered_where_each_belongs():
    assert registry.LAWS[SUPERVISED.id] is SUPERVISED
    assert STUDENT.id not in registry.LAWS and STUDENT in registry.COMPRESSION_LAWS
    for law in (SUPERVISED, STUDENT):
        assert law.info.verified and "non-embedding" in law.info.conventions and "C4" in law.info.conventions
