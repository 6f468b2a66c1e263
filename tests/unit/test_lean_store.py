"""Large uploads kept lean (issue 12 point 7): on DuckDB a plain sweep's runs go to runs_lean, any
other upload's to runs_full, and the runs view reads both as the same 27 columns; run ids are
unique by construction (no primary key); nothing the checks refuse is stored, whichever table; a
large file's bytes are kept packed and given back exactly; a version-4 file is migrated. Each test
on a DuckDB file and, where the backend matters, on a real PostgreSQL server (conftest.store_url)."""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pytest

from engine.data import pg
from engine.data.ingest import IngestError, read_upload
from engine.data.runs import RunFilter
from engine.data.schema import RUN_COLUMNS
from engine.data.store import (
    PACK_ABOVE,
    RUN_COLUMNS_DDL,
    SCHEMA_VERSION,
    list_uploads,
    migrate,
    open_store,
    query_runs,
    sample_runs,
    store_upload,
    upload_bytes,
)

PLAIN = b"params,tokens,loss\n70M,1.4B,3.5\nbad,1,2\n1.3B,26B,2.9\n"
# The same two runs with a note: a column beyond runs_lean's, so on DuckDB runs_full keeps them.
NOTED = b"params,tokens,loss,notes\n70M,1.4B,3.5,a\nbad,1,2,b\n1.3B,26B,2.9,c\n"


@pytest.fixture
def store(store_url):
    with open_store(store_url, load_published_data=False) as s:
        yield s


def user_runs(con, upload_id: str) -> pd.DataFrame:
    runs = query_runs(con, ["user"])
    return runs[runs.upload_id == upload_id].reset_index(drop=True)


def table_of(store, upload_id: str) -> str:
    """Which table holds the upload's runs ('runs' on PostgreSQL)."""
    if store.dialect == "postgresql":
        return "runs"
    con = store.cursor()
    (lean,) = con.execute("SELECT count(*) FROM runs_lean WHERE upload_id = ?", [upload_id]).fetchone()
    (full,) = con.execute("SELECT count(*) FROM runs_full WHERE upload_id = ?", [upload_id]).fetchone()
    assert not (lean and full), "an upload lives in one table"
    return "runs_lean" if lean else "runs_full"


def test_a_plain_sweep_and_a_noted_one_read_back_alike_from_either_table(store):
    con = store.cursor()
    plain = store_upload(con, read_upload(PLAIN, "plain.csv"), PLAIN)
    noted = store_upload(con, read_upload(NOTED, "noted.csv"), NOTED)
    if store.dialect == "duckdb":
        assert (table_of(store, plain.upload_id), table_of(store, noted.upload_id)) == (
            "runs_lean",
            "runs_full",
        )
    a, b = user_runs(con, plain.upload_id), user_runs(con, noted.upload_id)
    assert list(a.columns) == list(RUN_COLUMNS) and (a.dtypes == b.dtypes).all()
    # rows 1 and 3 of the file (row 2 is refused); C = 6 N D by hand: 6 * 7e7 * 1.4e9 = 5.88e17
    assert a["run_id"].tolist() == [f"{plain.upload_id}:0000001", f"{plain.upload_id}:0000003"]
    assert a["n_params"].tolist() == [7e7, 1.3e9] and a["n_tokens"].tolist() == [1.4e9, 2.6e10]
    assert a["flops"].tolist() == pytest.approx([5.88e17, 6 * 1.3e9 * 2.6e10], rel=1e-15)
    assert a["loss"].tolist() == [3.5, 2.9] and a["source"].eq("user").all()
    assert a["derived_field"].eq("flops").all() and a["n_params_convention"].eq("total").all()
    for column in ("unique_tokens", "n_experts", "frontier", "notes", "learning_rate", "batch_size_unit"):
        assert a[column].isna().all(), column
    same = [c for c in RUN_COLUMNS if c not in ("run_id", "upload_id", "notes")]
    pd.testing.assert_frame_equal(a[same], b[same])
    assert b["notes"].tolist() == ["a", "c"] and b["run_id"].str.endswith((":0000001", ":0000003")).all()


def test_a_filter_a_sample_and_a_delete_see_both_tables(store):
    con = store.cursor()
    plain = store_upload(con, read_upload(PLAIN, "plain.csv"), PLAIN)
    noted = store_upload(con, read_upload(NOTED, "noted.csv"), NOTED)
    sample = sample_runs(con, RunFilter(sources=("user",)), 10)
    assert sorted(sample["upload_id"]) == sorted([plain.upload_id] * 2 + [noted.upload_id] * 2)
    only = sample_runs(con, RunFilter(sources=("user",), user_uploads=(plain.upload_id,)), 10)
    assert set(only["upload_id"]) == {plain.upload_id} and len(only) == 2
    big = sample_runs(con, RunFilter(n_params_range=(1e9, 1e10)), 10)
    assert sorted(big["n_params"]) == [1.3e9, 1.3e9]
    from engine.data.store import delete_upload

    assert delete_upload(con, plain.upload_id) == 2
    assert set(query_runs(con, ["user"])["upload_id"]) == {noted.upload_id}


def test_run_ids_come_from_the_row_numbers_however_many_digits(store):
    con = store.cursor()
    for data in (PLAIN, NOTED):  # one upload per table on DuckDB
        report = read_upload(data, "rows.csv")
        report.accepted["row"] = np.array([9_999_999, 10_000_000])  # an 8-digit row is not cut to 7
        stored = store_upload(con, report, data)
        ids = user_runs(con, stored.upload_id)["run_id"].tolist()
        assert sorted(ids) == sorted([f"{stored.upload_id}:9999999", f"{stored.upload_id}:10000000"])
    assert query_runs(con, ["user"])["run_id"].is_unique


@pytest.mark.parametrize("data", [PLAIN, NOTED], ids=["plain", "noted"])
def test_rows_that_would_repeat_a_run_id_are_refused_and_nothing_stored(store, data):
    report = read_upload(data, "twice.csv")
    report.accepted["row"] = np.array([3, 3])  # two runs would share upload_id:0000003
    with pytest.raises(IngestError, match=r"row numbers are not 1, 2, \.\.\. in order"):
        store_upload(store.cursor(), report, data)
    assert list_uploads(store.cursor()).empty and query_runs(store.cursor(), ["user"]).empty


@pytest.mark.parametrize("data", [PLAIN, NOTED], ids=["plain", "noted"])
@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("loss", -1.0, "refused a row"),
        ("n_tokens", np.inf, "refused a row"),
        ("flops", 0.0, "refused a row"),
        ("n_params_convention", "per-layer", "is not one of total, non_embedding, active"),
        ("derived_field", "loss", "is not one of n_params, n_tokens, flops"),
    ],
)
def test_a_tampered_report_stores_nothing_whichever_table_it_would_go_to(store, data, column, value, says):
    """The validation refuses such rows; a report changed after it still cannot get them in: the
    store's checks (or, for runs_lean's coded labels, store_upload) refuse the upload, at once."""
    report = read_upload(data, "tampered.csv")
    accepted = report.accepted.astype({column: object})
    accepted.loc[1, column] = value
    report.accepted = accepted
    if store.dialect == "postgresql" or data is NOTED:
        says = "refused a row"  # the table's CHECK sees the word itself
    with pytest.raises(IngestError, match=says):
        store_upload(store.cursor(), report, data)
    assert list_uploads(store.cursor()).empty and query_runs(store.cursor(), ["user"]).empty


def test_a_large_file_is_kept_packed_and_given_back_exactly(store):
    rng = np.random.default_rng(3)
    n = rng.uniform(1e7, 1e10, 40_000)
    frame = pd.DataFrame({"params": n, "tokens": 20 * n, "loss": rng.uniform(2, 4, len(n))})
    data = frame.to_csv(index=False).encode()
    assert len(data) > PACK_ABOVE
    con = store.cursor()
    stored = store_upload(con, read_upload(data, "big.csv"), data)
    kept, codec, size = con.execute(
        "SELECT original_bytes, original_codec, original_size FROM uploads WHERE upload_id = ?",
        [stored.upload_id],
    ).fetchone()
    assert codec == "zstd" and size == len(data) and len(kept) < len(data)
    back = upload_bytes(con, stored.upload_id)
    assert back == data and hashlib.sha256(back).hexdigest().startswith(stored.upload_id[2:])
    small = store_upload(con, read_upload(PLAIN, "small.csv"), PLAIN)  # below PACK_ABOVE: as received
    assert con.execute(
        "SELECT original_bytes, original_codec, original_size FROM uploads WHERE upload_id = ?",
        [small.upload_id],
    ).fetchone() == (PLAIN, None, len(PLAIN))


# The store as version 4 left it: one runs table with a primary key, uploads without the packing.
V4_DDL = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO meta VALUES ('schema_version', '4');
CREATE TABLE uploads (
    upload_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL, n_accepted INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL, column_mapping VARCHAR, original_bytes BLOB);
INSERT INTO uploads VALUES
    ('u-old', 'user', 'user', 'old.csv', 'abc', TIMESTAMP '2025-01-01', 2, 0, NULL, 'a,b');
CREATE TABLE runs (run_id VARCHAR PRIMARY KEY,{RUN_COLUMNS_DDL});
INSERT INTO runs (run_id, upload_id, source, n_params, n_tokens, loss, learning_rate) VALUES
    ('u-old:0000001', 'u-old', 'user', 1e9, 2e10, 2.5, 3e-4),
    ('odd id', 'u-old', 'user', 2e9, 4e10, 2.4, NULL);
"""


def test_a_version_4_store_is_migrated_keeping_every_run(store_url, request, tmp_path):
    location = request.getfixturevalue("pg_url") if pg.is_url(store_url) else tmp_path / "v4.duckdb"
    con = pg.connect(location, wait_s=10) if pg.is_url(location) else duckdb.connect(str(location))
    con.execute(pg.ddl(V4_DDL) if pg.is_url(location) else V4_DDL)
    assert migrate(con) == 4
    con.close()
    with open_store(location, load_published_data=False) as s:
        con = s.cursor()
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        runs = query_runs(con, ["user"])
        assert runs["run_id"].tolist() == ["odd id", "u-old:0000001"]  # ids as they were, in order
        assert runs["learning_rate"].tolist()[1] == 3e-4 and np.isnan(runs["learning_rate"].tolist()[0])
        assert upload_bytes(con, "u-old") == b"a,b"  # bytes stored before v5, as received
        stored = store_upload(con, read_upload(PLAIN, "new.csv"), PLAIN)
        if s.dialect == "duckdb":
            assert table_of(s, "u-old") == "runs_full" and table_of(s, stored.upload_id) == "runs_lean"
        assert len(query_runs(con, ["user"])) == 4
    with open_store(location, load_published_data=False) as s:  # a second open migrates nothing
        assert len(query_runs(s.cursor(), ["user"])) == 4
