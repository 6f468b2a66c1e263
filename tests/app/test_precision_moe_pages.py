"""The Precision and Mixture-of-experts pages through AppTest."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.app


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_precision_page_bits_change_memory_and_loss(app):
    at = app("precision.py")
    assert not at.exception and at.title[0].value == "Precision"
    before = metrics(at)
    at.slider(key="bits_post").set_value(8).run()
    after = metrics(at)
    assert after["Weight memory when served"] != before["Weight memory when served"]
    assert after["Loss served at this precision"] != before["Loss served at this precision"]
    at.slider(key="bits_weights").set_value(6).run()
    trained = metrics(at)
    assert trained["Loss after training"] != after["Loss after training"]
    assert metrics(at)["Compute-optimal precision"] == "7.0 bits"


def test_moe_page_compares_dense_and_sparse(app):
    at = app("moe.py", m_log10_flops="21.0", memory_gb="640")
    assert not at.exception and at.title[0].value == "Mixture of experts"
    assert any("model **beats** the dense one" in md.value for md in at.markdown)
    at.slider(key="memory_gb").set_value(4).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels.count("Active parameters") == 2
    # unverified laws say so and their constants can be edited
    assert any("not verified" in e.label for e in at.expander)


def test_moe_page_counts_the_kv_cache_and_the_tokens_served(app):
    at = app("moe.py", m_log10_flops="22.0", memory_gb="80")

    def active() -> list[str]:
        return [m.value for m in at.metric if m.label == "Active parameters"]

    base = active()
    at.select_slider(key="kv_tokens").set_value(131072).run()
    assert not at.exception and active() != base  # a longer cache leaves less memory for weights
    at.select_slider(key="kv_tokens").set_value(16384)
    at.select_slider(key="inference_tokens").set_value(1e12).run()
    assert not at.exception
    assert any("serving takes" in c.value and "of the budget" in c.value for c in at.caption)
    # a link with the serving load (the URL holds the options' labels) reproduces it
    again = app("moe.py", m_log10_flops="22.0", memory_gb="80", kv_tokens="16k", inference_tokens="1 T")
    assert again.select_slider(key="inference_tokens").value == 1e12
    assert [m.value for m in again.metric] == [m.value for m in at.metric]
