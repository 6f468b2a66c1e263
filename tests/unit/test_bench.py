"""The microbenchmark: the CPU path in quick mode, checks that can fail, the GPU path's skip, and the
rules that keep a bad timing out of the Plan page (too small, above the catalog peak, outliers)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from engine.cost import microbench
from engine.cost.hardware import load_catalog
from engine.data.store import list_benchmarks, save_benchmark


# Runs the real quick benchmark once for the module (2.5-9 s): every test that uses it is marked slow.
@pytest.fixture(scope="module")
def quick_cpu() -> microbench.BenchResult:
    start = time.perf_counter()
    result = microbench.run("cpu", quick=True)
    assert time.perf_counter() - start < 30, "quick mode must stay under 30 s"
    return result


@pytest.mark.slow
def test_quick_cpu_results_are_positive_finite_and_correct(quick_cpu):
    assert quick_cpu.gemm and quick_cpu.bandwidth
    for row in quick_cpu.gemm:
        assert row["correct"], row
        assert row["seconds"] > 0 and math.isfinite(row["flops_per_s"]) and row["flops_per_s"] > 0
    for row in quick_cpu.bandwidth:
        assert math.isfinite(row["bytes_per_s"]) and row["bytes_per_s"] > 0
        assert row["bytes"] >= 32 * 2**20  # well past the caches
    assert {r["dtype"] for r in quick_cpu.gemm} == {"float64", "float32"}
    assert quick_cpu.power is None and any("Power is not measured" in n for n in quick_cpu.notes)
    assert quick_cpu.machine["cpu_count"] >= 1 and quick_cpu.machine["numpy"] == np.__version__


@pytest.mark.slow
def test_float64_1024_cube_agrees_with_numpys_own_timing(quick_cpu):
    a, b = np.random.default_rng(1).standard_normal((2, 1024, 1024))
    a @ b
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        samples.append(time.perf_counter() - start)
    numpy_flops = 2 * 1024**3 / sorted(samples)[2]
    ours = next(r for r in quick_cpu.gemm if r["dtype"] == "float64" and r["m"] == r["k"] == r["n"] == 1024)
    assert numpy_flops / 50 <= ours["flops_per_s"] <= numpy_flops * 50


def test_the_correctness_check_catches_a_wrong_product():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 256)), rng.standard_normal((256, 32))
    c = a @ b
    assert microbench.check_product(a, b, c, "float64")
    c[3, 5] += 1e-6
    assert not microbench.check_product(a, b, c, "float64", samples=64 * 32, seed=1)
    assert not microbench.check_product(a, b, np.full_like(c, np.nan), "float64")


def test_cancel_stops_with_partial_results():
    calls = []
    with pytest.raises(microbench.Cancelled) as info:
        microbench.run(
            "cpu", quick=True, should_stop=lambda: len(calls) >= 0 and not calls.append(1) and len(calls) >= 2
        )
    assert 1 <= len(info.value.partial.gemm) <= 2


def test_gpu_path_is_skipped_cleanly_without_a_gpu():
    if microbench.torch_cuda() is not None:
        result = microbench.run("cuda", quick=True)
        assert all(r["correct"] for r in result.gemm) and result.transfer
    else:
        with pytest.raises(microbench.BenchmarkError, match="no CUDA device"):
            microbench.run("cuda", quick=True)


@pytest.mark.slow
def test_measured_device_and_achieved_fraction(quick_cpu):
    result = quick_cpu.as_dict()
    device = microbench.measured_device(result, bench_id="b1")
    assert device.peak_tflops["fp64"] * 1e12 == pytest.approx(quick_cpu.best_flops()["float64"])
    assert device.bandwidth_gb_s * 1e9 == pytest.approx(quick_cpu.best_bandwidth())
    assert microbench.catalog_match(result["machine"]) is None
    fake = {
        **result,
        "machine": {"gpu_name": "NVIDIA H100 80GB HBM3"},
        "gemm": [
            {
                "dtype": "bf16",
                "m": 8192,
                "n": 8192,
                "k": 8192,
                "seconds": 1.0,
                "flops_per_s": 700e12,
                "correct": True,
            }
        ],
    }
    assert microbench.catalog_match(fake["machine"]) == "h100-sxm"
    row = microbench.achieved_fractions(fake, load_catalog()["h100-sxm"])[0]
    assert row["fraction"] == pytest.approx(700 / 989.4)
    assert row["words"] == "bf16 matmul reaches 71% of the catalog peak at 8192×8192×8192"


@pytest.mark.slow
def test_benchmarks_are_stored(store, quick_cpu):
    bench_id = save_benchmark(store.cursor(), quick_cpu.as_dict())
    stored = list_benchmarks(store.cursor())
    assert stored[0]["bench_id"] == bench_id and stored[0]["result"]["gemm"] == quick_cpu.gemm
    assert stored[0]["machine"]["cpu_model"]


# --- rules that keep a bad timing out of estimates ---------------------------------------------------------
# Hand-written results: each row's seconds is 2mnk / rate, so the expected figures are read off the inputs.


def _row(dtype: str, size: int | tuple[int, int, int], gflops: float, **extra) -> dict:
    m, k, n = (size, size, size) if isinstance(size, int) else size
    rate = gflops * 1e9
    return {
        "dtype": dtype,
        "m": m,
        "n": n,
        "k": k,
        "seconds": 2.0 * m * n * k / rate,
        "flops_per_s": rate,
        "correct": True,
        **extra,
    }


def _result(rows: list[dict], *, device: str = "cpu", machine: dict | None = None) -> dict:
    return {
        "machine": machine or {"cpu_model": "Test CPU", "cpu_count": 2},
        "device": device,
        "mode": "quick",
        "gemm": rows,
        "bandwidth": [{"kind": "copy", "bytes": 2**25, "bytes_per_s": 10e9}],
        "transfer": [],
        "power": None,
        "duration_s": 1.0,
        "notes": [],
    }


def _flags(row: dict) -> dict:
    return {
        "samples": 7,
        "calls_per_sample": 1,
        "too_small": False,
        "above_peak": False,
        "outlier": False,
        **row,
    }


# The user's report: 256³ float32 at 180 GFLOP/s (0.19 ms a product) against 8-31 GFLOP/s at 512-2048.
USER_REPORT = [
    _row("float32", 256, 180.0),
    _row("float32", 512, 8.0),
    _row("float32", 1024, 31.0),
    _row("float32", 2048, 24.0),
]


@pytest.mark.parametrize("stored", ["old format, no flags", "new format"])
def test_the_256_cube_outlier_is_not_taken(stored):
    rows = USER_REPORT if stored.startswith("old") else [_flags(r) for r in USER_REPORT]
    result = _result(rows)
    device = microbench.measured_device(result, bench_id="b-user")
    # the largest usable product, 2048³ at 24 GFLOP/s; not 180 (256³) and not the max over sizes (31)
    assert device.peak_tflops == {"fp32": pytest.approx(0.024)}
    assessed = {r["m"]: r for r in microbench.assess_gemm(result)}
    assert assessed[256]["too_small"] and not assessed[256]["used"]
    assert assessed[256]["verdict"] == "no: too small to time (0.186 ms per product, under 1 ms)"
    assert [m for m, r in assessed.items() if r["chosen"]] == [2048]
    assert all(assessed[m]["verdict"] == "yes" for m in (512, 1024, 2048))


def test_an_outlier_is_rejected_when_no_catalog_peak_can_check_it():
    # 2048³ at 100 GFLOP/s is over 3× the median (22.5) of 20 and 25: an outlier, though the largest size
    rows = [_row("float64", 512, 20.0), _row("float64", 1024, 25.0), _row("float64", 2048, 100.0)]
    result = _result(rows)
    assessed = microbench.assess_gemm(result)
    assert [r["outlier"] for r in assessed] == [False, False, True]
    assert assessed[2]["verdict"] == "no: outlier (4.4× the median rate of the other sizes; the limit is 3×)"
    assert microbench.measured_device(result, bench_id="b").peak_tflops == {"fp64": pytest.approx(0.025)}
    # 2.9× is within the rule
    rows[2] = _row("float64", 2048, 2.9 * 22.5)
    assert microbench.chosen_flops(_result(rows)) == {"float64": pytest.approx(2.9 * 22.5e9)}


def test_a_rate_above_the_catalog_peak_is_flagged_and_not_used():
    h100 = load_catalog()["h100-sxm"]  # bf16 dense peak 989.4 TFLOP/s
    machine = {"gpu_name": "NVIDIA H100 80GB HBM3", "gpu_memory_bytes": 80e9}
    rows = [
        _row("bf16", 1024, 150_000.0),  # 14 µs a product: too small to time on a GPU (under 50 µs)
        _row("bf16", 4096, 600_000.0),
        _row("bf16", 8192, 1_200_000.0),
    ]  # above 989.4 TFLOP/s: impossible, a timing error
    result = _result(rows, device="cuda", machine=machine)
    assessed = microbench.assess_gemm(result, h100)
    assert [(r["too_small"], r["above_peak"], r["used"]) for r in assessed] == [
        (True, False, False),
        (False, False, True),
        (False, True, False),
    ]
    assert assessed[2]["verdict"] == (
        "no: 1200.0 TFLOP/s is above the NVIDIA H100 SXM5 80GB dense bf16 peak of "
        "989.4 TFLOP/s, so the timing is wrong"
    )
    device = microbench.measured_device(result, bench_id="b-gpu", like=h100)
    assert device.peak_tflops == {"bf16": pytest.approx(600.0)}
    assert device.tdp_w == 700 and not device.tdp_estimated
    words = [r["words"] for r in microbench.achieved_fractions(result, h100)]
    assert words[1] == "bf16 matmul reaches 61% of the catalog peak at 4096×4096×4096"
    assert words[2].endswith(
        "(not used for estimates: 1200.0 TFLOP/s is above the NVIDIA H100 SXM5 80GB dense "
        "bf16 peak of 989.4 TFLOP/s, so the timing is wrong)"
    )


def test_with_a_catalog_peak_a_fast_large_size_is_not_an_outlier():
    # On a GPU the rate grows with size: 700 > 3 × 200, but the catalog peak is the check,
    # not the outlier rule.
    h100 = load_catalog()["h100-sxm"]
    rows = [_row("bf16", 4096, 200_000.0), _row("bf16", 8192, 700_000.0)]
    result = _result(rows, device="cuda", machine={"gpu_name": "NVIDIA H100 80GB HBM3"})
    assert microbench.chosen_flops(result, h100) == {"bf16": pytest.approx(700e12)}
    assert not any(r["outlier"] for r in microbench.assess_gemm(result, h100))


def test_too_small_sizes_are_ignored_and_nothing_usable_is_a_clear_error():
    rows = [
        _row("float64", 256, 30.0),  # 1.1 ms: timed
        _row("float64", 128, 30.0),  # 0.14 ms: too small
        _row("float32", 128, 60.0),
    ]  # float32 has nothing usable: left out
    device = microbench.measured_device(_result(rows), bench_id="b")
    assert device.peak_tflops == {"fp64": pytest.approx(0.030)}
    with pytest.raises(
        microbench.BenchmarkError, match=r"b-none has no usable matmul .*too small to time"
    ) as info:
        microbench.measured_device(_result([_row("float32", 128, 60.0)]), bench_id="b-none")
    assert isinstance(info.value, ValueError)  # pages that show bad input as a message show this too
    wrong = _row("float32", 512, 20.0, correct=False)
    with pytest.raises(microbench.BenchmarkError, match="failed the correctness check"):
        microbench.measured_device(_result([wrong]), bench_id="b-wrong")
    assert "cannot use it" in microbench.choice_words(microbench.assess_gemm(_result([wrong])))


def test_old_format_results_load_from_the_store_and_work(store):
    bench_id = save_benchmark(store.cursor(), _result(USER_REPORT))
    record = next(b for b in list_benchmarks(store.cursor()) if b["bench_id"] == bench_id)
    assert "too_small" not in record["result"]["gemm"][0]
    device = microbench.measured_device(record["result"], bench_id=bench_id)
    assert device.peak_tflops == {"fp32": pytest.approx(0.024)}
    assessed = microbench.assess_gemm(record["result"])
    assert assessed[0]["samples"] is None and assessed[0]["too_small"]
    result = microbench.BenchResult(**dict(record["result"].items()))
    assert result.best_flops() == {"float32": pytest.approx(24e9)}


@pytest.mark.slow
def test_quick_run_records_samples_and_flags(quick_cpu):
    for row in quick_cpu.gemm:
        assert row["samples"] >= microbench.MIN_SAMPLES and row["calls_per_sample"] >= 1
        assert row["too_small"] == (row["seconds"] < microbench.MIN_CALL_S["cpu"])
        assert row["above_peak"] is False  # no catalog entry describes a CPU
        assert isinstance(row["outlier"], bool)
    chosen = quick_cpu.best_flops()
    assert set(chosen) <= {"float64", "float32"} and chosen
    usable = [r for r in microbench.assess_gemm(quick_cpu.as_dict()) if r["used"]]
    for dtype, rate in chosen.items():
        largest = max((r for r in usable if r["dtype"] == dtype), key=lambda r: r["m"] * r["n"] * r["k"])
        assert rate == largest["flops_per_s"]
