"""Precision: what training precision and post-training quantization do to loss, memory and cost."""

from __future__ import annotations

import streamlit as st

from engine.analysis import precision_moe
from engine.analysis.pareto import pareto_mask
from engine.errors import LawError
from engine.laws.precision import (
    DEFAULT_BLOCK_SIZE,
    KBIT_RULES,
    KBIT_WEIGHT_MEMORY,
    PRECISION,
    SCALE_BITS,
    largest_model_that_fits,
)
from ui import figures
from ui import format as fmt
from ui.url import LinkCheck
from ui.widgets import explain, law_card


@st.cache_data(show_spinner=False)
def bits_curve(law, flops: float):
    return precision_moe.loss_against_training_bits(law, flops)


@st.cache_data(show_spinner=False)
def memory_candidates(law, flops: float, train_bits: float):
    frame = precision_moe.memory_loss_candidates(law, flops, train_bits=train_bits)
    frame["pareto"] = pareto_mask(frame[["memory_gb", "loss"]].to_numpy())
    return frame


st.title("Precision")
st.caption(
    "Kumar et al. (2025): training in fewer bits shrinks the effective parameter count; quantizing after "
    f"training adds a loss that grows with the tokens trained on. Compute is {PRECISION.info.compute_model}."
)
law = law_card(PRECISION, key_prefix="precision")


@st.fragment
def budget_and_bits(law) -> None:
    """The budget and bits, and everything that depends on them: moving one reruns only this part
    (``law``: the card's, with any edits to its constants, from the last full run)."""
    link = LinkCheck()
    c = st.columns(5)
    log10_flops = link.slider(
        c[0],
        "Compute (log10 FLOPs)",
        18.0,
        26.0,
        21.0,
        0.1,
        key="p_log10_flops",
        help="Training compute C, as a power of ten.",
    )
    bits_w = link.slider(c[1], "Training bits: weights", 3, 16, 16, key="bits_weights")
    bits_a = link.slider(
        c[2],
        "Training bits: activations",
        4,
        16,
        16,
        key="bits_activations",
        help="3 bits or fewer is outside the law (not stable in the paper's runs).",
    )
    bits_kv = link.slider(c[3], "Training bits: KV cache", 4, 16, 16, key="bits_kv")
    bits_post = link.slider(c[4], "Serving bits (post-training)", 3, 16, 4, key="bits_post")
    flops = 10.0**log10_flops
    c[0].caption(fmt.power_of_ten(log10_flops, "FLOPs"))
    link.show()

    try:
        scenario = precision_moe.precision_scenario(law, flops, bits_w, bits_a, bits_kv, bits_post)
    except LawError as exc:
        st.error(fmt.plain(exc))
        return
    n = scenario["n_params"]

    # units in the labels and short values, three a row: at 1100 px a column is then ~220 px wide
    m = st.columns(3)
    m[0].metric(
        "Parameters N",
        fmt.count(n),
        help="The compute-optimal model size at this budget and training precision.",
    )
    m[1].metric("Training tokens D", fmt.count(scenario["n_tokens"]))
    m[2].metric(
        "Weights served (GB)",
        fmt.sig(scenario["memory_gb"]),
        help=f"{bits_post} bits per weight plus a {SCALE_BITS:g}-bit constant per "
        f"block of {DEFAULT_BLOCK_SIZE} "
        "(Dettmers & Zettlemoyer): see how the weight memory is computed, below.",
    )
    m = st.columns(3)
    m[0].metric(
        "Trained loss (nats/token)",
        f"{scenario['loss_trained']:.4f}",
        help="Straight after training, at the training precision; nats/token on Dolma.",
    )
    m[1].metric(
        f"Served at {bits_post}-bit (nats/token)",
        f"{scenario['loss_served']:.4f}",
        delta=f"{scenario['loss_served'] - scenario['loss_trained']:+.4f}",
        delta_color="inverse",
        help=f"After quantizing the weights to {bits_post} bits for serving.",
    )
    m[2].metric(
        "Optimal precision (bits)",
        f"{scenario['optimal_bits']:.1f}",
        help="Compute-optimal training precision with N, D and P all free (Kumar Eq. 7): independent of "
        "the budget.",
    )

    explain(
        "How the weight memory is computed",
        KBIT_WEIGHT_MEMORY,
        values={"N": fmt.count(n), "k": bits_post, "s": fmt.short(SCALE_BITS), "B": DEFAULT_BLOCK_SIZE},
    )

    left, right = st.columns(2)
    curve = bits_curve(law, flops)
    left.plotly_chart(
        figures.line_chart(
            curve,
            "bits",
            "loss",
            x_label="Training precision P (bits, weights = activations = KV)",
            y_label="Compute-optimal loss (nats/token, Dolma)",
            title=f"Loss against bits at {fmt.flops(flops)}",
            mode="lines+markers",
            marks={"P*": (scenario["optimal_bits"], scenario["optimal_loss"])},
            x_format=lambda b: f"{b:g}",
            y_format=lambda v: f"{v:.4f}",
        ),
        key="bits_chart",
    )

    ptq = precision_moe.ptq_against_tokens(law, n, bits_post)
    d_crit = float(law.critical_data_size(n, bits_post))
    right.plotly_chart(
        figures.line_chart(
            ptq.melt(
                id_vars="tokens_per_param",
                value_vars=["loss_full", "loss_quantised"],
                var_name="variant",
                value_name="loss",
            ),
            "tokens_per_param",
            "loss",
            group="variant",
            x_label="Training tokens per parameter",
            log_x=True,
            y_label="Loss (nats/token)",
            title=f"Quantization damage for N = {fmt.count(n)} at {bits_post} bits",
            names={
                "loss_full": "trained in 16 bits",
                "loss_quantised": f"after {bits_post}-bit quantization",
            },
            x_format=fmt.short,
            y_format=lambda v: f"{v:.4f}",
            vline=(d_crit / n, f"D_crit = {fmt.count(d_crit, 'tokens')}"),
        ),
        key="ptq_chart",
    )
    st.caption(
        f"Past the critical data size D_crit = {fmt.count(d_crit, 'tokens')} ({fmt.short(d_crit / n)} "
        f"tokens per parameter) more pretraining raises the loss after {bits_post}-bit quantization."
    )

    cands = memory_candidates(law, flops, scenario["train_bits"])
    front = cands[cands["pareto"]]
    st.plotly_chart(
        figures.line_chart(
            front.sort_values("memory_gb"),
            "memory_gb",
            "loss",
            group="serve_bits",
            names={b: f"served at {b:g} bits" for b in front["serve_bits"].unique()},
            mode="markers",
            x_label="Weight memory (GB)",
            log_x=True,
            y_label="Loss when served (nats/token)",
            x_format=fmt.short,
            y_format=lambda v: f"{v:.4f}",
            title="Memory against loss: the non-dominated models across serving precisions",
        ),
        key="memory_front",
    )
    counts = front["serve_bits"].value_counts().sort_index()
    st.caption(
        "Models on the front, by serving precision: "
        + ", ".join(f"{fmt.bits(b)}: {fmt.whole(k, 'model')}" for b, k in counts.items())
        + "."
    )


budget_and_bits(law)

with st.expander("k-bit inference rules (Dettmers & Zettlemoyer 2023)"):
    for rule in KBIT_RULES:
        st.markdown(f"- {rule}")
    gb = st.number_input("Memory available (GB)", 1.0, 10_000.0, 48.0, key="kbit_memory")
    st.markdown(
        f"Largest model that fits at 4 bits (block {DEFAULT_BLOCK_SIZE}): "
        f"**{fmt.count(largest_model_that_fits(gb * 1e9, 4), 'parameters')}**"
    )
