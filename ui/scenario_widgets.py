"""Streamlit pieces for saved scenarios: the Plan page's "Save this scenario" form, and what the
Scenarios page reads from the store (cached on the store's version, like every page's reads).

Pages do not import each other, so what both the Plan and the Scenarios pages need lives here.
Names, authors and notes are user text: messages show them escaped (ui.format.plain).
"""

from __future__ import annotations

import streamlit as st

from engine.analysis import plan, registry
from engine.analysis import scenarios as analysis
from engine.cost import carbon, microbench
from engine.cost.hardware import Device
from engine.data import scenarios as saved
from engine.data import store
from engine.errors import FlopwiseError
from engine.laws.base import Law
from ui import db
from ui import format as fmt

SCENARIOS_PAGE = "app_pages/scenarios.py"


def save_form(result: plan.PlanResult, law: Law, device: Device, *, key: str = "plan_save") -> None:
    """A form saving this scenario (scenario A: inputs, law with its constants, device, results)
    in the store under a name, with an author and a note; says what happened, names as typed."""
    with st.form(key, border=True):
        st.markdown("**Save this scenario** for the team: it is listed on the Scenarios page.")
        left, right = st.columns(2)
        name = left.text_input("Name", max_chars=saved.NAME_MAX, key=f"{key}_name")
        author = right.text_input("Author", max_chars=saved.AUTHOR_MAX, key=f"{key}_author")
        note = st.text_area("Note", max_chars=saved.NOTE_MAX, key=f"{key}_note", height=80)
        submitted = st.form_submit_button("Save this scenario", icon=":material/bookmark_add:")
    if not submitted:
        return
    try:
        record = analysis.scenario_record(result, law, device)
        with db.session(write=True) as con:
            saved.save_scenario(con, name, author, note, record)
    except FlopwiseError as exc:
        st.error(f"Not saved: {fmt.plain(exc)}")
        return
    st.success(f"Saved the scenario “{fmt.plain(name.strip())}”.")
    st.page_link(SCENARIOS_PAGE, label="Open the Scenarios page", icon=":material/bookmarks:")


# --- what the Scenarios page reads, cached on the store's version ---------------------------------


@st.cache_data(show_spinner=False)
def grids() -> dict:
    return carbon.load_grid_intensities()


@st.cache_data(show_spinner=False)
def current_laws(version: tuple) -> dict[str, Law]:
    """The laws the Plan page offers: the registry's laws with a loss and the saved fits."""
    with db.session() as con:
        fits = registry.saved_fit_laws(store.list_fits(con))
    return {
        **{k: v for k, v in registry.LAWS.items() if v.has_loss},
        **{k: law for k, (law, _) in fits.items()},
    }


@st.cache_data(show_spinner=False)
def current_devices(version: tuple) -> dict[str, Device]:
    """The catalog, the users' devices, and each stored benchmark as a measured device (as the Plan
    page builds it with "use measured"), by hardware id."""
    with db.session() as con:
        devices = store.all_devices(con)
        benchmarks = store.list_benchmarks(con)
    for record in benchmarks:
        like = devices.get(microbench.catalog_match(record["result"]["machine"]) or "")
        try:
            device = microbench.measured_device(record["result"], bench_id=record["bench_id"], like=like)
        except FlopwiseError:
            continue
        devices[device.hardware_id] = device
    return devices


@st.cache_data(show_spinner=False)
def saved_scenarios(version: tuple) -> list[dict]:
    """Every saved scenario, newest first (engine.data.scenarios.list_scenarios)."""
    with db.session() as con:
        return saved.list_scenarios(con)


@st.cache_data(show_spinner=False, max_entries=64)
def reopened(version: tuple, scenario_id: str) -> analysis.Reopened:
    """A saved scenario re-evaluated with the constants and figures it was saved with, and what
    changed since (engine.analysis.scenarios.reopen_scenario)."""
    row = next(r for r in saved_scenarios(version) if r["scenario_id"] == scenario_id)
    return analysis.reopen_scenario(row["record"], current_laws(version), current_devices(version), grids())


@st.cache_data(show_spinner=False, max_entries=16)
def front_view(
    inputs: plan.PlanInputs, law: Law, device: Device, grid, objective: str, budget: float | None
) -> plan.FrontView:
    return plan.front_view(inputs, law, device, grid, objective, budget=budget)


def cached_front(reopened_scenario: analysis.Reopened, objective: str) -> plan.FrontView:
    """The front the Plan page draws for this scenario (cached as the Plan page caches it)."""
    r = reopened_scenario.result
    budget = None if r.inputs.plan_mode is plan.PlanMode.TARGET_LOSS else r.flops
    return front_view(r.inputs, reopened_scenario.law, reopened_scenario.device, r.grid, objective, budget)
