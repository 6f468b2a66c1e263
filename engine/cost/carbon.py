"""Grid carbon intensity (gCO2e per kWh) by country and cloud region, PUE defaults, and everyday
equivalents for a mass of CO2e. Every value carries its source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.paths import DATASETS_DIR

WORLD_AVERAGE_G_PER_KWH = 475.0  # IEA Global Energy & CO2 Status Report 2019, via CodeCarbon
WORLD = "World average (IEA 2019)"


@dataclass(frozen=True)
class GridIntensity:
    label: str
    g_co2_per_kwh: float
    year: str
    source: str


def load_grid_intensities(datasets_dir: Path = DATASETS_DIR) -> dict[str, GridIntensity]:
    """Countries then cloud regions, keyed by a readable label ('France', 'gcp europe-west1 …')."""
    out = {WORLD: GridIntensity(WORLD, WORLD_AVERAGE_G_PER_KWH, "2019", "IEA via CodeCarbon")}
    countries = pd.read_csv(datasets_dir / "grid_intensity_countries.csv")
    for row in countries.itertuples():
        out[row.country] = GridIntensity(row.country, float(row.g_co2_per_kwh), str(row.year), row.source)
    regions = pd.read_csv(datasets_dir / "grid_intensity_cloud_regions.csv", dtype={"year": str})
    for row in regions.itertuples():
        name = f"{row.provider} {row.region}" if isinstance(row.region, str) else row.provider
        label = f"{name} ({row.location})" if isinstance(row.location, str) and row.location else name
        out[label] = GridIntensity(label, float(row.g_co2_per_kwh), str(row.year), row.source)
    return out


@dataclass(frozen=True)
class Equivalent:
    label: str
    kg_co2_per_unit: float
    source: str


# US EPA, "Greenhouse Gas Emissions from a Typical Passenger Vehicle" (EPA-420-F-23-014, 2023):
# about 4.6 metric tons CO2 per year, about 400 grams per mile.
EQUIVALENTS = (
    Equivalent("years of driving a typical US passenger car", 4600.0, "US EPA 2023, EPA-420-F-23-014"),
    Equivalent("miles driven by a typical US passenger car", 0.400, "US EPA 2023, EPA-420-F-23-014"),
)


def equivalents(co2_kg: float) -> list[tuple[float, Equivalent]]:
    """How many of each everyday unit ``co2_kg`` kilograms of CO2e amount to."""
    return [(co2_kg / e.kg_co2_per_unit, e) for e in EQUIVALENTS]
