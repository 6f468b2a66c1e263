"""Scaling laws: how the published compute-optimal laws compare, for a budget or a target loss."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from engine.analysis import reconcile, registry, scaling
from engine.analysis.fit import allocation_band
from engine.cost.flops import Architecture
from engine.data import store
from engine.errors import FlopwiseError
from engine.laws.base import Law
from engine.laws.chinchilla import CHINCHILLA_TRAINING_FLOPS
from ui import db, figures
from ui import format as fmt
from ui.tables import readable
from ui.url import LinkCheck
from ui.widgets import explain, law_card, lazy_expander

FLOPS_RANGE = (1e18, 1e27)
# Widget values are what the URL holds, so options are short, stable words.
BUDGET, TARGET = "Budget", "Target loss"
CHINCHILLA_LOG10_FLOPS = 23.76  # the slider's step; Chinchilla's 5.76e23 FLOPs is 10^23.7604

# The table under the cards: engine column -> (label with unit, formatter)
TABLE_COLUMNS = {
    "title": ("Law", None),
    "verified": ("Constants checked", lambda v: "yes" if v else "⚠ no"),
    "flops": ("Compute C (FLOPs)", fmt.sci),
    "n_params": ("N* (parameters)", fmt.count),
    "n_tokens": ("D* (tokens)", fmt.count),
    "tokens_per_param": ("Tokens per parameter", fmt.ratio),
    "loss": ("Loss (nats/token)", lambda v: f"{v:.4f}"),
    "error": ("Note", None),
}


@st.cache_data(show_spinner=False)
def published_points() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chinchilla's runs and Epoch's language models with compute and parameters."""
    with db.session() as con:
        runs = store.query_runs(con, ["hoffmann2022"], require=("flops", "n_params"))
        models = store.query_runs(con, ["epoch2025"], require=("flops", "n_params"))
    language = models["domain"].fillna("").str.contains("Language")
    models = models[language & models["frontier"].fillna(False).astype(bool)]
    return runs, models.reset_index(drop=True)


@st.cache_data(show_spinner=False)
def published_traces() -> list[dict]:
    """The frontier chart's published runs and models: the same at every budget."""
    return figures.published_traces(*published_points())


@st.cache_data(show_spinner=False)
def saved_fits(version: tuple) -> dict:
    with db.session() as con:
        return registry.saved_fit_laws(store.list_fits(con))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_band(samples, points: int = 73):
    return allocation_band(
        samples, np.logspace(math.log10(FLOPS_RANGE[0]), math.log10(FLOPS_RANGE[1]), points)
    )


@st.cache_data(show_spinner=False, max_entries=256)
def cached_frontier(law: Law, inputs: tuple) -> pd.DataFrame:
    return scaling.frontier(law, *FLOPS_RANGE, dict(inputs))


ISOFLOP_POINTS = 41
"""Points per isoFLOP curve: one every 0.075 decade of N over its three decades, smooth to the eye
(each point carries a hover text; 121 made the chart's figure three times larger)."""


@st.cache_data(show_spinner=False, max_entries=256)
def cached_isoflop(law: Law, flops: float, inputs: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    return scaling.isoflop_curves(law, scaling.budgets_around(flops), dict(inputs), points=ISOFLOP_POINTS)


def numbers_table(table: pd.DataFrame, mode: str) -> None:
    """The cards' numbers as a table with units, and as a CSV download."""
    columns = dict(TABLE_COLUMNS)
    if mode == TARGET:
        columns["flops"] = ("Least compute C (FLOPs)", fmt.sci)
        columns["loss"] = ("Target loss (nats/token)", lambda v: f"{v:.4f}")
    if not table["error"].astype(bool).any():
        del columns["error"]  # no law has a note: no empty column
    st.dataframe(readable(table, columns), hide_index=True, placeholder=fmt.DASH, key="scaling_table")
    st.download_button(
        "Download these numbers (CSV)",
        table.to_csv(index=False),
        file_name="flopwise_scaling_laws.csv",
        mime="text/csv",
        key="scaling_csv",
        on_click="ignore",
    )


@st.fragment
def results(mode: str, laws: list[Law], inputs: dict, fits: dict) -> None:
    """The budget (or target) and every result for it: moving the budget reruns only this part;
    ``laws`` are the cards' (with any edits to their constants) from the last full run."""
    link = LinkCheck()
    budget_row = st.columns([3, 2], vertical_alignment="bottom")
    flops = target_loss = None
    if mode == BUDGET:
        log10_flops = link.slider(
            budget_row[0],
            "Training compute budget (log10 FLOPs)",
            math.log10(FLOPS_RANGE[0]),
            math.log10(FLOPS_RANGE[1]),
            CHINCHILLA_LOG10_FLOPS,
            0.01,
            key="log10_flops",
            help="Chinchilla and Gopher were trained with 5.76e23 FLOPs, 10^23.7604; the slider's 23.76 "
            "is 10^23.76 = 5.75e23 FLOPs, the nearest step.",
        )
        flops = 10.0**log10_flops
        budget_row[1].markdown(f"**Budget:** {fmt.power_of_ten(log10_flops, 'FLOPs')}")
    else:
        target_loss = link.number_input(
            budget_row[0],
            "Target loss (nats/token, on each law's own data set)",
            0.01,
            20.0,
            2.0,
            0.01,
            key="target_loss",
        )

    link.show()
    inputs_key = tuple(sorted(inputs.items()))
    titles = {law.id: law.info.title for law in laws}
    infos = {law.id: law.info for law in laws}
    if mode == BUDGET:
        table = scaling.optima_table(laws, flops, inputs)
    else:
        table = scaling.target_table(laws, target_loss, inputs)

    # Two cards a row, two metrics a card row: at 1100 px a metric column is then ~170 px wide, room
    # for '1.11e23' under 'Tokens per parameter'; four cards a row would leave ~115 px and cut both.
    per_row = min(len(laws), 2)
    rows = list(table.itertuples())
    for start in range(0, len(rows), per_row):
        for column, row in zip(st.columns(per_row), rows[start : start + per_row]):
            with column.container(border=True):
                # a saved fit's title holds its user-given name: shown as typed
                law_info = infos[row.law]
                flag = "" if row.verified or law_info.user_fit else " ⚠ unverified"
                st.markdown(f"**{fmt.plain(row.title)}**{flag}")
                for (
                    problem
                ) in law_info.problems:  # a saved fit that is not usable says so wherever it is used
                    st.warning(f"Not usable: {problem}")
                if row.error and not law_info.problems:  # the problems above already say why
                    st.info(fmt.plain(row.error))
                if row.error:
                    continue
                # units in the labels, short values: a value that does not fit its column is cut off
                a, b = st.columns(2)
                if mode == TARGET:
                    a.metric("Compute (FLOPs)", fmt.sci(row.flops))  # the least that reaches the target
                    b.metric("Tokens per parameter", fmt.ratio(row.tokens_per_param))
                a.metric("N* (parameters)", fmt.count(row.n_params))
                b.metric("D* (tokens)", fmt.count(row.n_tokens))
                if mode == BUDGET:
                    a.metric("Tokens per parameter", fmt.ratio(row.tokens_per_param))
                    if math.isnan(row.loss):
                        b.caption("An allocation rule: it predicts no loss.")
                    else:
                        b.metric(
                            "Loss (nats/token)",
                            f"{row.loss:.4f}",
                            help="Predicted at the optimum, on the law's own data set.",
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
                curves,
                minima,
                title=f"IsoFLOP curves: {iso_law.info.title}",
                loss_label="Predicted loss (nats/token, law's own data set)",
            ),
            key="isoflop_chart",
        )
        st.caption(
            "Each curve holds compute fixed (D = C/6N) at 1/100× to 100× your budget; "
            "diamonds mark the optima."
        )

    if box := lazy_expander("Table of these numbers", key="scaling_table_shown"):
        with box:
            numbers_table(table, mode)


def frontier_chart(laws: list[Law], inputs: dict, fits: dict) -> None:
    """Each law's N*(C) and D*(C) across budgets, with the published runs and models. It does not
    depend on the budget, so it stays outside ``results``: moving the budget leaves it as drawn
    (a Plotly chart whose figure changes is drawn anew in the browser, the largest part of a
    rerun)."""
    inputs_key = tuple(sorted(inputs.items()))
    titles = {law.id: law.info.title for law in laws}
    frontiers = [cached_frontier(law, inputs_key) for law in laws if registry.has_compute_optimum(law)]
    frontier = pd.concat(frontiers, ignore_index=True) if frontiers else scaling.frontier_columns()
    bands = {
        law.id: cached_band(fits[law.id][1]) for law in laws if law.id in fits and fits[law.id][1] is not None
    }
    st.plotly_chart(
        figures.frontier_figure(frontier, titles, published=published_traces(), bands=bands),
        key="frontier_chart",
    )
    st.caption(
        "Lines: each law's compute-optimal allocation at every budget (your budget's optima are in "
        "the cards and the isoFLOP curves above). Grey: Chinchilla's training runs "
        "(Hoffmann et al. 2022). Stars: frontier language models from Epoch AI's Notable AI Models "
        "(CC BY 4.0) at their reported training compute; hover for names."
    )


WALK_COLUMNS = {
    "exponent": ("Exponent a (N* ∝ C^a)", lambda v: f"{v:.3f}"),
    "ci": ("95% interval", None),
    "step": ("Step", fmt.plain),  # st.table reads Markdown: "+ short warm-up" would be a list item
    "dataset": ("Data", fmt.plain),
}


@st.cache_data(show_spinner=False)
def allocation_view() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Kaplan's and Chinchilla's N*(C) on one grid, and the reconciliation walk by path."""
    curves = reconcile.allocation_curves(np.logspace(13, 26, 53))
    walk = reconcile.reconciliation_walk("RefinedWeb")
    return curves, dict(list(walk.groupby("path", sort=False)))


def walk_table(part: pd.DataFrame) -> pd.DataFrame:
    part = part.assign(
        ci=[
            f"{lo:.2f}–{hi:.2f}" if pd.notna(lo) and pd.notna(hi) else fmt.DASH
            for lo, hi in zip(part["ci_low"], part["ci_high"])
        ]
    )
    return readable(part[list(WALK_COLUMNS)], WALK_COLUMNS)


@st.fragment
def kaplan_against_chinchilla() -> None:
    """The seeds' headline question: Kaplan's N ∝ C^0.73 and Chinchilla's C^0.5, and the steps between."""
    curves, walk = allocation_view()
    exponents = curves.groupby("law", sort=False)[["exponent", "label"]].first()
    names = {law: f"{row.label}: N* ∝ C^{row.exponent:.2f}" for law, row in exponents.iterrows()}
    st.plotly_chart(
        figures.allocation_figure(
            curves,
            names=names,
            shaded=(*reconcile.KAPLAN_BUDGETS_FLOPS, "Kaplan et al.'s runs"),
            budgets={f"Chinchilla, {fmt.flops(CHINCHILLA_TRAINING_FLOPS)}": CHINCHILLA_TRAINING_FLOPS},
        ),
        key="kaplan_vs_chinchilla",
    )
    at = curves[np.isclose(curves["budget_flops"], 1e24)].set_index("law")["n_params"]
    st.caption(
        f"At 1e24 FLOPs Kaplan's Table 6 gives {fmt.count(at['kaplan-allocation'])} parameters and "
        f"Chinchilla {fmt.count(at['chinchilla'])}: {at['kaplan-allocation'] / at['chinchilla']:.0f}× apart, "
        "and further apart at every larger budget. Kaplan's N counts no embedding parameters and its C_min "
        "assumes early-stopped runs; Chinchilla's N is the total. The two tables below walk from one to "
        "the other."
    )
    with st.container():
        st.markdown("**Porian et al. 2024: three corrections to Kaplan's setup**")
        st.table(walk_table(pd.concat([walk["Kaplan et al. 2020"], walk["Porian et al. 2024"]])).hide())
        st.caption(
            "Porian et al. reproduce Kaplan's exponent, then correct one thing at a time: the last layer's "
            "FLOPs, the warm-up and the learning-rate decay, and hyperparameters tuned per scale. Exponents "
            "from the authors' released data (RefinedWeb)."
        )
    with st.container():
        st.markdown("**Pearce & Song 2024: the embedding parameters**")
        st.table(walk_table(walk["Pearce & Song 2024"]).hide())
        st.caption(
            "Pearce & Song take Chinchilla's law and count its parameters Kaplan's way, without embeddings, "
            "over Kaplan's small budgets: the exponent rises towards Kaplan's. Counted in total parameters "
            "it falls back to about 0.5."
        )
    explain(
        "How the reconciliation is computed",
        reconcile.RECONCILIATION,
        reconcile.PARAMETER_CONVENTIONS,
    )


@st.fragment
def convention_converter() -> None:
    """One model's parameters and training FLOPs in each paper's convention."""
    link = LinkCheck()
    c = st.columns(4)
    n_b = link.number_input(c[0], "Parameters (billions)", 0.001, 10000.0, 6.7, key="cv_params")
    counted = link.radio(c[1], "Counted as", ["total", "non-embedding"], key="cv_counted", horizontal=True)
    tokens_b = link.number_input(c[2], "Training tokens (billions)", 0.001, 1e6, 140.0, key="cv_tokens")
    tied = c[3].toggle("Input and output embeddings tied", value=True, key="cv_tied", bind="query-params")
    c = st.columns(4)
    vocab = link.number_input(c[0], "Vocabulary V (tokens)", 256, 1_000_000, 32_000, 1, key="cv_vocab")
    width = link.number_input(c[1], "Width d_model", 64, 65_536, 4096, 64, key="cv_width")
    layers = link.number_input(c[2], "Layers n_layer", 1, 1000, 32, 1, key="cv_layers")
    context = link.number_input(c[3], "Context n_ctx (tokens)", 128, 1_048_576, 2048, 128, key="cv_context")
    link.show()
    try:
        arch = Architecture(
            n_layers=int(layers),
            d_model=int(width),
            n_heads=max(1, int(width) // 128),
            d_ff=4 * int(width),
            vocab_size=int(vocab),
            seq_len=int(context),
            tied_embeddings=tied,
        )
        params, flops = reconcile.convention_table(n_b * 1e9, tokens_b * 1e9, counted=counted, arch=arch)
    except FlopwiseError as exc:
        st.error(fmt.plain(exc))
        return
    left, right = st.columns(2)
    left.table(
        readable(params, {"quantity": ("Parameters", fmt.plain), "value": ("Count", fmt.count)}).hide()
    )
    right.table(
        readable(flops, {"quantity": ("Training compute", fmt.plain), "value": ("FLOPs", fmt.sci)}).hide()
    )
    st.caption(
        "Kaplan et al. count non-embedding parameters and 6·N FLOPs per token; Chinchilla counts every "
        "parameter. At small sizes the embedding is a large share of the total, which is Pearce & Song's "
        "explanation of Kaplan's steeper exponent."
    )


st.title("Scaling laws")
st.caption(
    "Compute, not parameter count, is the budget: for C = 6·N·D training FLOPs each law says how "
    "to split it between parameters N and tokens D. Losses are in nats/token on each paper's own "
    "data set, so compare allocations and exponents across laws, not absolute losses."
)

link = LinkCheck()
fits = saved_fits(db.version())
available = {**registry.LAWS, **{law_id: law for law_id, (law, _) in fits.items()}}

controls = st.columns([2, 6])
mode = link.radio(
    controls[0],
    "Question",
    [BUDGET, TARGET],
    key="mode",
    help="Budget: the optimal model for a compute budget. "
    "Target loss: the least compute that reaches a loss.",
)
selected_ids = controls[1].multiselect(
    "Laws",
    list(available),
    default=list(registry.DEFAULT_LAW_IDS),
    key="laws",
    bind="query-params",
    help="Published laws by id; your saved fits from the Runs page appear as fit:NAME.",
)
inputs: dict[str, float | None] = {"unique_tokens": None}
if "data-constrained" in selected_ids:
    limit = st.toggle(
        "Limit unique training data (data-constrained law)", key="limit_unique", bind="query-params"
    )
    if limit:
        log10_u = link.slider(
            st,
            "Unique tokens available (log10 tokens)",
            8.0,
            14.0,
            10.4,
            0.05,
            key="log10_unique_tokens",
        )
        inputs["unique_tokens"] = 10.0**log10_u
        st.caption(f"{fmt.count(inputs['unique_tokens'], 'unique tokens')}; repeated epochs are worth less.")
link.show()

if not selected_ids:
    st.info("Choose at least one law.")
    st.stop()

results_area = st.container()
st.subheader("Kaplan against Chinchilla: why the exponent fell from 0.73 to 0.5")
kaplan_against_chinchilla()
with st.expander("Convert between conventions: total or non-embedding parameters, and training FLOPs"):
    convention_converter()
st.subheader("The laws")
laws = [law_card(available[law_id], key_prefix="scaling") for law_id in selected_ids]
with results_area:
    results(mode, laws, inputs, fits)
    st.subheader("The frontier across budgets")
    frontier_chart(laws, inputs, fits)
