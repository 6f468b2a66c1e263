"""Scenarios: the team's saved Plan scenarios, reopened exactly, compared (up to six) and handed
round as a report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath

import streamlit as st

from engine.analysis import plan
from engine.analysis import scenarios as analysis
from engine.data import scenarios as saved
from engine.errors import FlopwiseError
from ui import db, report, scenario_figures
from ui import format as fmt
from ui import scenario_widgets as widgets
from ui.scenario_tables import PLAN_FRONT_WORDS, comparison_table, highlighted, plan_link_params, saved_list
from ui.url import LinkCheck

MESSAGE = "scenarios_message"  # (kind, text) left by an action for the next run to show
CONFIRM_DELETE = "scenarios_confirm_delete"  # the scenario id awaiting confirmation
FRONTS = {word: objective for objective, word in PLAN_FRONT_WORDS.items()}


def say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def show_message() -> None:
    kind, text = st.session_state.pop(MESSAGE, (None, None))
    if kind:
        getattr(st, kind)(text)


# --- actions (callbacks: they run before the page, so the page shows the store after them) -------


def rename(scenario_id: str, old_name: str) -> None:
    new_name = st.session_state.get("scenario_new_name", "")
    try:
        with db.session(write=True) as con:
            stored = saved.rename_scenario(con, scenario_id, new_name)
    except FlopwiseError as exc:
        say("error", f"Not renamed: {fmt.plain(exc)}")
        return
    st.session_state["scenario"] = stored
    st.session_state["scenario_new_name"] = ""
    say("success", f"Renamed “{fmt.plain(old_name)}” to “{fmt.plain(stored)}”.")


def duplicate(scenario_id: str, old_name: str) -> None:
    try:
        with db.session(write=True) as con:
            copy = saved.get_scenario(con, saved.duplicate_scenario(con, scenario_id))["name"]
    except FlopwiseError as exc:
        say("error", f"Not duplicated: {fmt.plain(exc)}")
        return
    st.session_state["scenario"] = copy
    say("success", f"Saved a copy of “{fmt.plain(old_name)}” as “{fmt.plain(copy)}”.")


def ask_delete(scenario_id: str) -> None:
    st.session_state[CONFIRM_DELETE] = scenario_id


def cancel_delete() -> None:
    st.session_state.pop(CONFIRM_DELETE, None)


def delete(scenario_id: str) -> None:
    st.session_state.pop(CONFIRM_DELETE, None)
    try:
        with db.session(write=True) as con:
            name = saved.delete_scenario(con, scenario_id)
    except FlopwiseError as exc:
        say("error", f"Not deleted: {fmt.plain(exc)}")
        return
    st.session_state.pop("scenario", None)
    say("success", f"Deleted the scenario “{fmt.plain(name)}”.")


# --- sections --------------------------------------------------------------------------------------------


def report_scenario(row: dict, done: analysis.Reopened) -> report.ReportScenario:
    return report.ReportScenario(
        name=row["name"],
        result=done.result,
        law=done.law,
        device=done.device,
        author=row["author"],
        note=row["note"],
        saved_at=row["created_at"],
        changes=done.changes,
    )


def downloads(rows: list[dict], done: list[analysis.Reopened], *, key: str, file_stem: str) -> None:
    """The HTML report (built when clicked) and the PDF (printed on request) of these scenarios."""
    scenarios = [report_scenario(r, d) for r, d in zip(rows, done)]
    left, right = st.columns(2)
    left.download_button(
        "Report (HTML, opens offline)",
        lambda: report.report_html(scenarios),
        file_name=f"{file_stem}.html",
        mime="text/html",
        key=f"{key}_html",
        on_click="ignore",
        icon=":material/description:",
    )
    engine_path, engine_words = report.pdf_engine()
    if engine_path is None:
        right.caption(fmt.plain(engine_words))
        return
    ready = st.session_state.get(f"{key}_pdf")
    identity = (db.version(), tuple(r["scenario_id"] for r in rows))
    if ready and ready[0] == identity:
        if ready[1] is None:
            right.warning(fmt.plain(ready[2]))
        else:
            right.download_button(
                "Report (PDF)",
                ready[1],
                file_name=f"{file_stem}.pdf",
                mime="application/pdf",
                key=f"{key}_pdf_download",
                on_click="ignore",
                icon=":material/picture_as_pdf:",
            )
            right.caption(fmt.plain(ready[2]))
        return
    if right.button("Prepare the PDF", key=f"{key}_pdf_make", icon=":material/picture_as_pdf:"):
        with st.spinner(f"Printing with {engine_words}…"):
            data, words = report.pdf_from_html(report.report_html(scenarios))
        st.session_state[f"{key}_pdf"] = (identity, data, words)
        st.rerun()
    right.caption(f"PDF engine: {fmt.plain(engine_words)}.")


def metrics(result: plan.PlanResult) -> None:
    a, b, c, d = st.columns(4)
    a.metric("Parameters N", fmt.count(result.n_params))
    b.metric("Training tokens D", fmt.count(result.n_tokens))
    c.metric("Tokens per parameter", fmt.ratio(result.tokens_per_param))
    d.metric("Predicted loss (nats/token)", f"{result.loss:.4f}")
    e, f, g, h = st.columns(4)
    e.metric("Training cost", fmt.money(result.train.cost_usd))
    f.metric("Lifetime cost", fmt.money(result.total_cost_usd))
    g.metric(
        "Lifetime tCO2e", fmt.DASH if result.total_co2_kg is None else fmt.sig(result.total_co2_kg / 1000)
    )
    h.metric("Decode latency (ms/token)", fmt.short(result.inference.decode_s_per_step * 1e3))


def open_section(row: dict, version: tuple) -> None:
    try:
        done = widgets.reopened(version, row["scenario_id"])
    except FlopwiseError as exc:
        st.error(f"“{fmt.plain(row['name'])}” cannot be reopened: {fmt.plain(exc)}")
        return
    st.markdown(f"**{fmt.plain(row['name'])}**")
    who = f"by {fmt.plain(row['author'])} · " if row["author"] else ""
    st.caption(
        f"{who}saved {row['created_at']:%Y-%m-%d %H:%M} UTC · law {fmt.plain(done.law.id)} · "
        f"{fmt.plain(done.device.name)}"
    )
    if row["note"]:
        st.text(row["note"])
    if done.changes:
        for change in done.changes:
            st.warning(fmt.plain(change))
    else:
        st.success(
            "Reopened exactly: the law, device and grid are as when it was saved, and so are the results."
        )
    metrics(done.result)
    st.page_link(
        "app_pages/plan.py",
        label="Open it on the Plan page (with today's law and device figures)",
        icon=":material/explore:",
        query_params=plan_link_params(done.result.inputs),
    )
    actions = st.columns([4, 1, 1], vertical_alignment="bottom")
    actions[0].text_input("New name", key="scenario_new_name", max_chars=saved.NAME_MAX)
    actions[1].button(
        "Rename", key="scenario_rename", on_click=rename, args=(row["scenario_id"], row["name"])
    )
    actions[2].button(
        "Duplicate", key="scenario_duplicate", on_click=duplicate, args=(row["scenario_id"], row["name"])
    )
    if st.session_state.get(CONFIRM_DELETE) == row["scenario_id"]:
        st.warning(
            f"Delete “{fmt.plain(row['name'])}” from the store, for everyone who uses it? "
            "This cannot be undone."
        )
        yes, no, _ = st.columns([1, 1, 4])
        yes.button(
            "Yes, delete it",
            key="scenario_delete_yes",
            type="primary",
            on_click=delete,
            args=(row["scenario_id"],),
        )
        no.button("Cancel", key="scenario_delete_no", on_click=cancel_delete)
    else:
        st.button("Delete…", key="scenario_delete", on_click=ask_delete, args=(row["scenario_id"],))
    stamp = f"{row['created_at']:%Y-%m-%dT%H:%M:%SZ}"
    st.download_button(
        "Scenario file (JSON, to import elsewhere)",
        analysis.export_scenario(
            row["name"],
            row["author"],
            row["note"],
            row["record"],
            saved_at=stamp,
            exported_at=f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        ),
        file_name="flopwise_scenario.json",
        mime="application/json",
        key="scenario_export",
        on_click="ignore",
        icon=":material/download:",
    )
    downloads([row], [done], key="scenario_report", file_stem="flopwise_scenario_report")


def compare_section(rows: list[dict], version: tuple, link: LinkCheck) -> None:
    if len(rows) < 2:
        st.caption("Pick two to six scenarios to compare them side by side.")
        return
    done = []
    for row in rows:
        try:
            done.append(widgets.reopened(version, row["scenario_id"]))
        except FlopwiseError as exc:
            st.error(f"“{fmt.plain(row['name'])}” cannot be reopened: {fmt.plain(exc)}")
            return
    labels = [f"{i + 1}. {row['name']}" for i, row in enumerate(rows)]
    frame = analysis.compare_frame([row["record"] for row in rows], labels)
    n_differ = int(frame["differs"].sum())
    st.caption(f"The saved numbers side by side; the {n_differ:,} highlighted rows (≠) differ.")
    st.dataframe(highlighted(comparison_table(frame)), key="scenario_compare_table", height=560)
    for row, d in zip(rows, done):
        for change in d.changes:
            st.warning(f"{fmt.plain(row['name'])}: {fmt.plain(change)}")
    front = link.radio(st, "Front: loss against", list(FRONTS), horizontal=True, key="scenarios_front")
    objective = FRONTS[front]
    planned = [scenario_figures.Planned(r["name"], d.result, d.law, d.device) for r, d in zip(rows, done)]
    view = widgets.cached_front(done[0], objective)
    st.plotly_chart(scenario_figures.front_figure(planned, objective, view), key="scenario_compare_front")
    st.caption(fmt.plain(scenario_figures.front_caption(planned, objective)))
    st.plotly_chart(scenario_figures.frontier_figure(planned), key="scenario_compare_frontier")
    st.caption(
        "The scaling frontier of the scenarios' laws (as on the Scaling laws page), each scenario's "
        "training compute, parameters and tokens a numbered star. "
        + " ".join(f"{i + 1}: {fmt.plain(r['name'])}." for i, r in enumerate(rows))
    )
    downloads(rows, done, key="compare_report", file_stem="flopwise_comparison_report")


def import_section(laws: dict, devices: dict) -> None:
    uploaded = st.file_uploader(
        "Scenario file (JSON: a FLOPwise scenario file, or the Plan page's “Scenario as JSON”)",
        type=["json"],
        key="scenario_import_file",
    )
    if uploaded is None:
        return
    try:
        imported = analysis.import_scenario(
            uploaded.getvalue(), laws=laws, devices=devices, grids=widgets.grids()
        )
    except FlopwiseError as exc:
        st.error(f"{fmt.plain(uploaded.name)} cannot be imported: {fmt.plain(exc)}")
        return
    if imported.converted:
        st.info(fmt.plain(imported.converted))
    inputs = analysis.inputs_of(imported.record)
    st.caption(
        f"{fmt.plain(uploaded.name)}: a valid scenario ({fmt.plain(inputs.plan_law)} on "
        f"{fmt.plain(inputs.hardware)}; its results match its inputs). Name it and import it."
    )
    key = f"scenario_import_{uploaded.file_id}"
    with st.form(key, border=True):
        name = st.text_input(
            "Name",
            value=imported.name or PurePath(uploaded.name).stem,
            max_chars=saved.NAME_MAX,
            key=f"{key}_name",
        )
        author = st.text_input(
            "Author", value=imported.author, max_chars=saved.AUTHOR_MAX, key=f"{key}_author"
        )
        note = st.text_area(
            "Note", value=imported.note, max_chars=saved.NOTE_MAX, key=f"{key}_note", height=80
        )
        submitted = st.form_submit_button("Import this scenario", icon=":material/upload:")
    if submitted:
        try:
            with db.session(write=True) as con:
                saved.save_scenario(con, name, author, note, imported.record)
        except FlopwiseError as exc:
            st.error(f"Not imported: {fmt.plain(exc)}")
            return
        say("success", f"Imported “{fmt.plain(name.strip())}”.")
        st.rerun()


# --- the page --------------------------------------------------------------------------------------

st.title("Scenarios")
st.caption(
    "Plan scenarios saved by the team (Plan page, Share and export) or imported from a file: reopen one "
    "exactly as saved, compare up to six side by side, and download a report to hand round."
)
show_message()
version = db.version()
rows = widgets.saved_scenarios(version)
by_name = {row["name"]: row for row in rows}
link = LinkCheck()

st.subheader("Saved scenarios")
if not rows:
    st.info(
        "No saved scenarios yet: save one on the Plan page (under Share and export), or import a file below."
    )
else:
    st.dataframe(saved_list(rows), hide_index=True, key="scenario_list")

    st.subheader("Open a scenario")
    chosen = link.selectbox(st, "Scenario", list(by_name), key="scenario")
    open_section(by_name[chosen], version)

    st.subheader("Compare scenarios")
    names = st.multiselect(
        f"Scenarios to compare (two to {analysis.MAX_COMPARED})",
        list(by_name),
        max_selections=analysis.MAX_COMPARED,
        key="scenarios_compare",
        bind="query-params",
    )
    compare_section([by_name[n] for n in names if n in by_name], version, link)

st.subheader("Import a scenario file")
import_section(widgets.current_laws(version), widgets.current_devices(version))
link.show()
