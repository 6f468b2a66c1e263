"""FLOP and parameter counting (Kaplan Table 1, Hoffmann App. F / Table A4)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.cost.flops import (
    Architecture,
    chinchilla_training_flops_per_token,
    flops_6nd,
    kaplan_training_flops_per_token,
    non_embedding_params,
    total_params,
)
from engine.paths import REPO_ROOT

A9 = pd.read_csv(REPO_ROOT / "datasets" / "hoffmann2022_table_a9_architectures.csv").set_index("params")


def a9_arch(params: int) -> Architecture:
    row = A9.loc[params]
    return Architecture(
        n_layers=int(row.n_layers),
        d_model=int(row.d_model),
        n_heads=int(row.n_heads),
        d_ff=int(row.ffw_size),
        d_head=int(row.kv_size),
        vocab_size=32_000,
        seq_len=2048,
    )


# Table A4: ratio of the App. F count to 6ND, for these Table A9 shapes (73M is A9's 74M row).
TABLE_A4 = [
    (74_000_000, 1.03),
    (306_000_000, 1.10),
    (552_000_000, 1.08),
    (1_143_000_000, 1.04),
    (1_593_000_000, 1.03),
    (6_796_000_000, 0.99),
]


@pytest.mark.parametrize(("params", "ratio"), TABLE_A4)
def test_appendix_f_count_reproduces_table_a4(params, ratio):
    # Table A4 is reproduced without the embedding and logit terms (nanoGPT's finding).
    arch = a9_arch(params)
    ours = chinchilla_training_flops_per_token(arch, include_embeddings=False)
    assert ours / (6 * params) == pytest.approx(ratio, abs=0.015)


def test_appendix_f_with_embeddings_counts_more():
    arch = a9_arch(74_000_000)
    with_emb = chinchilla_training_flops_per_token(arch, include_embeddings=True)
    without = chinchilla_training_flops_per_token(arch, include_embeddings=False)
    assert with_emb - without == pytest.approx(3 * 2 * 2 * 32_000 * 640)  # 3 x (embed + logits)


def test_kaplan_parameter_count_is_12_layers_d_model_squared():
    arch = Architecture(n_layers=24, d_model=1024, n_heads=16, d_ff=4096, seq_len=1024)
    assert non_embedding_params(arch) == 12 * 24 * 1024**2


def test_kaplan_training_flops_add_the_context_term():
    arch = Architecture(n_layers=24, d_model=1024, n_heads=16, d_ff=4096, seq_len=1024)
    n = non_embedding_params(arch)
    assert kaplan_training_flops_per_token(arch) == 6 * n + 6 * 24 * 1024 * 1024


def test_grouped_query_attention_shrinks_kv_projections():
    mha = Architecture(n_layers=32, d_model=4096, n_heads=32, d_ff=11008, gated_mlp=True)
    gqa = Architecture(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=11008, gated_mlp=True)
    saved = non_embedding_params(mha) - non_embedding_params(gqa)
    assert saved == 32 * 2 * 4096 * (32 - 8) * 128


def test_llama2_7b_shape_counts_6_7_billion_parameters():
    arch = Architecture(
        n_layers=32,
        d_model=4096,
        n_heads=32,
        d_ff=11008,
        gated_mlp=True,
        vocab_size=32_000,
        tied_embeddings=False,
    )
    assert total_params(arch) == pytest.approx(6.74e9, rel=0.005)


def test_6nd():
    assert float(flops_6nd(70e9, 1.4e12)) == pytest.approx(5.88e23)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="d_model must be a positive"):
        Architecture(n_layers=2, d_model=0, n_heads=1, d_ff=4)
    with pytest.raises(ValueError, match="not a multiple"):
        Architecture(n_layers=2, d_model=64, n_heads=8, n_kv_heads=3, d_ff=256)
