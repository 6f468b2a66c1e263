"""The dialects people's sweep files come in: Excel's UTF-16 "Unicode text", byte-order marks,
European decimal commas, Latin-1, and ragged rows (the good rows kept, each bad one named)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import ingest
from engine.data.ingest import IngestError, read_info, read_table, read_upload, validate


def values(report, column):
    return report.accepted.set_index("row")[column]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_utf16_tab_separated_with_decimal_commas(encoding):
    text = "Model Size\tTraining tokens\tval_loss\tnotes\n1,5E+09\t3,0E+10\t2,5\tgröße\n70M\t1,4B\t3,25\tok\n"
    data = text.encode(encoding)
    if encoding != "utf-16":  # Python's "utf-16" writes the machine's mark; these need one added
        data = ("\ufeff" + text).encode(encoding)
    report = read_upload(data, "unicode.txt")
    assert report.n_accepted == 2 and not report.errors
    assert values(report, "n_params").tolist() == pytest.approx([1.5e9, 70e6])
    assert values(report, "n_tokens").tolist() == pytest.approx([3e10, 1.4e9])
    assert values(report, "loss").tolist() == pytest.approx([2.5, 3.25])
    assert values(report, "notes").tolist() == ["größe", "ok"]
    assert report.dialect.startswith("UTF-16") and "tab-separated" in report.dialect
    assert "decimal comma" in report.dialect


def test_utf16_without_a_mark_is_recognised():
    report = read_upload("N,D,loss\n1e9,2e10,2.5\n".encode("utf-16-le"), "nomark.csv")
    assert report.n_accepted == 1 and report.dialect.startswith("UTF-16 LE")


def test_utf8_with_a_byte_order_mark():
    report = read_upload("\ufeffparams,tokens,loss\n1e9,2e10,2.5\n".encode(), "bom.csv")
    assert report.mapping["n_params"] == "params"  # the mark is not part of the first name
    assert report.n_accepted == 1


def test_semicolons_with_decimal_commas_and_thousands_points():
    data = b"params;tokens;loss\n1.000.000.000;20.000.000.000;2,5\n70M;1,4B;3,25\n2.500;1.000.000;4\n"
    report = read_upload(data, "eu.csv")
    assert report.n_accepted == 3 and not report.errors
    # 2.500 parameters is 2,500 (a thousands group), not 2.5
    assert values(report, "n_params").tolist() == pytest.approx([1e9, 70e6, 2500])
    assert values(report, "n_tokens").tolist() == pytest.approx([2e10, 1.4e9, 1e6])
    assert values(report, "loss").tolist() == pytest.approx([2.5, 3.25, 4])


def test_semicolons_with_decimal_points_are_not_decimal_commas():
    report = read_upload(b"N;D;loss\n1.5e9;2e10;2.5\n1e9;2.5e10;2.75\n", "semi.csv")
    assert values(report, "loss").tolist() == pytest.approx([2.5, 2.75])
    assert "decimal point" in report.dialect


def test_a_comma_file_never_has_decimal_commas():
    report = read_upload(b'N,D,loss\n"1,000,000,000",2e10,2.5\n', "us.csv")
    assert values(report, "n_params").tolist() == pytest.approx([1e9])


def test_the_decimal_mark_can_be_stated():
    data = b"N;D;loss\n1,000;2e10;3\n"  # 1,000 could be 1.0 or 1000: read as a decimal comma
    assert (
        read_upload(data, "x.csv")
        .errors[0]
        .reason.endswith("implausible (in millions or billions? write 70M or 1.3B): 1")
    )
    report = read_upload(data, "x.csv", decimal=".")
    assert values(report, "n_params").tolist() == [1000] and "decimal point" in report.dialect
    with pytest.raises(IngestError, match="decimal mark"):
        read_upload(data, "x.csv", decimal=";")


def test_latin1_text():
    report = read_upload("model;N;D;loss\nMünchen;1e9;2e10;2,5\n".encode("latin-1"), "latin.csv")
    assert values(report, "model_name").tolist() == ["München"]
    assert values(report, "loss").tolist() == pytest.approx([2.5])
    assert report.dialect.startswith("Latin-1")


RAGGED = b"""params,tokens,loss,model,notes
1e9,2e10,2.5,a,x
1e9,2e10,2.6,b,x,extra,more
1e9,2e10,2.7,c,"quoted, with the delimiter"

2e9,4e10,2.4,d
"4e9",8e10,2.3,"e","line
break"
8e9,1.6e11,2.2,f,x
"""


def test_ragged_rows_are_named_and_the_good_rows_kept_with_their_numbers():
    report = read_upload(RAGGED, "ragged.csv")
    assert report.n_rows == 6 and report.n_accepted == 4 and report.n_rejected == 2
    assert values(report, "loss").to_dict() == {1: 2.5, 3: 2.7, 5: 2.3, 6: 2.2}
    assert (
        values(report, "notes")[3] == "quoted, with the delimiter"
        and values(report, "notes")[5] == "line\nbreak"
    )
    errors = {e.row: e for e in report.errors}
    assert errors[2].reason == "row has 7 fields; the header has 5" and errors[2].column == "(whole row)"
    assert errors[4].reason == "row has 4 fields; the header has 5" and errors[4].column == "notes"


def test_ragged_rows_reach_the_report_through_the_runs_page_path():
    table = read_table(RAGGED, "ragged.csv")  # as app_pages/runs.py calls it
    assert len(table) == 4 and [e.row for e in read_info(table).row_errors] == [2, 4]
    mapping = ingest.guess_mapping(list(table.columns))
    report = validate(table, "ragged.csv", RAGGED, mapping)
    assert report.n_rows == 6 and report.n_rejected == 2
    assert [e.row for e in report.errors] == [2, 4]
    assert report.accepted["row"].tolist() == [1, 3, 5, 6]


def test_row_numbers_after_a_ragged_row_also_name_later_rejections():
    data = b"N,D,loss\n1e9,2e10\n1e9,2e10,abc\n1e9,2e10,2.5\n"
    report = read_upload(data, "r.csv")
    assert [(e.row, e.column) for e in report.errors] == [(1, "loss"), (2, "loss")]
    assert report.errors[1].reason == "not a number: 'abc'"
    assert report.accepted["row"].tolist() == [3]


def test_a_file_of_only_ragged_rows_is_a_report_not_an_exception():
    report = read_upload(b"N,D,loss\n1,2\n3,4,5,6\n", "all-bad.csv")
    assert report.n_rows == 2 and report.n_accepted == 0 and len(report.errors) == 2


def test_blank_lines_are_not_rows():
    report = read_upload(b"N,D,loss\n\n1e9,2e10,2.5\n   \n\n2e9,2e10,2.4\n", "blank.csv")
    assert report.n_rows == 2 and report.accepted["row"].tolist() == [1, 2]


def test_a_header_without_a_line_end():
    with pytest.raises(IngestError, match="header but no rows"):
        read_upload(b"params,tokens,loss", "h.csv")


def test_nan_dates_and_words_in_number_columns_are_named():
    data = b"N,D,loss,notes\n1e9,2e10,nan,2024-01-01\n1e9,2e10,2.5,2024-01-02\n"
    report = read_upload(data, "d.csv")
    assert [(e.row, e.reason) for e in report.errors] == [(1, "not finite")]
    assert values(report, "notes").tolist() == ["2024-01-02"]  # the user's text, not a parsed date


def test_large_files_are_streamed_with_the_same_result(monkeypatch):
    """Above the streaming size, a column typed by its first block that widens later (integers,
    then a decimal, then a suffix) is read again; the result equals the whole-file reader's."""
    n = 120_000
    lines = ["N,D,loss,steps"] + [f"{10**9 + i},{2 * 10**10},{2 + i / n:.6f},{i}" for i in range(n)]
    lines += ["1500000000.5,2e10,2.5,1.5", "70M,2e10,2.5,x"]
    data = ("\n".join(lines) + "\n").encode()
    whole = read_upload(data, "big.csv")
    monkeypatch.setattr(ingest, "_STREAM_ABOVE", 1024)
    streamed = read_upload(data, "big.csv")
    assert streamed.n_accepted == whole.n_accepted == n + 2
    for column in ("n_params", "n_tokens", "loss"):
        assert np.array_equal(streamed.accepted[column].to_numpy(), whole.accepted[column].to_numpy())
    assert streamed.accepted["n_params"].iloc[-1] == 70e6
