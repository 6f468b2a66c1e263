"""The HTML report (ui.report): self-contained (no resource from the network), every section,
every formula and source, user text escaped, numbers a hand calculation gives; and the PDF."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from engine.analysis import plan, registry
from engine.analysis.scenarios import flopwise_version
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog
from ui import report
from ui.scenario_figures import legend_name

GRIDS = load_grid_intensities()
CATALOG = load_catalog()
HOSTILE = "<script>alert('x')</script> **bold** [a](https://example.com)"
WHEN = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)


def scenario(name: str = "default", inputs: plan.PlanInputs | None = None, **kwargs) -> report.ReportScenario:
    inputs = inputs or plan.PlanInputs()
    law, device = registry.LAWS[inputs.plan_law], CATALOG[inputs.hardware]
    return report.ReportScenario(name, plan.evaluate(inputs, law, device, GRIDS), law, device, **kwargs)


class Parsed(HTMLParser):
    """Ids, tags with their attributes, and the text of a document."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def single() -> str:
    return report.report_html(
        [scenario(HOSTILE, author="<i>ana</i>", note="line 1\nline 2", saved_at=WHEN)], generated_at=WHEN
    )


def test_the_report_has_every_section_and_its_figures(single):
    parsed = Parsed(single)
    assert set(report.SECTIONS) <= set(parsed.ids)
    figures = [
        a["id"]
        for tag, a in parsed.tags
        if tag == "div" and a.get("id", "").startswith(("front-", "frontier"))
    ]
    assert figures == [f"front-{o}" for o in plan.OBJECTIVES] + ["frontier-figure"]


def test_the_report_needs_nothing_from_the_network(single):
    parsed = Parsed(single)
    loads = [
        (tag, a)
        for tag, a in parsed.tags
        if (tag in ("script", "img", "iframe", "embed", "video", "audio", "source") and a.get("src"))
        or (tag == "link")
    ]
    assert loads == []
    scripts = [a for tag, a in parsed.tags if tag == "script"]
    assert len(scripts) == 1 + 5  # Plotly's bundled copy, then one per figure
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:2000] in single  # the bundled plotly.js, inline


def test_user_text_is_escaped_not_markup(single):
    assert "<script>alert" not in single and "<i>ana</i>" not in single
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; **bold** [a](https://example.com)" in single
    text = "".join(Parsed(single).text)
    assert HOSTILE in text and "<i>ana</i>" in text and "line 1\nline 2" in text
    assert legend_name(2, "<b>x</b>") == "2: &lt;b&gt;x&lt;/b&gt;"
    assert legend_name(1, "y" * 60) == "1: " + "y" * 39 + "…"


def test_the_numbers_are_the_default_scenarios(single):
    text = " ".join(Parsed(single).text)
    # Besiroglu et al. Table 1 at 1e23 FLOPs, by hand: N* = G (C/6)^(b/(a+b)) = 2.94e10, D* = 5.66e11
    assert "29.4 B" in text and "566 B" in text
    # 1e23 / (989.4e12 FLOP/s × 0.4) / 3600 s × $2 = $140,377
    assert "$140,000" in text
    assert "Nothing changed since saving" in text


def test_every_formula_and_source_is_listed(single):
    text = " ".join(Parsed(single).text)
    for formula in registry.FORMULAS.values():
        assert formula.title in text, formula.id
    for law in (registry.LAWS["chinchilla-epoch"], *registry.HYPERPARAM_LAWS):
        assert law.info.title in text and law.info.citation in text
    assert registry.LAWS["chinchilla-epoch"].info.equation in text  # the LaTeX, as source text


def test_the_version_and_date_are_stated(single):
    assert f"FLOPwise {flopwise_version()}" in single and "2025-03-14 09:26 UTC" in single


def test_a_comparison_highlights_the_rows_that_differ():
    html = report.report_html(
        [
            scenario("low", changes=("The figures of the device h100-sxm changed",)),
            scenario("high", plan.PlanInputs(log10_flops=24.0)),
        ]
    )
    parsed = Parsed(html)
    assert "comparison" in parsed.ids and "inputs-2" in parsed.ids and "changes" in parsed.ids
    rows = [a.get("class", "") for tag, a in parsed.tags if tag == "tr"]
    assert "differs" in rows
    assert "The figures of the device h100-sxm changed" in html
    # the row of log10 compute differs, the PUE row does not
    start = html.index("Training compute (log10 FLOPs)")
    assert html.rfind("<tr class='differs'>", 0, start) > html.rfind("<tr class=''>", 0, start)
    start = html.index("<th scope='row'>PUE</th>")
    assert html.rfind("<tr class=''>", 0, start) > html.rfind("<tr class='differs'>", 0, start)


def test_a_report_holds_one_to_six_scenarios():
    with pytest.raises(ValueError, match="1 to 6 scenarios; 7 were given"):
        report.report_html([scenario()] * 7)


def test_without_chromium_there_is_no_pdf_and_the_reason_says_how_to_get_one():
    data, words = report.pdf_from_html("<p>x</p>", names=("/nonexistent/chromium",))
    assert data is None and "apt-get install chromium" in words and "not installed" in words


@pytest.mark.slow
def test_chromium_prints_the_report_to_pdf(single):
    if report.find_chromium() is None:
        pytest.skip("Debian's chromium is not installed (make chromium)")
    data, words = report.pdf_from_html(single)
    assert data is not None and data.startswith(b"%PDF"), words
    assert words.startswith("Printed by Chromium") and len(data) > 50_000  # text, tables and five charts


def test_a_target_loss_scenario_without_serving_reports_too():
    inputs = dataclasses.replace(
        plan.PlanInputs(), plan_mode="target_loss", target_loss=2.2, inference_tokens=0.0
    )
    html = report.report_html([scenario("t", inputs)], objectives=("cost_usd",))
    text = " ".join(Parsed(html).text)
    assert "2.2000 nats/token" in text  # the target it reached
    assert "Chosen by the rule “Least compute that reaches a target loss”" in text


def test_the_scenario_figures_are_valid_plotly_and_mark_every_scenario():
    import plotly.graph_objects as go

    from ui.scenario_figures import front_figure, frontier_figure

    planned = [scenario("<b>a</b>").planned, scenario("b", plan.PlanInputs(log10_flops=24.0)).planned]
    front = front_figure(planned, "co2_t")
    go.Figure(front.to_dict())  # valid, property by property
    stars = [t for t in front.data if t.marker.symbol == "star"]
    assert [t.name for t in stars] == ["1: &lt;b&gt;a&lt;/b&gt;", "2: b"]
    # each star at its scenario's own lifetime CO2e (t) and loss
    assert stars[1].x[0] == pytest.approx(planned[1].result.total_co2_kg / 1000, rel=1e-6)
    assert stars[1].y[0] == pytest.approx(planned[1].result.loss)
    frontier = frontier_figure(planned)
    go.Figure(frontier.to_dict())
    marks = [t for t in frontier.data if t.marker.symbol == "star"]
    assert len(marks) == 4  # two scenarios, two panels
    assert (marks[2].x[0], marks[2].y[0]) == pytest.approx((1e24, planned[1].result.n_params))
