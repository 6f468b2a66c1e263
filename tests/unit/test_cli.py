"""python -m engine: JSON out, exit code 2 with a reason for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main
from engine.paths import REPO_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=REPO_ROOT, capture_output=True, text=True
    )


def json_of(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_module_entry_point_prints_json():
    out = run_cli("optimal", "--law", "chinchilla", "--flops", "5.76e23", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"law", "flops", "n_params", "n_tokens", "tokens_per_param", "loss"}
    assert result["n_params"] == pytest.approx(3.219e10, rel=0.005)


def test_laws_lists_ids_citations_and_parameters(capsys):
    laws = json_of(capsys, "laws")["laws"]
    by_id = {law["id"]: law for law in laws}
    assert {"chinchilla", "chinchilla-epoch", "kaplan", "data-constrained"} <= set(by_id)
    assert set(by_id["chinchilla"]) == {"id", "title", "citation", "url", "verified", "parameters"}
    assert by_id["chinchilla"]["parameters"]["alpha"] == 0.34


def test_loss_with_unique_tokens(capsys):
    result = json_of(
        capsys,
        "loss",
        "--law",
        "data-constrained",
        "--params",
        "6.34e9",
        "--tokens",
        "242e9",
        "--unique-tokens",
        "25e9",
    )
    assert result == {"law": "data-constrained", "loss": pytest.approx(2.2256440889984477, abs=1e-9)}


def test_target_returns_the_budget(capsys):
    result = json_of(capsys, "target", "--law", "chinchilla-epoch", "--loss", "2.3")
    assert set(result) == {"law", "loss", "flops", "n_params", "n_tokens"}
    assert result["flops"] == pytest.approx(6 * result["n_params"] * result["n_tokens"], rel=1e-9)


def test_allocation_rule_reports_no_loss(capsys):
    assert json_of(capsys, "optimal", "--law", "chinchilla-approach1", "--flops", "1e22")["loss"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("optimal", "--law", "nope", "--flops", "1e20"), "unknown law 'nope'"),
        (("optimal", "--law", "kaplan", "--flops", "-5"), "must be a positive"),
        (("optimal", "--law", "kaplan", "--flops", "lots"), "must be a number"),
        (("target", "--law", "chinchilla", "--loss", "1.2"), "irreducible loss E=1.69"),
        (
            ("loss", "--law", "chinchilla", "--params", "1e9", "--tokens", "1e10", "--unique-tokens", "1e9"),
            "takes no --unique-tokens",
        ),
        (
            ("loss", "--law", "chinchilla-approach2", "--params", "1e9", "--tokens", "1e10"),
            "predicts no loss",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(args, message):
    out = run_cli(*args, "--json")
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_db_command_creates_and_loads(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    result = json_of(capsys, "db", "--db", str(db))
    assert result["runs_by_source"]["hoffmann2022"] == 234
    assert db.exists()


def test_ingest_reports_accepted_rejected_and_reasons(tmp_path):
    sweep = tmp_path / "sweep.csv"
    sweep.write_text("Model Size,Training tokens,val_loss\n70M,1.4B,3.5\n1.3B,26B,2.9\nabc,1e9,3\n")
    db = tmp_path / "cli.duckdb"
    out = run_cli("ingest", str(sweep), "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["accepted"] == 2 and result["rejected"] == 1 and result["added"] is True
    assert result["errors"] == [{"row": 3, "column": "Model Size", "reason": "not a number: 'abc'"}]
    again = json.loads(run_cli("ingest", str(sweep), "--db", str(db), "--json").stdout)
    assert again["upload_id"] == result["upload_id"] and again["added"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"params,tokens,loss\n-1,1e9,2\n", "no usable rows"),
        (bytes(range(256)), "binary"),
        (None, "cannot read"),
    ],
)
def test_ingest_of_an_unusable_file_exits_2_without_traceback(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    out = run_cli("ingest", str(path), "--db", str(tmp_path / "x.duckdb"), "--json")
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_fit_command_returns_constants_errors_and_exponents():
    out = run_cli(
        "fit",
        str(REPO_ROOT / "datasets" / "hoffmann2022_chinchilla_runs.csv"),
        "--drop-top-loss",
        "5",
        "--bootstrap",
        "30",
        "--seed",
        "3",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in (
        "n_points",
        "params",
        "stderr",
        "ci95",
        "objective",
        "converged",
        "exponent_n_opt",
        "exponent_d_opt",
    ):
        assert key in result
    assert result["n_points"] == 229 and set(result["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert result["exponent_n_opt"] + result["exponent_d_opt"] == pytest.approx(1.0)
    assert len(result["ci95"]["alpha"]) == 2


def test_fit_of_too_few_runs_exits_2(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("params,tokens,loss\n1e9,2e10,2.5\n2e9,2e10,2.4\n")
    out = run_cli("fit", str(path), "--json")
    assert out.returncode == 2 and "at least 5" in out.stderr


def test_hardware_catalog_as_json(capsys):
    rows = json_of(capsys, "hardware")["hardware"]
    h100 = next(r for r in rows if r["hardware_id"] == "h100-sxm")
    assert h100["peak_bf16_tflops"] == 989.4 and h100["memory_gb"] == 80 and h100["source"]


def test_footprint_reproduces_gpt3(capsys):
    result = json_of(
        capsys,
        "footprint",
        "--flops",
        "3.14e23",
        "--hardware",
        "v100-sxm2",
        "--devices",
        "10000",
        "--mfu",
        "0.197",
        "--dtype",
        "fp16",
        "--power-w",
        "330",
        "--pue",
        "1.1",
        "--grid-intensity",
        "429",
        "--price-per-hour",
        "1.5",
    )
    assert set(result) == {"device_hours", "wall_days", "energy_kwh", "co2_kg", "embodied_co2_kg", "cost_usd"}
    assert result["energy_kwh"] == pytest.approx(1287e3, rel=0.01) and result["co2_kg"] == pytest.approx(
        552.1e3, rel=0.01
    )
    assert result["cost_usd"] == pytest.approx(result["device_hours"] * 1.5)


def test_footprint_by_region(capsys):
    fr = json_of(
        capsys,
        "footprint",
        "--flops",
        "1e23",
        "--hardware",
        "h100-sxm",
        "--devices",
        "512",
        "--region",
        "France",
    )
    us = json_of(
        capsys,
        "footprint",
        "--flops",
        "1e23",
        "--hardware",
        "h100-sxm",
        "--devices",
        "512",
        "--region",
        "United States",
    )
    assert fr["energy_kwh"] == us["energy_kwh"] and fr["co2_kg"] < us["co2_kg"]


def test_lifetime_command(capsys):
    result = json_of(
        capsys, "lifetime", "--law", "chinchilla", "--loss", "2.05", "--inference-tokens", "2e12"
    )
    assert result["n_params"] < result["chinchilla"]["n_params"]
    assert result["flops_total"] < result["chinchilla"]["flops_total"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("footprint", "--flops", "1e23", "--hardware", "nope", "--devices", "8"), "unknown hardware"),
        (
            ("footprint", "--flops", "1e23", "--hardware", "h100-sxm", "--devices", "8", "--mfu", "40"),
            "at most 1",
        ),
        (
            ("footprint", "--flops", "1e23", "--hardware", "h100-sxm", "--devices", "8", "--power-w", "-5"),
            "must be a positive finite number",
        ),
        (("lifetime", "--law", "kaplan", "--loss", "2.5", "--inference-tokens", "1e12"), "Chinchilla form"),
    ],
)
def test_plan_commands_refuse_bad_input(args, message):
    out = run_cli(*args, "--json")
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_law_specific_inputs_with_arg(capsys):
    moe = json_of(capsys, "optimal", "--law", "moe-joint", "--flops", "1e21", "--arg", "experts=8")
    assert moe["n_params"] == pytest.approx(3.79e9, rel=0.02) and moe["experts"] == 8
    prec = json_of(capsys, "optimal", "--law", "precision", "--flops", "1e22")
    assert prec["precision_bits"] == pytest.approx(7.0, abs=0.5)
    ptq = json_of(
        capsys, "loss", "--law", "precision", "--params", "3e7", "--tokens", "2.6e10", "--arg", "bits_post=4"
    )
    full = json_of(capsys, "loss", "--law", "precision", "--params", "3e7", "--tokens", "2.6e10")
    assert ptq["loss"] - full["loss"] == pytest.approx(0.108, abs=0.002)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--arg", "experts=8"), "takes no input 'experts'"), (("--arg", "experts"), "must be name=value")],
)
def test_bad_law_inputs_exit_2(args, message):
    out = run_cli("loss", "--law", "chinchilla", "--params", "1e9", "--tokens", "1e10", *args, "--json")
    assert out.returncode == 2 and message in out.stderr


@pytest.mark.slow
def test_bench_command_quick_json(tmp_path):
    out = run_cli("bench", "--quick", "--json", "--db", str(tmp_path / "b.duckdb"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) >= {"machine", "gemm", "bandwidth", "transfer", "power", "bench_id"}
    assert all(r["correct"] and r["flops_per_s"] > 0 for r in result["gemm"])


def test_bench_on_an_absent_gpu_exits_2():
    from engine.cost.microbench import torch_cuda

    if torch_cuda() is not None:
        pytest.skip("a GPU is present")
    out = run_cli("bench", "--device", "cuda", "--json")
    assert out.returncode == 2 and "no CUDA device" in out.stderr


def test_hyperparams_gives_the_step_law_learning_rate_and_batch_size(capsys):
    # Li et al. 2025: eta = 1.79 N^-0.713 D^0.307, B = 0.58 D^0.571 tokens; N = 1e9, D = 1e11:
    # 1e9^-0.713 = 3.8282e-7, 1e11^0.307 = 2382.3, 1e11^0.571 = 1.9099e6
    result = json_of(capsys, "hyperparams", "--params", "1e9", "--tokens", "1e11")
    assert set(result) == {"learning_rate", "batch_size_tokens"}
    assert result["learning_rate"] == pytest.approx(1.79 * 3.8282e-7 * 2382.3, rel=1e-3)
    assert result["batch_size_tokens"] == pytest.approx(0.58 * 1.9099e6, rel=1e-3)


def test_ingest_says_and_takes_the_parameter_convention(tmp_path, capsys):
    sweep = tmp_path / "nonemb.csv"
    sweep.write_text("non_embedding_params,tokens,loss\n1e8,2e9,3.1\n1e9,2e10,2.6\n")
    db = str(tmp_path / "c.duckdb")
    result = json_of(capsys, "ingest", str(sweep), "--db", db)
    assert result["convention"] == "non_embedding" and "non-embedding" in result["convention_reason"]
    other = tmp_path / "stated.csv"
    other.write_text("params,tokens,loss\n1e8,2e9,3.1\n")
    assert (
        json_of(capsys, "ingest", str(other), "--db", db, "--convention", "active")["convention"] == "active"
    )


def test_ingest_of_a_large_csv_goes_a_block_at_a_time(tmp_path, capsys, monkeypatch):
    """The CLI takes the Runs page's block path for a large plain CSV (made to take this small one):
    the same counts and reasons as the whole file, a duplicate across blocks named, and the same
    bytes again adding nothing."""
    from engine.data import blocks

    monkeypatch.setattr(blocks, "BLOCKWISE_ABOVE", 1)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 4096)
    lines = [f"{10_000_000 + 7919 * i},{2_000_000_000 + 104_729 * i},{2 + i / 1e4:.4f}" for i in range(2000)]
    lines[1500] = lines[3]  # row 1501 repeats row 4, several blocks later
    lines[700] = "20000000,3000000000,-1"
    sweep = tmp_path / "big.csv"
    sweep.write_text("params,tokens,loss\n" + "\n".join(lines) + "\n")
    db = str(tmp_path / "b.duckdb")
    result = json_of(capsys, "ingest", str(sweep), "--db", db)
    assert (result["added"], result["accepted"], result["rejected"]) == (True, 1998, 2)
    assert [(e["row"], e["reason"]) for e in result["errors"]] == [
        (701, "not positive: -1"),
        (1501, "duplicate of row 4"),
    ]
    again = json_of(capsys, "ingest", str(sweep), "--db", db)
    assert (again["added"], again["accepted"], again["upload_id"]) == (False, 1998, result["upload_id"])
