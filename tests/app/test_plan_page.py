"""The Plan page through AppTest. Expected numbers come from the papers or from hand calculations
written here, not from the engine function that produced the page."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.paths import DATASETS_DIR
from tests.numbers import number

pytestmark = pytest.mark.app

# Besiroglu et al. 2024, Table 1: the default law, chinchilla-epoch
E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658


def epoch_optimum(flops: float) -> tuple[float, float]:
    """N*, D* of L = E + A/N^a + B/D^b on 6ND = C, by hand: N* = G (C/6)^(b/(a+b))."""
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n = g * (flops / 6) ** (BETA / (ALPHA + BETA))
    return n, flops / (6 * n)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_plan_is_the_home_page_and_shows_the_recommendation(app):
    at = app()
    assert not at.exception and at.title[0].value == "Plan"
    n, d = epoch_optimum(1e23)
    shown = metrics(at)
    assert number(shown["Parameters N"]) == pytest.approx(n, rel=0.005)
    assert number(shown["Training tokens D"]) == pytest.approx(d, rel=0.005)
    # 1e23 FLOPs / (989.4 TFLOP/s H100 bf16 dense × MFU 0.4) / 3600 s × $2 per device-hour
    assert number(shown["Training cost"]) == pytest.approx(1e23 / (989.4e12 * 0.4) / 3600 * 2.0, rel=0.005)


def test_chinchillas_budget_gives_about_70b_on_20_tokens_per_parameter(app):
    # Hoffmann et al. 2022: 5.76e23 FLOPs -> Chinchilla, 70 B parameters on 1.4 T tokens; the
    # Epoch refit (Besiroglu et al. 2024) implies "about 20 tokens per parameter"
    at = app(log10_flops="23.76")
    shown = metrics(at)
    assert number(shown["Parameters N"]) == pytest.approx(70e9, rel=0.15)
    assert float(shown["Tokens per parameter"]) == pytest.approx(20, rel=0.2)


def test_gpt3_footprint_entered_through_the_pages_inputs(app):
    # Patterson et al. 2021, Table 4: GPT-3, 3.14e23 FLOPs on 10,000 V100s at 330 W average, PUE
    # 1.1, 429 gCO2e/kWh: 1,287 MWh and 552 tCO2e. MFU 0.197 is their 24.6 TFLOP/s of 125.
    at = app(
        log10_flops="23.5",
        hardware="v100-sxm2",
        train_dtype="fp16",
        n_devices="10000",
        mfu_train="0.197",
        power_w="330.0",
        pue="1.1",
        use_custom_grid="true",
        custom_grid="429.0",
        inference_tokens_t="0.0",
    )
    assert not at.exception and not at.warning
    shown = metrics(at)
    # the slider's 23.50 is 3.16e23, 0.7% above 3.14e23
    assert number(shown["Training energy (MWh)"]) == pytest.approx(1287, rel=0.10)
    assert number(shown["Training tCO2e"]) == pytest.approx(552, rel=0.10)


def test_changing_the_region_changes_tco2e_by_the_grid_ratio_and_nothing_else(app):
    at = app()
    before = metrics(at)
    at.selectbox(key="region").set_value("France").run()
    after = metrics(at)
    assert {k for k in before if before[k] != after[k]} == {"Training tCO2e"}
    grid = pd.read_csv(DATASETS_DIR / "grid_intensity_countries.csv").set_index("country")["g_co2_per_kwh"]
    ratio = number(after["Training tCO2e"]) / number(before["Training tCO2e"])
    assert ratio == pytest.approx(grid["France"] / grid["United States"], rel=0.02)


@pytest.mark.parametrize(
    ("params", "key", "fallback"),
    [
        ({"log10_flops": "40"}, "log10_flops", 23.0),
        ({"n_devices": "2000000"}, "n_devices", 1024),
        ({"pue": "0.5"}, "pue", 1.1),
        ({"hardware": "no-such-gpu"}, "hardware", "h100-sxm"),
    ],
)
def test_out_of_range_link_values_are_said_and_the_fallback_used(app, params, key, fallback):
    at = app(**params)
    assert not at.exception
    raw = next(iter(params.values()))
    notices = [w.value for w in at.warning if key in w.value.replace("\\", "")]
    assert len(notices) == 1, [w.value for w in at.warning]
    text = notices[0].replace("\\", "")
    assert repr(raw) in text and "instead" in text
    widget = next(w for w in (*at.slider, *at.number_input, *at.selectbox) if w.key == key)
    assert widget.value == fallback


def test_a_link_with_an_unreadable_scenario_b_says_so_and_shows_a(app):
    at = app(plan_b="70e9_1.4e12_3_16")
    assert not at.exception
    assert any("scenario B" in w.value and "experts must be one of" in w.value for w in at.warning)
    assert any("No scenario B yet" in c.value for c in at.caption)


def test_a_link_with_scenario_b_shows_the_comparison(app):
    at = app(plan_b="1e10_2e11_8_4")
    assert not at.exception and not at.warning
    table = next(t for t in at.table if "Scenario B" in t.value.columns).value  # st.table takes no key
    assert list(table.columns) == ["Scenario A", "Scenario B"]
    assert table.loc["Active parameters N", "Scenario B"] == "10 B"
    assert (
        table.loc["Experts", "Scenario B"] == "8" and table.loc["Serving precision", "Scenario B"] == "4-bit"
    )
    # 6 · 1e10 · 2e11 = 1.2e22 FLOPs
    assert table.loc["Training compute (FLOPs)", "Scenario B"] == "1.20e22"
    assert "None" not in table.to_numpy().ravel().tolist()
    at.button(key="clear_b").click().run()
    assert not at.exception and "plan_b" not in at.query_params
    assert any("No scenario B yet" in c.value for c in at.caption)


def test_a_link_with_a_2_4_sparse_scenario_b_shows_its_sparsity_and_dense_size_compute(app):
    at = app(plan_b="1e9_2e10_1_16_0.5")
    assert not at.exception and not at.warning
    table = next(t for t in at.table if "Scenario B" in t.value.columns).value
    assert table.loc["Weight sparsity", "Scenario B"] == "2:4 (half the weights zero)"
    assert table.loc["Weight sparsity", "Scenario A"] == "none"
    # trained at its dense size's cost: 6 · 1e9 · 2e10 / (1 - 0.5) = 2.4e20 FLOPs
    assert table.loc["Training compute (FLOPs)", "Scenario B"] == "2.40e20"
    assert any("2:4 sparse" in m.value for m in at.markdown)


def test_a_link_with_an_fp8_trained_scenario_b_says_so_and_halves_its_h100_training_hours(app):
    at = app(plan_b="1e9_1e11_1_16_0_fp8")
    assert not at.exception and not at.warning
    table = next(t for t in at.table if "Scenario B" in t.value.columns).value
    assert table.loc["Trained in", "Scenario B"] == "FP8 (E4M3)"
    # 6 · 1e9 · 1e11 FLOPs at the H100's FP8 peak (1,978.9 TFLOP/s) and MFU 0.4: 210.6 device-hours
    assert table.loc["Training device-hours", "Scenario B"] == "211"
    assert any("FP8-trained" in m.value for m in at.markdown)


def test_target_loss_and_devices_modes_run(app):
    at = app(plan_mode="Target loss", target_loss="2.2")
    assert not at.exception and metrics(at)["Predicted loss (nats/token)"] == "2.2000"
    # the least compute that reaches 2.2, by hand: L*(C) = E + K (C/6)^(-ab/(a+b))
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    k = A * g**-ALPHA + B * g**BETA
    flops = 6 * (k / (2.2 - E)) ** ((ALPHA + BETA) / (ALPHA * BETA))
    assert any(f"{flops:.2e}".replace("e+", "e") in c.value for c in at.caption)
    at = app(plan_mode="Devices × days", n_devices="4000", days="30.0")
    assert not at.exception and metrics(at)["Wall-clock days"] == "30.0"


def test_a_device_added_on_the_hardware_page_is_offered_on_plan(app):
    at = app("hardware.py")
    at.text_input(key="hw_add_id").set_value("my-asic")
    at.text_input(key="hw_add_name").set_value("My ASIC")
    at.number_input(key="hw_add_bf16").set_value(500.0)
    at.number_input(key="hw_add_mem").set_value(96.0)
    at.number_input(key="hw_add_bw").set_value(4000.0)
    at.number_input(key="hw_add_tdp").set_value(600.0)
    next(b for b in at.button if b.label == "Add device").click().run()
    assert not at.exception and any("Added My ASIC" in s.value for s in at.success)
    at = app(hardware="my-asic")
    assert not at.exception and at.selectbox(key="hardware").value == "my-asic"
    # 1e23 FLOPs / (500 TFLOP/s × MFU 0.4) / 3600 s: 139 k device-hours
    assert number(metrics(at)["Training device-hours"]) == pytest.approx(
        1e23 / (500e12 * 0.4) / 3600, rel=0.005
    )


def test_the_memory_front_mixes_precisions_expert_counts_and_sparsity(app):
    at = app(plan_front="memory")
    assert not at.exception
    words = "on the front, by precision, experts, sparsity and training format: "
    line = next(c.value for c in at.caption if words in c.value).replace("\\", "")
    mix = line.split(words)[1].split(". Laws")[0]
    by_bits, by_experts, by_sparsity, by_format = mix.split("; ")
    # memory does not count training: an FP8-trained twin only adds loss, so none is on this front
    assert by_format.startswith("bf16-trained: ") and "FP8" not in by_format
    assert len(by_bits.split(", ")) > 1 and len(by_experts.split(", ")) > 1
    # on an H100 (2:4 sparse tensor cores) both unpruned and 2:4 models are on the memory front
    assert by_sparsity.startswith("unpruned: ") and ", 2:4 sparse: " in by_sparsity
    assert "precision (verified)" in line and "moe-joint (verified)" in line
    assert "frantar-sparsity-t5 (verified)" in line and "FP8 training penalty: sun-fp-quant" in line


def test_no_metric_value_is_a_long_unformatted_number(app):
    for params in ({}, {"plan_mode": "Target loss", "target_loss": "1.95"}, {"log10_flops": "26.5"}):
        at = app(**params)
        for m in at.metric:
            assert len(m.value) <= 14, (m.label, m.value)
            assert not any(part.isdigit() and len(part) > 7 for part in m.value.replace(",", " ").split()), (
                m.value
            )


def test_the_share_link_and_the_json_export_carry_the_scenario(app):
    import json
    from urllib.parse import parse_qs

    at = app(
        log10_flops="22.0",
        use_custom_grid="true",
        custom_grid="123.0",
        plan_b="1e9_2e10_1_8",
        plan_front="memory",
    )
    assert not at.code  # the link and the JSON are built only once their expander is opened
    at.session_state["plan_share_shown"] = True
    at.run()
    assert not [c for c in at.code if c.language == "json"]  # the JSON only once it is asked for
    at.session_state["plan_json_shown"] = True
    at.run()
    exported = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert exported["schema"] == "flopwise.plan/2"
    assert exported["inputs"]["log10_flops"] == 22.0 and exported["inputs"]["custom_grid"] == 123.0
    assert exported["results"]["grid_g_per_kwh"] == 123.0
    link = next(c.value for c in at.code if c.language == "plaintext")
    query = parse_qs(link.split("?", 1)[1])
    assert query["log10_flops"] == ["22.0"] and query["plan_b"] == ["1e09_2e10_1_8"]
    assert query["plan_front"] == ["memory"] and exported["inputs"]["front_objective"] == "memory_gb"


def test_the_recommended_model_gets_its_step_law_learning_rate_and_batch_size(app):
    # Li et al. 2025 (Step Law): eta = 1.79 N^-0.713 D^0.307, B = 0.58 D^0.571 tokens, by hand at
    # the default budget's optimum (1e23 FLOPs on the Epoch refit)
    at = app()
    n, d = epoch_optimum(1e23)
    line = next(m.value for m in at.markdown if m.value.startswith("**Train it with**"))
    lr = 1.79 * n**-0.713 * d**0.307
    batch = 0.58 * d**0.571
    assert f"{lr:.2e}".replace("e-0", "e-") in line, line  # '2.08e-4' style
    assert number(line.split("batch size of ")[1].split(" tokens")[0]) == pytest.approx(batch, rel=0.01)
    assert any("outside the range" in c.value for c in at.caption)  # 14 B on 280 B tokens: an extrapolation
