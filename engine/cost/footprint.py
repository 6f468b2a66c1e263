"""Training (and serving) footprint from FLOPs: device-hours, days, energy, CO2e and dollars.

    device_hours   = FLOPs / (peak FLOP/s × MFU) / 3600
    wall_days      = device_hours / n_devices / 24
    energy_kWh     = device_hours × P_avg(kW) × PUE,  P_avg = TDP × power_utilisation unless given
    co2_kg         = energy_kWh × grid intensity (g/kWh) / 1000                   (operational)
    embodied_kg    = n_devices × device embodied kg × wall_hours / lifetime hours  (LLMCarbon)
    cost_usd       = device_hours × price per device-hour

This is LLMCarbon's operational model (Faiz et al. 2024, model.py: E = P·n·t·PUE, CO2 = E·CI) with
MFU as its "hardware efficiency", and its embodied model (die area × CPA + memory × 0.4 kg/GB,
amortised over a 5-year life). It reproduces Patterson et al. 2021's rows as LLMCarbon tabulates
them (tests/unit/test_footprint.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.cost.hardware import DEFAULT_LIFETIME_YEARS, Device
from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.errors import FlopwiseError

HOURS_PER_YEAR = 365.0 * 24.0


class FootprintError(FlopwiseError, ValueError):
    """An impossible input (non-positive MFU, no power figure, ...), named in the message."""


@dataclass(frozen=True)
class Footprint:
    device_hours: float
    wall_days: float
    energy_kwh: float | None  # None when no power figure is known (and none was required)
    co2_kg: float | None  # operational; None with the energy
    embodied_co2_kg: float | None  # None when the device's die area is unknown
    cost_usd: float | None  # None without a price

    @property
    def total_co2_kg(self) -> float | None:
        if self.co2_kg is None:
            return None
        return self.co2_kg + (self.embodied_co2_kg or 0.0)

    def as_dict(self) -> dict:
        return asdict(self)


def serving_device_hours(n_params, prompt_tokens: float, output_tokens: float, device: Device, *,
                         dtype: str = "bf16", mfu_prefill: float = 0.5, mfu_decode: float = 0.05):
    """Device-hours to serve: 2·N FLOPs per token, prompt tokens at the prefill MFU and generated
    tokens at the (much lower) decode MFU. Vectorized over N."""
    peak = device.peak_flops(dtype)
    flops_per_param = INFERENCE_FLOPS_PER_PARAM_TOKEN * (prompt_tokens / _positive("mfu_prefill", mfu_prefill)
                             + output_tokens / _positive("mfu_decode", mfu_decode))
    return flops_per_param * np.asarray(n_params, float) / peak / 3600.0


def operational(device_hours, watts, pue: float, grid_g_per_kwh: float):
    """(energy kWh, operational CO2e kg) = device-hours × W/1000 × PUE, × g/kWh / 1000. Vectorized."""
    energy_kwh = np.asarray(device_hours, float) * watts / 1000.0 * pue
    return energy_kwh, energy_kwh * grid_g_per_kwh / 1000.0


def embodied_kg(device_hours, device: Device, lifetime_years: float = DEFAULT_LIFETIME_YEARS):
    """LLMCarbon's amortised embodied CO2e: per-device kg × device-hours / lifetime hours (the same
    as n_devices × kg × wall-hours / lifetime). None when the device's die area is unknown."""
    if device.embodied_kg is None:
        return None
    return device.embodied_kg * np.asarray(device_hours, float) / (lifetime_years * HOURS_PER_YEAR)


def _positive(name: str, value: float | None) -> float:
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise FootprintError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def average_power_w(device: Device, power_w: float | None = None, power_utilisation: float = 1.0) -> float:
    """The average power drawn per device: ``power_w`` if given, else TDP × utilisation."""
    if power_w is not None:
        return _positive("power_w", power_w)
    if device.tdp_w is None:
        raise FootprintError(f"{device.name} has no TDP in the catalog: give the average power per device")
    return device.tdp_w * _positive("power_utilisation", power_utilisation)


def footprint_from_device_hours(
    device_hours: float,
    device: Device,
    *,
    n_devices: int,
    grid_g_per_kwh: float,
    pue: float = 1.0,
    power_w: float | None = None,
    power_utilisation: float = 1.0,
    price_per_device_hour: float | None = None,
    lifetime_years: float = DEFAULT_LIFETIME_YEARS,
    require_power: bool = True,
) -> Footprint:
    """Footprint of ``device_hours`` on ``n_devices`` devices (see the module formulas). Without a
    power figure (no TDP, no ``power_w``) this raises, or with ``require_power=False`` leaves the
    energy and operational CO2e as None."""
    hours = _positive("device_hours", device_hours)
    n = _positive("n_devices", n_devices)
    if grid_g_per_kwh is None or grid_g_per_kwh < 0:
        raise FootprintError(f"grid intensity must be 0 or more gCO2e/kWh, got {grid_g_per_kwh!r}")
    energy_kwh = co2 = None
    if power_w is not None or device.tdp_w is not None or require_power:
        watts = average_power_w(device, power_w, power_utilisation)
        energy_kwh, co2 = (float(x) for x in operational(hours, watts, _positive("pue", pue), grid_g_per_kwh))
    embodied = embodied_kg(hours, device, _positive("lifetime_years", lifetime_years))
    cost = None if price_per_device_hour is None else hours * float(price_per_device_hour)
    return Footprint(hours, hours / n / 24.0, energy_kwh, co2, None if embodied is None else float(embodied), cost)


def device_hours_for_flops(flops, device: Device, *, dtype: str = "bf16", mfu: float = 0.4):
    """FLOPs / (dense peak × MFU), in device-hours (vectorized over FLOPs)."""
    mfu = _positive("mfu", mfu)
    if mfu > 1:
        raise FootprintError(f"mfu is a fraction of peak (0 to 1], got {mfu}")
    c = np.asarray(flops, float)
    if not np.all(np.isfinite(c) & (c > 0)):
        raise FootprintError(f"flops must be positive, got {flops!r}")
    return c / (device.peak_flops(dtype) * mfu) / 3600.0


def training_footprint(
    flops: float, device: Device, *, n_devices: int, dtype: str = "bf16", mfu: float = 0.4, **kwargs
) -> Footprint:
    """Footprint of training for ``flops`` FLOPs (kwargs as footprint_from_device_hours)."""
    hours = float(device_hours_for_flops(flops, device, dtype=dtype, mfu=mfu))
    return footprint_from_device_hours(hours, device, n_devices=n_devices, **kwargs)
