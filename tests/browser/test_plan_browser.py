"""The Plan page in a real browser: the front follows the budget; a shared link reproduces it."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlencode

import pytest

from engine import plan
from engine.carbon import load_grid_intensities
from engine.hardware import load_catalog
from engine.registry import get_law
from ui import format as fmt

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def test_changing_the_budget_redraws_the_front(page, server_url):
    page.goto(server_url)
    page.get_by_role("heading", name="Plan").wait_for(timeout=TIMEOUT_MS)
    caption = page.get_by_text(re.compile(r"candidates: active parameters × tokens within 1\.00e23 FLOPs"))
    caption.wait_for(timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    traces_before = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").count()
    assert traces_before >= 2

    slider = page.get_by_role("slider").first  # the training-compute slider
    slider.focus()
    slider.press("End")
    page.get_by_text(re.compile(r"candidates: active parameters × tokens within 1\.00e27 FLOPs")).wait_for(timeout=TIMEOUT_MS)
    page.wait_for_url(re.compile(r"log10_flops=27"), timeout=TIMEOUT_MS)
    expected = plan.evaluate(dataclasses.replace(plan.PlanInputs(), log10_flops=27.0), get_law("chinchilla-epoch"),
                             load_catalog()["h100-sxm"], load_grid_intensities())
    page.get_by_text(fmt.count(expected.n_params, "params"), exact=True).wait_for(timeout=TIMEOUT_MS)


def test_a_shared_link_shows_the_same_recommendation(browser, server_url):
    scenario = dataclasses.replace(plan.PlanInputs(), log10_flops=24.0, hardware="b200", region="France", price=3.0)
    expected = plan.evaluate(scenario, get_law(scenario.plan_law), load_catalog()["b200"], load_grid_intensities())
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server_url}/?{urlencode(scenario.query_params())}")
        page.get_by_text(fmt.count(expected.n_params, "params"), exact=True).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(f"${expected.train.cost_usd:,.0f}", exact=True).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(f"{expected.train.co2_kg / 1000:,.1f}", exact=True).wait_for(timeout=TIMEOUT_MS)
    finally:
        context.close()
