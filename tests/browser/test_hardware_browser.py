"""The Hardware page in a real browser: run the quick CPU benchmark, then use it on the Plan page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
BENCH_TIMEOUT_MS = 180_000  # the quick benchmark takes up to ~30 s, more on a busy machine
SETTLE_MS = 300

# Idle: the script has finished (the app root's data-test-script-state is notRunning), nothing is
# stale, no skeleton or spinner, and that has held for a settle window (shared/reference/browser_timing.md).
_IDLE = """(settle) => {
    const root = document.querySelector('[data-test-script-state]');
    const busy = !root || root.getAttribute('data-test-script-state') !== 'notRunning'
        || document.querySelector(
            '[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stSpinner"]');
    if (busy) { window.__flopwiseIdleSince = null; return false; }
    const now = performance.now();
    if (window.__flopwiseIdleSince == null) window.__flopwiseIdleSince = now;
    return now - window.__flopwiseIdleSince >= settle;
}"""


def wait_idle(page, timeout_ms: int = TIMEOUT_MS) -> None:
    page.wait_for_function(_IDLE, arg=SETTLE_MS, timeout=timeout_ms, polling=100)


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_quick_benchmark_then_use_measured_on_the_plan(page, server_url):
    page.goto(f"{server_url}/hardware")
    page.get_by_role("heading", name="Hardware").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)

    page.get_by_role("button", name="Run benchmark").click()
    page.get_by_text(re.compile(r"^Stored bench-")).wait_for(timeout=BENCH_TIMEOUT_MS)
    wait_idle(page, BENCH_TIMEOUT_MS)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Measurement").first.wait_for(
        timeout=TIMEOUT_MS
    )
    choice = page.get_by_text(re.compile(r"^\"Use measured\" on the Plan page takes, per data type"))
    choice.wait_for(timeout=TIMEOUT_MS)
    assert_no_exception(page)

    page.goto(server_url)
    page.get_by_role("heading", name="Plan").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    toggle = page.locator('[data-testid="stCheckbox"]').filter(has_text="Use measured").first
    toggle.get_by_text("Use measured", exact=True).click()  # a toggle is worked by its label
    page.get_by_text(re.compile(r"^Using measured peaks")).wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)

    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert "Training device-hours" in labels and len(labels) >= 4, labels
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert all(v.strip() for v in values[:4]), values
    assert_no_exception(page)


def test_the_data_type_redraws_the_roofline_with_that_peak(page, server_url):
    """Picking fp8 on the catalog's roofline: the H100's ridge point moves to its fp8 dense peak,
    1,978.9 TFLOP/s at 1,978.9e12 / 3,350e9 = 590.7 FLOPs per byte (NVIDIA's H100 SXM5 datasheet:
    1,979 TFLOP/s fp8 and 989.4 bf16 without sparsity, 3.35 TB/s), the URL says fp8, and the
    catalog table above is still there."""
    from tests.browser import harness

    page.goto(f"{server_url}/hardware")
    page.get_by_role("heading", name="Hardware").first.wait_for(timeout=TIMEOUT_MS)
    harness.wait_idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    xs, ys = harness.plot_points(page, chart, "NVIDIA H100 SXM5 80GB: ridge point")
    assert ys[0] == pytest.approx(989.4) and xs[0] == pytest.approx(989.4e12 / 3350e9)

    harness.choose(page, "Data type", "fp8")
    harness.wait_idle(page)
    harness.assert_no_exception(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.get_by_text("Roofline, fp8 (dense peaks)").wait_for(timeout=TIMEOUT_MS)
    xs, ys = harness.plot_points(page, chart, "NVIDIA H100 SXM5 80GB: ridge point")
    assert ys[0] == pytest.approx(1978.9) and xs[0] == pytest.approx(1978.9e12 / 3350e9)
    assert "hw_dtype=fp8" in page.url
    assert page.locator('[data-testid="stDataFrame"]').first.is_visible()  # the catalog, untouched
