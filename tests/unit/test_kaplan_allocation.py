"""Kaplan et al. 2020's compute-efficient allocation (Table 6) as the law kaplan-allocation, and the
note on the Eq. (1.5) derivation the law kaplan gives. Numbers from
shared/reference/laws_serving_compression.md §1 ([V]) or computed by hand here."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from engine.analysis.registry import get_law, has_compute_optimum
from engine.errors import LawError
from engine.paths import REPO_ROOT

PF_DAY = 1e15 * 24 * 3600  # Kaplan §1.3: one PF-day = 8.64e19 FLOP


def cli_json(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "engine", *args, "--json"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_cli_gives_table_6_at_gophers_budget():
    # reference §1: C = 5.76e23 FLOP = 6,666.67 PF-days read as C_min -> N_opt = 8.04e11, D_opt = 2.16e11
    result = cli_json("optimal", "--law", "kaplan-allocation", "--flops", "5.76e23")
    assert result["n_params"] == pytest.approx(8.04e11, rel=0.01)
    assert result["c_min_pf_days"] == pytest.approx(6666.67, rel=1e-6)
    assert result["n_tokens_table6"] == pytest.approx(2.16e11, rel=0.01)
    # the budget is spent on the 6ND line: D = C / (6N) = 5.76e23 / (6 · 8.0426e11) = 1.194e11
    assert result["n_tokens"] == pytest.approx(5.76e23 / (6 * 8.0426e11), rel=1e-3)
    assert "Table 6" in result["note"] and "Eq. (1.5)" in result["note"]


@pytest.mark.parametrize(
    ("flops", "n_expected", "rel"),
    [
        (PF_DAY, 1.3e9, 1e-12),  # C = 1 PF-day: N_opt = 1.3e9 exactly
        (1e21, 7.77e9, 1e-3),  # reference §1
        # by hand: 1e23 / 8.64e19 = 1157.41 PF-days; 0.73 · ln 1157.41 = 5.1496; e^5.1496 = 172.4
        (1e23, 1.3e9 * 172.4, 1e-3),
    ],
)
def test_table_6_at_three_budgets(flops, n_expected, rel):
    alloc = get_law("kaplan-allocation").optimal(flops)
    assert float(alloc.n_params) == pytest.approx(n_expected, rel=rel)


def test_the_exponent_is_073_on_a_log_log_slope():
    budgets = np.logspace(17, 25, 9)
    n = get_law("kaplan-allocation").optimal(budgets).n_params
    slope = np.polyfit(np.log10(budgets), np.log10(n), 1)[0]
    assert slope == pytest.approx(0.73, abs=1e-9)
    # and D = C/(6N) then grows as C^(1 - 0.73) = C^0.27, Table 6's own D exponent
    d = get_law("kaplan-allocation").optimal(budgets).n_tokens
    assert np.polyfit(np.log10(budgets), np.log10(d), 1)[0] == pytest.approx(0.27, abs=1e-9)


def test_table_6s_own_tokens_do_not_spend_the_budget():
    # 6 · 1.3e9 · 2e10 = 1.56e20 FLOPs = 1.806 PF-days at C_min = 1 PF-day, at every budget (0.73 + 0.27 = 1)
    for flops in (PF_DAY, 1e22, 1e25):
        extras = get_law("kaplan-allocation").optimal(flops).scalar()
        spent = 6 * extras["n_params"] * extras["n_tokens_table6"]
        assert spent / flops == pytest.approx(6 * 1.3e9 * 2e10 / 8.64e19, rel=1e-9)
        assert spent / flops == pytest.approx(1.806, abs=1e-3)


def test_the_loss_is_eq_15_at_the_allocation():
    law = get_law("kaplan-allocation")
    alloc = law.optimal(1e21).scalar()
    n, d = alloc["n_params"], alloc["n_tokens"]
    # Eq. (1.5) by hand, Table 2: [(6.4e13/N)^(0.076/0.103) + 1.8e13/D]^0.103
    by_hand = ((6.4e13 / n) ** (0.076 / 0.103) + 1.8e13 / d) ** 0.103
    assert alloc["loss"] == pytest.approx(by_hand, rel=1e-12)
    # reference fixture of Eq. (1.5): L(N = 1e9, D = 2e10) = 2.3739
    assert float(law.loss(1e9, 2e10)) == pytest.approx(2.3739, abs=1e-4)


def test_the_allocation_is_not_the_minimum_of_eq_15_and_says_so():
    # why the isoFLOP property is skipped for this law: at 5.76e23 Eq. (1.5)'s own optimum (the law
    # kaplan, N* ∝ C^0.575) has a lower Eq. (1.5) loss than Table 6's point on the same budget
    table6, eq15 = get_law("kaplan-allocation"), get_law("kaplan")
    assert not table6.info.optimum_minimises_loss and eq15.info.optimum_minimises_loss
    assert float(eq15.optimal(5.76e23).loss) < float(table6.optimal(5.76e23).loss)
    assert has_compute_optimum(table6)


def test_target_is_the_least_budget_reaching_a_loss():
    law = get_law("kaplan-allocation")
    loss = float(law.optimal(3e22).loss)
    back = law.target(loss)
    assert float(back.flops) == pytest.approx(3e22, rel=1e-6)
    assert float(law.optimal(float(back.flops) * 0.99).loss) > loss  # less compute does not reach it


def test_metadata_states_the_conventions():
    info = get_law("kaplan-allocation").info
    assert info.verified and info.compute_model == "C = 6·N·D"
    assert "non-embedding" in info.conventions and "does not" in info.conventions
    assert "Table 6" in info.source_detail and "8.64e19" in info.source_detail
    assert "PF-days" in info.valid_range


def test_kaplans_eq_15_optimum_keeps_its_number_and_carries_a_note():
    result = cli_json("optimal", "--law", "kaplan", "--flops", "5.76e23")
    # the number: minimising Eq. (1.5) along C = 6ND gives 241.5e9 at 5.76e23
    assert result["n_params"] == pytest.approx(241.5e9, rel=0.005)
    assert "Eq. (1.5)" in result["note"] and "kaplan-allocation" in result["note"]
    assert "0.575" in result["note"]  # 1/(1 + 0.076/0.103) = 0.5754
    assert math.isclose(1 / (1 + 0.076 / 0.103), 0.5754, abs_tol=1e-4)


def test_bad_constants_have_no_allocation():
    law = get_law("kaplan-allocation").with_constants(a_N=1.2)
    assert "between 0 and 1" in (law.optimum_problem() or "")
    with pytest.raises(LawError, match=r"a_N = 1\.2"):
        law.optimal(1e21)
    with pytest.raises(LawError, match="flops must be a positive"):
        get_law("kaplan-allocation").optimal(-1.0)
