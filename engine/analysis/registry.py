"""All laws by stable id, with their metadata (see engine.laws.base.LawInfo)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.analysis.fit import assess_constants, fitted_law
from engine.laws import chinchilla, data_constrained, kaplan, moe, precision
from engine.laws.base import Law
from engine.errors import LawError

LAWS: dict[str, Law] = {
    law.id: law for module in (chinchilla, kaplan, data_constrained, precision, moe) for law in module.LAWS
}

DEFAULT_LAW_IDS = ("chinchilla", "chinchilla-epoch")


FIT_PREFIX = "fit:"


def saved_fit_laws(fits: Iterable[dict]) -> dict[str, tuple[Law, np.ndarray | None]]:
    """Saved fits (rows of engine.data.store.list_fits) as laws, keyed 'fit:NAME', with their
    bootstrap samples (rows of E, A, B, alpha, beta) when the fit had any. A fit saved before
    fits were assessed is assessed here, from its constants."""
    out = {}
    for row in fits:
        record = row["record"]
        problems = record.get("problems")
        if problems is None:
            problems = assess_constants(record["params"], min_loss=record.get("min_loss"))
        law = fitted_law(f"{FIT_PREFIX}{row['name']}", row["name"], record["params"],
                         fitted_on=fitted_on(record, row), problems=problems)
        samples = np.asarray(record["samples"]) if record.get("samples") else None
        out[law.id] = (law, samples)
    return out


def fitted_on(record: dict, row: dict) -> str:
    """What a saved fit was fitted on, in words: runs, sources, uploads, options and date."""
    selection = record.get("selection", {})
    parts = [f"{row['n_points']:,} runs"]
    if selection.get("sources"):
        parts.append("sources " + ", ".join(selection["sources"]))
    if selection.get("uploads"):
        parts.append("uploads " + ", ".join(selection["uploads"]))
    if selection.get("loss_column") and selection["loss_column"] != "loss":
        parts.append(f"loss column {selection['loss_column']}")
    if selection.get("best_per_cell"):
        parts.append("best run per (N, D) cell")
    if selection.get("drop_top_loss"):
        parts.append(f"{selection['drop_top_loss']} highest-loss runs dropped")
    if selection.get("dropped_outliers"):
        parts.append(f"{len(selection['dropped_outliers'])} outliers dropped")
    if selection.get("bootstrap"):
        parts.append(f"{selection['bootstrap']} bootstrap resamples")
    created = row.get("created_at")
    return "; ".join(parts) + (f"; saved {created:%Y-%m-%d}" if created is not None else "")


def get_law(law_id: str) -> Law:
    """The law registered under ``law_id``; LawError naming the known ids otherwise."""
    try:
        return LAWS[law_id]
    except KeyError:
        raise LawError(f"unknown law {law_id!r}; known laws: {', '.join(LAWS)}") from None


def has_compute_optimum(law: Law) -> bool:
    """Whether the law allocates a compute budget: Clark's routed law is fitted at fixed data,
    and a degenerate fit's constants have no frontier (``law.optimum_problem()`` says why)."""
    return not law.info.compute_model.startswith("fixed") and law.optimum_problem() is None


def describe(law: Law) -> dict:
    """The law's public description: id, title, citation, url, verified flag and constants."""
    info = law.info
    return {
        "id": info.id,
        "title": info.title,
        "citation": info.citation,
        "url": info.url,
        "verified": info.verified,
        "parameters": law.parameters,
        "equation": info.equation,
        "source_detail": info.source_detail,
        "conventions": info.conventions,
        "valid_range": info.valid_range,
        "has_loss": law.has_loss,
        "extra_inputs": list(info.extra_inputs),
        "compute_model": info.compute_model,
        "params_meaning": info.params_meaning,
    }
