"""Runs: upload a sweep, see what was accepted and why rows were rejected, browse all runs, fit
a law with uncertainty and save it for the other pages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from engine.analysis import fit_guidance, hyperparams, isoflop, registry, scaling
from engine.analysis.fit import PARAM_NAMES, allocation_band, fit_chinchilla, fitted_law
from engine.data import blocks, ingest, store
from engine.data import runs as runs_lib
from engine.data.runs import RunFilter
from engine.errors import LawError
from ui import db, figures
from ui import format as fmt
from ui.tables import readable
from ui.widgets import lazy_expander

UNMAPPED = "— not in this file —"
LOSS_LABEL = "Loss (nats/token; each source on its own data set)"
FRONTIER_FLOPS = (1e18, 1e27)  # budgets of the fit-against-published chart


def _loss(v: float) -> str:
    return f"{v:.4f}"


# Tables for reading: engine column -> (label with unit, formatter); the CSV keeps the engine's columns.
RUN_COLUMNS = {
    "model_name": ("Model", None),
    "source": ("Source", None),
    "n_params": ("Parameters N", fmt.count),
    "n_params_convention": ("Parameter count", None),
    "n_tokens": ("Tokens D", fmt.count),
    "unique_tokens": ("Unique tokens", fmt.count),
    "flops": ("Compute C (FLOPs)", fmt.sci),
    "derived_field": ("Derived by C = 6ND", None),
    "loss": ("Loss (nats/token)", _loss),
    "loss_eval_set": ("Loss data set", None),
    "precision": ("Precision", None),
    "n_experts": ("Experts", lambda v: f"{v:,.0f}"),
    "top_k": ("Top-k", lambda v: f"{v:,.0f}"),
    "granularity": ("Granularity G", fmt.short),
    "hardware": ("Hardware", None),
    "notes": ("Notes", None),
    "run_id": ("Run id", None),
    "upload_id": ("Upload", None),
}
ALWAYS = ("model_name", "source", "n_params", "n_tokens", "flops", "loss", "run_id")
UPLOAD_COLUMNS = {
    "upload_id": ("Upload", None),
    "file_name": ("File", None),
    "received_at": ("Received", None),
    "n_accepted": ("Rows accepted", lambda v: f"{v:,.0f}"),
    "n_rejected": ("Rows rejected", lambda v: f"{v:,.0f}"),
    "column_mapping": ("Column mapping", None),
}
BUDGET_COLUMNS = {
    "budget": ("Budget C (FLOPs)", fmt.sci),
    "n_runs": ("Runs", lambda v: f"{v:,.0f}"),
    "n_opt": ("N_opt (parameters)", fmt.count),
    "d_opt": ("D_opt (tokens)", fmt.count),
    "loss_opt": ("Loss at N_opt (nats/token)", _loss),
    "used": ("Used for a", lambda v: "yes" if v else "no"),
    "note": ("Note", None),
}
CONSTANT_NAMES = {"alpha": "α", "beta": "β"}


def runs_table(runs: pd.DataFrame):
    """The runs for reading: labelled columns, counts in k/M/B/T, compute as 1.40e18; the columns
    no selected run fills are left out."""
    columns = {k: v for k, v in RUN_COLUMNS.items() if k in runs and (k in ALWAYS or runs[k].notna().any())}
    return readable(runs, columns)


# The page stays as fast with a million stored runs as with a thousand: filters, counts and the
# checks before a fit run in DuckDB; the chart and table get a fixed sample; the download is built
# when it is asked for; a fit loads at most FIT_LIMIT runs.
SAMPLE_SIZE = 2_000
TABLE_ROWS = 500
FIT_LIMIT = 50_000


@st.cache_data(show_spinner=False, max_entries=4)
def choices(version: tuple) -> dict:
    with db.session() as con:
        return store.selection_choices(con)


@st.cache_data(show_spinner="Reading the selected runs…", max_entries=8)
def selection_data(version: tuple, selection: RunFilter) -> dict:
    """What the page shows of a selection, read on one connection: its size and fixed sample and,
    when it is small enough to fit (FIT_LIMIT), its profile (engine.data.store.selection_profile) and
    every run."""
    with db.session() as con:
        n_runs = store.selection_count(con, selection)
        data = {"n_runs": n_runs, "sample": None, "profile": None, "runs": None}
        if n_runs <= FIT_LIMIT:
            data["profile"] = store.selection_profile(con, selection)
            data["runs"] = store.selected_runs(con, selection)
        # a selection no larger than the sample is its own sample
        data["sample"] = (
            data["runs"] if n_runs <= SAMPLE_SIZE else store.sample_runs(con, selection, SAMPLE_SIZE)
        )
    return data


@st.cache_data(show_spinner="Checking the selected runs…", max_entries=4)
def large_profile(version: tuple, selection: RunFilter) -> dict:
    """The profile of a selection above FIT_LIMIT (only when runs are picked on its chart)."""
    with db.session() as con:
        return store.selection_profile(con, selection)


@st.cache_data(show_spinner="Loading the selected runs…", max_entries=2)
def everything(version: tuple, selection: RunFilter) -> pd.DataFrame:
    """Every selected run, for the download (any size)."""
    with db.session() as con:
        return store.selected_runs(con, selection)


def file_section() -> None:
    st.subheader("1 · Upload a sweep")
    st.caption(
        "CSV (comma, semicolon or tab; UTF-8 or UTF-16, decimal points or commas) or Parquet, one row per "
        "training run. Recognised columns include params / model_size / N, tokens / D, flops / compute / C, "
        "loss / val_loss, smoothed loss, unique_tokens, lr, batch size, warm-up, experts, active params; "
        "values may be written 70M, 1.3B, 1.4T or 2e9. Any two of parameters, tokens and compute suffice "
        "(C = 6ND gives the third). A row that cannot be used is named with its reason; the others are kept."
    )
    files = st.file_uploader(
        "Sweep files", type=["csv", "parquet", "tsv", "txt"], accept_multiple_files=True, key="uploads"
    )
    # Streamlit returns a deep copy of each file on every rerun (its widget values are copied): the
    # copies are dropped at once and each file's bytes read from the upload manager's own record, so
    # a 200 MB upload is held once, not twice, while it is checked and stored.
    uploads = [Upload(f.file_id, f.name, f.size, f) for f in files or []]
    del files
    parsed = st.session_state.setdefault("_parsed_uploads", {})
    for gone in set(parsed) - {u.file_id for u in uploads}:  # files removed from the uploader
        del parsed[gone]
    while uploads:
        upload = uploads.pop(0)
        with st.container(border=True):
            upload_one(upload.without_copy(), parsed.setdefault(upload.file_id, {}))


@dataclass
class Upload:
    """An uploaded file: its id, name and size, and where its bytes are."""

    file_id: str
    name: str
    size: int
    copy: object = field(repr=False)  # Streamlit's UploadedFile (a copy of the bytes) until dropped

    def without_copy(self) -> Upload:
        """This upload reading its bytes from the upload manager's record (the copy dropped), where
        the record can be found; else itself."""
        record = _upload_record(self.file_id)
        if record is None:
            return self
        self.copy = record
        return self

    def getvalue(self) -> bytes:
        """The file's bytes, not copied (an unmodified BytesIO's getvalue() is the bytes it holds)."""
        return self.copy.data if isinstance(self.copy, UploadedFileRec) else self.copy.getvalue()


def _upload_record(file_id: str) -> UploadedFileRec | None:
    ctx = get_script_run_ctx()
    if ctx is None or ctx.uploaded_file_mgr is None:
        return None
    records = ctx.uploaded_file_mgr.get_files(session_id=ctx.session_id, file_ids=[file_id])
    return records[0] if records else None


CONVENTION_WORDS = {
    "total": "total parameters (embeddings included)",
    "non_embedding": "non-embedding parameters",
    "active": "active parameters (MoE)",
}
UNIT_WORDS = {"tokens": "tokens", "sequences": "sequences"}
ERRORS_SHOWN = 1_000


def upload_one(file, cache: dict) -> None:
    """One uploaded file: its reading, the column mapping and conventions (editable), what was
    accepted and why rows were rejected, and the button that stores it. The file is read once
    and validated once per mapping (``cache``, this session's), not on every rerun."""
    name = file.name
    st.markdown(f"**{fmt.plain(name)}** · {file.size:,} bytes")  # a file's name is shown as typed
    # A large plain CSV is checked and stored a block at a time (engine.data.blocks); only its report
    # is kept here, never its rows. getvalue() is the uploader's own bytes object (an unmodified
    # BytesIO shares the bytes it was made from); getbuffer() would copy them (200 MB: 190 MiB more).
    data = file.getvalue()
    if "blockwise" not in cache:
        cache["blockwise"] = blocks.blockwise(data, name)
    try:
        if cache["blockwise"]:
            columns_read = cache.setdefault("columns", blocks.header_columns(data))
        else:
            if "table" not in cache:
                cache["table"] = ingest.read_table(data, name)
            columns_read = list(cache["table"].columns)
    except ingest.IngestError as exc:
        st.error(fmt.plain(exc))
        return
    guessed = ingest.guess_mapping(columns_read)
    columns = [UNMAPPED, *map(str, columns_read)]
    with st.expander("Column mapping (detected; change it before storing)", expanded=not guessed):
        grid = st.columns(4)
        mapping = {}
        for i, field in enumerate(ingest.ALIASES):
            default = guessed.get(field)
            choice = grid[i % 4].selectbox(
                field,
                columns,
                index=columns.index(str(default)) if default is not None else 0,
                key=f"map_{file.file_id}_{field}",
            )
            if choice != UNMAPPED:
                mapping[field] = columns_read[columns.index(choice) - 1]
    key = (
        tuple(sorted(mapping.items())),
        st.session_state.get(f"conv_{file.file_id}"),
        st.session_state.get(f"unit_{file.file_id}"),
    )
    if (before := cache.get("key")) is not None and before[0] == key[0]:
        # the selectboxes below start at the detected convention and unit: that value is no new choice
        # (else the first rerun after a file is read, e.g. the Store click, would read it all again)
        prior = cache["report"]
        key = (
            key[0],
            before[1] if key[1] == prior.convention else key[1],
            before[2] if key[2] == prior.batch_size_unit else key[2],
        )
    try:
        if cache.get("key") != key:
            cache.pop("report", None)
            if cache["blockwise"] and not blocks.blockwise(data, name, mapping, key[2]):
                cache["blockwise"] = False  # a batch-size column without a stated unit: read whole
                st.rerun()
            if cache["blockwise"]:
                try:
                    cache["report"], cache["types"] = blocks.scan_upload(
                        data, name, mapping, convention=key[1], batch_size_unit=key[2]
                    )
                except blocks.NotBlockwise:  # ragged rows: the whole-file path names them
                    cache["blockwise"] = False
                    st.rerun()
            else:
                cache["report"] = ingest.validate(
                    cache["table"], name, data, mapping, convention=key[1], batch_size_unit=key[2]
                )
            cache["key"] = key
        report = cache["report"]
    except ingest.IngestError as exc:
        st.error(fmt.plain(exc))
        return
    left, right = st.columns(2)
    left.selectbox(
        "N counts",
        ingest.CONVENTIONS,
        index=ingest.CONVENTIONS.index(report.convention),
        format_func=CONVENTION_WORDS.get,
        key=f"conv_{file.file_id}",
        help=f"Detected: {report.convention_reason}",
    )
    if report.batch_size_unit is not None:
        right.selectbox(
            "Batch size counts",
            ingest.BATCH_SIZE_UNITS,
            index=ingest.BATCH_SIZE_UNITS.index(report.batch_size_unit),
            format_func=UNIT_WORDS.get,
            key=f"unit_{file.file_id}",
            help=f"Detected: {report.batch_size_unit_reason}",
        )
    st.caption(
        fmt.plain(
            f"Read as {report.dialect}. N: {report.convention_reason}."
            + (f" Batch size: {report.batch_size_unit_reason}." if report.batch_size_unit else "")
        )
    )
    a, r = st.columns(2)
    a.metric("Accepted rows", f"{report.n_accepted:,}")
    r.metric("Rejected rows", f"{report.n_rejected:,}")
    if report.errors:
        errors = report.errors_frame()
        if report.n_rejected > ERRORS_SHOWN:
            st.caption(f"The first {ERRORS_SHOWN:,} of {report.n_rejected:,} rejected rows:")
        st.dataframe(errors.head(ERRORS_SHOWN), hide_index=True, height=min(35 * (len(errors) + 1), 280))
    if report.unmapped_columns:
        st.caption(
            f"Kept in the stored file but not used: {fmt.plain(', '.join(report.unmapped_columns[:20]))}"
            + (" …" if len(report.unmapped_columns) > 20 else "")
        )
    if report.n_accepted == 0:
        st.error("No usable rows: nothing can be stored. The table above says why for each row.")
        return
    if st.button(
        f"Store {report.n_accepted:,} rows", key=f"store_{file.file_id}_{report.sha256[:8]}", type="primary"
    ):
        with db.session(write=True) as con:
            if cache["blockwise"]:
                stored, _ = store.store_upload_blocks(
                    con,
                    data,
                    name,
                    mapping,
                    convention=key[1],
                    batch_size_unit=key[2],
                    column_types=cache.get("types"),
                )
            else:
                stored = store.store_upload(con, report, data)
        if stored.added:
            st.success(f"Stored {stored.n_accepted:,} runs as upload {stored.upload_id}.")
        else:
            st.info(f"This file was stored before (upload {stored.upload_id}); nothing was added.")


@st.cache_data(show_spinner=False, max_entries=4)
def user_uploads(version: tuple) -> pd.DataFrame:
    with db.session() as con:
        return store.list_uploads(con)


def uploads_section(version: tuple) -> None:
    """The user's uploads, listed and deletable; built only when its toggle is on."""
    if message := st.session_state.pop("upload_deleted", None):
        st.success(message)
    uploads = user_uploads(version)
    if uploads.empty or not st.toggle(f"Your uploads ({len(uploads)})", key="show_uploads"):
        return
    st.dataframe(
        readable(uploads, {k: v for k, v in UPLOAD_COLUMNS.items() if k in uploads}),
        hide_index=True,
        placeholder=fmt.DASH,
    )
    names = dict(zip(uploads["upload_id"], uploads["file_name"]))
    choice = st.selectbox(
        "Upload to delete", list(names), key="delete_choice", format_func=lambda u: f"{names[u]} ({u})"
    )
    if st.button("Delete this upload and its runs", key="delete_upload"):
        with db.session(write=True) as con:
            n = store.delete_upload(con, choice)
        st.session_state["upload_deleted"] = (
            f"Deleted {fmt.plain(names[choice])} ({choice}) and its {n:,} runs."
        )
        st.rerun()


def browse_section(version: tuple) -> tuple[RunFilter, list[str]]:
    """The run filters, the selection's size, a chart and a table of a sample of it, and its
    download. Returns the filter and the run ids picked on the chart (box or lasso)."""
    st.subheader("2 · Browse runs")
    options = choices(version)
    sources = options["sources"]
    left, mid, right = st.columns(3)
    chosen = left.multiselect(
        "Sources",
        sources,
        default=["hoffmann2022"] if "hoffmann2022" in sources else sources[:1],
        key="sources",
        bind="query-params",
    )
    chosen_sets = mid.multiselect("Loss data set", options["eval_sets"], key="eval_sets", help="Empty: all")
    log_n = right.slider(
        "Parameters N (log10 range)", 3.0, 14.0, (3.0, 14.0), 0.1, key="log10_n_range", bind="query-params"
    )
    right.caption(f"N from {fmt.count(10 ** log_n[0])} to {fmt.count(10 ** log_n[1])} parameters")
    user_uploads = None
    uploads = options["uploads"]
    if runs_lib.USER_SOURCE in chosen and len(uploads) > 1:
        user_uploads = tuple(
            st.multiselect(
                "Your uploads",
                list(uploads),
                default=list(uploads),
                key="upload_filter",
                format_func=lambda u: f"{uploads.get(u, u)} ({u})",
            )
        )
    selection = RunFilter(
        sources=tuple(chosen),
        user_uploads=user_uploads,
        eval_sets=tuple(chosen_sets) or None,
        n_params_range=(10 ** log_n[0], 10 ** log_n[1]),
    )
    data = selection_data(version, selection)
    n_runs, shown = data["n_runs"], data["sample"]
    sampled = f"; the chart and table show a fixed sample of {len(shown):,}" if len(shown) < n_runs else ""
    st.caption(
        f"{n_runs:,} runs selected of {options['n_fit_ready']:,} with parameters, tokens and loss{sampled}. "
        "Box- or lasso-select points to fit a subset."
    )
    event = st.plotly_chart(
        figures.runs_scatter(shown, loss_label=LOSS_LABEL),
        key="runs_chart",
        on_select="rerun",
        selection_mode=("box", "lasso"),
    )
    picked = [p.get("customdata") for p in (event.selection.points if event else [])]
    picked = [p for p in picked if p]
    # built only when asked for: formatting a table for reading costs more than the rest of the page
    if st.toggle("Show these runs as a table", key="runs_show_table"):
        if len(shown) > TABLE_ROWS:
            st.caption(f"{TABLE_ROWS:,} runs of the sample, by compute; the download has every selected run.")
        table = shown.head(TABLE_ROWS).sort_values(["flops", "run_id"])
        st.dataframe(runs_table(table), hide_index=True, placeholder=fmt.DASH, key="runs_table")
    st.download_button(
        f"Download these {n_runs:,} runs (CSV)",
        lambda: runs_lib.to_safe_csv(everything(version, selection)),
        file_name="flopwise_runs.csv",
        mime="text/csv",
        key="download_runs",
        on_click="ignore",
    )
    if picked:
        st.info(f"{len(picked)} runs picked on the chart; the fit uses them.")
    return selection, picked


LOSS_CHOICES = {"loss": "Final loss", "loss_smoothed": "Smoothed loss"}


def fit_inputs(selected: pd.DataFrame, chosen: dict) -> tuple[pd.DataFrame, str, bool]:
    """The runs a fit uses: which loss column, and whether only each (N, D) cell's best run."""
    loss_column = "loss"
    if chosen["has_smoothed_loss"]:
        loss_column = st.radio(
            "Loss to fit",
            list(LOSS_CHOICES),
            format_func=LOSS_CHOICES.get,
            horizontal=True,
            key="fit_loss_column",
            help="The file gives both a final and a smoothed loss.",
        )
    best_only = False
    several = chosen["cells_with_several_runs"]
    if several:
        best_only = st.checkbox(
            f"Fit the best run of each (N, D) cell ({several:,} cells hold several runs, e.g. a "
            "learning-rate or batch-size sweep)",
            value=chosen["has_hyperparameters"],
            key="fit_best_per_cell",
            help="The least-loss run of each cell, over its other hyperparameters; the rest are "
            "not independent samples of L(N, D).",
        )
    runs = (
        runs_lib.best_run_per_cell(selected, loss_column)
        if best_only
        else selected[selected[loss_column].notna()]
    )
    return runs, loss_column, best_only


def leave_out(run_ids: list[str]) -> None:
    """Callback: leave these runs out of the next fit, and refit."""
    st.session_state["fit_exclude"] = sorted(set(st.session_state.get("fit_exclude", [])) | set(run_ids))
    st.session_state["refit"] = True


def drop_highest(k: int) -> None:
    """Callback: drop the k highest-loss runs (the published precedent), and refit."""
    st.session_state["drop_top_loss"] = k
    st.session_state["refit"] = True


def fit_section(selected: pd.DataFrame, chosen: dict) -> None:
    st.subheader("3 · Fit L(N, D) = E + A/N^α + B/D^β")
    st.caption(
        "Hoffmann et al.'s method: Huber loss (δ = 1e-3) on log loss, L-BFGS from their 4,500 "
        "initialisations; bootstrap resamples give standard errors and 95% intervals."
    )
    for warning in fit_guidance.selection_warnings(chosen):
        st.warning(fmt.plain(warning))
    runs, loss_column, best_only = fit_inputs(selected, chosen)
    excluded = [r for r in st.session_state.get("fit_exclude", []) if r in set(runs["run_id"])]
    if excluded:
        left, right = st.columns([4, 1])
        left.info(
            f"{len(excluded):,} runs left out as outliers: {fmt.plain(', '.join(excluded[:6]))}"
            + (" …" if len(excluded) > 6 else "")
        )
        if right.button("Put them back", key="fit_include_all"):
            st.session_state.pop("fit_exclude", None)
            st.rerun()
    c1, c2, c3 = st.columns(3)
    drop = c1.number_input(
        "Drop the k highest-loss runs",
        0,
        max(len(runs) - 5, 0),
        0,
        key="drop_top_loss",
        bind="query-params",
        help=fit_guidance.HIGH_LOSS_PRECEDENT,
    )
    n_boot = c2.slider("Bootstrap resamples", 0, 4000, 200, 50, key="bootstrap", bind="query-params")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="seed")
    refit = st.session_state.pop("refit", False)
    n_fitted = len(runs) - len(excluded) - int(drop)
    if st.button(f"Fit {n_fitted:,} runs", type="primary", key="run_fit", disabled=n_fitted < 5) or refit:
        bar = st.progress(0.0, text="Starting")
        try:
            result = fit_chinchilla(
                runs["n_params"],
                runs["n_tokens"],
                runs[loss_column],
                drop_top_loss=int(drop),
                exclude=np.flatnonzero(runs["run_id"].isin(excluded).to_numpy()),
                bootstrap=int(n_boot),
                seed=int(seed),
                progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text),
            )
        except ValueError as exc:
            st.error(fmt.plain(exc))
            return
        bar.empty()
        before = st.session_state.get("fit", {}).get("result") if refit else None
        uploads = sorted(runs.loc[runs["source"] == runs_lib.USER_SOURCE, "upload_id"].unique())
        st.session_state["fit"] = {
            "result": result,
            "runs": runs[["run_id", "model_name", "source", "n_params", "n_tokens", "flops"]].reset_index(
                drop=True
            ),
            "before": before,
            "selection": {
                "run_ids": runs["run_id"].iloc[result.used].tolist(),
                "sources": sorted(runs["source"].unique()),
                "uploads": upload_names(uploads),
                "loss_column": loss_column,
                "best_per_cell": best_only,
                "dropped_outliers": excluded,
                "drop_top_loss": int(drop),
                "bootstrap": int(n_boot),
                "seed": int(seed),
            },
        }
    if "fit" in st.session_state:
        show_fit(**st.session_state["fit"])


def upload_names(upload_ids: list[str]) -> list[str]:
    """Uploads by file name (and id), as a fit record lists them."""
    if not upload_ids:
        return []
    with db.session() as con:
        names = store.list_uploads(con).set_index("upload_id")["file_name"]
    return [f"{names.get(u, u)} ({u})" for u in upload_ids]


def outliers_section(result, runs: pd.DataFrame) -> None:
    """The fit's outliers, why, and one click to leave them out (or the published precedent)."""
    outliers = fit_guidance.find_outliers(result)
    k = fit_guidance.HIGH_LOSS_PRECEDENT_K
    if outliers.empty and result.n_points < 10 * k:
        return
    with st.container(border=True):
        if outliers.empty:
            st.markdown(
                "**Outliers:** none more than "
                f"{fit_guidance.OUTLIER_Z:g} robust standard deviations off the fit."
            )
        else:
            st.markdown(
                f"**{len(outliers):,} outliers** (log residual more than {fit_guidance.OUTLIER_Z:g} robust "
                "standard deviations from the median)"
            )
            rows = runs.iloc[outliers["run"]].reset_index(drop=True)
            table = rows[["model_name", "source", "n_params", "n_tokens"]].assign(
                loss=outliers["loss"].to_numpy(),
                predicted=outliers["predicted"].to_numpy(),
                reason=outliers["reason"].to_numpy(),
            )
            st.dataframe(
                readable(
                    table,
                    {
                        "model_name": ("Model", None),
                        "source": ("Source", None),
                        "n_params": ("Parameters N", fmt.count),
                        "n_tokens": ("Tokens D", fmt.count),
                        "loss": ("Loss (nats/token)", _loss),
                        "predicted": ("Fit predicts", _loss),
                        "reason": ("Why", None),
                    },
                ),
                hide_index=True,
                placeholder=fmt.DASH,
                key="fit_outliers",
            )
            st.button(
                f"Leave these {len(outliers):,} out and refit",
                key="fit_leave_out",
                on_click=leave_out,
                args=(rows["run_id"].tolist(),),
            )
        if result.n_points >= 10 * k and not st.session_state.get("drop_top_loss"):
            st.caption(fit_guidance.HIGH_LOSS_PRECEDENT)
            st.button(
                f"Drop the {k} highest-loss runs and refit, as they did",
                key="fit_drop_precedent",
                on_click=drop_highest,
                args=(k,),
            )


def comparison_section(before, result) -> None:
    """How the estimates moved with the last refit."""
    moved = fit_guidance.compare_fits(before, result)
    moved["constant"] = moved["constant"].map(lambda c: CONSTANT_NAMES.get(c, c))
    four = lambda v: f"{v:.4g}"
    st.markdown(f"**How the estimates moved** ({before.n_points:,} runs → {result.n_points:,})")
    columns = {
        "constant": ("Constant", None),
        "before": ("Before", four),
        "after": ("After", four),
        "change": ("Change", lambda v: f"{v:+.4g}"),
        "change_in_stderr": ("Change (standard errors of before)", lambda v: f"{v:+.2f}"),
    }
    if moved["change_in_stderr"].isna().all():  # no bootstrap before: no standard errors
        del columns["change_in_stderr"]
    st.dataframe(readable(moved, columns), hide_index=True, placeholder=fmt.DASH, key="fit_moved")


def show_fit(result, runs: pd.DataFrame, before, selection: dict) -> None:
    status = "optimiser converged" if result.converged else "optimiser did NOT converge"
    st.markdown(
        f"**Fit on {result.n_points:,} runs** · {status} · objective {result.objective:.6g} · "
        f"RMSE of log loss {result.rmse_log:.4f}"
    )
    if result.problems:
        st.error("This fit is not usable as a law:\n\n" + "\n".join(f"- {p}" for p in result.problems))
    for warning in result.warnings:
        st.warning(warning)
    table = pd.DataFrame(
        {
            "Constant": [CONSTANT_NAMES.get(p, p) for p in PARAM_NAMES],
            "Value": [result.params[p] for p in PARAM_NAMES],
        }
    )
    if result.stderr:
        table["Std. error"] = [result.stderr[p] for p in PARAM_NAMES]
        table["95% low"] = [result.ci95[p][0] for p in PARAM_NAMES]
        table["95% high"] = [result.ci95[p][1] for p in PARAM_NAMES]
    four = lambda v: f"{v:.4g}"
    st.dataframe(
        readable(table, {c: (c, None if c == "Constant" else four) for c in table}),
        hide_index=True,
        placeholder=fmt.DASH,
        key="fit_constants",
    )
    exp_ci = result.exponent_ci95()
    a_text = f"N* ∝ C^{result.exponent_n_opt:.3f}" + (
        f" (95%: {exp_ci['exponent_n_opt'][0]:.3f} to {exp_ci['exponent_n_opt'][1]:.3f})" if exp_ci else ""
    )
    st.markdown(f"**Frontier:** {a_text}; D* ∝ C^{result.exponent_d_opt:.3f}")
    log_c = st.slider("Budget for the allocation (log10 FLOPs)", 18.0, 27.0, 23.0, 0.1, key="fit_budget")
    st.caption(fmt.power_of_ten(log_c, "FLOPs"))
    try:
        alloc = result.allocation(10**log_c).iloc[0]
    except LawError as exc:
        st.info(f"No allocation: {exc}")
    else:
        m1, m2 = st.columns(2)
        band = lambda col: (
            f" (95%: {fmt.count(alloc[col + '_lo'])}–{fmt.count(alloc[col + '_hi'])})"
            if f"{col}_lo" in alloc and np.isfinite(alloc[col + "_lo"])
            else ""
        )
        m1.metric(
            "N* at this budget (parameters)", fmt.count(alloc["n_params"]), help=band("n_params") or None
        )
        m2.metric("D* at this budget (tokens)", fmt.count(alloc["n_tokens"]), help=band("n_tokens") or None)
        if band("n_params"):
            st.caption(f"N*{band('n_params')}; D*{band('n_tokens')}")
    d1, d2, d3 = st.columns(3)
    d1.plotly_chart(
        figures.residuals_figure(runs["flops"].to_numpy()[result.used], result.log_residuals), key="resid"
    )
    d2.plotly_chart(figures.predicted_vs_actual_figure(result.actual, result.predicted), key="pva")
    corr = result.correlations()
    if corr is not None:
        d3.plotly_chart(figures.correlation_heatmap(corr), key="corr")
    outliers_section(result, runs)
    if before is not None:
        comparison_section(before, result)
    against_published(result)
    name = st.text_input("Name this fit to use it on the other pages", key="fit_name", max_chars=80)
    anyway = False
    if result.problems:
        anyway = st.checkbox(
            "Save it anyway, with these problems attached (shown wherever it is used)", key="save_unusable"
        )
    if st.button(
        "Save fit", key="save_fit", disabled=not name.strip() or (bool(result.problems) and not anyway)
    ):
        try:
            with db.session(write=True) as con:
                store.save_fit(con, name, "chinchilla", result.n_points, result.record(selection))
            st.success(
                f"Saved as '{fmt.plain(name.strip())}' (your fit, not verified): it now appears beside "
                "the published laws."
            )
        except ValueError as exc:
            st.error(fmt.plain(exc))


PUBLISHED_FOR_COMPARISON = ("chinchilla", "chinchilla-epoch")
FIT_ID = "fit:this"


def against_published(result) -> None:
    """The fit's compute-optimal frontier beside the published laws', on the same axes."""
    law = fitted_law(FIT_ID, "this fit", result.params, fitted_on="", problems=result.problems)
    if not registry.has_compute_optimum(law):
        return
    laws = [law, *(registry.LAWS[i] for i in PUBLISHED_FOR_COMPARISON)]
    frontier = pd.concat([scaling.frontier(each, *FRONTIER_FLOPS) for each in laws], ignore_index=True)
    titles = {each.id: each.info.title for each in laws} | {FIT_ID: "This fit"}
    bands = {}
    if result.samples is not None:
        bands[FIT_ID] = allocation_band(result.samples, np.logspace(*np.log10(FRONTIER_FLOPS), 37))
    st.plotly_chart(figures.frontier_figure(frontier, titles, bands=bands), key="fit_vs_published")
    st.caption(
        "This fit's compute-optimal allocation beside Hoffmann et al.'s and Besiroglu et al.'s: a fit far "
        "from both on the same kind of data deserves a second look."
    )


def hyperparams_section(selected: pd.DataFrame) -> None:
    """Fit the Step Law's lr_opt = a·N^p·D^q and bs_opt = b·D^r to a learning-rate and batch-size
    sweep, and show the fit beside the paper's constants and predictions."""
    law = hyperparams.STEP_LAW
    st.subheader("4 · Optimal learning rate and batch size (Step Law)")
    st.latex(law.info.equation)
    st.caption(
        f"{law.info.title}, the batch size in tokens. Each (N, D) cell's optimum is the "
        "minimum of a quadratic in log learning rate and log batch size near its best run; diverged runs "
        "(loss more than 50% above the cell's best) are left out."
    )
    c1, c2, c3 = st.columns(3)
    loss_column = (
        c1.radio(
            "Loss for the optima",
            list(LOSS_CHOICES),
            format_func=LOSS_CHOICES.get,
            horizontal=True,
            key="hp_loss_column",
        )
        if selected["loss_smoothed"].notna().any()
        else "loss"
    )
    in_sequences = (selected["batch_size_unit"] == "sequences").any()
    seq_len = (
        c2.number_input(
            "Tokens per sequence",
            1,
            1_000_000,
            ingest.FORMAT_SEQUENCE_LENGTH["step_law_dense"],
            key="hp_seq_len",
            help="The file's batch sizes are in sequences.",
        )
        if in_sequences
        else None
    )
    n_boot = c3.number_input(
        "Bootstrap resamples (0: analytic)",
        0,
        2000,
        0,
        key="hp_boot",
        help="Resample the cells with replacement for the 95% intervals; 0 gives OLS intervals.",
    )
    if st.button("Fit the learning-rate and batch-size laws", key="hp_fit"):
        try:
            sweep = hyperparams.sweep_from_runs(selected, loss_column=loss_column, sequence_length=seq_len)
            st.session_state["hp_fit_result"] = hyperparams.fit_hyperparams(sweep, bootstrap=int(n_boot))
        except LawError as exc:
            st.error(fmt.plain(exc))
            return
    fit = st.session_state.get("hp_fit_result")
    if fit is None:
        return
    st.markdown(
        f"**{fit.n_cells:,} cells, {fit.n_runs:,} runs, {fit.n_diverged:,} diverged** · intervals: "
        f"{fit.interval_method}"
    )
    for reason in fit.reasons:
        st.error(fmt.plain(reason))
    for warning in fit.warnings:
        st.warning(fmt.plain(warning))
    paper = law.parameters
    rows = [
        {
            "constant": f"{hyperparams.STEP_LAW_SYMBOLS[name]} ({hyperparams.STEP_LAW_ROLES[name]})",
            "fit": est.value,
            "low": est.ci_low,
            "high": est.ci_high,
            "paper": paper[name],
            "note": est.note or None,
        }
        for name, est in fit.params.items()
    ]
    four = lambda v: f"{v:.4g}"
    st.dataframe(
        readable(
            pd.DataFrame(rows),
            {
                "constant": ("Constant", None),
                "fit": ("Your fit", four),
                "low": ("95% low", four),
                "high": ("95% high", four),
                "paper": ("Step Law (Li et al. 2025)", four),
                "note": ("Note", None),
            },
        ),
        hide_index=True,
        placeholder=fmt.DASH,
        key="hp_constants",
    )
    cells = fit.cells.dropna(subset=["learning_rate", "batch_size"])
    labels = [f"N {fmt.count(n)}, D {fmt.count(d)}" for n, d in zip(cells["n_params"], cells["n_tokens"])]
    lr = {"Step Law (Li et al. 2025)": law.learning_rate(cells["n_params"], cells["n_tokens"])}
    bs = {"Step Law (Li et al. 2025)": law.batch_size_tokens(cells["n_tokens"])}
    if fit.usable:
        mine = fit.to_law()
        lr = {"Your fit": mine.learning_rate(cells["n_params"], cells["n_tokens"]), **lr}
        bs = {"Your fit": mine.batch_size_tokens(cells["n_tokens"]), **bs}
    left, right = st.columns(2)
    left.plotly_chart(
        figures.law_check_figure(
            cells["learning_rate"].to_numpy(),
            lr,
            quantity="learning rate",
            unit="peak learning rate",
            cells=labels,
        ),
        key="hp_lr_chart",
    )
    right.plotly_chart(
        figures.law_check_figure(
            cells["batch_size"].to_numpy(), bs, quantity="batch size", unit="tokens", cells=labels
        ),
        key="hp_bs_chart",
    )


def isoflop_section(selected: pd.DataFrame) -> None:
    """Hoffmann et al.'s Approach 2 on the selection, computed and drawn only while its expander is
    open (a closed one cost every rerun of the page about 50 ms of figure building)."""
    if "iso_tolerance" in st.session_state:  # kept while the expander is closed and its slider not drawn
        st.session_state["iso_tolerance"] = st.session_state["iso_tolerance"]
    if box := lazy_expander("IsoFLOP analysis (Approach 2): exponent of N_opt ∝ C^a", key="iso_shown"):
        isoflop_body(box, selected)


def isoflop_body(box, selected: pd.DataFrame) -> None:
    with box:
        tol = st.slider(
            "Runs within this many decades of compute share a budget",
            0.01,
            0.3,
            0.05,
            0.01,
            key="iso_tolerance",
        )
        try:
            result = isoflop.isoflop_analysis(
                selected["n_params"], selected["flops"], selected["loss"], tolerance_decades=tol
            )
        except ValueError as exc:
            st.info(str(exc))
            return
        lo, hi = result.exponent_n_opt_ci95
        st.markdown(
            f"**a = {result.exponent_n_opt:.3f}** (95%: {lo:.3f} to {hi:.3f}) over "
            f"{int(result.budgets['used'].sum())} budgets; b = 1 − a = {result.exponent_d_opt:.3f}"
        )
        for warning in result.warnings:
            st.warning(warning)
        labels = isoflop.group_budgets(selected["flops"], tol)
        st.plotly_chart(figures.isoflop_analysis_figure(selected, labels, result.budgets), key="iso_chart")
        st.dataframe(
            readable(result.budgets, BUDGET_COLUMNS), hide_index=True, placeholder=fmt.DASH, key="iso_budgets"
        )


st.title("Runs")
st.caption("Your sweeps beside the published ones: upload, check, browse, fit, compare.")
file_section()
version = db.version()  # after the uploads: storing one changes it
uploads_section(version)
selection, picked = browse_section(version)
data = selection_data(version, selection)
n_selected = data["n_runs"]
if not n_selected:
    st.info("No runs match the filters.")
    st.stop()
if n_selected > FIT_LIMIT and not picked:
    st.info(
        f"{n_selected:,} runs are selected; a fit takes at most {FIT_LIMIT:,}. Narrow the selection "
        "(sources, uploads, loss data set, parameter range) or pick runs on the chart."
    )
    st.stop()
if data["runs"] is not None:
    chosen, selected = data["profile"], data["runs"]
else:  # runs picked on the chart of a selection too large to fit: they come from its sample
    chosen, selected = large_profile(version, selection), data["sample"]
if picked:
    selected = selected[selected["run_id"].isin(picked)]
fit_section(selected, chosen)
if chosen["has_hyperparameters"]:
    hyperparams_section(selected)
isoflop_section(selected)
