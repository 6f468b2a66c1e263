"""Plotly figure builders: data in, go.Figure out. No Streamlit, no formulas, no SQL.

Every axis names its quantity and unit; log axes say so.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
RUNS_COLOR = "rgba(100, 116, 139, 0.55)"
MODELS_COLOR = "#ea580c"

_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=60, r=20, t=50, b=55),
    legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
    hovermode="closest",
)


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def isoflop_figure(curves: pd.DataFrame, minima: pd.DataFrame, *, title: str, loss_label: str) -> go.Figure:
    """Loss against parameters at several fixed budgets, each curve's minimum marked."""
    fig = go.Figure()
    budgets = sorted(curves["flops"].unique())
    shades = np.linspace(0.35, 1.0, len(budgets))
    for budget, shade in zip(budgets, shades):
        part = curves[curves["flops"] == budget]
        fig.add_trace(
            go.Scatter(
                x=part["n_params"],
                y=part["loss"],
                mode="lines",
                name=f"C = {budget:.1e} FLOPs",
                line=dict(color=f"rgba(37, 99, 235, {shade:.2f})", width=2),
                customdata=part["n_tokens"],
                hovertemplate="N = %{x:.3s} params<br>D = %{customdata:.3s} tokens"
                "<br>loss = %{y:.4f}<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=minima["n_params"],
            y=minima["loss"],
            mode="lines+markers",
            name="optimum N*(C)",
            line=dict(color="#dc2626", dash="dot", width=1.5),
            marker=dict(symbol="diamond", size=10, color="#dc2626"),
            customdata=np.stack([minima["flops"], minima["n_tokens"]], axis=-1),
            hovertemplate="C = %{customdata[0]:.2e} FLOPs<br>N* = %{x:.3s} params"
            "<br>D* = %{customdata[1]:.3s} tokens<br>loss = %{y:.4f}<extra>optimum</extra>",
        )
    )
    fig.update_layout(title=title, **_LAYOUT)
    fig.update_xaxes(type="log", title="Parameters N (log scale)")
    fig.update_yaxes(title=loss_label)
    return fig


def frontier_figure(
    frontiers: pd.DataFrame,
    law_titles: Mapping[str, str],
    *,
    runs: pd.DataFrame | None = None,
    models: pd.DataFrame | None = None,
    budget: float | None = None,
    marked: pd.DataFrame | None = None,
) -> go.Figure:
    """N*(C) and D*(C) per law on log-log axes, with published runs and frontier models.

    ``frontiers``: columns law, flops, n_params, n_tokens. ``runs``: the published training runs
    (flops, n_params, n_tokens, model_name). ``models``: notable models with model_name, notes.
    ``marked``: one point per law to highlight (law, flops, n_params, n_tokens).
    """
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.09,
        subplot_titles=("Compute-optimal parameters N*(C)", "Compute-optimal tokens D*(C)"),
    )
    for i, (law_id, part) in enumerate(frontiers.groupby("law", sort=False)):
        color = color_for(i)
        for col, column, unit in ((1, "n_params", "params"), (2, "n_tokens", "tokens")):
            fig.add_trace(
                go.Scatter(
                    x=part["flops"], y=part[column], mode="lines", name=law_titles.get(law_id, law_id),
                    legendgroup=law_id, showlegend=col == 1, line=dict(color=color, width=2.5),
                    hovertemplate=f"C = %{{x:.2e}} FLOPs<br>{column} = %{{y:.3s}} {unit}"
                    f"<extra>{law_id}</extra>",
                ),
                row=1, col=col,
            )
        if marked is not None:
            point = marked[marked["law"] == law_id]
            for col, column in ((1, "n_params"), (2, "n_tokens")):
                fig.add_trace(
                    go.Scatter(
                        x=point["flops"], y=point[column], mode="markers", legendgroup=law_id,
                        showlegend=False, marker=dict(color=color, size=12, line=dict(color="white", width=2)),
                        hovertemplate="C = %{x:.2e} FLOPs<br>%{y:.3s}<extra>chosen</extra>",
                    ),
                    row=1, col=col,
                )
    for points, name, color, symbol in (
        (runs, "Chinchilla runs (Hoffmann 2022)", RUNS_COLOR, "circle"),
        (models, "Notable models (Epoch AI)", MODELS_COLOR, "star"),
    ):
        if points is None or points.empty:
            continue
        text = points["model_name"] + ("<br>" + points["notes"].fillna("") if "notes" in points else "")
        for col, column, unit in ((1, "n_params", "params"), (2, "n_tokens", "tokens")):
            part = points[points[column].notna()]
            fig.add_trace(
                go.Scatter(
                    x=part["flops"], y=part[column], mode="markers", name=name, legendgroup=name,
                    showlegend=col == 1, text=text[part.index],
                    marker=dict(color=color, size=7 if symbol == "circle" else 9, symbol=symbol),
                    hovertemplate=f"%{{text}}<br>C = %{{x:.2e}} FLOPs<br>%{{y:.3s}} {unit}<extra></extra>",
                ),
                row=1, col=col,
            )
    if budget is not None:
        for col in (1, 2):
            fig.add_vline(x=budget, line=dict(color="#94a3b8", dash="dash", width=1), row=1, col=col)
    fig.update_layout(**_LAYOUT, height=520)
    fig.update_xaxes(type="log", title="Training compute C (FLOPs, log scale)", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title="Parameters N (log scale)", row=1, col=1)
    fig.update_yaxes(title="Training tokens D (log scale)", row=1, col=2)
    return fig

