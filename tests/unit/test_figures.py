"""Figure builders are pure: data in, figure out, units on every axis."""

from __future__ import annotations

import pandas as pd

from engine import scaling
from engine.registry import get_law
from ui import figures


def test_frontier_figure_has_log_axes_with_units_and_one_line_per_law():
    laws = [get_law("chinchilla"), get_law("kaplan")]
    frontier = pd.concat([scaling.frontier(law) for law in laws])
    runs = pd.DataFrame({"flops": [1e20], "n_params": [1e9], "n_tokens": [1.7e10], "model_name": ["r"]})
    fig = figures.frontier_figure(frontier, {law.id: law.info.title for law in laws}, runs=runs, budget=1e22)
    layout = fig.layout
    assert layout.xaxis.type == "log" and layout.yaxis.type == "log" and layout.yaxis2.type == "log"
    assert "FLOPs" in layout.xaxis.title.text and "Parameters" in layout.yaxis.title.text
    assert "tokens" in layout.yaxis2.title.text
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 4  # two laws x (N*, D*)
    assert sum(t.name == "Chinchilla runs (Hoffmann 2022)" for t in fig.data) == 2


def test_isoflop_figure_marks_each_minimum():
    curves, minima = scaling.isoflop_curves(get_law("chinchilla"), scaling.budgets_around(1e21))
    fig = figures.isoflop_figure(curves, minima, title="t", loss_label="Loss (nats/token)")
    optimum = next(t for t in fig.data if t.name == "optimum N*(C)")
    assert len(optimum.x) == 5
    assert fig.layout.xaxis.type == "log" and "nats/token" in fig.layout.yaxis.title.text
    # each marked minimum is the lowest point of its curve
    for budget, n_star, loss_star in zip(minima.flops, minima.n_params, minima.loss):
        assert curves[curves.flops == budget]["loss"].min() >= loss_star - 1e-12


def test_figures_pass_plotly_validation():
    # The builders skip Plotly's validation for speed; here every property is checked.
    import plotly.graph_objects as go

    laws = [get_law("chinchilla"), get_law("data-constrained")]
    frontier = pd.concat([scaling.frontier(law) for law in laws])
    runs = pd.DataFrame({"flops": [1e20], "n_params": [1e9], "n_tokens": [1.7e10], "model_name": ["r"],
                         "notes": [None]})
    marked = scaling.optima_table(laws, 1e22)[["law", "flops", "n_params", "n_tokens"]]
    curves, minima = scaling.isoflop_curves(laws[0], scaling.budgets_around(1e21))
    for fig in (
        figures.frontier_figure(frontier, {}, runs=runs, models=runs, budget=1e22, marked=marked),
        figures.isoflop_figure(curves, minima, title="t", loss_label="Loss (nats/token)"),
    ):
        validated = go.Figure(fig.to_dict())
        assert len(validated.data) == len(fig.data)


def test_labelled_line_on_a_log_axis_is_placed_in_log_units():
    frame = pd.DataFrame({"x": [1.0, 10.0, 100.0], "y": [3.0, 2.0, 1.0]})
    fig = figures.line_chart(frame, "x", "y", x_label="x (units)", y_label="y (units)", log_x=True, vline=(46.0, "D"))
    assert fig.layout.shapes[0].x0 == 46.0  # shapes: data coordinates
    assert abs(fig.layout.annotations[0].x - 1.6627578) < 1e-6  # annotations: log10 on a log axis
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def test_pareto_figure_names_the_laws_behind_each_point_safely():
    import plotly.graph_objects as go

    frame = pd.DataFrame({"cost_usd": [1.0, 2.0, 3.0, 2.5], "loss": [3.0, 2.5, 2.0, 2.9], "n_params": [1e8, 1e9, 1e10, 1e9],
                          "n_tokens": [1e10] * 4, "serve_bits": [16.0, 8.0, 4.0, 16.0], "experts": [1.0, 2.0, 8.0, 1.0],
                          "pareto_cost_usd": [True, True, True, False]})
    fig = figures.pareto_figure(frame, "cost_usd", x_label="Lifetime cost ($)", loss_label="Loss (nats/token)",
                                provenance="loss: fit:%{x}<b> (NOT verified); MoE gain for E > 1: moe-joint (verified)")
    go.Figure(fig.to_dict())  # valid
    for trace in fig.data[:2]:
        assert "%{meta}" in trace.hovertemplate and "fit:%{x}" not in trace.hovertemplate
        assert trace.meta == "loss: fit:%{x}&lt;b&gt; (NOT verified)<br>MoE gain for E &gt; 1: moe-joint (verified)"
    assert "log" == fig.layout.xaxis.type and "$" in fig.layout.xaxis.title.text
