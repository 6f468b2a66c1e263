"""The Methodology page in a real browser: the formulas are drawn (KaTeX), and typing in the search
box narrows the list and its count."""

from __future__ import annotations

import re

import pytest

from engine.analysis import registry
from tests.browser.harness import assert_no_exception, time_action, wait_idle

pytestmark = pytest.mark.browser


def titles(page) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stMarkdownContainer"] h4').all_inner_texts()]


def count_line(page) -> str:
    return page.get_by_text(re.compile(r"^\d+ of \d+ shown")).first.inner_text()


def test_the_formulas_are_drawn_and_the_search_narrows_them(page, server_url):
    page.goto(f"{server_url}/methodology")
    page.get_by_role("heading", name="Methodology").wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert_no_exception(page)
    entries = len(registry.LAWS) + len(registry.HYPERPARAM_LAWS) + len(registry.FORMULAS)
    # every entry's formula is typeset by KaTeX, not left as source text
    assert page.locator('[data-testid="stMarkdownContainer"] .katex-display').count() >= entries
    assert page.locator(".katex-error").count() == 0
    before = titles(page)
    assert registry.LAWS["chinchilla"].info.title in before and len(before) >= entries
    total = int(count_line(page).split(" of ")[0])
    assert total == len(before)

    box = page.locator('[data-testid="stTextInput"] input').first
    time_action(page, lambda: (box.fill("Kaplan"), box.press("Enter")))
    assert_no_exception(page)
    page.get_by_text(re.compile(r"shown for “Kaplan”")).first.wait_for(timeout=30_000)
    after = titles(page)
    assert registry.LAWS["kaplan"].info.title in after
    assert not any(t.startswith("Chinchilla") for t in after) and len(after) < len(before)
    assert count_line(page).startswith(f"{len(after)} of {total} shown")
    assert "methodology_search=Kaplan" in page.url  # the search is in the link

    time_action(page, lambda: (box.fill("qqxzv"), box.press("Enter")))
    assert_no_exception(page)
    page.get_by_text("Nothing matches").first.wait_for(timeout=30_000)
    assert titles(page) == [] and page.locator(".katex").count() == 0
