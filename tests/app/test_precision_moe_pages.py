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
