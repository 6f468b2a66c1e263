"""Plotly figure builders: data in, go.Figure out. No Streamlit, no formulas, no SQL.

Every axis names its quantity and unit; log axes say so.

The builders assemble plain figure specs (trace and layout dicts) and wrap them with
``go.Figure(spec, _validate=False)``: Plotly's per-property validation costs ~10x the rest of a
page rerun. The tests rebuild every figure with validation on (tests/unit/test_figures.py), so
a misspelt property still fails there.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
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
    "margin": {"l": 75, "r": 20, "t": 50, "b": 60},
    # below the plot, in the container's bottom margin (see _fixed_margins)
    "legend": {
        "orientation": "h",
        "yref": "container",
        "yanchor": "bottom",
        "y": 0.0,
        "xanchor": "left",
        "x": 0,
    },
    "hovermode": "closest",
}
# A legend row below the plot: its height, and the characters of trace names it holds at the
# narrowest chart (half a page, ~520 px), so a wider chart never needs more rows than reserved.
LEGEND_ROW_PX, LEGEND_ROW_CHARS = 24, 60


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _translucent(hex_color: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure(
        {"data": data, "layout": _fixed_margins(data, {**BASE_LAYOUT, **layout})}, _validate=False
    )


def _fixed_margins(data: list[dict], layout: dict) -> dict:
    """Margins set here, not grown by Plotly: with automargin each redraw in the browser measured
    the labels and the legend, widened a margin and drew the whole chart a second time (a third of
    Plotly's time per rerun on the Scaling page). Axes get no automargin; the legend sits in the
    container's bottom margin, which is made tall enough for its rows (estimated from the names)."""
    layout = dict(layout)
    for key in ("xaxis", "yaxis", *(k for k in layout if k[:5] in ("xaxis", "yaxis") and k[5:].isdigit())):
        layout[key] = {"automargin": False, **layout.get(key, {})}
    names = [
        str(t.get("name") or "") for t in data if t.get("showlegend", True) is not False and t.get("name")
    ]
    if layout.get("showlegend", True) is not False and len(names) > 1:
        rows, width = 1, 0
        for name in names:
            item = len(name) + 6  # the symbol and the gap
            if width and width + item > LEGEND_ROW_CHARS:
                rows, width = rows + 1, 0
            width += item
        margin = {**layout.get("margin", BASE_LAYOUT["margin"])}
        margin["b"] = margin.get("b", 60) + rows * LEGEND_ROW_PX + 10
        layout["margin"] = margin
    return layout


def _scatter(x: Any, y: Any, **props: Any) -> dict:
    return {"type": "scatter", "x": np.asarray(x), "y": np.asarray(y), **props}


def _log_axis(values: Any, title: str, **props: Any) -> dict:
    """A log axis labelled at decades only (no crowded minor digits); where the data span less than
    two and a half decades (one, for powers of ten), at 1, 2 and 5 times a power of ten (or every
    digit, under half a decade) as whole labels, never Plotly's lone minor digits; data that take a
    few values only (16, 32 and 64 experts) are labelled at those values. Powers of ten (10^21) past
    1e15, where Plotly's own suffixes would turn into P and E, and k/M/B/T below it (the page's count
    suffixes, never the SI G)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    axis: dict[str, Any] = {"type": "log", "title": {"text": title}, **props}
    if v.size:
        lo, hi = float(np.log10(v.min())), float(np.log10(v.max()))
        power = v.max() >= 1e15 or v.min() < 1e-3
        axis["exponentformat"] = "power" if power else "B"
        distinct = np.unique(v)
        if hi - lo >= (1.0 if power else 2.5):  # '2×10^19' labels are long: decades from one decade up
            axis["dtick"] = 1
        elif distinct.size <= 6 and v.size >= 3 * distinct.size:  # a few levels (16, 32, 64 experts)
            axis.update(tickmode="array", tickvals=[float(t) for t in distinct])
        else:
            decades = range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
            for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
                ticks = [
                    m * 10.0**k
                    for k in decades
                    for m in mantissas
                    if 10 ** (lo - 0.02) <= m * 10.0**k <= 10 ** (hi + 0.02)
                ]
                if len(ticks) >= 3:
                    break
            axis.update(tickmode="array", tickvals=[float(f"{t:.6g}") for t in ticks])
    return axis


def _plain(text: object) -> str:
    """Text shown in a hover or legend as typed: Plotly reads <b>, <br> and entities in text as markup."""
    return html.escape(str(text), quote=False)


def isoflop_figure(curves: pd.DataFrame, minima: pd.DataFrame, *, title: str, loss_label: str) -> go.Figure:
    """Loss against parameters at several fixed budgets, each curve's minimum marked. Hovers are
    precomputed in the page's units (B and T, never Plotly's SI G)."""
    data = []
    budgets = sorted(curves["flops"].unique())
    for budget, shade in zip(budgets, np.linspace(0.35, 1.0, len(budgets))):
        part = curves[curves["flops"] == budget]
        name = f"C = {fmt.sci(budget)} FLOPs"
        data.append(
            _scatter(
                part["n_params"],
                part["loss"],
                mode="lines",
                name=name,
                line={"color": f"rgba(37, 99, 235, {shade:.2f})", "width": 2},
                text=[
                    f"{name}<br>N = {n} parameters<br>D = {d} tokens<br>loss = {v:.4f} nats/token"
                    for n, d, v in zip(
                        fmt.counts(part["n_params"]), fmt.counts(part["n_tokens"]), part["loss"]
                    )
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    data.append(
        _scatter(
            minima["n_params"],
            minima["loss"],
            mode="lines+markers",
            name="optimum N*(C)",
            line={"color": "#dc2626", "dash": "dot", "width": 1.5},
            marker={"symbol": "diamond", "size": 10, "color": "#dc2626"},
            text=[
                f"optimum at C = {fmt.sci(c)} FLOPs<br>N* = {n} parameters<br>D* = {d} tokens"
                f"<br>loss = {v:.4f} nats/token"
                for c, n, d, v in zip(
                    minima["flops"],
                    fmt.counts(minima["n_params"]),
                    fmt.counts(minima["n_tokens"]),
                    minima["loss"],
                )
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    return _figure(
        data,
        {
            "title": {"text": _plain(title)},  # a saved fit's name is user text
            "xaxis": _log_axis(curves["n_params"], "Parameters N (log scale)"),
            "yaxis": {"title": {"text": loss_label}},
        },
    )


# Two side-by-side panels sharing the compute axis: N*(C) left (x, y), D*(C) right (x2, y2).
_PANELS = (("x", "y", "n_params", "params"), ("x2", "y2", "n_tokens", "tokens"))
_PANEL_WORDS = {"n_params": ("N*", "parameters"), "n_tokens": ("D*", "tokens")}


def _frontier_text(head: str, flops: Any, values: Any, column: str) -> list[str]:
    """Hover lines in the page's units: 'head<br>C = 5.75e23 FLOPs<br>N* = 32.2 B parameters'."""
    symbol, unit = _PANEL_WORDS[column]
    return [
        f"{head}C = {fmt.sci(c)} FLOPs<br>{symbol} = {v} {unit}" for c, v in zip(flops, fmt.counts(values))
    ]


def frontier_figure(
    frontiers: pd.DataFrame,
    law_titles: Mapping[str, str],
    *,
    runs: pd.DataFrame | None = None,
    models: pd.DataFrame | None = None,
    bands: Mapping[str, pd.DataFrame] | None = None,
    published: list[dict] | None = None,
) -> go.Figure:
    """N*(C) and D*(C) per law on log-log axes, with published runs and frontier models.

    ``frontiers``: columns law, flops, n_params, n_tokens. ``runs``: the published training runs
    (flops, n_params, n_tokens, model_name). ``models``: notable models with model_name, notes.
    ``bands``: per law id, a 95% band (flops, n_params_lo/hi, n_tokens_lo/hi), drawn shaded.
    ``published``: ``published_traces(runs, models)`` built before (a page caches them: they do
    not change with the budget), used instead of ``runs`` and ``models``.
    """
    data: list[dict] = []
    for i, (law_id, part) in enumerate(frontiers.groupby("law", sort=False)):
        color = color_for(i)
        band = (bands or {}).get(law_id)
        title = _plain(law_titles.get(law_id, law_id))  # a saved fit's name is user text
        for xaxis, yaxis, column, _unit in _PANELS:
            if band is not None:
                data.append(
                    _scatter(
                        np.concatenate([band["flops"], band["flops"][::-1]]),
                        np.concatenate([band[f"{column}_hi"], band[f"{column}_lo"][::-1]]),
                        xaxis=xaxis,
                        yaxis=yaxis,
                        fill="toself",
                        mode="lines",
                        line={"width": 0},
                        fillcolor=_translucent(color),
                        name=f"{title}: 95% band",
                        legendgroup=law_id,
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
            data.append(
                _scatter(
                    part["flops"],
                    part[column],
                    xaxis=xaxis,
                    yaxis=yaxis,
                    mode="lines",
                    name=title,
                    legendgroup=law_id,
                    showlegend=xaxis == "x",
                    line={"color": color, "width": 2.5},
                    text=_frontier_text(f"{title}<br>", part["flops"], part[column], column),
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    data.extend(published if published is not None else published_traces(runs, models))
    compute_axis = {
        "type": "log",
        "exponentformat": "power",
        "title": {"text": "Training compute C (FLOPs, log scale)"},
    }
    layout: dict[str, Any] = {
        "height": 520,
        "xaxis": {**compute_axis, "domain": [0.0, 0.43]},
        "xaxis2": {**compute_axis, "domain": [0.57, 1.0], "anchor": "y2"},
        "yaxis": {"type": "log", "exponentformat": "power", "title": {"text": "Parameters N (log scale)"}},
        "yaxis2": {
            "type": "log",
            "exponentformat": "power",
            "anchor": "x2",
            "title": {"text": "Training tokens D (log scale)"},
        },
        "annotations": [
            {
                "text": text,
                "x": x,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
            for text, x in (
                ("Compute-optimal parameters N*(C)", 0.215),
                ("Compute-optimal tokens D*(C)", 0.785),
            )
        ],
    }
    return _figure(data, layout)


def published_traces(runs: pd.DataFrame | None, models: pd.DataFrame | None) -> list[dict]:
    """``frontier_figure``'s traces of the published runs and models, one per panel each."""
    data: list[dict] = []
    for points, name, color, symbol, size in (
        (runs, "Chinchilla runs (Hoffmann 2022)", RUNS_COLOR, "circle", 7),
        (models, "Notable models (Epoch AI)", MODELS_COLOR, "star", 9),
    ):
        if points is None or points.empty:
            continue
        # model names and notes are data, shown as typed (escaped: Plotly reads <b> in text as markup)
        heads = points["model_name"].fillna("").map(_plain)
        if "notes" in points:
            notes = points["notes"].fillna("").map(_plain)
            heads = heads + np.where(notes != "", "<br>" + notes, "")
        for xaxis, yaxis, column, _unit in _PANELS:
            part = points[points[column].notna()]
            symbol_word, unit_word = _PANEL_WORDS[column]
            text = [
                f"{head}<br>C = {fmt.sci(c)} FLOPs<br>{symbol_word[0]} = {v} {unit_word}"
                for head, c, v in zip(heads[part.index], part["flops"], fmt.counts(part[column]))
            ]
            data.append(
                _scatter(
                    part["flops"],
                    part[column],
                    xaxis=xaxis,
                    yaxis=yaxis,
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=xaxis == "x",
                    text=text,
                    marker={"color": color, "size": size, "symbol": symbol},
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    return data


def runs_scatter(runs: pd.DataFrame, *, loss_label: str) -> go.Figure:
    """Loss against training compute, one colour per source; each point carries its run_id."""
    data = []
    for i, (source, part) in enumerate(runs.groupby("source", sort=True)):
        data.append(
            _scatter(
                part["flops"],
                part["loss"],
                mode="markers",
                name=source,
                marker={"color": color_for(i), "size": 7, "opacity": 0.75},
                customdata=part["run_id"].to_numpy(),
                text=[
                    f"{_plain(m)}<br>N = {n} parameters, D = {d} tokens<br>C = {fmt.sci(c)} FLOPs<br>"
                    f"loss = {v:.4f} nats/token"
                    for m, n, d, c, v in zip(
                        part["model_name"].fillna(""),
                        fmt.counts(part["n_params"]),
                        fmt.counts(part["n_tokens"]),
                        part["flops"],
                        part["loss"],
                    )
                ],
                hovertemplate="%{text}<extra>%{fullData.name}</extra>",
            )
        )
    return _figure(
        data,
        {
            "height": 430,
            "dragmode": "lasso",
            "xaxis": _log_axis(runs["flops"], "Training compute C (FLOPs, log scale)"),
            "yaxis": {"title": {"text": loss_label}},
        },
    )


def residuals_figure(flops: np.ndarray, log_residuals: np.ndarray) -> go.Figure:
    """Fit residuals in log loss against compute (0 = perfect fit)."""
    return _figure(
        [
            _scatter(
                flops,
                log_residuals,
                mode="markers",
                name="run",
                marker={"color": PALETTE[0], "size": 6},
                text=[f"C = {fmt.sci(c)} FLOPs" for c in flops],
                hovertemplate="%{text}<br>log residual = %{y:.4f}<extra></extra>",
            )
        ],
        {
            "height": 320,
            "title": {"text": "Residuals"},
            "showlegend": False,
            "xaxis": _log_axis(flops, "Training compute C (FLOPs, log scale)"),
            "yaxis": {"title": {"text": "ln predicted − ln actual loss (unitless)"}, "zeroline": True},
        },
    )


def predicted_vs_actual_figure(actual: np.ndarray, predicted: np.ndarray) -> go.Figure:
    lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    return _figure(
        [
            _scatter(
                [lo, hi], [lo, hi], mode="lines", name="y = x", line={"color": "#94a3b8", "dash": "dash"}
            ),
            _scatter(
                actual,
                predicted,
                mode="markers",
                name="run",
                marker={"color": PALETTE[0], "size": 6},
                hovertemplate="actual %{x:.4f} nats/token<br>predicted %{y:.4f} nats/token<extra></extra>",
            ),
        ],
        {
            "height": 320,
            "title": {"text": "Predicted against actual"},
            "showlegend": False,
            "xaxis": {"title": {"text": "Actual loss (nats/token)"}},
            "yaxis": {"title": {"text": "Predicted loss (nats/token)"}},
        },
    )


def law_check_figure(
    observed: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    quantity: str,
    unit: str,
    cells: Sequence[str],
) -> go.Figure:
    """Each cell's measured optimum (x) against what each law predicts for it (y), log-log, with
    y = x: how well a fitted law and a published one describe the same sweep. ``cells`` labels the
    points (e.g. 'N 215 M, D 4 B')."""
    values = [np.asarray(observed, dtype=float), *(np.asarray(v, dtype=float) for v in predictions.values())]
    lo, hi = min(float(v.min()) for v in values) / 1.5, max(float(v.max()) for v in values) * 1.5
    data = [
        _scatter(
            [lo, hi], [lo, hi], mode="lines", name="y = x (exact)", line={"color": "#94a3b8", "dash": "dash"}
        )
    ]
    for i, (name, predicted) in enumerate(predictions.items()):
        data.append(
            _scatter(
                observed,
                predicted,
                mode="markers",
                name=_plain(name),
                marker={"color": color_for(i), "size": 8},
                text=[
                    f"{_plain(c)}<br>measured {fmt.sci(o)} {unit}<br>predicted {fmt.sci(p)} {unit}"
                    for c, o, p in zip(cells, observed, predicted)
                ],
                hovertemplate="%{text}<extra>%{fullData.name}</extra>",
            )
        )
    return _figure(
        data,
        {
            "height": 360,
            "title": {"text": f"Optimal {quantity}: law against each cell's optimum"},
            "xaxis": _log_axis(np.array([lo, hi]), f"Measured optimum ({unit}, log scale)"),
            "yaxis": _log_axis(np.array([lo, hi]), f"Law's prediction ({unit}, log scale)"),
        },
    )


_SYMBOLS = {"alpha": "α", "beta": "β"}


def correlation_heatmap(corr: pd.DataFrame) -> go.Figure:
    return _figure(
        [
            {
                "type": "heatmap",
                "z": corr.to_numpy(),
                "x": [_SYMBOLS.get(c, c) for c in corr.columns],
                "y": [_SYMBOLS.get(c, c) for c in corr.index],
                "zmin": -1,
                "zmax": 1,
                "colorscale": "RdBu",
                "reversescale": True,
                "texttemplate": "%{z:.2f}",
                "hovertemplate": "%{x} and %{y}: %{z:.2f}<extra></extra>",
                "colorbar": {"title": {"text": "correlation"}},
            }
        ],
        {"height": 320, "title": {"text": "Bootstrap correlations of the constants"}},
    )


def isoflop_analysis_figure(runs: pd.DataFrame, labels: np.ndarray, budgets: pd.DataFrame) -> go.Figure:
    """Approach 2: runs per budget group (loss against N) and each group's parabola minimum."""
    data = []
    for i, label in enumerate(np.unique(labels)):
        part = runs[labels == label]
        data.append(
            _scatter(
                part["n_params"],
                part["loss"],
                mode="markers",
                name=f"C ≈ {fmt.sci(part['flops'].median(), 2)} FLOPs",
                marker={"color": color_for(i), "size": 6},
                text=[
                    f"{_plain(m)}<br>N = {n} parameters"
                    for m, n in zip(
                        part["model_name"].fillna("") if "model_name" in part else [""] * len(part),
                        fmt.counts(part["n_params"]),
                    )
                ],
                hovertemplate="%{text}<br>loss = %{y:.4f} nats/token<extra>%{fullData.name}</extra>",
            )
        )
    used = budgets[budgets["used"]]
    data.append(
        _scatter(
            used["n_opt"],
            used["loss_opt"],
            mode="markers",
            name="parabola minimum",
            marker={"symbol": "diamond", "size": 11, "color": "#111827"},
            text=[
                f"C ≈ {fmt.sci(c, 2)} FLOPs<br>N_opt = {n} parameters"
                for c, n in zip(used["budget"], fmt.counts(used["n_opt"]))
            ],
            hovertemplate="%{text}<br>loss = %{y:.4f} nats/token<extra>minimum</extra>",
        )
    )
    return _figure(
        data,
        {
            "height": 420,
            "title": {"text": "IsoFLOP profiles (Approach 2)"},
            "xaxis": _log_axis(runs["n_params"], "Parameters N (log scale)"),
            "yaxis": {"title": {"text": "Loss (nats/token, the runs' own data set)"}},
        },
    )


def _column(frame: pd.DataFrame, key: str) -> np.ndarray:
    """A candidate column the Plan's fronts added later (sparsity, fp8_training), 0 where a frame
    has none."""
    return frame[key].to_numpy(float) if key in frame else np.zeros(len(frame))


def _strategy_lines(frame: pd.DataFrame) -> list[str]:
    """'<br>served at batch 64, speculative decoding' per row where the frame says how each
    candidate is served (engine.analysis.plan.FrontView's serve_batch and speculative); '' where
    it does not."""
    if "serve_batch" not in frame or "speculative" not in frame:
        return [""] * len(frame)
    return [
        "<br>"
        + (f"served at batch {int(b)}" if b else "no batch meets the latency limit")
        + (", speculative decoding" if s else "")
        for b, s in zip(frame["serve_batch"], frame["speculative"])
    ]


def pareto_figure(
    view: Any,
    *,
    x_label: str,
    loss_label: str,
    chosen: Mapping[str, tuple[float, float]] | None = None,
    provenance: str = "",
) -> go.Figure:
    """Loss against one objective (``view``: an engine.analysis.plan.FrontView): the thinned dominated
    candidates in grey (trace 0), front points to click (trace 1), the whole front as a line
    (trace 2), the chosen scenarios (label -> (objective value, loss)) as stars (traces 3+). Every
    candidate point carries its row of ``view.frame`` as ``customdata[0]``, for ``picked_rows``.
    Hover texts are in the page's units
    (M/B/T parameters and tokens); ``provenance`` (the laws behind the loss) is passed as ``meta``,
    never as template text, so a saved fit's name cannot act as markup or a template."""
    objective, frame = view.objective, view.frame
    flag = frame[f"pareto_{objective}"].to_numpy()
    positions = np.arange(len(frame))
    order = np.argsort(frame[objective].to_numpy()[flag], kind="stable")
    front_rows, rest_rows = positions[flag][order], positions[~flag]
    front, rest = frame.iloc[front_rows], frame.iloc[rest_rows]
    meta = "<br>".join(html.escape(part) for part in provenance.split("; ")) if provenance else ""
    tail = "<br>%{meta}" if meta else ""
    unselected = {"marker": {"opacity": 1.0}}
    # Every front point is in the line (exact); markers, which cost the browser one SVG element
    # each, are drawn for one front point per 1/120 of the window's width.
    marked = front_rows[_thin_along(front[objective].to_numpy(), view.x_range, 120)]
    shown = frame.iloc[marked]
    front_text = [
        f"N = {html.escape(n)} active params<br>D = {html.escape(d)} tokens<br>{html.escape(c)}{s}"
        for n, d, c, s in zip(
            fmt.counts(shown["n_params"]),
            fmt.counts(shown["n_tokens"]),
            (
                fmt.configuration(e, b, s, f)
                for e, b, s, f in zip(
                    shown["experts"],
                    shown["serve_bits"],
                    _column(shown, "sparsity"),
                    _column(shown, "fp8_training"),
                )
            ),
            _strategy_lines(shown),
        )
    ]
    data = [
        {
            "type": "scatter",
            "x": rest[objective].to_numpy(np.float32),
            "y": rest["loss"].to_numpy(np.float32),
            "mode": "markers",
            "name": "dominated candidates (one per cell shown)",
            "marker": {"color": "rgba(148, 163, 184, 0.45)", "size": 5},
            "unselected": unselected,
            "customdata": np.column_stack(
                [
                    rest_rows,
                    rest["n_params"] / 1e9,
                    rest["n_tokens"] / 1e12,
                    rest["experts"],
                    rest["serve_bits"],
                    _column(rest, "sparsity"),
                    _column(rest, "fp8_training"),
                ]
            ).astype(np.float32),
            "hovertemplate": "N = %{customdata[1]:.3~g} B active params<br>"
            "D = %{customdata[2]:.3~g} T tokens<br>"
            "E = %{customdata[3]:d}, %{customdata[4]:d}-bit, %{customdata[5]:.0%} of weights zero, "
            "FP8-trained: %{customdata[6]:d} (1 = yes)<br>"
            "loss = %{y:.4f}<br>" + x_label + " = %{x:.3~g}<extra>dominated</extra>",
        },
        {
            "type": "scatter",
            "x": shown[objective].to_numpy(),
            "y": shown["loss"].to_numpy(),
            "mode": "markers",
            "name": f"Pareto front ({len(front):,} of {view.count:,} candidates)",
            "legendgroup": "front",
            "marker": {"color": PALETTE[0], "size": 7},
            "unselected": unselected,
            "meta": meta,
            "customdata": marked,
            "text": front_text,
            "hovertemplate": "%{text}<br>loss = %{y:.4f}<br>"
            + x_label
            + " = %{x:.3~g}"
            + tail
            + "<extra>on the front: click to compare</extra>",
        },
        {
            "type": "scatter",
            "x": front[objective].to_numpy(),
            "y": front["loss"].to_numpy(),
            "mode": "lines",
            "name": "front, every point",
            "legendgroup": "front",
            "showlegend": False,
            "hoverinfo": "skip",
            "line": {"color": PALETTE[0], "width": 2},
        },
    ]
    x_lo, x_hi = view.x_range
    y_lo, y_hi = view.loss_range
    for i, (label, (x, y)) in enumerate((chosen or {}).items()):
        if not (np.isfinite(x) and np.isfinite(y) and x > 0):
            continue
        x_lo, x_hi = min(x_lo, x / 1.3), max(x_hi, x * 1.3)
        y_lo, y_hi = min(y_lo, y - 0.02 * (y_hi - y_lo)), max(y_hi, y + 0.05 * (y_hi - y_lo))
        data.append(
            {
                "type": "scatter",
                "x": [x],
                "y": [y],
                "mode": "markers+text",
                "name": f"scenario {label}",
                "text": [label],
                "textposition": "top center",
                "textfont": {"size": 14},
                "marker": {
                    "symbol": "star",
                    "size": 18,
                    "color": PALETTE[1 + i],
                    "line": {"color": "white", "width": 1},
                },
                "hovertemplate": f"scenario {label}<br>"
                + x_label
                + " = %{x:.3~g}<br>loss = %{y:.4f}<extra></extra>",
            }
        )
    return _figure(
        data,
        {
            "height": 460,
            "clickmode": "event+select",
            "dragmode": "zoom",
            "uirevision": objective,
            "margin": {"l": 70, "r": 20, "t": 30, "b": 60},
            "xaxis": {
                "type": "log",
                "range": [float(np.log10(x_lo)), float(np.log10(x_hi))],
                "title": {"text": x_label + " (log scale)"},
                "dtick": 1,
            },
            "yaxis": {"title": {"text": loss_label}, "range": [y_lo, y_hi]},
            "legend": BASE_LAYOUT["legend"],
        },
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


def roofline_figure(
    devices: list, dtype: str, *, measured: list[dict] | None = None, measured_bandwidth: float | None = None
) -> go.Figure:
    """Attainable FLOP/s = min(peak, intensity × bandwidth) per device for one data type, ridge
    points marked; optional measured matmuls (at their arithmetic intensity) and measured bandwidth.
    The throughput axis is in TFLOP/s; hovers say '989 TFLOP/s' and '1 FLOP per byte'."""
    intensity = np.logspace(-1, 4, 200)
    data = []
    lines = [f"{fmt.intensity(x)}" for x in intensity]
    for i, device in enumerate(devices):
        if dtype not in device.peak_tflops:
            continue
        peak, bw = device.peak_flops(dtype), device.bandwidth_bytes_per_s
        name = _plain(device.name)  # one's own devices are named by users
        attained = np.minimum(peak, intensity * bw)
        data.append(
            _scatter(
                intensity,
                attained / 1e12,
                mode="lines",
                name=name,
                line={"color": color_for(i), "width": 2},
                text=[f"{name}<br>{x}: {fmt.flop_rate(y)}" for x, y in zip(lines, attained)],
                hovertemplate="%{text}<extra></extra>",
            )
        )
        data.append(
            _scatter(
                [peak / bw],
                [peak / 1e12],
                mode="markers",
                name=f"{name}: ridge point",
                showlegend=False,
                marker={"color": color_for(i), "size": 9, "symbol": "diamond"},
                text=[f"{name}<br>ridge point: {fmt.intensity(peak / bw)}<br>peak {fmt.flop_rate(peak)}"],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if measured_bandwidth:
        attained = intensity * measured_bandwidth
        data.append(
            _scatter(
                intensity,
                attained / 1e12,
                mode="lines",
                name="measured bandwidth",
                line={"color": "#111827", "dash": "dot"},
                text=[f"measured bandwidth<br>{x}: {fmt.flop_rate(y)}" for x, y in zip(lines, attained)],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if measured:
        data.append(
            _scatter(
                [r["intensity"] for r in measured],
                [r["flops_per_s"] / 1e12 for r in measured],
                mode="markers",
                name="measured matmul",
                marker={"color": "#111827", "size": 10, "symbol": "x"},
                text=[
                    f"{_plain(r['dtype'])} {r['m']}×{r['k']}×{r['n']}<br>{fmt.intensity(r['intensity'])}: "
                    f"{fmt.flop_rate(r['flops_per_s'])}"
                    for r in measured
                ],
                hovertemplate="%{text}<extra>measured</extra>",
            )
        )
    return _figure(
        data,
        {
            "height": 460,
            "title": {"text": f"Roofline, {dtype} (dense peaks)"},
            "xaxis": _log_axis(intensity, "Arithmetic intensity (FLOPs per byte moved, log scale)"),
            "yaxis": _log_axis(
                [y for trace in data for y in trace["y"]], "Attainable throughput (TFLOP/s, log scale)"
            ),
        },
    )


def line_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_label: str,
    y_label: str,
    group: str | None = None,
    group_label: str = "",
    log_x: bool = False,
    log_y: bool = False,
    title: str = "",
    marks: Mapping[str, tuple[float, float]] | None = None,
    mode: str = "lines",
    vline: tuple[float, str] | None = None,
    names: Mapping[Any, str] | None = None,
    x_format: Callable[[float], str] = fmt.short,
    y_format: Callable[[float], str] = fmt.short,
) -> go.Figure:
    """One line per ``group`` value (or one line), optional labelled marker points and a labelled
    vertical line; units belong in the axis labels.

    ``names`` maps group values to legend words ({"loss_full": "trained in 16 bits"}); without an
    entry a number reads ``group_label`` + value ("E = 8"). Hovers are precomputed with
    ``x_format`` and ``y_format`` (ui.format functions: fmt.count for parameters, fmt.sci for FLOPs),
    so they are in the page's units, never Plotly's SI 'G'. Log axes are labelled at decades."""
    parts = [(None, frame)] if group is None else list(frame.groupby(group, sort=True))
    data = []
    for i, (key, part) in enumerate(parts):
        if key is None:
            name = y_label
        elif names is not None and key in names:
            name = names[key]
        else:
            name = f"{group_label}{key:g}" if isinstance(key, (int, float, np.number)) else str(key)
        name = _plain(name)
        data.append(
            _scatter(
                part[x],
                part[y],
                mode=mode,
                name=name,
                line={"color": color_for(i), "width": 2},
                marker={"color": color_for(i), "size": 6},
                text=[
                    f"{_plain(x_label)}: {x_format(float(a))}<br>{_plain(y_label)}: {y_format(float(b))}"
                    for a, b in zip(part[x], part[y])
                ],
                hovertemplate="%{text}<extra>%{fullData.name}</extra>",
            )
        )
    for i, (label, (mx, my)) in enumerate((marks or {}).items()):
        data.append(
            _scatter(
                [mx],
                [my],
                mode="markers+text",
                name=_plain(label),
                text=[_plain(label)],
                textposition="top center",
                customdata=[
                    f"{_plain(x_label)}: {x_format(float(mx))}<br>{_plain(y_label)}: {y_format(float(my))}"
                ],
                hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
                marker={"symbol": "star", "size": 14, "color": PALETTE[(i + 1) % len(PALETTE)]},
            )
        )
    x_title = x_label + (" (log scale)" if log_x else "")
    y_title = y_label + (" (log scale)" if log_y else "")
    layout: dict[str, Any] = {
        "height": 400,
        "title": {"text": title},
        "xaxis": _log_axis(frame[x], x_title) if log_x else {"type": "linear", "title": {"text": x_title}},
        "yaxis": _log_axis(frame[y], y_title) if log_y else {"type": "linear", "title": {"text": y_title}},
    }
    if vline is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "y domain",
                "x0": vline[0],
                "x1": vline[0],
                "y0": 0,
                "y1": 1,
                "line": {"color": "#dc2626", "dash": "dash", "width": 1.5},
            }
        ]
        # annotations on a log axis take log10 coordinates (shapes take data coordinates)
        x_text = float(np.log10(vline[0])) if log_x else vline[0]
        layout["annotations"] = [
            {
                "x": x_text,
                "y": 1,
                "xref": "x",
                "yref": "y domain",
                "text": vline[1],
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"color": "#dc2626"},
            }
        ]
    return _figure(data, layout)


BOUND_COLORS = {"memory-bound": "#2563eb", "compute-bound": "#dc2626"}


def latency_throughput_figure(
    curve: pd.DataFrame,
    *,
    chosen_batch: int,
    best_batch: int | None,
    latency_limit_ms: float,
    title: str,
) -> go.Figure:
    """Decode latency (ms per token, y) against throughput (tokens/s over the batch, x), one point
    per batch of ``curve`` (engine.cost.serving.batch_curve), coloured by the region it lies in
    (memory- or compute-bound); the chosen batch a star, the best batch within the latency limit
    a diamond, the limit a dashed line. Hovers: batch, latency, throughput, $ per million tokens."""

    def hover(row: pd.Series) -> str:
        return (
            f"batch {int(row['batch']):,} ({row['bound']})<br>decode "
            f"{fmt.short(row['decode_ms_per_token'])} ms "
            f"per token<br>{fmt.short(row['tokens_per_s'])} tokens/s<br>{fmt.money(row['usd_per_mtok'])} "
            "per 1M "
            f"tokens<br>memory {fmt.sig(row['memory_bytes'] / 1e9)} GB"
        )

    data = [
        _scatter(
            curve["tokens_per_s"],
            curve["decode_ms_per_token"],
            mode="lines",
            name="latency–throughput curve",
            showlegend=False,
            line={"color": "#94a3b8", "width": 1.5},
            hoverinfo="skip",
        )
    ]
    for bound, part in curve.groupby("bound", sort=False):
        data.append(
            _scatter(
                part["tokens_per_s"],
                part["decode_ms_per_token"],
                mode="markers",
                name=f"{bound} batches",
                marker={"color": BOUND_COLORS.get(str(bound), "#4b5563"), "size": 8},
                text=[hover(row) for _, row in part.iterrows()],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for label, batch, symbol, color in (
        ("chosen batch", chosen_batch, "star", "#111827"),
        ("most throughput within the limit", best_batch, "diamond-open", "#059669"),
    ):
        row = curve[curve["batch"] == batch]
        if batch is None or row.empty:
            continue
        r = row.iloc[0]
        data.append(
            _scatter(
                [r["tokens_per_s"]],
                [r["decode_ms_per_token"]],
                mode="markers",
                name=f"{label} ({int(batch):,})",
                marker={"color": color, "size": 16, "symbol": symbol, "line": {"width": 2, "color": color}},
                text=[hover(r)],
                hovertemplate="%{text}<extra>" + label + "</extra>",
            )
        )
    layout: dict[str, Any] = {
        "height": 440,
        "title": {"text": _plain(title)},
        "xaxis": _log_axis(
            curve["tokens_per_s"], "Throughput (generated tokens/s over the batch, log scale)"
        ),
        "yaxis": _log_axis(
            [*curve["decode_ms_per_token"], latency_limit_ms], "Decode latency (ms per token, log scale)"
        ),
        "shapes": [
            {
                "type": "line",
                "xref": "x domain",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": latency_limit_ms,
                "y1": latency_limit_ms,
                "line": {"color": "#059669", "dash": "dash", "width": 1.5},
            }
        ],
        "annotations": [
            {
                "x": 0,
                "y": float(np.log10(latency_limit_ms)),
                "xref": "x domain",
                "yref": "y",
                "text": f"latency limit {fmt.short(latency_limit_ms)} ms",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"color": "#059669"},
            }
        ],
    }
    return _figure(data, layout)


def allocation_figure(
    curves: pd.DataFrame,
    *,
    names: Mapping[str, str],
    shaded: tuple[float, float, str] | None = None,
    budgets: Mapping[str, float] | None = None,
) -> go.Figure:
    """N*(C) of several allocation rules on one log–log chart (engine.analysis.reconcile
    .allocation_curves: columns budget_flops, law, n_params), each named by ``names`` (the legend
    says its exponent); ``shaded`` a budget range (low, high, label), ``budgets`` labelled
    vertical lines (e.g. Chinchilla's 5.76e23 FLOPs)."""
    data = []
    for i, (law, part) in enumerate(curves.groupby("law", sort=False)):
        name = _plain(names.get(str(law), str(law)))
        data.append(
            _scatter(
                part["budget_flops"],
                part["n_params"],
                mode="lines",
                name=name,
                line={"color": color_for(i), "width": 2.5, "dash": "dot" if "line" in str(law) else "solid"},
                text=[
                    f"{name}<br>C = {fmt.flops(c)}: N* = {fmt.count(n)} parameters"
                    for c, n in zip(part["budget_flops"], part["n_params"])
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    shapes, annotations = [], []
    if shaded is not None:
        lo, hi, label = shaded
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": lo,
                "x1": hi,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(100, 116, 139, 0.12)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "x": float(np.log10(lo)),
                "y": 1,
                "xref": "x",
                "yref": "y domain",
                "text": _plain(label),
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": "#475569"},
            }
        )
    for label, c in (budgets or {}).items():
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "y domain",
                "x0": c,
                "x1": c,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#111827", "dash": "dash", "width": 1},
            }
        )
        annotations.append(
            {
                "x": float(np.log10(c)),
                "y": 0,
                "xref": "x",
                "yref": "y domain",
                "text": _plain(label),
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "bottom",
                "textangle": -90,
                "font": {"color": "#111827"},
            }
        )
    return _figure(
        data,
        {
            "height": 480,
            "title": {
                "text": "Compute-optimal parameters N* against compute: Kaplan et al. against Chinchilla"
            },
            "xaxis": _log_axis(curves["budget_flops"], "Training compute C (FLOPs, log scale)"),
            "yaxis": _log_axis(curves["n_params"], "Compute-optimal parameters N* (log scale)"),
            "shapes": shapes,
            "annotations": annotations,
        },
    )
