"""Reading sweep files: column recognition, suffixes, derivation, row-level reasons."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from engine.data import ingest
from engine.data.ingest import ACCEPTED_COLUMNS, IngestError, guess_mapping, parse_quantities, read_upload


def csv_bytes(text: str) -> bytes:
    return text.strip().encode() + b"\n"


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("N", "n_params"),
        ("params", "n_params"),
        ("num_params", "n_params"),
        ("Model Size", "n_params"),
        ("model_size", "n_params"),
        ("PARAMETERS", "n_params"),
        ("D", "n_tokens"),
        ("train_tokens", "n_tokens"),
        ("Training tokens", "n_tokens"),
        ("C", "flops"),
        ("Training FLOP", "flops"),
        ("compute", "flops"),
        ("val_loss", "loss"),
        ("eval loss", "loss"),
        ("final_loss", "loss"),
        ("Validation Loss", "loss"),
        ("unique_tokens", "unique_tokens"),
        ("precision", "precision"),
        ("num_experts", "n_experts"),
        ("lr", "learning_rate"),
        ("peak_lr", "learning_rate"),
        ("max_lr", "learning_rate"),
        ("bs", "batch_size"),
        ("global_batch_size", "batch_size"),
        ("batch_tokens", "batch_size"),
        ("warmup", "warmup_steps"),
        ("warmup_steps", "warmup_steps"),
        ("schedule", "lr_schedule"),
        ("scheduler", "lr_schedule"),
        ("smooth loss", "loss_smoothed"),
        ("smoothed_loss", "loss_smoothed"),
        ("loss_smooth", "loss_smoothed"),
        ("Na", "n_params_active"),
        ("active_params", "n_params_active"),
        ("activated_params", "n_params_active"),
        ("nume", "n_experts"),
        ("topk", "top_k"),
        ("exp_name", "model_name"),
        ("non_embedding_params", "n_params"),
        ("n_nonembed", "n_params"),
        ("total_params", "n_params"),
    ],
)
def test_published_and_common_names_are_recognised(column, field):
    assert guess_mapping([column]) == {field: column}


def test_suffixes_and_separators():
    values, bad = parse_quantities(
        pd.Series(["70M", "1.3B", "1.4T", "2e9", "1,000,000", " 5k ", "3.5", "", "1.2.3", "7X"])
    )
    assert values[:7].tolist() == pytest.approx([70e6, 1.3e9, 1.4e12, 2e9, 1e6, 5e3, 3.5])
    assert np.isnan(values[7]) and not bad[7]  # empty is missing, not "not a number"
    assert bad[8] and bad[9]


def test_two_of_three_suffice_and_the_derived_one_is_marked():
    report = read_upload(
        csv_bytes("""
params,tokens,flops,loss
1e9,2e10,,2.5
1e9,,1.2e20,2.6
,2e10,1.2e20,2.7
"""),
        "s.csv",
    )
    rows = report.accepted.set_index("row")
    assert rows.loc[1, "flops"] == pytest.approx(1.2e20) and rows.loc[1, "derived_field"] == "flops"
    assert rows.loc[2, "n_tokens"] == pytest.approx(2e10) and rows.loc[2, "derived_field"] == "n_tokens"
    assert rows.loc[3, "n_params"] == pytest.approx(1e9) and rows.loc[3, "derived_field"] == "n_params"


def test_each_rejection_names_row_column_and_reason():
    report = read_upload(
        csv_bytes("""
Model Size,Training tokens,val_loss
70M,1.4B,3.5
abc,1e9,3.0
-5,1e9,3.0
1e9,,2.5
1e9,2e10,inf
1e9,2e10,45
70M,1.4B,3.5
100,1e9,3.0
"""),
        "s.csv",
    )
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


def test_no_alias_names_two_fields_and_single_letters_are_the_published_ones():
    index = ingest._alias_index()  # raises on an alias claimed by two fields
    assert {alias for alias in index if len(alias) == 1} == {"n", "d", "c", "u"}
    for ambiguous in ("k", "e", "g", "m", "b", "h", "nan", "dn", "ti"):
        assert ambiguous not in index


# --- hyperparameters and conventions ---------------------------------------------------------

STEP_LAW_HEADER = "h,ffnh,numh,numl,lr,bs,ti,loss,smooth loss,exp_name,D,N,D/N"
LEARNING_RATES = [4.883e-4 * 2 ** (i / 2) for i in range(10)]
BATCH_SIZES = [64, 128, 256, 512]  # sequences of 2,048 tokens, as in Step Law's sweeps
DIVERGED_LOSS = 7.0


def step_law_dense() -> tuple[bytes, list[dict]]:
    """A Step Law (Li et al. 2025) dense sweep in its published CSV layout: three model shapes
    times two token budgets (six (N, D) cells), each swept over ten learning rates and four
    batch sizes. The loss is a bowl in log lr and log bs, symmetric on the grids (so runs with
    the same N, D and loss but different lr and bs exist), and the two largest learning rates
    diverge at small batch sizes, all to the same loss."""
    rows = []
    for h, numl in [(960, 12), (1280, 16), (2048, 16)]:
        n = 12 * numl * h * h  # non-embedding parameters
        for tokens_per_param in (20, 80):
            d = tokens_per_param * n
            base = 1.8 + 400 / n**0.34 + 410 / d**0.28
            for i, lr in enumerate(LEARNING_RATES):
                for j, bs in enumerate(BATCH_SIZES):
                    diverged = i >= 8 and j <= 1
                    loss = (
                        DIVERGED_LOSS
                        if diverged
                        else round(base + 0.02 * (i - 4) ** 2 + 0.03 * abs(j - 1.5), 4)
                    )
                    rows.append(
                        {
                            "h": h,
                            "ffnh": 4 * h,
                            "numh": h // 64,
                            "numl": numl,
                            "lr": lr,
                            "bs": bs,
                            "ti": d // (bs * 2048),
                            "loss": loss,
                            "smooth loss": round(loss + 0.0123, 4),
                            "exp_name": f"dense_h{h}_l{numl}_d{tokens_per_param}",
                            "D": d,
                            "N": n,
                            "D/N": tokens_per_param,
                        }
                    )
    lines = [STEP_LAW_HEADER] + [",".join(str(r[c]) for c in STEP_LAW_HEADER.split(",")) for r in rows]
    return ("\n".join(lines) + "\n").encode(), rows


def test_a_step_law_sweep_keeps_every_run_and_its_hyperparameters():
    data, rows = step_law_dense()
    report = read_upload(data, "step_law_dense.csv")
    assert report.n_rows == len(rows) == 240
    assert report.n_accepted == 240 and report.errors == []  # no false duplicates
    accepted = report.accepted.set_index("row")
    assert accepted["learning_rate"].tolist() == pytest.approx([r["lr"] for r in rows])
    assert accepted["batch_size"].tolist() == [r["bs"] for r in rows]
    assert accepted["loss_smoothed"].tolist() == pytest.approx([r["smooth loss"] for r in rows])
    assert accepted["n_params"].tolist() == [r["N"] for r in rows]
    assert (accepted["loss"] > 4).sum() == 6 * 2 * 2  # diverged runs are runs too
    assert report.detected_format == "step_law_dense"
    assert report.convention == "non_embedding" and "Step Law" in report.convention_reason
    # the authors' bs counts sequences of 2,048 tokens (their fit_tool.py: bs * seq_len; bs * ti * 2048 = D)
    assert report.batch_size_unit == "sequences" and "2,048 tokens" in report.batch_size_unit_reason
    assert set(accepted["n_params_convention"]) == {"non_embedding"}
    assert set(accepted["batch_size_unit"]) == {"sequences"}
    assert {"h", "ffnh", "numh", "numl", "ti", "D/N"} <= set(report.unmapped_columns)
    # equal N, D and loss with other hyperparameters: the case once rejected as a "duplicate"
    same = accepted.groupby(["n_params", "n_tokens", "loss"]).size()
    assert same.max() > 1


def test_a_step_law_sweep_counts_sequences_whatever_its_batch_sizes():
    data, _ = step_law_dense()
    lines = data.decode().splitlines()
    fields = [line.split(",") for line in lines[1:]]
    large = [lines[0]] + [",".join([*f[:5], str(int(f[5]) * 1000), *f[6:]]) for f in fields]  # above 1e5
    report = read_upload(("\n".join(large) + "\n").encode(), "large_batches.csv")
    assert report.batch_size_unit == "sequences" and "Step Law" in report.batch_size_unit_reason


def test_a_step_law_moe_sweep_maps_active_parameters_and_experts():
    header = "seq_len,topk,nume,moeh,sed,h,ffnh,numh,numl,lr,bs,ti,loss,smooth loss,exp_name,N,Na,D,D/N,Na/N"
    row = "2048,2,16,512,1,1280,5120,20,16,0.00195,262144,3815,2.91,2.92,moe_a,1.2e9,2.1e8,1e10,8.3,0.175"
    report = read_upload(f"{header}\n{row}\n".encode(), "moe.csv")
    assert report.detected_format == "step_law_moe" and report.convention == "non_embedding"
    assert {report.mapping[f] for f in ("n_params_active", "n_experts", "top_k")} == {"Na", "nume", "topk"}
    run = report.accepted.iloc[0]
    assert (run["n_params_active"], run["n_experts"], run["top_k"]) == (2.1e8, 16, 2)
    assert "Na/N" in report.unmapped_columns  # normalises to "nan": not an alias of anything


@pytest.mark.parametrize(
    ("column", "convention", "says"),
    [
        ("non_embedding_params", "non_embedding", "non-embedding"),
        ("n_nonembed", "non_embedding", "non-embedding"),
        ("total_params", "total", "says total"),
        ("params", "total", "assumed"),
    ],
)
def test_the_parameter_convention_is_detected_from_the_header(column, convention, says):
    report = read_upload(f"{column},tokens,loss\n1e9,2e10,2.5\n".encode(), "c.csv")
    assert report.convention == convention and says in report.convention_reason
    assert report.accepted["n_params_convention"].tolist() == [convention]


def test_the_parameter_convention_can_be_stated():
    data = csv_bytes("active_params,tokens,loss\n2e8,2e10,2.5\n")
    report = read_upload(data, "a.csv", {"n_params": "active_params", "n_tokens": "tokens", "loss": "loss"})
    assert report.convention == "active"
    report = read_upload(
        data, "a.csv", {"n_params": "active_params", "n_tokens": "tokens", "loss": "loss"}, convention="total"
    )
    assert report.convention == "total" and report.convention_reason == "as stated for the upload"
    with pytest.raises(IngestError, match="parameter convention"):
        read_upload(data, "a.csv", convention="embedding")


@pytest.mark.parametrize(
    ("column", "sizes", "unit", "says"),
    [
        ("batch_size_tokens", [256, 512], "tokens", "says tokens"),
        ("batch_size", [256, 2048], "sequences", "below 100,000"),
        ("global_batch_size", [524288, 4194304], "tokens", "reach 4,194,304"),
        ("bs", [1e4, 1e5], "tokens", "reach 100,000"),
    ],
)
def test_the_batch_size_unit_is_detected(column, sizes, unit, says):
    lines = [f"N,D,loss,{column}"] + [f"1e9,2e10,{2.5 + i / 10},{bs}" for i, bs in enumerate(sizes)]
    report = read_upload(csv_bytes("\n".join(lines)), "b.csv")
    assert report.batch_size_unit == unit and says in report.batch_size_unit_reason
    assert report.accepted["batch_size_unit"].tolist() == [unit] * len(sizes)


def test_the_batch_size_unit_can_be_stated_and_is_absent_without_a_batch_size():
    data = csv_bytes("N,D,loss,bs\n1e9,2e10,2.5,512\n1e9,2e10,2.6,\n")
    report = read_upload(data, "b.csv", batch_size_unit="tokens")
    assert report.batch_size_unit == "tokens" and report.batch_size_unit_reason == "as stated for the upload"
    assert report.accepted["batch_size_unit"].tolist()[0] == "tokens"
    assert pd.isna(report.accepted["batch_size_unit"].iloc[1])  # no batch size on that row
    bare = read_upload(csv_bytes("N,D,loss\n1e9,2e10,2.5\n"), "n.csv", batch_size_unit="tokens")
    assert bare.batch_size_unit is None and bare.accepted["batch_size_unit"].isna().all()
    with pytest.raises(IngestError, match="batch-size unit"):
        read_upload(data, "b.csv", batch_size_unit="samples")


def test_a_duplicate_repeats_the_whole_configuration():
    report = read_upload(
        csv_bytes("""
N,D,loss,lr,bs,warmup,schedule,smooth loss
1e9,2e10,2.5,1e-3,256,100,cosine,2.51
1e9,2e10,2.5,2e-3,256,100,cosine,2.51
1e9,2e10,2.5,1e-3,512,100,cosine,2.51
1e9,2e10,2.5,1e-3,256,200,cosine,2.51
1e9,2e10,2.5,1e-3,256,100,wsd,2.51
1e9,2e10,2.5,1e-3,256,100,cosine,2.52
1e9,2e10,2.5,1e-3,256,100,cosine,2.51
1e9,2e10,2.5,,256,100,cosine,2.51
1e9,2e10,2.5,,256,100,cosine,2.51
"""),
        "d.csv",
    )
    assert [(e.row, e.reason) for e in report.errors] == [
        (7, "duplicate of row 1"),
        (9, "duplicate of row 8"),
    ]


def test_a_row_repeating_a_rejected_row_is_not_its_duplicate():
    report = read_upload(
        csv_bytes("N,D,loss,lr\n1e9,2e10,2.5,-1\n1e9,2e10,2.5,1e-3\n1e9,2e10,2.5,1e-3\n"), "r.csv"
    )
    assert [(e.row, e.reason) for e in report.errors] == [(1, "not positive: -1"), (3, "duplicate of row 2")]


def test_hyperparameter_checks_name_row_column_and_reason():
    report = read_upload(
        csv_bytes("""
N,D,loss,peak_lr,warmup_steps,experts,topk,smoothed_loss
1e9,2e10,2.5,1e-3,0,8,2,2.6
1e9,2e10,2.6,0,0,8,2,2.6
1e9,2e10,2.7,1e-3,-10,8,2,2.6
1e9,2e10,2.8,1e-3,0,8,9,2.6
1e9,2e10,2.9,1e-3,0,8.5,2,2.6
1e9,2e10,3.0,1e-3,0,8,2,45
1e9,2e10,3.1,50,0,8,2,2.6
"""),
        "h.csv",
    )
    reasons = {e.row: (e.column, e.reason) for e in report.errors}
    assert report.accepted["row"].tolist() == [1]
    assert reasons[2] == ("peak_lr", "not positive: 0")
    assert reasons[3] == ("warmup_steps", "negative: -10")
    assert reasons[4] == ("topk", "top-k 9 is more than the 8 experts")
    assert reasons[5] == ("experts", "not a whole number")
    assert reasons[6][0] == "smoothed_loss" and "plausible range" in reasons[6][1]
    assert reasons[7][0] == "peak_lr" and "implausible" in reasons[7][1]


def test_accepted_has_the_store_columns_with_both_losses_kept():
    report = read_upload(
        csv_bytes("N,D,loss,smooth loss,lr,schedule\n1e9,2e10,2.5,2.45,3e-4, cosine \n"), "a.csv"
    )
    assert tuple(report.accepted.columns) == ACCEPTED_COLUMNS
    run = report.accepted.iloc[0]
    assert (run["loss"], run["loss_smoothed"], run["learning_rate"], run["lr_schedule"]) == (
        2.5,
        2.45,
        3e-4,
        "cosine",
    )
    for column in ("learning_rate", "batch_size", "warmup_steps", "loss_smoothed", "n_params_active"):
        assert report.accepted[column].dtype == np.float64
    assert run["n_params_convention"] == "total" and pd.isna(run["batch_size_unit"])


def test_text_longer_than_the_limit_is_named_counting_characters_not_bytes():
    # 300 'é' are 600 UTF-8 bytes but 300 characters: within the 500-character limit
    data = f"params,tokens,loss,notes\n1e9,2e10,2.5,{'é' * 300}\n1e9,3e10,2.4,{'x' * 501}\n".encode()
    report = read_upload(data, "notes.csv")
    assert report.accepted["row"].tolist() == [1]
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (2, "notes", "text longer than 500 characters")
    ]


def test_a_quantity_too_large_for_a_float_is_not_finite_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning would raise here
        values, bad = parse_quantities(pd.Series(["1e308k", "2e9"], dtype=object))
        report = read_upload(b"params,tokens,loss\n1e308k,2e10,2.5\n1e9,2e10,2.5\n", "huge.csv")
    assert values.tolist() == [np.inf, 2e9] and not bad.any()
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(1, "params", "not finite")]


def test_the_block_by_block_reader_gives_the_whole_file_readers_table(monkeypatch):
    """Files above _STREAM_ABOVE are read a block at a time, each column typed by the first block;
    a column that turns wider later (an integer column with a '1.5', a number column with a '70M')
    is read again, so the table is the whole-file reader's. Small blocks make a small file do it."""
    lines = ["model,params,tokens,loss"]
    lines += [f"m{i},{1_000_000 + i},{2_000_000_000 + i},{2 + i / 1e5:.5f}" for i in range(20_000)]
    lines[15_000] = "m15000,1.5e6,2e9,2.5"  # params: integers, then a float in a later block
    lines[18_000] = "m18000,1000000,70B,2.5"  # tokens: numbers, then a suffix in a later block
    data = ("\n".join(lines) + "\n").encode()
    whole = ingest.read_table(data, "s.csv")
    monkeypatch.setattr(ingest, "_STREAM_ABOVE", 0)
    monkeypatch.setattr(ingest, "_BLOCK_BYTES", 64 * 1024)
    streamed = ingest.read_table(data, "s.csv")
    pd.testing.assert_frame_equal(streamed, whole)
    assert streamed["params"].iloc[14_999] == 1.5e6 and streamed["tokens"].iloc[17_999] == "70B"
    report = read_upload(data, "s.csv")
    assert report.n_accepted == 20_000 and report.accepted["n_tokens"].iloc[17_999] == 70e9
