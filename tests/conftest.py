"""Shared fixtures. Every test gets its own DuckDB file; the app under test never touches the
user's default database."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Set before any test imports the app, so the app's cached store opens a scratch database.
os.environ.setdefault("FLOPWISE_DB", str(Path(tempfile.mkdtemp(prefix="flopwise-tests-")) / "app.duckdb"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.duckdb"


@pytest.fixture
def store(db_path: Path):
    from engine.data.store import open_store

    with open_store(db_path) as s:
        yield s


# --- a real PostgreSQL server (tests/pg.py), for the store suite run against both backends ----------


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the whole session, stopped and removed at the end.
    Skipped (with the reason) when the server binaries are missing, unless under ``make test``."""
    from tests import pg

    if pg.pg_bin() is None:
        reason = "PostgreSQL server binaries missing (/usr/lib/postgresql/*/bin/initdb); `make postgresql`"
        if pg.required():
            pytest.fail(reason + " — required under make test")
        pytest.skip(reason)
    with pg.cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """A new empty database on the session's cluster (its URL), dropped after the test."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["duckdb", "postgresql"])
def store_url(request, tmp_path: Path) -> str:
    """Where a store test keeps its store: a DuckDB file, then a PostgreSQL database."""
    if request.param == "duckdb":
        return str(tmp_path / "runs.duckdb")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_store(store_url: str):
    """The ``store`` fixture on each backend (published data loaded)."""
    from engine.data.store import open_store

    with open_store(store_url) as s:
        yield s
