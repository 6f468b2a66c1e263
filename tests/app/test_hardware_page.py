"""The Hardware page through AppTest: runs without a GPU, the quick benchmark stores a row, and
"use measured" on the Plan page changes the device-hours."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.app


def test_quick_benchmark_stores_a_row_and_drives_the_plan(app):
    at = app("hardware.py")
    assert not at.exception and at.title[0].value == "Hardware"
    assert at.selectbox(key="bench_device").options == ["cpu"]  # no GPU here
    at.button(key="run_bench").click().run(timeout=120)
    assert not at.exception
    assert any(s.value.startswith("Stored bench-") for s in at.success)
    assert any("matmul" in str(df.value.columns.tolist()) or "GFLOP/s" in df.value.columns for df in at.dataframe)

    at.switch_page(str(__import__("ui.navigation", fromlist=["PAGES"]).PAGES[0].path)).run()
    before = next(m.value for m in at.metric if m.label == "Training device-hours")
    at.toggle(key="use_measured").set_value(True).run()
    assert not at.exception
    after = next(m.value for m in at.metric if m.label == "Training device-hours")
    assert after != before
    assert any("Using measured peaks" in i.value for i in at.info)


def test_own_devices_are_added_edited_and_deleted(app):
    at = app("hardware.py")
    at.text_input(key="hw_add_id").set_value("lab-gpu")
    at.number_input(key="hw_add_bf16").set_value(200.0)
    at.number_input(key="hw_add_mem").set_value(48.0)
    at.number_input(key="hw_add_bw").set_value(1000.0)
    next(b for b in at.button if b.label == "Add device").click().run()
    assert not at.exception and at.selectbox(key="hw_edit_choice").value == "lab-gpu"
    at.text_input(key="hw_edit_name").set_value("Lab GPU v2")
    at.number_input(key="hw_edit_memory_gb").set_value(96.0)
    next(b for b in at.button if b.label == "Save changes").click().run()
    catalog = at.dataframe[0].value.set_index("hardware_id")
    assert catalog.at["lab-gpu", "name"] == "Lab GPU v2" and catalog.at["lab-gpu", "memory (GB)"] == 96.0
    next(b for b in at.button if b.label == "Delete this device").click().run()
    assert "lab-gpu" not in at.dataframe[0].value["hardware_id"].tolist()
