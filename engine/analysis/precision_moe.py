"""Analyses the Precision and Mixture-of-experts pages show, over the laws in laws/precision.py
and laws/moe.py. Tables in unit-named columns; no formulas beyond calling the laws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.laws.chinchilla import ChinchillaLaw
from engine.laws.fp_quant import BF16, FP4_E2M1, FP8_E4M3, FP8_E5M2, FpQuantLaw
from engine.laws.moe import EXPERT_COUNTS, FineGrainedMoeLaw, JointMoeLaw, dense_compute_multiplier
from engine.laws.precision import DEFAULT_BLOCK_SIZE, PrecisionLaw, equivalent_6nd_budget, kbit_weight_bytes
from engine.laws.sparsity import SparsityLaw

TRAINING_BITS = np.arange(4.0, 16.5, 0.5)
SERVING_BITS = (3.0, 4.0, 5.0, 6.0, 8.0, 16.0)


def precision_scenario(
    law: PrecisionLaw,
    flops: float,
    bits_weights: float,
    bits_activations: float,
    bits_kv: float,
    bits_post: float,
) -> dict[str, float]:
    """The compute-optimal model at ``flops`` trained at these precisions (the compute model's P is
    the widest of the three) and served at ``bits_post``: its size, losses after training and when
    served (PTQ damage only when serving below the weights' precision), weight memory, and P*."""
    train_bits = float(max(bits_weights, bits_activations, bits_kv))
    alloc = law.optimal(flops, bits=train_bits).scalar()
    n, d = alloc["n_params"], alloc["n_tokens"]
    trained = float(law.loss(n, d, bits_weights, bits_activations, bits_kv))
    served = float(
        law.loss(
            n,
            d,
            bits_weights,
            bits_activations,
            bits_kv,
            bits_post=bits_post if bits_post < bits_weights else None,
        )
    )
    best = law.optimal(flops).scalar()
    return {
        "n_params": n,
        "n_tokens": d,
        "train_bits": train_bits,
        "loss_trained": trained,
        "loss_served": served,
        "memory_gb": float(kbit_weight_bytes(n, bits_post)) / 1e9,
        "optimal_bits": best["precision_bits"],
        "optimal_loss": best["loss"],
    }


def loss_against_training_bits(law: PrecisionLaw, flops: float, bits=TRAINING_BITS) -> pd.DataFrame:
    """The compute-optimal loss at ``flops`` for each tied training precision (C = (6/16)·N·D·P)."""
    rows = [{"bits": float(p), **law.optimal(flops, bits=float(p)).scalar()} for p in bits]
    return pd.DataFrame(rows)


def ptq_against_tokens(
    law: PrecisionLaw, n_params: float, bits_post: float, ratios=np.logspace(0, 4, 120)
) -> pd.DataFrame:
    """delta_PTQ and the post-quantisation loss as training tokens per parameter grow."""
    d = n_params * ratios
    return pd.DataFrame(
        {
            "tokens_per_param": ratios,
            "n_tokens": d,
            "delta_ptq": law.ptq_degradation(n_params, d, bits_post),
            "loss_full": law.loss(n_params, d),
            "loss_quantised": law.loss(n_params, d, bits_post=bits_post),
        }
    )


def memory_loss_candidates(
    law: PrecisionLaw,
    flops: float,
    *,
    train_bits: float = 16.0,
    sizes: int = 60,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> pd.DataFrame:
    """Models trained at ``flops`` (N around the optimum, D from the budget) served at each
    post-training precision: weight memory (Dettmers' k-bit bytes) against loss (Kumar)."""
    best = law.optimal(flops, bits=train_bits)
    n = float(best.n_params) * np.logspace(-1.5, 1.0, sizes)
    d = equivalent_6nd_budget(flops, train_bits) / (FLOPS_PER_PARAM_TOKEN * n)
    frames = []
    for post in SERVING_BITS:
        loss = law.loss(
            n, d, train_bits, train_bits, train_bits, bits_post=post if post < train_bits else None
        )
        frames.append(
            pd.DataFrame(
                {
                    "n_params": n,
                    "n_tokens": d,
                    "serve_bits": post,
                    "loss": loss,
                    "memory_gb": kbit_weight_bytes(n, post, block_size) / 1e9,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def dense_vs_moe(
    law: JointMoeLaw,
    flops: float,
    experts: int,
    memory_bytes: float | None = None,
    *,
    kv_tokens: float = 16_384,
    inference_tokens: float = 0.0,
) -> pd.DataFrame:
    """The optimum for a dense model (E = 1) and for ``experts`` at the same budget (and memory:
    weights + a ``kv_tokens`` KV cache); with ``inference_tokens`` the budget also serves them,
    and ``serving_share`` is the part of the budget that serving takes."""
    rows = []
    for e in sorted({1, experts}):
        alloc = law.optimal(
            flops,
            experts=e,
            memory_bytes=memory_bytes,
            kv_tokens=kv_tokens,
            inference_tokens=inference_tokens,
        ).scalar()
        alloc["memory_gb"] = alloc.pop("memory_bytes") / 1e9
        alloc["serving_share"] = alloc.pop("inference_flops") / flops
        rows.append({"experts": e, **alloc})
    return pd.DataFrame(rows)


def loss_against_memory(
    law: JointMoeLaw,
    flops: float,
    memories_gb=np.logspace(0.5, 3.2, 40),
    *,
    kv_tokens: float = 16_384,
    inference_tokens: float = 0.0,
) -> pd.DataFrame:
    """The best loss per expert count as the memory limit grows (where sparsity stops paying);
    loss is NaN where nothing that fits can be trained within the budget."""
    memories = np.asarray(memories_gb, float)
    frames = []
    for e in EXPERT_COUNTS:
        alloc = law.optimal(
            flops,
            experts=e,
            memory_bytes=memories * 1e9,
            kv_tokens=kv_tokens,
            inference_tokens=inference_tokens,
        )
        frames.append(
            pd.DataFrame(
                {
                    "experts": e,
                    "memory_limit_gb": memories,
                    "n_params": alloc.n_params,
                    "loss": np.where(np.isfinite(alloc.loss), alloc.loss, np.nan),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def optimal_sparsity_against_budget(
    joint: JointMoeLaw, fine: FineGrainedMoeLaw, fine_dense: ChinchillaLaw, budgets=np.logspace(19, 25, 25)
) -> pd.DataFrame:
    """Ludziejewski's best expert count and Krajewski's best granularity at each budget, and how
    many times the budget Krajewski's dense fit needs to match their compute-optimal MoE."""
    j = joint.optimal(budgets)
    f = fine.optimal(budgets)
    return pd.DataFrame(
        {
            "flops": budgets,
            "experts": j.extras["experts"],
            "active_params": j.n_params,
            "total_params": j.extras["total_params"],
            "granularity": f.extras["granularity"],
            "dense_multiplier": dense_compute_multiplier(fine, fine_dense, budgets),
        }
    )


SPARSITIES = np.linspace(0.0, 0.95, 39)
FP_FORMATS = {"BF16 (E8M7)": BF16, "FP8 E5M2": FP8_E5M2, "FP8 E4M3": FP8_E4M3, "FP4 E2M1": FP4_E2M1}


def loss_against_sparsity(law: SparsityLaw, n_params: float, flops: float) -> pd.DataFrame:
    """Frantar et al.'s loss at ``n_params`` non-zero parameters and ``flops`` of dense-cost training
    (C = 6·N/(1 − S)·D: a sparser model of the same non-zero size sees fewer tokens), over the
    sparsity S; columns sparsity, n_tokens, dense_params, loss."""
    d = law.dense_cost_tokens(n_params, flops, SPARSITIES)
    return pd.DataFrame(
        {
            "sparsity": SPARSITIES,
            "n_tokens": d,
            "dense_params": n_params / (1.0 - SPARSITIES),
            "loss": law.loss(n_params, d, SPARSITIES),
        }
    )


def float_formats(law: FpQuantLaw, n_params: float, n_tokens: float, block_size: float) -> pd.DataFrame:
    """Sun et al.'s loss at (N, D) and critical data size for each training format of
    ``FP_FORMATS`` at one scaling block size; columns format, exponent_bits, mantissa_bits, loss,
    d_crit (tokens), past_d_crit (D beyond it: more tokens already raise the loss)."""
    rows = []
    for name, (e, m) in FP_FORMATS.items():
        d_crit = float(law.critical_data_size(n_params, e, m, block_size))
        rows.append(
            {
                "format": name,
                "exponent_bits": e,
                "mantissa_bits": m,
                "loss": float(law.loss(n_params, n_tokens, e, m, block_size)),
                "d_crit": d_crit,
                "past_d_crit": n_tokens > d_crit,
            }
        )
    return pd.DataFrame(rows)
