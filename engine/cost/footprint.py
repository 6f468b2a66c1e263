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

from engine.conventions import INFERENCE_FLOPS_PER_PARAM_TOKEN
from engine.cost.hardware import DEFAULT_LIFETIME_YEARS, DRAM_KG_PER_GB, Device
from engine.errors import FlopwiseError, positive
from engine.formula import Formula

HOURS_PER_YEAR = 365.0 * 24.0

LLMCARBON_CITATION = (
    "Faiz, A. et al. (2024). LLMCarbon: Modeling the End-to-End Carbon Footprint of Large Language "
    "Models. ICLR 2024. arXiv:2309.14393"
)
LLMCARBON_URL = "https://arxiv.org/abs/2309.14393"
_HW_INPUTS = (
    ("peak", "dense peak of one device at the data type (FLOP/s)"),
    ("n", "devices"),
    ("P", "average power drawn per device (W); the catalog TDP unless entered"),
    ("PUE", "power usage effectiveness: facility energy ÷ IT energy"),
    ("I_grid", "carbon intensity of the grid (gCO2e per kWh)"),
    ("A_die", "die area of one device (cm²)"),
    ("CPA", "carbon per area of die manufactured (kg CO2e per cm²)"),
    ("M", "memory of one device (GB)"),
    ("p", "price ($ per device-hour)"),
)
_FOOTPRINT_ASSUMPTIONS = (
    "Power: the entered average per device, else the catalog TDP (the device drawing its rated power "
    "throughout).",
    f"Embodied carbon per device: die area × CPA + {DRAM_KG_PER_GB:g} kg CO2e per GB of memory (LLMCarbon), "
    f"amortised over a {DEFAULT_LIFETIME_YEARS:g}-year life of "
    f"{DEFAULT_LIFETIME_YEARS * HOURS_PER_YEAR:,.0f} device-hours; not estimated for a device without a die "
    "area.",
    "Operational CO2e counts the grid's average intensity for the region; no renewable purchases or offsets.",
    "Devices are used only for this job during its hours: device-hours, not rented hours, are priced.",
)
_FOOTPRINT_LINES = (
    r"E &= \text{device-h}\cdot \frac{P}{1000}\cdot\text{PUE},\qquad CO_2 = E\cdot \frac{I_{grid}}{1000}\\"
    r"CO_2^{emb} &= \text{device-h}\cdot\frac{A_{die}\cdot\text{CPA} + "
    + f"{DRAM_KG_PER_GB:g}"
    + r"\, M}{"
    + f"{DEFAULT_LIFETIME_YEARS:g}"
    + r"\cdot "
    + f"{HOURS_PER_YEAR:g}"
    + r"},\qquad "
    r"\$ = \text{device-h}\cdot p"
)
_FOOTPRINT_OUTPUTS = (
    ("E", "energy drawn from the grid (kWh)"),
    ("CO₂", "operational emissions (kg CO2e)"),
    ("CO₂ emb", "embodied emissions: the share of the devices' manufacture this job uses (kg CO2e)"),
    ("$", "cost (US dollars)"),
)

TRAINING_FOOTPRINT = Formula(
    id="training-footprint",
    title="Training footprint: device-hours, days, energy, CO2e and dollars",
    latex=(
        r"\begin{aligned}\text{device-h} &= \frac{C}{\text{peak}\cdot\text{MFU}\cdot 3600},\qquad "
        r"\text{days} = \frac{\text{device-h}}{24\, n}\\" + _FOOTPRINT_LINES + r"\end{aligned}"
    ),
    inputs=(
        ("C", "training compute (FLOPs)"),
        ("MFU", "model FLOPs utilisation: the share of the peak that training reaches"),
        *_HW_INPUTS,
    ),
    outputs=(
        ("device-h", "device-hours of training"),
        ("days", "wall-clock days on n devices"),
        *_FOOTPRINT_OUTPUTS,
    ),
    assumptions=_FOOTPRINT_ASSUMPTIONS,
    citation=LLMCARBON_CITATION,
    url=LLMCARBON_URL,
    source_detail="LLMCarbon's operational model (model.py: E = P·n·t·PUE, CO2 = E·CI) with MFU as its "
    "hardware efficiency, and its embodied model; reproduces Patterson et al. 2021's GPT-3 and other rows as "
    "LLMCarbon tabulates them (tests/unit/test_footprint.py)",
    verified=True,
    conventions="Peaks are dense (no 2:4 sparsity); 1 kWh = 1000 W × 1 h; emissions in kg CO2e (t on the "
    "pages).",
    valid_range="Any budget; the MFU is what the user enters (0.3 to 0.6 is typical for large dense "
    "training).",
)

SERVING_DEVICE_HOURS = Formula(
    id="serving-device-hours",
    title="Lifetime serving: device-hours, energy, CO2e and dollars of the tokens served",
    latex=(
        r"\begin{aligned}\text{device-h} &= \frac{" + f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}" + r"N\left("
        r"\dfrac{D_{in}}{\text{MFU}_{prefill}} + \dfrac{D_{out}}{\text{MFU}_{decode}}\right)}{\text{peak}"
        r"\cdot 3600}\\" + _FOOTPRINT_LINES + r"\end{aligned}"
    ),
    inputs=(
        ("N", "parameters that compute each token"),
        ("D_in", "prompt tokens served over the model's life"),
        ("D_out", "generated tokens served over the model's life"),
        ("MFU_prefill", "share of the peak reached reading prompts"),
        ("MFU_decode", "share of the peak reached generating"),
        *_HW_INPUTS,
    ),
    outputs=(("device-h", "device-hours of serving"), *_FOOTPRINT_OUTPUTS),
    assumptions=(
        f"{INFERENCE_FLOPS_PER_PARAM_TOKEN:g}·N FLOPs per token served, prompt or output (no attention "
        "term).",
        "Serving runs on the training device at the training data type, priced and powered alike.",
        *_FOOTPRINT_ASSUMPTIONS,
    ),
    citation="Sardana, N., Portes, J., Doubov, S., Frankle, J. (2024). Beyond Chinchilla-Optimal: Accounting "
    "for Inference in Language Model Scaling Laws. ICML 2024. arXiv:2401.00448",
    url="https://arxiv.org/abs/2401.00448",
    source_detail="The inference cost of the authors' code (github.com/nikhilsardana/beyond-chinchilla "
    "@190f70e): 2·N·D_in/MFU_prefill + 2·N·D_out/MFU_decode FLOPs at the peak; footprint as LLMCarbon",
    verified=True,
    conventions="Tokens served: the lifetime demand, prompt and output together, split by the prompt share.",
)


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


def serving_device_hours(
    n_params,
    prompt_tokens: float,
    output_tokens: float,
    device: Device,
    *,
    dtype: str = "bf16",
    mfu_prefill: float = 0.5,
    mfu_decode: float = 0.05,
):
    """Device-hours to serve: 2·N FLOPs per token, prompt tokens at the prefill MFU and generated
    tokens at the (much lower) decode MFU. Vectorized over N."""
    peak = device.peak_flops(dtype)
    flops_per_param = INFERENCE_FLOPS_PER_PARAM_TOKEN * (
        prompt_tokens / _positive("mfu_prefill", mfu_prefill)
        + output_tokens / _positive("mfu_decode", mfu_decode)
    )
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


def _positive(name: str, value: float | None, **limits) -> float:
    """``value`` as a float, checked by the engine's one validator (a FootprintError naming ``name``)."""
    return float(positive(name, value, error=FootprintError, **limits))


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
    _positive("grid intensity (gCO2e/kWh)", grid_g_per_kwh, allow_zero=True)
    energy_kwh = co2 = None
    if power_w is not None or device.tdp_w is not None or require_power:
        watts = average_power_w(device, power_w, power_utilisation)
        energy_kwh, co2 = (float(x) for x in operational(hours, watts, _positive("pue", pue), grid_g_per_kwh))
    embodied = embodied_kg(hours, device, _positive("lifetime_years", lifetime_years))
    cost = None if price_per_device_hour is None else hours * float(price_per_device_hour)
    return Footprint(
        hours, hours / n / 24.0, energy_kwh, co2, None if embodied is None else float(embodied), cost
    )


def device_hours_for_flops(flops, device: Device, *, dtype: str = "bf16", mfu: float = 0.4):
    """FLOPs / (dense peak × MFU), in device-hours (vectorized over FLOPs)."""
    mfu = _positive("mfu (a fraction of peak)", mfu, high=1.0)
    c = positive("flops", flops, error=FootprintError)
    return c / (device.peak_flops(dtype) * mfu) / 3600.0


def training_footprint(
    flops: float, device: Device, *, n_devices: int, dtype: str = "bf16", mfu: float = 0.4, **kwargs
) -> Footprint:
    """Footprint of training for ``flops`` FLOPs (kwargs as footprint_from_device_hours)."""
    hours = float(device_hours_for_flops(flops, device, dtype=dtype, mfu=mfu))
    return footprint_from_device_hours(hours, device, n_devices=n_devices, **kwargs)
