"""FLOPwise router: page config, navigation, the shared sidebar and the one store connection."""

from __future__ import annotations

import time

import streamlit as st

from ui import db
from ui.navigation import HOME_ALIAS, PAGES

st.set_page_config(page_title="FLOPwise", page_icon="⚡", layout="wide")

pages = [
    st.Page(
        p.path,
        title=p.title,
        icon=p.icon,
        url_path=HOME_ALIAS if p.default else p.url_path,
        default=p.default,
    )
    for p in PAGES
]
pages += [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, visibility="hidden")
    for p in PAGES
    if p.default
]
page = st.navigation(pages)

BUSY_RETRY_S, BUSY_GIVE_UP_S = 1.0, 30.0  # while another process writes the store


def store_busy(exc: db.StoreBusyError) -> None:
    """Another process held the store through a read's wait: say so and rerun shortly, for up to
    BUSY_GIVE_UP_S; then say what happened and offer to try again. Never a traceback."""
    waited = st.session_state.get("_store_busy_s", 0.0)
    if waited < BUSY_GIVE_UP_S:
        st.session_state["_store_busy_s"] = waited + BUSY_RETRY_S + db.READ_WAIT_S
        st.info(f"The run store is busy: {exc.holder} is writing to it. Retrying in a moment…")
        time.sleep(BUSY_RETRY_S)
        st.rerun()
    st.session_state.pop("_store_busy_s", None)
    st.warning(str(exc))
    st.button("Try again", key="store_busy_retry")


try:
    with st.sidebar:
        st.markdown("### ⚡ FLOPwise")
        st.caption("Compute, not parameter count, is the budget.")
        counts = db.run_counts(db.version())
        st.caption(
            f"Run store: {sum(counts.values()):,} runs from {len(counts)} sources  \n`{db.get_store().name}`"
        )
    page.run()
    st.session_state.pop("_store_busy_s", None)
except db.StoreBusyError as exc:
    store_busy(exc)
