"""The Precision page's compression sections in a real browser. Expected values are Frantar et al.
2024's optimal sparsity worked from the paper-form T5 constants (shared/reference/
laws_serving_compression.md §8: N 1e8 non-zero parameters, C 1e20 FLOPs -> 0.5245; 1e21 -> 0.7130)
and Sun et al. 2025's critical data size (§11: N 1e9, block 128, E2M1 -> 3.93e11 tokens)."""

from __future__ import annotations

import pytest

from tests.browser import harness

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def test_the_compute_slider_moves_the_optimal_sparsity(page, server_url):
    page.goto(f"{server_url}/precision")
    page.get_by_role("heading", name="Sparsity: prune while training (Frantar et al. 2024)").wait_for(
        timeout=TIMEOUT_MS
    )
    harness.wait_idle(page)
    harness.assert_no_exception(page)
    assert harness.metric_values(page)["Optimal sparsity"] == "52%"  # 0.5245
    thumb = harness.slider_input(page, "Training compute (log10 FLOPs)")
    for _ in range(10):  # 20.0 -> 21.0
        harness.press(thumb, "ArrowRight")
    harness.wait_idle(page)
    assert harness.metric_values(page)["Optimal sparsity"] == "71%"  # 0.7130
    page.get_by_text("optimum (71%)").first.wait_for(timeout=TIMEOUT_MS)  # the chart's marker
    # Sun et al.: FP4 (E2M1) at 1e9 parameters and block 128 stops gaining from data at 3.93e11 tokens
    page.get_by_role("cell", name="393 B", exact=True).wait_for(timeout=TIMEOUT_MS)
    harness.assert_no_exception(page)
