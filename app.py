"""FLOPwise router: page config, navigation, the shared sidebar and the one store connection."""

from __future__ import annotations

import streamlit as st

from ui import db
from ui.navigation import HOME_ALIAS, PAGES

st.set_page_config(page_title="FLOPwise", page_icon="⚡", layout="wide")

pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=HOME_ALIAS if p.default else p.url_path,
                 default=p.default) for p in PAGES]
pages += [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, visibility="hidden")
          for p in PAGES if p.default]
page = st.navigation(pages)

with st.sidebar:
    st.markdown("### ⚡ FLOPwise")
    st.caption("Compute, not parameter count, is the budget.")
    counts = db.run_counts(db.version())
    st.caption(
        f"Run store: {sum(counts.values()):,} runs from {len(counts)} sources  \n"
        f"`{db.get_store().path.name}`"
    )

page.run()
