"""Saved scenarios through AppTest: save on the Plan page, list, open (exactly as saved), the link
back to the Plan page, import (and a tampered file refused), rename, duplicate, delete, compare.

Expected numbers come from the saved record and from a hand calculation of the default scenario
(Besiroglu et al.'s Table 1 law at 1e23 FLOPs), not from the page's own code."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine.analysis import plan
from engine.analysis import scenarios as analysis
from engine.analysis.registry import LAWS
from engine.cost.carbon import load_grid_intensities
from engine.cost.hardware import load_catalog
from engine.data import scenarios as saved
from tests.numbers import number
from ui.format import count, money
from ui.scenario_tables import plan_link_params

pytestmark = pytest.mark.app

GRIDS, CATALOG = load_grid_intensities(), load_catalog()
HOSTILE = "<b>Team</b> **plan** [x](https://example.com)"
E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658  # Besiroglu et al. 2024, Table 1


def epoch_n(flops: float) -> float:
    """N* of L = E + A/N^a + B/D^b on C = 6ND, by hand: G (C/6)^(b/(a+b))."""
    return (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA)) * (flops / 6) ** (BETA / (ALPHA + BETA))


@pytest.fixture(autouse=True)
def no_scenarios():
    """Each test starts from a store without saved scenarios (the app's store is shared)."""
    from ui import db

    def clear():
        with db.get_store().connect() as con:
            con.execute("DELETE FROM scenarios")

    clear()
    yield
    clear()


def connect():
    from ui import db

    return db.get_store().connect()


def record_of(inputs: plan.PlanInputs | None = None, law=None) -> dict:
    inputs = inputs or plan.PlanInputs()
    law = law or LAWS[inputs.plan_law]
    device = CATALOG[inputs.hardware]
    return analysis.scenario_record(plan.evaluate(inputs, law, device, GRIDS), law, device)


def store(name: str, record: dict, author: str = "", note: str = "") -> str:
    with connect() as con:
        return saved.save_scenario(con, name, author, note, record)


def names() -> list[str]:
    with connect() as con:
        return [r["name"] for r in saved.list_scenarios(con)]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> str:
    """The messages' text as a reader sees it (without the Markdown escapes of ui.format.plain)."""
    return " ".join(e.value for e in elements).replace("\\", "").replace("\u2060", "")


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def open_scenarios(app, **query):
    at = app("scenarios.py", **query)
    assert not at.exception, at.exception
    return at


def test_save_on_the_plan_page_then_it_is_listed_and_reopens_exactly(app):
    at = app()
    at.session_state["plan_share_shown"] = True  # the "Share and export" expander opened
    at.run()
    at.text_input(key="plan_save_name").input(HOSTILE)
    at.text_input(key="plan_save_author").input("ana")
    at.text_area(key="plan_save_note").input("for Monday\nsecond line")
    button(at, "Save this scenario").click().run()
    assert not at.exception and not at.error
    assert f"Saved the scenario “{HOSTILE}”" in texts(at.success)
    assert "\\<b\\>Team\\</b\\> \\*\\*plan" in at.success[0].value  # escaped: shown as typed, not as markup
    assert names() == [HOSTILE]  # stored as typed
    button(at, "Save this scenario").click().run()  # the same name again
    assert "exists already" in texts(at.error) and names() == [HOSTILE]

    at = open_scenarios(app)
    listed = at.dataframe[0].value
    assert list(listed["Name"]) == [HOSTILE] and list(listed["Author"]) == ["ana"]
    assert [t.value for t in at.text] == ["for Monday\nsecond line"]  # the note, as plain text
    assert "Reopened exactly" in texts(at.success) and not at.warning
    with connect() as con:
        results = saved.list_scenarios(con)[0]["record"]["plan"]["results"]
    shown = metrics(at)
    assert shown["Parameters N"] == count(results["n_params"])
    assert shown["Lifetime cost"] == money(results["total_cost_usd"])
    assert number(shown["Parameters N"]) == pytest.approx(epoch_n(1e23), rel=0.005)  # 29.4 B by hand


def test_the_plan_link_reproduces_a_saved_scenario(app):
    inputs = dataclasses.replace(
        plan.PlanInputs(), log10_flops=23.5, region="France", inference_tokens=2e12, n_devices=2048, price=3.1
    )
    record = record_of(inputs)
    at = app(**plan_link_params(inputs))
    assert not at.exception and not at.warning  # every URL value taken
    shown = metrics(at)
    assert shown["Parameters N"] == count(record["plan"]["results"]["n_params"])
    assert shown["Training cost"] == money(record["plan"]["results"]["train"]["cost_usd"])
    assert shown["Lifetime serving cost"] == money(record["plan"]["results"]["serve"]["cost_usd"])


def test_import_a_scenario_file_and_refuse_a_tampered_one(app):
    text = analysis.export_scenario("imported plan", "bo", "from the other team", record_of())
    at = open_scenarios(app)
    at.file_uploader(key="scenario_import_file").set_value(
        ("s.json", text.encode(), "application/json")
    ).run()
    assert not at.exception and not at.error
    name_box = next(t for t in at.text_input if t.label == "Name")
    assert name_box.value == "imported plan"
    button(at, "Import this scenario").click().run()
    assert not at.exception and "Imported “imported plan”" in texts(at.success)
    assert names() == ["imported plan"]

    tampered = json.loads(text)
    tampered["record"]["plan"]["results"]["n_params"] *= 2
    tampered["checksum"] = analysis.checksum(tampered)
    at.file_uploader(key="scenario_import_file").set_value(
        ("t.json", json.dumps(tampered).encode(), "application/json")
    ).run()
    assert "cannot be imported" in texts(at.error) and "results do not match" in texts(at.error)
    assert not [b for b in at.button if b.label == "Import this scenario"]  # nothing to import
    at.file_uploader(key="scenario_import_file").set_value(("x.json", b"hello", "application/json")).run()
    assert "it is not JSON" in texts(at.error)
    assert names() == ["imported plan"]  # nothing stored from the bad files


def test_rename_duplicate_and_delete_with_a_confirmation(app):
    store("alpha", record_of())
    at = open_scenarios(app)
    at.text_input(key="scenario_new_name").input("beta")
    button(at, "Rename").click().run()
    assert "Renamed “alpha” to “beta”" in texts(at.success) and names() == ["beta"]
    button(at, "Duplicate").click().run()
    assert "as “beta (copy)”" in texts(at.success) and sorted(names()) == ["beta", "beta (copy)"]
    assert at.selectbox(key="scenario").value == "beta (copy)"  # the copy is opened
    button(at, "Delete…").click().run()
    assert "cannot be undone" in texts(at.warning) and len(names()) == 2  # not yet
    button(at, "Cancel").click().run()
    assert len(names()) == 2
    button(at, "Delete…").click().run()
    button(at, "Yes, delete it").click().run()
    assert not at.exception and "Deleted the scenario “beta (copy)”" in texts(at.success)
    assert names() == ["beta"]


def test_a_changed_law_is_said_when_reopened(app):
    law = LAWS["chinchilla-epoch"].with_constants(alpha=0.36)  # as if the law's constants were revised since
    store("old constants", record_of(law=law))
    at = open_scenarios(app)
    warning = texts(at.warning)
    assert "constants of the law chinchilla-epoch changed" in warning and "alpha 0.36 → 0.3478" in warning
    assert "Reopened exactly" not in texts(at.success)


def test_compare_two_scenarios_side_by_side(app):
    store("small", record_of())
    store("big", record_of(dataclasses.replace(plan.PlanInputs(), log10_flops=24.0)))
    at = open_scenarios(app, scenarios_compare=["small", "big"])
    table = at.dataframe[1].value
    assert table.loc["Training compute (log10 FLOPs)", "Differs"] == "≠"
    assert table.loc["PUE", "Differs"] == ""
    assert list(table.columns) == ["Section", "1. small", "2. big", "Differs"]
    charts = list(at.get("plotly_chart"))
    assert len(charts) == 2  # the front and the scaling frontier
