"""FLOPwise router: page config, navigation, the shared sidebar and the one store connection."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine import store
from ui import db

HERE = Path(__file__).resolve().parent
# Pages live in app_pages/, not pages/: a pages/ folder beside the main script switches Streamlit
# to its legacy multipage mode for the first session after a server start.

st.set_page_config(page_title="FLOPwise", page_icon="⚡", layout="wide")

PAGES = [
    st.Page(HERE / "app_pages" / "scaling.py", title="Scaling laws", icon="📈", url_path="scaling", default=True),
]
page = st.navigation(PAGES)

con = db.cursor()
with st.sidebar:
    st.markdown("### ⚡ FLOPwise")
    st.caption("Compute, not parameter count, is the budget.")
    counts = store.run_counts(con)
    st.caption(
        f"Run store: {sum(counts.values()):,} runs from {len(counts)} sources  \n"
        f"`{db.get_store().path.name}`"
    )

page.run()
