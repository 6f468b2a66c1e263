"""Inference: how will we serve the model, and what does that change? Batch, precision, the KV
cache, speculative decoding, test-time compute and routing on one device's roofline."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from engine.analysis import plan
from engine.cost import serving, speculative, test_time
from engine.cost.inference import default_architecture
from engine.data import store
from engine.errors import FlopwiseError
from ui import db, figures
from ui import format as fmt
from ui.url import LinkCheck
from ui.widgets import explain

BITS = [4, 8, 16]
CONTEXTS = [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
# the attention variants, grouped-query (the default shape's) first, in the engine's words
KV_WORDS = {kind: f"{serving.KV_KIND_WORDS[kind]} ({kind.upper()})" for kind in ("gqa", "mha", "mqa", "mla")}
EXPERTS = [0, 8, 16, 32, 64, 128, 256]
TOP_K = [1, 2, 4, 8]


@st.cache_data(show_spinner=False)
def devices(version: tuple) -> dict:
    with db.session() as con:
        return store.all_devices(con)


@st.cache_data(show_spinner=False)
def curve(setup: serving.ServingSetup) -> pd.DataFrame:
    return serving.batch_curve(setup)


def tokens_label(t: int) -> str:
    return f"{t // 1024}k"


def model_inputs(link: LinkCheck, all_devices: dict) -> serving.ServingSetup:
    """The model, the device and how it is served, from the widgets (each bound to the URL)."""
    c = st.columns(4)
    active_b = link.number_input(
        c[0],
        "Active parameters (billions)",
        0.01,
        5000.0,
        8.0,
        help="Parameters that compute each token; for a mixture of experts the routed ones.",
        key="i_params",
    )
    total_b = link.number_input(
        c[1],
        "Parameters held in memory (billions, 0 = same)",
        0.0,
        20000.0,
        0.0,
        help="A mixture of experts holds all its experts: more than it computes per token.",
        key="i_total",
    )
    ids = list(all_devices)
    hardware = link.selectbox(
        c[2],
        "Hardware",
        ids,
        index=ids.index("h100-sxm") if "h100-sxm" in ids else 0,
        key="i_hardware",
    )
    c[2].caption(fmt.plain(all_devices[hardware].name))
    price = link.number_input(
        c[3], "Price ($ per device-hour)", 0.0, 100.0, plan.PlanInputs().price, 0.1, key="i_price"
    )
    c = st.columns(4)
    weight_bits = link.select_slider(c[0], "Weight precision (bits)", BITS, value=16, key="i_bits")
    kv_bits = link.select_slider(c[1], "KV-cache precision (bits)", BITS, value=16, key="i_kv_bits")
    context = link.select_slider(
        c[2],
        "Context per sequence (tokens in the KV cache)",
        CONTEXTS,
        value=4096,
        format_func=tokens_label,
        key="i_context",
    )
    mfu = link.slider(
        c[3],
        "MFU (share of the peak reached)",
        0.05,
        1.0,
        0.5,
        0.05,
        key="i_mfu",
        help="Of the device's dense peak, in prefill and in decode steps that are compute-bound.",
    )
    active = active_b * 1e9
    arch = default_architecture(active, seq_len=int(context))
    c = st.columns(4)
    kind = link.selectbox(c[0], "Attention (KV cache)", list(KV_WORDS), format_func=KV_WORDS.get, key="i_kv")
    kv_heads = arch.kv_heads
    latent = None
    if kind == "gqa":
        options = [h for h in range(1, arch.n_heads + 1) if arch.n_heads % h == 0 and h < arch.n_heads]
        kv_heads = link.select_slider(
            c[1],
            "KV heads (groups)",
            options,
            value=arch.kv_heads if arch.kv_heads in options else options[-1],
            key="i_kv_heads",
        )
    elif kind == "mla":
        latent = link.number_input(
            c[1],
            "Latent dimension d_c",
            64,
            8192,
            4 * arch.head_dim,
            64,
            key="i_latent",
            help="DeepSeek-V2: 512 for heads of 128 (4 × d_h), plus a 64-wide RoPE key per token and layer.",
        )
    prompt = link.select_slider(
        c[2],
        "Prompt per sequence (tokens)",
        [t for t in (128, 256, 512, 1024, 2048, 4096, 8192, 16384) if t <= context],
        value=min(512, int(context)),
        key="i_prompt",
    )
    kv = serving.KVLayout.from_architecture(
        arch,
        kind,
        n_kv_heads=int(kv_heads) if kind == "gqa" else None,
        latent_dim=int(latent) if latent else None,
    )
    total = total_b * 1e9 if total_b * 1e9 > active else None
    experts = top_k = None
    if total is not None:
        experts = link.select_slider(
            c[3],
            "Experts (0: not a mixture, read all held weights each step)",
            EXPERTS,
            value=0,
            key="i_experts",
        )
        if experts:
            top_k = link.select_slider(
                st,
                "Experts routed per token (top-k)",
                [k for k in TOP_K if k < experts],
                value=2,
                key="i_top_k",
            )
        else:
            experts = None
    return serving.ServingSetup(
        n_active=active,
        n_total=total,
        n_experts=experts,
        top_k=top_k,
        device=all_devices[hardware],
        weight_bits=float(weight_bits),
        kv_bits=float(kv_bits),
        kv=kv,
        context=int(context),
        prompt_tokens=int(prompt),
        mfu_prefill=mfu,
        mfu_decode=mfu,
        price_per_device_hour=price,
    )


def batch_section(link: LinkCheck, setup: serving.ServingSetup) -> serving.ServingPoint | None:
    """The latency–throughput curve over batch, the chosen batch and the best one under a latency
    limit; returns the point at the chosen batch (None when the weights alone do not fit)."""
    limit = serving.max_batch(setup)
    memory_gb = setup.device.memory_gb
    if limit < 1:
        st.error(
            f"The weights alone, {fmt.sig(setup.weight_bytes() / 1e9)} GB at {setup.weight_bits:g} bits, "
            "do not fit in "
            f"one {fmt.plain(setup.device.name)}'s {fmt.short(memory_gb)} GB. Lower the weight precision, "
            "choose a "
            "device with more memory, or a smaller model (one device, no tensor parallelism, is modelled)."
        )
        return None
    frame = curve(setup)
    batches = [int(b) for b in frame["batch"]]
    c = st.columns([3, 2])
    batch = link.select_slider(
        c[0],
        f"Batch (sequences decoded together; up to {limit:,}, where the KV cache fills the memory)",
        batches,
        value=1,
        key="i_batch",
    )
    latency_limit = link.number_input(
        c[1],
        "Latency limit (ms per token)",
        1.0,
        10000.0,
        50.0,
        5.0,
        key="i_latency",
        help="Time between two tokens of one sequence; 50 ms is 20 tokens/s per user.",
    )
    point = serving.serve_point(setup, int(batch))
    best = serving.best_batch(setup, latency_limit)
    m = st.columns(5)
    m[0].metric("Decode (ms per token)", fmt.short(point.decode_ms_per_token))
    m[1].metric("Throughput (tokens/s)", fmt.short(point.tokens_per_s))
    m[2].metric("Cost per 1M tokens", fmt.money(point.usd_per_mtok))
    m[3].metric("Memory (GB)", f"{fmt.sig(point.memory_bytes / 1e9)} of {fmt.short(memory_gb)}")
    m[4].metric("Prefill of the batch (ms)", fmt.short(point.prefill_ms))
    st.caption(
        f"At batch {point.batch:,} decode is {point.bound}: {fmt.intensity(point.arithmetic_intensity)} "
        "moved, "
        f"against {fmt.intensity(point.effective_ridge_point)} where {fmt.plain(setup.device.name)} turns "
        "compute-"
        f"bound at this MFU (ridge point {fmt.intensity(point.ridge_point)} at its full {point.dtype} peak). "
        f"{fmt.plain(setup.dtype_words())}. Weights {fmt.sig(point.weight_bytes / 1e9)} GB, KV cache "
        f"{fmt.sig(point.kv_bytes / 1e9)} GB ({fmt.size(point.kv_bytes_per_token)} per token, "
        f"{fmt.plain(setup.kv_layout.words())}). Prefill is {point.prefill_bound}."
    )
    if best is None:
        st.warning(
            f"Even batch 1 takes {fmt.short(serving.serve_point(setup, 1).decode_ms_per_token)} ms per "
            "token, "
            f"above the {fmt.short(latency_limit)} ms limit."
        )
    else:
        st.markdown(
            f"Most throughput within {fmt.short(latency_limit)} ms per token: **batch {best.batch:,}**, "
            f"{fmt.short(best.tokens_per_s)} tokens/s at {fmt.money(best.usd_per_mtok)} per 1M tokens "
            f"({fmt.short(best.decode_ms_per_token)} ms per token, {best.bound})."
        )
    st.plotly_chart(
        figures.latency_throughput_figure(
            frame,
            chosen_batch=int(batch),
            best_batch=best.batch if best else None,
            latency_limit_ms=latency_limit,
            title=f"Latency against throughput over batch: {fmt.count(setup.n_active)} active parameters, "
            f"one {setup.device.name}",
        ),
        key="i_curve",
    )
    st.caption(
        "Each point is a batch size. Memory-bound batches read the same weights for more sequences: "
        "throughput "
        "grows almost for free. Past the ridge, each step's compute grows with the batch, and so does the "
        "latency."
    )
    return point


def variants_section(setup: serving.ServingSetup, batch: int) -> None:
    """What precision and the KV layout change at this batch, each beside the current setup."""
    rows = []
    for bits in BITS:
        other = serving.with_bits(setup, float(bits), float(bits))
        rows.append(row_for(f"{bits}-bit weights and KV cache", other, batch))
    arch = default_architecture(setup.n_active, seq_len=setup.context)
    for kind in serving.KV_KINDS:
        layout = serving.KVLayout.from_architecture(arch, kind)
        rows.append(row_for(f"{layout.words()}", replace(setup, kv=layout), batch))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(
        f"At batch {batch:,} on the same device (a setup whose memory holds fewer sequences at its largest "
        "batch); the attention rows use the shape assumed for "
        f"{fmt.count(setup.n_active)} parameters ({arch.n_heads} query heads of {arch.head_dim}, "
        f"{arch.n_layers} layers) at {setup.kv_bits:g}-bit KV. Time, not FLOPs, sets the cost: fewer bits "
        "per weight "
        "or per cached token shorten a memory-bound step."
    )


def row_for(label: str, setup: serving.ServingSetup, batch: int) -> dict:
    limit = serving.max_batch(setup)
    if limit < 1:
        return {"Setup": label, "Fits": "weights do not fit"}
    p = serving.serve_point(setup, min(batch, limit))
    return {
        "Setup": label,
        "KV per token": fmt.size(p.kv_bytes_per_token),
        "Largest batch": f"{limit:,}",
        "ms per token": fmt.short(p.decode_ms_per_token),
        "Tokens/s": fmt.short(p.tokens_per_s),
        "$ per 1M tokens": fmt.money(p.usd_per_mtok),
        "Bound": p.bound,
        "Fits": "yes" if batch <= limit else f"at batch {limit:,}",
    }


@st.fragment
def speculative_section(setup: serving.ServingSetup, batch: int) -> None:
    """Leviathan et al. (2023): a draft model proposes γ tokens, the target checks them in one run."""
    link = LinkCheck()
    c = st.columns(3)
    draft_b = link.number_input(
        c[0],
        "Draft model (billions of parameters)",
        0.01,
        1000.0,
        1.0,
        key="i_draft",
        help="A small dense model on the same device, at the same precision and context.",
    )
    alpha = link.slider(
        c[1],
        "Acceptance rate α",
        0.0,
        0.99,
        0.7,
        0.01,
        key="i_alpha",
        help="Expected share of drafted tokens the target accepts (Leviathan et al. measured 0.5–0.9).",
    )
    gamma = link.slider(c[2], "Drafted tokens per step γ", 1, 16, 4, key="i_gamma")
    link.show()
    if draft_b * 1e9 >= setup.n_active:
        st.warning("A draft as large as the target cannot speed it up: choose a smaller draft model.")
        return
    try:
        sp = speculative.speculative_point(setup, draft_b * 1e9, alpha, int(gamma), batch)
    except FlopwiseError as exc:
        st.error(fmt.plain(exc))
        return
    m = st.columns(4)
    m[0].metric("Tokens per target run", fmt.short(sp.expected_tokens_per_step))
    m[1].metric("Speed-up", f"{fmt.short(sp.speedup)}×")
    m[2].metric("Speculative (ms per token)", fmt.short(sp.decode_ms_per_token))
    m[3].metric("Best γ at this α", f"{sp.optimal_gamma}" if sp.optimal_gamma else "none")
    st.caption(
        f"The draft's step takes {fmt.short(sp.c)}× the target's (c); the target verifies γ + 1 = "
        f"{int(gamma) + 1} "
        f"tokens per sequence in one run of {fmt.short(sp.verify_ms)} ms. Leviathan et al.'s Theorem 3.8 "
        "gives "
        f"{fmt.short(sp.speedup_theorem)}× at this c; the roofline counts the longer verification run too. "
        f"Arithmetic grows {fmt.short(sp.ops_increase)}× (Theorem 3.11). Both models held: "
        f"{fmt.sig(sp.memory_bytes / 1e9)} GB{'' if sp.fits else ', more than the device holds'}."
    )
    explain(
        "How speculative decoding is computed",
        speculative.SPECULATIVE_DECODING,
        values={"α": alpha, "γ": int(gamma), "c": fmt.short(sp.c)},
    )


@st.fragment
def test_time_section(setup: serving.ServingSetup, point: serving.ServingPoint) -> None:
    """Kinetics (Sadhukhan et al. 2025): what thinking longer or sampling n answers costs."""
    link = LinkCheck()
    c = st.columns(4)
    l_in = link.number_input(c[0], "Prompt tokens", 0, 1_000_000, 1000, 100, key="i_tt_in")
    l_out = link.number_input(c[1], "Generated tokens per trial", 1, 1_000_000, 4000, 100, key="i_tt_out")
    trials = link.number_input(c[2], "Trials (best-of-n)", 1, 1024, 1, key="i_tt_trials")
    own = link.radio(
        c[3],
        "Memory weight I",
        ["Kinetics' 562.5", "this device's ridge point"],
        key="i_tt_intensity",
        help="FLOPs one byte of KV traffic is worth: the authors' value (the B200 in their code), or peak ÷ "
        "bandwidth of the device chosen above.",
    )
    kv = setup.kv_layout
    intensity = (
        test_time.device_intensity(setup.device, setup.dtype)
        if own != "Kinetics' 562.5"
        else test_time.KINETICS_INTENSITY
    )
    cost = test_time.kinetics_cost(
        setup.params_held,
        n_layers=kv.n_layers,
        n_heads=kv.n_heads,
        n_kv_heads=max(kv.kv_heads, 1),
        head_dim=kv.head_dim,
        input_tokens=int(l_in),
        output_tokens=int(l_out),
        trials=int(trials),
        intensity=intensity,
    )
    m = st.columns(4)
    m[0].metric("eFLOPs per query", fmt.sci(cost.eflops))
    m[1].metric("Compute C_comp", fmt.sci(cost.c_comp))
    m[2].metric("Memory I·C_mem", fmt.sci(cost.memory_eflops))
    m[3].metric("Memory's share", f"{cost.memory_share:.0%}")
    generated = int(trials) * int(l_out)
    per_query = test_time.generation_cost_usd(generated, point.usd_per_mtok)
    seconds = test_time.sequence_seconds(int(l_out), point.decode_ms_per_token)
    st.caption(
        f"{int(trials):,} × {int(l_out):,} = {generated:,} generated tokens per query: at the batch above, "
        f"{fmt.money(per_query)} per query, and {fmt.short(seconds)} s until one trial's last token. "
        "Attention over a long KV cache, not the parameters, dominates long reasoning: the memory term grows "
        "with the square of the generated length."
    )
    c = st.columns(2)
    queries = link.select_slider(
        c[0],
        "Queries over the model's life",
        [1e6, 1e7, 1e8, 1e9, 1e10, 1e11],
        value=1e9,
        format_func=fmt.count,
        key="i_tt_queries",
    )
    answer = link.number_input(
        c[1], "Tokens of an answer without reasoning", 1, 100_000, 300, 50, key="i_tt_answer"
    )
    link.show()
    plain_tokens = test_time.reasoning_lifetime_tokens(queries, int(answer))
    thinking = test_time.reasoning_lifetime_tokens(queries, int(answer), max(generated - int(answer), 0))
    plain_cost = test_time.generation_cost_usd(plain_tokens, point.usd_per_mtok)
    thinking_cost = test_time.generation_cost_usd(thinking, point.usd_per_mtok)
    m = st.columns(3)
    m[0].metric("Lifetime tokens, answers only", fmt.count(float(plain_tokens)))
    m[1].metric("Lifetime tokens, with reasoning", fmt.count(float(thinking)))
    m[2].metric(
        "Lifetime serving cost, with reasoning",
        fmt.money(None if thinking_cost is None else float(thinking_cost)),
        help=f"Answers only: {fmt.money(None if plain_cost is None else float(plain_cost))}.",
    )
    explain(
        "How test-time compute is computed",
        test_time.TEST_TIME_KINETICS,
        values={
            "n": int(trials),
            "P": fmt.count(setup.params_held),
            "L_in": f"{int(l_in):,}",
            "L_out": f"{int(l_out):,}",
            "I": fmt.intensity(intensity),
        },
    )


@st.fragment
def routing_section(point: serving.ServingPoint) -> None:
    """A share q of the queries to a small model: the cost q·c_small + (1 − q)·c_large."""
    link = LinkCheck()
    c = st.columns(3)
    q = link.slider(c[0], "Share of queries routed to the small model q", 0.0, 1.0, 0.5, 0.05, key="i_q")
    small = link.number_input(
        c[1],
        "Small model's cost per 1M tokens ($)",
        0.0,
        1000.0,
        0.05,
        0.01,
        key="i_small_cost",
        help="From its own setup above, or a provider's price.",
    )
    quality = link.number_input(
        c[2],
        "Small model's quality, relative to this one",
        0.0,
        1.0,
        0.9,
        0.01,
        key="i_small_quality",
        help="Your estimate (an accuracy ratio on your task): no law predicts it.",
    )
    link.show()
    if point.usd_per_mtok is None:
        st.info("Give a price per device-hour above to compare costs.")
        return
    blended = float(test_time.routed_cost(q, small, point.usd_per_mtok))
    st.markdown(
        f"Routing {q:.0%} of queries to the small model costs **{fmt.money(blended)} per 1M tokens**, "
        "against "
        f"{fmt.money(point.usd_per_mtok)} for this model alone "
        f"({fmt.short(blended / point.usd_per_mtok * 100)}% of "
        f"it); quality, by your estimate, {q * quality + (1 - q):.0%} of this model's."
    )
    explain("How routing is computed", test_time.ROUTING, values={"q": q})


st.title("Inference")
st.caption(
    "How will we serve it, and what does that change? One device's roofline over batch size: decode "
    "latency, throughput and cost from device time, the KV cache of each attention variant, speculative "
    "decoding, test-time compute and routing."
)


@st.fragment
def served(setup: serving.ServingSetup) -> None:
    """Everything that depends on the batch: moving it reruns this part only (the model's inputs
    above stay as they are); the sections below are fragments of their own inside it."""
    link = LinkCheck()
    point = batch_section(link, setup)
    link.show()
    explain("How the serving numbers are computed", serving.SERVING_BATCH, serving.KV_CACHE_VARIANTS)
    if point is None:
        return
    st.subheader("Precision and attention at this batch")
    variants_section(setup, point.batch)
    st.subheader("Speculative decoding")
    speculative_section(setup, point.batch)
    st.subheader("Test-time compute")
    test_time_section(setup, point)
    st.subheader("Routing to a smaller model")
    routing_section(point)


link = LinkCheck()
try:
    setup = model_inputs(link, devices(db.version()))
except FlopwiseError as exc:
    link.show()
    st.error(fmt.plain(exc))
    st.stop()
link.show()
st.subheader("Latency and throughput over batch")
served(setup)
