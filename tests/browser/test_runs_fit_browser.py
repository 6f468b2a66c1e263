"""The Runs page's fit journeys in chromium: fit the shipped Hoffmann runs, refit by the published
precedent in one click, and fit the Step Law's laws to an uploaded learning-rate and batch-size sweep."""

from __future__ import annotations

import re

import pytest

from engine.data.store import open_store
from tests.browser import harness
from tests.browser.harness import assert_no_exception, wait_idle
from tests.unit.test_hyperparam_sweeps import sweep_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("fits") / "fits.duckdb"
    open_store(db).close()
    with harness.serve_app(db) as url:
        yield url


def open_runs(page, url: str, query: str = "") -> None:
    page.goto(f"{url}/runs?bootstrap=0{query}")
    page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)


def test_fit_then_refit_without_the_five_highest_losses(page, served):
    open_runs(page, served)
    page.get_by_role("button", name="Fit 234 runs").click()
    page.get_by_text("Fit on 234 runs").wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    assert page.get_by_text(re.compile(r"^\d+ outliers")).count() == 1  # the outliers are listed
    page.get_by_role("button", name="Drop the 5 highest-loss runs and refit, as they did").click()
    page.get_by_text("Fit on 229 runs").wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    assert page.get_by_text("How the estimates moved").count() == 1
    assert page.get_by_role("button", name="Fit 229 runs").count() == 1  # the button counts what it fits
    assert_no_exception(page)


def test_step_law_fit_of_an_uploaded_sweep(page, served, tmp_path):
    file = tmp_path / "lr_bs_sweep.csv"
    file.write_bytes(sweep_csv())
    open_runs(page, served)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.get_by_role("button", name="Store 441 rows").click()
    page.get_by_text(re.compile(r"Stored 441 runs as upload")).wait_for(timeout=60_000)
    open_runs(page, served, "&sources=user")
    page.get_by_role("button", name="Fit the learning-rate and batch-size laws").click()
    page.get_by_text(re.compile(r"9 cells, 441 runs, 0 diverged")).wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    charts = page.locator(".js-plotly-plot").all()
    titles = " ".join(
        c.locator(".gtitle").first.text_content() or "" for c in charts if c.locator(".gtitle").count()
    )
    assert "Optimal learning rate" in titles and "Optimal batch size" in titles
    assert_no_exception(page)


def test_the_isoflop_analysis_opens_with_hoffmanns_exponent(page, served):
    """The IsoFLOP expander is built when opened: Approach 2 on the shipped Hoffmann runs gives
    a close to Hoffmann et al.'s Table 2 (a = 0.49, 95% 0.462 to 0.534), with its chart drawn."""
    open_runs(page, served)
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="IsoFLOP analysis")
    assert expander.locator('[data-testid="stPlotlyChart"]').count() == 0  # nothing built while closed
    expander.get_by_text("IsoFLOP analysis").click()
    line = expander.get_by_text(re.compile(r"^a = 0\.\d{3}"))
    line.wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=60_000)
    a = float(re.match(r"a = (0\.\d{3})", line.inner_text()).group(1))
    assert a == pytest.approx(0.49, abs=0.03)
    chart = expander.locator('[data-testid="stPlotlyChart"]')
    assert harness.plot_points(page, chart, "parabola minimum")[0]  # the minima are drawn
    assert_no_exception(page)
