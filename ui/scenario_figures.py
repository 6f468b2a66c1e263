"""Scenarios marked on the Plan page's front and on the Scaling page's frontier.

The figures are ui.figures' own (``pareto_figure``, ``frontier_figure``) with the scenarios added as
numbered stars; the data come from the same engine calls those pages make (plan.front_view,
scaling.frontier). No Streamlit here: the Scenarios page and the HTML report both draw them.
A scenario's name is user text: it reaches a figure only escaped, as a legend entry, never as
hover-template text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from engine.analysis import plan, registry, scaling
from engine.cost.hardware import Device
from engine.laws.base import Law
from ui import figures
from ui import format as fmt
from ui.scenario_tables import FRONT_AXES, FRONT_WORDS

LEGEND_NAME_CHARS = 40
FRONTIER_RANGE = (1e18, 1e27)  # the Scaling page's compute range


@dataclass(frozen=True)
class Planned:
    """One scenario as the figures need it: its name, its re-evaluated result and what it used."""

    name: str
    result: plan.PlanResult
    law: Law
    device: Device


def legend_name(number: int, name: str) -> str:
    """'2: NAME' for a legend, the name escaped (Plotly reads <b> and entities in a legend) and cut
    to LEGEND_NAME_CHARS characters."""
    short = name if len(name) <= LEGEND_NAME_CHARS else name[: LEGEND_NAME_CHARS - 1] + "…"
    return f"{number}: {html.escape(short, quote=False)}"


def front_view_for(scenario: Planned, objective: str) -> plan.FrontView:
    """The front the Plan page draws for this scenario and objective (the same engine call)."""
    r = scenario.result
    budget = None if r.inputs.plan_mode is plan.PlanMode.TARGET_LOSS else r.flops
    return plan.front_view(r.inputs, scenario.law, scenario.device, r.grid, objective, budget=budget)


def front_figure(
    scenarios: Sequence[Planned], objective: str, view: plan.FrontView | None = None
) -> go.Figure:
    """The first scenario's front for ``objective`` (loss against lifetime cost, CO2e, latency or
    memory) with every scenario's recommendation as a numbered star at its own value and loss."""
    view = view if view is not None else front_view_for(scenarios[0], objective)
    chosen = {
        str(i + 1): (
            float(s.result.point.get(objective, math.nan)),
            float(s.result.point.get("loss", math.nan)),
        )
        for i, s in enumerate(scenarios)
    }
    provenance = "; ".join(
        f"{role}: {law_id} ({'verified' if verified else 'NOT verified'})"
        for role, law_id, verified in plan.candidate_laws(scenarios[0].law)
    )
    figure = figures.pareto_figure(
        view,
        x_label=FRONT_AXES[objective],
        loss_label="Loss (nats/token)",
        chosen=chosen,
        provenance=provenance,
    )
    names = {str(i + 1): s.name for i, s in enumerate(scenarios)}
    for trace in figure.data:
        label = (trace.text or [None])[0] if trace.name and trace.name.startswith("scenario ") else None
        if label in names:
            trace.name = legend_name(int(label), names[label])
    _reserve_legend_rows(figure, base_px=60)  # pareto_figure's bottom margin, before its legend rows
    return figure


def _reserve_legend_rows(figure: go.Figure, *, base_px: int) -> None:
    """Make the bottom margin tall enough for the legend's rows once the names are final (as
    ui.figures reserves them: one row per LEGEND_ROW_CHARS characters of names at the narrowest
    chart), so that a long scenario name does not push the legend onto the axis."""
    rows, width = 1, 0
    for trace in figure.data:
        if trace.showlegend is False or not trace.name:
            continue
        item = len(trace.name) + 6
        if width and width + item > figures.LEGEND_ROW_CHARS:
            rows, width = rows + 1, 0
        width += item
    figure.layout.margin.b = base_px + rows * figures.LEGEND_ROW_PX + 10


def front_caption(scenarios: Sequence[Planned], objective: str) -> str:
    """What the front chart shows, in words (names as given: the caller escapes them)."""
    first = scenarios[0]
    laws = {s.result.inputs.plan_law for s in scenarios}
    words = (
        f"The front is scenario 1's ({first.name}): its law, device, prices and budget. Each star is a "
        f"scenario's recommendation at its own {FRONT_WORDS[objective]} and loss."
    )
    if len(laws) > 1:
        words += (
            " The scenarios use different laws, whose losses are on different data sets: compare "
            "their stars' positions along the x axis, not their losses."
        )
    return words


def frontier_figure(scenarios: Sequence[Planned]) -> go.Figure:
    """N*(C) and D*(C) of the scenarios' laws (as on the Scaling page) with each scenario's
    training compute, parameters and tokens as a numbered star in both panels."""
    laws: dict[str, Law] = {}
    for s in scenarios:
        if registry.has_compute_optimum(s.law):
            laws.setdefault(s.law.id, s.law)
    frames = [scaling.frontier(law, *FRONTIER_RANGE) for law in laws.values()]
    frontier = pd.concat(frames, ignore_index=True) if frames else scaling.frontier_columns()
    stars: list[dict] = []  # drawn after the laws' lines, in the legend's reserved rows
    for i, s in enumerate(scenarios):
        r, color = s.result, figures.PALETTE[(1 + i) % len(figures.PALETTE)]
        for xaxis, yaxis, value in (("x", "y", r.n_params), ("x2", "y2", r.n_tokens)):
            words = ("N = " if xaxis == "x" else "D = ") + fmt.count(
                value, "parameters" if xaxis == "x" else "tokens"
            )
            stars.append(
                {
                    "type": "scatter",
                    "x": [r.flops],
                    "y": [value],
                    "xaxis": xaxis,
                    "yaxis": yaxis,
                    "mode": "markers+text",
                    "text": [str(i + 1)],
                    "textposition": "top center",
                    "marker": {
                        "symbol": "star",
                        "size": 16,
                        "color": color,
                        "line": {"color": "white", "width": 1},
                    },
                    "name": legend_name(i + 1, s.name),
                    "legendgroup": f"scenario-{i}",
                    "showlegend": xaxis == "x",
                    "customdata": [f"C = {fmt.sci(r.flops)} FLOPs<br>{words}"],
                    "hovertemplate": f"scenario {i + 1}<br>%{{customdata}}<extra></extra>",
                }
            )
    titles = {k: law.info.title for k, law in laws.items()}
    return figures.frontier_figure(frontier, titles, published=stars)
