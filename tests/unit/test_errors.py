"""The one error root (FlopwiseError) and the one number rule (engine.errors.number_problem / positive)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.cli import CliError
from engine.cost.flops import Architecture, ArchitectureError
from engine.cost.footprint import FootprintError, device_hours_for_flops, footprint_from_device_hours
from engine.cost.hardware import HardwareError, device_from_row, load_catalog
from engine.cost.microbench import BenchmarkError, Cancelled
from engine.data.ingest import IngestError
from engine.data.store import StoreBusyError
from engine.errors import FlopwiseError, LawError, number_problem, positive
from engine.paths import REPO_ROOT

ENGINE_ERRORS = (
    LawError,
    IngestError,
    FootprintError,
    HardwareError,
    BenchmarkError,
    Cancelled,
    StoreBusyError,
    CliError,
    ArchitectureError,
)


@pytest.mark.parametrize("cls", ENGINE_ERRORS, ids=lambda c: c.__name__)
def test_every_engine_error_is_a_flopwise_error(cls):
    assert issubclass(cls, FlopwiseError)


def test_no_engine_module_defines_an_error_outside_the_root():
    found = []
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        if info.name == "engine.__main__":  # running it is the CLI
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and issubclass(cls, BaseException):
                found.append(cls)
                assert issubclass(cls, FlopwiseError), f"{info.name}.{cls.__name__} is not a FlopwiseError"
    assert set(ENGINE_ERRORS) <= set(found)


@pytest.mark.parametrize(
    "bad",
    [
        0,
        -1,
        0.0,
        float("nan"),
        float("inf"),
        -float("inf"),
        "3",
        "abc",
        None,
        [1.0, -2.0],
        np.array([1.0, np.nan]),
    ],
)
def test_positive_rejects_what_is_not_a_positive_finite_number_naming_it(bad):
    with pytest.raises(LawError, match=r"^budget must be a (number|positive finite number), got "):
        positive("budget", bad)


def test_positive_accepts_numbers_and_arrays():
    assert positive("x", 2) == 2.0 and positive("x", 1e-300) > 0
    got = positive("x", [1, 2.5, 1e24])
    assert isinstance(got, np.ndarray) and got.dtype == float and list(got) == [1.0, 2.5, 1e24]
    assert positive("x", np.array([[3.0]])).shape == (1, 1)


def test_allow_zero_and_high():
    assert positive("x", 0, allow_zero=True) == 0.0
    with pytest.raises(LawError, match="x must be a non-negative finite number, got -1"):
        positive("x", -1, allow_zero=True)
    assert positive("mfu", 1.0, high=1.0) == 1.0
    with pytest.raises(LawError, match=r"mfu must be .* at most 1, got 1.5"):
        positive("mfu", 1.5, high=1.0)
    with pytest.raises(LawError, match="at most 1"):
        positive("mfu", [0.5, 2.0], high=1.0)


def test_positive_raises_the_callers_class_and_reads_text_only_when_asked():
    with pytest.raises(HardwareError, match="tdp_w must be a positive finite number"):
        positive("tdp_w", -3, error=HardwareError)
    assert positive("x", " 1e3 ", text=True) == 1000.0
    with pytest.raises(LawError, match="x must be a number, got '1e3'"):
        positive("x", "1e3")


def test_number_problem_is_the_rule_and_the_words():
    assert number_problem(5) is None and number_problem([1, 2]) is None
    assert number_problem(-5) == "must be a positive finite number"
    assert number_problem("abc", text=True) == "must be a number"
    assert number_problem("nan", text=True) == "must be a positive finite number"
    # the pages' URL check: a closed range
    assert number_problem("8", 2, 16, low_inclusive=True, text=True) is None
    assert number_problem("2", 2, 16, low_inclusive=True, text=True) is None
    for raw in ("40", "1", "inf", "nan"):
        problem = number_problem(raw, 2, 16, low_inclusive=True, text=True)
        assert problem == "must be a finite number from 2 to 16", raw


def test_the_url_check_uses_the_one_rule():
    import ui.url

    assert ui.url.number_problem is number_problem
    assert not hasattr(ui.url, "_number_problem")


# --- each replaced validator: its caller still raises its own class, naming the parameter -------------

H100 = load_catalog()["h100-sxm"]


def test_footprint_refuses_a_negative_mfu_and_grid_naming_them():
    with pytest.raises(FootprintError, match=r"mfu \(a fraction of peak\) must be .*, got -0.4"):
        device_hours_for_flops(1e23, H100, mfu=-0.4)
    with pytest.raises(FootprintError, match="flops must be a positive finite number"):
        device_hours_for_flops([1e23, -1.0], H100)
    with pytest.raises(FootprintError, match=r"grid intensity \(gCO2e/kWh\) must be a non-negative finite"):
        footprint_from_device_hours(10.0, H100, n_devices=8, grid_g_per_kwh=-1.0)
    with pytest.raises(FootprintError, match="pue must be a positive finite number, got nan"):
        footprint_from_device_hours(10.0, H100, n_devices=8, grid_g_per_kwh=400.0, pue=float("nan"))


def test_a_hardware_row_with_a_negative_bandwidth_is_refused_naming_the_field():
    row = {"hardware_id": "x", "peak_bf16_tflops": 100, "memory_gb": 16, "bandwidth_gb_s": -800}
    with pytest.raises(HardwareError, match="x: bandwidth_gb_s must be a positive finite number, got -800"):
        device_from_row(row)
    with pytest.raises(HardwareError, match="x: memory_gb must be a number, got 'lots'"):
        device_from_row({**row, "bandwidth_gb_s": 800, "memory_gb": "lots"})
    assert device_from_row({**row, "bandwidth_gb_s": "800", "memory_gb": "16"}).memory_gb == 16.0  # CSV text


def test_an_impossible_architecture_is_an_architecture_error_naming_the_width():
    with pytest.raises(ArchitectureError, match="d_ff must be a positive finite number, got -4"):
        Architecture(n_layers=2, d_model=64, n_heads=8, d_ff=-4)
    # n_kv_heads=0 was a ZeroDivisionError
    with pytest.raises(ValueError, match="n_kv_heads must be a positive finite number, got 0"):
        Architecture(n_layers=2, d_model=64, n_heads=8, d_ff=256, n_kv_heads=0)


def test_law_inputs_that_may_be_zero_are_checked_by_the_rule():
    from engine.analysis.registry import get_law
    from engine.cost.lifetime import lifetime_optimum
    from engine.laws.precision import kbit_weight_bytes

    with pytest.raises(LawError, match="inference tokens must be a non-negative finite number, got -1"):
        lifetime_optimum(get_law("chinchilla"), 2.1, -1.0)
    with pytest.raises(LawError, match="block_size must be a positive finite number, got 0"):
        kbit_weight_bytes(1e9, 4, block_size=0)


def footprint_cli(*args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "engine",
        "footprint",
        "--flops",
        "1e23",
        "--hardware",
        "h100-sxm",
        "--devices",
        "8",
        *args,
    ]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)


def test_the_cli_refuses_a_negative_mfu_with_exit_2_and_a_message():
    out = footprint_cli("--mfu", "-1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        "argument --mfu: '-1' must be a finite number above 0 and at most 1 (a fraction of peak)"
        in out.stderr
    )
    out = footprint_cli("--grid-intensity", "nan")
    assert out.returncode == 2
    assert "argument --grid-intensity: 'nan' must be a non-negative finite" in out.stderr
