"""The microbenchmark: the CPU path in quick mode, checks that can fail, and the GPU path's skip."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from engine import bench
from engine.hardware import load_catalog
from engine.store import list_benchmarks, save_benchmark


@pytest.fixture(scope="module")
def quick_cpu() -> bench.BenchResult:
    start = time.perf_counter()
    result = bench.run("cpu", quick=True)
    assert time.perf_counter() - start < 30, "quick mode must stay under 30 s"
    return result


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
    assert bench.check_product(a, b, c, "float64")
    c[3, 5] += 1e-6
    assert not bench.check_product(a, b, c, "float64", samples=64 * 32, seed=1)
    assert not bench.check_product(a, b, np.full_like(c, np.nan), "float64")


def test_cancel_stops_with_partial_results():
    calls = []
    with pytest.raises(bench.Cancelled) as info:
        bench.run("cpu", quick=True, should_stop=lambda: len(calls) >= 0 and not calls.append(1) and len(calls) >= 2)
    assert 1 <= len(info.value.partial.gemm) <= 2


def test_gpu_path_is_skipped_cleanly_without_a_gpu():
    if bench.torch_cuda() is not None:
        result = bench.run("cuda", quick=True)
        assert all(r["correct"] for r in result.gemm) and result.transfer
    else:
        with pytest.raises(bench.BenchmarkError, match="no CUDA device"):
            bench.run("cuda", quick=True)


def test_measured_device_and_achieved_fraction(quick_cpu):
    result = quick_cpu.as_dict()
    device = bench.measured_device(result, bench_id="b1")
    assert device.peak_tflops["fp64"] * 1e12 == pytest.approx(quick_cpu.best_flops()["float64"])
    assert device.bandwidth_gb_s * 1e9 == pytest.approx(quick_cpu.best_bandwidth())
    assert bench.catalog_match(result["machine"]) is None
    fake = {**result, "machine": {"gpu_name": "NVIDIA H100 80GB HBM3"},
            "gemm": [{"dtype": "bf16", "m": 8192, "n": 8192, "k": 8192, "seconds": 1.0, "flops_per_s": 700e12, "correct": True}]}
    assert bench.catalog_match(fake["machine"]) == "h100-sxm"
    row = bench.achieved_fractions(fake, load_catalog()["h100-sxm"])[0]
    assert row["fraction"] == pytest.approx(700 / 989.4)
    assert row["words"] == "bf16 matmul reaches 71% of the catalog peak at 8192×8192×8192"


def test_benchmarks_are_stored(store, quick_cpu):
    bench_id = save_benchmark(store.cursor(), quick_cpu.as_dict())
    stored = list_benchmarks(store.cursor())
    assert stored[0]["bench_id"] == bench_id and stored[0]["result"]["gemm"] == quick_cpu.gemm
    assert stored[0]["machine"]["cpu_model"]
