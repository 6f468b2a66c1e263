"""The Precision and Mixture-of-experts pages through AppTest.

Expected numbers from outside the page's code: Dettmers & Zettlemoyer's k-bit memory (k bits per
weight plus a 16-bit constant per block of 64, i.e. k + 0.25 bits), Kumar et al.'s compute-optimal
precision (P* = 7.0 bits, shared/reference/laws_precision_moe_inference.md).
"""

from __future__ import annotations

import json

import pytest

from tests.numbers import number

pytestmark = pytest.mark.app


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at) -> dict[str, dict]:
    """Plotly figures on the page by title."""
    out = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def chart(at, title_start: str) -> dict:
    return next(spec for title, spec in charts(at).items() if title.startswith(title_start))


def legend(spec: dict) -> list[str]:
    return [t["name"] for t in spec["data"] if t.get("name")]


def warnings(at) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning]


def test_precision_page_bits_change_memory_and_loss(app):
    at = app("precision.py")
    assert not at.exception and at.title[0].value == "Precision"
    before = metrics(at)
    at.slider(key="bits_post").set_value(8).run()
    after = metrics(at)
    assert after["Weights served (GB)"] != before["Weights served (GB)"]
    assert after["Served at 8-bit (nats/token)"] != before["Served at 4-bit (nats/token)"]
    at.slider(key="bits_weights").set_value(6).run()
    trained = metrics(at)
    assert trained["Trained loss (nats/token)"] != after["Trained loss (nats/token)"]
    assert metrics(at)["Optimal precision (bits)"] == "7.0"  # Kumar et al.: "7–8 bits"; reference: 7.0


def test_precision_metrics_are_short_with_units_in_the_labels(app):
    at = app("precision.py")
    shown = metrics(at)
    assert set(shown) == {
        "Parameters N",
        "Training tokens D",
        "Weights served (GB)",
        "Trained loss (nats/token)",
        "Served at 4-bit (nats/token)",
        "Optimal precision (bits)",
        "Optimal sparsity",  # a percentage: its unit is in the value
    }
    assert all(len(v) <= 7 for v in shown.values()), shown
    # Dettmers & Zettlemoyer: 4 bits + 16/64 bits of block constant = 4.25 bits = 0.53125 bytes a weight
    assert float(shown["Weights served (GB)"]) == pytest.approx(
        number(shown["Parameters N"]) * 4.25 / 8 / 1e9, rel=5e-3
    )
    at.slider(key="bits_post").set_value(8).run()
    shown = metrics(at)
    assert float(shown["Weights served (GB)"]) == pytest.approx(
        number(shown["Parameters N"]) * 8.25 / 8 / 1e9, rel=5e-3
    )


def test_precision_legends_and_hovers_are_in_words(app):
    at = app("precision.py", bits_post="4")
    ptq = chart(at, "Quantization damage")
    assert legend(ptq) == ["trained in 16 bits", "after 4-bit quantization"]
    front = chart(at, "Memory against loss")
    names = legend(front)
    assert names and all(n.startswith("served at ") and n.endswith(" bits") for n in names), names
    assert "served at 4 bits" in names  # whole bits, never '4.0000'
    bits = chart(at, "Loss against bits")
    assert bits["data"][0]["text"][0].startswith(
        "Training precision P (bits, weights = activations = KV): 4<br>"
    )
    for spec in (ptq, front, bits):
        assert not [n for n in legend(spec) if "_" in n]
        for trace in spec["data"]:
            assert ":.3s" not in trace.get("hovertemplate", "") and ":.4g" not in trace.get(
                "hovertemplate", ""
            )
    assert front["layout"]["xaxis"]["type"] == "log" and "GB" in front["layout"]["xaxis"]["title"]["text"]
    assert any("3-bit: 3 models" in c.value for c in at.caption)  # counts are whole: not '3.00 models'


def test_precision_link_out_of_range_is_said(app):
    at = app("precision.py", bits_post="40")
    assert not at.exception
    notices = [w for w in warnings(at) if "link's bits_post =" in w]
    assert len(notices) == 1 and "'40'" in notices[0] and "using 4 instead" in notices[0], warnings(at)
    assert at.slider(key="bits_post").value == 4
    assert "Served at 4-bit (nats/token)" in metrics(at)


def test_moe_page_compares_dense_and_sparse(app):
    at = app("moe.py", m_log10_flops="21.0", memory_gb="640")
    assert not at.exception and at.title[0].value == "Mixture of experts"
    assert any("model **beats** the dense one" in md.value for md in at.markdown)
    at.slider(key="memory_gb").set_value(4).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels.count("Active parameters") == 2 and labels.count("Loss (nats/token)") == 2
    assert all(len(m.value) <= 7 for m in at.metric), [(m.label, m.value) for m in at.metric]
    # unverified laws say so and their constants can be edited
    assert any("not verified" in e.label for e in at.expander)


def test_moe_legends_are_words(app):
    at = app("moe.py")
    assert legend(chart(at, "Optimal experts")) == ["experts (Ludziejewski)", "granularity (Krajewski)"]
    params = chart(at, "Active against total")
    assert legend(params) == ["active parameters", "total parameters"]
    # hovers in the page's units: '1.5 B', never Plotly's SI '1.5G'
    assert all(" B<br>" not in t or "G" not in t for t in params["data"][0]["text"])
    assert any(t.endswith((" M", " B", " T")) for t in params["data"][0]["text"])
    memory = legend(chart(at, "Where sparsity stops paying"))
    assert memory == ["dense (E = 1)", "2 experts", "4 experts", "8 experts", "16 experts", "32 experts"]
    for spec in charts(at).values():
        assert not [n for n in legend(spec) if "_" in n]
        for axis in ("xaxis", "yaxis"):
            ax = spec["layout"][axis]
            assert ax["title"]["text"], axis  # every axis is named
            if ax.get("type") == "log":
                assert ax.get("dtick") == 1 or ax.get("tickvals"), (
                    ax
                )  # decades or whole labels, not lone digits


def test_moe_link_values_out_of_range_are_said(app):
    at = app("moe.py", memory_gb="5000", experts="3")
    assert not at.exception
    text = warnings(at)
    memory = [w for w in text if "link's memory_gb =" in w]
    experts = [w for w in text if "link's experts =" in w]
    assert len(memory) == 1 and "'5000'" in memory[0] and "using 80 instead" in memory[0], text
    assert len(experts) == 1 and "'3'" in experts[0] and "using 8 instead" in experts[0], text
    assert at.slider(key="memory_gb").value == 80 and at.select_slider(key="experts").value == 8


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
    assert not [w for w in warnings(again) if "link's" in w]  # every value of the link is an option
    assert again.select_slider(key="inference_tokens").value == 1e12
    assert [m.value for m in again.metric] == [m.value for m in at.metric]
