"""Hostile input never crashes the ingest, never stores an invalid row, always gives a reason."""

from __future__ import annotations

import csv
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest import IngestError, read_upload
from engine.store import open_store, query_runs, store_upload

HOSTILE_NAMES = [
    "params", "tokens", "loss", "flops", "'; DROP TABLE runs; --", '" OR 1=1 --', "=HYPERLINK(\"x\")",
    "+cmd|' /C calc'!A0", "@SUM(1)", "ﾊﾟﾗﾒｰﾀ", "loss\x00", "params\n", "Ｌｏｓｓ", "", " ", "N", "D", "C",
]
cells = st.one_of(
    st.sampled_from(["", "nan", "inf", "-inf", "1e9", "70M", "1.3B", "-5", "0", "3.2", "abc", "=1+1", "1,000",
                     "1e400", "2.5e-400", "   ", "NULL", "True"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", errors="surrogatepass")


def check(data: bytes, store) -> None:
    """The ingest either refuses the file with IngestError or accounts for every row."""
    try:
        report = read_upload(data, "fuzz.csv")
    except IngestError as exc:
        assert str(exc)
        return
    assert report.n_accepted + len(report.errors) == report.n_rows
    assert all(e.reason and e.column is not None and 1 <= e.row <= report.n_rows for e in report.errors)
    accepted = report.accepted
    for column in ("n_params", "n_tokens", "flops", "loss"):
        assert ((accepted[column] > 0) & accepted[column].map(math.isfinite)).all()
    if report.n_accepted:
        con = store.cursor()
        stored = store_upload(con, report, data)
        rows = query_runs(con, ["user"])
        mine = rows[rows.upload_id == stored.upload_id]
        assert len(mine) == stored.n_accepted
        assert (mine[["n_params", "n_tokens", "flops", "loss"]] > 0).all().all()


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    with open_store(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb", load_published_data=False) as s:
        yield s


@given(data=st.binary(max_size=2000))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes(data, fuzz_store):
    check(data, fuzz_store)


@given(
    header=st.lists(st.sampled_from(HOSTILE_NAMES) | st.text(max_size=15), min_size=1, max_size=8),
    rows=st.lists(st.lists(cells, min_size=0, max_size=9), max_size=25),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_cells_and_hostile_column_names(header, rows, fuzz_store):
    check(to_csv(header, rows), fuzz_store)


@given(rows=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_recognised_columns_with_garbage_values(rows, fuzz_store):
    check(to_csv(["Model Size", "train_tokens", "val_loss"], [list(r) for r in rows]), fuzz_store)


def test_thousands_of_columns(fuzz_store):
    header = [f"=col{i}" for i in range(3000)] + ["params", "tokens", "loss"]
    row = ["x"] * 3000 + ["1e9", "2e10", "2.5"]
    report = read_upload(to_csv(header, [row, row[:-1] + ["2.6"]]), "wide.csv")
    assert report.n_accepted == 2 and len(report.unmapped_columns) == 3000
    check(to_csv(header, [row]), fuzz_store)
