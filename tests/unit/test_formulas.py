"""The engine's descriptions of its formulas (engine.formula.Formula, the Methodology registry):
complete, generated from the code's constants, and true to the code they describe."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.analysis import registry
from engine.cost import inference
from engine.cost.hardware import DEFAULT_LIFETIME_YEARS, DRAM_KG_PER_GB, load_catalog
from engine.laws.chinchilla import frontier_exponents
from engine.laws.precision import DEFAULT_BLOCK_SIZE, SCALE_BITS, kbit_weight_bytes

H100 = load_catalog()["h100-sxm"]
ALL_LATEX = (
    [law.info.equation for law in registry.LAWS.values()]
    + [law.info.equation for law in registry.HYPERPARAM_LAWS]
    + [f.latex for f in registry.FORMULAS.values()]
)


def test_every_formula_is_described_in_full():
    formulas = [*registry.ALLOCATION_RULES, *registry.COST_MODELS]
    assert len({f.id for f in formulas}) == len(formulas) == len(registry.FORMULAS)
    assert not set(registry.FORMULAS) & set(registry.LAWS)  # one id space for the Methodology page
    for f in formulas:
        assert f.title and f.latex and f.citation and f.url.startswith("https://"), f.id
        assert f.inputs and all(symbol and meaning for symbol, meaning in f.inputs), f.id
        assert len(set(f.symbols)) == len(f.symbols), f.id
        assert f.assumptions, f.id


@pytest.mark.parametrize("latex", ALL_LATEX)
def test_every_latex_string_is_balanced(latex):
    # what KaTeX would refuse: unbalanced braces, \left without \right, \begin without \end
    assert latex.count("{") - latex.count("\\{") == latex.count("}") - latex.count("\\}")
    assert len(re.findall(r"\\left\b", latex)) == len(re.findall(r"\\right\b", latex))
    assert re.findall(r"\\begin\{(\w+)\}", latex) == re.findall(r"\\end\{(\w+)\}", latex)


def test_the_serving_assumptions_are_written_from_the_codes_constants():
    words = " ".join(inference.SERVING_ROOFLINE.assumptions)
    assert f"{inference.DEFAULT_SEQ_LEN:,} tokens" in words
    assert (
        f"{inference.DEFAULT_KV_HEADS} KV heads" in words
        and f"heads of {inference.DEFAULT_HEAD_DIM}" in words
    )
    footprint = " ".join(registry.TRAINING_FOOTPRINT.assumptions)
    assert (
        f"{DRAM_KG_PER_GB:g} kg CO2e per GB" in footprint and f"{DEFAULT_LIFETIME_YEARS:g}-year" in footprint
    )
    assert f"{DRAM_KG_PER_GB:g}\\, M" in registry.TRAINING_FOOTPRINT.latex
    memory = " ".join(registry.FORMULAS["kbit-weight-memory"].assumptions)
    assert f"{SCALE_BITS:g}-bit scale per block of {DEFAULT_BLOCK_SIZE}" in memory
    assert float(kbit_weight_bytes(1e9, 4)) == 1e9 * (4 + SCALE_BITS / DEFAULT_BLOCK_SIZE) / 8


@pytest.mark.parametrize("n_params", np.logspace(9, 13, 9))
def test_the_default_shape_has_the_default_kv_heads(n_params):
    # what the serving caption and the roofline's assumptions say: grouped-query with 8 KV heads
    arch = inference.default_architecture(n_params)
    assert arch.kv_heads == inference.DEFAULT_KV_HEADS and arch.n_heads % arch.kv_heads == 0
    assert arch.head_dim == inference.DEFAULT_HEAD_DIM and arch.seq_len == inference.DEFAULT_SEQ_LEN
    assert f"{inference.DEFAULT_KV_HEADS} KV heads of {inference.DEFAULT_HEAD_DIM}" in inference.shape_words(
        arch
    )


def test_a_small_model_has_one_kv_head_per_query_head():
    arch = inference.default_architecture(1e8)  # d_model 1,024: 8 heads
    assert arch.kv_heads == arch.n_heads <= inference.DEFAULT_KV_HEADS


def test_the_estimate_records_the_shape_and_context_it_assumed():
    est = inference.estimate(7e9, H100)
    assert est.shape_assumed and est.architecture == inference.default_architecture(7e9)
    assert est.context_tokens == inference.DEFAULT_SEQ_LEN
    arch = est.architecture
    assert (
        est.kv_cache_bytes
        == 2 * arch.n_layers * arch.kv_heads * arch.head_dim * inference.DEFAULT_SEQ_LEN * 2
    )
    given = inference.estimate(7e9, H100, arch=arch, context=1024)
    assert not given.shape_assumed and given.context_tokens == 1024


def test_the_frontier_exponents_are_computed_in_one_place():
    a, b = frontier_exponents(0.34, 0.28)
    assert a == pytest.approx(0.28 / 0.62) and a + b == pytest.approx(1.0) and isinstance(a, float)
    law = registry.LAWS["chinchilla-epoch"]
    assert law.exponent_n_opt == frontier_exponents(law.constants.alpha, law.constants.beta)[0]
    samples = np.array([[1.8, 400, 900, 0.3, 0.3], [1.8, 400, 900, 0.4, 0.2]])
    a_s, b_s = frontier_exponents(samples[:, 3], samples[:, 4])
    assert a_s.tolist() == pytest.approx([0.5, 1 / 3]) and (a_s + b_s).tolist() == pytest.approx([1.0, 1.0])


def test_an_entry_matches_every_word_ignoring_case():
    sections = registry.methodology()
    entries = [e for _, es in sections for e in es]
    assert len(entries) == (
        len(registry.LAWS)
        + len(registry.HYPERPARAM_LAWS)
        + len(registry.FORMULAS)
        + len(registry.COMPRESSION_LAWS)
        + len(registry.COMPRESSION_FORMULAS)
    )
    kaplan = next(e for e in entries if e.id == "kaplan")
    assert kaplan.matches("") and kaplan.matches("KAPLAN webtext2") and not kaplan.matches("kaplan dolma")
    assert kaplan.matches("α_N")  # constants are searchable by their symbols
    found = registry.search(sections, "Muennighoff EPOCHS")
    assert [e.id for _, es in found for e in es] == ["data-constrained"]
    assert registry.search(sections, "no such thing at all") == []


def test_constants_are_labelled_with_their_symbols():
    assert registry.constant_label("alpha") == "α (alpha)" and registry.constant_label("E") == "E"
    assert registry.constant_label("R_star_D") == "R*_D (R_star_D)"
    step = registry.law_entry(registry.HYPERPARAM_LAWS[0])
    assert [name for name, _ in step.constants][:3] == [
        "a (lr_coefficient)",
        "p (lr_exponent_n)",
        "q (lr_exponent_d)",
    ]
