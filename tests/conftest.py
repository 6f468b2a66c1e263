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
