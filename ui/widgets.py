"""Streamlit pieces more than one page uses."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.laws.base import Law
from ui.format import plain


def lazy_expander(label: str, *, key: str):
    """An expander whose content is built only while it is open: opening or closing it reruns the
    page, and a closed one costs the rerun nothing (formulas, tables and JSON are neither built
    nor sent nor drawn). The container when open, else None. Not for widgets: a widget that is
    not drawn loses its value."""
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


def law_card(law: Law, *, key_prefix: str) -> Law:
    """An expander with the law's formula, constants, conventions and citation.

    Constants of a law whose values could not be checked against the primary source
    (``verified`` false) are editable here; the returned law carries the edits.
    """
    info = law.info
    if info.user_fit:
        return _fit_card(law)
    badge = "verified against the source" if info.verified else "⚠ not verified: constants editable"
    with st.expander(f"{plain(info.title)} — {badge}"):
        st.latex(info.equation)
        st.markdown(f"**Source:** [{plain(info.citation)}]({info.url})  \n**Where:** {info.source_detail}")
        st.markdown(f"**Conventions:** {info.conventions}  \n**Valid range:** {info.valid_range}")
        if info.notes:
            st.caption(info.notes)
        if info.verified:
            st.dataframe(
                pd.DataFrame({"constant": list(law.parameters), "value": list(law.parameters.values())}),
                hide_index=True,
            )
            return law
        st.warning(
            "These constants could not be checked against the primary source. "
            "Edit them to match the paper's table if you have it."
        )
        edits = {}
        columns = st.columns(len(law.parameters))
        for column, (name, value) in zip(columns, law.parameters.items()):
            edits[name] = column.number_input(
                name, value=float(value), format="%.6g", key=f"{key_prefix}_{info.id}_{name}"
            )
        return law.with_constants(**edits)


def _fit_card(law: Law) -> Law:
    """A user's saved fit: what it was fitted on, its problems, its constants (not editable:
    a fit is what the data gave). Its name and sources are user text: shown as typed."""
    info = law.info
    with st.expander(plain(info.title) + (" — ⚠ not usable" if info.problems else "")):
        st.latex(info.equation)
        st.markdown(f"**Fitted on:** {plain(info.fitted_on)}  \n**Method:** {info.source_detail}")
        st.markdown(f"**Conventions:** {info.conventions}")
        for problem in info.problems:
            st.warning(problem)
        st.dataframe(pd.DataFrame({"constant": list(law.parameters), "value": list(law.parameters.values())}),
                     hide_index=True)
    return law


def device_form(*, key: str) -> None:
    """A form to add one's own accelerator (validated, stored in the run store)."""
    from engine.cost.hardware import HardwareError
    from engine.data.store import add_device
    from ui import db

    flash = st.session_state.pop(f"{key}_added", None)
    if flash:
        st.success(flash)
    with st.form(key=key, clear_on_submit=False):
        st.markdown("**Add your own device** (dense peaks; leave unknown fields empty)")
        c = st.columns(4)
        row = {
            "hardware_id": c[0].text_input("Id (short, unique)", key=f"{key}_id"),
            "name": c[1].text_input("Name", key=f"{key}_name"),
            "peak_bf16_tflops": c[2].number_input("bf16 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_bf16") or None,
            "peak_fp8_tflops": c[3].number_input("fp8 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_fp8") or None,
            "peak_fp32_tflops": c[0].number_input("fp32 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_fp32") or None,
            "memory_gb": c[1].number_input("Memory (GB)", 0.0, 1e5, 0.0, key=f"{key}_mem") or None,
            "bandwidth_gb_s": c[2].number_input("Bandwidth (GB/s)", 0.0, 1e6, 0.0, key=f"{key}_bw") or None,
            "tdp_w": c[3].number_input("TDP (W)", 0.0, 1e5, 0.0, key=f"{key}_tdp") or None,
        }
        if st.form_submit_button("Add device"):
            try:
                with db.session(write=True) as con:
                    device = add_device(con, row)
            except HardwareError as exc:
                st.error(plain(exc))
            else:
                st.session_state[f"{key}_added"] = f"Added {plain(device.name)}; it is now in the hardware lists."
                st.rerun()
