"""Plan: from a budget to a recommendation, with cost, energy, carbon, inference and live fronts."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from engine import bench, carbon, plan, registry, store
from engine.fit import allocation_band
from engine.laws.base import LawError
from ui import db, figures
from ui import format as fmt
from ui.widgets import device_form

DEFAULTS = plan.PlanInputs()
BOUND = {"bind": "query-params"}  # every scenario widget lives in the URL


@st.cache_data(show_spinner=False)
def grids() -> dict:
    return carbon.load_grid_intensities()


@st.cache_data(show_spinner=False)
def devices(version: tuple) -> dict:
    return store.all_devices(db.cursor())


@st.cache_data(show_spinner=False)
def measurements(version: tuple) -> dict:
    return {b["bench_id"]: b for b in store.list_benchmarks(db.cursor())}


@st.cache_data(show_spinner=False)
def saved_fits(version: tuple) -> dict:
    """Saved fits by law id: (law, bootstrap samples or None)."""
    return registry.saved_fit_laws(store.list_fits(db.cursor()))


@st.cache_data(show_spinner=False, max_entries=64)
def evaluate(inputs: plan.PlanInputs, law, device) -> plan.PlanResult:
    return plan.evaluate(inputs, law, device, grids())


@st.cache_data(show_spinner=False, max_entries=16)
def front_view(inputs: plan.PlanInputs, law, device, grid, objective: str, budget: float | None):
    return plan.front_view(inputs, law, device, grid, objective, budget=budget)


def scenario_inputs(all_laws: dict, all_devices: dict, version: tuple) -> plan.PlanInputs:
    """The widgets, each bound to the URL under its PlanInputs field name."""
    top = st.columns([2, 3, 2, 2])
    mode = top[0].radio("Plan from", plan.MODES, key="plan_mode", **BOUND)
    values: dict = {"plan_mode": mode}
    with top[1]:
        if mode == "Compute budget":
            values["log10_flops"] = st.slider("Training compute (log10 FLOPs)", 18.0, 27.0, DEFAULTS.log10_flops,
                                              0.05, key="log10_flops", **BOUND)
            st.caption(f"Budget: {fmt.flops(10 ** values['log10_flops'])}")
        elif mode == "Target loss":
            values["target_loss"] = st.number_input("Target loss (nats/token, on the law's data set)", 0.5, 10.0,
                                                    DEFAULTS.target_loss, 0.01, key="target_loss", **BOUND)
        else:
            values["days"] = st.number_input("Days of training", 0.5, 3650.0, DEFAULTS.days, 1.0, key="days", **BOUND)
    values["n_devices"] = top[2].number_input("Devices", 1, 1_000_000, DEFAULTS.n_devices, 8, key="n_devices", **BOUND)
    law_ids = list(all_laws)
    values["plan_law"] = top[3].selectbox("Law", law_ids, index=law_ids.index(DEFAULTS.plan_law),
                                          key="plan_law", **BOUND)

    hw = st.columns([3, 1, 2, 2, 2])
    hw_ids = list(all_devices)
    # Options are ids (the URL holds the option's text); the full name is shown beneath.
    values["hardware"] = hw[0].selectbox("Hardware", hw_ids, index=hw_ids.index(DEFAULTS.hardware),
                                         key="hardware", **BOUND)
    hw[0].caption(all_devices[values["hardware"]].name)
    stored = measurements(version)
    values["use_measured"] = hw[0].toggle("Use measured", key="use_measured", disabled=not stored, **BOUND,
                                          help="Replace the catalog peaks and bandwidth by a microbenchmark of this "
                                               "machine (Hardware page).")
    if values["use_measured"] and stored:
        ids = list(stored)
        values["measurement"] = hw[0].selectbox("Measurement", ids, key="measurement", **BOUND)
    device_now = measured_or_catalog(values, all_devices, stored)
    dtypes = device_now.supported_dtypes
    values["train_dtype"] = hw[1].selectbox("Data type", dtypes,
                                            index=dtypes.index("bf16") if "bf16" in dtypes else 0,
                                            key="train_dtype", **BOUND)
    values["mfu_train"] = hw[2].slider("MFU, training", 0.05, 0.8, DEFAULTS.mfu_train, 0.01, key="mfu_train", **BOUND)
    values["mfu_prefill"] = hw[3].slider("MFU, prefill", 0.05, 0.8, DEFAULTS.mfu_prefill, 0.01,
                                         key="mfu_prefill", **BOUND)
    values["mfu_decode"] = hw[4].slider("MFU, decode", 0.005, 0.5, DEFAULTS.mfu_decode, 0.005,
                                        key="mfu_decode", **BOUND,
                                        help="Generation runs far below peak (Sardana et al.'s code assumes 1%).")

    use = st.columns([2, 2, 3, 2, 1, 1])
    values["inference_tokens_t"] = use[0].number_input("Lifetime tokens served (trillions)", 0.0, 1e6,
                                                       DEFAULTS.inference_tokens_t, 0.5, key="inference_tokens_t", **BOUND)
    values["prompt_fraction"] = use[1].slider("Share that is prompt", 0.0, 1.0, DEFAULTS.prompt_fraction, 0.05,
                                              key="prompt_fraction", **BOUND)
    regions = list(grids())
    values["region"] = use[2].selectbox("Grid region", regions, index=regions.index(DEFAULTS.region),
                                        key="region", **BOUND)
    values["use_custom_grid"] = use[3].toggle("Custom gCO2e/kWh", key="use_custom_grid", **BOUND)
    if values["use_custom_grid"]:
        values["custom_grid"] = use[3].number_input("gCO2e per kWh", 0.0, 2000.0, DEFAULTS.custom_grid, 10.0,
                                                    key="custom_grid", **BOUND)
    values["pue"] = use[4].number_input("PUE", 1.0, 3.0, DEFAULTS.pue, 0.01, key="pue", **BOUND)
    values["price"] = use[5].number_input("$/device-h", 0.0, 100.0, DEFAULTS.price, 0.1, key="price", **BOUND)
    values["memory_limit_gb"] = st.number_input(
        "Serving memory limit for the candidates (GB of weights; 0 = none)", 0.0, 100_000.0,
        DEFAULTS.memory_limit_gb, 8.0, key="memory_limit_gb", **BOUND)
    return plan.PlanInputs(**{**plan.PlanInputs().to_json(), **values})


def measured_or_catalog(values: dict, all_devices: dict, stored: dict):
    """The catalog device, or with "use measured" one built from the chosen benchmark."""
    if values.get("use_measured") and values.get("measurement") in stored:
        record = stored[values["measurement"]]
        like = all_devices.get(bench.catalog_match(record["result"]["machine"]) or "")
        return bench.measured_device(record["result"], bench_id=record["bench_id"], like=like)
    return all_devices[values["hardware"]]


def explain(title: str, formula: str, inputs: dict, sources: str) -> None:
    with st.expander(title):
        st.latex(formula)
        st.dataframe(pd.DataFrame({"input": list(inputs), "value": [str(v) for v in inputs.values()]}), hide_index=True)
        st.caption(sources)


def headline(result: plan.PlanResult, device, law, samples=None) -> None:
    a, b, c, d = st.columns(4)
    band = None
    if samples is not None and result.inputs.plan_mode != "Target loss":
        band = allocation_band(samples, [result.flops]).iloc[0]
    a.metric("Parameters N", fmt.count(result.n_params, "params"),
             help=None if band is None else f"95% band from the fit's bootstrap: {fmt.count(band.n_params_lo)} to "
                                            f"{fmt.count(band.n_params_hi)}")
    b.metric("Training tokens D", fmt.count(result.n_tokens, "tokens"),
             help=None if band is None else f"95% band: {fmt.count(band.n_tokens_lo)} to {fmt.count(band.n_tokens_hi)}")
    c.metric("Tokens per parameter", fmt.ratio(result.tokens_per_param))
    d.metric("Predicted loss (nats/token)", f"{result.loss:.4f}")
    if band is not None:
        st.caption(f"Your fit's 95% bootstrap band at this budget: N* {fmt.count(band.n_params_lo)}–"
                   f"{fmt.count(band.n_params_hi)}, D* {fmt.count(band.n_tokens_lo)}–{fmt.count(band.n_tokens_hi)}.")
    explain("How the model was chosen", r"N^*, D^* = \arg\min_{6ND = C} L(N, D)" if result.inputs.plan_mode != "Target loss"
            else r"C^* = \min\{C : L^*(C) = \ell\}", {"law": law.info.title, "training FLOPs C": fmt.flops(result.flops)},
            f"{law.info.citation}. {law.info.source_detail}.")
    t = result.train
    e1, e2, e3, e4, e5 = st.columns(5)
    e1.metric("Training device-hours", fmt.count(t.device_hours))
    e2.metric("Wall-clock days", f"{t.wall_days:,.1f}")
    e3.metric("Training energy", "–" if t.energy_kwh is None else f"{t.energy_kwh / 1000:,.1f} MWh")
    e4.metric("Training tCO2e", "–" if t.co2_kg is None else f"{t.co2_kg / 1000:,.1f}",
              help=None if t.embodied_co2_kg is None else f"+ {t.embodied_co2_kg / 1000:,.2f} t embodied")
    e5.metric("Training cost", f"${t.cost_usd:,.0f}" if t.cost_usd is not None else "–")
    explain(
        "How the footprint is computed",
        r"\text{device-h} = \frac{C}{\text{peak}\cdot\text{MFU}\cdot 3600},\quad E = \text{device-h}\cdot P\cdot"
        r"\text{PUE},\quad CO_2 = E\cdot I_{grid},\quad \$ = \text{device-h}\cdot p",
        {"peak (FLOP/s)": f"{device.peak_flops(result.inputs.train_dtype):.3g} ({result.inputs.train_dtype}, dense)",
         "MFU": result.inputs.mfu_train, "power P per device (W)": device.tdp_w, "PUE": result.inputs.pue,
         "grid intensity (gCO2e/kWh)": f"{result.grid.g_co2_per_kwh:g} ({result.grid.label}, {result.grid.year})",
         "price $/device-hour": result.inputs.price,
         "embodied per device (kg)": device.embodied_kg, "devices": result.inputs.n_devices},
        f"Hardware: {device.source}. Grid: {result.grid.source}. Method: LLMCarbon (Faiz et al. 2024); embodied = "
        "die area × CPA + memory × 0.4 kg/GB over a 5-year life.",
    )
    if result.total_co2_kg is not None:
        parts = [f"{n:,.1f} {e.label}" for n, e in carbon.equivalents(result.total_co2_kg)]
        st.caption(f"Lifetime (training + serving) {result.total_co2_kg / 1000:,.1f} tCO2e ≈ {'; or '.join(parts)} "
                   f"({carbon.EQUIVALENTS[0].source}).")


def serving_section(result: plan.PlanResult, device) -> None:
    inf = result.inference
    s1, s2, s3, s4 = st.columns(4)
    s1.metric("Decode latency", f"{inf.decode_s_per_step * 1e3:,.1f} ms/token")
    s2.metric("Throughput (batch 1)", f"{inf.tokens_per_s:,.0f} tokens/s")
    s3.metric("Cost per 1M tokens", f"${inf.cost_per_million_tokens_usd:,.2f}" if inf.cost_per_million_tokens_usd else "–")
    s4.metric("Lifetime serving cost", f"${result.serve.cost_usd:,.0f}" if result.serve else "–")
    st.caption(f"{inf.explain()} Weights {inf.weight_bytes / 1e9:,.1f} GB, KV cache {inf.kv_cache_bytes / 1e9:,.2f} GB "
               f"at {4096} tokens of context on one {device.name}; shape assumed from N (GQA, 8 KV heads).")
    explain(
        "How the serving numbers are computed",
        r"t_{token} = \max\left(\frac{2N + 2 n_{layer} L_{ctx} d_{attn}}{\text{peak}\cdot\text{MFU}_{decode}},\ "
        r"\frac{\text{weights} + \text{KV}}{\text{bandwidth}}\right),\quad "
        r"\$/10^6 = \frac{10^6\, t_{token}}{3600}\, p",
        {"FLOPs per token": f"{inf.flops_per_token:.3g}", "weight bytes": f"{inf.weight_bytes:.3g}",
         "KV-cache bytes": f"{inf.kv_cache_bytes:.3g}", "bandwidth (B/s)": f"{device.bandwidth_bytes_per_s:.3g}",
         "MFU decode": result.inputs.mfu_decode, "price $/device-hour": result.inputs.price,
         "lifetime tokens served": f"{result.inputs.inference_tokens:.3g}",
         "prompt share (prefill MFU)": result.inputs.prompt_fraction},
        "Kaplan et al. 2020 Eq. 2.2 for FLOPs per token; a roofline with the device's catalog (or measured) peak and "
        "bandwidth; lifetime serving device-hours = 2N·(prompt/MFU_prefill + output/MFU_decode)/peak.",
    )
    if result.lifetime and result.inputs.inference_tokens > 0:
        lt = result.lifetime
        st.markdown(
            f"**Inference-aware alternative** (Sardana et al. 2024, cost version) for the same loss: "
            f"{fmt.count(lt.n_params, 'params')} on {fmt.count(lt.n_tokens, 'tokens')} — "
            f"{lt.n_params / result.n_params:.0%} of the parameters, {lt.n_tokens / result.n_tokens:.2f}× the tokens."
        )


def fronts_section(result, law, device) -> tuple[float, float] | None:
    """One front at a time (the objective is in the URL); a click on a point returns its (N, D)."""
    inputs = result.inputs
    budget = None if inputs.plan_mode == "Target loss" else result.flops
    objective = plan.FRONTS[st.radio("Front: loss against", list(plan.FRONTS), horizontal=True,
                                     key="plan_front", **BOUND)]
    view, count = front_view(inputs, law, device, result.grid, objective, budget)
    front = view[view[f"pareto_{objective}"]]
    if front.empty:
        st.info(f"No {plan.OBJECTIVES[objective].lower()} for this device (a figure it needs is missing).")
        return None
    laws = "; ".join(f"{role}: {law_id} ({'verified' if verified else 'NOT verified'})"
                     for role, law_id, verified in plan.candidate_laws(law))
    st.caption(
        f"{count:,} candidates: active parameters × tokens" + (f" within {fmt.flops(budget)}" if budget else "")
        + f" × serving precision {', '.join(f'{b:g}' for b in plan.SERVING_BITS)} bits × experts "
        f"{', '.join(str(e) for e in plan.EXPERTS)}. Laws behind every point: {laws}. The PTQ and MoE terms are "
        "differences transferred across data sets, an approximation. Click a point to compare it as scenario B.")
    st.caption("On the front: " + ", ".join(f"{b:g}-bit {k}" for b, k in front["serve_bits"].value_counts().sort_index().items())
               + "; " + ", ".join(f"E={e:g} {k}" for e, k in front["experts"].value_counts().sort_index().items()))
    a_point = {"cost_usd": result.total_cost_usd,
               "co2_t": float("nan") if result.total_co2_kg is None else result.total_co2_kg / 1000,
               "latency_ms": result.inference.decode_s_per_step * 1e3,
               "memory_gb": result.inference.weight_bytes / 1e9}
    chosen = {"A": (a_point[objective], result.loss)}
    b = st.session_state.get("plan_b")
    if b is not None and objective in b:
        chosen["B"] = (b[objective], b["loss"])
    event = st.plotly_chart(
        figures.pareto_figure(view, objective, x_label=plan.OBJECTIVES[objective], loss_label="Loss (nats/token)",
                              chosen=chosen, provenance=laws),
        key=f"front_{objective}", on_select="rerun", selection_mode="points",
    )
    points = event.selection.points if event else []
    if points and points[0].get("customdata") is not None:
        row = view.iloc[int(points[0]["customdata"][0])]
        st.session_state["plan_b"] = {k: float(row[k]) for k in (*plan.OBJECTIVES, "loss")}
        return float(row["n_params"]), float(row["n_tokens"])
    return None


st.title("Plan")
st.caption("What should we train with this budget, what will it cost and emit, and what are the alternatives?")
version = store.data_version(db.cursor())
all_devices = devices(version)
fits = saved_fits(version)
all_laws = {**{k: v for k, v in registry.LAWS.items() if v.has_loss}, **{k: law for k, (law, _) in fits.items()}}
try:
    inputs = scenario_inputs(all_laws, all_devices, version)
    law = all_laws[inputs.plan_law]
    device = measured_or_catalog(inputs.to_json(), all_devices, measurements(version))
    if inputs.use_measured:
        st.info(f"Using measured peaks and bandwidth: {device.name}, from {device.source}. "
                f"Power and embodied carbon stay those of the catalog entry it matches, if any.")
    result = evaluate(inputs, law, device)
except (ValueError, LawError) as exc:
    st.error(str(exc))
    st.stop()

for note in result.notes:
    st.info(note)
st.subheader("Recommendation (scenario A)")
headline(result, device, law, fits.get(law.id, (None, None))[1])
st.subheader("Serving")
serving_section(result, device)
st.subheader("Alternatives")
picked = fronts_section(result, law, device)
if picked:
    st.session_state["plan_b_alloc"] = picked
alt = None
if "plan_b_alloc" in st.session_state:
    n_b, d_b = st.session_state["plan_b_alloc"]
    alt = plan.with_allocation(result, n_b, d_b, law, device, grids())
    table = plan.results_frame(result, alt).set_index("scenario").T
    st.markdown("**Scenario A (recommended) against B (picked on a front)**")
    st.dataframe(table, height=35 * (len(table) + 1))
    if st.button("Clear B", key="clear_b"):
        for key in ("plan_b_alloc", "plan_b"):
            st.session_state.pop(key, None)
        st.rerun()

with st.expander("Your own hardware"):
    device_form(db.cursor(), key="plan_device")

st.subheader("Share and export")
st.caption("This link reproduces the scenario (every input is in the URL):")
st.code("?" + urlencode(inputs.query_params()), language=None)
with st.expander("Scenario as JSON (inputs, law with constants and citation, hardware, results)"):
    st.code(plan.export_json(result, law, device), language="json")
x1, x2 = st.columns(2)
x1.download_button("Scenario as JSON", plan.export_json(result, law, device), file_name="flopwise_scenario.json",
                   mime="application/json", key="export_json")
x2.download_button("Results as CSV", plan.results_frame(*(r for r in (result, alt) if r is not None)).to_csv(index=False),
                   file_name="flopwise_results.csv", mime="text/csv", key="export_csv")
