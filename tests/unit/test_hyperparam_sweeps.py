"""A learning-rate and batch-size sweep, written by the test, through the real ingest, store and CLI:
its hyperparameters are kept, no run is a false duplicate, and `fit-hyperparams` recovers the
exponents it was generated with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.data.ingest import read_upload
from engine.data.runs import RunFilter
from engine.data.store import open_store, selected_runs, store_upload

# generating law: lr* = 0.9 N^-0.6 D^0.25, bs* = 0.4 D^0.55 tokens
A_LR, P, Q, B_BS, R = 0.9, -0.6, 0.25, 0.4, 0.55
CELLS = [(n, d) for n in (2e8, 5e8, 1.2e9) for d in (5e9, 2e10, 8e10)]
FACTORS = 2.0 ** np.arange(-3, 4)  # the grid around each optimum, factors of 2


def sweep_csv(loss_ties: bool = False) -> bytes:
    """Every cell swept over 7 learning rates and 7 batch sizes (tokens) offset from the optimum by
    2^0.3 so the optimum falls between grid points; loss quadratic in the logs. With
    ``loss_ties`` two runs of a cell share N, D and loss but differ in lr and bs (no duplicates)."""
    lines = ["params,tokens,lr,batch_size_tokens,loss"]
    for n, d in CELLS:
        lr_opt, bs_opt = A_LR * n**P * d**Q, B_BS * d**R
        for f_lr in FACTORS * 2**0.3:
            for f_bs in FACTORS * 2**-0.3:
                loss = 2.0 + 0.04 * np.log(f_lr) ** 2 + 0.02 * np.log(f_bs) ** 2
                lines.append(f"{n:.6g},{d:.6g},{lr_opt * f_lr:.6g},{bs_opt * f_bs:.6g},{loss:.6f}")
    if loss_ties:  # the first run's N, D and loss again, at another learning rate and batch size
        n, d, _, _, loss = lines[1].split(",")
        lines.append(f"{n},{d},0.5,1e6,{loss}")
    return ("\n".join(lines) + "\n").encode()


def test_a_sweep_keeps_its_hyperparameters_and_has_no_false_duplicates(tmp_path):
    data = sweep_csv(loss_ties=True)
    report = read_upload(data, "sweep.csv")
    assert report.n_rejected == 0 and report.n_accepted == 9 * 49 + 1
    with open_store(tmp_path / "s.duckdb", load_published_data=False) as store:
        store_upload(store.cursor(), report, data)
        runs = selected_runs(store.cursor(), RunFilter())
    assert len(runs) == 9 * 49 + 1
    assert set(runs["batch_size_unit"]) == {"tokens"}
    first = runs.sort_values("run_id").iloc[0]
    n, d = CELLS[0]
    assert first["learning_rate"] == pytest.approx(A_LR * n**P * d**Q * 2**0.3 / 8, rel=1e-5)
    assert first["batch_size"] == pytest.approx(B_BS * d**R * 2**-0.3 / 8, rel=1e-5)


def test_fit_hyperparams_recovers_the_generating_exponents(tmp_path, capsys):
    path = tmp_path / "sweep.csv"
    path.write_bytes(sweep_csv())
    assert main(["fit-hyperparams", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out, parse_constant=lambda token: pytest.fail(token))
    assert result["usable"] is True and result["n_cells"] == 9
    params = {name: p["value"] for name, p in result["params"].items()}
    assert params["lr_exponent_n"] == pytest.approx(P, abs=0.02)
    assert params["lr_exponent_d"] == pytest.approx(Q, abs=0.02)
    assert params["bs_exponent_d"] == pytest.approx(R, abs=0.02)
    assert params["lr_coefficient"] == pytest.approx(A_LR, rel=0.2)


def test_a_step_law_format_file_counts_its_batch_in_sequences_of_2048(tmp_path, capsys):
    # Step Law's own header: bs counts sequences of 2,048 tokens (bs * ti * 2048 = D in their data)
    header = "h,ffnh,numh,numl,lr,bs,ti,loss,smooth loss,exp_name,D,N,D/N"
    lines = [header]
    for n, d in CELLS:
        lr_opt, bs_opt = A_LR * n**P * d**Q, B_BS * d**R
        for f_lr in FACTORS * 2**0.3:
            for f_bs in FACTORS * 2**-0.3:
                loss = 2.0 + 0.04 * np.log(f_lr) ** 2 + 0.02 * np.log(f_bs) ** 2
                bs_sequences = bs_opt * f_bs / 2048
                lines.append(
                    f"1024,4096,16,12,{lr_opt * f_lr:.6g},{bs_sequences:.6g},{d / (bs_sequences * 2048):.0f},"
                    f"{loss:.6f},{loss:.6f},run,{d:.6g},{n:.6g},{d / n:.6g}"
                )
    path = tmp_path / "steplaw.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["fit-hyperparams", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert "2,048 tokens" in captured.err
    params = {name: p["value"] for name, p in json.loads(captured.out)["params"].items()}
    assert params["bs_exponent_d"] == pytest.approx(R, abs=0.02)
    assert params["bs_coefficient"] == pytest.approx(B_BS, rel=0.25)  # in tokens again: the 2,048 applied
