"""Saved scenarios as data: their record, reopening one, comparing several, and scenario files.

A scenario's **record** is what :func:`engine.analysis.plan.export_json` writes (inputs, the law with
its constants and citation, the device row, the results), plus the recommended candidate's row of
the candidate table (``point``: loss, lifetime cost, CO2e, latency, memory) and the FLOPwise version
that computed it. The store keeps it as JSON (engine.data.scenarios); a scenario **file** wraps it
with its name, author, note and a SHA-256 checksum (``export_scenario``, ``import_scenario``).

Reopening re-evaluates the inputs with the law constants, device figures and grid intensity saved
in the record, so a scenario reopens exactly; it then says in words what has changed since: the
law's constants, the device's figures, the grid's intensity, and results that now differ.

Nothing here draws or stores; the pages and ui/report.py do.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.analysis import plan
from engine.analysis.fit import PARAM_NAMES, fitted_law
from engine.analysis.registry import FIT_PREFIX, LAWS
from engine.cost.carbon import GridIntensity, load_grid_intensities
from engine.cost.hardware import Device, HardwareError, device_from_row, load_catalog
from engine.data.scenarios import ScenarioError
from engine.errors import FlopwiseError
from engine.laws.base import Law
from engine.paths import REPO_ROOT

RECORD_VERSION = 1
"""The layout of a record (``scenario_record``); a record of another version is refused."""
FILE_SCHEMA = "flopwise.scenario/1"
"""A scenario file: name, author, note, record and checksum (``export_scenario``)."""
MAX_COMPARED = 6
RESULT_RTOL = 1e-9
"""How close a re-evaluated number must be to the saved one to count as the same: JSON keeps a
float exactly and the evaluation is deterministic, so only rounding noise is allowed."""


class ScenarioFileError(ScenarioError):
    """A scenario file that cannot be imported: not JSON, not FLOPwise's, of a version this one does
    not read, incomplete, or changed after export. Nothing is stored from it."""


# --- the FLOPwise version ------------------------------------------------------------------------


def _git_commit() -> str | None:
    """The checkout's commit (short), read from .git without running git; None outside a checkout."""
    git = REPO_ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = git / ref
            if path.exists():
                return path.read_text().strip()[:7]
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:7]
            return None
        return head[:7] if re.fullmatch(r"[0-9a-f]{40}", head) else None
    except OSError:
        return None


def flopwise_version() -> str:
    """'0.1.0' (pyproject.toml's version), with the checkout's commit when there is one:
    '0.1.0 (b36455e)'."""
    try:
        version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    commit = _git_commit()
    return f"{version} ({commit})" if commit else str(version)


# --- the record ------------------------------------------------------------------------------------


def scenario_record(result: plan.PlanResult, law: Law, device: Device) -> dict:
    """The record of a planned scenario: ``plan.export_json``'s content (schema, inputs, law with
    constants, hardware row, results) under ``plan``, the recommendation's candidate row under
    ``point``, and the version that computed it."""
    return {
        "record_version": RECORD_VERSION,
        "plan": json.loads(plan.export_json(result, law, device)),
        "point": {k: float(v) for k, v in (result.point or {}).items()},
        "flopwise_version": flopwise_version(),
    }


def _require(mapping: Any, key: str, kind: type, where: str) -> Any:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind):
        raise ScenarioFileError(f"the scenario has no {where}{key} ({kind.__name__} expected)")
    return value


def check_record(record: Any) -> plan.PlanInputs:
    """The record's inputs, after checking its shape (record version, plan schema, inputs, law
    id and numeric constants, device row, results); ScenarioFileError naming what is missing."""
    if not isinstance(record, dict):
        raise ScenarioFileError("the scenario's record is not a JSON object")
    version = record.get("record_version")
    if version != RECORD_VERSION:
        raise ScenarioFileError(
            f"the scenario's record has version {version!r}; this FLOPwise reads version {RECORD_VERSION}"
        )
    content = _require(record, "plan", dict, "")
    if content.get("schema") != plan.SCHEMA:
        raise ScenarioFileError(
            f"the scenario's plan has schema {content.get('schema')!r}; this FLOPwise reads {plan.SCHEMA}"
        )
    law = _require(content, "law", dict, "plan.")
    law_id = _require(law, "id", str, "plan.law.")
    params = _require(law, "parameters", dict, "plan.law.")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in params.values()):
        raise ScenarioFileError("the law's constants (plan.law.parameters) must be numbers")
    _require(content, "hardware", dict, "plan.")
    _require(content, "results", dict, "plan.")
    _require(record, "point", dict, "")
    try:
        inputs = plan.PlanInputs.from_json(_require(content, "inputs", dict, "plan."))
    except (FlopwiseError, TypeError, ValueError) as exc:
        raise ScenarioFileError(f"the scenario's inputs cannot be used: {exc}") from None
    if inputs.plan_law != law_id:
        raise ScenarioFileError(
            f"the scenario's inputs name the law {inputs.plan_law!r} but its law section is {law_id!r}"
        )
    return inputs


def inputs_of(record: dict) -> plan.PlanInputs:
    return plan.PlanInputs.from_json(record["plan"]["inputs"])


# --- rebuilding what a record used ---------------------------------------------------------------


def _same_number(a: Any, b: Any, rtol: float = RESULT_RTOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def saved_law(record: dict, current_laws: Mapping[str, Law]) -> tuple[Law, list[str]]:
    """The law with the constants saved in the record, and what differs from today's law of that
    id (in words; empty when nothing does). A law this FLOPwise no longer has is rebuilt from the
    saved constants when it was a fit (Chinchilla form); otherwise ScenarioError."""
    saved = record["plan"]["law"]
    law_id, params = saved["id"], {k: float(v) for k, v in saved["parameters"].items()}
    current = current_laws.get(law_id)
    if current is None:
        if law_id.startswith(FIT_PREFIX) and set(params) == set(PARAM_NAMES):
            name = law_id[len(FIT_PREFIX) :]
            fit = fitted_law(law_id, name, params, fitted_on="the constants saved with this scenario")
            return fit, [
                f"The law {law_id} is no longer stored (the fit was deleted or renamed): "
                "the scenario is shown with the constants saved with it."
            ]
        raise ScenarioError(
            f"the scenario uses the law {law_id!r}, which this FLOPwise does not have; "
            f"known laws: {', '.join(current_laws)}"
        )
    if set(current.parameters) != set(params):
        raise ScenarioError(
            f"the law {law_id} now has the constants {sorted(current.parameters)}, the scenario saved "
            f"{sorted(params)}: it cannot be re-evaluated with them"
        )
    changed = [
        f"{k} {params[k]:.6g} → {float(v):.6g}"
        for k, v in current.parameters.items()
        if not _same_number(params[k], v)
    ]
    if not changed:
        return current, []
    law = current.with_constants(**params)
    return law, [
        f"The constants of the law {law_id} changed since this scenario was saved ({'; '.join(changed)}, "
        "saved → now): it is shown with the saved constants."
    ]


_DEVICE_FIGURES = (
    "memory_gb",
    "bandwidth_gb_s",
    "tdp_w",
    "die_area_cm2",
    "cpa_kg_per_cm2",
)


def saved_device(record: dict, current_devices: Mapping[str, Device]) -> tuple[Device, list[str]]:
    """The device with the figures saved in the record, and what differs from today's entry of that
    id (peaks, memory, bandwidth, power, die area, CPA) in words."""
    row = record["plan"]["hardware"]
    try:
        device = device_from_row(row, user_defined=bool(row.get("user_defined")))
    except HardwareError as exc:
        raise ScenarioFileError(f"the scenario's device cannot be used: {exc}") from None
    current = current_devices.get(device.hardware_id)
    if current is None:
        return device, [
            f"The device {device.hardware_id} is no longer in the catalog or among your devices: "
            "the scenario is shown with the figures saved with it."
        ]
    now = current.as_row()
    keys = [k for k in now if k.startswith("peak_")] + list(_DEVICE_FIGURES)
    changed = [
        f"{k} {_words(row.get(k))} → {_words(now.get(k))}"
        for k in keys
        if not _same_number(row.get(k), now.get(k))
    ]
    if not changed:
        return current, []
    return device, [
        f"The figures of the device {device.hardware_id} changed since this scenario was saved "
        f"({'; '.join(changed)}, saved → now): it is shown with the saved figures."
    ]


def _words(value: Any) -> str:
    return "none" if value is None else f"{float(value):.6g}" if _number(value) else str(value)


def saved_grid(
    record: dict, current_grids: Mapping[str, GridIntensity]
) -> tuple[dict[str, GridIntensity], list[str]]:
    """Grids for re-evaluating the record (its region at the intensity saved), and whether today's
    intensity of that region differs."""
    inputs = inputs_of(record)
    results = record["plan"]["results"]
    if inputs.use_custom_grid:
        return dict(current_grids), []
    saved_g = results.get("grid_g_per_kwh")
    current = current_grids.get(inputs.region)
    if current is not None and _same_number(saved_g, current.g_co2_per_kwh):
        return dict(current_grids), []
    if not _number(saved_g):
        raise ScenarioFileError("the scenario's results have no grid intensity (grid_g_per_kwh)")
    grid = GridIntensity(inputs.region, float(saved_g), "", str(results.get("grid_source") or "saved"))
    if current is None:
        note = f"The grid region {inputs.region!r} is no longer listed: shown with the saved intensity."
    else:
        note = (
            f"The grid intensity of {inputs.region} changed since this scenario was saved "
            f"({float(saved_g):.6g} → {current.g_co2_per_kwh:.6g} gCO2e/kWh): it is shown with the saved one."
        )
    return {**current_grids, inputs.region: grid}, [note]


# --- comparing results -------------------------------------------------------------------------------

RESULT_WORDS = {
    "flops_train": "training compute (FLOPs)",
    "n_params": "parameters N",
    "n_tokens": "training tokens D",
    "loss": "predicted loss (nats/token)",
    "total_cost_usd": "lifetime cost ($)",
    "total_co2_kg": "lifetime CO2e (kg)",
    "train.cost_usd": "training cost ($)",
    "train.co2_kg": "training CO2e (kg)",
    "train.energy_kwh": "training energy (kWh)",
    "train.device_hours": "training device-hours",
    "serve.cost_usd": "lifetime serving cost ($)",
    "inference.decode_s_per_step": "decode latency (s/token)",
}


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Numbers, booleans and None of a nested dict, by dotted path (texts are left out)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}{k}."))
        return out
    if value is None or isinstance(value, (bool, int, float)):
        return {prefix[:-1]: value}
    return {}


def result_differences(saved: dict, result: plan.PlanResult) -> list[tuple[str, Any, Any]]:
    """(path, saved, re-evaluated) for every number or flag of the results that differs (a path
    present on one side only counts, as None on the other); the headline ones first."""
    a, b = _leaves(saved), _leaves(json.loads(json.dumps(result.summary(), default=float)))
    out = []
    for key in dict.fromkeys([*a, *b]):
        x, y = a.get(key), b.get(key)
        same = (
            x == y
            if isinstance(x, bool) or isinstance(y, bool)
            else (x is None and y is None) or (_number(x) and _number(y) and _same_number(x, y))
        )
        if not same:
            out.append((key, x, y))
    order = list(RESULT_WORDS)
    return sorted(out, key=lambda d: order.index(d[0]) if d[0] in order else len(order))


def differences_words(differences: Sequence[tuple[str, Any, Any]], *, limit: int = 4) -> str:
    """'parameters N 2.94e10 → 3.1e10; lifetime cost ($) 6.53e5 → 6.6e5 (and 5 more)'."""
    shown = [f"{RESULT_WORDS.get(k, k)} {_words(x)} → {_words(y)}" for k, x, y in differences[:limit]]
    more = len(differences) - limit
    return "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")


# --- reopening ---------------------------------------------------------------------------------------


def evaluate_record(
    record: dict, law: Law, device: Device, grids: Mapping[str, GridIntensity]
) -> plan.PlanResult:
    """The record's inputs planned with ``law``, ``device`` and ``grids`` (engine.analysis.plan.evaluate)."""
    return plan.evaluate(inputs_of(record), law, device, dict(grids))


@dataclass(frozen=True)
class Reopened:
    """A saved scenario re-evaluated (``reopen_scenario``): the result, the law and device it was
    evaluated with (the saved constants and figures), and what changed since saving, in words."""

    result: plan.PlanResult
    law: Law
    device: Device
    changes: tuple[str, ...]


def reopen(
    record: dict,
    current_laws: Mapping[str, Law] | None = None,
    current_devices: Mapping[str, Device] | None = None,
    current_grids: Mapping[str, GridIntensity] | None = None,
) -> tuple[plan.PlanResult, list[str]]:
    """A saved scenario re-evaluated exactly as saved (its inputs with the saved law constants, device
    figures and grid intensity), and in words what has changed since it was saved: the law's
    constants, the device's figures or the grid's intensity today (each with what today's figures
    would give), or results that differ from the saved ones with nothing else changed (the formulas
    changed). No change: an empty list.

    Defaults: the registry's laws, the shipped catalog, the shipped grid intensities."""
    done = reopen_scenario(record, current_laws, current_devices, current_grids)
    return done.result, list(done.changes)


def reopen_scenario(
    record: dict,
    current_laws: Mapping[str, Law] | None = None,
    current_devices: Mapping[str, Device] | None = None,
    current_grids: Mapping[str, GridIntensity] | None = None,
) -> Reopened:
    """``reopen``, keeping the law and device the scenario was evaluated with (for its figures)."""
    check_record(record)
    laws = LAWS if current_laws is None else current_laws
    devices = load_catalog() if current_devices is None else current_devices
    grids_now = load_grid_intensities() if current_grids is None else current_grids
    law, law_changes = saved_law(record, laws)
    device, device_changes = saved_device(record, devices)
    grids, grid_changes = saved_grid(record, grids_now)
    result = evaluate_record(record, law, device, grids)
    changes = [*law_changes, *device_changes, *grid_changes]
    differences = result_differences(record["plan"]["results"], result)
    if differences:
        changes.append(
            "Re-evaluated with the saved law constants, device figures and grid intensity, the results "
            f"differ from the saved ones ({differences_words(differences)}; saved → now): the formulas "
            f"changed since FLOPwise {record.get('flopwise_version', '(unknown version)')} saved it."
        )
    inputs = inputs_of(record)
    today_law, today_device = laws.get(law.id), devices.get(device.hardware_id)
    if (law_changes or device_changes or grid_changes) and today_law and today_device:
        try:
            today = plan.evaluate(inputs, today_law, today_device, dict(grids_now))
        except (FlopwiseError, ValueError) as exc:
            changes.append(f"With today's law, device and grid the scenario cannot be planned: {exc}")
        else:
            now = result_differences(json.loads(json.dumps(result.summary(), default=float)), today)
            if now:
                changes.append(
                    f"With today's law, device and grid figures: {differences_words(now)} "
                    "(as shown → today). The Plan page uses today's figures."
                )
    return Reopened(result, law, device, tuple(changes))


# --- comparing scenarios -----------------------------------------------------------------------------

_MODE_INPUT = {
    plan.PlanMode.BUDGET: "log10_flops",
    plan.PlanMode.DEVICES_DAYS: "days",
    plan.PlanMode.TARGET_LOSS: "target_loss",
}

COMPARE_INPUTS = (
    "plan_mode",
    "log10_flops",
    "days",
    "target_loss",
    "n_devices",
    "plan_law",
    "hardware",
    "measurement",
    "train_dtype",
    "mfu_train",
    "mfu_prefill",
    "mfu_decode",
    "inference_tokens",
    "prompt_fraction",
    "region",
    "custom_grid",
    "pue",
    "price",
    "power_w",
    "memory_limit_gb",
    "front_objective",
)
"""The inputs a comparison shows, in order; one that does not apply to a scenario (the budget in
target-loss mode, the region with an own grid intensity) is None there."""

COMPARE_RESULTS = (
    "flops_train",
    "n_params",
    "n_tokens",
    "tokens_per_param",
    "loss",
    "train_device_hours",
    "train_wall_days",
    "train_energy_kwh",
    "train_co2_kg",
    "train_embodied_co2_kg",
    "train_cost_usd",
    "serve_device_hours",
    "serve_cost_usd",
    "serve_co2_kg",
    "total_cost_usd",
    "total_co2_kg",
    "decode_ms_per_token",
    "tokens_per_s",
    "cost_per_million_tokens_usd",
    "serving_memory_gb",
    "grid_g_per_kwh",
    "lifetime_n_params",
    "lifetime_n_tokens",
)
"""The results a comparison shows (engine units in the names), from the saved record."""


def _applies(inputs: plan.PlanInputs, key: str) -> bool:
    if key in _MODE_INPUT.values():
        return _MODE_INPUT[inputs.plan_mode] == key
    if key == "region":
        return not inputs.use_custom_grid
    if key == "custom_grid":
        return inputs.use_custom_grid
    if key == "measurement":
        return inputs.use_measured
    return True


def _result_values(record: dict) -> dict[str, Any]:
    results, point = record["plan"]["results"], record.get("point", {})
    train, serve = results.get("train") or {}, results.get("serve") or {}
    inference, lifetime = results.get("inference") or {}, results.get("lifetime_optimum") or {}
    decode = inference.get("decode_s_per_step")
    serve_co2 = None
    if serve.get("co2_kg") is not None:
        serve_co2 = serve["co2_kg"] + (serve.get("embodied_co2_kg") or 0.0)
    return {
        "flops_train": results.get("flops_train"),
        "n_params": results.get("n_params"),
        "n_tokens": results.get("n_tokens"),
        "tokens_per_param": results.get("tokens_per_param"),
        "loss": results.get("loss"),
        "train_device_hours": train.get("device_hours"),
        "train_wall_days": train.get("wall_days"),
        "train_energy_kwh": train.get("energy_kwh"),
        "train_co2_kg": train.get("co2_kg"),
        "train_embodied_co2_kg": train.get("embodied_co2_kg"),
        "train_cost_usd": train.get("cost_usd"),
        "serve_device_hours": serve.get("device_hours", 0.0 if not serve else None),
        "serve_cost_usd": serve.get("cost_usd", 0.0 if not serve else None),
        "serve_co2_kg": serve_co2 if serve else 0.0,
        "total_cost_usd": results.get("total_cost_usd"),
        "total_co2_kg": results.get("total_co2_kg"),
        "decode_ms_per_token": None if decode is None else decode * 1e3,
        "tokens_per_s": inference.get("tokens_per_s"),
        "cost_per_million_tokens_usd": inference.get("cost_per_million_tokens_usd"),
        "serving_memory_gb": point.get("memory_gb"),
        "grid_g_per_kwh": results.get("grid_g_per_kwh"),
        "lifetime_n_params": lifetime.get("n_params"),
        "lifetime_n_tokens": lifetime.get("n_tokens"),
    }


def _labels(labels: Sequence[str]) -> list[str]:
    used = {"section", "differs"}
    out = []
    for label in labels:
        text, k = str(label), 2
        while text in used:
            text, k = f"{label} ({k})", k + 1
        used.add(text)
        out.append(text)
    return out


def _equal(values: Sequence[Any]) -> bool:
    first = values[0]
    for v in values[1:]:
        if _number(first) and _number(v):
            if not _same_number(first, v):
                return False
        elif (first is None or (_number(first) and math.isnan(first))) and (
            v is None or (_number(v) and math.isnan(v))
        ):
            continue
        elif first != v:
            return False
    return True


def compare_frame(records: Sequence[dict], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One to six saved records side by side, from their saved content: one row per input
    (``COMPARE_INPUTS``), law constant (``law.<name>``), device figure (``device.<field>``) and
    result (``COMPARE_RESULTS``, engine units), one column per scenario (``labels``, default
    '1', '2', …; a repeated label gets ' (2)'), a ``section`` column (inputs, law, device, results)
    and ``differs``: True where the scenarios' values are not all equal (numbers to 1e-9 relative;
    None equals None). Values are raw (numbers, words, None)."""
    if not 1 <= len(records) <= MAX_COMPARED:
        raise ScenarioError(f"compare 1 to {MAX_COMPARED} scenarios; {len(records)} were given")
    names = _labels(labels if labels is not None else [str(i + 1) for i in range(len(records))])
    if len(names) != len(records):
        raise ScenarioError(f"{len(records)} scenarios but {len(names)} labels")
    inputs = [check_record(r) for r in records]
    rows: dict[str, tuple[str, list[Any]]] = {}
    for key in COMPARE_INPUTS:
        values = [getattr(i, key) if _applies(i, key) else None for i in inputs]
        rows[key] = ("inputs", [v.value if isinstance(v, plan.PlanMode) else v for v in values])
    laws = [r["plan"]["law"] for r in records]
    rows["law.title"] = ("law", [law.get("title") for law in laws])
    rows["law.verified"] = ("law", [law.get("verified") for law in laws])
    for name in dict.fromkeys(k for law in laws for k in law["parameters"]):
        rows[f"law.{name}"] = ("law", [law["parameters"].get(name) for law in laws])
    devices = [r["plan"]["hardware"] for r in records]
    rows["device.name"] = ("device", [d.get("name") for d in devices])
    rows["device.peak_train_tflops"] = (
        "device",
        [d.get(_peak_column(i.train_dtype)) for d, i in zip(devices, inputs)],
    )
    for key in ("memory_gb", "bandwidth_gb_s", "tdp_w"):
        rows[f"device.{key}"] = ("device", [d.get(key) for d in devices])
    results = [_result_values(r) for r in records]
    for key in COMPARE_RESULTS:
        rows[key] = ("results", [r[key] for r in results])
    frame = pd.DataFrame(
        {name: [vals[j] for _, vals in rows.values()] for j, name in enumerate(names)},
        index=pd.Index(list(rows), name="quantity"),
        dtype=object,
    )
    frame.insert(0, "section", [section for section, _ in rows.values()])
    frame["differs"] = [not _equal(vals) for _, vals in rows.values()]
    return frame


def _peak_column(dtype: str) -> str:
    return "peak_int8_tops" if dtype == "int8" else f"peak_{dtype}_tflops"


# --- scenario files ----------------------------------------------------------------------------------


def _canonical(body: dict) -> bytes:
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
    ).encode()


def checksum(body: dict) -> str:
    """'sha256:<hex>' of the file's content without its checksum, as canonical JSON (sorted keys, no
    spaces, UTF-8). It shows a file was changed after export; anyone can recompute it, so it is
    not a signature."""
    return (
        "sha256:" + hashlib.sha256(_canonical({k: v for k, v in body.items() if k != "checksum"})).hexdigest()
    )


def export_scenario(
    name: str,
    author: str,
    note: str,
    record: dict,
    *,
    saved_at: str | None = None,
    exported_at: str | None = None,
) -> str:
    """A scenario file (FILE_SCHEMA) as JSON text: name, author, note, when it was saved and
    exported (ISO 8601, UTC), the record, and its checksum."""
    body = {
        "schema": FILE_SCHEMA,
        "name": name,
        "author": author,
        "note": note,
        "saved_at": saved_at,
        "exported_at": exported_at,
        "flopwise_version": flopwise_version(),
        "record": record,
    }
    body["checksum"] = checksum(body)
    return json.dumps(body, indent=2, ensure_ascii=False, allow_nan=True)


@dataclass(frozen=True)
class ImportedScenario:
    """What an import gives: the file's name, author and note ('' when it has none: a Plan page
    export), the record to store, and ``converted``: how an older file was converted, else ''."""

    name: str
    author: str
    note: str
    record: dict
    converted: str = ""


def _schema_number(schema: str, family: str) -> int | None:
    match = re.fullmatch(re.escape(family) + r"/(\d+)", schema)
    return int(match.group(1)) if match else None


def _verified(record: dict, where: str) -> dict:
    """The record, after checking that its results are what its inputs give with the law constants,
    device figures and grid intensity it states; ScenarioFileError otherwise."""
    check_record(record)
    law, _ = _law_from_record(record)
    device, _ = saved_device(record, {})
    grids, _ = saved_grid(record, {})
    try:
        result = evaluate_record(record, law, device, grids)
    except (FlopwiseError, ValueError) as exc:
        raise ScenarioFileError(f"{where}: its inputs cannot be planned: {exc}") from None
    differences = result_differences(record["plan"]["results"], result)
    if differences:
        raise ScenarioFileError(
            f"{where}: its results do not match its inputs re-evaluated with the law constants, device "
            f"figures and grid intensity it states ({differences_words(differences)}; in the file → "
            "re-evaluated). It was edited after export, or saved by a FLOPwise whose formulas differ. "
            "Nothing was stored."
        )
    if [k for k, v in result.point.items() if not _same_number(v, record["point"].get(k))]:
        raise ScenarioFileError(
            f"{where}: its recommended candidate's row (point) does not match its inputs re-evaluated. "
            "Nothing was stored."
        )
    return record


def _law_from_record(record: dict, laws: Mapping[str, Law] | None = None) -> tuple[Law, list[str]]:
    """The record's law with its own constants: today's law of that id with them, or (a fit no
    longer stored) the fit rebuilt from them."""
    return saved_law(record, LAWS if laws is None else laws)


def import_scenario(
    text: str | bytes,
    *,
    laws: Mapping[str, Law] | None = None,
    devices: Mapping[str, Device] | None = None,
    grids: Mapping[str, GridIntensity] | None = None,
) -> ImportedScenario:
    """Read a scenario file: a FLOPwise scenario file (FILE_SCHEMA, checksum checked) or a Plan page
    export (``plan.SCHEMA``, ``flopwise.plan/2``). Either way the results must be what the inputs
    give with the law constants, device figures and grid intensity the file states, so an edited
    number is refused. An older Plan export (``flopwise.plan/1``, inputs in the page's words) is
    converted: its inputs read as today's and its results recomputed with the law and device it
    names (``laws``, ``devices``, ``grids``: today's; default the registry, catalog and shipped
    grids). Anything else: ScenarioFileError saying why; nothing is stored by this function."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ScenarioFileError("not a FLOPwise scenario file: it is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(f"not a FLOPwise scenario file: it is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
        raise ScenarioFileError(
            "not a FLOPwise scenario file: it has no 'schema' field "
            f"(FLOPwise writes {FILE_SCHEMA} from the Scenarios page and {plan.SCHEMA} from the Plan page)"
        )
    schema = data["schema"]
    file_version = _schema_number(schema, "flopwise.scenario")
    plan_version = _schema_number(schema, "flopwise.plan")
    if file_version is not None:
        return _import_file(data, file_version)
    if plan_version is not None:
        return _import_plan(data, plan_version, laws, devices, grids)
    raise ScenarioFileError(
        f"not a FLOPwise scenario file: its schema is {schema!r} "
        f"(FLOPwise writes {FILE_SCHEMA} and {plan.SCHEMA})"
    )


def _import_file(data: dict, version: int) -> ImportedScenario:
    if version != 1:
        raise ScenarioFileError(
            f"this scenario file has schema flopwise.scenario/{version}, "
            + ("newer than" if version > 1 else "unknown to")
            + f" this FLOPwise, which reads {FILE_SCHEMA}; nothing was stored"
        )
    stated = data.get("checksum")
    if not isinstance(stated, str):
        raise ScenarioFileError("this scenario file has no checksum: it was not exported by FLOPwise")
    if stated != checksum(data):
        raise ScenarioFileError(
            "this scenario file was changed after it was exported (its checksum does not match its "
            "content); nothing was stored"
        )
    texts = {}
    for key in ("name", "author", "note"):
        value = data.get(key) or ""
        if not isinstance(value, str):
            raise ScenarioFileError(f"the scenario file's {key} is not text")
        texts[key] = value
    record = _verified(_require(data, "record", dict, ""), "this scenario file")
    return ImportedScenario(texts["name"], texts["author"], texts["note"], record)


def _import_plan(
    data: dict,
    version: int,
    laws: Mapping[str, Law] | None,
    devices: Mapping[str, Device] | None,
    grids: Mapping[str, GridIntensity] | None,
) -> ImportedScenario:
    if data["schema"] == plan.SCHEMA:
        record = {
            "record_version": RECORD_VERSION,
            "plan": {k: data.get(k) for k in ("schema", "inputs", "law", "hardware", "results")},
            "point": {},
            "flopwise_version": "unknown (a Plan page export)",
        }
        check_record(record)
        law, _ = _law_from_record(record, laws)
        device, _ = saved_device(record, {})
        grid_map, _ = saved_grid(record, {})
        try:
            result = evaluate_record(record, law, device, grid_map)
        except (FlopwiseError, ValueError) as exc:
            raise ScenarioFileError(f"this Plan export's inputs cannot be planned: {exc}") from None
        record["point"] = {k: float(v) for k, v in result.point.items()}
        _verified(record, "this Plan export")
        return ImportedScenario("", "", "", record)
    if data["schema"] in plan.OLD_SCHEMAS:
        return _convert_plan_1(data, laws, devices, grids)
    raise ScenarioFileError(
        f"this Plan export has schema {data['schema']}, "
        + ("newer than" if version > 2 else "unknown to")
        + f" this FLOPwise, which reads {plan.SCHEMA} and {', '.join(plan.OLD_SCHEMAS)}; nothing was stored"
    )


def _convert_plan_1(
    data: dict,
    laws: Mapping[str, Law] | None,
    devices: Mapping[str, Device] | None,
    grids: Mapping[str, GridIntensity] | None,
) -> ImportedScenario:
    """flopwise.plan/1 kept the page's words and units; its results are not checked (that version's
    layout differs) but recomputed from its inputs, with the law constants and device it states
    when it states them, else today's."""
    try:
        inputs = plan.import_json(json.dumps(data))
    except (FlopwiseError, ValueError) as exc:
        raise ScenarioFileError(f"this flopwise.plan/1 export cannot be converted: {exc}") from None
    laws = LAWS if laws is None else laws
    law = laws.get(inputs.plan_law)
    saved: dict = data["law"] if isinstance(data.get("law"), dict) else {}
    params = saved.get("parameters") if isinstance(saved.get("parameters"), dict) else None
    if law is None:
        raise ScenarioFileError(
            f"this flopwise.plan/1 export uses the law {inputs.plan_law!r}, which this FLOPwise does not "
            "have; it cannot be converted"
        )
    if params:
        try:
            law = law.with_constants(**{k: float(v) for k, v in params.items()})
        except (FlopwiseError, TypeError, ValueError) as exc:
            raise ScenarioFileError(
                f"this flopwise.plan/1 export's law constants cannot be used: {exc}"
            ) from None
    row = data.get("hardware")
    try:
        if isinstance(row, dict) and row.get("hardware_id"):
            device = device_from_row(row, user_defined=bool(row.get("user_defined")))
        else:
            device = (load_catalog() if devices is None else devices)[inputs.hardware]
    except KeyError:
        raise ScenarioFileError(
            f"this flopwise.plan/1 export uses the device {inputs.hardware!r}, which is not in the catalog "
            "or your devices; it cannot be converted"
        ) from None
    except HardwareError as exc:
        raise ScenarioFileError(f"this flopwise.plan/1 export's device cannot be used: {exc}") from None
    try:
        result = plan.evaluate(inputs, law, device, dict(load_grid_intensities() if grids is None else grids))
    except (FlopwiseError, ValueError) as exc:
        raise ScenarioFileError(f"this flopwise.plan/1 export's inputs cannot be planned: {exc}") from None
    return ImportedScenario(
        "",
        "",
        "",
        scenario_record(result, law, device),
        converted="Converted from flopwise.plan/1 (the Plan page's words and units): its inputs were read "
        "as today's and its results recomputed with "
        + ("the law constants it states" if params else "today's constants of its law")
        + " and "
        + (
            "the device figures it states"
            if isinstance(row, dict) and row.get("hardware_id")
            else "today's device"
        )
        + "; that version's results were not checked.",
    )
