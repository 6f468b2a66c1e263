"""Figure builders are pure: data in, figure out, units on every axis."""

from __future__ import annotations

import math

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


def _front_view(frame, objective="cost_usd"):
    from engine.plan import FrontView

    front = frame[frame[f"pareto_{objective}"]]
    return FrontView(frame, len(frame), objective, (front[objective].min() / 2, frame[objective].max() * 2),
                     (front["loss"].min() - 0.1, front["loss"].max() + 0.1))


FRAME = pd.DataFrame({"cost_usd": [1.0, 2.0, 3.0, 2.5], "loss": [3.0, 2.5, 2.0, 2.9],
                      "n_params": [1e8, 1.5e9, 1e10, 1e9], "n_tokens": [2e10, 3e11, 1.2e12, 1e10],
                      "serve_bits": [16.0, 8.0, 4.0, 16.0], "experts": [1.0, 2.0, 8.0, 1.0],
                      "pareto_cost_usd": [True, True, True, False]})


def test_pareto_figure_names_the_laws_behind_each_point_safely():
    import plotly.graph_objects as go

    fig = figures.pareto_figure(_front_view(FRAME), x_label="Lifetime cost ($)", loss_label="Loss (nats/token)",
                                provenance="loss: fit:%{x}<b> (NOT verified); MoE gain for E > 1: moe-joint (verified)")
    go.Figure(fig.to_dict())  # valid
    front = fig.data[1]
    assert "%{meta}" in front.hovertemplate and "fit:%{x}" not in front.hovertemplate
    assert front.meta == "loss: fit:%{x}&lt;b&gt; (NOT verified)<br>MoE gain for E &gt; 1: moe-joint (verified)"
    assert "log" == fig.layout.xaxis.type and "$" in fig.layout.xaxis.title.text


def test_pareto_hovers_use_the_pages_units_and_whole_numbers():
    fig = figures.pareto_figure(_front_view(FRAME), x_label="Lifetime cost ($)", loss_label="Loss (nats/token)")
    texts = list(fig.data[1].text)
    # 1.5e9 parameters are "1.5 B", never Plotly's SI "1.5G"; bits and experts as whole numbers
    assert texts == ["N = 100 M active params<br>D = 20 B tokens<br>dense, 16-bit",
                     "N = 1.5 B active params<br>D = 300 B tokens<br>2 experts, 8-bit",
                     "N = 10 B active params<br>D = 1.2 T tokens<br>8 experts, 4-bit"]
    assert ":.3s" not in fig.data[0].hovertemplate and "%{customdata[3]:d}" in fig.data[0].hovertemplate


def test_pareto_axes_frame_the_front_and_the_scenarios():
    view = _front_view(FRAME)
    fig = figures.pareto_figure(view, x_label="Lifetime cost ($)", loss_label="Loss (nats/token)",
                                chosen={"A": (10.0, 3.5)})
    x0, x1 = fig.layout.xaxis.range  # log10 units
    assert x0 <= math.log10(0.5) + 1e-9 and x1 >= math.log10(10.0)  # the front's extent and A
    y0, y1 = fig.layout.yaxis.range
    assert y0 <= 1.9 and y1 >= 3.5


def test_picked_rows_maps_a_click_a_box_and_a_star_to_candidate_rows():
    fig = figures.pareto_figure(_front_view(FRAME), x_label="Lifetime cost ($)", loss_label="Loss (nats/token)",
                                chosen={"A": (2.0, 2.4)})
    # what Streamlit hands back: curve and point index (customdata may arrive as a dict: unused)
    click = [{"curve_number": 1, "point_index": 2, "customdata": {"0": 2}}]
    assert figures.picked_rows(fig, click) == [2]
    box = [{"curve_number": 0, "point_index": 0}, {"curve_number": 1, "point_index": 0}]
    assert figures.picked_rows(fig, box) == [3, 0]
    star = [{"curve_number": len(fig.data) - 1, "point_index": 0}]
    assert figures.picked_rows(fig, star) == []
