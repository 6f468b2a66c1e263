"""Tables for reading, not for machines: labelled rows with units and formatted values.

The engine's frames keep machine column names (``train_co2_t``) and raw floats for CSV export;
these helpers turn them into what a page shows.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ui import format as fmt

# results_frame column -> (row label with unit, formatter)
SCENARIO_ROWS: dict[str, tuple[str, Callable[[float], str]]] = {
    "n_params": ("Active parameters N", fmt.count),
    "total_params": ("Total parameters (all experts)", fmt.count),
    "n_tokens": ("Training tokens D", fmt.count),
    "experts": ("Experts", lambda e: "dense" if int(e) == 1 else f"{int(e)}"),
    "serve_bits": ("Serving precision", lambda b: f"{b:g}-bit"),
    "tokens_per_param": ("Tokens per parameter", fmt.ratio),
    "loss": ("Predicted loss (nats/token)", lambda v: f"{v:.4f}"),
    "flops_train": ("Training compute (FLOPs)", fmt.sci),
    "train_device_hours": ("Training device-hours", fmt.count),
    "train_wall_days": ("Wall-clock days", fmt.sig),
    "train_energy_mwh": ("Training energy (MWh)", fmt.sig),
    "train_co2_t": ("Training CO2e, operational (t)", fmt.sig),
    "train_embodied_co2_t": ("Training CO2e, embodied (t)", fmt.sig),
    "train_cost_usd": ("Training cost", fmt.money),
    "serve_cost_usd": ("Lifetime serving cost", fmt.money),
    "serve_co2_t": ("Lifetime serving CO2e (t)", fmt.sig),
    "total_cost_usd": ("Lifetime cost (train + serve)", fmt.money),
    "total_co2_t": ("Lifetime CO2e (t)", fmt.sig),
    "decode_ms_per_token": ("Decode latency (ms/token, batch 1)", fmt.sig),
    "serving_memory_gb": ("Serving memory, weights (GB)", fmt.sig),
    "grid_g_per_kwh": ("Grid intensity (gCO2e/kWh)", fmt.sig),
}


def scenario_table(results: pd.DataFrame) -> pd.DataFrame:
    """``engine.plan.results_frame`` as rows of labelled, formatted values, one column per scenario."""
    columns = {}
    for _, row in results.iterrows():
        columns[f"Scenario {row['scenario']}"] = [formatter(row[key]) for key, (_, formatter) in SCENARIO_ROWS.items()]
    return pd.DataFrame(columns, index=[label for label, _ in SCENARIO_ROWS.values()])


def inputs_table(inputs: dict[str, object]) -> pd.DataFrame:
    """An explain() table: input name -> value, numbers to 3 significant figures, None as 'not known'."""
    def shown(value: object) -> str:
        if value is None:
            return "not known"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float)):
            return fmt.sig(float(value))
        return str(value)

    return pd.DataFrame({"value": [shown(v) for v in inputs.values()]}, index=list(inputs))
