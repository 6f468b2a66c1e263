"""Saved scenarios for reading: the comparison table's labels and formats, the list of saved
scenarios, and the Plan page's URL words for a scenario's inputs. No Streamlit here: the
Scenarios page and the HTML report (ui/report.py) both use it.

Names, authors and notes are user text; these frames hold them as given, and whoever shows them
shows plain text (st.dataframe and html.escape do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from engine.analysis import plan
from engine.analysis.registry import constant_label
from ui import format as fmt

# The Plan page's URL words for the inputs whose widget differs from the engine field (its
# app_pages/plan.py CONVERTED): the mode radio's labels, tokens served in trillions, the front words.
PLAN_MODE_WORDS = {
    plan.PlanMode.BUDGET: "Compute budget",
    plan.PlanMode.DEVICES_DAYS: "Devices × days",
    plan.PlanMode.TARGET_LOSS: "Target loss",
}
PLAN_FRONT_WORDS = {"cost_usd": "cost", "co2_t": "CO2e", "latency_ms": "latency", "memory_gb": "memory"}
FRONT_AXES = {
    "cost_usd": "Lifetime cost ($)",
    "co2_t": "Lifetime CO2e (t)",
    "latency_ms": "Decode latency (ms/token)",
    "memory_gb": "Serving memory (GB)",
}
FRONT_WORDS = {
    "cost_usd": "lifetime cost",
    "co2_t": "lifetime CO2e",
    "latency_ms": "decode latency",
    "memory_gb": "serving memory",
}


def plan_link_params(inputs: plan.PlanInputs) -> dict[str, str]:
    """The scenario as the Plan page's query parameters (what its share link holds): each widget's
    key and value as the widgets bind them (booleans as true/false, tokens served in trillions)."""
    out: dict[str, str] = {}
    for field, value in inputs.to_json().items():
        if field == "plan_mode":
            out["plan_mode"] = PLAN_MODE_WORDS[inputs.plan_mode]
        elif field == "inference_tokens":
            out["inference_tokens_t"] = str(inputs.inference_tokens / 1e12)
        elif field == "front_objective":
            out["plan_front"] = PLAN_FRONT_WORDS[inputs.front_objective]
        else:
            out[field] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _fixed(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{float(v):.{digits}f}"


def _thousandth(formatter: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda v: formatter(float(v) / 1000)


def _yes(v: Any) -> str:
    return "yes" if v else "⚠ no"


# compare_frame row -> (label with unit, formatter of a value that is not None)
COMPARE_ROWS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "plan_mode": ("Plan from", lambda v: PLAN_MODE_WORDS[plan.PlanMode(v)]),
    "log10_flops": ("Training compute (log10 FLOPs)", _fixed(2)),
    "days": ("Days of training", fmt.short),
    "target_loss": ("Target loss (nats/token)", _fixed(4)),
    "n_devices": ("Devices", lambda v: f"{int(v):,}"),
    "plan_law": ("Law", str),
    "hardware": ("Hardware", str),
    "measurement": ("Measurement", str),
    "train_dtype": ("Data type", str),
    "mfu_train": ("MFU, training", fmt.short),
    "mfu_prefill": ("MFU, prefill", fmt.short),
    "mfu_decode": ("MFU, decode", fmt.short),
    "inference_tokens": ("Tokens served (lifetime)", fmt.count),
    "prompt_fraction": ("Share that is prompt", fmt.short),
    "region": ("Grid region", str),
    "custom_grid": ("Own grid intensity (gCO2e/kWh)", fmt.short),
    "pue": ("PUE", fmt.short),
    "price": ("Price ($ per device-hour)", fmt.money),
    "power_w": ("Average power per device (W; 0 = catalog)", fmt.short),
    "memory_limit_gb": ("Serving memory limit (GB; 0 = none)", fmt.short),
    "front_objective": ("Front: loss against", lambda v: FRONT_AXES.get(v, str(v))),
    "law.title": ("Law title", str),
    "law.verified": ("Law constants checked against the source", _yes),
    "device.name": ("Device", str),
    "device.peak_train_tflops": ("Device peak, training data type (TFLOP/s, dense)", fmt.short),
    "device.memory_gb": ("Device memory (GB)", fmt.short),
    "device.bandwidth_gb_s": ("Memory bandwidth (GB/s)", fmt.short),
    "device.tdp_w": ("Device power, catalog (W)", fmt.short),
    "flops_train": ("Training compute (FLOPs)", fmt.sci),
    "n_params": ("Parameters N", fmt.count),
    "n_tokens": ("Training tokens D", fmt.count),
    "tokens_per_param": ("Tokens per parameter", fmt.ratio),
    "loss": ("Predicted loss (nats/token)", _fixed(4)),
    "train_device_hours": ("Training device-hours", fmt.count),
    "train_wall_days": ("Wall-clock days", fmt.sig),
    "train_energy_kwh": ("Training energy (MWh)", _thousandth(fmt.sig)),
    "train_co2_kg": ("Training CO2e, operational (t)", _thousandth(fmt.sig)),
    "train_embodied_co2_kg": ("Training CO2e, embodied (t)", _thousandth(fmt.sig)),
    "train_cost_usd": ("Training cost", fmt.money),
    "serve_device_hours": ("Lifetime serving device-hours", fmt.count),
    "serve_cost_usd": ("Lifetime serving cost", fmt.money),
    "serve_co2_kg": ("Lifetime serving CO2e (t)", _thousandth(fmt.sig)),
    "total_cost_usd": ("Lifetime cost (train + serve)", fmt.money),
    "total_co2_kg": ("Lifetime CO2e (t)", _thousandth(fmt.sig)),
    "decode_ms_per_token": ("Decode latency (ms/token, batch 1)", fmt.sig),
    "tokens_per_s": ("Throughput (tokens/s, batch 1)", fmt.short),
    "cost_per_million_tokens_usd": ("Serving cost per 1M tokens", fmt.money),
    "serving_memory_gb": ("Serving memory, weights (GB)", fmt.sig),
    "grid_g_per_kwh": ("Grid intensity (gCO2e/kWh)", fmt.sig),
    "lifetime_n_params": ("Inference-aware alternative: parameters", fmt.count),
    "lifetime_n_tokens": ("Inference-aware alternative: tokens", fmt.count),
}
SECTION_WORDS = {"inputs": "Inputs", "law": "Law", "device": "Device", "results": "Results"}
NOT_APPLICABLE = fmt.DASH


def _label(key: str) -> str:
    if key in COMPARE_ROWS:
        return COMPARE_ROWS[key][0]
    if key.startswith("law."):
        return f"Law constant {constant_label(key[4:])}"
    return key


def _shown(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return NOT_APPLICABLE
    formatter = COMPARE_ROWS.get(key, (None, fmt.constant if key.startswith("law.") else str))[1]
    try:
        return formatter(value)
    except (TypeError, ValueError, KeyError):
        return str(value)


def comparison_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``engine.analysis.scenarios.compare_frame`` for reading: one row per quantity (label with
    unit), a ``Section`` column, the scenarios' formatted values ('–' where one does not apply or
    is not known) and ``Differs`` ('≠' where the values are not all equal, else '')."""
    scenarios = [c for c in frame.columns if c not in ("section", "differs")]
    table = pd.DataFrame(
        {
            "Section": [SECTION_WORDS.get(s, s) for s in frame["section"]],
            **{name: [_shown(key, v) for key, v in frame[name].items()] for name in scenarios},
            "Differs": ["≠" if d else "" for d in frame["differs"]],
        },
        index=pd.Index([_label(k) for k in frame.index], name="Quantity"),
    )
    return table


DIFFERS_STYLE = "background-color: #fef3c7; font-weight: 600"  # amber-100: readable in both themes


def highlighted(table: pd.DataFrame) -> Any:
    """``comparison_table`` as a pandas Styler with the rows that differ highlighted."""
    return table.style.apply(
        lambda row: [DIFFERS_STYLE if row["Differs"] else ""] * len(row),
        axis=1,
    )


def saved_list(rows: Sequence[dict]) -> pd.DataFrame:
    """Saved scenarios (rows of engine.data.scenarios.list_scenarios) for reading: name, author,
    note, when saved (UTC), law, hardware, parameters N and lifetime cost, as text."""
    out = []
    for row in rows:
        content = row["record"].get("plan", {})
        results, inputs = content.get("results", {}), content.get("inputs", {})
        out.append(
            {
                "Name": row["name"],
                "Author": row["author"],
                "Note": row["note"],
                "Saved (UTC)": f"{row['created_at']:%Y-%m-%d %H:%M}",
                "Law": inputs.get("plan_law", ""),
                "Hardware": content.get("hardware", {}).get("name", inputs.get("hardware", "")),
                "Parameters N": fmt.count(results.get("n_params")),
                "Lifetime cost": fmt.money(results.get("total_cost_usd")),
            }
        )
    return pd.DataFrame(out)
