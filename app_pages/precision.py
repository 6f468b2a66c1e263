"""Precision: what training precision and post-training quantization do to loss, memory and cost."""

from __future__ import annotations

import streamlit as st

from engine.analysis import precision_moe, shrink
from engine.analysis.pareto import pareto_mask
from engine.errors import FlopwiseError, LawError
from engine.laws.distillation import BUSBRIDGE_STUDENT, DISTILLATION_COMPUTE, FITTED_PARAMS
from engine.laws.fp_quant import CRITICAL_DATA, OPTIMAL_MANTISSA, SUN, optimal_mantissa_bits
from engine.laws.precision import (
    DEFAULT_BLOCK_SIZE,
    KBIT_RULES,
    KBIT_WEIGHT_MEMORY,
    PRECISION,
    SCALE_BITS,
    largest_model_that_fits,
)
from engine.laws.sparsity import FRANTAR_T5, NM_AS_UNSTRUCTURED, OPTIMAL_SPARSITY, nm_sparsity
from ui import figures
from ui import format as fmt
from ui.tables import readable
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


SHRINK_COLUMNS = {
    "option": ("Option", None),
    "n_params": ("Parameters N", fmt.count),
    "n_tokens": ("Tokens D", fmt.count),
    "tokens_per_param": ("Tokens per parameter", fmt.short),
    "student_train_flops": ("Training (FLOPs)", fmt.sci),
    "teacher_flops": ("Teacher (FLOPs)", fmt.sci),
    "inference_flops": ("Serving (FLOPs)", fmt.sci),
    "lifetime_flops": ("Lifetime (FLOPs)", fmt.sci),
    "note": ("Note", None),
}
FORMAT_COLUMNS = {
    "format": ("Training format", None),
    "loss": ("Loss (nats/token, Dolma)", lambda v: f"{v:.4f}"),
    "d_crit": ("Critical data size D_crit (tokens)", fmt.count),
    "past_d_crit": ("Past D_crit", lambda v: "yes: fewer tokens would do better" if v else "no"),
}
BLOCK_SIZES = [32, 64, 128, 256, 512]


@st.fragment
def sparsity_section() -> None:
    """Frantar et al. (2024): train sparse at dense cost, and the best sparsity for a budget."""
    link = LinkCheck()
    c = st.columns(3)
    log_n = link.slider(c[0], "Non-zero parameters (log10)", 7.0, 10.0, 8.0, 0.1, key="s_log10_params")
    log_c = link.slider(c[1], "Training compute (log10 FLOPs)", 18.0, 23.0, 20.0, 0.1, key="s_log10_flops")
    link.show()
    n, flops = 10.0**log_n, 10.0**log_c
    c[0].caption(fmt.count(n, "non-zero parameters"))
    c[1].caption(fmt.power_of_ten(log_c, "FLOPs"))
    try:
        best = float(FRANTAR_T5.optimal_sparsity(n, flops))
        curve = precision_moe.loss_against_sparsity(FRANTAR_T5, n, flops)
    except FlopwiseError as exc:
        st.error(fmt.plain(exc))
        return
    c[2].metric(
        "Optimal sparsity",
        f"{best:.0%}",
        help="Share of the weights that are zero, for this size and budget.",
    )
    half = nm_sparsity("2:4")
    st.plotly_chart(
        figures.line_chart(
            curve,
            "sparsity",
            "loss",
            x_label="Sparsity S (share of weights zero)",
            y_label="Loss (T5 span corruption on C4)",
            x_format=lambda v: f"{v:.0%}",
            y_format=lambda v: f"{v:.4f}",
            title=f"Loss against sparsity at {fmt.count(n)} non-zero parameters and {fmt.flops(flops)}",
            marks={
                f"optimum ({best:.0%})": (
                    best,
                    float(FRANTAR_T5.loss(n, FRANTAR_T5.dense_cost_tokens(n, flops, best), best)),
                )
            },
            vline=(half, "2:4 (n:m) = 50%"),
        ),
        key="sparsity_chart",
    )
    st.caption(
        "A sparse model of N non-zero weights costs as much per token as the dense model of N/(1 − S) it is "
        "pruned from, so it sees fewer tokens: sparsity pays only on large budgets. The loss is T5's on C4 "
        "(encoder–decoder span corruption), not a decoder's nats per token: read the optimum and the "
        "shape, not "
        "the level. 2:4 sparsity is drawn as 50% unstructured (reported to behave alike; no fit of its own); "
        "only 2:4 runs faster on sparse tensor cores."
    )
    explain("How the optimal sparsity is computed", FRANTAR_T5, OPTIMAL_SPARSITY, NM_AS_UNSTRUCTURED)


@st.fragment
def float_format_section() -> None:
    """Sun et al. (2025): exponent and mantissa bits, block size, and the critical data size."""
    link = LinkCheck()
    c = st.columns(3)
    log_n = link.slider(c[0], "Parameters (log10, non-embedding)", 7.0, 11.0, 9.0, 0.1, key="fp_log10_params")
    log_d = link.slider(c[1], "Training tokens (log10)", 9.0, 14.0, 11.0, 0.1, key="fp_log10_tokens")
    block = link.select_slider(
        c[2], "Scaling block size (elements per scale)", BLOCK_SIZES, value=128, key="fp_block"
    )
    link.show()
    n, d = 10.0**log_n, 10.0**log_d
    c[0].caption(fmt.count(n, "parameters"))
    c[1].caption(fmt.count(d, "tokens"))
    table = precision_moe.float_formats(SUN, n, d, float(block))
    st.table(readable(table, FORMAT_COLUMNS).hide())
    m8, m4 = (float(optimal_mantissa_bits(p)) for p in (8, 4))
    st.caption(
        "With few bits, more data can hurt: past D_crit the quantisation term grows faster than the data "
        "term "
        f"falls. The best split of 8 bits is {fmt.short(m8)} mantissa bits (E4M3 is the nearest format), "
        "of 4 "
        f"bits {fmt.short(m4)} (E2M1). Sun et al.'s fit covers 41M–679M parameters on 10B–100B tokens."
    )
    explain("How the floating-point formats are compared", SUN, CRITICAL_DATA, OPTIMAL_MANTISSA)


@st.fragment
def shrink_section() -> None:
    """Train compute-optimal, over-train (Sardana et al.), or distil (Busbridge et al.), for one loss."""
    link = LinkCheck()
    c = st.columns(4)
    target = link.slider(c[0], "Target loss (nats/token, C4)", 2.2, 3.2, 2.5, 0.01, key="sh_loss")
    demand = link.select_slider(
        c[1],
        "Tokens served over its life",
        [0.0, 1e10, 1e11, 1e12, 1e13, 1e14],
        value=1e12,
        format_func=lambda t: fmt.count(t) if t else "none",
        key="sh_demand",
    )
    teacher_b = link.number_input(c[2], "Teacher (billions of parameters)", 0.2, 12.6, 7.75, key="sh_teacher")
    exists = link.radio(
        c[3], "Teacher", ["already trained", "trained for this"], key="sh_teacher_exists", horizontal=True
    )
    link.show()
    try:
        options = shrink.shrink_options(
            target,
            float(demand),
            teacher_params=teacher_b * 1e9,
            teacher_tokens=shrink.TEACHER_TOKENS_PER_PARAM * teacher_b * 1e9,
            teacher_exists=exists == "already trained",
        )
    except FlopwiseError as exc:
        st.error(fmt.plain(exc))
        return
    st.table(readable(options, SHRINK_COLUMNS).hide())
    best = options.loc[options["lifetime_flops"].idxmin()]
    st.markdown(
        f"Least lifetime compute for loss {target:.2f} and {fmt.count(float(demand)) if demand else 'no'} "
        "tokens "
        f"served: **{fmt.plain(best['option'])}** ({fmt.flops(best['lifetime_flops'])})."
    )
    st.caption(
        "All three from Busbridge et al.'s C4 fits (one data set, so their losses compare): the compute-"
        "optimal and over-trained models on the supervised law with Sardana et al.'s inference-aware "
        "optimum, the student on the distillation law, taught by a teacher trained on "
        f"{shrink.TEACHER_TOKENS_PER_PARAM:g} tokens per parameter. Within the law's fitted range, "
        f"{fmt.count(FITTED_PARAMS[0])}–{fmt.count(FITTED_PARAMS[1])} parameters."
    )
    explain(
        "How train, over-train and distil are compared",
        shrink.SHRINK_OPTIONS,
        BUSBRIDGE_STUDENT,
        DISTILLATION_COMPUTE,
    )


st.subheader("Sparsity: prune while training (Frantar et al. 2024)")
sparsity_section()
st.subheader("Floating-point formats: exponent, mantissa and block size (Sun et al. 2025)")
float_format_section()
st.subheader("Train large, then shrink: compute-optimal, over-trained or distilled")
shrink_section()
