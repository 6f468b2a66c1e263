"""The Kaplan-Chinchilla reconciliation (engine.analysis.reconcile): the walk's exponents, the N*(C)
curves, and the parameter and FLOP convention converter. Numbers from
shared/reference/laws_serving_compression.md §1-§3 or computed by hand in the test."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.analysis import reconcile, registry
from engine.analysis.reconcile import (
    PEARCE_SONG_STEPS,
    PORIAN_STEPS,
    ConventionError,
    allocation_curves,
    local_exponent,
    nonembedding_from_total,
    pearce_song_allocation,
    pearce_song_total,
    reconciliation_walk,
    total_from_nonembedding,
    training_flops,
)
from engine.cost.flops import Architecture
from engine.errors import FlopwiseError
from engine.laws.chinchilla import CHINCHILLA, CHINCHILLA_EPOCH

PF_DAY = 8.64e19


def curve(df, law_id):
    rows = df[df["law"] == law_id]
    return rows["budget_flops"].to_numpy(), rows["n_params"].to_numpy()


# --- the walk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["RefinedWeb", "OpenWebText2"])
def test_porians_corrections_lower_the_exponent_step_by_step(dataset):
    walk = reconciliation_walk(dataset)
    porian = walk[walk["path"] == "Porian et al. 2024"]["exponent"].to_numpy()
    assert len(porian) == 5
    assert np.all(np.diff(porian) < 0)  # every correction lowers a
    assert 0.73 <= porian[0] <= 0.88  # Kaplan's setup reproduced lands in Kaplan's 0.73-0.88
    assert porian[-1] == pytest.approx(0.5, abs=0.02)  # Chinchilla's ~0.5 after all corrections


def test_the_refinedweb_walk_has_the_authors_numbers():
    walk = reconciliation_walk()
    porian = walk[walk["path"] == "Porian et al. 2024"]
    # reference §2, RefinedWeb column
    assert porian["exponent"].tolist() == [0.835, 0.706, 0.602, 0.571, 0.497]
    assert porian["ci_low"].tolist() == [0.82, 0.69, 0.59, 0.56, 0.49]
    assert porian["ci_high"].tolist() == [0.85, 0.72, 0.62, 0.59, 0.50]
    assert all("from the authors' released data" in s for s in porian["source"])
    assert set(porian["dataset"]) == {"RefinedWeb"}
    assert (porian["ci_low"] <= porian["exponent"]).all() and (porian["exponent"] <= porian["ci_high"]).all()
    start = walk[walk["path"] == "Kaplan et al. 2020"]["exponent"].tolist()
    assert start == [0.73, 0.88]  # Table 6 against C_min; Porian et al.'s plotted Kaplan line
    assert list(walk.columns) == [
        "step",
        "path",
        "exponent",
        "ci_low",
        "ci_high",
        "dataset",
        "source",
        "detail",
    ]


def test_openwebtext2_column():
    porian = reconciliation_walk("OpenWebText2")
    porian = porian[porian["path"] == "Porian et al. 2024"]
    assert porian["exponent"].tolist() == [0.864, 0.699, 0.603, 0.574, 0.518]


def test_the_embedding_count_step():
    walk = reconciliation_walk()
    ps = walk[walk["path"] == "Pearce & Song 2024"]["exponent"].tolist()
    assert ps == [0.78, 0.74, 0.515]  # reference §3
    assert np.all(np.diff(ps) < 0)
    assert len(PEARCE_SONG_STEPS) == 3 and len(PORIAN_STEPS) == 10


def test_an_unknown_dataset_is_named():
    with pytest.raises(ConventionError, match="dataset must be one of RefinedWeb, OpenWebText2, got 'C4'"):
        reconciliation_walk("C4")


def test_pearce_and_songs_local_exponents_from_the_chinchilla_laws():
    # reference §3: Chinchilla's law with N_total = N + 47,491·N^(1/3), N*_non-embedding against
    # C_non-embedding over Kaplan's range 10^12.95-10^20.7 FLOPs: slope 0.78 (Epoch AI), 0.74 (Hoffmann)
    budgets = np.logspace(12.95, 20.7, 120)
    for law, expected in ((CHINCHILLA_EPOCH, 0.78), (CHINCHILLA, 0.74)):
        n = pearce_song_allocation(law, budgets)
        slope = np.polyfit(np.log(budgets), np.log(n), 1)[0]
        assert slope == pytest.approx(expected, abs=0.01), law.id
    # large-N limit beta/(alpha + beta): Epoch's 0.3658/(0.3478 + 0.3658) = 0.5126
    far = np.logspace(34, 38, 9)
    assert local_exponent(pearce_song_allocation(CHINCHILLA_EPOCH, far), far)[-1] == pytest.approx(
        0.3658 / (0.3478 + 0.3658), abs=1e-4
    )


# --- the curves ---------------------------------------------------------------------------------


def test_porians_final_fit_at_the_reference_budgets():
    df = allocation_curves([1e21, 5.88e23])
    _, n = curve(df, "porian-refinedweb")
    assert n[0] == pytest.approx(3.24e9, rel=0.005)  # reference §2
    assert n[1] == pytest.approx(7.70e10, rel=0.005)


def test_kaplans_lines():
    df = allocation_curves([PF_DAY, 10 * PF_DAY, 1e21, 5.76e23])
    _, table6 = curve(df, "kaplan-allocation")
    assert table6[0] == pytest.approx(1.3e9, rel=1e-12)  # 1 PF-day
    assert table6[2] == pytest.approx(7.77e9, rel=1e-3)  # reference §1
    assert table6[3] == pytest.approx(8.04e11, rel=0.01)
    _, line = curve(df, "kaplan-porian-line")
    assert line[0] == pytest.approx(1.6e9, rel=1e-12)
    assert line[1] == pytest.approx(1.6e9 * 7.5858, rel=1e-4)  # 10^0.88 = 7.5858


def test_chinchilla_is_the_registered_law():
    assert registry.get_law("chinchilla") is CHINCHILLA  # the curve's default law
    df = allocation_curves([5.76e23])
    _, n = curve(df, "chinchilla")
    assert n[0] == pytest.approx(3.219e10, rel=0.005)  # Hoffmann's rounded constants at Gopher's budget
    exponent = df[df["law"] == "chinchilla"]["exponent"].iloc[0]
    assert exponent == pytest.approx(0.28 / (0.34 + 0.28), rel=1e-12)  # beta/(alpha + beta), Eq. (4)


def test_every_curves_local_slope_is_its_exponent():
    budgets = np.logspace(18, 26, 33)
    df = allocation_curves(budgets)
    assert list(df.columns) == ["budget_flops", "law", "n_params", "exponent", "label"]
    hand = {
        "kaplan-allocation": 0.73,
        "kaplan-porian-line": 0.88,
        "chinchilla": 0.28 / 0.62,
        "porian-refinedweb": 0.4969,
    }
    assert set(df["law"]) == set(hand)
    for law_id, a in hand.items():
        c, n = curve(df, law_id)
        assert local_exponent(n, c) == pytest.approx(np.full(len(c), a), abs=1e-9), law_id
        assert df[df["law"] == law_id]["exponent"].to_numpy() == pytest.approx(np.full(len(c), a), abs=1e-12)


def test_kaplan_allocates_many_times_chinchillas_parameters_at_large_budgets():
    df = allocation_curves(np.logspace(22, 26, 5))
    _, kaplan = curve(df, "kaplan-allocation")
    _, chinchilla = curve(df, "chinchilla")
    ratio = kaplan / chinchilla
    assert np.all(ratio > 5) and np.all(np.diff(ratio) > 0)  # the gap widens as C^(0.73 - 0.45)


def test_local_exponent_needs_matching_curves():
    with pytest.raises(ConventionError, match="same length"):
        local_exponent([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ConventionError, match="curve_n must be a positive"):
        local_exponent([1.0, -2.0], [1.0, 2.0])
    with pytest.raises(ConventionError, match="budgets_flops must be a positive"):
        allocation_curves([0.0, 1e20])


# --- the converter ------------------------------------------------------------------------------


def test_total_and_non_embedding_parameters():
    # GPT-2's vocabulary and a width of 2048: V·d = 50,257 · 2,048 = 102,926,336
    assert float(total_from_nonembedding(1e9, vocab=50257, d_model=2048)) == 1_102_926_336
    assert float(total_from_nonembedding(1e9, vocab=50257, d_model=2048, tied=False)) == 1_205_852_672
    assert float(nonembedding_from_total(1_102_926_336, vocab=50257, d_model=2048)) == 1e9
    assert float(nonembedding_from_total(1_205_852_672, vocab=50257, d_model=2048, tied=False)) == 1e9
    both = total_from_nonembedding(np.array([1e8, 1e9]), vocab=32000, d_model=np.array([1024, 4096]))
    assert both.tolist() == [1e8 + 32000 * 1024, 1e9 + 32000 * 4096]


def test_a_total_below_the_embedding_is_refused():
    with pytest.raises(
        ConventionError, match=re.escape("n_total 100000000.0 is not above the tied embedding's 102,926,336")
    ):
        nonembedding_from_total(1e8, vocab=50257, d_model=2048)
    with pytest.raises(FlopwiseError, match="vocab must be a positive"):
        total_from_nonembedding(1e9, vocab=0, d_model=2048)


def test_pearce_and_songs_approximation():
    # reference §3: 1e9 -> 1.0475e9; 1e6 -> 5.749e6 (1e6 + 47,491 · 100)
    assert float(pearce_song_total(1e9)) == pytest.approx(1.0475e9, rel=1e-4)
    assert float(pearce_song_total(1e6)) == pytest.approx(5.749e6, rel=1e-4)
    # gamma from V = 32,000 and N = 12·n_layer·d² at d/n_layer = 39.2: V·(39.2/12)^(1/3) = 47,481
    by_hand = 32000 * (39.2 / 12) ** (1 / 3)
    assert by_hand == pytest.approx(47_481, abs=1)
    gamma = reconcile.PEARCE_SONG_GAMMA
    assert gamma == pytest.approx(by_hand, rel=1e-3)


ARCH = Architecture(n_layers=24, d_model=2048, n_heads=16, d_ff=8192, seq_len=1024, vocab_size=50257)


def test_training_flops_three_ways():
    n, d = 1e9, 2e10
    assert float(training_flops(n, d, convention="6ND")) == 1.2e20  # 6 · 1e9 · 2e10
    # Kaplan Eq. (2.2) x 3: 6N + 6·n_layer·n_ctx·d_attn = 6e9 + 6·24·1024·2048 = 6e9 + 301,989,888 per token
    assert float(training_flops(n, d, convention="kaplan-attention", arch=ARCH)) == pytest.approx(
        (6e9 + 301_989_888) * 2e10, rel=1e-12
    )
    # Porian's count with the head: 6·(N + V·d) = 6·(1e9 + 102,926,336) per token
    assert float(training_flops(n, d, convention="with-last-layer", arch=ARCH)) == pytest.approx(
        6 * 1_102_926_336 * 2e10, rel=1e-12
    )
    assert float(training_flops(n, d, convention="with-last-layer", arch=ARCH, vocab=32000)) == pytest.approx(
        6 * (1e9 + 32000 * 2048) * 2e10, rel=1e-12
    )


def test_kaplans_context_term_is_small_when_the_model_is_wide():
    # Kaplan §2.1: with N = 12·n_layer·d², the context term is n_ctx/(12·d_model) of 6N:
    # 1024 / (12 · 2048) = 4.17%
    n = 12 * ARCH.n_layers * ARCH.d_model**2
    ratio = training_flops(n, 1e9, convention="kaplan-attention", arch=ARCH) / training_flops(
        n, 1e9, convention="6ND"
    )
    assert float(ratio) == pytest.approx(1 + 1024 / (12 * 2048), rel=1e-12)


def test_flop_conventions_refuse_what_they_cannot_count():
    with pytest.raises(ConventionError, match="needs arch"):
        training_flops(1e9, 1e10, convention="with-last-layer")
    with pytest.raises(ConventionError, match="convention must be one of 6ND, kaplan-attention"):
        training_flops(1e9, 1e10, convention="chinchilla")
    with pytest.raises(ConventionError, match="tokens must be a positive"):
        training_flops(1e9, -1.0, convention="6ND")


def test_the_formulas_are_registered_and_written_from_the_data():
    assert reconcile.RECONCILIATION in registry.ALLOCATION_RULES
    assert reconcile.PARAMETER_CONVENTIONS in registry.COST_MODELS
    words = " ".join(reconcile.RECONCILIATION.assumptions)
    assert all(f"{a:.3g}" in words for a in (0.835, 0.706, 0.602, 0.571, 0.497, 0.78, 0.74, 0.515))
    assert "47,491" in " ".join(symbol + meaning for symbol, meaning in reconcile.RECONCILIATION.inputs)
    assert reconcile.RECONCILIATION.verified and reconcile.PARAMETER_CONVENTIONS.verified


def test_one_model_in_every_convention_by_hand():
    """A 6.7 B-parameter total (LLaMA-7B-like: V 32,000, d 4,096, 32 layers, 2,048 context, tied)
    on 140 B tokens."""
    arch = Architecture(n_layers=32, d_model=4096, n_heads=32, d_ff=16384, vocab_size=32_000, seq_len=2048)
    params, flops = reconcile.convention_table(6.7e9, 1.4e11, counted="total", arch=arch)
    nonemb = 6.7e9 - 32_000 * 4096  # 6,568,928,000
    assert params["value"].tolist() == pytest.approx([nonemb, 6.7e9, nonemb + 47_491 * nonemb ** (1 / 3)])
    attention = 6 * 32 * 2048 * 4096  # 6·n_layer·n_ctx·d_attn per token
    assert flops["value"].tolist() == pytest.approx(
        [6 * nonemb * 1.4e11, (6 * nonemb + attention) * 1.4e11, 6 * 6.7e9 * 1.4e11]
    )
    untied = Architecture(n_layers=32, d_model=4096, n_heads=32, d_ff=16384, tied_embeddings=False)
    params, _ = reconcile.convention_table(nonemb, 1.4e11, counted="non-embedding", arch=untied)
    assert params["value"][1] == pytest.approx(nonemb + 2 * 32_000 * 4096)
    with pytest.raises(reconcile.ConventionError, match="counted"):
        reconcile.convention_table(1e9, 1e10, counted="active", arch=arch)
