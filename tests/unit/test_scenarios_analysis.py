"""Scenario records, reopening, comparing and scenario files (engine.analysis.scenarios).

Expected numbers come from outside the code: the default Plan scenario's compute-optimal N and D
under Besiroglu et al.'s Table 1 law, by hand; the H100's datasheet peak; and the saved record
itself (a reopened scenario must reproduce what was saved, to the last digit JSON keeps)."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib

import pytest

from engine.analysis import plan
from engine.analysis import scenarios as sc
from engine.analysis.registry import LAWS
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog
from engine.data.scenarios import ScenarioError
from engine.paths import REPO_ROOT

GRIDS = load_grid_intensities()
CATALOG = load_catalog()
# Besiroglu et al. 2024, Table 1 (the Plan page's default law, chinchilla-epoch)
EPOCH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def epoch_optimum(flops: float) -> tuple[float, float]:
    """N*, D* of L = E + A/N^a + B/D^b on C = 6ND, by hand: N* = G (C/6)^(b/(a+b)),
    G = (aA/(bB))^(1/(a+b))."""
    a, b = EPOCH["alpha"], EPOCH["beta"]
    g = (a * EPOCH["A"] / (b * EPOCH["B"])) ** (1 / (a + b))
    n = g * (flops / 6) ** (b / (a + b))
    return n, flops / (6 * n)


def planned(inputs: plan.PlanInputs | None = None) -> tuple[plan.PlanResult, object, object]:
    inputs = inputs or plan.PlanInputs()
    law, device = LAWS[inputs.plan_law], CATALOG[inputs.hardware]
    return plan.evaluate(inputs, law, device, GRIDS), law, device


def record_of(inputs: plan.PlanInputs | None = None) -> dict:
    return sc.scenario_record(*planned(inputs))


def through_json(record: dict) -> dict:
    """What the store gives back."""
    return json.loads(json.dumps(record))


def test_the_default_scenarios_record_holds_inputs_law_device_and_results():
    record = record_of()
    content = record["plan"]
    assert content["schema"] == "flopwise.plan/2"
    assert content["inputs"]["log10_flops"] == 23.0 and content["inputs"]["plan_law"] == "chinchilla-epoch"
    assert content["law"]["parameters"] == EPOCH and content["law"]["citation"].startswith("Besiroglu")
    assert content["hardware"]["peak_bf16_tflops"] == 989.4  # NVIDIA H100 SXM5, bf16 dense
    n, d = epoch_optimum(1e23)
    assert content["results"]["n_params"] == pytest.approx(n, rel=1e-6)
    assert content["results"]["n_tokens"] == pytest.approx(d, rel=1e-6)
    # 1e23 FLOPs / (989.4 TFLOP/s × MFU 0.4) / 3600 s × $2 per device-hour
    assert content["results"]["train"]["cost_usd"] == pytest.approx(1e23 / (989.4e12 * 0.4) / 3600 * 2.0)
    assert record["point"]["loss"] == content["results"]["loss"]
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert record["flopwise_version"].startswith(version)


def test_a_saved_scenario_reopens_exactly_and_says_nothing_changed():
    record = through_json(record_of())
    result, changes = sc.reopen(record)
    assert changes == []
    assert json.loads(json.dumps(result.summary(), default=float)) == record["plan"]["results"]
    n, _ = epoch_optimum(1e23)
    assert result.n_params == pytest.approx(n, rel=1e-6)


@pytest.mark.parametrize(
    "inputs",
    [
        plan.PlanInputs(
            plan_mode="devices_days", n_devices=4000, days=30.0
        ),  # the planning meeting's question
        plan.PlanInputs(plan_mode="target_loss", target_loss=2.1, region="France"),
        plan.PlanInputs(use_custom_grid=True, custom_grid=12.5, inference_tokens=0.0, power_w=500.0),
        plan.PlanInputs(plan_law="chinchilla", hardware="mi300x", train_dtype="fp16", memory_limit_gb=100.0),
    ],
)
def test_every_kind_of_scenario_reopens_to_its_saved_results(inputs):
    record = through_json(record_of(inputs))
    result, changes = sc.reopen(record)
    assert changes == [] and sc.result_differences(record["plan"]["results"], result) == []
    if inputs.plan_mode is plan.PlanMode.TARGET_LOSS:
        assert result.loss == pytest.approx(2.1, abs=1e-6)  # the target it was asked for
    if inputs.plan_mode is plan.PlanMode.DEVICES_DAYS:
        # C = 4000 devices × 30 days × 86,400 s × 989.4 TFLOP/s × 0.4
        assert result.flops == pytest.approx(4000 * 30 * 86400 * 989.4e12 * 0.4, rel=1e-9)


def test_changed_law_constants_are_named_and_the_saved_ones_used():
    record = through_json(record_of())
    laws = {**LAWS, "chinchilla-epoch": LAWS["chinchilla-epoch"].with_constants(alpha=0.35)}
    result, changes = sc.reopen(record, laws)
    assert result.n_params == record["plan"]["results"]["n_params"]  # still the saved constants
    assert (
        "constants of the law chinchilla-epoch changed" in changes[0] and "alpha 0.3478 → 0.35" in changes[0]
    )
    assert changes[1].startswith("With today's law, device and grid figures: parameters N")


def test_changed_device_figures_and_grid_are_named():
    record = through_json(record_of())
    devices = {**CATALOG, "h100-sxm": dataclasses.replace(CATALOG["h100-sxm"], tdp_w=750.0)}
    result, changes = sc.reopen(record, None, devices)
    assert "figures of the device h100-sxm changed" in changes[0] and "tdp_w 700 → 750" in changes[0]
    assert result.train.energy_kwh == record["plan"]["results"]["train"]["energy_kwh"]
    # energy scales with power: 750/700 more under today's figures
    assert "training energy (kWh) 54045.1 → 57905.5" in changes[1]
    grids = {**GRIDS, "United States": dataclasses.replace(GRIDS["United States"], g_co2_per_kwh=400.0)}
    _, changes = sc.reopen(record, None, None, grids)
    assert "grid intensity of United States changed" in changes[0] and "→ 400 gCO2e/kWh" in changes[0]


def test_a_device_or_fit_no_longer_there_is_rebuilt_from_the_record():
    record = through_json(record_of())
    devices = {k: v for k, v in CATALOG.items() if k != "h100-sxm"}
    result, changes = sc.reopen(record, None, devices)
    assert "no longer in the catalog" in changes[0] and len(changes) == 1
    assert result.n_params == record["plan"]["results"]["n_params"]
    fit = through_json(record)
    fit["plan"]["inputs"]["plan_law"] = fit["plan"]["law"]["id"] = "fit:gone"
    result, changes = sc.reopen(fit)
    assert "fit:gone is no longer stored" in changes[0]
    assert result.n_params == record["plan"]["results"]["n_params"]  # the same constants
    unknown = through_json(record)
    unknown["plan"]["inputs"]["plan_law"] = unknown["plan"]["law"]["id"] = "no-such-law"
    with pytest.raises(ScenarioError, match="'no-such-law', which this FLOPwise does not have"):
        sc.reopen(unknown)


def test_results_that_no_longer_follow_from_the_inputs_are_said():
    record = through_json(record_of())
    record["plan"]["results"]["total_cost_usd"] *= 1.01  # as if the cost model had changed since
    _, changes = sc.reopen(record)
    assert len(changes) == 1 and "the results differ from the saved ones" in changes[0]
    assert "lifetime cost ($)" in changes[0] and "formulas changed" in changes[0]


def test_compare_marks_exactly_the_rows_that_differ():
    a = record_of()
    b = record_of(plan.PlanInputs(log10_flops=24.0))
    frame = sc.compare_frame([a, b], ["A", "differs"])
    assert list(frame.columns) == ["section", "A", "differs (2)", "differs"]
    differ = set(frame.index[frame["differs"]])
    assert "log10_flops" in differ and "n_params" in differ and "total_cost_usd" in differ
    assert not differ & {
        "hardware",
        "pue",
        "price",
        "plan_law",
        "law.alpha",
        "device.memory_gb",
        "grid_g_per_kwh",
    }
    assert frame.loc["days", "A"] is None  # not an input of a compute-budget plan
    # 10x the compute: N* grows by 10^(b/(a+b)) under the same law, by hand
    ratio = frame.loc["n_params", "differs (2)"] / frame.loc["n_params", "A"]
    assert ratio == pytest.approx(10 ** (EPOCH["beta"] / (EPOCH["alpha"] + EPOCH["beta"])), rel=1e-6)
    assert not sc.compare_frame([a, a])["differs"].any()


def test_compare_takes_one_to_six():
    record = record_of()
    assert len(sc.compare_frame([record] * 6).columns) == 8
    with pytest.raises(ScenarioError, match="compare 1 to 6 scenarios; 7 were given"):
        sc.compare_frame([record] * 7)
    with pytest.raises(ScenarioError, match="compare 1 to 6"):
        sc.compare_frame([])


def test_different_laws_compare_their_constants_side_by_side():
    frame = sc.compare_frame([record_of(), record_of(plan.PlanInputs(plan_law="chinchilla"))])
    assert (
        frame.loc["law.alpha", "1"] == 0.3478 and frame.loc["law.alpha", "2"] == 0.34
    )  # Hoffmann Approach 3
    assert frame.loc["law.alpha", "differs"]


# --- scenario files --------------------------------------------------------------------------


def exported(record: dict | None = None) -> str:
    return sc.export_scenario("<b>Plan</b> A", "ana", "for the meeting", record or record_of())


def test_an_exported_scenario_imports_to_the_same_record():
    record = through_json(record_of())
    imported = sc.import_scenario(exported(record))
    assert (imported.name, imported.author, imported.note) == ("<b>Plan</b> A", "ana", "for the meeting")
    assert imported.record == record and imported.converted == ""
    assert json.loads(exported(record))["checksum"].startswith("sha256:")


def test_a_plan_page_export_imports_and_gets_its_candidate_row():
    result, law, device = planned()
    imported = sc.import_scenario(plan.export_json(result, law, device))
    assert imported.name == "" and imported.record["plan"]["results"]["n_params"] == result.n_params
    assert imported.record["point"] == pytest.approx(result.point)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json at all", "not a FLOPwise scenario file: it is not JSON"),
        (b"\xff\xfe", "it is not UTF-8 text"),
        ("[1, 2]", "it has no 'schema' field"),
        ('{"name": "x"}', "it has no 'schema' field"),
        ('{"schema": "other.app/1"}', "its schema is 'other.app/1'"),
        ('{"schema": "flopwise.scenario/2"}', "flopwise.scenario/2, newer than this FLOPwise"),
        ('{"schema": "flopwise.plan/3"}', "flopwise.plan/3, newer than this FLOPwise"),
        ('{"schema": "flopwise.scenario/1", "name": "x"}', "has no checksum"),
    ],
)
def test_foreign_and_newer_files_are_refused_with_a_reason(text, message):
    with pytest.raises(sc.ScenarioFileError, match=message):
        sc.import_scenario(text)


def test_a_file_changed_after_export_is_refused():
    data = json.loads(exported())
    data["note"] = "changed"
    with pytest.raises(sc.ScenarioFileError, match="changed after it was exported"):
        sc.import_scenario(json.dumps(data))


@pytest.mark.parametrize(
    ("path", "factor"),
    [
        (("results", "n_params"), 1.5),
        (("results", "train", "cost_usd"), 0.5),
        (("inputs", "log10_flops"), 24 / 23),  # inputs edited, results left: they no longer follow
        (("law", "parameters", "alpha"), 1.1),
        (("hardware", "peak_bf16_tflops"), 2.0),
    ],
)
def test_tampered_numbers_are_refused_even_with_a_new_checksum(path, factor):
    data = json.loads(exported())
    target = data["record"]["plan"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] *= factor
    data["checksum"] = sc.checksum(data)  # the editor recomputed it
    with pytest.raises(sc.ScenarioFileError, match="results do not match its inputs re-evaluated"):
        sc.import_scenario(json.dumps(data))


def test_a_tampered_plan_export_is_refused():
    result, law, device = planned()
    data = json.loads(plan.export_json(result, law, device))
    data["results"]["total_co2_kg"] = 1.0
    with pytest.raises(sc.ScenarioFileError, match=r"this Plan export: its results do not match"):
        sc.import_scenario(json.dumps(data))


def test_a_file_with_missing_parts_says_which():
    data = json.loads(exported())
    del data["record"]["plan"]["hardware"]
    data["checksum"] = sc.checksum(data)
    with pytest.raises(sc.ScenarioFileError, match=r"no plan\.hardware"):
        sc.import_scenario(json.dumps(data))
    data = json.loads(exported())
    data["record"]["plan"]["inputs"]["mfu_train"] = 7.0
    data["checksum"] = sc.checksum(data)
    with pytest.raises(sc.ScenarioFileError, match=r"inputs cannot be used: mfu_train"):
        sc.import_scenario(json.dumps(data))


def test_a_first_schema_plan_export_is_converted_and_says_so():
    # flopwise.plan/1 held the page's words and units: "Target loss", trillions of tokens
    old = {
        "schema": "flopwise.plan/1",
        "inputs": {
            "plan_mode": "Target loss",
            "target_loss": 2.1,
            "inference_tokens_t": 2.5,
            "plan_front": "memory",
        },
    }
    imported = sc.import_scenario(json.dumps(old))
    assert "Converted from flopwise.plan/1" in imported.converted
    inputs = sc.inputs_of(imported.record)
    assert inputs.plan_mode is plan.PlanMode.TARGET_LOSS and inputs.inference_tokens == 2.5e12
    assert imported.record["plan"]["results"]["loss"] == pytest.approx(2.1, abs=1e-6)
    assert sc.reopen(imported.record)[1] == []  # stored like any other record
    bad = {**old, "inputs": {**old["inputs"], "plan_law": "no-such-law"}}
    with pytest.raises(sc.ScenarioFileError, match="'no-such-law', which this FLOPwise does not have"):
        sc.import_scenario(json.dumps(bad))


def test_the_checksum_is_sha256_of_the_canonical_content():
    import hashlib

    body = {"schema": "x", "b": 1, "a": [1.5, None], "checksum": "ignored"}
    expected = hashlib.sha256(b'{"a":[1.5,null],"b":1,"schema":"x"}').hexdigest()
    assert sc.checksum(body) == f"sha256:{expected}"
    assert math.isnan(json.loads(json.dumps({"x": math.nan}))["x"])  # NaN survives the file's JSON
