"""Tables for reading, not for machines: labelled rows with units and formatted values.

The engine's frames keep machine column names (``train_co2_t``) and raw floats for CSV export;
these helpers turn them into what a page shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ui import format as fmt

# results_frame column -> (row label with unit, formatter)
SCENARIO_ROWS: dict[str, tuple[str, Callable[[float], str]]] = {
    "n_params": ("Active parameters N", fmt.count),
    "total_params": ("Total parameters (all experts)", fmt.count),
    "n_tokens": ("Training tokens D", fmt.count),
    "experts": ("Experts", lambda e: "dense" if int(e) == 1 else f"{int(e)}"),
    "serve_bits": ("Serving precision", lambda b: f"{b:g}-bit"),
    "sparsity": ("Weight sparsity", lambda s: "2:4 (half the weights zero)" if s == 0.5 else "none"),
    "fp8_training": ("Trained in", lambda f: "FP8 (E4M3)" if f else "the plan's data type"),
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
    """``engine.analysis.plan.results_frame`` as rows of labelled, formatted values, one column per
    scenario."""
    columns = {}
    for _, row in results.iterrows():
        columns[f"Scenario {row['scenario']}"] = [
            formatter(row[key]) for key, (_, formatter) in SCENARIO_ROWS.items()
        ]
    return pd.DataFrame(columns, index=[label for label, _ in SCENARIO_ROWS.values()])


def _shown(value: object) -> str:
    """A value for an explain() table: numbers to 3 significant figures, None as 'not known'."""
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return fmt.sig(value)
    return str(value)


def inputs_table(inputs: dict[str, object]) -> pd.DataFrame:
    """An explain() table: input name -> value, numbers to 3 significant figures, None as 'not known'."""
    return pd.DataFrame({"value": [_shown(v) for v in inputs.values()]}, index=list(inputs))


def formula_table(
    symbols: Sequence[tuple[str, str]], values: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """A formula's symbols for reading (engine.formula.Formula.inputs): symbol -> what it means, with
    its unit, and with ``values`` this scenario's value of each (as ``inputs_table``; '–' where none)."""
    frame = pd.DataFrame(
        {"meaning": [meaning for _, meaning in symbols]}, index=[symbol for symbol, _ in symbols]
    )
    if values is not None:
        frame["value here"] = [
            _shown(values[symbol]) if symbol in values else fmt.DASH for symbol, _ in symbols
        ]
    return frame


def readable(frame: pd.DataFrame, columns: dict) -> pd.io.formats.style.Styler:
    """A frame for reading, as a pandas Styler for ``st.dataframe``: only ``columns`` (engine
    column -> (label with unit, formatter or None)), in that order, under their labels; values
    shown by their formatter (``sci``: 1.40e18) and missing ones as '–', never 'None'. The numbers
    stay numbers underneath, so sorting a column sorts by value, except where Streamlit's grid cannot
    show a number column: booleans (drawn as checkboxes whatever the Styler says) and magnitudes of
    2^53 or more (FLOPs: the grid shows an error cell) are given as their formatted text. CSV
    downloads use the engine frame."""
    shown = frame[list(columns)].reset_index(drop=True)
    shown.columns = [label for label, _ in columns.values()]
    formats = {}
    for label, formatter in columns.values():
        if formatter is None:
            continue
        values = shown[label]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric or (values.abs() >= 2**53).any():
            shown[label] = [
                fmt.DASH
                if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
                else formatter(v)
                for v in values
            ]
        else:
            formats[label] = formatter
    return shown.style.format(formats, na_rep=fmt.DASH)
