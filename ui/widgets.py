"""Streamlit pieces more than one page uses."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.laws.base import Law


def law_card(law: Law, *, key_prefix: str) -> Law:
    """An expander with the law's formula, constants, conventions and citation.

    Constants of a law whose values could not be checked against the primary source
    (``verified`` false) are editable here; the returned law carries the edits.
    """
    info = law.info
    badge = "verified against the source" if info.verified else "⚠ not verified: constants editable"
    with st.expander(f"{info.title} — {badge}"):
        st.latex(info.equation)
        st.markdown(f"**Source:** [{info.citation}]({info.url})  \n**Where:** {info.source_detail}")
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
