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

from engine.hardware import DEFAULT_LIFETIME_YEARS, Device

HOURS_PER_YEAR = 365.0 * 24.0


class FootprintError(ValueError):
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
    flops_per_param = 2.0 * (prompt_tokens / _positive("mfu_prefill", mfu_prefill)
                             + output_tokens / _positive("mfu_decode", mfu_decode))
    return flops_per_param * np.asarray(n_params, float) / peak / 3600.0


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
    if power_w is None and device.tdp_w is None and not require_power:
        energy_kwh = None
    else:
        energy_kwh = hours * average_power_w(device, power_w, power_utilisation) / 1000.0 * _positive("pue", pue)
    if grid_g_per_kwh is None or grid_g_per_kwh < 0:
        raise FootprintError(f"grid intensity must be 0 or more gCO2e/kWh, got {grid_g_per_kwh!r}")
    wall_hours = hours / n
    per_device = device.embodied_kg
    embodied = None if per_device is None else n * per_device * wall_hours / (
        _positive("lifetime_years", lifetime_years) * HOURS_PER_YEAR)
    cost = None if price_per_device_hour is None else hours * float(price_per_device_hour)
    co2 = None if energy_kwh is None else energy_kwh * grid_g_per_kwh / 1000.0
    return Footprint(hours, wall_hours / 24.0, energy_kwh, co2, embodied, cost)


def device_hours_for_flops(flops: float, device: Device, *, dtype: str = "bf16", mfu: float = 0.4) -> float:
    """FLOPs / (dense peak × MFU), in device-hours."""
    mfu = _positive("mfu", mfu)
    if mfu > 1:
        raise FootprintError(f"mfu is a fraction of peak (0 to 1], got {mfu}")
    return _positive("flops", flops) / (device.peak_flops(dtype) * mfu) / 3600.0


def training_footprint(
    flops: float, device: Device, *, n_devices: int, dtype: str = "bf16", mfu: float = 0.4, **kwargs
) -> Footprint:
    """Footprint of training for ``flops`` FLOPs (kwargs as footprint_from_device_hours)."""
    hours = device_hours_for_flops(flops, device, dtype=dtype, mfu=mfu)
    return footprint_from_device_hours(hours, device, n_devices=n_devices, **kwargs)
