"""Training footprints against the published ones, and the hardware catalog."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.cost.carbon import equivalents, load_grid_intensities
from engine.cost.footprint import FootprintError, footprint_from_device_hours, training_footprint
from engine.cost.hardware import HardwareError, device_from_row, load_catalog
from engine.paths import DATASETS_DIR

CATALOG = load_catalog()
LLMCARBON = pd.read_csv(DATASETS_DIR / "llmcarbon_training_footprints.csv")
DEVICE = {"TPUV3": ("tpu-v3", "bf16"), "V100": ("v100-sxm2", "fp16")}


@pytest.mark.parametrize("row", LLMCARBON.to_dict("records"), ids=lambda r: r["name"])
def test_llmcarbon_published_footprints_within_10_percent(row):
    hardware_id, dtype = DEVICE[row["computing device"]]
    fp = training_footprint(
        row["total zettaFLOPs"] * 1e21,
        CATALOG[hardware_id],
        n_devices=int(row["device #"]),
        dtype=dtype,
        mfu=row["hardware efficiency"],
        power_w=row["avg. system power (W)"],
        pue=row["PUE"],
        grid_g_per_kwh=row["CO2eq/KWh"] * 1000,
    )
    assert fp.energy_kwh / 1000 == pytest.approx(row["energy MWh"], rel=0.10)
    assert fp.co2_kg / 1000 == pytest.approx(row["actual tCO2eq"], rel=0.10)
    assert fp.wall_days == pytest.approx(row["training days"], rel=0.10)


# Llama 2 (Touvron et al. 2023, Table 2): GPU-hours on A100-80GB at 400 W (350 W for 34B) and tCO2e.
# One grid intensity, implied by the 7B row (31.22 t / 73.7 MWh = 423.5 g/kWh, PUE folded in),
# reproduces every other row and the total.
LLAMA2 = [(184_320, 400, 31.22), (368_640, 400, 62.44), (1_038_336, 350, 153.90), (1_720_320, 400, 291.42)]
LLAMA2_G_PER_KWH = 31.22e6 / (184_320 * 400 / 1000)


@pytest.mark.parametrize(("gpu_hours", "watts", "tco2"), LLAMA2)
def test_llama2_gpu_hours_to_tco2e(gpu_hours, watts, tco2):
    fp = footprint_from_device_hours(
        gpu_hours, CATALOG["a100-80gb"], n_devices=2048, power_w=watts, grid_g_per_kwh=LLAMA2_G_PER_KWH
    )
    assert fp.co2_kg / 1000 == pytest.approx(tco2, rel=0.01)


def test_llama2_total_is_539_tco2e():
    total = sum(
        footprint_from_device_hours(
            h, CATALOG["a100-80gb"], n_devices=2048, power_w=w, grid_g_per_kwh=LLAMA2_G_PER_KWH
        ).co2_kg
        for h, w, _ in LLAMA2
    )
    assert total / 1000 == pytest.approx(539, rel=0.01)


def test_embodied_carbon_follows_llmcarbon():
    v100 = CATALOG["v100-sxm2"]
    assert v100.embodied_kg == pytest.approx(8.15 * 1.2 + 32 * 0.4)
    fp = footprint_from_device_hours(1000 * 24 * 365, v100, n_devices=1000, grid_g_per_kwh=0)
    assert fp.embodied_co2_kg == pytest.approx(1000 * v100.embodied_kg / 5)  # one year of a 5-year life
    assert CATALOG["b200"].embodied_kg is None


def test_catalog_has_the_devices_and_only_dense_peaks():
    wanted = {
        "v100-sxm2",
        "a100-40gb",
        "a100-80gb",
        "h100-sxm",
        "h100-pcie",
        "h200-sxm",
        "b200",
        "gb200",
        "mi300x",
        "l40s",
        "rtx-4090",
        "tpu-v4",
        "tpu-v5e",
        "tpu-v5p",
    }
    assert wanted <= set(CATALOG)
    h100 = CATALOG["h100-sxm"]
    assert h100.peak_flops("bf16") == pytest.approx(989.4e12)  # not the 1979 sparse headline
    assert h100.ridge_point("bf16") == pytest.approx(295, rel=0.01)
    assert all(d.source for d in CATALOG.values())


def test_bad_devices_and_inputs_are_named():
    with pytest.raises(HardwareError, match="memory_gb must be a positive"):
        device_from_row({"hardware_id": "x", "peak_bf16_tflops": 1, "memory_gb": -1, "bandwidth_gb_s": 1})
    with pytest.raises(HardwareError, match="at least one peak"):
        device_from_row({"hardware_id": "x", "memory_gb": 1, "bandwidth_gb_s": 1})
    with pytest.raises(HardwareError, match="no fp8 peak"):
        CATALOG["v100-sxm2"].peak_flops("fp8")
    with pytest.raises(FootprintError, match=r"mfu \(a fraction of peak\) must be .* at most 1"):
        training_footprint(1e23, CATALOG["h100-sxm"], n_devices=8, mfu=40, grid_g_per_kwh=400)
    no_power = device_from_row(
        {"hardware_id": "x", "peak_bf16_tflops": 100, "memory_gb": 16, "bandwidth_gb_s": 800}
    )
    with pytest.raises(FootprintError, match="no TDP"):
        training_footprint(1e23, no_power, n_devices=8, grid_g_per_kwh=400)


def test_every_catalog_device_has_power_and_estimates_say_so():
    for device in CATALOG.values():
        assert device.tdp_w is not None and device.tdp_w > 0, device.hardware_id
        assert device.power_source, f"{device.hardware_id}: no power_source"
        if device.tdp_estimated:
            assert device.power_source.startswith("ESTIMATE"), device.hardware_id
    estimated = {h for h, d in CATALOG.items() if d.tdp_estimated}
    assert estimated == {"tpu-v5e", "tpu-v5p"}
    # the stated basis: bf16 dense peak × 0.7075 W per TFLOP/s (H100 SXM: 700 W / 989.4), rounded up to 10 W
    assert pytest.approx(0.7075, abs=1e-4) == 700 / 989.4 and 700 / 989.4 > 192 / 275
    assert CATALOG["tpu-v5e"].tdp_w == 140 and pytest.approx(139.4, abs=0.05) == 197 * 0.7075
    assert CATALOG["tpu-v5p"].tdp_w == 330 and pytest.approx(324.7, abs=0.05) == 459 * 0.7075
    fp = training_footprint(1e23, CATALOG["tpu-v5p"], n_devices=8, grid_g_per_kwh=400)
    assert fp.energy_kwh > 0 and fp.co2_kg > 0


def test_power_fields_default_for_rows_stored_before_them(store):
    import json

    old = {
        "hardware_id": "lab",
        "name": "Lab",
        "peak_bf16_tflops": 100,
        "memory_gb": 16,
        "bandwidth_gb_s": 800,
        "tdp_w": 300,
        "source": "added by a user",
    }
    store.cursor().execute("INSERT INTO hardware VALUES ('lab', 'Lab', now(), ?)", [json.dumps(old)])
    from engine.data.store import all_devices

    lab = all_devices(store.cursor())["lab"]
    assert lab.tdp_estimated is False and lab.power_source == "added by a user" and lab.tdp_w == 300
    assert device_from_row({**old, "tdp_estimated": "yes", "power_source": "my guess"}).tdp_estimated
    with pytest.raises(HardwareError, match="tdp_estimated must be true or false"):
        device_from_row({**old, "tdp_estimated": "maybe"})
    with pytest.raises(HardwareError, match="needs its basis in power_source"):
        device_from_row({**old, "tdp_estimated": True})


def test_grid_intensities_and_equivalents():
    grids = load_grid_intensities()
    assert grids["France"].g_co2_per_kwh == pytest.approx(56.0, abs=0.1)
    assert grids["United States"].g_co2_per_kwh == pytest.approx(369.5, abs=0.1)
    assert any(k.startswith("gcp europe-west1") for k in grids) and all(g.source for g in grids.values())
    (cars, _), (miles, _) = equivalents(4600.0)
    assert cars == pytest.approx(1.0) and miles == pytest.approx(11500)
