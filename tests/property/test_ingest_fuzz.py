"""Hostile input never crashes the ingest, never stores an invalid row, always gives a reason."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from engine.data.ingest import IngestError, guess_mapping, parse_quantities, read_table, read_upload, validate
from engine.data.store import open_store, query_runs, store_upload
from tests.strategies import (
    decimal_commas,
    delimiters,
    encodings,
    garbage_rows,
    hostile_headers,
    quantity_cells,
    ragged_delimiters,
    random_bytes,
    row_widths,
    three_cell_rows,
    valid_runs,
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
    rows = sorted([*report.accepted["row"], *(e.row for e in report.errors)])
    assert rows == list(range(1, report.n_rows + 1))  # every row once: accepted or named
    # the Runs page's path (read_table, guess_mapping, validate) gives the same report
    table = read_table(data, "fuzz.csv")
    same = validate(table, "fuzz.csv", data, guess_mapping(list(table.columns)))
    assert same.errors == report.errors and same.accepted.equals(report.accepted)
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


@given(data=random_bytes)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes(data, fuzz_store):
    check(data, fuzz_store)


@given(header=hostile_headers, rows=garbage_rows)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_cells_and_hostile_column_names(header, rows, fuzz_store):
    check(to_csv(header, rows), fuzz_store)


@given(rows=three_cell_rows)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_recognised_columns_with_garbage_values(rows, fuzz_store):
    check(to_csv(["Model Size", "train_tokens", "val_loss"], [list(r) for r in rows]), fuzz_store)


@pytest.mark.slow
def test_thousands_of_columns(fuzz_store):
    header = [f"=col{i}" for i in range(3000)] + ["params", "tokens", "loss"]
    row = ["x"] * 3000 + ["1e9", "2e10", "2.5"]
    report = read_upload(to_csv(header, [row, [*row[:-1], "2.6"]]), "wide.csv")
    assert report.n_accepted == 2 and len(report.unmapped_columns) == 3000
    check(to_csv(header, [row]), fuzz_store)


# --- dialects ------------------------------------------------------------------------------


@given(runs=valid_runs, delimiter=delimiters, decimal_comma=decimal_commas, encoding=encodings)
@settings(max_examples=150, deadline=None)
def test_dialects_read_back_the_values_written(runs, delimiter, decimal_comma, encoding):
    decimal_comma = decimal_comma and delimiter != ","
    runs = [(n, d * 10, loss) for n, d, loss in runs]  # D within the plausible range

    def cell(x: float) -> str:
        return repr(x).replace(".", ",") if decimal_comma else repr(x)

    lines = [delimiter.join(["params", "tokens", "loss"])] + [delimiter.join(map(cell, run)) for run in runs]
    text = "\n".join(lines) + "\n"
    data = ("\ufeff" + text).encode("utf-16-be") if encoding == "utf-16-be" else text.encode(encoding)
    report = read_upload(data, "dialect.csv")
    assert report.n_accepted == len(runs), report.errors
    got = report.accepted[["n_params", "n_tokens", "loss"]].to_numpy()
    assert np.array_equal(got, np.array(runs))


@given(widths=row_widths, delimiter=ragged_delimiters)
@settings(max_examples=150, deadline=None)
def test_ragged_rows_are_named_and_every_good_row_kept(widths, delimiter):
    header = ["N", "D", "loss", "notes"]
    lines = [delimiter.join(header)]
    for i, width in enumerate(widths, start=1):
        lines.append(
            delimiter.join(["1e9", "2e10", f"{2 + i / 100:.2f}", f'"note {i}, here"', "x", "y", "z"][:width])
        )
    data = ("\n".join(lines) + "\n").encode()
    report = read_upload(data, "ragged.csv")
    good = [i for i, w in enumerate(widths, start=1) if w == 4]
    assert report.n_rows == len(widths) and report.accepted["row"].tolist() == good
    assert report.accepted["loss"].tolist() == pytest.approx([2 + i / 100 for i in good])
    bad = {e.row: e.reason for e in report.errors}
    assert bad == {
        i: f"row has {w} field{'s' if w > 1 else ''}; the header has 4"
        for i, w in enumerate(widths, start=1)
        if w != 4
    }


# The pattern the vectorised parser must agree with: pandas' to_numeric, then the suffix regex.
_REFERENCE = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?\.\d+(?:e[+-]?\d+)?)"
    r"\s*(?P<suffix>[kmbgtp]?)\s*$",
    re.IGNORECASE,
)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_SPECIAL = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}


def reference_quantity(cell: str) -> tuple[float, bool]:
    text = cell.strip()
    if not text:
        return math.nan, False
    if text.lower() in _SPECIAL:
        return _SPECIAL[text.lower()], False
    match = _REFERENCE.match(text)
    if not match:
        return math.nan, True
    return float(match["num"].replace(",", "")) * _SCALE[match["suffix"].lower()], False


@given(cells=quantity_cells)
@settings(max_examples=200, deadline=None)
def test_the_vectorised_number_parser_agrees_with_the_reference(cells):
    got, bad = parse_quantities(pd.Series(cells, dtype=object))
    for cell, value, is_bad in zip(cells, got, bad):
        want, want_bad = reference_quantity(cell)
        assert is_bad == want_bad, cell
        assert (math.isnan(want) and math.isnan(value)) or value == pytest.approx(want, rel=1e-15), cell
