"""The accelerator catalog: dense peak throughput per data type, memory, bandwidth, power and
the inputs of LLMCarbon's embodied-carbon estimate.

Peaks are always dense (no 2:4 sparsity); vendors' headline figures are usually sparse and twice
these. Units in names: ``*_tflops`` are 1e12 FLOP/s, ``memory_gb`` 1e9 bytes, ``bandwidth_gb_s``
1e9 bytes/s, ``tdp_w`` watts, ``die_area_cm2`` cm², ``cpa_kg_per_cm2`` kg CO2e per cm² of die.

Every catalog device has a power figure ``tdp_w``: the vendor's TDP (or measured maximum) where one is
published, otherwise an estimate marked ``tdp_estimated``; ``power_source`` says where each figure comes
from and, for an estimate, how it was derived.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from engine.errors import FlopwiseError, positive
from engine.paths import DATASETS_DIR

CATALOG_FILE = "hardware_catalog.csv"
DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4")
_PEAK_COLUMNS = {
    "fp64": "peak_fp64_tflops",
    "fp32": "peak_fp32_tflops",
    "tf32": "peak_tf32_tflops",
    "bf16": "peak_bf16_tflops",
    "fp16": "peak_fp16_tflops",
    "fp8": "peak_fp8_tflops",
    "int8": "peak_int8_tops",
    "fp4": "peak_fp4_tflops",
}
# LLMCarbon (Faiz et al. 2024) embodied carbon of memory: 0.4 kg CO2e per GB of DRAM.
DRAM_KG_PER_GB = 0.4
DEFAULT_LIFETIME_YEARS = 5.0  # LLMCarbon's amortisation period (1825 days)


class HardwareError(FlopwiseError, ValueError):
    """A device entry with a missing or impossible value; the message names the field."""


SPARSE_2_4 = frozenset(
    {"a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200-sxm", "b200", "gb200", "l40s", "rtx-4090"}
)
"""Catalog devices with sparse tensor cores: 2:4 structured sparsity (two of every four weights zero)
at twice the dense peak, NVIDIA's since Ampere (A100) and kept in Ada, Hopper and Blackwell; the
catalog's notes say "sparse figures are twice these" for them. V100, AMD and TPU entries are taken
to have no such speed-up (a 2:4 model is served there as its dense size). Own devices: none."""


@dataclass(frozen=True)
class Device:
    hardware_id: str
    name: str
    peak_tflops: dict[str, float]  # dtype -> dense peak, 1e12 FLOP/s (or OP/s for int8)
    memory_gb: float
    bandwidth_gb_s: float
    tdp_w: float | None
    die_area_cm2: float | None = None
    cpa_kg_per_cm2: float | None = None
    vendor: str = ""
    source: str = ""
    notes: str = ""
    user_defined: bool = False
    extra: dict = field(default_factory=dict)
    tdp_estimated: bool = False  # True: tdp_w is an estimate, not a published figure (basis in power_source)
    power_source: str = ""  # where tdp_w comes from (for an estimate: how it was derived)

    @property
    def sparse_2_4(self) -> bool:
        """Whether the device runs 2:4-sparse matrix products at twice its dense peak (SPARSE_2_4)."""
        return self.hardware_id in SPARSE_2_4 and not self.user_defined

    def peak_flops(self, dtype: str) -> float:
        """Dense peak in FLOP/s for ``dtype``; HardwareError if the device lacks it."""
        value = self.peak_tflops.get(dtype)
        if value is None:
            have = ", ".join(self.supported_dtypes) or "none"
            raise HardwareError(f"{self.name} has no {dtype} peak in the catalog (it has: {have})")
        return value * 1e12

    @property
    def supported_dtypes(self) -> list[str]:
        return [d for d in DTYPES if self.peak_tflops.get(d) is not None]

    @property
    def memory_bytes(self) -> float:
        return self.memory_gb * 1e9

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.bandwidth_gb_s * 1e9

    def ridge_point(self, dtype: str) -> float:
        """FLOPs per byte above which a kernel is compute-bound (peak / bandwidth)."""
        return self.peak_flops(dtype) / self.bandwidth_bytes_per_s

    @property
    def embodied_kg(self) -> float | None:
        """LLMCarbon embodied CO2e of one device: die area × CPA + memory GB × 0.4 kg/GB.
        None when the die area is not known."""
        if self.die_area_cm2 is None or self.cpa_kg_per_cm2 is None:
            return None
        return self.die_area_cm2 * self.cpa_kg_per_cm2 + self.memory_gb * DRAM_KG_PER_GB

    def as_row(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k not in ("peak_tflops", "extra")}
        for dtype, column in _PEAK_COLUMNS.items():
            row[column] = self.peak_tflops.get(dtype)
        return row


def _required(row: dict, key: str) -> float:
    value = _number(row, key, required=True)
    assert value is not None  # _number raised HardwareError
    return value


def _number(row: dict, key: str, *, required: bool) -> float | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        if required:
            raise HardwareError(f"{row.get('hardware_id') or 'device'}: {key} is required")
        return None
    return float(
        positive(f"{row.get('hardware_id') or 'device'}: {key}", value, error=HardwareError, text=True)
    )


_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}


def _flag(row: dict, key: str) -> bool:
    """A yes/no field; missing or empty is False (rows stored before the field existed)."""
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, (bool, int)) and not isinstance(value, float):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise HardwareError(f"{row.get('hardware_id') or 'device'}: {key} must be true or false, got {value!r}")


def _text(row: dict, key: str, default: str = "") -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value).strip() or default


def device_from_row(row: dict, *, user_defined: bool = False) -> Device:
    """A Device from a catalog-shaped row, validated (positive numbers, units as in the names)."""
    hardware_id = str(row.get("hardware_id") or "").strip()
    if not hardware_id or len(hardware_id) > 60:
        raise HardwareError("hardware_id must be 1 to 60 characters")
    given = {d: _number(row, c, required=False) for d, c in _PEAK_COLUMNS.items()}
    peaks = {d: v for d, v in given.items() if v is not None}
    if not peaks:
        raise HardwareError(f"{hardware_id}: give at least one peak throughput (e.g. peak_bf16_tflops)")
    tdp_w = _number(row, "tdp_w", required=False)
    tdp_estimated = _flag(row, "tdp_estimated")
    power_source = _text(row, "power_source")
    if tdp_estimated and tdp_w is None:
        raise HardwareError(f"{hardware_id}: tdp_estimated is set but there is no tdp_w")
    if tdp_estimated and not power_source:
        raise HardwareError(f"{hardware_id}: an estimated tdp_w needs its basis in power_source")
    return Device(
        hardware_id=hardware_id,
        name=str(row.get("name") or hardware_id).strip(),
        peak_tflops=peaks,
        memory_gb=_required(row, "memory_gb"),
        bandwidth_gb_s=_required(row, "bandwidth_gb_s"),
        tdp_w=tdp_w,
        die_area_cm2=_number(row, "die_area_cm2", required=False),
        cpa_kg_per_cm2=_number(row, "cpa_kg_per_cm2", required=False),
        vendor=str(row.get("vendor") or ""),
        source=str(row.get("source") or ("added by a user" if user_defined else "")),
        notes=str(row.get("notes") or ""),
        user_defined=user_defined,
        tdp_estimated=tdp_estimated,
        power_source=power_source or ("added by a user" if user_defined and tdp_w is not None else ""),
    )


def load_catalog(datasets_dir: Path = DATASETS_DIR) -> dict[str, Device]:
    """The shipped catalog, by hardware_id."""
    frame = pd.read_csv(datasets_dir / CATALOG_FILE)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {row["hardware_id"]: device_from_row(row) for row in rows}


CATALOG_COLUMNS = (
    "hardware_id",
    "name",
    "vendor",
    *_PEAK_COLUMNS.values(),
    "memory_gb",
    "bandwidth_gb_s",
    "tdp_w",
    "tdp_estimated",
    "power_source",
    "die_area_cm2",
    "cpa_kg_per_cm2",
    "source",
    "notes",
    "user_defined",
)


def catalog_frame(devices: dict[str, Device]) -> pd.DataFrame:
    return pd.DataFrame([d.as_row() for d in devices.values()])[list(CATALOG_COLUMNS)]
