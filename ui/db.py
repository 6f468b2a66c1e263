"""The app's run store: opened per unit of work, so other processes (CLI ingests, other app
servers) can write between reruns; a cheap stamp as the cache key of everything read (the DuckDB
file's, or a PostgreSQL store's snapshot when ``$FLOPWISE_DB`` is a ``postgresql://`` URL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from engine.data.store import Connection, Store, StoreBusyError, open_store

# A page's reads wait this long for another process's write, then the page says so and retries
# (app.py); a write the user asked for waits the store's full default, with a note on the page.
READ_WAIT_S = 2.0


@st.cache_resource(show_spinner="Opening the run store and loading the published data…")
def get_store() -> Store:
    return open_store()


@contextlib.contextmanager
def session(*, write: bool = False) -> Iterator[Connection]:
    """A connection for one unit of work, closed after it. A write shows "waiting for the run
    store" while another process holds the file; a read gives up sooner (StoreBusyError, which
    app.py turns into a notice and a retry)."""
    note = st.empty() if write else None

    def waiting(seconds: float, message: str) -> None:
        note.info(f"{message}… ({seconds:.0f} s)")

    try:
        with get_store().connect(
            wait_s=None if write else READ_WAIT_S, on_wait=waiting if write else None
        ) as con:
            yield con
    finally:
        if note is not None:
            note.empty()


def version() -> tuple:
    """Changes with every commit to the store (runs, fits, devices, benchmarks): a cache key
    read from the file's stamp, without opening it (on PostgreSQL: one small query for the
    server's snapshot, so a commit by any other server or ingest shows at the next rerun)."""
    return get_store().stamp()


@st.cache_data(show_spinner=False, max_entries=4)
def run_counts(version: tuple) -> dict[str, int]:
    """Stored runs per source, recounted only when the store changes."""
    from engine.data.store import run_counts as count

    with session() as con:
        return count(con)


__all__ = ["StoreBusyError", "get_store", "run_counts", "session", "version"]
