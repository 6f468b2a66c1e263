"""The Plan page in a real browser: scenario B by a click on every front, shared links, live inputs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.harness import (
    assert_no_exception,
    choose,
    click_plot_point,
    metric_values,
    plot_points,
    press,
    slider_input,
    time_action,
    trace_index,
    truncated_metrics,
    wait_idle,
)
from tests.numbers import number

pytestmark = pytest.mark.browser

FRONTS = ("cost", "CO2e", "latency", "memory")


def open_plan(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Plan").wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert_no_exception(page)


def front_chart(page):
    return page.locator(".js-plotly-plot").first


def b_param(page) -> str | None:
    values = parse_qs(urlparse(page.url).query).get("plan_b")
    return values[0] if values else None


def comparison_table(page) -> dict[str, tuple[str, str]]:
    """Row label -> (A, B) of the A-against-B table."""
    table = page.locator('[data-testid="stTable"]').filter(has_text="Scenario B")
    rows = table.locator("tbody tr")
    rows.first.wait_for(timeout=30_000)
    out = {}
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()]
        if len(cells) == 3:
            out[cells[0]] = (cells[1], cells[2])
    return out


@pytest.mark.parametrize("front", FRONTS)
def test_a_click_on_a_front_makes_scenario_b(page, server_url, front):
    open_plan(page, f"{server_url}/?plan_front={front}")
    chart = front_chart(page)
    xs, _ = plot_points(page, chart, "Pareto front")
    assert len(xs) > 10
    clicked = time_action(page, lambda: click_plot_point(page, chart, "Pareto front", len(xs) // 3))
    assert clicked < 30_000
    assert_no_exception(page)
    page.get_by_text(re.compile(r"Scenario A \(recommended\) against B")).wait_for(timeout=30_000)
    assert b_param(page) is not None
    # B is marked on the chart where the click was (Plotly takes the point nearest the pointer,
    # which may be a dominated neighbour a few pixels away)
    x_b, y_b = plot_points(page, front_chart(page), "scenario B")
    x_click, y_click = plot_points(page, front_chart(page), "Pareto front")
    x_click, y_click = x_click[len(xs) // 3], y_click[len(xs) // 3]
    assert x_b[0] == pytest.approx(x_click, rel=0.05) and y_b[0] == pytest.approx(y_click, abs=0.03)
    table = comparison_table(page)
    assert table["Active parameters N"][0] != table["Active parameters N"][1]
    assert "None" not in str(table)


def test_b_survives_a_rerun_reopens_from_the_link_and_clear_b_removes_it(browser, page, server_url):
    open_plan(page, f"{server_url}/?plan_front=memory")
    chart = front_chart(page)
    xs, _ = plot_points(page, chart, "Pareto front")
    time_action(page, lambda: click_plot_point(page, chart, "Pareto front", len(xs) // 2))
    table = comparison_table(page)
    b_word = b_param(page)
    assert b_word

    # a rerun elsewhere on the page keeps B
    time_action(page, lambda: choose(page, "Grid region", "France"))
    assert_no_exception(page)
    assert (
        b_param(page) == b_word
        and comparison_table(page)["Active parameters N"] == table["Active parameters N"]
    )

    # the link reopens A and B in a fresh browser session
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        open_plan(other, page.url)
        reopened = comparison_table(other)
        assert reopened["Active parameters N"] == table["Active parameters N"]
        assert (
            reopened["Experts"] == table["Experts"]
            and reopened["Serving precision"] == table["Serving precision"]
        )
        trace_index(front_chart(other), "scenario B")
    finally:
        context.close()

    time_action(page, lambda: page.get_by_role("button", name="Clear B").click())
    assert_no_exception(page)
    page.get_by_text("No scenario B yet").wait_for(timeout=30_000)
    assert b_param(page) is None
    with pytest.raises(LookupError):
        trace_index(front_chart(page), "scenario B")


def test_a_box_selection_takes_the_first_point_and_says_so(page, server_url):
    open_plan(page, server_url)
    chart = front_chart(page)
    chart.scroll_into_view_if_needed()
    chart.hover()
    page.locator('.modebar-btn[data-attr="dragmode"][data-val="select"]').first.click()
    box = chart.locator(".nsewdrag").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.05
    x1, y1 = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.95

    def drag():
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
        page.mouse.move(x1, y1, steps=5)
        page.mouse.up()

    time_action(page, drag)
    assert_no_exception(page)
    page.get_by_text(re.compile(r"candidates selected: B is the first of them")).wait_for(timeout=30_000)
    assert b_param(page) is not None


def test_budget_hardware_and_region_move_the_headline(page, server_url):
    open_plan(page, server_url)
    start = metric_values(page)
    assert start["Parameters N"] == "29.4 B"  # chinchilla-epoch at 1e23 FLOPs: hand value in test_plan_page

    time_action(page, lambda: press(slider_input(page, "Training compute"), "PageUp"))
    budget = metric_values(page)
    assert budget["Parameters N"] != start["Parameters N"]
    assert float(slider_input(page, "Training compute").input_value()) > 23.0

    time_action(page, lambda: choose(page, "Hardware", "a100-80gb"))
    hardware = metric_values(page)
    # the same FLOPs on A100 (312 TFLOP/s bf16 dense) take 989.4/312 = 3.17x the H100's device-hours
    ratio = number(hardware["Training cost"]) / number(budget["Training cost"])
    assert ratio == pytest.approx(989.4 / 312, rel=0.02)
    assert hardware["Parameters N"] == budget["Parameters N"]

    time_action(page, lambda: choose(page, "Grid region", "France"))
    region = metric_values(page)
    assert number(region["Training tCO2e"]) < number(hardware["Training tCO2e"]) / 5
    assert region["Training cost"] == hardware["Training cost"]
    assert_no_exception(page)
    assert truncated_metrics(page) == []


def test_target_loss_mode_keeps_every_metric_whole(page, server_url):
    open_plan(page, f"{server_url}/?plan_mode=Target+loss&target_loss=1.95")
    assert truncated_metrics(page) == []
    open_plan(page, f"{server_url}/?log10_flops=26.9&hardware=v100-sxm2&train_dtype=fp16")
    assert truncated_metrics(page) == []


def test_the_explanations_and_the_json_are_built_when_opened(page, server_url):
    # closed expanders cost a rerun nothing (their content is not built); opening one shows it
    open_plan(page, f"{server_url}/?log10_flops=22.0&pue=1.3")
    footprint = page.get_by_test_id("stExpander").filter(has_text="How the footprint is computed")
    assert footprint.locator(".katex").count() == 0
    time_action(page, lambda: footprint.locator("summary").click())
    assert_no_exception(page)
    footprint.locator(".katex").first.wait_for(timeout=30_000)
    assert "CO_2" in footprint.locator("annotation").first.text_content()  # KaTeX keeps the LaTeX source
    rows = {}  # the inputs table: symbol, meaning, this scenario's value
    for row in footprint.locator('[data-testid="stTable"]').first.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
        rows[cells[0]] = cells[-1]
    assert rows["PUE"] == "1.30" and rows["n"] == "1,024"  # a count of devices, whole
    share = page.get_by_test_id("stExpander").filter(has_text="export JSON or CSV")
    assert share.locator("code").count() == 0
    time_action(page, lambda: share.locator("summary").click())
    assert_no_exception(page)
    link = share.locator("code").first
    link.wait_for(timeout=30_000)
    assert "log10_flops=22.0" in link.inner_text() and "pue=1.3" in link.inner_text()
    time_action(page, lambda: share.get_by_text("Show the JSON").click())
    assert_no_exception(page)
    code = share.locator("code").filter(has_text="flopwise.plan")
    code.wait_for(timeout=30_000)
    assert '"schema": "flopwise.plan/2"' in code.inner_text() and '"log10_flops": 22.0' in code.inner_text()
