"""Scaling laws: how the published compute-optimal laws compare, for a budget or a target loss."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from engine import registry, scaling, store
from engine.fit import allocation_band
from engine.laws.base import Law
from ui import db, figures
from ui import format as fmt
from ui.widgets import law_card

FLOPS_RANGE = (1e18, 1e27)
# Widget values are what the URL holds, so options are short, stable words.
BUDGET, TARGET = "Budget", "Target loss"


@st.cache_data(show_spinner=False)
def published_points() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chinchilla's runs and Epoch's language models with compute and parameters."""
    con = db.cursor()
    runs = store.query_runs(con, ["hoffmann2022"], require=("flops", "n_params"))
    models = store.query_runs(con, ["epoch2025"], require=("flops", "n_params"))
    language = models["domain"].fillna("").str.contains("Language")
    models = models[language & models["frontier"].fillna(False).astype(bool)]
    return runs, models.reset_index(drop=True)


@st.cache_data(show_spinner=False)
def saved_fits(version: tuple) -> dict:
    return registry.saved_fit_laws(store.list_fits(db.cursor()))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_band(samples, points: int = 73):
    return allocation_band(samples, np.logspace(math.log10(FLOPS_RANGE[0]), math.log10(FLOPS_RANGE[1]), points))


@st.cache_data(show_spinner=False, max_entries=256)
def cached_frontier(law: Law, inputs: tuple) -> pd.DataFrame:
    return scaling.frontier(law, *FLOPS_RANGE, dict(inputs))


@st.cache_data(show_spinner=False, max_entries=256)
def cached_isoflop(law: Law, flops: float, inputs: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    return scaling.isoflop_curves(law, scaling.budgets_around(flops), dict(inputs))


st.title("Scaling laws")
st.caption(
    "Compute, not parameter count, is the budget: for C = 6·N·D training FLOPs each law says how "
    "to split it between parameters N and tokens D. Losses are in nats/token on each paper's own "
    "data set, so compare allocations and exponents across laws, not absolute losses."
)

fits = saved_fits(store.data_version(db.cursor()))
available = {**registry.LAWS, **{law_id: law for law_id, (law, _) in fits.items()}}

controls = st.columns([2, 3, 3])
mode = controls[0].radio(
    "Question",
    [BUDGET, TARGET],
    key="mode",
    bind="query-params",
    help="Budget: the optimal model for a compute budget. Target loss: the least compute that reaches a loss.",
)
selected_ids = controls[1].multiselect(
    "Laws",
    list(available),
    default=list(registry.DEFAULT_LAW_IDS),
    key="laws",
    bind="query-params",
    help="Published laws by id; your saved fits from the Runs page appear as fit:NAME.",
)
with controls[2]:
    if mode == BUDGET:
        log10_flops = st.slider(
            "Training compute budget (log10 FLOPs)",
            min_value=math.log10(FLOPS_RANGE[0]),
            max_value=math.log10(FLOPS_RANGE[1]),
            value=23.76,
            step=0.01,
            key="log10_flops",
            bind="query-params",
            help="5.76e23 FLOPs (23.76) is the Chinchilla/Gopher budget.",
        )
        flops = 10.0**log10_flops
        st.markdown(f"**Budget:** {fmt.flops(flops)}")
    else:
        target_loss = st.number_input(
            "Target loss (nats/token, on each law's own data set)",
            min_value=0.01,
            max_value=20.0,
            value=2.0,
            step=0.01,
            key="target_loss",
            bind="query-params",
        )

inputs: dict[str, float | None] = {"unique_tokens": None}
if "data-constrained" in selected_ids:
    limit = st.toggle(
        "Limit unique training data (data-constrained law)", key="limit_unique", bind="query-params"
    )
    if limit:
        log10_u = st.slider(
            "Unique tokens available (log10 tokens)", 8.0, 14.0, 10.4, 0.05,
            key="log10_unique_tokens", bind="query-params",
        )
        inputs["unique_tokens"] = 10.0**log10_u
        st.caption(f"{fmt.count(inputs['unique_tokens'], 'unique tokens')}; repeated epochs are worth less.")
inputs_key = tuple(sorted(inputs.items()))

if not selected_ids:
    st.info("Choose at least one law.")
    st.stop()

results_area = st.container()
st.subheader("The laws")
laws = [law_card(available[law_id], key_prefix="scaling") for law_id in selected_ids]
titles = {law.id: law.info.title for law in laws}

with results_area:
    if mode == BUDGET:
        table = scaling.optima_table(laws, flops, inputs)
        marked = table[table["error"] == ""][["law", "flops", "n_params", "n_tokens"]]
    else:
        table = scaling.target_table(laws, target_loss, inputs)
        marked = table[table["error"] == ""][["law", "flops", "n_params", "n_tokens"]]

    columns = st.columns(min(len(laws), 4))
    for i, row in enumerate(table.itertuples()):
        with columns[i % len(columns)].container(border=True):
            st.markdown(f"**{row.title}**" + ("" if row.verified else " ⚠ unverified"))
            if row.error:
                st.info(row.error)
                continue
            if mode == TARGET:
                st.metric("Least compute C", fmt.flops(row.flops))
            st.metric("N* (parameters)", fmt.count(row.n_params, "params"))
            st.metric("D* (tokens)", fmt.count(row.n_tokens, "tokens"))
            st.metric("Tokens per parameter", fmt.ratio(row.tokens_per_param))
            if mode == BUDGET and math.isnan(row.loss):
                st.caption("An allocation rule: it predicts no loss.")
            elif mode == BUDGET:
                st.metric("Predicted loss", fmt.loss(row.loss))

    frontier = pd.concat([cached_frontier(law, inputs_key) for law in laws if registry.has_compute_optimum(law)],
                         ignore_index=True)
    runs, models = published_points()
    bands = {law.id: cached_band(fits[law.id][1]) for law in laws if law.id in fits and fits[law.id][1] is not None}
    st.plotly_chart(
        figures.frontier_figure(
            frontier, titles, runs=runs, models=models,
            budget=flops if mode == BUDGET else None, marked=marked, bands=bands,
        ),
        key="frontier_chart",
    )
    st.caption(
        "Lines: each law's compute-optimal allocation. Grey: Chinchilla's training runs "
        "(Hoffmann et al. 2022). Stars: frontier language "
        "models from Epoch AI's Notable AI Models (CC BY 4.0) at their reported training "
        "compute; hover for names."
    )

    loss_laws = [law for law in laws if law.has_loss and registry.has_compute_optimum(law)]
    if mode == BUDGET and loss_laws:
        iso_id = st.selectbox(
            "IsoFLOP curves for",
            [law.id for law in loss_laws],
            format_func=titles.get,
            key="isoflop_law",
        )
        iso_law = next(law for law in loss_laws if law.id == iso_id)
        curves, minima = cached_isoflop(iso_law, flops, inputs_key)
        st.plotly_chart(
            figures.isoflop_figure(
                curves, minima,
                title=f"IsoFLOP curves: {iso_law.info.title}",
                loss_label="Predicted loss (nats/token, law's own data set)",
            ),
            key="isoflop_chart",
        )
        st.caption("Each curve holds compute fixed (D = C/6N) at 1/100× to 100× your budget; diamonds mark the optima.")

    with st.expander("Table of these numbers"):
        st.dataframe(table, hide_index=True)
