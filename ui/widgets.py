"""Streamlit pieces more than one page uses."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from engine.analysis.registry import Entry, formula_entry, law_entry
from engine.formula import Formula
from engine.laws.base import Law
from ui.format import constant, plain
from ui.tables import formula_table, inputs_table


def lazy_expander(label: str, *, key: str):
    """An expander whose content is built only while it is open: opening or closing it reruns the
    page, and a closed one costs the rerun nothing (formulas, tables and JSON are neither built
    nor sent nor drawn). The container when open, else None. Not for widgets: a widget that is
    not drawn loses its value."""
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


def entry_body(
    entry: Entry, values: Mapping[str, object] | None = None, *, verified_in_source: bool = True
) -> None:
    """A law's or formula's description as the engine gives it (engine.analysis.registry.Entry): its
    LaTeX, constants, inputs (with this scenario's ``values``, by symbol), outputs, assumptions,
    conventions, range and source (with whether it was checked against it, unless the caller
    says so elsewhere). Every text is the engine's, shown as written (escaped)."""
    st.latex(entry.latex)
    # the tables beside the words: a law's constants take little room, a formula's inputs more, and more
    # again with this scenario's values
    widths = [5, 4] if values else [1, 1] if entry.inputs else [1, 2]
    tables, texts = st.columns(widths, gap="medium")
    if entry.constants:
        tables.table(
            pd.DataFrame(
                {"value": [constant(v) for _, v in entry.constants]},
                index=[name for name, _ in entry.constants],
            ).rename_axis("constant")
        )
    if entry.inputs:
        tables.table(formula_table(entry.inputs, values).rename_axis("input"))
    if entry.outputs:
        tables.table(formula_table(entry.outputs).rename_axis("gives"))
    if entry.assumptions:
        texts.markdown("**Assumptions**\n" + "\n".join(f"- {plain(a)}" for a in entry.assumptions))
    lines = [
        (label, text)
        for label, text in (
            ("Conventions", entry.conventions),
            ("Training compute", entry.compute_model if entry.constants else ""),
            ("Valid range", entry.valid_range),
            ("Where in the source", entry.source_detail),
        )
        if text
    ]
    source = f"[{plain(entry.citation)}]({entry.url})" if entry.url else plain(entry.citation)
    lines.append((f"Source ({entry.verified_words})" if verified_in_source else "Source", source))
    texts.markdown(
        "  \n".join(
            f"**{label}:** {text if label.startswith('Source') else plain(text)}" for label, text in lines
        )
    )
    if entry.notes:
        texts.caption(plain(entry.notes))
    for problem in entry.problems:
        st.warning(plain(problem))


def explain_key(title: str) -> str:
    """The session-state key of explain()'s expander titled ``title`` ('How the footprint is
    computed' -> 'explain_footprint_is_computed'): setting it True opens the expander."""
    return "explain_" + "_".join(title.lower().split()[2:])


def explain(
    title: str, *parts: Formula | Law, values: Mapping[str, object] | None = None, note: str = ""
) -> None:
    """How a number is computed, in an expander built only while open (``lazy_expander``; its key
    is 'explain_' and the title's words after 'How the'): each part as the engine describes it (a
    cost model's or rule's Formula, a law's equation and constants), the formulas' inputs with this
    scenario's ``values`` (by symbol; values for no formula's symbol get a table of their own),
    assumptions and sources. ``note``: a caption about this scenario."""
    box = lazy_expander(title, key=explain_key(title))
    if box is None:
        return
    values = dict(values or {})
    symbols = {symbol for part in parts if isinstance(part, Formula) for symbol in part.symbols}
    with box:
        for part in parts:
            entry = formula_entry(part, "") if isinstance(part, Formula) else law_entry(part)
            st.markdown(f"**{plain(entry.title)}**")
            entry_body(entry, values)
        leftover = {name: value for name, value in values.items() if name not in symbols}
        if leftover:
            st.table(inputs_table(leftover).rename(columns={"value": "value here"}))
        if note:
            st.caption(note)


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
        st.dataframe(
            pd.DataFrame({"constant": list(law.parameters), "value": list(law.parameters.values())}),
            hide_index=True,
        )
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
            "peak_bf16_tflops": c[2].number_input("bf16 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_bf16")
            or None,
            "peak_fp8_tflops": c[3].number_input("fp8 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_fp8")
            or None,
            "peak_fp32_tflops": c[0].number_input("fp32 peak (TFLOP/s)", 0.0, 1e5, 0.0, key=f"{key}_fp32")
            or None,
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
                st.session_state[f"{key}_added"] = (
                    f"Added {plain(device.name)}; it is now in the hardware lists."
                )
                st.rerun()
