"""Gadre et al. 2024's over-training laws against the worked numbers of
shared/reference/laws_serving_compression.md §10 (constants recomputed with the authors' fit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis import registry
from engine.cost.lifetime import lifetime_optimum
from engine.laws.overtraining import (
    FITS,
    GADRE_C4,
    GADRE_REDPAJAMA,
    GADRE_REFINEDWEB,
    downstream_error,
)


def test_redpajama_predicts_the_released_14b_run_at_m_640():
    n = 1.4398e9
    assert float(GADRE_REDPAJAMA.loss(n, 640 * n)) == pytest.approx(2.5198, abs=5e-5)
    assert float(GADRE_REDPAJAMA.loss(n, 640 * n)) == pytest.approx(2.5021, abs=0.02)  # measured


@pytest.mark.parametrize(("law", "expected"), [(GADRE_REDPAJAMA, 2.6051), (GADRE_C4, 2.4611)])
def test_loss_at_compute_and_multiplier_worked_values(law, expected):
    assert float(law.loss_at(1e21, 20)) == pytest.approx(expected, abs=5e-5)


def test_the_codes_form_maps_onto_chinchillas_by_hand():
    # L = alpha_c·N^b + beta_c·6^(b/2)·(M·N)^b + E  ->  A = alpha_c, B = beta_c·6^(b/2), alpha = beta = -b
    alpha_c, beta_c, b, e = 113.6926, 189.5155, -0.242472, 1.508261  # C4, reference §10
    k = GADRE_C4.constants
    assert (k.A, k.alpha, k.beta, k.E) == pytest.approx((alpha_c, -b, -b, e))
    assert k.B / (beta_c * 6 ** (b / 2)) == pytest.approx(1.0, abs=1e-12)
    a_paper, b_paper = GADRE_C4.coefficients()
    assert a_paper == pytest.approx(141.2773, abs=5e-4) and b_paper == pytest.approx(beta_c)
    n, m = 3e8, 80.0
    code_form = alpha_c * n**b + beta_c * 6 ** (b / 2) * (m * n) ** b + e
    assert float(GADRE_C4.loss(n, m * n)) == pytest.approx(code_form, rel=1e-12)
    assert float(GADRE_C4.loss_at(6 * n * m * n, m)) == pytest.approx(code_form, rel=1e-12)


@pytest.mark.parametrize("train_set", ["c4", "redpajama", "refinedweb"])
def test_eta_matches_the_reference(train_set):
    expected = {"c4": 0.121236, "redpajama": 0.136425, "refinedweb": 0.127197}[train_set]
    assert FITS[train_set].eta == pytest.approx(expected, abs=1e-6)


def test_equal_exponents_give_a_square_root_frontier():
    small, large = GADRE_REFINEDWEB.optimal(1e20), GADRE_REFINEDWEB.optimal(1e22)
    assert float(large.n_params / small.n_params) == pytest.approx(10.0, rel=1e-9)
    assert float(large.n_tokens / small.n_tokens) == pytest.approx(10.0, rel=1e-9)


def test_the_compute_optimal_multiplier_by_hand():
    # alpha = beta: M* = D*/N* = (B/A)^(1/alpha) with B = beta_c·6^(b/2), at every budget (C4 ≈ 3.36)
    m_star = (189.5155 * 6 ** (-0.242472 / 2) / 113.6926) ** (1 / 0.242472)
    for c in (1e19, 1e23):
        assert float(GADRE_C4.optimal(c).tokens_per_param) == pytest.approx(m_star, rel=1e-9)
    assert f"{m_star:.1f} tokens per parameter" in GADRE_C4.info.notes


def test_over_training_costs_loss_at_fixed_compute():
    # at fixed C, moving away from the optimal multiplier raises L(C, M) on both sides
    c = 1e21
    best = GADRE_C4.optimal(c)
    m_star = float(best.tokens_per_param)
    for m in (m_star / 8, m_star / 2, m_star * 2, m_star * 32):
        assert float(GADRE_C4.loss_at(c, m)) > float(best.loss)


def test_downstream_error_worked_value_and_direction():
    assert float(downstream_error(2.5)) == pytest.approx(0.4873, abs=5e-5)
    errors = downstream_error(np.array([2.2, 2.5, 3.0, 3.5]))
    assert np.all(np.diff(errors) > 0)  # lower loss, lower error
    by_hand = 0.856992 - 2.20649 * math.exp(-0.714591 * 3.0)
    assert float(errors[2]) == pytest.approx(by_hand, rel=1e-12)


def test_the_inference_aware_optimum_applies():
    plain = lifetime_optimum(GADRE_C4, 2.6, 0.0)
    served = lifetime_optimum(GADRE_C4, 2.6, 1e12)
    assert plain.saving_fraction == pytest.approx(0.0, abs=1e-12)
    assert served.n_params < plain.n_params and served.saving_fraction > 0


def test_registered_with_their_conventions():
    for law in (GADRE_C4, GADRE_REDPAJAMA, GADRE_REFINEDWEB):
        assert registry.LAWS[law.id] is law and law.info.verified
        words = law.info.conventions
        assert "including untied input and output embeddings" in words and "C4 validation" in words
