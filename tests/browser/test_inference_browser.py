"""The Inference page in a real browser: its controls move the numbers a user reads, by the
roofline worked by hand here from the catalog's H100 figures (989.4 TFLOP/s bf16 dense, 3,350 GB/s,
datasets/hardware_catalog.csv, NVIDIA's datasheet) and the shape the page says it assumes."""

from __future__ import annotations

import re

import pytest

from tests.browser import harness
from ui import format as fmt

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
BANDWIDTH = 3350e9  # bytes/s, H100 SXM5
PRICE = 2.0  # $ per device-hour, the page's default

# 8 B parameters, the page's default: 40 layers, 32 query heads of 128, 8 KV heads (its caption)
LAYERS, KV_HEADS, HEAD = 40, 8, 128
KV_PER_TOKEN = 2 * LAYERS * KV_HEADS * HEAD * 2  # K and V, 16-bit: 163,840 bytes
CONTEXT = 4096


def decode_ms(weight_bytes: float, batch: int, kv_per_token: float = KV_PER_TOKEN) -> float:
    """Memory-bound decode step: the weights once plus every sequence's KV cache, over bandwidth."""
    return (weight_bytes + batch * CONTEXT * kv_per_token) / BANDWIDTH * 1e3


def metric(page, label: str) -> str:
    return harness.metric_values(page)[label]


def open_page(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Inference").wait_for(timeout=TIMEOUT_MS)
    harness.wait_idle(page)
    harness.assert_no_exception(page)


def test_batch_bits_and_attention_move_the_numbers(page, server_url):
    open_page(page, f"{server_url}/inference")
    page.get_by_text("32 query heads of 128, 40 layers").first.wait_for(timeout=TIMEOUT_MS)
    one = decode_ms(8e9 * 2, 1)  # 4.976 ms
    assert metric(page, "Decode (ms per token)") == f"{one:.3g}"
    assert metric(page, "Throughput (tokens/s)") == f"{1e3 / one:.0f}"
    assert metric(page, "Cost per 1M tokens") == f"${1e6 * one / 1e3 / 3600 * PRICE:.3g}"

    # batch 1 -> 4 (options 1, 2, 3, 4, ...): the point on the curve moves with it
    chart = page.locator(".js-plotly-plot").first
    before = harness.plot_points(page, chart, "chosen batch")
    thumb = harness.slider_input(page, "Batch")
    for _ in range(3):
        harness.press(thumb, "ArrowRight")
        harness.wait_idle(page)
    four = decode_ms(8e9 * 2, 4)  # 5.577 ms
    assert metric(page, "Decode (ms per token)") == f"{four:.3g}"
    assert metric(page, "Throughput (tokens/s)") == f"{4e3 / four:.0f}"
    chart = page.locator(".js-plotly-plot").first
    harness.trace_index(chart, "chosen batch (4)")
    after = harness.plot_points(page, chart, "chosen batch")
    assert after[0][0] == pytest.approx(4e3 / four, rel=1e-3) and after != before
    page.wait_for_url(re.compile(r"i_batch=4"), timeout=TIMEOUT_MS)

    # 8-bit weights: a memory-bound step reads half the weight bytes, so it costs less
    harness.press(harness.slider_input(page, "Weight precision"), "ArrowLeft")
    harness.wait_idle(page)
    eight = decode_ms(8e9, 4)
    assert metric(page, "Decode (ms per token)") == f"{eight:.3g}"
    assert metric(page, "Cost per 1M tokens") == f"${1e6 * eight / 4 / 1e3 / 3600 * PRICE:.3g}"

    # DeepSeek-V2's latent attention caches (d_c + d_h^R) = 512 + 64 elements per layer and token
    harness.choose(page, "Attention", "multi-head latent")
    harness.wait_idle(page)
    mla = (4 * HEAD + HEAD // 2) * LAYERS * 2  # 46,080 bytes
    page.get_by_text(f"{mla / 1e3:.3g} kB per token").first.wait_for(timeout=TIMEOUT_MS)
    assert metric(page, "Decode (ms per token)") == f"{decode_ms(8e9, 4, mla):.3g}"
    harness.assert_no_exception(page)


def test_a_shared_link_and_the_plan_page_open_the_same_setup(browser, server_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        open_page(page, f"{server_url}/inference?i_params=70&i_bits=8&i_hardware=h100-sxm&i_batch=2")
        # 70 B at 8 bits: 70 GB of weights; 69 layers of 72 query heads, 8 KV heads (its caption)
        page.get_by_text("72 query heads of 128, 69 layers").first.wait_for(timeout=TIMEOUT_MS)
        kv = 2 * 69 * 8 * 128 * 2
        assert metric(page, "Decode (ms per token)") == f"{decode_ms(70e9, 2, kv):.3g}"

        page.goto(f"{server_url}/plan")
        link = page.get_by_role("link", name=re.compile("the Inference page"))
        link.wait_for(timeout=60_000)
        harness.wait_idle(page)
        plan_numbers = set(harness.metric_values(page).values())
        link.click()
        page.wait_for_url(re.compile(r"/inference\?.*i_params="), timeout=TIMEOUT_MS)
        page.get_by_role("heading", name="Inference").wait_for(timeout=TIMEOUT_MS)
        harness.wait_idle(page)
        harness.assert_no_exception(page)
        shown = float(page.get_by_role("spinbutton", name="Active parameters (billions)").input_value())
        assert fmt.count(shown * 1e9) in plan_numbers  # the Plan page's recommended N, as it showed it
    finally:
        context.close()
