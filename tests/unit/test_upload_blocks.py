"""A large upload checked and stored a block at a time (engine.data.blocks, issue 12 point 7) gives
the same report and the same stored rows as the whole-file path (read_upload + store_upload) on the
same bytes: blocks are made small here (monkeypatched BLOCK_BYTES) so that a few thousand rows span
many blocks, with duplicates within a block and across blocks, bad values, and a column whose type
changes in a late block."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import blocks
from engine.data.ingest import IngestError, read_upload
from engine.data.store import open_store, store_upload, store_upload_blocks, upload_bytes


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 8192)  # about 150 rows a block


def sweep(rows: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "model_name": [f"run-{i}" for i in range(rows)],
            "params": np.round(10 ** rng.uniform(7, 11, rows)).astype(np.int64).astype(object),
            "tokens": np.round(10 ** rng.uniform(9, 12, rows)).astype(np.int64),
            "loss": np.round(rng.uniform(2.0, 4.0, rows), 4),
        }
    )


def awkward() -> bytes:
    """Row numbers below are the file's (1-based data rows): 12 repeats 11 (same block), 2501 repeats
    11 (a later block), 1201 has a negative loss, 2801 a parameter count written '70M' (the column was
    read as integers until then)."""
    frame = sweep()
    frame.loc[11] = frame.loc[10]
    frame.loc[2500] = frame.loc[10]
    frame.loc[1200, "loss"] = -1.0
    frame.loc[2800, "params"] = "70M"
    return frame.to_csv(index=False).encode()


def test_the_scan_reports_what_the_whole_file_path_reports():
    data = awkward()
    whole = read_upload(data, "s.csv")
    scanned, types = blocks.scan_upload(data, "s.csv")
    assert (scanned.n_rows, scanned.n_accepted, scanned.n_rejected) == (3000, 2997, 3)
    assert scanned.errors == whole.errors
    assert [(e.row, e.reason) for e in scanned.errors] == [
        (12, "duplicate of row 11"),
        (1201, "not positive: -1"),
        (2501, "duplicate of row 11"),
    ]
    assert scanned.sha256 == whole.sha256 and scanned.mapping == whole.mapping
    assert scanned.accepted.empty and "params" in types  # widened when '70M' came


RUNS = (
    "SELECT run_id, upload_id, source, model_name, n_params, n_params_convention, n_tokens, flops, "
    "derived_field, loss FROM runs WHERE source = 'user' ORDER BY run_id"
)


def test_both_paths_store_the_same_rows_and_record(store_url, tmp_path):
    """On DuckDB the blocks are stored as they are read; on PostgreSQL store_upload_blocks keeps the
    whole-file path. Either way the same runs as read_upload + store_upload into a DuckDB file."""
    data = awkward()
    with (
        open_store(tmp_path / "whole.duckdb", load_published_data=False) as a,
        open_store(store_url, load_published_data=False) as b,
    ):
        whole = store_upload(a.cursor(), read_upload(data, "s.csv"), data)
        stored, report = store_upload_blocks(b.cursor(), data, "s.csv")
        assert stored == whole and report is not None and report.n_accepted == 2997
        expected, got = a.cursor().execute(RUNS).fetchall(), b.cursor().execute(RUNS).fetchall()
        assert len(got) == 2997 and got == expected
        record = "SELECT upload_id, file_name, sha256, n_accepted, n_rejected, column_mapping FROM uploads"
        assert b.cursor().execute(record).fetchall() == a.cursor().execute(record).fetchall()
        assert upload_bytes(b.cursor(), stored.upload_id) == data
        again, none = store_upload_blocks(b.cursor(), data, "s.csv")  # the same bytes: nothing added
        assert not again.added and (none is None or b.dialect == "postgresql")


def test_a_refused_upload_stores_nothing(tmp_path):
    frame = sweep(600)
    frame["loss"] = -1.0  # every row rejected
    data = frame.to_csv(index=False).encode()
    with open_store(tmp_path / "s.duckdb", load_published_data=False) as s:
        with pytest.raises(IngestError, match="no usable rows"):
            store_upload_blocks(s.cursor(), data, "bad.csv")
        con = s.cursor()
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0


def test_ragged_rows_and_small_files_take_the_whole_file_path(monkeypatch):
    text = "params,tokens,loss\n" + "1e9,2e10,2.5\n" * 5 + "1e9,2e10\n"
    with pytest.raises(blocks.NotBlockwise):
        blocks.scan_upload(text.encode(), "r.csv")
    assert not blocks.blockwise(awkward(), "s.csv")  # below BLOCKWISE_ABOVE
    monkeypatch.setattr(blocks, "BLOCKWISE_ABOVE", 1)
    assert blocks.blockwise(awkward(), "s.csv")
    assert not blocks.blockwise(b"params,tokens,loss,bs\n1e9,2e10,2.5,64\n", "h.csv")
    assert blocks.blockwise(b"params,tokens,loss,bs\n1e9,2e10,2.5,64\n", "h.csv", batch_size_unit="tokens")


def test_a_ragged_file_given_to_the_block_path_is_stored_whole(tmp_path):
    text = "params,tokens,loss\n" + "1e9,2e10,2.5\n1e9,3e10,2.4\n1e9,2e10\n"
    data = text.encode()
    with open_store(tmp_path / "s.duckdb", load_published_data=False) as s:
        stored, report = store_upload_blocks(s.cursor(), data, "r.csv")
        assert (stored.n_accepted, stored.n_rejected) == (2, 1)
        assert report is not None and report.errors[0].row == 3 and "fields" in report.errors[0].reason
