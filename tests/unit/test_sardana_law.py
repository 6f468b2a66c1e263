"""The law sardana2024: the Chinchilla form with Sardana et al.'s code constants, selectable from the
CLI, reproducing their Figure 1 and the reference's worked numbers
(shared/reference/laws_serving_compression.md §7, [V code, V-run])."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.analysis.registry import LAWS, get_law
from engine.laws.chinchilla import ChinchillaLaw
from engine.paths import REPO_ROOT

E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.336, 0.283  # the authors' utils.ChinchillaConstants


def lifetime(loss: float, inference_tokens: float) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "lifetime",
            "--law",
            "sardana2024",
            "--loss",
            repr(loss),
            "--inference-tokens",
            repr(inference_tokens),
            "--json",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def saved(result: dict) -> float:
    return 1.0 - result["flops_total"] / result["chinchilla"]["flops_total"]


def chinchilla_optimal_loss(n_params: float) -> float:
    """By hand: at the compute optimum B/D^beta = (alpha/beta)·A/N^alpha (Hoffmann Eq. 4), so the loss
    of the Chinchilla-optimal model of N parameters is E + A·(alpha/beta + 1)/N^alpha."""
    return E + A * (ALPHA / BETA + 1) / n_params**ALPHA


def test_the_law_carries_the_authors_constants():
    law = get_law("sardana2024")
    assert isinstance(law, ChinchillaLaw) and "sardana2024" in LAWS
    assert law.parameters == {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283}
    info = law.info
    assert info.verified and "2401.00448" in info.citation and info.url == "https://arxiv.org/abs/2401.00448"
    assert "beyond-chinchilla" in info.source_detail
    assert "6·N·D" in info.conventions and "2·N" in info.conventions


def test_figure_1_through_the_cli():
    # Figure 1: the 13B Chinchilla-optimal model's loss, 2e12 inference tokens -> 7B, 17% saved
    assert chinchilla_optimal_loss(13e9) == pytest.approx(2.045282, abs=1e-6)
    result = lifetime(2.045282, 2e12)
    assert result["n_params"] == pytest.approx(6.969e9, rel=0.005)
    assert result["n_tokens"] == pytest.approx(1.248e12, rel=0.005)
    assert abs(saved(result) - 0.174) <= 0.001  # 17.4% of lifetime FLOPs, ±0.1 percentage point
    assert result["chinchilla"]["n_params"] == pytest.approx(13e9, rel=1e-4)
    assert result["chinchilla"]["flops_total"] == pytest.approx(9.697e22, rel=0.001)
    assert result["flops_total"] == pytest.approx(8.005e22, rel=0.001)


def test_a_lower_loss_with_the_same_demand():
    # reference §7: loss 1.947 with 2e12 inference tokens -> N 2.418e10, 95.22% of the Chinchilla FLOPs
    result = lifetime(1.947, 2e12)
    assert result["n_params"] == pytest.approx(2.418e10, rel=0.005)
    assert result["flops_total"] / result["chinchilla"]["flops_total"] == pytest.approx(0.9522, abs=0.0005)


def test_a_7b_model_served_1e13_tokens():
    # reference §7: the 7B Chinchilla-style model with 1e13 inference tokens -> N 2.050e9, 56.6% saved
    loss = chinchilla_optimal_loss(7e9)
    result = lifetime(loss, 1e13)
    assert result["chinchilla"]["n_params"] == pytest.approx(7e9, rel=1e-4)
    assert result["n_params"] == pytest.approx(2.050e9, rel=0.005)
    assert saved(result) == pytest.approx(0.566, abs=0.001)


def test_hoffmanns_printed_exponents_give_a_different_answer():
    # the law chinchilla (alpha 0.34, beta 0.28) at its own 13B optimum's loss: 8.02e9 and 10.1% (issue 14)
    chinchilla = get_law("chinchilla").constants
    loss = chinchilla.E + chinchilla.A * (chinchilla.alpha / chinchilla.beta + 1) / 13e9**chinchilla.alpha
    out = subprocess.run(
        [
            *(sys.executable, "-m", "engine", "lifetime", "--law", "chinchilla"),
            *("--loss", repr(loss), "--inference-tokens", "2e12", "--json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    assert result["n_params"] == pytest.approx(8.02e9, rel=0.005)
    assert saved(result) == pytest.approx(0.101, abs=0.001)
