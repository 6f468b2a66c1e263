"""Methodology: every law, allocation rule and cost model the engine evaluates, as the engine
describes it (engine.analysis.registry.methodology), searchable. No formula is written here."""

from __future__ import annotations

import streamlit as st

from engine.analysis import registry
from engine.data import store
from ui import db
from ui import format as fmt
from ui.widgets import entry_body

SEARCH_KEY = "methodology_search"
BADGES = {"your fit": "blue", True: "green", False: "orange"}  # the verified flag's colour


def anchor(heading: str) -> str:
    return "methodology-" + "-".join(heading.lower().split())


def badge(entry: registry.Entry) -> str:
    colour = BADGES["your fit"] if entry.kind == "your fit" else BADGES[entry.verified]
    return f":{colour}-badge[{fmt.plain(entry.verified_words)}]"


@st.cache_data(show_spinner=False)
def saved_fits(version: tuple) -> list:
    """The users' saved fits, as laws (listed last, never verified)."""
    with db.session() as con:
        return [law for law, _ in registry.saved_fit_laws(store.list_fits(con)).values()]


@st.fragment
def listing(sections: list) -> None:
    """The search box and what it leaves: typing reruns only this part."""
    total = sum(len(entries) for _, entries in sections)
    query = (
        st.text_input(
            "Search the methodology",
            key=SEARCH_KEY,
            type="search",
            live=True,
            bind="query-params",
            placeholder="A law, author, symbol or word: Kaplan, KV cache, not verified",
            help="Looks through titles, formulas, constants, inputs, conventions, valid ranges, "
            "assumptions and sources, ignoring case; every word must occur.",
        )
        or ""
    )
    found = registry.search(sections, query)
    shown = sum(len(entries) for _, entries in found)
    words = f" for “{fmt.plain(query.strip())}”" if query.strip() else ""
    st.caption(f"{shown:,} of {total:,} shown{words}.")
    if not found:
        st.info(
            f"Nothing matches “{fmt.plain(query.strip())}”. Try one word of a title, an author or a "
            f"symbol, or clear the search to see all {total:,}."
        )
    else:  # a line of contents: each section and how many it shows, linked to its heading
        st.markdown(
            " · ".join(f"[{heading} ({len(entries):,})](#{anchor(heading)})" for heading, entries in found)
        )
    for heading, entries in found:
        st.subheader(heading, anchor=anchor(heading))
        for entry in entries:
            with st.container(border=True):
                st.markdown(f"#### {fmt.plain(entry.title)}")
                st.markdown(f"{badge(entry)} :gray[{entry.kind} · id {fmt.plain(entry.id)}]")
                entry_body(entry, verified_in_source=False)


st.title("Methodology")
st.caption(
    "Every law, allocation rule and cost model FLOPwise evaluates: its formula, constants, inputs "
    "with units, conventions, valid range, assumptions and source, and whether it was checked against "
    "that source. Each is written once, beside the code that evaluates it; this page and the pages' "
    "“How … is computed” panels show it from there."
)
listing(registry.methodology(saved_fits(db.version())))
