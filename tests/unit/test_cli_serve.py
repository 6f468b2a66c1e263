"""python -m engine serve and test-time: strict JSON, numbers worked by hand, exit code 2 with a reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main
from engine.cost.inference import default_architecture
from engine.paths import REPO_ROOT

SERVE_KEYS = {
    "prefill_ms",
    "decode_ms_per_token",
    "tokens_per_s",
    "usd_per_mtok",
    "kv_bytes_per_token",
    "bound",
    "speedup",
}


def strict(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def json_of(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return strict(capsys.readouterr().out)


def fails(capsys, *args: str) -> str:
    try:
        code = main([*args, "--json"])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_serve_through_the_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--params", "7e9", "--hardware", "h100-sxm", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    result = strict(out.stdout)
    assert set(result) >= SERVE_KEYS
    assert result["speedup"] is None and result["bound"] == "memory-bound"


def test_serve_at_batch_1_by_hand(capsys):
    result = json_of(capsys, "serve", "--params", "7e9", "--hardware", "h100-sxm")
    arch = default_architecture(7e9)  # the shape the command assumes, and says so
    assert result["shape_assumed"] and "assumed" in result["shape_note"]
    assert result["shape"] == {"layers": arch.n_layers, "heads": arch.n_heads, "head_dim": 128}
    # grouped-query with 8 KV heads of 128: 2 × 8 × 128 × layers × 2 bytes per token
    kv = 2 * 8 * 128 * arch.n_layers * 2
    assert result["kv_bytes_per_token"] == kv and result["kv"] == "grouped-query, 8 KV heads"
    # memory-bound: (14e9 bytes of weights + 4,096 × KV) / 3.35e12 B/s
    step_s = (14e9 + 4096 * kv) / 3.35e12
    assert result["decode_ms_per_token"] == pytest.approx(step_s * 1e3, rel=1e-9)
    assert result["tokens_per_s"] == pytest.approx(1 / step_s, rel=1e-9)
    # at the default $2 per device-hour
    assert result["price_per_device_hour"] == 2.0
    assert result["usd_per_mtok"] == pytest.approx(1e6 * step_s / 3600 * 2.0, rel=1e-9)


def test_fewer_bits_serve_cheaper(capsys):
    costs = [
        json_of(capsys, "serve", "--params", "7e9", "--hardware", "h100-sxm", "--bits", bits)["usd_per_mtok"]
        for bits in ("16", "8", "4")
    ]
    assert costs[0] > costs[1] > costs[2]


def test_serve_with_mla_of_deepseek_v2s_shape(capsys):
    result = json_of(
        capsys,
        "serve",
        "--params",
        "21e9",
        "--total-params",
        "236e9",
        "--hardware",
        "b200",
        "--bits",
        "4",
        "--kv-kind",
        "mla",
        "--layers",
        "60",
        "--heads",
        "128",
        "--head-dim",
        "128",
    )
    assert result["kv_bytes_per_token"] == 69_120  # (512 + 64) × 60 × 2 bytes
    assert result["total_params"] == 236e9 and not result["shape_assumed"]
    assert result["dtype"] == "fp4"


def test_serve_with_a_draft_model(capsys):
    result = json_of(
        capsys,
        "serve",
        "--params",
        "70e9",
        "--hardware",
        "h200-sxm",
        "--bits",
        "8",
        "--draft-params",
        "1e9",
        "--acceptance",
        "0.8",
        "--draft-tokens",
        "5",
    )
    spec = result["speculative"]
    assert spec["gamma"] == 5 and spec["gamma_chosen"] == "given"
    assert spec["expected_tokens_per_step"] == pytest.approx((1 - 0.8**6) / 0.2)
    assert result["speedup"] == spec["speedup"] > 2.5
    plain = result["without_draft"]
    assert result["decode_ms_per_token"] == pytest.approx(plain["decode_ms_per_token"] / result["speedup"])
    assert result["usd_per_mtok"] < plain["usd_per_mtok"]
    best = json_of(
        capsys, "serve", "--params", "70e9", "--hardware", "h200-sxm", "--bits", "8",
        "--draft-params", "1e9", "--acceptance", "0.8",
    )  # fmt: skip
    assert best["speculative"]["gamma_chosen"] == "best on the roofline"
    assert best["speedup"] >= result["speedup"]


def test_a_batch_that_does_not_fit_is_said(capsys):
    assert main(["serve", "--params", "7e9", "--hardware", "h100-sxm", "--batch", "500", "--json"]) == 0
    captured = capsys.readouterr()
    result = strict(captured.out)
    assert not result["fits"] and result["max_batch"] < 500
    assert "does not fit" in captured.err and f"largest that fits is {result['max_batch']}" in captured.err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--hardware", "nope"), "unknown hardware 'nope'"),
        (("--hardware", "h100-sxm", "--acceptance", "0.8"), "need --draft-params"),
        (("--hardware", "h100-sxm", "--draft-params", "1e9"), "needs --acceptance"),
        (("--hardware", "h100-sxm", "--total-params", "1e9"), "n_total"),
        (("--hardware", "h100-sxm", "--kv-heads", "5"), "must divide n_heads"),
        (("--hardware", "h100-sxm", "--prompt-tokens", "9000"), "must be at most context"),
        (("--hardware", "h100-sxm", "--acceptance", "1.5", "--draft-params", "1e9"), "from 0 to 1"),
        (("--hardware", "h100-sxm", "--batch", "0"), "must be 1 or more"),
        (("--hardware", "v100-sxm2", "--experts", "8"), "n_experts and top_k together"),
    ],
)
def test_serve_refuses_bad_input_with_exit_2(capsys, extra, words):
    assert words in fails(capsys, "serve", "--params", "7e9", *extra)


def test_test_time_with_the_qwen3_8b_shape(capsys):
    result = json_of(
        capsys,
        "test-time",
        "--params",
        "8.19e9",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "4000",
        "--trials",
        "8",
        "--layers",
        "36",
        "--heads",
        "32",
        "--kv-heads",
        "8",
        "--head-dim",
        "128",
    )
    assert result["eflops"] == pytest.approx(6220.98e12, rel=1e-3)
    assert result["c_comp"] == pytest.approx(580.78e12, rel=1e-3)
    assert result["c_mem"] * 562.5 == pytest.approx(5640.19e12, rel=1e-3)
    assert not result["shape_assumed"] and result["intensity"] == 562.5


def test_test_time_assumes_a_shape_and_takes_the_devices_intensity(capsys):
    base = ("test-time", "--params", "8e9", "--input-tokens", "1000", "--output-tokens", "4000")
    assumed = json_of(capsys, *base)
    arch = default_architecture(8e9)
    assert assumed["shape_assumed"] and "assumed from the default shape" in assumed["shape_note"]
    assert assumed["shape"] == {
        "layers": arch.n_layers,
        "heads": arch.n_heads,
        "kv_heads": arch.kv_heads,
        "head_dim": 128,
    }
    b200 = json_of(capsys, *base, "--hardware", "b200", "--dtype", "fp8")
    assert b200["intensity"] == pytest.approx(562.5) and b200["eflops"] == pytest.approx(assumed["eflops"])
    # eFLOPs ÷ the fp8 peak: the compute time plus the KV reads at the bandwidth
    assert b200["seconds_at_peak"] == pytest.approx(b200["eflops"] / 4500e12)
    h100 = json_of(capsys, *base, "--hardware", "h100-sxm")
    assert h100["intensity"] == pytest.approx(989.4 / 3.35) and h100["dtype"] == "bf16"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--hardware", "b200", "--intensity", "300"), "not both"),
        (("--dtype", "fp8"), "--dtype needs --hardware"),
        (("--hardware", "v100-sxm2", "--dtype", "fp8"), "has no fp8 peak"),
        (("--trials", "0"), "must be 1 or more"),
        (("--heads", "8", "--kv-heads", "16"), "n_kv_heads"),
    ],
)
def test_test_time_refuses_bad_input_with_exit_2(capsys, extra, words):
    args = ("test-time", "--params", "8e9", "--input-tokens", "1000", "--output-tokens", "4000", *extra)
    assert words in fails(capsys, *args)
