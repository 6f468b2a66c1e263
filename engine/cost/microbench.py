"""Microbenchmark of this machine: matrix-multiply throughput, memory bandwidth, host-device
transfer and power, bounded in time and memory, every product checked.

* GEMM: C = A·B for square and LLM-shaped sizes; FLOP/s = 2·m·n·k / seconds, where seconds is the
  median per-call time over the timed samples (see "Timing" below). Each product is checked against
  a float64 reference on 64 sampled entries, within the worst-case rounding bound
  k·eps·sum_l |a_il|·|b_lj| of its data type.
* Bandwidth: copy (reads and writes n bytes: 2n moved) and triad a = b + s·c (3n moved), on arrays
  well past the caches; bytes/s = bytes moved / seconds.
* Transfer (with a GPU): host-to-device and device-to-host copies of pinned buffers.
* Power: NVML's power draw while the largest GEMM runs, when a GPU reports it; otherwise None and
  said so.

Timing: one warm-up call, then samples of n back-to-back calls each, n chosen so that one sample lasts
at least ``MIN_SAMPLE_S`` (5 ms); at least ``MIN_SAMPLES`` (3) samples and up to the mode's repeats
within its time budget; the figure is the median over samples of (sample seconds / n). Each GEMM row
records ``seconds`` (that median), ``samples``, ``calls_per_sample`` and three flags; a row with any
flag set is never used for an estimate (``assess_gemm`` states the rules): ``too_small`` (one product
takes under ``MIN_CALL_S``: 1 ms on a CPU, 50 µs on a GPU), ``above_peak`` (faster than the matching
catalog device's dense peak for that data type: impossible, so a timing error) and ``outlier`` (with
no catalog peak to check against: more than ``OUTLIER_RATIO`` = 3× the median rate of the other sizes
of that data type).

CPU runs through numpy (float64, float32). An NVIDIA GPU runs through PyTorch when it is importable
and a device is present (fp32, tf32, bf16, fp16). Memory: never more than half of what is free.
Quick mode stays under ~30 s, full under ~5 min; ``should_stop`` is polled between steps.
"""

from __future__ import annotations

import importlib.util
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.cost.hardware import Device, load_catalog
from engine.cost.inference import BYTES_PER_ELEMENT
from engine.errors import FlopwiseError

Progress = Callable[[float, str], None]

QUICK_SQUARE = (256, 512, 1024)
FULL_SQUARE = (256, 512, 1024, 2048, 4096)
# (m tokens, k, n): a projection in a 2k-wide model, and an MLP up-projection in a 4k-wide one.
LLM_SHAPES = ((512, 2048, 2048), (512, 4096, 11008))
QUICK_BANDWIDTH_MB = (32, 128)
FULL_BANDWIDTH_MB = (64, 256, 1024)
GPU_SQUARE = (1024, 4096, 8192)

MIN_SAMPLE_S = 5e-3  # a timed sample batches calls until it lasts at least this long
MIN_SAMPLES = 3  # samples per size, whatever the time budget
MAX_CALLS_PER_SAMPLE = 10_000
# A product whose median call is shorter than this is too small to time: call overhead, launch latency
# and caches dominate it, and it says nothing about an LLM's GEMMs. Not used for estimates.
MIN_CALL_S = {"cpu": 1e-3, "cuda": 5e-5}
OUTLIER_RATIO = 3.0  # with no catalog peak: a rate above 3x the median of the other sizes is an outlier


class BenchmarkError(FlopwiseError, RuntimeError):
    """The benchmark cannot run as asked (e.g. no CUDA device)."""


class Cancelled(FlopwiseError, RuntimeError):
    """``should_stop`` asked the benchmark to stop; partial results are attached."""

    def __init__(self, partial: BenchResult) -> None:
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

    def best_flops(self, like: Any | None = None) -> dict[str, float]:
        """The FLOP/s per data type that estimates use: the median rate of the largest usable product
        (correct and not flagged; see ``assess_gemm``). Data types with no usable product are left out."""
        return chosen_flops(self.as_dict(), like)

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
            info.update(
                gpu_name=props.name,
                gpu_memory_bytes=props.total_memory,
                torch=torch.__version__,
                cuda=torch.version.cuda,
                driver=_nvml(lambda n, h: n.nvmlSystemGetDriverVersion()),
            )
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
    except Exception:
        return None


# --- checks and timing -----------------------------------------------------------------------

_EPS = {
    "float64": np.finfo(np.float64).eps,
    "float32": np.finfo(np.float32).eps,
    "fp32": 2.0**-23,
    "tf32": 2.0**-10,
    "bf16": 2.0**-7,
    "fp16": 2.0**-10,
}


def check_product(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, dtype: str, samples: int = 64, seed: int = 0
) -> bool:
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


@dataclass(frozen=True)
class Timing:
    seconds: float  # median seconds per call
    samples: int  # timed samples taken
    calls_per_sample: int


def _host_timer(fn: Callable[[], Any], calls: int) -> float:
    """Wall seconds of ``calls`` back-to-back calls of fn()."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def _time(
    fn: Callable[[], Any],
    *,
    repeats: int,
    budget_s: float,
    timer: Callable[[Callable[[], Any], int], float] = _host_timer,
) -> Timing:
    """Warm up with one call, size a sample to last at least MIN_SAMPLE_S (n calls, from one timed
    call), then take at least MIN_SAMPLES and up to ``repeats`` samples within ``budget_s``; the median
    over samples of seconds per call."""
    timer(fn, 1)  # warm-up: first-touch, allocation, library dispatch
    one = timer(fn, 1)
    calls = max(1, min(MAX_CALLS_PER_SAMPLE, math.ceil(MIN_SAMPLE_S / max(one, 1e-9))))
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < repeats and (len(samples) < MIN_SAMPLES or time.perf_counter() < deadline):
        samples.append(timer(fn, calls) / calls)
    return Timing(statistics.median(samples), len(samples), calls)


def _gemm_row(dtype: str, m: int, k: int, n: int, timing: Timing, correct: bool, device: str) -> dict:
    """A measured product; above_peak and outlier are settled once all sizes are in (``_settle_flags``)."""
    return {
        "dtype": dtype,
        "m": m,
        "n": n,
        "k": k,
        "seconds": timing.seconds,
        "flops_per_s": 2.0 * m * n * k / timing.seconds,
        "correct": correct,
        "samples": timing.samples,
        "calls_per_sample": timing.calls_per_sample,
        "too_small": timing.seconds < MIN_CALL_S[device],
        "above_peak": False,
        "outlier": False,
    }


def _settle_flags(result: BenchResult, like: Any | None) -> None:
    """Write the flags of ``assess_gemm`` into the result's rows (what is stored)."""
    for row, assessed in zip(result.gemm, assess_gemm(result.as_dict(), like)):
        row.update({flag: assessed[flag] for flag in FLAGS})


class _Ticker:
    """Counts finished steps, reports progress, and stops the run when asked (with partial results)."""

    def __init__(
        self,
        steps: int,
        result: BenchResult,
        started: float,
        progress: Progress | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
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
    gemms = [
        (dt, m, k, n)
        for dt in ("float64", "float32")
        for (m, k, n) in shapes
        if (m * k + k * n + m * n) * np.dtype(dt).itemsize * 2 <= memory_cap
    ]
    sizes = [
        mb * 2**20
        for mb in (QUICK_BANDWIDTH_MB if quick else FULL_BANDWIDTH_MB)
        if 3 * mb * 2**20 <= memory_cap
    ]
    return gemms, sizes


def _cpu_copy(size: int, budget: float) -> dict:
    """Copy bandwidth over ``size`` bytes (read one array, write another: 2·size moved). The
    arrays live only in this call, so each size's memory is freed before the next is taken."""
    src = np.ones(size // 8)
    dst = np.empty_like(src)
    seconds = _time(lambda: np.copyto(dst, src), repeats=5, budget_s=budget).seconds
    return {"kind": "copy", "bytes": size, "bytes_per_s": 2 * size / seconds}


def _cpu_triad(size: int, budget: float) -> dict:
    """STREAM triad a = b + 3·c over ``size``-byte arrays."""
    src = np.ones(size // 8)
    dst = np.empty_like(src)
    other = np.full_like(src, 2.0)

    def triad() -> None:
        np.multiply(other, 3.0, out=dst)
        np.add(dst, src, out=dst)

    seconds = _time(triad, repeats=5, budget_s=budget).seconds
    # numpy's triad makes two passes (read c, write a; read a and b, write a): 5 arrays moved
    return {"kind": "triad", "bytes": size, "bytes_per_s": 5 * size / seconds}


def run_cpu(
    *, quick: bool = True, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None
) -> BenchResult:
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
        timing = _time(lambda: a @ b, repeats=7, budget_s=budget)
        c = a @ b
        result.gemm.append(_gemm_row(dtype, m, k, n, timing, check_product(a, b, c, dtype), "cpu"))
        tick(f"{dtype} matmul {m}×{k}×{n}")
    for size in sizes:
        result.bandwidth.append(_cpu_copy(size, budget))
        tick(f"copy {size // 2**20} MiB")
        result.bandwidth.append(_cpu_triad(size, budget))
        tick(f"triad {size // 2**20} MiB")
    _settle_flags(result, None)  # no catalog entry describes a CPU: the outlier rule applies
    result.notes.append("Power is not measured on the CPU path: no NVML device.")
    result.duration_s = time.perf_counter() - started
    return result


# --- NVIDIA GPU (PyTorch) ------------------------------------------------------------------------

_TORCH_DTYPES = ("fp32", "tf32", "bf16", "fp16")


def _cuda_copy_and_transfers(
    torch: Any, size: int, cuda_time: Callable[..., Timing]
) -> tuple[dict, list[dict]]:
    """Device copy bandwidth over ``size`` bytes, and pinned host-to-device and device-to-host
    transfers of as many; the buffers live only in this call."""
    src = torch.empty(size // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    seconds = cuda_time(lambda: dst.copy_(src)).seconds
    copy = {"kind": "device copy", "bytes": size, "bytes_per_s": 2 * size / seconds}
    host = torch.empty(size // 4, dtype=torch.float32, pin_memory=True)
    transfers = []
    for kind, fn in (
        ("host-to-device", lambda: src.copy_(host, non_blocking=True)),
        ("device-to-host", lambda: host.copy_(src, non_blocking=True)),
    ):
        seconds = cuda_time(fn, repeats=5).seconds
        transfers.append({"kind": kind, "bytes": size, "bytes_per_s": size / seconds})
    return copy, transfers


def run_cuda(
    *, quick: bool = True, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None
) -> BenchResult:
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

    def cuda_timer(fn: Callable[[], Any], calls: int) -> float:
        """Device seconds of ``calls`` back-to-back launches, timed with CUDA events."""
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3

    def cuda_time(fn: Callable[[], Any], repeats: int = 10) -> Timing:
        return _time(fn, repeats=repeats, budget_s=1.0 if quick else 3.0, timer=cuda_timer)

    gen = torch.Generator(device="cuda").manual_seed(0)
    power_w = None
    for dtype, s in plan:
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        tdt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[
            dtype
        ]
        a = torch.randn((s, s), device="cuda", generator=gen).to(tdt)
        b = torch.randn((s, s), device="cuda", generator=gen).to(tdt)
        timing = cuda_time(lambda: a @ b)
        c = (a @ b).float().cpu().numpy()
        ok = check_product(a.float().cpu().numpy(), b.float().cpu().numpy(), c, dtype)
        result.gemm.append(_gemm_row(dtype, s, s, s, timing, ok, "cuda"))
        if dtype == "bf16" and s == plan[-1][1]:
            power_w = _nvml(lambda n, h: n.nvmlDeviceGetPowerUsage(h) / 1000.0)
        tick(f"{dtype} matmul {s}³")
    torch.backends.cuda.matmul.allow_tf32 = False
    for size in transfer_sizes:
        copy, transfers = _cuda_copy_and_transfers(torch, size, cuda_time)
        result.bandwidth.append(copy)
        tick(f"device copy {size // 2**20} MiB")
        result.transfer.extend(transfers)
        tick(f"transfers {size // 2**20} MiB")
        tick("released buffers")
    match = catalog_match(result.machine)
    if match is not None:
        like = load_catalog().get(match)
    else:
        like = None
    _settle_flags(result, like)
    if power_w is not None:
        # the power was read during the largest bf16 product: its rate, if usable, gives J per TFLOP
        largest = [r for r in result.gemm if r["dtype"] == "bf16" and r["m"] == plan[-1][1]]
        rate = largest[0]["flops_per_s"] if largest and _usable(largest[0]) else None
        result.power = {
            "watts_during_bf16_gemm": power_w,
            "joules_per_tflop": None if rate is None else power_w / (rate / 1e12),
        }
    else:
        result.notes.append("Power is not available: NVML (pynvml) is not installed or reports nothing.")
    result.duration_s = time.perf_counter() - started
    return result


def run(
    device: str = "cpu",
    *,
    quick: bool = True,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BenchResult:
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


FLAGS = ("too_small", "above_peak", "outlier")
CHOICE_RULE = (
    "per data type, the median rate of its largest usable product (most FLOPs per call), "
    "where usable means correct and not flagged too small to time, above the catalog peak "
    "or an outlier"
)


class NoUsableMeasurement(BenchmarkError, ValueError):
    """A stored benchmark leaves nothing an estimate may use (a ValueError too, so pages that show
    bad input as a message show this one the same way)."""


def _rate_words(flops_per_s: float) -> str:
    return f"{flops_per_s / 1e12:.1f} TFLOP/s" if flops_per_s >= 1e12 else f"{flops_per_s / 1e9:.1f} GFLOP/s"


def _usable(row: dict) -> bool:
    return bool(row.get("correct")) and not any(row.get(flag) for flag in FLAGS)


def _catalog_peak(like: Any | None, dtype: str) -> float | None:
    """``like``'s dense catalog peak in FLOP/s for a measured data type, or None."""
    peaks = getattr(like, "peak_tflops", None) or {}
    value = peaks.get(catalog_dtype(dtype))
    return None if value is None else value * 1e12


def assess_gemm(result: dict, like: Any | None = None) -> list[dict]:
    """Each GEMM row of ``result`` (a BenchResult.as_dict(), stored or fresh) with its flags settled,
    whether estimates use it and why not, and which row per data type estimates take.

    Rules, applied in this order to every row (a stored flag is kept; rows stored before the flags
    existed simply lack them and get them here):

    * ``too_small``: the median seconds per product is under ``MIN_CALL_S`` for the result's device
      (1 ms on a CPU, 50 µs on a GPU): call overhead and caches dominate such a product.
    * ``above_peak``: ``like`` (the matching catalog device, if any) has a dense peak for this data type
      and the rate exceeds it. A dense GEMM cannot beat the datasheet, so the timing is wrong.
    * ``outlier``: only where there is no catalog peak to check against. Among the rows of one data
      type that are correct and not already flagged, a rate more than ``OUTLIER_RATIO`` (3×) the median
      rate of the *other* such rows (at least one other) is an outlier.

    A row is used (``used``) when it is correct and carries no flag; ``reason`` says why not ("" when
    used) and ``verdict`` is "yes" or "no: " and the reason.
    ``chosen`` marks, per data type, the usable row with the most FLOPs per call (2·m·n·k; ties: the
    higher rate): the figure "use measured" takes (``CHOICE_RULE``).
    """
    device = result.get("device", "cpu")
    threshold = MIN_CALL_S.get(device, MIN_CALL_S["cpu"])
    rows = []
    for raw in result["gemm"]:
        row = {**raw, "samples": raw.get("samples"), "calls_per_sample": raw.get("calls_per_sample")}
        row["too_small"] = bool(raw.get("too_small")) or raw["seconds"] < threshold
        peak = _catalog_peak(like, raw["dtype"])
        row["catalog_peak_flops_per_s"] = peak
        row["above_peak"] = bool(raw.get("above_peak")) or (peak is not None and raw["flops_per_s"] > peak)
        row["outlier"] = bool(raw.get("outlier"))
        rows.append(row)
    for dtype in {r["dtype"] for r in rows}:
        if _catalog_peak(like, dtype) is not None:
            continue
        candidates = [
            r
            for r in rows
            if r["dtype"] == dtype and r["correct"] and not r["too_small"] and not r["above_peak"]
        ]
        for row in candidates:
            others = [r["flops_per_s"] for r in candidates if r is not row]
            if others and row["flops_per_s"] > OUTLIER_RATIO * statistics.median(others):
                row["outlier"] = True
                row["outlier_ratio"] = row["flops_per_s"] / statistics.median(others)
    for row in rows:
        row["used"] = _usable(row)
        row["reason"] = _reason(row, threshold, like)
        row["verdict"] = f"no: {row['reason']}" if row["reason"] else "yes"
        row["chosen"] = False
    for dtype in {r["dtype"] for r in rows}:
        usable = [r for r in rows if r["dtype"] == dtype and r["used"]]
        if usable:
            max(usable, key=lambda r: (r["m"] * r["n"] * r["k"], r["flops_per_s"]))["chosen"] = True
    return rows


def _reason(row: dict, threshold: float, like: Any | None) -> str:
    if not row["correct"]:
        return "the product failed the correctness check"
    if row["too_small"]:
        return f"too small to time ({row['seconds'] * 1e3:.3g} ms per product, under {threshold * 1e3:g} ms)"
    if row["above_peak"]:
        peak = row.get("catalog_peak_flops_per_s")
        against = (
            (
                f"the {getattr(like, 'name', 'catalog')} dense {catalog_dtype(row['dtype'])} peak of "
                f"{_rate_words(peak)}"
            )
            if peak
            else "the catalog peak"
        )
        return f"{_rate_words(row['flops_per_s'])} is above {against}, so the timing is wrong"
    if row["outlier"]:
        ratio = row.get("outlier_ratio")
        times = f"{ratio:.1f}× " if ratio else "more than 3× "
        return f"outlier ({times}the median rate of the other sizes; the limit is {OUTLIER_RATIO:g}×)"
    return ""


def chosen_flops(result: dict, like: Any | None = None) -> dict[str, float]:
    """FLOP/s per measured data type (numpy's names) that estimates take: see ``assess_gemm``."""
    return {r["dtype"]: r["flops_per_s"] for r in assess_gemm(result, like) if r["chosen"]}


def choice_words(rows: list[dict]) -> str:
    """In words, which figure per data type "use measured" takes, from ``assess_gemm``'s rows."""
    chosen = [r for r in rows if r["chosen"]]
    if not chosen:
        return (
            "No product of this measurement is usable (each is wrong, too small to time, above the "
            'catalog peak or an outlier), so "use measured" cannot use it.'
        )
    parts = [
        f"{catalog_dtype(r['dtype'])} {_rate_words(r['flops_per_s'])} ({r['m']}×{r['k']}×{r['n']})"
        for r in sorted(chosen, key=lambda r: r["dtype"])
    ]
    left_out = sum(not r["used"] for r in rows)
    tail = f"; {left_out} of {len(rows)} products are not used (see the table)" if left_out else ""
    return f'"Use measured" on the Plan page takes, {CHOICE_RULE}: {", ".join(parts)}{tail}.'


def measured_device(result: dict, *, bench_id: str, like: Any | None = None) -> Any:
    """A catalog Device whose peaks and bandwidth are this benchmark's measurements (memory, power
    and embodied data from ``like``, the matching catalog entry, when given). Peaks: ``CHOICE_RULE``
    (``assess_gemm``), so a flagged or failed product never sets one; a data type with no usable
    product is left out. Bandwidth: the highest measured. NoUsableMeasurement (a BenchmarkError)
    when no data type has a usable product or there is no bandwidth figure."""

    rows = assess_gemm(result, like)
    peaks = {catalog_dtype(r["dtype"]): r["flops_per_s"] / 1e12 for r in rows if r["chosen"]}
    bandwidth = max((row["bytes_per_s"] for row in result["bandwidth"]), default=None)
    if not peaks:
        reasons = "; ".join(f"{r['dtype']} {r['m']}×{r['k']}×{r['n']}: {r['reason']}" for r in rows)
        raise NoUsableMeasurement(
            f"benchmark {bench_id} has no usable matmul to take peaks from "
            f"({reasons or 'no matmul was measured'}); "
            "run it again, in full mode if you can"
        )
    if bandwidth is None:
        raise NoUsableMeasurement(f"benchmark {bench_id} has no bandwidth figure to use")
    machine = result["machine"]
    name = machine.get("gpu_name") or machine.get("cpu_model") or "this machine"
    memory_gb = (machine.get("gpu_memory_bytes") or available_memory_bytes()) / 1e9
    return Device(
        hardware_id=f"measured:{bench_id}",
        name=f"{name} (measured)",
        peak_tflops=peaks,
        memory_gb=memory_gb,
        bandwidth_gb_s=bandwidth / 1e9,
        tdp_w=getattr(like, "tdp_w", None),
        die_area_cm2=getattr(like, "die_area_cm2", None),
        cpa_kg_per_cm2=getattr(like, "cpa_kg_per_cm2", None),
        source=f"FLOPwise microbenchmark {bench_id}",
        user_defined=True,
        notes=f"peaks: {CHOICE_RULE}",
        tdp_estimated=bool(getattr(like, "tdp_estimated", False)),
        power_source=getattr(like, "power_source", "") or "",
    )


_GPU_NAMES = (
    ("H200", "h200-sxm"),
    ("H100 PCIe", "h100-pcie"),
    ("H100", "h100-sxm"),
    ("A100-SXM4-40GB", "a100-40gb"),
    ("A100", "a100-80gb"),
    ("V100", "v100-sxm2"),
    ("L40S", "l40s"),
    ("4090", "rtx-4090"),
    ("MI300X", "mi300x"),
    ("B200", "b200"),
    ("GB200", "gb200"),
)


def catalog_match(machine: dict) -> str | None:
    """The catalog id for the benchmarked GPU, by name; None for CPUs and unknown GPUs."""
    gpu = machine.get("gpu_name") or ""
    for needle, hardware_id in _GPU_NAMES:
        if needle.lower() in gpu.lower():
            return hardware_id
    return None


def gemm_intensity(row: dict) -> float:
    """FLOPs per byte a GEMM must move at least: 2mnk / ((mk + kn + mn) · element bytes)."""

    size = BYTES_PER_ELEMENT[catalog_dtype(row["dtype"])]
    m, n, k = row["m"], row["n"], row["k"]
    return 2.0 * m * n * k / ((m * k + k * n + m * n) * size)


def achieved_fractions(result: dict, device: Any) -> list[dict]:
    """Per measured GEMM, the share of ``device``'s catalog peak for that data type, in words too (a
    product estimates do not use says so and why)."""
    rows = []
    for row in assess_gemm(result, device):
        name = catalog_dtype(row["dtype"])
        peak = device.peak_tflops.get(name)
        if peak is None:
            continue
        fraction = row["flops_per_s"] / (peak * 1e12)
        shape = f"{row['m']}×{row['k']}×{row['n']}"
        words = f"{name} matmul reaches {fraction:.0%} of the catalog peak at {shape}"
        if not row["used"]:
            words += f" (not used for estimates: {row['reason']})"
        rows.append({**row, "catalog_peak_flops_per_s": peak * 1e12, "fraction": fraction, "words": words})
    return rows
