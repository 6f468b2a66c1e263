"""The Plan page through AppTest."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs

import pytest

from engine import plan
from engine.carbon import load_grid_intensities
from engine.hardware import load_catalog
from engine.registry import get_law
from ui import format as fmt

pytestmark = pytest.mark.app


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_plan_is_the_home_page_and_shows_the_recommendation(app):
    at = app()
    assert not at.exception and at.title[0].value == "Plan"
    expected = plan.evaluate(plan.PlanInputs(), get_law("chinchilla-epoch"), load_catalog()["h100-sxm"],
                             load_grid_intensities())
    assert metrics(at)["Parameters N"] == fmt.count(expected.n_params, "params")
    assert metrics(at)["Training cost"] == f"${expected.train.cost_usd:,.0f}"


def test_changing_the_region_changes_tco2e_and_nothing_else(app):
    at = app()
    before = metrics(at)
    at.selectbox(key="region").set_value("France").run()
    after = metrics(at)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"Training tCO2e"}
    assert float(after["Training tCO2e"].replace(",", "")) < float(before["Training tCO2e"].replace(",", "")) / 5


def test_a_url_built_from_a_scenario_reopens_it_exactly(app):
    scenario = dataclasses.replace(plan.PlanInputs(), log10_flops=24.5, hardware="a100-80gb", region="France",
                                   n_devices=2048, mfu_train=0.35, inference_tokens_t=5.0, price=1.5)
    params = {k: v[0] for k, v in parse_qs(
        "&".join(f"{k}={v}" for k, v in scenario.query_params().items())).items()}
    at = app(**params)
    assert not at.exception
    expected = plan.evaluate(scenario, get_law(scenario.plan_law), load_catalog()["a100-80gb"], load_grid_intensities())
    shown = metrics(at)
    assert shown["Parameters N"] == fmt.count(expected.n_params, "params")
    assert shown["Training cost"] == f"${expected.train.cost_usd:,.0f}"
    assert shown["Training tCO2e"] == f"{expected.train.co2_kg / 1000:,.1f}"
    exported = plan.import_json(next(c.value for c in at.code if c.language == "json"))
    assert exported == scenario


def test_the_export_parses_back_to_the_same_inputs(app):
    at = app(log10_flops="22.0", use_custom_grid="true", custom_grid="123.0")
    text = next(c.value for c in at.code if c.language == "json")
    inputs = plan.import_json(text)
    assert inputs.log10_flops == 22.0 and inputs.use_custom_grid and inputs.custom_grid == 123.0
    assert json.loads(text)["results"]["grid_g_per_kwh"] == 123.0


def test_target_loss_and_devices_modes_run(app):
    at = app(plan_mode="Target loss", target_loss="2.2")
    assert not at.exception and metrics(at)["Predicted loss (nats/token)"] == "2.2000"
    at = app(plan_mode="Devices × days", n_devices="4000", days="30.0")
    assert not at.exception and metrics(at)["Wall-clock days"] == "30.0"


def test_a_user_device_is_validated_stored_and_offered(app):
    at = app()
    at.text_input(key="plan_device_id").set_value("my-asic")
    at.text_input(key="plan_device_name").set_value("My ASIC")
    at.number_input(key="plan_device_bf16").set_value(500.0)
    at.number_input(key="plan_device_mem").set_value(96.0)
    at.number_input(key="plan_device_bw").set_value(4000.0)
    at.number_input(key="plan_device_tdp").set_value(600.0)
    at.button[-1].click().run()  # the form's submit button
    assert not at.exception and any("Added My ASIC" in s.value for s in at.success)
    assert "my-asic" in at.selectbox(key="hardware").options
    at.selectbox(key="hardware").set_value("my-asic").run()
    assert not at.exception
    at.text_input(key="plan_device_id").set_value("bad")
    at.number_input(key="plan_device_mem").set_value(0.0)
    at.button[-1].click().run()
    assert any("memory_gb is required" in e.value for e in at.error)


def test_the_front_mixes_precisions_and_expert_counts(app):
    at = app(plan_front="memory")
    assert not at.exception
    line = next(c.value for c in at.caption if c.value.startswith("On the front:"))
    bits = {part.split("-bit")[0].strip() for part in line.removeprefix("On the front:").split(";")[0].split(",")}
    experts = {part.split("E=")[1].split()[0] for part in line.split(";")[1].split(",")}
    assert len(bits) > 1 and len(experts) > 1
    laws = next(c.value for c in at.caption if "Laws behind every point:" in c.value)
    assert "precision (verified)" in laws and "moe-joint (verified)" in laws
