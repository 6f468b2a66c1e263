"""Figure builders are pure: data in, figure out, units on every axis."""

from __future__ import annotations

import math

import pandas as pd

from engine.analysis import scaling
from engine.analysis.registry import get_law
from ui import figures
from ui import format as fmt


def test_frontier_figure_has_log_axes_with_units_and_one_line_per_law():
    laws = [get_law("chinchilla"), get_law("kaplan")]
    frontier = pd.concat([scaling.frontier(law) for law in laws])
    runs = pd.DataFrame({"flops": [1e20], "n_params": [1e9], "n_tokens": [1.7e10], "model_name": ["r"]})
    fig = figures.frontier_figure(frontier, {law.id: law.info.title for law in laws}, runs=runs)
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
    for budget, _n_star, loss_star in zip(minima.flops, minima.n_params, minima.loss):
        assert curves[curves.flops == budget]["loss"].min() >= loss_star - 1e-12


def test_figures_pass_plotly_validation():
    # The builders skip Plotly's validation for speed; here every property is checked.
    import plotly.graph_objects as go

    laws = [get_law("chinchilla"), get_law("data-constrained")]
    frontier = pd.concat([scaling.frontier(law) for law in laws])
    runs = pd.DataFrame(
        {"flops": [1e20], "n_params": [1e9], "n_tokens": [1.7e10], "model_name": ["r"], "notes": [None]}
    )
    curves, minima = scaling.isoflop_curves(laws[0], scaling.budgets_around(1e21))
    for fig in (
        figures.frontier_figure(frontier, {}, runs=runs, models=runs),
        figures.isoflop_figure(curves, minima, title="t", loss_label="Loss (nats/token)"),
    ):
        validated = go.Figure(fig.to_dict())
        assert len(validated.data) == len(fig.data)


def test_labelled_line_on_a_log_axis_is_placed_in_log_units():
    frame = pd.DataFrame({"x": [1.0, 10.0, 100.0], "y": [3.0, 2.0, 1.0]})
    fig = figures.line_chart(
        frame, "x", "y", x_label="x (units)", y_label="y (units)", log_x=True, vline=(46.0, "D")
    )
    assert fig.layout.shapes[0].x0 == 46.0  # shapes: data coordinates
    assert abs(fig.layout.annotations[0].x - 1.6627578) < 1e-6  # annotations: log10 on a log axis
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def _front_view(frame, objective="cost_usd"):
    from engine.analysis.plan import FrontView

    front = frame[frame[f"pareto_{objective}"]]
    return FrontView(
        frame,
        len(frame),
        objective,
        (front[objective].min() / 2, frame[objective].max() * 2),
        (front["loss"].min() - 0.1, front["loss"].max() + 0.1),
    )


FRAME = pd.DataFrame(
    {
        "cost_usd": [1.0, 2.0, 3.0, 2.5],
        "loss": [3.0, 2.5, 2.0, 2.9],
        "n_params": [1e8, 1.5e9, 1e10, 1e9],
        "n_tokens": [2e10, 3e11, 1.2e12, 1e10],
        "serve_bits": [16.0, 8.0, 4.0, 16.0],
        "experts": [1.0, 2.0, 8.0, 1.0],
        "pareto_cost_usd": [True, True, True, False],
    }
)


def test_pareto_figure_names_the_laws_behind_each_point_safely():
    import plotly.graph_objects as go

    fig = figures.pareto_figure(
        _front_view(FRAME),
        x_label="Lifetime cost ($)",
        loss_label="Loss (nats/token)",
        provenance="loss: fit:%{x}<b> (NOT verified); MoE gain for E > 1: moe-joint (verified)",
    )
    go.Figure(fig.to_dict())  # valid
    front = fig.data[1]
    assert "%{meta}" in front.hovertemplate and "fit:%{x}" not in front.hovertemplate
    assert (
        front.meta == "loss: fit:%{x}&lt;b&gt; (NOT verified)<br>MoE gain for E &gt; 1: moe-joint (verified)"
    )
    assert fig.layout.xaxis.type == "log" and "$" in fig.layout.xaxis.title.text


def test_pareto_hovers_use_the_pages_units_and_whole_numbers():
    fig = figures.pareto_figure(
        _front_view(FRAME), x_label="Lifetime cost ($)", loss_label="Loss (nats/token)"
    )
    texts = list(fig.data[1].text)
    # 1.5e9 parameters are "1.5 B", never Plotly's SI "1.5G"; bits and experts as whole numbers
    assert texts == [
        "N = 100 M active params<br>D = 20 B tokens<br>dense, 16-bit",
        "N = 1.5 B active params<br>D = 300 B tokens<br>2 experts, 8-bit",
        "N = 10 B active params<br>D = 1.2 T tokens<br>8 experts, 4-bit",
    ]
    assert ":.3s" not in fig.data[0].hovertemplate and "%{customdata[3]:d}" in fig.data[0].hovertemplate


def test_pareto_axes_frame_the_front_and_the_scenarios():
    view = _front_view(FRAME)
    fig = figures.pareto_figure(
        view, x_label="Lifetime cost ($)", loss_label="Loss (nats/token)", chosen={"A": (10.0, 3.5)}
    )
    x0, x1 = fig.layout.xaxis.range  # log10 units
    assert x0 <= math.log10(0.5) + 1e-9 and x1 >= math.log10(10.0)  # the front's extent and A
    y0, y1 = fig.layout.yaxis.range
    assert y0 <= 1.9 and y1 >= 3.5


def test_picked_rows_maps_a_click_a_box_and_a_star_to_candidate_rows():
    fig = figures.pareto_figure(
        _front_view(FRAME),
        x_label="Lifetime cost ($)",
        loss_label="Loss (nats/token)",
        chosen={"A": (2.0, 2.4)},
    )
    # what Streamlit hands back: curve and point index (customdata may arrive as a dict: unused)
    click = [{"curve_number": 1, "point_index": 2, "customdata": {"0": 2}}]
    assert figures.picked_rows(fig, click) == [2]
    box = [{"curve_number": 0, "point_index": 0}, {"curve_number": 1, "point_index": 0}]
    assert figures.picked_rows(fig, box) == [3, 0]
    star = [{"curve_number": len(fig.data) - 1, "point_index": 0}]
    assert figures.picked_rows(fig, star) == []


# --- hovers, legends and axes as a careful reader expects them (not Plotly's defaults) ----------


def _frontier_frame():
    # one law's N*(C), D*(C): 1.5e9 parameters and 3e10 tokens at 2.7e20 FLOPs (6ND)
    return pd.DataFrame(
        {
            "law": ["mine", "mine"],
            "flops": [2.7e20, 2.7e22],
            "n_params": [1.5e9, 1.5e10],
            "n_tokens": [3e10, 3e11],
        }
    )


def test_frontier_hovers_are_in_the_pages_units_and_names_are_plain_text():
    models = pd.DataFrame(
        {
            "flops": [5.76e23],
            "n_params": [7e10],
            "n_tokens": [1.4e12],
            "model_name": ["<b>Chinchilla</b>"],
            "notes": ["DeepMind & co"],
        }
    )
    fig = figures.frontier_figure(
        _frontier_frame(),
        {"mine": "Your fit: <i>x</i> %{y}"},
        models=models,
    )
    line_n, line_d = [t for t in fig.data if t.mode == "lines"]
    assert (
        line_n.text[0] == "Your fit: &lt;i&gt;x&lt;/i&gt; %{y}<br>C = 2.70e20 FLOPs<br>N* = 1.5 B parameters"
    )
    assert line_d.text[1].endswith("D* = 300 B tokens")
    assert line_n.name == "Your fit: &lt;i&gt;x&lt;/i&gt; %{y}"  # the legend shows the name as typed
    for trace in fig.data:
        template = trace.hovertemplate or ""
        assert ":.3s" not in template and "%{y:" not in template, template  # never '1.5G'
        assert "%{y}" not in template and "mine" not in template  # names live in text, not in the template
    star_n = next(t for t in fig.data if t.name == "Notable models (Epoch AI)")
    assert (
        star_n.text[0]
        == "&lt;b&gt;Chinchilla&lt;/b&gt;<br>DeepMind &amp; co<br>C = 5.76e23 FLOPs<br>N = 70 B parameters"
    )
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def test_isoflop_hovers_and_names_use_e_notation_and_counts():
    curves, minima = scaling.isoflop_curves(get_law("chinchilla"), scaling.budgets_around(10**23.76))
    fig = figures.isoflop_figure(curves, minima, title="t", loss_label="Loss (nats/token)")
    names = [t.name for t in fig.data]
    assert "C = 5.75e23 FLOPs" in names and not [n for n in names if "e+" in n]
    optimum = next(t for t in fig.data if t.name == "optimum N*(C)")
    assert optimum.text[2].startswith(
        "optimum at C = 5.75e23 FLOPs<br>N* = 32.2 B parameters<br>D* = 2.98 T tokens"
    )
    assert all(":.3s" not in (t.hovertemplate or "") for t in fig.data)
    assert fig.layout.xaxis.dtick == 1  # decades only, no 2-and-5 minor digits


def test_line_chart_names_legends_in_words_and_formats_hovers():
    frame = pd.DataFrame(
        {
            "flops": [1e19, 1e21, 1e19, 1e21],
            "kind": ["active_params"] * 2 + ["total_params"] * 2,
            "count": [1.5e9, 2e10, 1.2e10, 1.6e11],
        }
    )
    fig = figures.line_chart(
        frame,
        "flops",
        "count",
        group="kind",
        log_x=True,
        log_y=True,
        x_label="Training compute (FLOPs)",
        y_label="Parameters",
        names={"active_params": "active parameters", "total_params": "total parameters"},
        x_format=fmt.sci,
        y_format=fmt.count,
    )
    assert [t.name for t in fig.data] == ["active parameters", "total parameters"]
    assert fig.data[0].text[0] == "Training compute (FLOPs): 1.00e19<br>Parameters: 1.5 B"
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.exponentformat == "power"  # 10^19, not 10E
    assert fig.layout.yaxis.exponentformat == "B"  # 2B, 10B: never 2G
    assert list(fig.layout.yaxis.tickvals) == [2e9, 5e9, 1e10, 2e10, 5e10, 1e11]  # two decades: 1, 2, 5
    assert "(log scale)" in fig.layout.xaxis.title.text
    # numbers without a names entry: group_label + the number, whole where whole ('E = 8', not 8.0)
    experts = pd.DataFrame({"m": [1.0, 10.0, 1.0, 10.0], "e": [1, 1, 8, 8], "loss": [3.0, 2.9, 3.1, 2.8]})
    fig = figures.line_chart(
        experts,
        "m",
        "loss",
        group="e",
        group_label="E = ",
        x_label="Memory (GB)",
        y_label="Loss (nats/token)",
        names={1: "dense (E = 1)"},
    )
    assert [t.name for t in fig.data] == ["dense (E = 1)", "E = 8"]
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def test_log_axes_over_a_short_span_get_whole_labels():
    frame = pd.DataFrame({"x": [0.03, 0.9, 7.0], "y": [20.0, 35.0, 60.0]})
    fig = figures.line_chart(frame, "x", "y", x_label="Memory (GB)", y_label="Loss", log_x=True, log_y=True)
    # 0.03 to 7 GB: decades alone would label only 0.1 and 1
    assert list(fig.layout.xaxis.tickvals) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    # 20 to 60: not Plotly's lone '2' and '5' digits but 20, 30, ... 60
    assert list(fig.layout.yaxis.tickvals) == [20.0, 30.0, 40.0, 50.0, 60.0]
    # a few levels, many points (compute-optimal experts): labelled at the levels
    levels = pd.DataFrame({"x": range(1, 10), "y": [16.0] * 3 + [32.0] * 3 + [64.0] * 3})
    fig = figures.line_chart(levels, "x", "y", x_label="Compute", y_label="Experts E", log_y=True)
    assert list(fig.layout.yaxis.tickvals) == [16.0, 32.0, 64.0]


def test_roofline_reads_in_tflops_with_agreement_and_plain_device_names():
    from engine.cost.hardware import Device

    device = Device("lab", "<b>Lab</b> GPU", {"bf16": 1.0}, memory_gb=1.0, bandwidth_gb_s=1000.0, tdp_w=None)
    fig = figures.roofline_figure(
        [device],
        "bf16",
        measured=[{"dtype": "bf16", "m": 64, "k": 64, "n": 64, "intensity": 10.0, "flops_per_s": 2.4e10}],
    )
    line, ridge, measured = fig.data
    assert line.name == "&lt;b&gt;Lab&lt;/b&gt; GPU"
    # 1 TFLOP/s over 1 TB/s: the ridge is at 1 FLOP per byte (singular), peak 1 TFLOP/s
    assert ridge.text[0] == "&lt;b&gt;Lab&lt;/b&gt; GPU<br>ridge point: 1 FLOP per byte<br>peak 1 TFLOP/s"
    assert ridge.y[0] == 1.0 and "TFLOP/s" in fig.layout.yaxis.title.text
    assert measured.text[0] == "bf16 64×64×64<br>10 FLOPs per byte: 24 GFLOP/s"
    assert all(
        ":.3s" not in (t.hovertemplate or "") and "Lab" not in (t.hovertemplate or "") for t in fig.data
    )
    assert fig.layout.xaxis.dtick == 1
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def test_runs_scatter_hovers_in_counts_with_plain_model_names_and_run_ids_kept():
    runs = pd.DataFrame(
        {
            "source": ["user", "user"],
            "run_id": ["u:1", "u:2"],
            "model_name": ["<b>a</b>", None],
            "n_params": [1.5e9, 7.38e7],
            "n_tokens": [3e10, 3.15e9],
            "flops": [2.7e20, 1.4e18],
            "loss": [2.5, 3.0],
        }
    )
    fig = figures.runs_scatter(runs, loss_label="Loss (nats/token)")
    trace = fig.data[0]
    assert list(trace.customdata) == ["u:1", "u:2"]
    assert trace.text[0] == (
        "&lt;b&gt;a&lt;/b&gt;<br>N = 1.5 B parameters, D = 30 B tokens<br>C = 2.70e20 FLOPs"
        "<br>loss = 2.5000 nats/token"
    )
    assert trace.text[1].startswith("<br>N = 73.8 M parameters")
    import plotly.graph_objects as go

    go.Figure(fig.to_dict())  # valid


def test_fit_diagnostics_and_isoflop_analysis_figures_are_valid_with_units():
    import numpy as np
    import plotly.graph_objects as go

    resid = figures.residuals_figure(np.array([1e18, 1e20]), np.array([0.01, -0.02]))
    assert resid.data[0].text[0] == "C = 1.00e18 FLOPs" and resid.layout.xaxis.dtick == 1
    pva = figures.predicted_vs_actual_figure(np.array([2.0, 3.0]), np.array([2.1, 2.9]))
    assert "nats/token" in pva.layout.xaxis.title.text and "nats/token" in pva.layout.yaxis.title.text
    corr = figures.correlation_heatmap(
        pd.DataFrame(np.eye(2), index=["alpha", "beta"], columns=["alpha", "beta"])
    )
    assert list(corr.data[0].x) == ["α", "β"]
    runs = pd.DataFrame(
        {
            "n_params": [1e8, 2e8, 4e8],
            "loss": [3.0, 2.9, 2.95],
            "flops": [1e19] * 3,
            "model_name": ["a", "b", "<c>"],
        }
    )
    budgets = pd.DataFrame({"budget": [1e19], "n_opt": [2.2e8], "loss_opt": [2.89], "used": [True]})
    iso = figures.isoflop_analysis_figure(runs, np.zeros(3), budgets)
    assert (
        iso.data[0].name == "C ≈ 1.0e19 FLOPs" and iso.data[0].text[2] == "&lt;c&gt;<br>N = 400 M parameters"
    )
    assert iso.data[1].text[0] == "C ≈ 1.0e19 FLOPs<br>N_opt = 220 M parameters"
    for fig in (resid, pva, corr, iso):
        go.Figure(fig.to_dict())  # valid
