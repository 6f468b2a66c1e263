"""Plotly figure builders: data in, go.Figure out. No Streamlit, no formulas, no SQL.

Every axis names its quantity and unit; log axes say so.

The builders assemble plain figure specs (trace and layout dicts) and wrap them with
``go.Figure(spec, _validate=False)``: Plotly's per-property validation costs ~10x the rest of a
page rerun. The tests rebuild every figure with validation on (tests/unit/test_figures.py), so
a misspelt property still fails there.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui import format as fmt

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
RUNS_COLOR = "rgba(100, 116, 139, 0.55)"
MODELS_COLOR = "#ea580c"

BASE_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 50, "b": 55},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
    "hovermode": "closest",
}


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _translucent(hex_color: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure({"data": data, "layout": {**BASE_LAYOUT, **layout}}, _validate=False)


def _scatter(x: Any, y: Any, **props: Any) -> dict:
    return {"type": "scatter", "x": np.asarray(x), "y": np.asarray(y), **props}


def isoflop_figure(curves: pd.DataFrame, minima: pd.DataFrame, *, title: str, loss_label: str) -> go.Figure:
    """Loss against parameters at several fixed budgets, each curve's minimum marked."""
    data = []
    budgets = sorted(curves["flops"].unique())
    for budget, shade in zip(budgets, np.linspace(0.35, 1.0, len(budgets))):
        part = curves[curves["flops"] == budget]
        data.append(
            _scatter(
                part["n_params"], part["loss"], mode="lines", name=f"C = {budget:.1e} FLOPs",
                line={"color": f"rgba(37, 99, 235, {shade:.2f})", "width": 2},
                customdata=part["n_tokens"].to_numpy(),
                hovertemplate="N = %{x:.3s} params<br>D = %{customdata:.3s} tokens"
                "<br>loss = %{y:.4f}<extra>%{fullData.name}</extra>",
            )
        )
    data.append(
        _scatter(
            minima["n_params"], minima["loss"], mode="lines+markers", name="optimum N*(C)",
            line={"color": "#dc2626", "dash": "dot", "width": 1.5},
            marker={"symbol": "diamond", "size": 10, "color": "#dc2626"},
            customdata=np.stack([minima["flops"], minima["n_tokens"]], axis=-1),
            hovertemplate="C = %{customdata[0]:.2e} FLOPs<br>N* = %{x:.3s} params"
            "<br>D* = %{customdata[1]:.3s} tokens<br>loss = %{y:.4f}<extra>optimum</extra>",
        )
    )
    return _figure(
        data,
        {
            "title": {"text": title},
            "xaxis": {"type": "log", "title": {"text": "Parameters N (log scale)"}},
            "yaxis": {"title": {"text": loss_label}},
        },
    )


# Two side-by-side panels sharing the compute axis: N*(C) left (x, y), D*(C) right (x2, y2).
_PANELS = (("x", "y", "n_params", "params"), ("x2", "y2", "n_tokens", "tokens"))


def frontier_figure(
    frontiers: pd.DataFrame,
    law_titles: Mapping[str, str],
    *,
    runs: pd.DataFrame | None = None,
    models: pd.DataFrame | None = None,
    budget: float | None = None,
    marked: pd.DataFrame | None = None,
    bands: Mapping[str, pd.DataFrame] | None = None,
) -> go.Figure:
    """N*(C) and D*(C) per law on log-log axes, with published runs and frontier models.

    ``frontiers``: columns law, flops, n_params, n_tokens. ``runs``: the published training runs
    (flops, n_params, n_tokens, model_name). ``models``: notable models with model_name, notes.
    ``marked``: one point per law to highlight (law, flops, n_params, n_tokens).
    ``bands``: per law id, a 95% band (flops, n_params_lo/hi, n_tokens_lo/hi), drawn shaded.
    """
    data: list[dict] = []
    for i, (law_id, part) in enumerate(frontiers.groupby("law", sort=False)):
        color = color_for(i)
        point = marked[marked["law"] == law_id] if marked is not None else None
        band = (bands or {}).get(law_id)
        for xaxis, yaxis, column, unit in _PANELS:
            if band is not None:
                data.append(
                    _scatter(
                        np.concatenate([band["flops"], band["flops"][::-1]]),
                        np.concatenate([band[f"{column}_hi"], band[f"{column}_lo"][::-1]]),
                        xaxis=xaxis, yaxis=yaxis, fill="toself", mode="lines", line={"width": 0},
                        fillcolor=_translucent(color), name=f"{law_titles.get(law_id, law_id)}: 95% band",
                        legendgroup=law_id, showlegend=False, hoverinfo="skip",
                    )
                )
            data.append(
                _scatter(
                    part["flops"], part[column], xaxis=xaxis, yaxis=yaxis, mode="lines",
                    name=law_titles.get(law_id, law_id), legendgroup=law_id, showlegend=xaxis == "x",
                    line={"color": color, "width": 2.5},
                    hovertemplate=f"C = %{{x:.2e}} FLOPs<br>{column} = %{{y:.3s}} {unit}<extra>{law_id}</extra>",
                )
            )
            if point is not None and not point.empty:
                data.append(
                    _scatter(
                        point["flops"], point[column], xaxis=xaxis, yaxis=yaxis, mode="markers",
                        legendgroup=law_id, showlegend=False,
                        marker={"color": color, "size": 12, "line": {"color": "white", "width": 2}},
                        hovertemplate=f"C = %{{x:.2e}} FLOPs<br>%{{y:.3s}} {unit}<extra>chosen</extra>",
                    )
                )
    for points, name, color, symbol, size in (
        (runs, "Chinchilla runs (Hoffmann 2022)", RUNS_COLOR, "circle", 7),
        (models, "Notable models (Epoch AI)", MODELS_COLOR, "star", 9),
    ):
        if points is None or points.empty:
            continue
        text = points["model_name"].fillna("")
        if "notes" in points:
            text = text + "<br>" + points["notes"].fillna("")
        for xaxis, yaxis, column, unit in _PANELS:
            part = points[points[column].notna()]
            data.append(
                _scatter(
                    part["flops"], part[column], xaxis=xaxis, yaxis=yaxis, mode="markers", name=name,
                    legendgroup=name, showlegend=xaxis == "x", text=text[part.index].to_numpy(),
                    marker={"color": color, "size": size, "symbol": symbol},
                    hovertemplate=f"%{{text}}<br>C = %{{x:.2e}} FLOPs<br>%{{y:.3s}} {unit}<extra></extra>",
                )
            )
    compute_axis = {
        "type": "log", "exponentformat": "power",
        "title": {"text": "Training compute C (FLOPs, log scale)"},
    }
    layout: dict[str, Any] = {
        "height": 520,
        "xaxis": {**compute_axis, "domain": [0.0, 0.455]},
        "xaxis2": {**compute_axis, "domain": [0.545, 1.0], "anchor": "y2"},
        "yaxis": {"type": "log", "exponentformat": "power", "title": {"text": "Parameters N (log scale)"}},
        "yaxis2": {
            "type": "log", "exponentformat": "power", "anchor": "x2",
            "title": {"text": "Training tokens D (log scale)"},
        },
        "annotations": [
            {"text": text, "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
             "yanchor": "bottom", "showarrow": False, "font": {"size": 14}}
            for text, x in (("Compute-optimal parameters N*(C)", 0.2275),
                            ("Compute-optimal tokens D*(C)", 0.7725))
        ],
    }
    if budget is not None:
        layout["shapes"] = [
            {"type": "line", "xref": xaxis, "yref": f"{yaxis} domain", "x0": budget, "x1": budget,
             "y0": 0, "y1": 1, "line": {"color": "#94a3b8", "dash": "dash", "width": 1}}
            for xaxis, yaxis, _, _ in _PANELS
        ]
    return _figure(data, layout)


def runs_scatter(runs: pd.DataFrame, *, loss_label: str) -> go.Figure:
    """Loss against training compute, one colour per source; each point carries its run_id."""
    data = []
    for i, (source, part) in enumerate(runs.groupby("source", sort=True)):
        data.append(
            _scatter(
                part["flops"], part["loss"], mode="markers", name=source,
                marker={"color": color_for(i), "size": 7, "opacity": 0.75},
                customdata=part["run_id"].to_numpy(),
                text=(part["model_name"].fillna("") + "<br>N = " + part["n_params"].map("{:.3g}".format)
                      + ", D = " + part["n_tokens"].map("{:.3g}".format)).to_numpy(),
                hovertemplate="%{text}<br>C = %{x:.2e} FLOPs<br>loss = %{y:.4f}<extra>%{fullData.name}</extra>",
            )
        )
    return _figure(
        data,
        {
            "height": 430, "dragmode": "lasso",
            "xaxis": {"type": "log", "exponentformat": "power", "title": {"text": "Training compute C (FLOPs, log scale)"}},
            "yaxis": {"title": {"text": loss_label}},
        },
    )


def residuals_figure(flops: np.ndarray, log_residuals: np.ndarray) -> go.Figure:
    """Fit residuals in log loss against compute (0 = perfect fit)."""
    return _figure(
        [_scatter(flops, log_residuals, mode="markers", name="run", marker={"color": PALETTE[0], "size": 6},
                  hovertemplate="C = %{x:.2e} FLOPs<br>log residual = %{y:.4f}<extra></extra>")],
        {
            "height": 320, "title": {"text": "Residuals"}, "showlegend": False,
            "xaxis": {"type": "log", "exponentformat": "power", "title": {"text": "Training compute C (FLOPs, log scale)"}},
            "yaxis": {"title": {"text": "log predicted − log actual loss"}, "zeroline": True},
        },
    )


def predicted_vs_actual_figure(actual: np.ndarray, predicted: np.ndarray) -> go.Figure:
    lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    return _figure(
        [
            _scatter([lo, hi], [lo, hi], mode="lines", name="y = x", line={"color": "#94a3b8", "dash": "dash"}),
            _scatter(actual, predicted, mode="markers", name="run", marker={"color": PALETTE[0], "size": 6},
                     hovertemplate="actual %{x:.4f}<br>predicted %{y:.4f}<extra></extra>"),
        ],
        {
            "height": 320, "title": {"text": "Predicted against actual"}, "showlegend": False,
            "xaxis": {"title": {"text": "Actual loss (nats/token)"}},
            "yaxis": {"title": {"text": "Predicted loss (nats/token)"}},
        },
    )


def correlation_heatmap(corr: pd.DataFrame) -> go.Figure:
    return _figure(
        [{"type": "heatmap", "z": corr.to_numpy(), "x": list(corr.columns), "y": list(corr.index),
          "zmin": -1, "zmax": 1, "colorscale": "RdBu", "reversescale": True,
          "text": np.round(corr.to_numpy(), 2), "texttemplate": "%{text}",
          "colorbar": {"title": {"text": "correlation"}}}],
        {"height": 320, "title": {"text": "Bootstrap correlations of the constants"}},
    )


def isoflop_analysis_figure(runs: pd.DataFrame, labels: np.ndarray, budgets: pd.DataFrame) -> go.Figure:
    """Approach 2: runs per budget group (loss against N) and each group's parabola minimum."""
    data = []
    for i, label in enumerate(np.unique(labels)):
        part = runs[labels == label]
        data.append(
            _scatter(part["n_params"], part["loss"], mode="markers", name=f"C ≈ {part['flops'].median():.1e}",
                     marker={"color": color_for(i), "size": 6},
                     hovertemplate="N = %{x:.3s}<br>loss = %{y:.4f}<extra>%{fullData.name}</extra>")
        )
    used = budgets[budgets["used"]]
    data.append(
        _scatter(used["n_opt"], used["loss_opt"], mode="markers", name="parabola minimum",
                 marker={"symbol": "diamond", "size": 11, "color": "#111827"},
                 hovertemplate="N_opt = %{x:.3s}<br>loss = %{y:.4f}<extra>minimum</extra>")
    )
    return _figure(
        data,
        {
            "height": 420, "title": {"text": "IsoFLOP profiles (Approach 2)"},
            "xaxis": {"type": "log", "title": {"text": "Parameters N (log scale)"}},
            "yaxis": {"title": {"text": "Loss (nats/token, the runs' own data set)"}},
        },
    )


def pareto_figure(
    view: Any, *, x_label: str, loss_label: str, chosen: Mapping[str, tuple[float, float]] | None = None,
    provenance: str = "",
) -> go.Figure:
    """Loss against one objective (``view``: an engine.plan.FrontView): the thinned dominated
    candidates in grey (trace 0), front points to click (trace 1), the whole front as a line
    (trace 2), the chosen scenarios (label -> (objective value, loss)) as stars (traces 3+). Every candidate point carries its row of
    ``view.frame`` as ``customdata[0]``, for ``picked_rows``. Hover texts are in the page's units
    (M/B/T parameters and tokens); ``provenance`` (the laws behind the loss) is passed as ``meta``,
    never as template text, so a saved fit's name cannot act as markup or a template."""
    objective, frame = view.objective, view.frame
    flag = frame[f"pareto_{objective}"].to_numpy()
    positions = np.arange(len(frame))
    order = np.argsort(frame[objective].to_numpy()[flag], kind="stable")
    front_rows, rest_rows = positions[flag][order], positions[~flag]
    front, rest = frame.iloc[front_rows], frame.iloc[rest_rows]
    meta = "<br>".join(html.escape(part) for part in provenance.split("; ")) if provenance else ""
    tail = ("<br>%{meta}" if meta else "")
    unselected = {"marker": {"opacity": 1.0}}
    # Every front point is in the line (exact); markers, which cost the browser one SVG element
    # each, are drawn for one front point per 1/150 of the window's width.
    marked = front_rows[_thin_along(front[objective].to_numpy(), view.x_range, 150)]
    shown = frame.iloc[marked]
    front_text = [
        f"N = {html.escape(n)} active params<br>D = {html.escape(d)} tokens<br>{html.escape(c)}"
        for n, d, c in zip(fmt.counts(shown["n_params"]), fmt.counts(shown["n_tokens"]),
                           (fmt.configuration(e, b) for e, b in zip(shown["experts"], shown["serve_bits"])))
    ]
    data = [
        {"type": "scatter", "x": rest[objective].to_numpy(np.float32), "y": rest["loss"].to_numpy(np.float32),
         "mode": "markers", "name": "dominated candidates (one per cell shown)",
         "marker": {"color": "rgba(148, 163, 184, 0.45)", "size": 5}, "unselected": unselected,
         "customdata": np.column_stack([rest_rows, rest["n_params"] / 1e9, rest["n_tokens"] / 1e12,
                                        rest["experts"], rest["serve_bits"]]).astype(np.float32),
         "hovertemplate": "N = %{customdata[1]:.3~g} B active params<br>D = %{customdata[2]:.3~g} T tokens<br>"
                          "E = %{customdata[3]:d}, %{customdata[4]:d}-bit<br>loss = %{y:.4f}<br>"
                          + x_label + " = %{x:.3~g}<extra>dominated</extra>"},
        {"type": "scatter", "x": shown[objective].to_numpy(), "y": shown["loss"].to_numpy(), "mode": "markers",
         "name": f"Pareto front ({len(front):,} of {view.count:,} candidates)", "legendgroup": "front",
         "marker": {"color": PALETTE[0], "size": 7}, "unselected": unselected, "meta": meta,
         "customdata": marked, "text": front_text,
         "hovertemplate": "%{text}<br>loss = %{y:.4f}<br>" + x_label + " = %{x:.3~g}" + tail
                          + "<extra>on the front: click to compare</extra>"},
        {"type": "scatter", "x": front[objective].to_numpy(), "y": front["loss"].to_numpy(), "mode": "lines",
         "name": "front, every point", "legendgroup": "front", "showlegend": False, "hoverinfo": "skip",
         "line": {"color": PALETTE[0], "width": 2}},
    ]
    x_lo, x_hi = view.x_range
    y_lo, y_hi = view.loss_range
    for i, (label, (x, y)) in enumerate((chosen or {}).items()):
        if not (np.isfinite(x) and np.isfinite(y) and x > 0):
            continue
        x_lo, x_hi = min(x_lo, x / 1.3), max(x_hi, x * 1.3)
        y_lo, y_hi = min(y_lo, y - 0.02 * (y_hi - y_lo)), max(y_hi, y + 0.05 * (y_hi - y_lo))
        data.append({"type": "scatter", "x": [x], "y": [y], "mode": "markers+text", "name": f"scenario {label}",
                     "text": [label], "textposition": "top center", "textfont": {"size": 14},
                     "marker": {"symbol": "star", "size": 18, "color": PALETTE[1 + i], "line": {"color": "white", "width": 1}},
                     "hovertemplate": f"scenario {label}<br>" + x_label + " = %{x:.3~g}<br>loss = %{y:.4f}<extra></extra>"})
    return _figure(
        data,
        {"height": 460, "clickmode": "event+select", "dragmode": "zoom", "uirevision": objective,
         "margin": {"l": 70, "r": 20, "t": 30, "b": 60},
         "xaxis": {"type": "log", "range": [float(np.log10(x_lo)), float(np.log10(x_hi))],
                   "title": {"text": x_label + " (log scale)"}, "dtick": 1},
         "yaxis": {"title": {"text": loss_label}, "range": [y_lo, y_hi]},
         "legend": {**BASE_LAYOUT["legend"], "y": -0.18}},
    )


def _thin_along(x: np.ndarray, x_range: tuple[float, float], cells: int) -> np.ndarray:
    """Positions of the first of ``x`` (sorted) in each of ``cells`` log-spaced cells of ``x_range``."""
    lo, hi = np.log10(x_range[0]), np.log10(x_range[1])
    cell = np.clip(((np.log10(x) - lo) / (hi - lo) * cells).astype(np.int64), 0, cells - 1)
    return np.flatnonzero(np.r_[True, np.diff(cell) != 0])


def picked_rows(figure: go.Figure, points: list[dict]) -> list[int]:
    """Rows of the FrontView frame behind selected points of ``pareto_figure`` (a click, a box or
    a lasso), in selection order; points on the scenario stars carry none and are skipped."""
    rows = []
    for point in points:
        curve, index = point.get("curve_number"), point.get("point_index", point.get("point_number"))
        if curve not in (0, 1) or index is None or curve >= len(figure.data):
            continue
        customdata = figure.data[curve].customdata
        if customdata is None or index >= len(customdata):
            continue
        value = customdata[index]
        rows.append(int(value[0] if np.ndim(value) else value))
    return rows


def roofline_figure(devices: list, dtype: str, *, measured: list[dict] | None = None,
                    measured_bandwidth: float | None = None) -> go.Figure:
    """Attainable FLOP/s = min(peak, intensity × bandwidth) per device for one data type, ridge
    points marked; optional measured matmuls (at their arithmetic intensity) and measured bandwidth."""
    intensity = np.logspace(-1, 4, 200)
    data = []
    for i, device in enumerate(devices):
        if dtype not in device.peak_tflops:
            continue
        peak, bw = device.peak_flops(dtype), device.bandwidth_bytes_per_s
        data.append(_scatter(intensity, np.minimum(peak, intensity * bw), mode="lines", name=device.name,
                             line={"color": color_for(i), "width": 2},
                             hovertemplate="%{x:.3g} FLOP/byte<br>%{y:.3s}FLOP/s<extra>" + device.name + "</extra>"))
        data.append(_scatter([peak / bw], [peak], mode="markers", name=f"ridge {peak / bw:.0f} FLOP/byte",
                             showlegend=False, marker={"color": color_for(i), "size": 9, "symbol": "diamond"},
                             hovertemplate="ridge point: %{x:.0f} FLOP/byte<br>peak %{y:.3s}FLOP/s<extra></extra>"))
    if measured_bandwidth:
        data.append(_scatter(intensity, intensity * measured_bandwidth, mode="lines", name="measured bandwidth",
                             line={"color": "#111827", "dash": "dot"}))
    if measured:
        data.append(_scatter([r["intensity"] for r in measured], [r["flops_per_s"] for r in measured], mode="markers",
                             name="measured matmul", marker={"color": "#111827", "size": 10, "symbol": "x"},
                             text=[f"{r['dtype']} {r['m']}×{r['k']}×{r['n']}" for r in measured],
                             hovertemplate="%{text}<br>%{y:.3s}FLOP/s<extra>measured</extra>"))
    return _figure(data, {
        "height": 460, "title": {"text": f"Roofline, {dtype} (dense peaks)"},
        "xaxis": {"type": "log", "title": {"text": "Arithmetic intensity (FLOPs per byte moved, log scale)"}},
        "yaxis": {"type": "log", "title": {"text": "Attainable throughput (FLOP/s, log scale)"}},
    })


def line_chart(frame: pd.DataFrame, x: str, y: str, *, x_label: str, y_label: str, group: str | None = None,
               group_label: str = "", log_x: bool = False, log_y: bool = False, title: str = "",
               marks: Mapping[str, tuple[float, float]] | None = None, mode: str = "lines",
               vline: tuple[float, str] | None = None) -> go.Figure:
    """One line per ``group`` value (or one line), optional labelled marker points and a labelled
    vertical line; units belong in the axis labels."""
    parts = [(None, frame)] if group is None else list(frame.groupby(group, sort=True))
    data = []
    for i, (key, part) in enumerate(parts):
        name = y_label if key is None else f"{group_label}{key:g}" if isinstance(key, (int, float)) else str(key)
        data.append(_scatter(part[x], part[y], mode=mode, name=name, line={"color": color_for(i), "width": 2},
                             marker={"color": color_for(i), "size": 6},
                             hovertemplate=f"{x_label}: %{{x:.4g}}<br>{y_label}: %{{y:.4g}}<extra>{name}</extra>"))
    for i, (label, (mx, my)) in enumerate((marks or {}).items()):
        data.append(_scatter([mx], [my], mode="markers+text", name=label, text=[label], textposition="top center",
                             marker={"symbol": "star", "size": 14, "color": PALETTE[(i + 1) % len(PALETTE)]}))
    layout: dict[str, Any] = {
        "height": 400, "title": {"text": title},
        "xaxis": {"type": "log" if log_x else "linear", "title": {"text": x_label + (" (log scale)" if log_x else "")}},
        "yaxis": {"type": "log" if log_y else "linear", "title": {"text": y_label + (" (log scale)" if log_y else "")}},
    }
    if vline is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "y domain", "x0": vline[0], "x1": vline[0], "y0": 0,
                             "y1": 1, "line": {"color": "#dc2626", "dash": "dash", "width": 1.5}}]
        # annotations on a log axis take log10 coordinates (shapes take data coordinates)
        x_text = float(np.log10(vline[0])) if log_x else vline[0]
        layout["annotations"] = [{"x": x_text, "y": 1, "xref": "x", "yref": "y domain", "text": vline[1],
                                  "showarrow": False, "yanchor": "bottom", "font": {"color": "#dc2626"}}]
    return _figure(data, layout)
