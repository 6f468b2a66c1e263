"""Numbers that read cleanly in a real browser: no metric cut off ('30.5 B para…'), chart legends in
words (no engine names such as loss_full), hovers in the page's units, on the Scaling laws,
Precision, Mixture of experts, Runs and Hardware pages, at 1400 and 1100 px wide."""

from __future__ import annotations

import pytest

from tests.browser.harness import (
    assert_no_exception,
    metric_values,
    truncated_metric_labels,
    truncated_metrics,
    wait_idle,
)

pytestmark = pytest.mark.browser

FOUR_LAWS = "laws=chinchilla&laws=kaplan&laws=chinchilla-epoch&laws=chinchilla-approach1"
WIDTHS = (1400, 1100)

# For each chart on the page: the names of the traces its legend shows (Plotly's own resolved data).
LEGENDS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>
    (gd._fullData || []).filter(t => t.showlegend !== false).map(t => t.name || ''))"""
TEXTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(gd =>
    (gd._fullData || []).flatMap(t => Array.isArray(t.text) ? t.text.slice(0, 20) : []))"""


def open_page(browser, server_url: str, path: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.goto(f"{server_url}/{path}")
    wait_idle(page, start_timeout_ms=5000, timeout_ms=90_000)
    return context, page


def assert_reads_cleanly(page, where: str) -> None:
    assert_no_exception(page)
    assert metric_values(page), f"{where}: no metrics"
    assert truncated_metrics(page) == [], f"{where}: values cut off"
    assert truncated_metric_labels(page) == [], f"{where}: labels cut off"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("mode", ["Budget", "Target+loss"])
def test_scaling_with_four_laws_shows_every_metric_whole(browser, server_url, mode, width):
    context, page = open_page(browser, server_url, f"scaling?mode={mode}&{FOUR_LAWS}", width)
    try:
        assert_reads_cleanly(page, f"scaling {mode} at {width} px")
        hoffmann = "32.2 B" if mode == "Budget" else "15.3 B"  # N* at 10^23.76 FLOPs, or for 2.0 nats/token
        assert page.locator('[data-testid="stMetricValue"]').get_by_text(hoffmann, exact=True).count() == 1
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert all("params" not in v and "nats" not in v and "tokens" not in v for v in values), values
        texts = page.evaluate(TEXTS_JS)
        assert any(" B parameters" in t for t in texts)
        assert not [t for t in texts if "G parameters" in t or "G tokens" in t]  # never Plotly's SI 'G'
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["precision", "moe"])
def test_precision_and_moe_read_cleanly_with_legends_in_words(browser, server_url, path, width):
    context, page = open_page(browser, server_url, path, width)
    try:
        assert_reads_cleanly(page, f"{path} at {width} px")
        legends = page.evaluate(LEGENDS_JS)
        assert len(legends) >= 3 and all(legends), legends
        names = [n for chart in legends for n in chart]
        assert not [n for n in names if "_" in n], names  # 'loss_full', 'active_params' are engine names
        if path == "precision":
            assert {"trained in 16 bits", "after 4-bit quantization", "served at 4 bits"} <= set(names)
        else:
            assert {
                "experts (Ludziejewski)",
                "granularity (Krajewski)",
                "active parameters",
                "total parameters",
                "dense (E = 1)",
            } <= set(names)
    finally:
        context.close()


@pytest.mark.parametrize("path", ["runs", "hardware"])
def test_runs_and_hardware_open_without_exception(browser, server_url, path):
    context, page = open_page(browser, server_url, path, 1100)
    try:
        assert_no_exception(page)
        assert truncated_metrics(page) == [] and truncated_metric_labels(page) == []
        assert page.locator('[data-testid="stDataFrame"]').count() >= 1 if path == "hardware" else True
    finally:
        context.close()
