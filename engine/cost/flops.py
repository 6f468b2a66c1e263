"""Parameter and FLOP counting from a decoder-only Transformer's shape.

Three training-FLOP counts, all per training token unless noted:

* ``flops_6nd``: C = 6·N·D (Kaplan et al. 2020 §2.1): 2 FLOPs per multiply-accumulate, backward
  pass twice the forward.
* ``kaplan_training_flops_per_token``: 3 × (2·N + 2·n_layer·n_ctx·d_attn), Kaplan Table 1 /
  Eq. (2.2), with the attention-context term (N = non-embedding parameters).
* ``chinchilla_training_flops_per_sequence``: Hoffmann et al. 2022 App. F, counting embeddings,
  QKV, logits, softmax, attention output, dense block and final logits; training = 3 × forward.
  Table A4 reports the ratio of this count to 6·N·D. Reproducing Table A4 requires leaving out
  the embedding and final-logit terms (karpathy/nanoGPT ``scaling_laws.ipynb``, "per author
  correspondence ... typo in the paper"); ``include_embeddings`` selects either reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import FlopwiseError, positive


class ArchitectureError(FlopwiseError, ValueError):
    """An impossible Transformer shape (a non-positive width, heads that do not divide), named."""


@dataclass(frozen=True)
class Architecture:
    """A decoder-only Transformer. ``d_head`` defaults to d_model / n_heads; ``n_kv_heads``
    to n_heads (multi-head attention; fewer means grouped-query, 1 multi-query)."""

    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    vocab_size: int = 32_000
    seq_len: int = 2048
    n_kv_heads: int | None = None
    d_head: int | None = None
    gated_mlp: bool = False  # SwiGLU-style: three d_model×d_ff matrices instead of two
    tied_embeddings: bool = True

    def __post_init__(self) -> None:
        for name in (
            "n_layers",
            "d_model",
            "n_heads",
            "d_ff",
            "vocab_size",
            "seq_len",
            "n_kv_heads",
            "d_head",
        ):
            value = getattr(self, name)
            if value is not None or name not in ("n_kv_heads", "d_head"):  # those two are optional
                positive(name, value, error=ArchitectureError)
        if self.n_heads % self.kv_heads:
            raise ArchitectureError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.kv_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def d_attn(self) -> int:
        """Width of the concatenated query heads, n_heads · d_head."""
        return self.n_heads * self.head_dim


def non_embedding_params(arch: Architecture) -> int:
    """Attention (Q, K, V, O projections, grouped-query aware) and MLP weights, all layers.

    Per layer: d_model·d_attn (Q) + 2·d_model·n_kv·d_head (K, V) + d_attn·d_model (O)
    + (3 if gated else 2)·d_model·d_ff. Biases and norms are ignored (< 0.1%).
    """
    kv_width = arch.kv_heads * arch.head_dim
    attention = 2 * arch.d_model * arch.d_attn + 2 * arch.d_model * kv_width
    mlp = (3 if arch.gated_mlp else 2) * arch.d_model * arch.d_ff
    return arch.n_layers * (attention + mlp)


def embedding_params(arch: Architecture) -> int:
    """Input embedding (and the output head unless tied): vocab · d_model each."""
    return (1 if arch.tied_embeddings else 2) * arch.vocab_size * arch.d_model


def total_params(arch: Architecture) -> int:
    """Total parameters, Chinchilla's convention (embeddings included)."""
    return non_embedding_params(arch) + embedding_params(arch)


def flops_6nd(n_params: np.ndarray | float, n_tokens: np.ndarray | float) -> np.ndarray:
    """Training FLOPs C = 6·N·D."""
    return FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, dtype=float) * np.asarray(n_tokens, dtype=float)


def kaplan_forward_flops_per_token(arch: Architecture) -> int:
    """Kaplan Eq. (2.2): C_forward = 2·N + 2·n_layer·n_ctx·d_attn (N non-embedding)."""
    return 2 * non_embedding_params(arch) + 2 * arch.n_layers * arch.seq_len * arch.d_attn


def kaplan_training_flops_per_token(arch: Architecture) -> int:
    """Training = 3 × forward (backward is twice the forward)."""
    return 3 * kaplan_forward_flops_per_token(arch)


def chinchilla_forward_flops_per_sequence(arch: Architecture, include_embeddings: bool = True) -> int:
    """Hoffmann et al. 2022 App. F forward FLOPs for one sequence of ``seq_len`` tokens."""
    s, d, v = arch.seq_len, arch.d_model, arch.vocab_size
    heads_width = arch.d_attn  # key_size · n_heads
    kv_width = arch.kv_heads * arch.head_dim
    qkv = 2 * s * d * (heads_width + 2 * kv_width)  # = 2·3·s·d·(key_size·n_heads) for MHA
    logits_kq = 2 * s * s * heads_width
    softmax = 3 * arch.n_heads * s * s
    softmax_v = 2 * s * s * heads_width
    attention_out = 2 * s * heads_width * d
    dense = 2 * s * ((3 if arch.gated_mlp else 2) * d * arch.d_ff)
    per_layer = qkv + logits_kq + softmax + softmax_v + attention_out + dense
    embeddings = 2 * s * v * d if include_embeddings else 0
    final_logits = 2 * s * d * v if include_embeddings else 0
    return embeddings + arch.n_layers * per_layer + final_logits


def chinchilla_training_flops_per_sequence(arch: Architecture, include_embeddings: bool = True) -> int:
    """Training FLOPs for one sequence: 3 × the App. F forward count."""
    return 3 * chinchilla_forward_flops_per_sequence(arch, include_embeddings)


def chinchilla_training_flops_per_token(arch: Architecture, include_embeddings: bool = True) -> float:
    return chinchilla_training_flops_per_sequence(arch, include_embeddings) / arch.seq_len
