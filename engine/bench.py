"""Microbenchmark of this machine: matrix-multiply throughput, memory bandwidth, host-device
transfer and power, bounded in time and memory, every product checked.

* GEMM: C = A·B for square and LLM-shaped sizes; FLOP/s = 2·m·n·k / seconds (median of repeats).
  Each product is checked against a float64 reference on 64 sampled entries, within the worst-case
  rounding bound k·eps·sum_l |a_il|·|b_lj| of its data type.
* Bandwidth: copy (reads and writes n bytes: 2n moved) and triad a = b + s·c (3n moved), on arrays
  well past the caches; bytes/s = bytes moved / seconds.
* Transfer (with a GPU): host-to-device and device-to-host copies of pinned buffers.
* Power: NVML's power draw while the largest GEMM runs, when a GPU reports it; otherwise None and
  said so.

CPU runs through numpy (float64, float32). An NVIDIA GPU runs through PyTorch when it is importable
and a device is present (fp32, tf32, bf16, fp16). Memory: never more than half of what is free.
Quick mode stays under ~30 s, full under ~5 min; ``should_stop`` is polled between steps.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

Progress = Callable[[float, str], None]

QUICK_SQUARE = (256, 512, 1024)
FULL_SQUARE = (256, 512, 1024, 2048, 4096)
# (m tokens, k, n): a projection in a 2k-wide model, and an MLP up-projection in a 4k-wide one.
LLM_SHAPES = ((512, 2048, 2048), (512, 4096, 11008))
QUICK_BANDWIDTH_MB = (32, 128)
FULL_BANDWIDTH_MB = (64, 256, 1024)
GPU_SQUARE = (1024, 4096, 8192)


class BenchmarkError(RuntimeError):
    """The benchmark cannot run as asked (e.g. no CUDA device)."""


class Cancelled(RuntimeError):
    """``should_stop`` asked the benchmark to stop; partial results are attached."""

    def __init__(self, partial: "BenchResult") -> None:
        super().__init__("benchmark cancelled")
        self.partial = partial


@dataclass
class BenchResult:
    machine: dict[str, Any]
    device: str
    mode: str
    gemm: list[dict] = field(default_factory=list)
    bandwidth: list[dict] = field(default_factory=list)
    transfer: list[dict] = field(default_factory=list)
    power: dict | None = None
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def best_flops(self) -> dict[str, float]:
        """Highest measured FLOP/s per data type (correct products only)."""
        out: dict[str, float] = {}
        for row in self.gemm:
            if row["correct"]:
                out[row["dtype"]] = max(out.get(row["dtype"], 0.0), row["flops_per_s"])
        return out

    def best_bandwidth(self) -> float | None:
        values = [row["bytes_per_s"] for row in self.bandwidth]
        return max(values) if values else None


# --- machine identity ------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (bytes); a conservative 2 GB when it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 1024**3


def torch_cuda() -> Any | None:
    """The torch module when it is importable and sees a CUDA device, else None."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch if torch.cuda.is_available() else None


def machine_identity(device: str = "cpu") -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if device == "cuda":
        torch = torch_cuda()
        if torch is not None:
            props = torch.cuda.get_device_properties(0)
            info.update(gpu_name=props.name, gpu_memory_bytes=props.total_memory, torch=torch.__version__,
                        cuda=torch.version.cuda, driver=_nvml(lambda n, h: n.nvmlSystemGetDriverVersion()))
    return info


def _nvml(query: Callable[[Any, Any], Any]) -> Any | None:
    """Run an NVML query on GPU 0, or None when NVML is not available."""
    if importlib.util.find_spec("pynvml") is None:
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return query(pynvml, pynvml.nvmlDeviceGetHandleByIndex(0))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - NVML errors of any kind mean "not available"
        return None


# --- checks and timing -----------------------------------------------------------------------

_EPS = {"float64": np.finfo(np.float64).eps, "float32": np.finfo(np.float32).eps, "fp32": 2.0**-23,
        "tf32": 2.0**-10, "bf16": 2.0**-7, "fp16": 2.0**-10}


def check_product(a: np.ndarray, b: np.ndarray, c: np.ndarray, dtype: str, samples: int = 64, seed: int = 0) -> bool:
    """C against a float64 reference on sampled entries, within k·eps·sum|a||b| (+ output rounding)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, a.shape[0], samples)
    cols = rng.integers(0, b.shape[1], samples)
    a64, b64 = a[rows].astype(np.float64), b[:, cols].astype(np.float64).T
    reference = np.einsum("ij,ij->i", a64, b64)
    scale = np.einsum("ij,ij->i", np.abs(a64), np.abs(b64))
    eps = _EPS[dtype]
    bound = (a.shape[1] + 2) * eps * scale + 1e-300
    got = np.asarray(c[rows, cols], dtype=np.float64)
    return bool(np.all(np.isfinite(got)) and np.all(np.abs(got - reference) <= bound))


def _time(fn: Callable[[], Any], *, repeats: int, budget_s: float) -> float:
    """Median seconds of fn() over up to ``repeats`` runs within ``budget_s`` (after one warm-up)."""
    fn()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < repeats and (not samples or time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class _Ticker:
    """Counts finished steps, reports progress, and stops the run when asked (with partial results)."""

    def __init__(self, steps: int, result: BenchResult, started: float, progress: Progress | None,
                 should_stop: Callable[[], bool] | None) -> None:
        self.steps, self.done, self.result, self.started = max(steps, 1), 0, result, started
        self.progress, self.should_stop = progress, should_stop

    def __call__(self, message: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done / self.steps, message)
        if self.should_stop and self.should_stop():
            self.result.duration_s = time.perf_counter() - self.started
            raise Cancelled(self.result)


# --- CPU ---------------------------------------------------------------------------------------


def _cpu_plan(quick: bool, memory_cap: int) -> tuple[list, list]:
    squares = QUICK_SQUARE if quick else FULL_SQUARE
    shapes = [(s, s, s) for s in squares] + list(LLM_SHAPES if not quick else LLM_SHAPES[:1])
    gemms = [(dt, m, k, n) for dt in ("float64", "float32") for (m, k, n) in shapes
             if (m * k + k * n + m * n) * np.dtype(dt).itemsize * 2 <= memory_cap]
    sizes = [mb * 2**20 for mb in (QUICK_BANDWIDTH_MB if quick else FULL_BANDWIDTH_MB) if 3 * mb * 2**20 <= memory_cap]
    return gemms, sizes


def run_cpu(*, quick: bool = True, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> BenchResult:
    started = time.perf_counter()
    result = BenchResult(machine=machine_identity("cpu"), device="cpu", mode="quick" if quick else "full")
    memory_cap = available_memory_bytes() // 2
    gemms, sizes = _cpu_plan(quick, memory_cap)
    tick = _Ticker(len(gemms) + 2 * len(sizes), result, started, progress, should_stop)
    budget = 0.6 if quick else 4.0
    rng = np.random.default_rng(0)

    for dtype, m, k, n in gemms:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        seconds = _time(lambda: a @ b, repeats=7, budget_s=budget)
        c = a @ b
        result.gemm.append({"dtype": dtype, "m": m, "n": n, "k": k, "seconds": seconds,
                            "flops_per_s": 2.0 * m * n * k / seconds, "correct": check_product(a, b, c, dtype)})
        tick(f"{dtype} matmul {m}×{k}×{n}")
    for size in sizes:
        src = np.ones(size // 8)
        dst = np.empty_like(src)
        seconds = _time(lambda: np.copyto(dst, src), repeats=5, budget_s=budget)
        result.bandwidth.append({"kind": "copy", "bytes": size, "bytes_per_s": 2 * size / seconds})
        tick(f"copy {size // 2**20} MiB")
        other = np.full_like(src, 2.0)

        def triad() -> None:
            np.multiply(other, 3.0, out=dst)
            np.add(dst, src, out=dst)

        seconds = _time(triad, repeats=5, budget_s=budget)
        # numpy's triad makes two passes (read c, write a; read a and b, write a): 5 arrays moved
        result.bandwidth.append({"kind": "triad", "bytes": size, "bytes_per_s": 5 * size / seconds})
        tick(f"triad {size // 2**20} MiB")
        del src, dst, other
    result.notes.append("Power is not measured on the CPU path: no NVML device.")
    result.duration_s = time.perf_counter() - started
    return result


# --- NVIDIA GPU (PyTorch) ------------------------------------------------------------------------

_TORCH_DTYPES = ("fp32", "tf32", "bf16", "fp16")


def run_cuda(*, quick: bool = True, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> BenchResult:
    torch = torch_cuda()
    if torch is None:
        raise BenchmarkError("no CUDA device: PyTorch is not installed or sees no GPU; run with --device cpu")
    started = time.perf_counter()
    result = BenchResult(machine=machine_identity("cuda"), device="cuda", mode="quick" if quick else "full")
    free, _ = torch.cuda.mem_get_info()
    cap = free // 2
    sizes = GPU_SQUARE[:2] if quick else GPU_SQUARE
    plan = [(dt, s) for dt in _TORCH_DTYPES for s in sizes if 3 * s * s * 4 <= cap]
    transfer_sizes = [2**26, 2**28] if quick else [2**26, 2**28, 2**30]
    transfer_sizes = [s for s in transfer_sizes if 2 * s <= cap]
    tick = _Ticker(len(plan) + 3 * len(transfer_sizes), result, started, progress, should_stop)

    def cuda_time(fn: Callable[[], Any], repeats: int = 20) -> float:
        fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / repeats

    gen = torch.Generator(device="cuda").manual_seed(0)
    power_w = None
    for dtype, s in plan:
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        tdt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        a = torch.randn((s, s), device="cuda", generator=gen).to(tdt)
        b = torch.randn((s, s), device="cuda", generator=gen).to(tdt)
        seconds = cuda_time(lambda: a @ b)
        c = (a @ b).float().cpu().numpy()
        ok = check_product(a.float().cpu().numpy(), b.float().cpu().numpy(), c, dtype)
        result.gemm.append({"dtype": dtype, "m": s, "n": s, "k": s, "seconds": seconds,
                            "flops_per_s": 2.0 * s**3 / seconds, "correct": ok})
        if dtype == "bf16" and s == plan[-1][1]:
            power_w = _nvml(lambda n, h: n.nvmlDeviceGetPowerUsage(h) / 1000.0)
        tick(f"{dtype} matmul {s}³")
    torch.backends.cuda.matmul.allow_tf32 = False
    for size in transfer_sizes:
        src = torch.empty(size // 4, dtype=torch.float32, device="cuda")
        dst = torch.empty_like(src)
        seconds = cuda_time(lambda: dst.copy_(src), repeats=10)
        result.bandwidth.append({"kind": "device copy", "bytes": size, "bytes_per_s": 2 * size / seconds})
        tick(f"device copy {size // 2**20} MiB")
        host = torch.empty(size // 4, dtype=torch.float32, pin_memory=True)
        for kind, fn in (("host-to-device", lambda: src.copy_(host, non_blocking=True)),
                         ("device-to-host", lambda: host.copy_(src, non_blocking=True))):
            seconds = cuda_time(fn, repeats=5)
            result.transfer.append({"kind": kind, "bytes": size, "bytes_per_s": size / seconds})
        tick(f"transfers {size // 2**20} MiB")
        del src, dst, host
        tick("released buffers")
    if power_w is not None:
        best = max((r for r in result.gemm if r["dtype"] == "bf16"), key=lambda r: r["flops_per_s"], default=None)
        result.power = {"watts_during_bf16_gemm": power_w,
                        "joules_per_tflop": None if best is None else power_w / (best["flops_per_s"] / 1e12)}
    else:
        result.notes.append("Power is not available: NVML (pynvml) is not installed or reports nothing.")
    result.duration_s = time.perf_counter() - started
    return result


def run(device: str = "cpu", *, quick: bool = True, progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None) -> BenchResult:
    """Run the microbenchmark on ``device`` ('cpu' or 'cuda')."""
    if device == "cpu":
        return run_cpu(quick=quick, progress=progress, should_stop=should_stop)
    if device == "cuda":
        return run_cuda(quick=quick, progress=progress, should_stop=should_stop)
    raise BenchmarkError(f"unknown device {device!r}: use cpu or cuda")


# --- from measurements to estimates --------------------------------------------------------------

_NUMPY_TO_CATALOG = {"float64": "fp64", "float32": "fp32"}


def catalog_dtype(name: str) -> str:
    """The catalog's name for a measured data type (numpy's float64 is the catalog's fp64)."""
    return _NUMPY_TO_CATALOG.get(name, name)


def measured_device(result: dict, *, bench_id: str, like: Any | None = None) -> Any:
    """A catalog Device whose peaks and bandwidth are this benchmark's best measurements (memory,
    power and embodied data from ``like``, the matching catalog entry, when given)."""
    from engine.hardware import Device

    peaks: dict[str, float] = {}
    for row in result["gemm"]:
        if row["correct"]:
            name = catalog_dtype(row["dtype"])
            peaks[name] = max(peaks.get(name, 0.0), row["flops_per_s"] / 1e12)
    bandwidth = max((row["bytes_per_s"] for row in result["bandwidth"]), default=None)
    if not peaks or bandwidth is None:
        raise BenchmarkError("this benchmark has no correct matmul or no bandwidth figure to use")
    machine = result["machine"]
    name = machine.get("gpu_name") or machine.get("cpu_model") or "this machine"
    memory_gb = (machine.get("gpu_memory_bytes") or available_memory_bytes()) / 1e9
    return Device(
        hardware_id=f"measured:{bench_id}", name=f"{name} (measured)", peak_tflops=peaks, memory_gb=memory_gb,
        bandwidth_gb_s=bandwidth / 1e9, tdp_w=getattr(like, "tdp_w", None),
        die_area_cm2=getattr(like, "die_area_cm2", None), cpa_kg_per_cm2=getattr(like, "cpa_kg_per_cm2", None),
        source=f"FLOPwise microbenchmark {bench_id}", user_defined=True,
    )


_GPU_NAMES = (("H200", "h200-sxm"), ("H100 PCIe", "h100-pcie"), ("H100", "h100-sxm"), ("A100-SXM4-40GB", "a100-40gb"),
              ("A100", "a100-80gb"), ("V100", "v100-sxm2"), ("L40S", "l40s"), ("4090", "rtx-4090"),
              ("MI300X", "mi300x"), ("B200", "b200"), ("GB200", "gb200"))


def catalog_match(machine: dict) -> str | None:
    """The catalog id for the benchmarked GPU, by name; None for CPUs and unknown GPUs."""
    gpu = machine.get("gpu_name") or ""
    for needle, hardware_id in _GPU_NAMES:
        if needle.lower() in gpu.lower():
            return hardware_id
    return None


def gemm_intensity(row: dict) -> float:
    """FLOPs per byte a GEMM must move at least: 2mnk / ((mk + kn + mn) · element bytes)."""
    from engine.inference import BYTES_PER_ELEMENT

    size = BYTES_PER_ELEMENT[catalog_dtype(row["dtype"])]
    m, n, k = row["m"], row["n"], row["k"]
    return 2.0 * m * n * k / ((m * k + k * n + m * n) * size)


def achieved_fractions(result: dict, device: Any) -> list[dict]:
    """Per measured GEMM, the share of ``device``'s catalog peak for that data type, in words too."""
    rows = []
    for row in result["gemm"]:
        name = catalog_dtype(row["dtype"])
        peak = device.peak_tflops.get(name)
        if peak is None:
            continue
        fraction = row["flops_per_s"] / (peak * 1e12)
        rows.append({**row, "catalog_peak_flops_per_s": peak * 1e12, "fraction": fraction,
                     "words": f"{name} matmul reaches {fraction:.0%} of the catalog peak at {row['m']}×{row['k']}×{row['n']}"})
    return rows
