"""Reading sweep files: column recognition, suffixes, derivation, row-level reasons."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from engine.ingest import IngestError, guess_mapping, parse_quantities, read_upload


def csv_bytes(text: str) -> bytes:
    return text.strip().encode() + b"\n"


@pytest.mark.parametrize(
    ("column", "field"),
    [("N", "n_params"), ("params", "n_params"), ("num_params", "n_params"), ("Model Size", "n_params"),
     ("model_size", "n_params"), ("PARAMETERS", "n_params"), ("D", "n_tokens"), ("train_tokens", "n_tokens"),
     ("Training tokens", "n_tokens"), ("C", "flops"), ("Training FLOP", "flops"), ("compute", "flops"),
     ("val_loss", "loss"), ("eval loss", "loss"), ("final_loss", "loss"), ("Validation Loss", "loss"),
     ("unique_tokens", "unique_tokens"), ("precision", "precision"), ("num_experts", "n_experts")],
)
def test_published_and_common_names_are_recognised(column, field):
    assert guess_mapping([column]) == {field: column}


def test_suffixes_and_separators():
    values, bad = parse_quantities(pd.Series(["70M", "1.3B", "1.4T", "2e9", "1,000,000", " 5k ", "3.5", "", "1.2.3", "7X"]))
    assert values[:7].tolist() == pytest.approx([70e6, 1.3e9, 1.4e12, 2e9, 1e6, 5e3, 3.5])
    assert np.isnan(values[7]) and not bad[7]  # empty is missing, not "not a number"
    assert bad[8] and bad[9]


def test_two_of_three_suffice_and_the_derived_one_is_marked():
    report = read_upload(csv_bytes("""
params,tokens,flops,loss
1e9,2e10,,2.5
1e9,,1.2e20,2.6
,2e10,1.2e20,2.7
"""), "s.csv")
    rows = report.accepted.set_index("row")
    assert rows.loc[1, "flops"] == pytest.approx(1.2e20) and rows.loc[1, "derived_field"] == "flops"
    assert rows.loc[2, "n_tokens"] == pytest.approx(2e10) and rows.loc[2, "derived_field"] == "n_tokens"
    assert rows.loc[3, "n_params"] == pytest.approx(1e9) and rows.loc[3, "derived_field"] == "n_params"


def test_each_rejection_names_row_column_and_reason():
    report = read_upload(csv_bytes("""
Model Size,Training tokens,val_loss
70M,1.4B,3.5
abc,1e9,3.0
-5,1e9,3.0
1e9,,2.5
1e9,2e10,inf
1e9,2e10,45
70M,1.4B,3.5
100,1e9,3.0
"""), "s.csv")
    reasons = {e.row: (e.column, e.reason) for e in report.errors}
    assert report.n_accepted == 1 and report.n_rejected == 7
    assert reasons[2] == ("Model Size", "not a number: 'abc'")
    assert reasons[3][0] == "Model Size" and reasons[3][1].startswith("not positive")
    assert "needs two of parameters, tokens and compute" in reasons[4][1]
    assert reasons[5] == ("val_loss", "not finite")
    assert reasons[6][0] == "val_loss" and "plausible range" in reasons[6][1]
    assert reasons[7] == ("val_loss", "duplicate of row 1")
    assert "in millions or billions" in reasons[8][1]  # a unit mix-up named as such


def test_semicolon_files_and_a_byte_order_mark():
    report = read_upload("\ufeffN;D;loss\n1e9;2e10;2.5\n".encode(), "eu.csv")
    assert report.n_accepted == 1


def test_parquet_is_read(tmp_path):
    frame = pd.DataFrame({"n_params": [1e9, 2e9], "n_tokens": [2e10, 4e10], "loss": [2.5, 2.4]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    assert read_upload(buffer.getvalue(), "s.parquet").n_accepted == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02garbage", "binary"),
        (b"a,b,c\n1,2,3\n", "needs a loss column"),
        (b"params,tokens,loss\n", "no rows"),
        (b"PAR1 not really parquet", "cannot read as Parquet"),
    ],
)
def test_unusable_files_get_a_clear_message(data, message):
    with pytest.raises(IngestError, match=message):
        read_upload(data, "f.csv")


def test_a_user_mapping_overrides_the_guess():
    data = csv_bytes("size,toks,metric\n1e9,2e10,2.5\n")
    with pytest.raises(IngestError):
        read_upload(data, "f.csv")
    report = read_upload(data, "f.csv", {"n_params": "size", "n_tokens": "toks", "loss": "metric"})
    assert report.n_accepted == 1
