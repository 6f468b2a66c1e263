"""The HTML report in Debian's chromium with the network cut off: it opens from a file, shows every
section, draws every Plotly figure (an SVG with its points), logs no console error, and asks for
nothing but the file itself."""

from __future__ import annotations

import pytest

from engine.analysis import plan, registry
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog
from ui import report

pytestmark = pytest.mark.browser

GRIDS, CATALOG = load_grid_intensities(), load_catalog()


def scenario(name: str, **changes) -> report.ReportScenario:
    inputs = plan.PlanInputs(**changes)
    law, device = registry.LAWS[inputs.plan_law], CATALOG[inputs.hardware]
    return report.ReportScenario(name, plan.evaluate(inputs, law, device, GRIDS), law, device, author="ana")


def open_offline(browser, path):
    """The file in a fresh context with the network off: every request but file:// is aborted and
    recorded, every console error and page error is recorded."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=True)
    refused: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.add_init_script("window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, refused, errors


@pytest.mark.parametrize(
    "scenarios",
    [
        [("<script>alert(1)</script> one", {})],
        [("small", {}), ("big", {"log10_flops": 24.0}), ("Hoffmann", {"plan_law": "chinchilla"})],
    ],
    ids=["one scenario", "a comparison of three"],
)
def test_the_report_opens_offline_with_every_section_and_figure(browser, tmp_path, scenarios):
    path = tmp_path / "report.html"
    path.write_text(report.report_html([scenario(n, **c) for n, c in scenarios]), encoding="utf-8")
    context, page, refused, errors = open_offline(browser, path)
    try:
        for section in report.SECTIONS:
            assert page.locator(f"#{section}").is_visible(), section
        if len(scenarios) > 1:
            assert page.locator("#comparison tr.differs").count() > 10
        plots = page.locator(".js-plotly-plot")
        plots.first.locator("svg.main-svg").first.wait_for(timeout=30_000)
        assert plots.count() == len(plan.OBJECTIVES) + 1  # four fronts and the frontier
        for i in range(plots.count()):
            plot = plots.nth(i)
            assert plot.locator("svg.main-svg").count() >= 1
            assert (
                plot.locator(".scatterlayer .trace").count() >= 2
            )  # drawn: points and lines, not an empty frame
        # every scenario's star on the first front, its label the scenario's number
        stars = page.locator("#front-cost_usd .scatterlayer .textpoint")
        assert sorted(stars.all_text_contents()) == [str(i + 1) for i in range(len(scenarios))]
        # a hostile name shows as text, and ran nothing
        assert page.get_by_text(scenarios[0][0]).first.is_visible()
        assert page.evaluate("window.__alerts") == []
        assert page.locator("script:not([type]), script[type='text/javascript']").count() == 1 + plots.count()
        assert refused == [] and errors == []
    finally:
        context.close()


HOSTILE = "<b>Team</b> **plan** [x](https://example.com)"


def test_save_on_the_plan_page_then_download_its_report_from_the_scenarios_page(
    browser, server_url, tmp_path
):
    from tests.browser.harness import assert_no_exception, wait_idle

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(server_url)
        page.get_by_role("heading", name="Plan", exact=True).wait_for(timeout=60_000)
        wait_idle(page, timeout_ms=90_000)
        share = page.get_by_test_id("stExpander").filter(has_text="save the scenario for the team")
        share.locator("summary").click()
        form = page.locator('[data-testid="stForm"]').filter(has_text="Save this scenario")
        form.get_by_label("Name").fill(HOSTILE)
        form.get_by_label("Author").fill("ana")
        form.get_by_role("button", name="Save this scenario").click()
        page.get_by_text("Saved the scenario").wait_for(timeout=30_000)
        assert_no_exception(page)

        page.goto(f"{server_url}/scenarios")
        page.get_by_role("heading", name="Scenarios", exact=True).wait_for(timeout=60_000)
        wait_idle(page, timeout_ms=90_000)
        assert_no_exception(page)
        main = page.locator('[data-testid="stMain"]')
        assert page.get_by_text("Reopened exactly").is_visible()
        assert main.locator("b", has_text="Team").count() == 0  # the name's markup is text, not bold
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Report (HTML, opens offline)").click()
        path = tmp_path / "downloaded.html"
        download.value.save_as(path)
        offline, report_page, refused, errors = open_offline(browser, path)
        try:
            report_page.locator(".js-plotly-plot svg.main-svg").first.wait_for(timeout=30_000)
            assert report_page.get_by_text(HOSTILE).first.is_visible()
            assert refused == [] and errors == []
        finally:
            offline.close()
    finally:
        context.close()
