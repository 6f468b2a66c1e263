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


def version() -> tuple:
    """The store's data version (changes with runs, fits, devices, benchmarks): a cache key."""
    from engine.store import data_version

    return data_version(cursor())


@st.cache_data(show_spinner=False, max_entries=4)
def run_counts(version: tuple) -> dict[str, int]:
    """Stored runs per source, recounted only when the data version changes."""
    from engine.store import run_counts as count

    return count(cursor())
