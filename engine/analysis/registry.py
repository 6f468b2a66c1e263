"""All laws by stable id, with their metadata (see engine.laws.base.LawInfo); every other formula
the pages show (the cost models and allocation rules, engine.formula.Formula), each declared in
the module that evaluates it; and the Methodology page's entries built from both."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.analysis.fit import assess_constants, fitted_law
from engine.analysis.hyperparams import STEP_LAW, HyperparamLaw
from engine.analysis.reconcile import PARAMETER_CONVENTIONS, RECONCILIATION
from engine.analysis.serving_strategy import SERVING_STRATEGY
from engine.analysis.shrink import SHRINK_OPTIONS
from engine.cost.footprint import SERVING_DEVICE_HOURS, TRAINING_FOOTPRINT
from engine.cost.inference import CANDIDATE_LATENCY, SERVING_ROOFLINE
from engine.cost.lifetime import LIFETIME_OPTIMUM
from engine.cost.serving import KV_CACHE_VARIANTS, SERVING_BATCH
from engine.cost.speculative import SPECULATIVE_DECODING
from engine.cost.test_time import ROUTING, TEST_TIME_KINETICS
from engine.errors import LawError
from engine.formula import Formula
from engine.laws import (
    chinchilla,
    data_constrained,
    distillation,
    fp_quant,
    kaplan,
    moe,
    overtraining,
    precision,
    sardana,
    sparsity,
)
from engine.laws.base import COMPUTE_OPTIMAL, LEAST_COMPUTE_FOR_LOSS, Law
from engine.laws.chinchilla import CHINCHILLA_FRONTIER
from engine.laws.precision import KBIT_WEIGHT_MEMORY

LAWS: dict[str, Law] = {
    law.id: law
    for module in (
        chinchilla,
        kaplan,
        data_constrained,
        precision,
        moe,
        sardana,
        overtraining,
        distillation,
        fp_quant,
    )
    for law in module.LAWS
}

COMPRESSION_LAWS: tuple[Law, ...] = (*sparsity.COMPRESSION_LAWS, *distillation.COMPRESSION_LAWS)
"""Laws kept out of the Plan and Scaling pickers, shown by the Methodology page: Frantar et al.'s sparsity
laws (T5 span-corruption and ViT image losses, not a decoder LM's nats per token) and Busbridge et al.'s
distilled student (its loss needs a teacher's loss besides N and D)."""

COMPRESSION_FORMULAS: tuple[Formula, ...] = (
    *sparsity.FORMULAS,
    *fp_quant.FORMULAS,
    *distillation.FORMULAS,
    *overtraining.FORMULAS,
    SHRINK_OPTIONS,
)
"""The rules beside the compression and distillation laws: optimal sparsity, n:m, critical data size,
optimal mantissa, distillation compute, downstream error, and train / over-train / distil."""

DEFAULT_LAW_IDS = ("chinchilla", "chinchilla-epoch")


FIT_PREFIX = "fit:"


def saved_fit_laws(fits: Iterable[dict]) -> dict[str, tuple[Law, np.ndarray | None]]:
    """Saved fits (rows of engine.data.store.list_fits) as laws, keyed 'fit:NAME', with their
    bootstrap samples (rows of E, A, B, alpha, beta) when the fit had any. A fit saved before
    fits were assessed is assessed here, from its constants."""
    out: dict[str, tuple[Law, np.ndarray | None]] = {}
    for row in fits:
        record = row["record"]
        problems = record.get("problems")
        if problems is None:
            problems = assess_constants(record["params"], min_loss=record.get("min_loss"))
        law = fitted_law(
            f"{FIT_PREFIX}{row['name']}",
            row["name"],
            record["params"],
            fitted_on=fitted_on(record, row),
            problems=problems,
        )
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


# --- every formula that is not a law, and the Methodology page's entries --------------------------

ALLOCATION_RULES: tuple[Formula, ...] = (
    COMPUTE_OPTIMAL,
    LEAST_COMPUTE_FOR_LOSS,
    CHINCHILLA_FRONTIER,
    LIFETIME_OPTIMUM,
    RECONCILIATION,
)
"""How the Plan and Scaling pages choose a model from a law: each declared beside its code."""

COST_MODELS: tuple[Formula, ...] = (
    TRAINING_FOOTPRINT,
    SERVING_DEVICE_HOURS,
    SERVING_ROOFLINE,
    CANDIDATE_LATENCY,
    KBIT_WEIGHT_MEMORY,
    SERVING_BATCH,
    KV_CACHE_VARIANTS,
    SERVING_STRATEGY,
    SPECULATIVE_DECODING,
    TEST_TIME_KINETICS,
    ROUTING,
    PARAMETER_CONVENTIONS,
)
"What a model costs to train and serve: each declared beside its code (engine.cost, engine.laws.precision)."

FORMULAS: dict[str, Formula] = {f.id: f for f in (*ALLOCATION_RULES, *COST_MODELS)}

HYPERPARAM_LAWS: tuple[HyperparamLaw, ...] = (STEP_LAW,)
"""Laws of the training hyperparameters (not of the loss): shown beside the loss laws."""

VERIFIED_WORDS = {True: "verified against the source", False: "⚠ not verified"}


@dataclass(frozen=True)
class Entry:
    """One law or formula as the Methodology page lists it: everything it shows, and searches."""

    kind: str  # "law", "hyperparameter law", "allocation rule", "cost model" or "your fit"
    id: str
    title: str
    latex: str
    verified: bool
    citation: str
    url: str
    source_detail: str = ""
    conventions: str = ""
    valid_range: str = ""
    notes: str = ""
    compute_model: str = ""  # laws: how they count training compute
    constants: tuple[tuple[str, float], ...] = ()  # laws: the fitted constants, by name
    inputs: tuple[tuple[str, str], ...] = ()  # formulas: (symbol, meaning with unit)
    outputs: tuple[tuple[str, str], ...] = ()
    assumptions: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # a saved fit's reasons not to use it

    @property
    def verified_words(self) -> str:
        return "your fit (not verified)" if self.kind == "your fit" else VERIFIED_WORDS[self.verified]

    @property
    def text(self) -> str:
        """Every text the entry shows, in one string: what a search looks through."""
        parts = [
            self.kind,
            self.id,
            self.title,
            self.latex,
            self.verified_words,
            self.citation,
            self.url,
            self.source_detail,
            self.conventions,
            self.valid_range,
            self.notes,
            self.compute_model,
            *self.assumptions,
            *self.problems,
        ]
        parts += [name for name, _ in self.constants]
        parts += [f"{symbol} {meaning}" for symbol, meaning in (*self.inputs, *self.outputs)]
        return "\n".join(p for p in parts if p)

    def matches(self, query: str) -> bool:
        """Whether every word of ``query`` occurs in the entry's texts, ignoring case (an empty
        query matches everything)."""
        text = self.text.casefold()
        return all(word in text for word in query.casefold().split())


_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "lam": "λ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "omega": "ω",
    "zeta": "ζ",
    "eta": "η",
    "star": "*",
}


def constant_label(name: str, symbol: str | None = None) -> str:
    """A constant as a reader finds it in the equation: its symbol, then its name in the code
    where they differ ('α (alpha)', 'R*_D (R_star_D)', 'a (lr_coefficient)', 'E')."""
    if symbol is None:
        head, *rest = name.split("_")
        symbol = _GREEK.get(head, head) + "".join(_GREEK.get(part, "_" + part) for part in rest)
    return symbol if symbol == name else f"{symbol} ({name})"


def law_entry(law: Law | HyperparamLaw, kind: str = "law") -> Entry:
    """A law's entry, from its LawInfo and constants (labelled with their symbols)."""
    info = law.info
    symbols = dict(info.symbols)
    return Entry(
        kind="your fit" if info.user_fit else kind,
        id=info.id,
        title=info.title,
        latex=info.equation,
        verified=info.verified,
        citation=info.citation,
        url=info.url,
        source_detail=info.source_detail,
        conventions=info.conventions,
        valid_range=info.valid_range,
        notes="; ".join(
            p for p in (info.notes, f"Fitted on {info.fitted_on}" if info.fitted_on else "") if p
        ),
        compute_model=info.compute_model,
        constants=tuple((constant_label(k, symbols.get(k)), float(v)) for k, v in law.parameters.items()),
        problems=tuple(info.problems),
    )


def formula_entry(formula: Formula, kind: str) -> Entry:
    """A cost model's or allocation rule's entry, from its Formula."""
    return Entry(
        kind=kind,
        id=formula.id,
        title=formula.title,
        latex=formula.latex,
        verified=formula.verified,
        citation=formula.citation,
        url=formula.url,
        source_detail=formula.source_detail,
        conventions=formula.conventions,
        valid_range=formula.valid_range,
        notes=formula.notes,
        inputs=formula.inputs,
        outputs=formula.outputs,
        assumptions=formula.assumptions,
    )


def methodology(saved: Iterable[Law] = ()) -> list[tuple[str, list[Entry]]]:
    """The Methodology page's sections, in order: (heading, entries). ``saved``: the users' fits
    as laws (``saved_fit_laws``), listed last and never verified."""
    sections = [
        ("Scaling laws", [law_entry(law) for law in LAWS.values()]),
        ("Hyperparameter laws", [law_entry(law, "hyperparameter law") for law in HYPERPARAM_LAWS]),
        ("How a model is chosen", [formula_entry(f, "allocation rule") for f in ALLOCATION_RULES]),
        ("Cost models", [formula_entry(f, "cost model") for f in COST_MODELS]),
        (
            "Compression and distillation laws",
            [law_entry(law) for law in COMPRESSION_LAWS]
            + [formula_entry(f, "compression rule") for f in COMPRESSION_FORMULAS],
        ),
    ]
    fits = [law_entry(law) for law in saved]
    if fits:
        sections.append(("Your fits", fits))
    return sections


def search(sections: Sequence[tuple[str, list[Entry]]], query: str) -> list[tuple[str, list[Entry]]]:
    """The sections with only the entries matching ``query`` (Entry.matches); empty sections dropped."""
    found = [(heading, [e for e in entries if e.matches(query)]) for heading, entries in sections]
    return [(heading, entries) for heading, entries in found if entries]
