"""The store, on a DuckDB file and on a real PostgreSQL server (each test runs on both; tests/pg.py):
published data loads once, survives restarts, and enforces its checks."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from engine.data import pg, published
from engine.data.store import (
    DB_ENV_VAR,
    DEFAULT_DB_PATH,
    default_db_location,
    default_db_path,
    load_published,
    open_store,
    query_runs,
    run_counts,
)
from engine.paths import DATASETS_DIR

EXPECTED = {"hoffmann2022": 234, "muennighoff2023": 296, "gadre2024": 104, "epoch2025": 924}


@pytest.fixture
def db_path(store_url):
    """This module's stores: a DuckDB file, then a PostgreSQL database (conftest.store_url)."""
    return store_url


@pytest.fixture
def store(any_store):
    return any_store


def file_rows(source_id: str) -> int:
    source = next(s for s in published.read_sources() if s.source_id == source_id)
    return len(pd.read_csv(DATASETS_DIR / source.file))


def test_published_rows_load_with_counts_equal_to_the_files(store):
    counts = run_counts(store.cursor())
    assert counts == EXPECTED
    assert counts == {s: file_rows(s) for s in EXPECTED}
    declared = {s.source_id: s.rows for s in published.read_sources()}
    assert all(declared[s] == n for s, n in counts.items())


def test_loading_twice_and_restarting_add_nothing(db_path):
    with open_store(db_path) as first:
        assert load_published(first.cursor()) == {}
    with open_store(db_path) as restarted:
        con = restarted.cursor()
        assert run_counts(con) == EXPECTED
        assert con.execute("SELECT count(*) FROM uploads").fetchone()[0] == 5
        assert con.execute("SELECT count(*) FROM sources").fetchone()[0] == 5


def test_every_run_carries_source_licence_and_citation(store):
    con = store.cursor()
    orphans = con.execute(
        "SELECT count(*) FROM runs r LEFT JOIN sources s ON r.source = s.source_id WHERE s.licence IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    licences = dict(con.execute("SELECT source_id, licence FROM sources").fetchall())
    assert licences["hoffmann2022"] == "Apache-2.0" and licences["epoch2025"] == "CC-BY-4.0"


def test_original_bytes_are_kept(store):
    con = store.cursor()
    data = con.execute(
        "SELECT original_bytes FROM uploads WHERE upload_id = 'published:gadre2024'"
    ).fetchone()[0]
    assert data == (DATASETS_DIR / "gadre2024_overtraining_runs.csv").read_bytes()


def test_derived_compute_is_marked(store):
    runs = query_runs(store.cursor(), ["muennighoff2023"])
    assert (runs["derived_field"] == "flops").all()
    assert (runs["flops"] / (6 * runs["n_params"] * runs["n_tokens"])).between(1 - 1e-12, 1 + 1e-12).all()
    chinchilla = query_runs(store.cursor(), ["hoffmann2022"])
    assert chinchilla["derived_field"].isna().all()


def test_a_changed_shipped_file_replaces_its_rows(tmp_path, db_path):
    datasets = tmp_path / "datasets"
    shutil.copytree(DATASETS_DIR, datasets)
    with open_store(db_path, load_published_data=False) as s:
        con = s.cursor()
        load_published(con, datasets)
        frame = pd.read_csv(datasets / "hoffmann2022_chinchilla_runs.csv").head(10)
        frame.to_csv(datasets / "hoffmann2022_chinchilla_runs.csv", index=False)
        assert load_published(con, datasets) == {"hoffmann2022": 10}
        assert run_counts(con)["hoffmann2022"] == 10


REFUSED = (duckdb.ConstraintException, pg.ConstraintError)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("n_params", -1.0),
        ("loss", 0.0),
        ("loss", float("nan")),
        ("flops", float("inf")),
        ("n_tokens", -float("inf")),
    ],
)
def test_check_constraints_refuse_non_positive_and_non_finite_values(store, column, value):
    """Each table that holds runs refuses the value: PostgreSQL's runs; DuckDB's runs_full and
    runs_lean (its runs view is their union; engine.data.store.RUNS_TABLES)."""
    con = store.cursor()
    inserts = [
        f"INSERT INTO {'runs' if store.dialect == 'postgresql' else 'runs_full'} "
        f"(run_id, upload_id, source, {column}) VALUES (?, 'u', 's', ?)"
    ]
    if store.dialect == "duckdb":
        inserts.append(
            f"INSERT INTO runs_lean (upload_id, \"row\", convention, {column}) VALUES ('u', ?, 0, ?)"
        )
    for i, insert in enumerate(inserts):
        with pytest.raises(REFUSED):
            con.execute(insert, ["x" if i == 0 else 1, value])
        con.execute(insert, ["ok" if i == 0 else 2, 2.5])
    assert con.execute("SELECT count(*) FROM runs WHERE upload_id = 'u'").fetchone() == (len(inserts),)


def test_a_postgresql_url_in_the_environment_selects_the_server(monkeypatch, pg_url):
    monkeypatch.setenv(DB_ENV_VAR, pg_url)
    assert default_db_location() == pg_url
    with open_store(load_published_data=False) as s:
        assert (s.dialect, s.path, s.location) == ("postgresql", None, pg_url)
        assert run_counts(s.cursor()) == {}
    assert (
        pg.redact("postgresql://ana:secret@db.example:5432/flopwise")
        == "postgresql://ana:***@db.example:5432/flopwise"
    )


def test_database_path_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    assert default_db_path() == DEFAULT_DB_PATH
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "mine.duckdb"))
    assert default_db_path() == tmp_path / "mine.duckdb"
    with open_store() as s:
        assert s.path == tmp_path / "mine.duckdb"
    assert (tmp_path / "mine.duckdb").exists()


def test_query_runs_filters_and_requires(store):
    con = store.cursor()
    models = query_runs(con, ["epoch2025"], require=("flops", "n_params"))
    assert len(models) > 300 and models["flops"].notna().all() and models["n_params"].notna().all()
    assert query_runs(con, []).empty
    with pytest.raises(ValueError, match="unknown run column"):
        query_runs(con, require=("1; DROP TABLE runs",))
