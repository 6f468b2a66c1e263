"""Hardware: the accelerator catalog and your own entries; measure this machine and use it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.cost import microbench
from engine.cost.hardware import DTYPES, HardwareError, catalog_frame
from engine.data import store
from ui import db, figures
from ui import format as fmt
from ui.tables import readable
from ui.url import LinkCheck
from ui.widgets import device_form

BOUND = {"bind": "query-params"}


def _four(v: float) -> str:
    return fmt.short(v, 4)  # vendor figures as published: 989.4, 2,039


def _peak_label(dtype: str) -> str:
    return f"{dtype} peak ({'TOPS' if dtype == 'int8' else 'TFLOP/s'})"


# engine column -> (label with unit, formatter); the numbers stay numbers underneath
CATALOG_COLUMNS = {
    "hardware_id": ("Id", None),
    "name": ("Name", None),
    "vendor": ("Vendor", None),
    **{f"peak_{d}_{'tops' if d == 'int8' else 'tflops'}": (_peak_label(d), _four) for d in DTYPES},
    "memory_gb": ("Memory (GB)", _four),
    "bandwidth_gb_s": ("Bandwidth (GB/s)", _four),
    "tdp_w": ("TDP (W)", _four),
    "tdp_estimated": ("Power figure", None),
    "power_source": ("Power source", None),
    "die_area_cm2": ("Die area (cm²)", _four),
    "cpa_kg_per_cm2": ("Embodied kg CO2e per cm² of die", _four),
    "source": ("Source", None),
    "notes": ("Notes", None),
    "user_defined": ("Yours", lambda v: "yes" if v else ""),
}


@st.cache_data(show_spinner=False)
def devices(version: tuple) -> dict:
    with db.session() as con:
        return store.all_devices(con)


@st.cache_data(show_spinner=False)
def benchmarks(version: tuple) -> list[dict]:
    with db.session() as con:
        return store.list_benchmarks(con)


def catalog_section(all_devices: dict) -> None:
    st.subheader("Catalog")
    st.caption(
        "Dense peaks (never the sparse headline figures), memory, bandwidth, power and the inputs of the "
        "embodied-carbon estimate; each row says where its numbers come from. Your own devices are marked."
    )
    frame = catalog_frame(all_devices)
    frame["tdp_estimated"] = [
        "estimate" if e else "none" if pd.isna(w) else "yours" if own else "published"
        for e, w, own in zip(frame["tdp_estimated"], frame["tdp_w"], frame["user_defined"])
    ]
    shown = {
        k: v
        for k, v in CATALOG_COLUMNS.items()
        if k in frame and (k == "hardware_id" or frame[k].notna().any())
    }
    st.dataframe(
        readable(frame, shown),
        hide_index=True,  # a column no device fills is left out
        placeholder=fmt.DASH,
        key="catalog_table",
    )
    estimated = [dev.name for dev in all_devices.values() if dev.tdp_estimated]
    if estimated:
        st.caption(
            f"Power figures marked “estimate” are not published by the vendor: "
            f"{', '.join(estimated)}. Energy and CO2e on these devices carry that uncertainty; "
            "“power source” gives each basis."
        )
    roofline_section(all_devices)


@st.fragment
def roofline_section(all_devices: dict) -> None:
    """The catalog's roofline for a data type and chosen devices; a fragment, so that changing them
    redraws the chart alone, not the catalog table above it."""
    link = LinkCheck()
    c1, c2 = st.columns([1, 3])
    dtype = link.selectbox(
        c1,
        "Data type",
        [d for d in DTYPES if any(d in dev.peak_tflops for dev in all_devices.values())],
        index=3,
        key="hw_dtype",
    )
    with_dtype = [h for h, dev in all_devices.items() if dtype in dev.peak_tflops]
    chosen = c2.multiselect(
        "Devices on the roofline",
        with_dtype,
        default=[h for h in ("a100-80gb", "h100-sxm", "b200", "mi300x") if h in with_dtype],
        key="hw_devices",
        **BOUND,
    )
    link.show()
    st.plotly_chart(figures.roofline_figure([all_devices[h] for h in chosen], dtype), key="catalog_roofline")


def own_devices_section(all_devices: dict) -> None:
    st.subheader("Your devices")
    device_form(key="hw_add")
    own = [h for h, dev in all_devices.items() if dev.user_defined and not h.startswith("measured:")]
    if not own:
        return
    choice = st.selectbox("Edit or delete", own, key="hw_edit_choice")
    row = all_devices[choice].as_row()
    with st.form("hw_edit"):
        cols = st.columns(4)
        edited = dict(row)
        for i, (field, label) in enumerate(
            (
                ("name", "Name"),
                ("peak_bf16_tflops", "bf16 peak (TFLOP/s)"),
                ("memory_gb", "Memory (GB)"),
                ("bandwidth_gb_s", "Bandwidth (GB/s)"),
                ("tdp_w", "TDP (W)"),
                ("peak_fp32_tflops", "fp32 peak (TFLOP/s)"),
            )
        ):
            if field == "name":
                edited[field] = cols[i % 4].text_input(label, row[field] or "", key=f"hw_edit_{field}")
            else:
                edited[field] = (
                    cols[i % 4].number_input(
                        label, 0.0, 1e6, float(row[field] or 0.0), key=f"hw_edit_{field}"
                    )
                    or None
                )
        save, delete = st.columns(2)
        if save.form_submit_button("Save changes"):
            try:
                with db.session(write=True) as con:
                    store.update_device(con, edited)
                st.rerun()
            except HardwareError as exc:
                st.error(fmt.plain(exc))
        if delete.form_submit_button("Delete this device"):
            with db.session(write=True) as con:
                store.delete_device(con, choice)
            st.rerun()


def benchmark_section(all_devices: dict, past: list[dict]) -> None:
    st.subheader("Measure this machine")
    st.caption(
        "Matrix-multiply throughput per data type (each product checked against a float64 reference), memory "
        "bandwidth past the caches, host-device transfers and power where a GPU reports it. Uses at most "
        "half of the free memory. Quick: under 30 s; full: under 5 minutes."
    )
    has_gpu = microbench.torch_cuda() is not None
    c1, c2, c3 = st.columns(3)
    mode = c1.radio("Mode", ["quick", "full"], horizontal=True, key="bench_mode")
    device = c2.selectbox(
        "Device",
        ["cpu", "cuda"] if has_gpu else ["cpu"],
        key="bench_device",
        help=None if has_gpu else "No CUDA device is visible (PyTorch missing or no GPU).",
    )
    if c3.button("Run benchmark", type="primary", key="run_bench"):
        st.button("Cancel", key="cancel_bench", help="Stops the run at its next step; nothing is stored.")
        bar = st.progress(0.0, text="Starting")
        try:
            result = microbench.run(
                device, quick=mode == "quick", progress=lambda f, m: bar.progress(min(f, 1.0), text=m)
            ).as_dict()
        except microbench.BenchmarkError as exc:
            st.error(fmt.plain(exc))
            return
        with db.session(write=True) as con:
            bench_id = store.save_benchmark(con, result)
        st.session_state["bench_done"] = f"Stored {bench_id} ({result['duration_s']:.1f} s)."
        st.rerun()
    if message := st.session_state.pop("bench_done", None):
        st.success(message)
    if not past:
        st.info("No measurements yet.")
        return
    ids = [b["bench_id"] for b in past]
    shown = st.selectbox("Measurement", ids, key="bench_shown")
    record = next(b for b in past if b["bench_id"] == shown)
    result = record["result"]
    machine = result["machine"]
    st.markdown(
        f"**{machine.get('gpu_name') or machine.get('cpu_model')}** · {machine.get('cpu_count')} cores · "
        f"{record['device']} · {record['mode']} · {result['duration_s']:.1f} s · numpy {machine.get('numpy')}"
    )
    match = microbench.catalog_match(machine)
    like = all_devices.get(match) if match else None
    rows = microbench.assess_gemm(result, like)
    if not rows:
        st.warning("This measurement has no matrix multiply (too little free memory?); run it again.")
        return
    gemm = pd.DataFrame(rows)
    gemm_table = pd.DataFrame(
        {
            "data type": gemm["dtype"],
            "m": gemm["m"],
            "k": gemm["k"],
            "n": gemm["n"],
            "samples": pd.array(gemm["samples"].tolist(), dtype="Int64"),
            "median time per product (ms)": gemm["seconds"] * 1e3,
            "GFLOP/s": gemm["flops_per_s"] / 1e9,
            "correct": gemm["correct"].map({True: "yes", False: "no"}),
            "used for estimates": gemm["verdict"],
            "taken by “Use measured”": gemm["chosen"].map({True: "yes", False: ""}),
        }
    )
    st.dataframe(
        gemm_table.style.format(
            {"median time per product (ms)": fmt.short, "GFLOP/s": fmt.short}, na_rep=fmt.DASH
        ),
        hide_index=True,
        placeholder=fmt.DASH,
        key="bench_gemm",
    )
    min_call_s = microbench.MIN_CALL_S.get(record["device"], microbench.MIN_CALL_S["cpu"])
    st.caption(
        f"{microbench.choice_words(rows)} Each time is the median over its samples; a sample is "
        f"back-to-back products lasting at least {microbench.MIN_SAMPLE_S * 1e3:g} ms, after a warm-up "
        f"call. Too small to time: under {min_call_s * 1e3:g} ms per product. Outlier (checked only "
        f"where no catalog peak is known): over {microbench.OUTLIER_RATIO:g}× the median rate of the "
        "other sizes of its data type."
    )
    moves = pd.DataFrame(result["bandwidth"] + result["transfer"])
    moves["GB/s"] = moves["bytes_per_s"] / 1e9
    moves["MiB"] = moves["bytes"] / 2**20
    st.dataframe(
        readable(
            moves,
            {
                "kind": ("Transfer", None),
                "MiB": ("Size (MiB)", fmt.short),
                "GB/s": ("Rate (GB/s)", fmt.short),
            },
        ),
        hide_index=True,
        placeholder=fmt.DASH,
    )
    st.caption(
        f"Power: {result['power']}" if result["power"] else "Power: not available on this device (no NVML)."
    )
    if like is not None:
        for row in microbench.achieved_fractions(result, like):
            st.markdown(f"- {row['words']}")
    else:
        st.caption(
            "No catalog entry matches this processor, so no achieved fraction of a catalog peak; "
            "add your own device above to compare, or use the measured figures directly on the Plan page."
        )
    measured_dtypes = sorted({r["dtype"] for r in result["gemm"]})
    dtype = st.selectbox("Roofline data type", measured_dtypes, key="bench_dtype")
    points = [{**r, "intensity": microbench.gemm_intensity(r)} for r in rows if r["dtype"] == dtype]
    try:
        measured = microbench.measured_device(result, bench_id=shown, like=like)
    except microbench.BenchmarkError as exc:
        st.warning(str(exc))
        return
    name = microbench.catalog_dtype(dtype)
    if name not in measured.peak_tflops:
        st.info(f"No usable {dtype} product in this measurement, so no measured {name} roofline.")
        return
    catalog = [like] if like is not None else []
    st.plotly_chart(
        figures.roofline_figure(
            [measured, *catalog], name, measured=points, measured_bandwidth=measured.bandwidth_bytes_per_s
        ),
        key="bench_roofline",
    )


st.title("Hardware")
st.caption("What the accelerators can do on paper, and what this machine does in practice.")
version = db.version()
all_devices = devices(version)
catalog_section(all_devices)
own_devices_section(all_devices)
benchmark_section(all_devices, benchmarks(version))
