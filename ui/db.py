"""The app's one store connection (cached for the process) and a cursor per rerun."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from engine.store import Store, open_store

if TYPE_CHECKING:
    import duckdb


@st.cache_resource(show_spinner="Opening the run store and loading the published data…")
def get_store() -> Store:
    return open_store()


def cursor() -> "duckdb.DuckDBPyConnection":
    """A fresh cursor on the cached connection; take one per rerun."""
    return get_store().cursor()
