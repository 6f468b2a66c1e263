"""Plan: from a budget to a recommendation, with cost, energy, carbon, inference and live fronts."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import streamlit as st

from engine.analysis import hyperparams, plan, registry, serving_strategy
from engine.analysis.fit import allocation_band
from engine.cost import carbon, inference, microbench
from engine.cost.footprint import SERVING_DEVICE_HOURS, TRAINING_FOOTPRINT
from engine.cost.lifetime import LIFETIME_OPTIMUM
from engine.data import store
from engine.errors import LawError
from engine.laws.base import COMPUTE_OPTIMAL, LEAST_COMPUTE_FOR_LOSS
from ui import db, figures
from ui import format as fmt
from ui.scenario_tables import FRONT_AXES, FRONT_WORDS, PLAN_FRONT_WORDS
from ui.scenario_widgets import save_form
from ui.tables import scenario_table
from ui.url import LinkCheck
from ui.widgets import explain, lazy_expander

DEFAULTS = plan.PlanInputs()
B_PARAM = "plan_b"  # scenario B in the URL: plan.Candidate.to_param()
# The mode radio's words (what the URL holds) for each engine mode.
MODE_LABELS = {
    plan.PlanMode.BUDGET: "Compute budget",
    plan.PlanMode.DEVICES_DAYS: "Devices × days",
    plan.PlanMode.TARGET_LOSS: "Target loss",
}
MODES = {label: mode for mode, label in MODE_LABELS.items()}
# The front selector's words (what the URL holds) for each objective, its axis label, and its words
# in a sentence ("at no more lifetime cost than A").
FRONTS = {word: objective for objective, word in PLAN_FRONT_WORDS.items()}  # the radio's words
AXIS_LABELS = FRONT_AXES
# Widgets whose URL key or unit differ from their PlanInputs field: key -> (field, to engine, from engine).
CONVERTED = {
    "plan_mode": ("plan_mode", MODES.__getitem__, MODE_LABELS.__getitem__),
    "inference_tokens_t": ("inference_tokens", lambda t: t * 1e12, lambda n: n / 1e12),  # trillions
    "plan_front": ("front_objective", FRONTS.__getitem__, {v: k for k, v in FRONTS.items()}.__getitem__),
}


def to_inputs(values: dict) -> plan.PlanInputs:
    """The widgets' values (by widget key, in the page's units) as engine inputs."""
    engine_values = {}
    for key, value in values.items():
        field, to_engine, _ = CONVERTED.get(key, (key, None, None))
        engine_values[field] = to_engine(value) if to_engine else value
    return dataclasses.replace(DEFAULTS, **engine_values)


def link_params(inputs: plan.PlanInputs) -> dict[str, str]:
    """The scenario as the URL's query parameters: each widget's key and value, as the widgets
    bind them (booleans as true/false)."""
    engine_keys = {field: (key, from_engine) for key, (field, _, from_engine) in CONVERTED.items()}
    out = {}
    for field, value in inputs.to_json().items():
        key, from_engine = engine_keys.get(field, (field, None))
        value = from_engine(getattr(inputs, field)) if from_engine else value
        out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


@st.cache_data(show_spinner=False)
def grids() -> dict:
    return carbon.load_grid_intensities()


@st.cache_data(show_spinner=False)
def devices(version: tuple) -> dict:
    with db.session() as con:
        return store.all_devices(con)


@st.cache_data(show_spinner=False)
def measurements(version: tuple) -> dict:
    with db.session() as con:
        return {b["bench_id"]: b for b in store.list_benchmarks(con)}


@st.cache_data(show_spinner=False)
def saved_fits(version: tuple) -> dict:
    """Saved fits by law id: (law, bootstrap samples or None)."""
    with db.session() as con:
        return registry.saved_fit_laws(store.list_fits(con))


@st.cache_data(show_spinner=False, max_entries=64)
def evaluate(inputs: plan.PlanInputs, law, device) -> plan.PlanResult:
    return plan.evaluate(inputs, law, device, grids())


def evaluate_b(result: plan.PlanResult, candidate: plan.Candidate, law, device) -> plan.PlanResult:
    # not cached: evaluating one candidate takes less time than hashing a PlanResult for the cache
    return plan.evaluate_candidate(result, candidate, law, device, grids())


@st.cache_data(show_spinner=False, max_entries=16)
def front_view(
    inputs: plan.PlanInputs, law, device, grid, objective: str, budget: float | None
) -> plan.FrontView:
    return plan.front_view(inputs, law, device, grid, objective, budget=budget)


def scenario_inputs(
    link: LinkCheck, all_laws: dict, all_devices: dict, version: tuple
) -> tuple[dict, object]:
    """The widgets, each bound to the URL under its key (a PlanInputs field, or CONVERTED's), as
    widget values, with the empty slot where ``budget_input`` draws the mode's own quantity."""
    top = st.columns([2, 3, 2, 2])
    mode = link.radio(top[0], "Plan from", list(MODES), key="plan_mode")
    values: dict = {"plan_mode": mode}
    budget_slot = top[1].container()
    values["n_devices"] = link.number_input(
        top[2], "Devices", 1, 1_000_000, DEFAULTS.n_devices, 8, key="n_devices"
    )
    law_ids = list(all_laws)
    values["plan_law"] = link.selectbox(
        top[3], "Law", law_ids, index=law_ids.index(DEFAULTS.plan_law), key="plan_law"
    )

    hw = st.columns([3, 1, 2, 2, 2])
    hw_ids = list(all_devices)
    # Options are ids (the URL holds the option's text); the full name is shown beneath.
    values["hardware"] = link.selectbox(
        hw[0], "Hardware", hw_ids, index=hw_ids.index(DEFAULTS.hardware), key="hardware"
    )
    hw[0].caption(fmt.plain(all_devices[values["hardware"]].name))
    hw[0].page_link("app_pages/hardware.py", label="Not listed? Add your own device", icon=":material/add:")
    stored = measurements(version)
    values["use_measured"] = hw[0].toggle(
        "Use measured",
        key="use_measured",
        disabled=not stored,
        bind="query-params",
        help="Replace the catalog peaks and bandwidth by a microbenchmark of this machine (Hardware page).",
    )
    if values["use_measured"] and stored:
        values["measurement"] = link.selectbox(hw[0], "Measurement", list(stored), key="measurement")
    device_now = measured_or_catalog(values, all_devices, stored)
    dtypes = device_now.supported_dtypes
    values["train_dtype"] = link.selectbox(
        hw[1], "Data type", dtypes, index=dtypes.index("bf16") if "bf16" in dtypes else 0, key="train_dtype"
    )
    values["mfu_train"] = link.slider(
        hw[2], "MFU, training", 0.05, 0.8, DEFAULTS.mfu_train, 0.001, key="mfu_train", format="%.3f"
    )
    values["mfu_prefill"] = link.slider(
        hw[3], "MFU, prefill", 0.05, 0.8, DEFAULTS.mfu_prefill, 0.01, key="mfu_prefill"
    )
    values["mfu_decode"] = link.slider(
        hw[4],
        "MFU, decode",
        0.005,
        0.5,
        DEFAULTS.mfu_decode,
        0.005,
        key="mfu_decode",
        format="%.3f",
        help="Generation runs far below peak (Sardana et al.'s code assumes 1%).",
    )

    use = st.columns([2, 2, 3, 2])
    values["inference_tokens_t"] = link.number_input(
        use[0],
        "Tokens served (trillions)",
        0.0,
        1e6,
        DEFAULTS.inference_tokens / 1e12,
        0.5,
        key="inference_tokens_t",
        help="Lifetime tokens served by the model, prompt and output.",
    )
    values["prompt_fraction"] = link.slider(
        use[1], "Share that is prompt", 0.0, 1.0, DEFAULTS.prompt_fraction, 0.05, key="prompt_fraction"
    )
    regions = list(grids())
    values["region"] = link.selectbox(
        use[2], "Grid region", regions, index=regions.index(DEFAULTS.region), key="region"
    )
    values["use_custom_grid"] = use[3].toggle(
        "Own grid intensity",
        key="use_custom_grid",
        bind="query-params",
        help="Enter the gCO2e per kWh of your data centre's supply.",
    )
    if values["use_custom_grid"]:
        values["custom_grid"] = link.number_input(
            use[3], "gCO2e per kWh", 0.0, 2000.0, DEFAULTS.custom_grid, 10.0, key="custom_grid"
        )
    site = st.columns([2, 2, 3, 2])
    values["pue"] = link.number_input(
        site[0],
        "PUE",
        1.0,
        3.0,
        DEFAULTS.pue,
        0.01,
        key="pue",
        help="Power usage effectiveness: facility energy ÷ IT energy.",
    )
    values["price"] = link.number_input(
        site[1], "Price ($ per device-hour)", 0.0, 100.0, DEFAULTS.price, 0.1, key="price"
    )
    tdp = device_now.tdp_w
    values["power_w"] = link.number_input(
        site[2],
        "Average power per device (W; 0 = catalog)",
        0.0,
        5000.0,
        DEFAULTS.power_w,
        10.0,
        key="power_w",
        help="Average power drawn per device while training and serving; 0 uses the catalog TDP"
        + (f" ({tdp:,.0f} W for this device)." if tdp else " (none is known for this device)."),
    )
    values["memory_limit_gb"] = link.number_input(
        site[3],
        "Serving memory limit (GB; 0 = none)",
        0.0,
        100_000.0,
        DEFAULTS.memory_limit_gb,
        8.0,
        key="memory_limit_gb",
        help="Keep only the candidates whose weights and one sequence's KV cache fit in this much memory; "
        "it also limits the batch each candidate is served at.",
    )
    values["latency_limit_ms"] = link.number_input(
        site[3],
        "Serving latency limit (ms per token; 0 = none)",
        0.0,
        10_000.0,
        DEFAULTS.latency_limit_ms,
        5.0,
        key="latency_limit_ms",
        help="The cost and CO2e fronts serve each candidate at its cheapest batch and speculative setting "
        "that keeps a sequence's tokens this far apart at most.",
    )
    return values, budget_slot


def budget_input(link: LinkCheck, slot, mode: str) -> dict:
    """The mode's own quantity (the compute budget, the target loss or the days), drawn in ``slot``
    by ``plan_body``, so that changing it reruns the results and not every input above them."""
    with slot:
        if MODES[mode] is plan.PlanMode.BUDGET:
            log10_flops = link.slider(
                st,
                "Training compute (log10 FLOPs)",
                18.0,
                27.0,
                DEFAULTS.log10_flops,
                0.01,
                key="log10_flops",
                help="23.76 is Chinchilla's budget, 5.76e23 FLOPs.",
            )
            st.caption(f"10^{log10_flops:.2f} = {fmt.flops(10**log10_flops)}")
            return {"log10_flops": log10_flops}
        if MODES[mode] is plan.PlanMode.TARGET_LOSS:
            return {
                "target_loss": link.number_input(
                    st,
                    "Target loss (nats/token, on the law's data set)",
                    0.5,
                    10.0,
                    DEFAULTS.target_loss,
                    0.01,
                    key="target_loss",
                )
            }
        return {
            "days": link.number_input(st, "Days of training", 0.5, 3650.0, DEFAULTS.days, 1.0, key="days")
        }


def measured_or_catalog(values: dict, all_devices: dict, stored: dict):
    """The catalog device, or with "use measured" one built from the chosen benchmark."""
    if values.get("use_measured") and values.get("measurement") in stored:
        record = stored[values["measurement"]]
        like = all_devices.get(microbench.catalog_match(record["result"]["machine"]) or "")
        return microbench.measured_device(record["result"], bench_id=record["bench_id"], like=like)
    return all_devices[values["hardware"]]


def device_values(result: plan.PlanResult, device) -> dict:
    """This scenario's value of each hardware and site symbol of the footprint formulas
    (engine.cost.footprint), as the explain() tables show them."""
    inputs, grid = result.inputs, result.grid
    power = inputs.power_override_w
    return {
        "peak": f"{fmt.flop_rate(device.peak_flops(inputs.train_dtype))} ({inputs.train_dtype}, dense)",
        "n": inputs.n_devices,
        "P": f"{power:,.0f} W (entered)"
        if power
        else (f"{device.tdp_w:,.0f} W (catalog TDP)" if device.tdp_w else None),
        "PUE": inputs.pue,
        "I_grid": f"{grid.g_co2_per_kwh:.4g} ({grid.label}{', ' + grid.year if grid.year else ''})",
        "A_die": None if device.die_area_cm2 is None else f"{device.die_area_cm2:g} cm²",
        "CPA": None if device.cpa_kg_per_cm2 is None else f"{device.cpa_kg_per_cm2:g} kg/cm²",
        "M": f"{device.memory_gb:g} GB",
        "p": f"{fmt.money(inputs.price)} per device-hour",
    }


def hyperparameters_line(result: plan.PlanResult) -> None:
    """The recommended model's peak learning rate and batch size, by the Step Law."""
    law = hyperparams.STEP_LAW
    rec = law.recommend(result.n_params, result.n_tokens)
    st.markdown(
        f"**Train it with** a peak learning rate of {fmt.sci(rec.learning_rate)} and batch size of "
        f"{fmt.count(rec.batch_size_tokens, 'tokens')} "
        f"({fmt.sig(rec.batch_size_sequences(inference.DEFAULT_SEQ_LEN))} sequences of "
        f"{inference.DEFAULT_SEQ_LEN:,} tokens)."
    )
    outside = bool(law.outside_fitted_range(result.n_params, result.n_tokens))
    (n_lo, n_hi), (d_lo, d_hi) = law.fitted_n, law.fitted_d
    warning = (
        f"{fmt.count(result.n_params)} parameters on {fmt.count(result.n_tokens, 'tokens')} lies outside the "
        f"range the Step Law was fitted on ({fmt.count(n_lo)} to {fmt.count(n_hi)} parameters, "
        f"{fmt.count(d_lo)} to {fmt.count(d_hi, 'tokens')}): these values are an extrapolation."
        if outside
        else None
    )
    explain(
        "How the learning rate and batch size were chosen",
        law,
        values={
            "N (parameters; the law's N is non-embedding, the plan's is total)": fmt.count(result.n_params),
            "D (tokens)": fmt.count(result.n_tokens),
        },
    )
    if warning:
        st.caption(f"⚠ {warning}")


def headline(result: plan.PlanResult, device, law, samples=None) -> None:
    a, b, c, d = st.columns(4)
    band = None
    if samples is not None and result.inputs.plan_mode is not plan.PlanMode.TARGET_LOSS:
        band = allocation_band(samples, [result.flops]).iloc[0]
    a.metric(
        "Parameters N",
        fmt.count(result.n_params),
        help=None
        if band is None
        else f"95% band from the fit's bootstrap: {fmt.count(band.n_params_lo)} to "
        f"{fmt.count(band.n_params_hi)}",
    )
    b.metric(
        "Training tokens D",
        fmt.count(result.n_tokens),
        help=None
        if band is None
        else f"95% band: {fmt.count(band.n_tokens_lo)} to {fmt.count(band.n_tokens_hi)}",
    )
    c.metric("Tokens per parameter", fmt.ratio(result.tokens_per_param))
    d.metric("Predicted loss (nats/token)", f"{result.loss:.4f}")
    if result.inputs.plan_mode is not plan.PlanMode.BUDGET:
        st.caption(f"Training compute: {fmt.flops(result.flops)}.")
    if band is not None:
        st.caption(
            f"Your fit's 95% bootstrap band at this budget: N* {fmt.count(band.n_params_lo)}–"
            f"{fmt.count(band.n_params_hi)}, D* {fmt.count(band.n_tokens_lo)}–{fmt.count(band.n_tokens_hi)}."
        )
    target = result.inputs.plan_mode is plan.PlanMode.TARGET_LOSS
    explain(
        "How the model was chosen",
        LEAST_COMPUTE_FOR_LOSS if target else COMPUTE_OPTIMAL,
        law,
        values={
            **({"ℓ": f"{result.loss:.4f}", "L*(C)": f"{result.loss:.4f}"} if target else {}),
            "C": fmt.flops(result.flops),
            "N": fmt.count(result.n_params),
            "D": fmt.count(result.n_tokens),
            "L": f"{result.loss:.4f} ({law.info.title})",
        },
        note="In devices × days mode C is what the devices deliver in that time at the training MFU (the "
        "footprint's device-hours, below, read backwards)."
        if result.inputs.plan_mode is plan.PlanMode.DEVICES_DAYS
        else "",
    )
    hyperparameters_line(result)
    t = result.train
    e1, e2, e3, e4, e5 = st.columns(5)
    e1.metric("Training device-hours", fmt.count(t.device_hours))
    e2.metric("Wall-clock days", fmt.sig(t.wall_days))
    e3.metric("Training energy (MWh)", fmt.DASH if t.energy_kwh is None else fmt.sig(t.energy_kwh / 1000))
    e4.metric(
        "Training tCO2e",
        fmt.DASH if t.co2_kg is None else fmt.sig(t.co2_kg / 1000),
        help=None if t.embodied_co2_kg is None else f"+ {fmt.sig(t.embodied_co2_kg / 1000)} t embodied",
    )
    e5.metric("Training cost", fmt.money(t.cost_usd))
    explain(
        "How the footprint is computed",
        TRAINING_FOOTPRINT,
        values={
            "C": fmt.flops(result.flops),
            "MFU": result.inputs.mfu_train,
            **device_values(result, device),
        },
        note=f"Hardware: {fmt.plain(device.source)}. Grid: {fmt.plain(result.grid.source)}.",
    )
    if result.total_co2_kg is not None:
        parts = [f"{fmt.sig(n)} {e.label}" for n, e in carbon.equivalents(result.total_co2_kg)]
        st.caption(
            f"Lifetime (training + serving) {fmt.sig(result.total_co2_kg / 1000)} tCO2e ≈ "
            f"{'; or '.join(parts)} ({carbon.EQUIVALENTS[0].source})."
        )


def serving_section(result: plan.PlanResult, device, law) -> None:
    inf = result.inference
    s1, s2, s3, s4 = st.columns(4)
    s1.metric("Decode latency (ms/token)", fmt.short(inf.decode_s_per_step * 1e3))
    s2.metric("Throughput (tokens/s, batch 1)", fmt.short(inf.tokens_per_s))
    s3.metric("Cost per 1M tokens", fmt.money(inf.cost_per_million_tokens_usd))
    s4.metric(
        "Lifetime serving cost",
        fmt.money(result.serve.cost_usd) if result.serve else fmt.DASH,
        help="At the cheapest serving strategy of the fronts (its batch and speculative decoding); the "
        "latency and throughput beside it are one sequence at batch 1.",
    )
    batch = int(result.point.get("serve_batch", 1) or 1)
    drafted = bool(result.point.get("speculative", False))
    st.caption(
        f"Served over its life at batch {batch:,}"
        + (" with speculative decoding" if drafted else "")
        + ": the cheapest way the fronts found for this model within the memory and latency limits."
    )
    arch = inf.architecture
    shape = (
        f"; shape {'assumed from N' if inf.shape_assumed else 'given'}: {inference.shape_words(arch)}"
        if arch
        else ""
    )
    st.caption(
        f"{inf.explain()} Weights {fmt.sig(inf.weight_bytes / 1e9)} GB, KV cache "
        f"{fmt.sig(inf.kv_cache_bytes / 1e9)} GB at {inf.context_tokens:,.0f} tokens of context on one "
        f"{fmt.plain(device.name)}{fmt.plain(shape)}."
    )
    inputs = result.inputs
    st.page_link(
        "app_pages/inference.py",
        label="Batch, KV cache, speculative decoding, test-time compute for this model: the Inference page",
        icon=":material/speed:",
        query_params={"i_params": f"{result.n_params / 1e9:.4g}", "i_hardware": device.hardware_id},
    )
    prompt = inputs.inference_tokens * inputs.prompt_fraction
    explain(
        "How the serving numbers are computed",
        inference.SERVING_ROOFLINE,
        SERVING_DEVICE_HOURS,
        serving_strategy.SERVING_STRATEGY,
        values={
            "b": 1,
            "N": fmt.count(result.n_params),
            "n_layer, d_attn": f"{arch.n_layers:,}, {arch.d_attn:,}" if arch else None,
            "L_ctx": f"{inf.context_tokens:,.0f} tokens",
            "n_kv, d_head": f"{arch.kv_heads:,}, {arch.head_dim:,}" if arch else None,
            "MFU_decode": inputs.mfu_decode,
            "MFU_prefill": inputs.mfu_prefill,
            "W": f"{fmt.sig(inf.weight_bytes / 1e9)} GB",
            "bits": fmt.short(inf.weight_bytes * 8 / result.n_params),
            "KV": f"{fmt.sig(inf.kv_cache_bytes / 1e9)} GB",
            "bytes": fmt.short(inference.BYTES_PER_ELEMENT[inputs.train_dtype]) + f" ({inputs.train_dtype})",
            "BW": f"{fmt.short(device.bandwidth_gb_s)} GB/s",
            "t_token": f"{fmt.short(inf.decode_s_per_step * 1e3)} ms",
            "D_in": fmt.count(prompt, "tokens"),
            "D_out": fmt.count(inputs.inference_tokens - prompt, "tokens"),
            **device_values(result, device),
        },
    )
    if result.lifetime and result.inputs.inference_tokens > 0:
        lt = result.lifetime
        st.markdown(
            f"**Inference-aware alternative** (Sardana et al. 2024, cost version) for the same loss: "
            f"{fmt.count(lt.n_params, 'params')} on {fmt.count(lt.n_tokens, 'tokens')} — "
            f"{lt.n_params / result.n_params:.0%} of the parameters, "
            f"{lt.n_tokens / result.n_tokens:.2f}× the tokens."
        )
        explain(
            "How the inference-aware alternative is computed",
            LIFETIME_OPTIMUM,
            values={
                "ℓ": f"{lt.loss:.4f}",
                "E, A, B, α, β": ", ".join(fmt.constant(v) for v in law.parameters.values()),
                "D_in, D_out": (
                    f"{fmt.count(prompt, 'tokens')}, {fmt.count(inputs.inference_tokens - prompt, 'tokens')}"
                ),
                "MFU_tr, MFU_prefill, MFU_decode": (
                    f"{inputs.mfu_train:g}, {inputs.mfu_prefill:g}, {inputs.mfu_decode:g}"
                ),
                "c": "the same for training and serving here: it cancels from w",
                "w": fmt.count(lt.inference_weight, "tokens"),
            },
        )


def scenario_b(link: LinkCheck | None = None) -> plan.Candidate | None:
    """Scenario B from the URL, or None; with ``link``, a B that cannot be read gets a notice."""
    raw = st.query_params.get(B_PARAM)
    if not raw:
        return None
    try:
        return plan.Candidate.from_param(raw)
    except ValueError as exc:
        if link is not None:
            link.note(
                f"The link's scenario B ({fmt.plain(raw)}) cannot be read: {fmt.plain(exc)}. Showing A only."
            )
        return None


def pick_b(chart_key: str) -> None:
    """on_select of a front chart: the first selected candidate becomes scenario B (in the URL)."""
    selection = st.session_state.get(chart_key)
    points = (selection or {}).get("selection", {}).get("points", [])
    shown = st.session_state.get("plan_front_shown")
    if not points or shown is None or shown["key"] != chart_key:
        return
    rows = figures.picked_rows(shown["figure"], points)
    if not rows:
        st.session_state["plan_b_note"] = (
            "That point is a scenario marker, not a candidate: click a grey or blue point."
        )
        return
    candidate = plan.Candidate.from_row(shown["frame"].iloc[rows[0]])
    st.query_params[B_PARAM] = candidate.to_param()
    st.session_state["plan_b_note"] = (
        f"{len(rows):,} candidates selected: B is the first of them ({fmt.count(candidate.n_params)} active "
        f"parameters on {fmt.count(candidate.n_tokens)} tokens). Click a single point to pick another."
        if len(rows) > 1
        else None
    )


def clear_b() -> None:
    st.query_params.pop(B_PARAM, None)
    st.session_state["plan_b_note"] = None
    st.session_state["plan_b_generation"] = (
        st.session_state.get("plan_b_generation", 0) + 1
    )  # resets the selection


def fronts_section(
    link: LinkCheck, result: plan.PlanResult, law, device, candidate_b, objective: str
) -> plan.PlanResult | None:
    """The front for ``objective``; a click on a point makes it scenario B (returned, evaluated)."""
    inputs = result.inputs
    budget = None if inputs.plan_mode is plan.PlanMode.TARGET_LOSS else result.flops
    view = front_view(inputs, law, device, result.grid, objective, budget)
    alt = evaluate_b(result, candidate_b, law, device) if candidate_b else None
    if view.front.empty:
        st.info(f"No {AXIS_LABELS[objective].lower()} for this device (a figure it needs is missing).")
        return alt
    laws = "; ".join(
        f"{role}: {law_id} ({'verified' if verified else 'NOT verified'})"
        for role, law_id, verified in plan.candidate_laws(law)
    )
    front = view.front
    mix = "; ".join(
        ", ".join(f"{word(v)}: {k:,}" for v, k in front[column].value_counts().sort_index().items())
        for column, word in (
            ("serve_bits", lambda b: f"{b:g}-bit"),
            ("experts", lambda e: "dense" if e == 1 else f"{e:g} experts"),
            ("sparsity", serving_strategy.sparsity_words),
            ("fp8_training", lambda f: "FP8-trained" if f else f"{inputs.train_dtype}-trained"),
        )
    )
    st.caption(
        f"Searched {view.count:,} candidates: active parameters × tokens"
        + (f" within {fmt.flops(budget)}" if budget else "")
        + f" × serving precision ({', '.join(f'{b:g}' for b in plan.SERVING_BITS)} bits) × experts "
        f"({', '.join(str(e) for e in plan.EXPERTS)}) × weight sparsity (unpruned, or 2:4 trained at "
        f"its dense size's cost, Frantar et al. 2024) × training format ({inputs.train_dtype}, or FP8 "
        "at the device's FP8 peak, Sun et al. 2025), each served at its own strategy (batch "
        f"{', '.join(str(b) for b in plan.SERVING_BATCHES)}, with or without a speculative draft: "
        f"{plan.strategy_rule(inputs, objective)}). {fmt.plain(plan.front_words(view))} The {len(front):,} "
        f"on the front, by precision, experts, sparsity and training format: {mix}. Laws behind every point: "
        f"{fmt.plain(laws)}. The PTQ, MoE, sparsity and FP8 terms are differences transferred across data "
        "sets, an approximation. "
        "Click a point to compare it as scenario B."
    )
    chosen = {"A": (result.point[objective], result.point["loss"])}
    if alt is not None:
        chosen["B"] = (alt.point[objective], alt.point["loss"])
    figure = figures.pareto_figure(
        view, x_label=AXIS_LABELS[objective], loss_label="Loss (nats/token)", chosen=chosen, provenance=laws
    )
    key = f"front_{objective}_{st.session_state.get('plan_b_generation', 0)}"
    st.session_state["plan_front_shown"] = {"key": key, "figure": figure, "frame": view.frame}
    st.plotly_chart(figure, key=key, on_select=lambda: pick_b(key), selection_mode=("points", "box", "lasso"))
    gap = plan.front_gap(front, objective, *chosen["A"])
    if gap is not None:
        row = gap["row"]
        st.caption(
            f"A lies {gap['gap']:.4f} nats/token above the front: at no more "
            f"{FRONT_WORDS[objective]} than A, "
            f"{fmt.count(row['n_params'])} active parameters on {fmt.count(row['n_tokens'])} tokens, "
            f"{configuration_of(row)}, "
            f"reach {row['loss']:.4f}. "
            "A is the law's "
            "compute-optimal dense, unpruned 16-bit model; the front also searches experts, serving "
            "precision, 2:4 sparsity and FP8 training, and may spend less than the whole budget."
        )
    if note := st.session_state.get("plan_b_note"):
        st.info(note)
    return alt


def configuration_of(point: dict) -> str:
    """A candidate's row (or point) in words: experts, serving bits, sparsity, training format."""
    return fmt.configuration(
        point["experts"], point["serve_bits"], point.get("sparsity", 0.0), point.get("fp8_training", False)
    )


def comparison_section(result: plan.PlanResult, alt: plan.PlanResult | None) -> None:
    """A's numbers in a table, with B's beside them once a point is picked. The table and the
    button are there before B is (the button disabled): the browser then loads their code with
    the page, not on the first click."""
    if alt is None:
        st.markdown("**Scenario A (recommended)**")
        st.caption("No scenario B yet: click a point on the front to compare it with A here.")
    else:
        st.markdown(
            f"**Scenario A (recommended) against B (picked on the front: {configuration_of(alt.point)})**"
        )
    st.table(scenario_table(plan.results_frame(*(r for r in (result, alt) if r is not None))))
    st.button("Clear B", key="clear_b", on_click=clear_b, disabled=alt is None)


def share_section(result: plan.PlanResult, alt: plan.PlanResult | None, law, device) -> None:
    """The link, the JSON and CSV exports and the save form, built only while their expander is
    open: together they cost every budget rerun about 40 ms in the browser (a code block, two
    download buttons, a form), and the address bar holds the scenario meanwhile (the inputs changed
    from their defaults)."""
    st.subheader("Share and export")
    st.caption(
        "The address bar's link reproduces this scenario: it holds every input changed from its default"
        + (", and B" if alt else "")
        + ". The link below pins every input, defaults included."
    )
    box = lazy_expander(
        "Copy the link, export JSON or CSV, or save the scenario for the team", key="plan_share_shown"
    )
    if box is None:
        return
    with box:
        params = link_params(result.inputs)
        if alt is not None:
            params[B_PARAM] = alt.candidate.to_param()
        page_url = (st.context.url or "").split("?")[0]
        st.code(f"{page_url}?{urlencode(params)}", language=None, wrap_lines=True)
        text = plan.export_json(result, law, device)  # 0.2 ms: cheaper than a cache lookup
        with st.container(horizontal=True, vertical_alignment="center"):
            st.download_button(
                "Scenario as JSON",
                text,
                file_name="flopwise_scenario.json",
                mime="application/json",
                key="export_json",
                on_click="ignore",
            )
            st.download_button(
                "Results as CSV",
                lambda: plan.results_frame(*(r for r in (result, alt) if r is not None)).to_csv(index=False),
                file_name="flopwise_results.csv",
                mime="text/csv",
                key="export_csv",
                on_click="ignore",
            )
            shown = st.toggle(
                "Show the JSON",
                key="plan_json_shown",
                help="The scenario as exported: inputs, the law with its constants and citation, "
                "hardware, results.",
            )
        if shown:
            st.code(text, language="json")
        save_form(result, law, device)


@st.fragment
def alternatives(result: plan.PlanResult, law, device) -> None:
    """The fronts, the A/B comparison and the share link: a click on the chart or a front switch
    reruns only this part. B is read from the URL here, where a click writes it."""
    link = LinkCheck()
    front = link.radio(st, "Front: loss against", list(FRONTS), horizontal=True, key="plan_front")
    result = dataclasses.replace(
        result, inputs=dataclasses.replace(result.inputs, front_objective=FRONTS[front])
    )
    alt = fronts_section(link, result, law, device, scenario_b(), FRONTS[front])
    comparison_section(result, alt)
    link.show()
    share_section(result, alt, law, device)


@st.fragment
def plan_body(
    widget_values: dict, budget_slot, all_laws: dict, all_devices: dict, version: tuple, fits
) -> None:
    """The budget (or target, or days) and everything computed from it: moving the budget reruns
    this part only, not the inputs above it (each input drawn again costs the browser time)."""
    link = LinkCheck()
    try:
        values = {**widget_values, **budget_input(link, budget_slot, widget_values["plan_mode"])}
        inputs = to_inputs(values)
        law = all_laws[inputs.plan_law]
        for problem in law.info.problems:  # a saved fit that is not usable says so wherever it is used
            st.warning(f"{fmt.plain(law.info.title)} is not usable: {problem}")
        device = measured_or_catalog(inputs.to_json(), all_devices, measurements(version))
        if inputs.use_measured:
            st.info(
                f"Using measured peaks and bandwidth: {fmt.plain(device.name)}, from "
                f"{fmt.plain(device.source)}. Power and embodied carbon stay those of the catalog "
                "entry it matches, if any."
            )
        result = evaluate(inputs, law, device)
    except (ValueError, LawError) as exc:
        link.show()
        st.error(fmt.plain(exc))
        return
    scenario_b(link)  # a B that cannot be read is said at the top
    link.show()

    for note in result.notes:
        st.info(note)
    st.subheader("Recommendation (scenario A)")
    headline(result, device, law, fits.get(law.id, (None, None))[1])
    st.subheader("Serving")
    serving_section(result, device, law)
    st.subheader("Alternatives")
    alternatives(result, law, device)


st.title("Plan")
st.caption(
    "What should we train with this budget, what will it cost and emit, and what are the alternatives?"
)
version = db.version()
all_devices = devices(version)
fits = saved_fits(version)
all_laws = {
    **{k: v for k, v in registry.LAWS.items() if v.has_loss},
    **{k: law for k, (law, _) in fits.items()},
}
link = LinkCheck()
widget_values, budget_slot = scenario_inputs(link, all_laws, all_devices, version)
link.show()
plan_body(widget_values, budget_slot, all_laws, all_devices, version, fits)
