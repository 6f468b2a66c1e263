"""The Scaling laws page in a real browser."""

from __future__ import annotations

import re

import pytest

from engine.registry import get_law
from ui import format as fmt

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def n_star_text(law_id: str, flops: float) -> str:
    return fmt.count(float(get_law(law_id).optimal(flops).n_params), "params")


def test_app_loads_and_a_budget_change_updates_n_star(page, server_url):
    page.goto(f"{server_url}/scaling")
    page.get_by_role("heading", name="Scaling laws").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(n_star_text("chinchilla", 10**23.76), exact=True).wait_for(timeout=TIMEOUT_MS)

    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("End")  # the top of the range: 1e27 FLOPs

    page.get_by_text(n_star_text("chinchilla", 1e27), exact=True).wait_for(timeout=TIMEOUT_MS)
    page.wait_for_url(re.compile(r"log10_flops=27"), timeout=TIMEOUT_MS)
    assert page.get_by_text(n_star_text("chinchilla", 10**23.76), exact=True).count() == 0


def test_a_shared_link_shows_the_same_view_in_a_new_context(browser, server_url):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server_url}/scaling?log10_flops=21.5&laws=kaplan&laws=chinchilla-epoch")
        page.get_by_text(n_star_text("kaplan", 10**21.5), exact=True).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(n_star_text("chinchilla-epoch", 10**21.5), exact=True).wait_for(timeout=TIMEOUT_MS)
        assert page.get_by_text("1.00e22 FLOPs").count() == 0
        assert page.get_by_text("3.16e21 FLOPs").count() == 1
    finally:
        context.close()
