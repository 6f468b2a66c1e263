"""Mixture of experts: when does a sparse model beat a dense one, at equal compute and at equal memory?"""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.analysis import precision_moe
from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.laws.moe import (
    ABNAR,
    CLARK,
    EXPERT_COUNTS,
    KRAJEWSKI,
    KRAJEWSKI_DENSE,
    LUDZIEJEWSKI,
    dense_compute_multiplier,
)
from ui import figures
from ui import format as fmt
from ui.url import LinkCheck
from ui.widgets import law_card


@st.cache_data(show_spinner=False)
def memory_curves(law, flops: float, kv_tokens: int, inference_tokens: float):
    return precision_moe.loss_against_memory(
        law, flops, kv_tokens=kv_tokens, inference_tokens=inference_tokens
    )


@st.cache_data(show_spinner=False)
def sparsity_curve(joint, fine, fine_dense):
    return precision_moe.optimal_sparsity_against_budget(joint, fine, fine_dense)


st.title("Mixture of experts")
st.caption(
    "Ludziejewski et al. (2025): loss in active parameters, tokens and experts, so MoE and dense compare at "
    "equal compute and at equal memory. Krajewski et al. (2024): fine-grained experts (granularity G)."
)

KV_TOKENS = [0, 4096, 8192, 16384, 32768, 65536, 131072]
INFERENCE_TOKENS = [0.0, 1e9, 1e10, 1e11, 1e12, 1e13]


@st.fragment
def budget_and_memory() -> None:
    """The controls and everything that depends on them: moving one reruns only this part (the
    sparsity trends and the law cards below depend on none of them)."""
    link = LinkCheck()
    c = st.columns(3)
    log10_flops = link.slider(
        c[0], "Compute budget (log10 FLOPs)", 19.0, 25.0, 22.0, 0.1, key="m_log10_flops"
    )
    experts = link.select_slider(c[1], "Experts E", list(EXPERT_COUNTS), value=8, key="experts")
    memory_gb = link.slider(c[2], "Memory limit (GB, bf16 weights + KV cache)", 4, 2000, 80, key="memory_gb")
    c[0].caption(fmt.power_of_ten(log10_flops, "FLOPs"))
    c = st.columns(2)
    kv_tokens = link.select_slider(
        c[0],
        "Tokens in the KV cache (all sequences in the batch)",
        KV_TOKENS,
        value=16384,
        format_func=lambda t: f"{t // 1024}k" if t else "none",
        key="kv_tokens",
    )
    inference_tokens = link.select_slider(
        c[1],
        f"Tokens served over the model's life (their {INFERENCE_FLOPS_PER_PARAM_TOKEN:g}·N_act FLOPs each "
        "come out of the budget)",
        INFERENCE_TOKENS,
        value=0.0,
        format_func=lambda t: fmt.count(t) if t else "none",
        key="inference_tokens",
    )
    flops = 10.0**log10_flops
    link.show()
    serving = {"kv_tokens": int(kv_tokens), "inference_tokens": float(inference_tokens)}

    compare = precision_moe.dense_vs_moe(LUDZIEJEWSKI, flops, int(experts), memory_gb * 1e9, **serving)
    dense, sparse = compare.iloc[0], compare.iloc[-1]
    cols = st.columns(2)
    for col, row, label in (
        (cols[0], dense, "Dense (E = 1)"),
        (cols[1], sparse, f"MoE (E = {int(experts)})"),
    ):
        with col.container(border=True):
            st.markdown(f"**{label}** within {memory_gb} GB")
            # two metrics a row: at 1100 px three would leave ~100 px, too little for '18.9 B'
            a, b = st.columns(2)
            feasible = bool(np.isfinite(row["loss"]))
            a.metric("Active parameters", fmt.count(row["n_params"]))
            b.metric("Total parameters", fmt.count(row["total_params"]))
            a.metric("Training tokens", fmt.count(row["n_tokens"]))
            b.metric(
                "Loss (nats/token)",
                f"{row['loss']:.4f}" if feasible else fmt.DASH,
                help="Predicted by Ludziejewski et al.'s joint law, on FineWeb-Edu.",
            )
            served = (
                f"; serving takes {row['serving_share']:.0%} of the budget"
                if inference_tokens and feasible
                else ""
            )
            st.caption(f"Memory {fmt.sig(row['memory_gb'])} GB (bf16 weights + KV cache){served}")
            if not feasible:
                st.warning(
                    f"Serving {fmt.count(inference_tokens)} tokens takes the whole {fmt.flops(flops)}: "
                    "nothing is left for training. Raise the budget or serve fewer tokens."
                )
    if int(experts) > 1 and np.isfinite(compare["loss"]).all():
        verdict = "beats" if sparse["loss"] < dense["loss"] else "does not beat"
        st.markdown(
            f"At {fmt.flops(flops)} and {memory_gb} GB, the {int(experts)}-expert model **{verdict}** the "
            f"dense one (loss {sparse['loss']:.4f} against {dense['loss']:.4f})."
        )

    curves = memory_curves(LUDZIEJEWSKI, flops, **serving)
    st.plotly_chart(
        figures.line_chart(
            curves,
            "memory_limit_gb",
            "loss",
            group="experts",
            log_x=True,
            names={e: "dense (E = 1)" if e == 1 else f"{e:g} experts" for e in curves["experts"].unique()},
            x_format=fmt.short,
            y_format=lambda v: f"{v:.4f}",
            x_label="Memory limit (GB)",
            y_label="Best loss within the limit (nats/token)",
            title=f"Where sparsity stops paying: best loss per expert count at {fmt.flops(flops)}",
            vline=(float(memory_gb), f"{memory_gb} GB"),
        ),
        key="memory_chart",
    )
    st.caption(
        "With little memory, more experts leave fewer active parameters and lose; with enough memory they "
        "win at equal compute."
    )


budget_and_memory()

trend = sparsity_curve(LUDZIEJEWSKI, KRAJEWSKI, KRAJEWSKI_DENSE)
left, right = st.columns(2)
left.plotly_chart(
    figures.line_chart(
        trend.melt(
            id_vars="flops", value_vars=["experts", "granularity"], var_name="choice", value_name="value"
        ),
        "flops",
        "value",
        group="choice",
        log_x=True,
        log_y=True,
        x_label="Training compute (FLOPs)",
        names={"experts": "experts (Ludziejewski)", "granularity": "granularity (Krajewski)"},
        x_format=fmt.sci,
        y_format=lambda v: f"{v:g}",
        y_label="Experts E or granularity G",
        title="Optimal experts (Ludziejewski) and granularity (Krajewski)",
        mode="lines+markers",
    ),
    key="sparsity_chart",
)
right.plotly_chart(
    figures.line_chart(
        trend.melt(
            id_vars="flops",
            value_vars=["active_params", "total_params"],
            var_name="parameters",
            value_name="count",
        ),
        "flops",
        "count",
        group="parameters",
        log_x=True,
        log_y=True,
        x_label="Training compute (FLOPs)",
        names={"active_params": "active parameters", "total_params": "total parameters"},
        x_format=fmt.sci,
        y_format=fmt.count,
        y_label="Parameters",
        title="Active against total parameters at the optimum",
    ),
    key="params_chart",
)

st.plotly_chart(
    figures.line_chart(
        trend,
        "flops",
        "dense_multiplier",
        log_x=True,
        x_label="MoE training compute (FLOPs)",
        y_label="Dense compute needed ÷ MoE compute (×)",
        x_format=fmt.sci,
        y_format=lambda v: f"{v:.1f}×",
        title="Compute a dense model needs to match a compute-optimal fine-grained MoE "
        "(Krajewski, MoE and dense fits)",
        mode="lines+markers",
    ),
    key="multiplier_chart",
)
at_1e20, at_1e25 = dense_compute_multiplier(KRAJEWSKI, KRAJEWSKI_DENSE, [1e20, 1e25])
st.caption(
    f"Both fits are Krajewski et al.'s Table 1 (C4, smoothed training loss). The paper reports about 20× at "
    f"1e20 FLOPs and over 40× beyond 1e25; its printed constants give {at_1e20:.0f}× and {at_1e25:.0f}×."
)

st.subheader("The laws")
for law in (LUDZIEJEWSKI, KRAJEWSKI, KRAJEWSKI_DENSE, CLARK, ABNAR):
    law_card(law, key_prefix="moe")
