"""The Hardware page through AppTest: runs without a GPU, the quick benchmark stores a row, and
"use measured" on the Plan page changes the device-hours."""

from __future__ import annotations

import pytest

from ui.navigation import PAGES

pytestmark = pytest.mark.app


def catalog_table(at):
    """The catalog, by its columns: AppTest sees no key on a st.dataframe without selections, so
    the page's key="catalog_table" cannot be looked up."""
    return next(d for d in at.dataframe if {"Id", "Name"} <= set(d.value.columns))


@pytest.mark.slow
def test_quick_benchmark_stores_a_row_and_drives_the_plan(app):
    at = app("hardware.py")
    assert not at.exception and at.title[0].value == "Hardware"
    assert at.selectbox(key="bench_device").options == ["cpu"]  # no GPU here
    at.button(key="run_bench").click().run(timeout=120)
    assert not at.exception
    assert any(s.value.startswith("Stored bench-") for s in at.success)
    gemm = next(df.value for df in at.dataframe if "GFLOP/s" in df.value.columns)
    assert {
        "samples",
        "median time per product (ms)",
        "used for estimates",
        "taken by “Use measured”",
    } <= set(gemm)
    assert set(gemm["used for estimates"].map(lambda v: v.split(":")[0])) <= {"yes", "no"}
    assert (gemm["taken by “Use measured”"] == "yes").sum() == 2  # one per data type (float64, float32)
    assert any(c.value.startswith('"Use measured" on the Plan page takes, per data type') for c in at.caption)

    at.switch_page(str(next(p for p in PAGES if p.file == "plan.py").path)).run()
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
    catalog = catalog_table(at).value.set_index("Id")
    assert catalog.at["lab-gpu", "Name"] == "Lab GPU v2" and catalog.at["lab-gpu", "Memory (GB)"] == 96.0
    next(b for b in at.button if b.label == "Delete this device").click().run()
    assert "lab-gpu" not in catalog_table(at).value["Id"].tolist()


def test_catalog_marks_estimated_power(app):
    at = app("hardware.py")
    catalog = catalog_table(at).value.set_index("Id")
    assert catalog.at["tpu-v5p", "Power figure"] == "estimate" and catalog.at["tpu-v5p", "TDP (W)"] == 330
    assert catalog.at["h100-sxm", "Power figure"] == "published"
    assert catalog.at["tpu-v5e", "Power source"].startswith("ESTIMATE")
    assert any("not published by the vendor" in c.value and "TPU v5p" in c.value for c in at.caption)


def test_an_old_format_measurement_shows_its_flags(app):
    from engine.data.store import save_benchmark
    from ui import db

    rate = {256: 180e9, 512: 8e9, 1024: 31e9, 2048: 24e9}  # the reported outlier at 256³
    old = {
        "machine": {"cpu_model": "Old CPU", "cpu_count": 2, "numpy": "1.26"},
        "device": "cpu",
        "mode": "quick",
        "gemm": [
            {
                "dtype": "float32",
                "m": s,
                "n": s,
                "k": s,
                "seconds": 2 * s**3 / r,
                "flops_per_s": r,
                "correct": True,
            }
            for s, r in rate.items()
        ],
        "bandwidth": [{"kind": "copy", "bytes": 2**25, "bytes_per_s": 1e10}],
        "transfer": [],
        "power": None,
        "duration_s": 3.0,
        "notes": [],
    }
    bench_id = save_benchmark(db.get_store().cursor(), old)
    at = app("hardware.py")
    at.selectbox(key="bench_shown").set_value(bench_id).run()
    assert not at.exception
    gemm = next(df.value for df in at.dataframe if "GFLOP/s" in df.value.columns).set_index("m")
    assert gemm.at[256, "used for estimates"].startswith("no: too small to time")
    assert gemm.at[2048, "taken by “Use measured”"] == "yes" and gemm.at[2048, "GFLOP/s"] == 24.0
    assert any("fp32 24.0 GFLOP/s (2048×2048×2048)" in c.value for c in at.caption)


def _shown(element):
    """What a st.dataframe shows: the Styler's display values where the page formats the table."""
    from streamlit import dataframe_util

    return dataframe_util.convert_arrow_bytes_to_pandas_df(element.proto.arrow_data.styler.display_values)


def test_catalog_reads_cleanly_and_a_bad_link_value_is_said(app):
    at = app("hardware.py", hw_dtype="fp3")
    assert not at.exception
    shown = _shown(catalog_table(at)).set_index("Id")
    cells = shown.astype(str).to_numpy().ravel().tolist()
    assert "None" not in cells and "nan" not in cells and "<NA>" not in cells
    assert shown.at["h100-sxm", "bf16 peak (TFLOP/s)"] == "989.4"  # NVIDIA's dense figure, as published
    assert shown.at["v100-sxm2", "bf16 peak (TFLOP/s)"] == "–"  # no bf16 on a V100
    assert not [c for c in shown.columns if "_" in c]  # labels, not engine column names
    notices = [w.value.replace("\\", "") for w in at.warning]
    assert any("hw_dtype = 'fp3'" in n and "using fp16 instead" in n for n in notices), notices
    assert at.selectbox(key="hw_dtype").value == "fp16"
