"""User-supplied names (a fit, a model) are shown as typed in the browser: Markdown, HTML and
Plotly markup in them stay literal text; the DOM is read, not the script's output."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from engine.data.store import open_store, save_fit
from tests.browser import harness
from tests.browser.harness import assert_no_exception, wait_idle

pytestmark = pytest.mark.browser

HOSTILE = "**bold** <b>html</b> [link](https://example.com) _x_"
WORD_JOINER = "\u2060"  # invisible; what stops Markdown's autolinks (ui.format.plain)


def shown(locator) -> str:
    """The text a reader sees (the invisible word joiners left out)."""
    return locator.inner_text().replace(WORD_JOINER, "")


PARAMS = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}  # a plausible fit
BROKEN = "degenerate"
BROKEN_PARAMS = {
    "E": 0.5,
    "A": 300.0,
    "B": 9.0,
    "alpha": 0.31,
    "beta": -0.059,
}  # saved before fits were assessed


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("names") / "names.duckdb"
    with open_store(db) as store:
        selection = {"sources": ["user"], "uploads": ["<i>sweep</i>.csv"]}
        save_fit(store.cursor(), HOSTILE, "chinchilla", 245, {"params": PARAMS, "selection": selection})
        save_fit(store.cursor(), BROKEN, "chinchilla", 9, {"params": BROKEN_PARAMS, "selection": {}})
    with harness.serve_app(db) as url:
        yield url


def open_scaling(page, url, *law_ids):
    query = "&".join(f"laws={quote(law_id)}" for law_id in law_ids)
    page.goto(f"{url}/scaling?{query}")
    page.get_by_role("heading", name="Scaling laws", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)


def test_a_fit_name_with_markup_shows_as_typed_on_the_scaling_page(page, served):
    open_scaling(page, served, "chinchilla", f"fit:{HOSTILE}")
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]')
    text = shown(main)
    assert f"Your fit: {HOSTILE} (not verified)" in text
    assert "verified against the source" not in main.get_by_text(re.compile("Your fit:")).first.inner_text()
    # nothing of the name became markup: no link, bold or emphasis made from it
    assert main.locator('a[href="https://example.com"]').count() == 0
    assert main.locator("strong", has_text=re.compile(r"^bold$")).count() == 0
    assert main.locator("b", has_text=re.compile(r"^html$")).count() == 0
    assert main.locator("em", has_text=re.compile(r"^x$")).count() == 0
    # the chart's legend (SVG text) holds the name literally, tags included
    legend = page.locator(".legendtext").all_text_contents()
    assert any("<b>html</b>" in entry and "**bold**" in entry for entry in legend), legend


def test_the_fit_card_says_what_it_was_fitted_on(page, served):
    open_scaling(page, served, f"fit:{HOSTILE}")
    page.get_by_text(re.compile(r"^Your fit: .*\(not verified\)$")).last.click()
    page.get_by_text(re.compile("Fitted on:")).first.wait_for()
    text = shown(page.locator('[data-testid="stMain"]'))
    assert "245 runs" in text and "<i>sweep</i>.csv" in text
    assert_no_exception(page)


@pytest.mark.parametrize("path", ["scaling", "plan"])
def test_a_saved_fit_without_a_frontier_gives_a_message_not_a_traceback(page, served, path):
    law_id = quote(f"fit:{BROKEN}")
    page.goto(f"{served}/{path}?{'laws' if path == 'scaling' else 'plan_law'}={law_id}")
    page.locator('[data-testid="stAlert"]').first.wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert_no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "beta = -0.059 is not positive" in text
