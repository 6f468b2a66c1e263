"""All laws by stable id, with their metadata (see engine.laws.base.LawInfo)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.fit import fitted_law
from engine.laws import chinchilla, data_constrained, kaplan, moe, precision
from engine.laws.base import Law, LawError

LAWS: dict[str, Law] = {
    law.id: law for module in (chinchilla, kaplan, data_constrained, precision, moe) for law in module.LAWS
}

DEFAULT_LAW_IDS = ("chinchilla", "chinchilla-epoch")


FIT_PREFIX = "fit:"


def saved_fit_laws(fits: Iterable[dict]) -> dict[str, tuple[Law, np.ndarray | None]]:
    """Saved fits (rows of engine.store.list_fits) as laws, keyed 'fit:NAME', with their
    bootstrap samples (rows of E, A, B, alpha, beta) when the fit had any."""
    out = {}
    for row in fits:
        record = row["record"]
        selection = record.get("selection", {})
        sources = ", ".join(selection.get("sources", [])) or "selected runs"
        law = fitted_law(
            f"{FIT_PREFIX}{row['name']}", f"Your fit: {row['name']}", record["params"],
            description=f"Fitted in FLOPwise on {row['n_points']} runs ({sources}), {row['created_at']:%Y-%m-%d}",
        )
        samples = np.asarray(record["samples"]) if record.get("samples") else None
        out[law.id] = (law, samples)
    return out


def get_law(law_id: str) -> Law:
    """The law registered under ``law_id``; LawError naming the known ids otherwise."""
    try:
        return LAWS[law_id]
    except KeyError:
        raise LawError(f"unknown law {law_id!r}; known laws: {', '.join(LAWS)}") from None


def has_compute_optimum(law: Law) -> bool:
    """Whether the law allocates a compute budget (Clark's routed law is fitted at fixed data)."""
    return not law.info.compute_model.startswith("fixed")


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
