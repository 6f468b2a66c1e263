"""The Inference page in AppTest: a link's values are used or said to be out of range, a model too
large for the device says so, a mixture of experts reads fewer weights than it holds. Expected
numbers are worked by hand from the catalog's A100 80GB (2,039 GB/s, NVIDIA's datasheet)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.app

PAGE = "inference.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_link_picks_the_device_and_the_model(app):
    at = app(PAGE, i_params="13", i_hardware="a100-80gb")
    assert not at.exception and not at.error
    assert any("A100" in c.value for c in at.caption)
    # 13 B at 16 bits, batch 1: 26 GB of weights plus the KV cache of 4,096 tokens, over 2,039 GB/s.
    # default shape for 13 B: 41 layers, 40 query heads, 8 KV heads of 128 (as the caption says)
    assert any("40 query heads of 128, 41 layers" in c.value for c in at.caption)
    kv = 2 * 41 * 8 * 128 * 2 * 4096
    assert metrics(at)["Decode (ms per token)"] == f"{(26e9 + kv) / 2039e9 * 1e3:.3g}"


def test_an_out_of_range_link_value_is_said_and_the_default_used(app):
    at = app(PAGE, i_params="1e9")
    assert not at.exception
    notices = [w.value for w in at.warning]
    assert any("i_params" in n and "using 8" in n for n in notices), notices


def test_weights_that_do_not_fit_say_so_without_a_traceback(app):
    at = app(PAGE, i_params="405", i_hardware="h100-sxm")
    assert not at.exception
    assert any("do not fit" in e.value and "80 GB" in e.value for e in at.error)


def test_a_mixture_of_experts_reads_only_its_routed_experts_at_batch_one(app):
    dense = metrics(app(PAGE, i_params="13", i_total="47", i_bits="8"))["Decode (ms per token)"]
    at = app(PAGE, i_params="13", i_total="47", i_bits="8", i_experts="8", i_top_k="2")
    assert not at.exception and not at.error
    sparse = metrics(at)["Decode (ms per token)"]
    # without routing all 47 B are read each step; with 2 of 8 experts, far fewer at batch 1
    assert float(sparse) < float(dense)


def test_reasoning_multiplies_the_lifetime_tokens_and_cost(app):
    at = app(PAGE, i_tt_queries="1B", i_tt_answer="300", i_tt_out="4000", i_tt_trials="2")
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Lifetime tokens, answers only"] == "300 B"  # 1e9 queries × 300 tokens
    assert shown["Lifetime tokens, with reasoning"] == "8 T"  # 1e9 × (300 + 2 × 4,000 − 300)
    # 8e12 tokens at the batch-1 price of an 8 B model on an H100: (16e9 + 671e6) B / 3,350 GB/s per token
    per_mtok = 1e6 * (16e9 + 2 * 40 * 8 * 128 * 2 * 4096) / 3350e9 / 3600 * 2.0
    assert shown["Lifetime serving cost, with reasoning"] == f"${8e12 * per_mtok / 1e6 / 1e6:.3g} M"
