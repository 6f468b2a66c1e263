"""Why Kaplan said N* ∝ C^0.73 and Chinchilla says C^0.5: the reconciliation, as data.

Three things live here, for the Scaling laws page (no UI):

* The walk (:func:`reconciliation_walk`): the exponent a of N* ∝ C^a after each of Porian et al.
  2024's corrections, from Kaplan's setup (a ≈ 0.84-0.86 reproduced) to Chinchilla's (a ≈ 0.5),
  from the authors' released data (``PORIAN_STEPS``); and Pearce & Song 2024's explanation, the
  embedding parameters Kaplan left out (``PEARCE_SONG_STEPS``: Chinchilla's law seen through
  Kaplan's non-embedding count gives a ≈ 0.74-0.78 over Kaplan's budgets).
* The curves (:func:`allocation_curves`): N*(C) of Kaplan Table 6, the Kaplan reference line Porian
  et al. plot, the registered Chinchilla law and Porian's final RefinedWeb fit, on one grid of
  budgets, with :func:`local_exponent` (d ln N / d ln C) to read their slopes.
* The converter: total ↔ non-embedding parameters for a vocabulary and width, Pearce & Song's
  approximation N_total = N + γ·N^(1/3), and training FLOPs under three conventions
  (:func:`training_flops`: 6·N·D; Kaplan's with attention, Eq. 2.1-2.2; Porian's with the last
  layer, 6·(N + V·d)·D).

Exponents and ratios transfer between papers; absolute losses do not, so nothing here compares
losses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.cost.flops import Architecture, kaplan_training_flops_per_token, non_embedding_params
from engine.errors import FlopwiseError, positive
from engine.formula import Formula
from engine.laws.base import Law
from engine.laws.chinchilla import CHINCHILLA, HOFFMANN_CITATION, ChinchillaLaw
from engine.laws.kaplan import KAPLAN_ALLOCATION, KAPLAN_CITATION, KAPLAN_URL, PF_DAY_FLOPS
from engine.laws.optimize import minimize_over_params


class ConventionError(FlopwiseError, ValueError):
    """A conversion asked for something impossible (an unknown convention, a missing shape, a
    parameter count at or below the embedding's), named."""


PORIAN_CITATION = (
    "Porian, T., Wortsman, M., Jitsev, J., Schmidt, L., Carmon, Y. (2024). Resolving Discrepancies in "
    "Compute-Optimal Scaling of Language Models. NeurIPS 2024. arXiv:2406.19146"
)
PORIAN_URL = "https://arxiv.org/abs/2406.19146"
PEARCE_SONG_CITATION = (
    "Pearce, T., Song, J. (2024). Reconciling Kaplan and Chinchilla Scaling Laws. TMLR 2024. arXiv:2406.12907"
)
PEARCE_SONG_URL = "https://arxiv.org/abs/2406.12907"

_PORIAN_DATA = (
    "from the authors' released data (github.com/formll/resolving-scaling-law-discrepancies, "
    "data/summary_df*, exponent bs_median_weighted.n_exponent with its 95% bootstrap interval); the "
    "printed Table 1 was not seen and the repository has commits after the paper"
)


@dataclass(frozen=True)
class PorianStep:
    """One step of the walk: the exponent a of N* ∝ C^a after a correction, with its interval."""

    label: str
    exponent: float
    ci_low: float | None  # 95% interval where the source gives one, else None
    ci_high: float | None
    dataset: str
    source: str
    detail: str


def _porian(label: str, rows: dict[str, tuple[float, float, float]], detail: str) -> tuple[PorianStep, ...]:
    return tuple(
        PorianStep(label, a, lo, hi, dataset, f"Porian et al. 2024, {_PORIAN_DATA}", detail)
        for dataset, (a, lo, hi) in rows.items()
    )


PORIAN_STEPS: tuple[PorianStep, ...] = (
    *_porian(
        "Kaplan reproduced: long warm-up, FLOPs = 6·N non-embedding",
        {"RefinedWeb": (0.835, 0.82, 0.85), "OpenWebText2": (0.864, 0.82, 0.90)},
        "Kaplan's setup rerun: a fixed long warm-up, compute counted as 6·N with N non-embedding",
    ),
    *_porian(
        "+ last-layer FLOPs counted (6·N with the head)",
        {"RefinedWeb": (0.706, 0.69, 0.72), "OpenWebText2": (0.699, 0.66, 0.72)},
        "Compute counted as 6·(N + V·d)·D: the un-embedding matmul is a large share of small models' FLOPs",
    ),
    *_porian(
        "+ short warm-up",
        {"RefinedWeb": (0.602, 0.59, 0.62), "OpenWebText2": (0.603, 0.57, 0.63)},
        "Warm-up scaled with the model: Kaplan's long fixed warm-up hurts small models' short runs",
    ),
    *_porian(
        "+ cosine decay",
        {"RefinedWeb": (0.571, 0.56, 0.59), "OpenWebText2": (0.574, 0.54, 0.61)},
        "Learning rate decayed to the budget's end",
    ),
    *_porian(
        "+ scale-dependent tuning (no decay needed)",
        {"RefinedWeb": (0.497, 0.49, 0.50), "OpenWebText2": (0.518, 0.49, 0.54)},
        "Learning rate, batch size and AdamW beta2 = 0.99 tuned per scale; 14-16 tokens per parameter at "
        "the optimum on RefinedWeb, 11-22 on OpenWebText2",
    ),
)
"""Porian et al.'s corrections in order, for RefinedWeb and OpenWebText2 (reference §2, [V-run])."""

DATASETS = ("RefinedWeb", "OpenWebText2")

_PEARCE_SONG_DATA = (
    "Pearce & Song 2024, rerunning the authors' script_analysis_kaplan_chinchilla.py (the printed body "
    "seen only in summaries)"
)
KAPLAN_BUDGETS_FLOPS = (
    10**12.95,
    10**20.7,
)  # the range of Kaplan et al.'s runs, as Pearce & Song 2024 give it
_KAPLAN_RANGE = "Kaplan's budgets, C_non-embedding 10^12.95 to 10^20.7 FLOPs"
PEARCE_SONG_STEPS: tuple[PorianStep, ...] = (
    PorianStep(
        "Chinchilla's law counted Kaplan's way: non-embedding N, Epoch AI's coefficients",
        0.78,
        None,
        None,
        "Chinchilla fit (Besiroglu et al. 2024)",
        _PEARCE_SONG_DATA,
        f"Fitted slope of N*_non-embedding against C_non-embedding over {_KAPLAN_RANGE}, with N_total = "
        "N + γ·N^(1/3) in the loss",
    ),
    PorianStep(
        "The same with Hoffmann et al.'s coefficients",
        0.74,
        None,
        None,
        "Chinchilla fit (Hoffmann et al. 2022)",
        _PEARCE_SONG_DATA,
        f"As above, Hoffmann et al.'s Approach 3 constants, over {_KAPLAN_RANGE}",
    ),
    PorianStep(
        "Embedding parameters counted (total N)",
        0.515,
        None,
        None,
        "Chinchilla fit (Besiroglu et al. 2024)",
        _PEARCE_SONG_DATA,
        "Slope in total parameters with Epoch AI's coefficients; the large-N limit is β/(α + β), the "
        "small-N limit of the non-embedding slope β/(β + α/3)",
    ),
)
"""Pearce & Song's embedding-count explanation (reference §3: local exponents from their script)."""

KAPLAN_TABLE6_EXPONENT = KAPLAN_ALLOCATION.constants.a_N  # 0.73, against C_min
KAPLAN_LINE_COEFFICIENT = 1.6e9  # N* at C = 1 PF-day on Porian et al.'s "Kaplan" reference line
KAPLAN_LINE_EXPONENT = 0.88
"""Porian et al.'s plotting code draws Kaplan's law as N* = 1.6e9·(C/8.64e19)^0.88 (reference §2)."""
PORIAN_FINAL_COEFFICIENT = 0.1189  # N* = 0.1189·C^0.4969, C in FLOPs (RefinedWeb, all corrections)
PORIAN_FINAL_EXPONENT = 0.4969

KAPLAN_START: tuple[PorianStep, ...] = (
    PorianStep(
        "Kaplan et al. 2020, Table 6 (against C_min)",
        KAPLAN_TABLE6_EXPONENT,
        None,
        None,
        "WebText2",
        f"{KAPLAN_CITATION}, Table 6; the exponent Hoffmann et al. Table 2 quotes",
        "N_opt = 1.3e9·C_min^0.73, N non-embedding, C_min in PF-days at a batch far below the critical one",
    ),
    PorianStep(
        "Kaplan et al. 2020, as Porian et al. plot it",
        KAPLAN_LINE_EXPONENT,
        None,
        None,
        "WebText2",
        "Porian et al. 2024, the reference line of their plotting code (make_paper.ipynb)",
        f"N* = {KAPLAN_LINE_COEFFICIENT / 1e9:g}e9·(C/8.64e19)^{KAPLAN_LINE_EXPONENT}, N non-embedding",
    ),
)
"""Where the walk starts: Kaplan's exponent, 0.73 against C_min and 0.88 as Porian et al. draw it."""

_PATHS = {
    "kaplan": "Kaplan et al. 2020",
    "porian": "Porian et al. 2024",
    "pearce-song": "Pearce & Song 2024",
}


def reconciliation_walk(dataset: str = "RefinedWeb") -> pd.DataFrame:
    """The walk from Kaplan's exponent to Chinchilla's, one row per step, in order.

    Columns: ``step`` (what changed), ``path`` (Kaplan et al. 2020: the start; Porian et al. 2024:
    their corrections on ``dataset``; Pearce & Song 2024: the embedding count), ``exponent`` (a in
    N* ∝ C^a), ``ci_low`` and ``ci_high`` (95% interval, NaN where none is given), ``dataset``,
    ``source`` and ``detail``. Within each of the two explanations the exponent falls from about
    0.84-0.86 (Porian) or 0.78 (Pearce & Song) to about 0.5."""
    if dataset not in DATASETS:
        raise ConventionError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    rows = [
        *((_PATHS["kaplan"], s) for s in KAPLAN_START),
        *((_PATHS["porian"], s) for s in PORIAN_STEPS if s.dataset == dataset),
        *((_PATHS["pearce-song"], s) for s in PEARCE_SONG_STEPS),
    ]
    return pd.DataFrame(
        [
            {
                "step": s.label,
                "path": path,
                "exponent": s.exponent,
                "ci_low": np.nan if s.ci_low is None else s.ci_low,
                "ci_high": np.nan if s.ci_high is None else s.ci_high,
                "dataset": s.dataset,
                "source": s.source,
                "detail": s.detail,
            }
            for path, s in rows
        ]
    )


# --- N*(C) of each account, on one grid --------------------------------------------------------


def allocation_curves(budgets_flops: Any, *, chinchilla: ChinchillaLaw = CHINCHILLA) -> pd.DataFrame:
    """N*(C) of four accounts at each budget (FLOPs), long format.

    Columns: ``budget_flops``, ``law`` (an id), ``n_params`` (as that account counts them:
    non-embedding for Kaplan's two, total for Chinchilla and Porian's final fit), ``exponent``
    (its a in N* ∝ C^a) and ``label`` (for a legend). The accounts:

    * ``kaplan-allocation``: Kaplan Table 6, 1.3e9·(C/8.64e19)^0.73 (the registered law's optimum);
    * ``kaplan-porian-line``: 1.6e9·(C/8.64e19)^0.88, the line Porian et al.'s plotting code labels
      Kaplan's law;
    * ``chinchilla``: the registered Chinchilla law's optimum (``registry.get_law("chinchilla")`` is
      the default ``chinchilla``; its a = β/(α + β));
    * ``porian-refinedweb``: Porian et al.'s final RefinedWeb fit 0.1189·C^0.4969."""
    c = positive("budgets_flops", budgets_flops, error=ConventionError).ravel()
    pf_days = c / PF_DAY_FLOPS
    curves = (
        (
            KAPLAN_ALLOCATION.id,
            KAPLAN_ALLOCATION.optimal(c).n_params,
            KAPLAN_TABLE6_EXPONENT,
            "Kaplan et al. 2020, Table 6 (N non-embedding)",
        ),
        (
            "kaplan-porian-line",
            KAPLAN_LINE_COEFFICIENT * pf_days**KAPLAN_LINE_EXPONENT,
            KAPLAN_LINE_EXPONENT,
            "Kaplan et al. 2020 as Porian et al. plot it (N non-embedding)",
        ),
        (
            chinchilla.id,
            chinchilla.optimal(c).n_params,
            chinchilla.exponent_n_opt,
            f"{chinchilla.info.title} (N total)",
        ),
        (
            "porian-refinedweb",
            PORIAN_FINAL_COEFFICIENT * c**PORIAN_FINAL_EXPONENT,
            PORIAN_FINAL_EXPONENT,
            "Porian et al. 2024, all corrections, RefinedWeb (N total)",
        ),
    )
    return pd.concat(
        [
            pd.DataFrame(
                {"budget_flops": c, "law": law_id, "n_params": n, "exponent": float(a), "label": label}
            )
            for law_id, n, a, label in curves
        ],
        ignore_index=True,
    )


def local_exponent(curve_n: Any, budgets: Any) -> np.ndarray:
    """d ln N / d ln C along a curve N(C) sampled at increasing ``budgets`` (central differences,
    one-sided at the ends): the exponent a where N ∝ C^a holds locally."""
    n = positive("curve_n", curve_n, error=ConventionError)
    c = positive("budgets", budgets, error=ConventionError)
    if n.shape != c.shape or n.ndim != 1 or n.size < 2:
        raise ConventionError(
            f"curve_n and budgets must be 1-D of the same length (at least 2), got {n.shape} and {c.shape}"
        )
    return np.gradient(np.log(n), np.log(c))


# --- the convention converter -------------------------------------------------------------------


def _embedding(vocab: Any, d_model: Any, tied: bool) -> np.ndarray:
    v = positive("vocab", vocab, error=ConventionError)
    d = positive("d_model", d_model, error=ConventionError)
    return (1.0 if tied else 2.0) * v * d


def total_from_nonembedding(n_nonemb: Any, *, vocab: Any, d_model: Any, tied: bool = True) -> np.ndarray:
    """Total parameters N + V·d (N + 2·V·d when input and output embeddings are untied): Kaplan's
    non-embedding count to Chinchilla's total. ``vocab`` V tokens, ``d_model`` d width."""
    n = positive("n_nonemb", n_nonemb, error=ConventionError)
    return n + _embedding(vocab, d_model, tied)


def nonembedding_from_total(n_total: Any, *, vocab: Any, d_model: Any, tied: bool = True) -> np.ndarray:
    """Non-embedding parameters N_total − V·d (− 2·V·d untied); ConventionError where the total is
    at or below the embedding's own count."""
    n = positive("n_total", n_total, error=ConventionError)
    embedding = _embedding(vocab, d_model, tied)
    out = n - embedding
    if np.any(out <= 0):
        raise ConventionError(
            f"n_total {n_total!r} is not above the {'tied' if tied else 'untied'} embedding's "
            f"{float(np.max(embedding)):,.0f} parameters (vocab × d_model"
            f"{'' if tied else ' × 2'}): no non-embedding parameters are left"
        )
    return out


PEARCE_SONG_VOCAB = 32_000
PEARCE_SONG_ASPECT = 39.2  # d_model / n_layer of Chinchilla's configurations
PEARCE_SONG_GAMMA = 47_491.0
"""γ of N_total ≈ N + γ·N^(1/3), fitted by Pearce & Song to Chinchilla's configurations; it follows from
N_E = V·d with V = 32,000 and N = 12·n_layer·d² at d/n_layer ≈ 39.2: γ = V·(39.2/12)^(1/3) ≈ 47,481."""


def pearce_song_total(n_nonemb: Any, gamma: float = PEARCE_SONG_GAMMA) -> np.ndarray:
    """Pearce & Song's total parameters from non-embedding ones, N + γ·N^(1/3) (γ = 47,491)."""
    n = positive("n_nonemb", n_nonemb, error=ConventionError)
    g = float(positive("gamma", gamma, error=ConventionError))
    return n + g * np.cbrt(n)


def pearce_song_allocation(law: Law, budgets_flops: Any, *, gamma: float | None = None) -> np.ndarray:
    """N*_non-embedding at non-embedding budgets C = 6·N·D (FLOPs) when the loss follows ``law`` in
    total parameters: N* = argmin_N law.loss(N + γ·N^(1/3), C/(6N)), Pearce & Song's account of
    Kaplan's count. Numeric (engine.laws.optimize)."""
    g = PEARCE_SONG_GAMMA if gamma is None else float(positive("gamma", gamma, error=ConventionError))
    c = positive("budgets_flops", budgets_flops, error=ConventionError)
    return minimize_over_params(lambda n, d: law.loss(pearce_song_total(n, gamma=g), d), c, min_count=10.0)


FLOP_CONVENTIONS = ("6ND", "kaplan-attention", "with-last-layer")


def training_flops(
    n_params: Any,
    tokens: Any,
    *,
    convention: str,
    arch: Architecture | None = None,
    vocab: int | None = None,
) -> np.ndarray:
    """Training FLOPs for N non-embedding parameters (``n_params``) on D ``tokens``, by convention:

    * ``"6ND"``: 6·N·D (Kaplan §2.1's C ≈ 6N per token, context term dropped);
    * ``"kaplan-attention"``: (6·N + 6·n_layer·n_ctx·d_attn)·D, Kaplan Eq. (2.1)-(2.2): 3 × the
      forward 2N + 2·n_layer·n_ctx·d_attn; needs ``arch`` for the context term
      (engine.cost.flops.kaplan_training_flops_per_token, with its N replaced by ``n_params``);
    * ``"with-last-layer"``: 6·(N + V·d_model)·D, Porian et al.'s count with the head's matmul;
      needs ``arch`` for d_model; V is ``vocab`` or else ``arch.vocab_size``."""
    n = positive("n_params", n_params, error=ConventionError)
    d = positive("tokens", tokens, error=ConventionError)
    if convention not in FLOP_CONVENTIONS:
        raise ConventionError(f"convention must be one of {', '.join(FLOP_CONVENTIONS)}, got {convention!r}")
    if convention == "6ND":
        return FLOPS_PER_PARAM_TOKEN * n * d
    if arch is None:
        raise ConventionError(f"convention {convention!r} needs arch (the model's shape)")
    if convention == "kaplan-attention":
        context = kaplan_training_flops_per_token(arch) - FLOPS_PER_PARAM_TOKEN * non_embedding_params(arch)
        return (FLOPS_PER_PARAM_TOKEN * n + context) * d
    v = arch.vocab_size if vocab is None else float(positive("vocab", vocab, error=ConventionError))
    return FLOPS_PER_PARAM_TOKEN * (n + v * arch.d_model) * d


# --- how the pages show it ----------------------------------------------------------------------


def _steps_in_words(steps: Sequence[PorianStep]) -> str:
    return "; ".join(f"{s.label} {s.exponent:.3g}" for s in steps)


_K = f"{FLOPS_PER_PARAM_TOKEN:g}"

RECONCILIATION = Formula(
    id="kaplan-chinchilla-reconciliation",
    title="Kaplan's N* ∝ C^0.73 against Chinchilla's C^0.5: the reconciliation",
    latex=(
        r"N^* = k\,C^{a}:\quad a_{\text{Kaplan}} = "
        + f"{KAPLAN_TABLE6_EXPONENT:g}"
        + r"\ \text{to}\ "
        + f"{KAPLAN_LINE_EXPONENT:g}"
        + r"\ \longrightarrow\ a_{\text{corrected}} \approx "
        + f"{PORIAN_FINAL_EXPONENT:.2f}"
        + r",\qquad N_{total} \approx N + \gamma N^{1/3}"
    ),
    inputs=(
        ("C", "training compute (FLOPs; Kaplan: non-embedding, in PF-days of 8.64e19 FLOPs)"),
        ("N*", "compute-optimal parameters (Kaplan: non-embedding; Chinchilla, Porian: total)"),
        ("k, a", "coefficient and exponent of each account's N*(C)"),
        ("γ", f"Pearce & Song's embedding coefficient, {PEARCE_SONG_GAMMA:,.0f}"),
    ),
    outputs=(("a after each step", "the exponent once each correction is applied, with its 95% interval"),),
    assumptions=(
        "Where the walk starts: " + _steps_in_words(KAPLAN_START) + ".",
        "Porian et al. 2024 on RefinedWeb: "
        + _steps_in_words([s for s in PORIAN_STEPS if s.dataset == "RefinedWeb"])
        + f"; final fit N* = {PORIAN_FINAL_COEFFICIENT}·C^{PORIAN_FINAL_EXPONENT}. "
        + _PORIAN_DATA[0].upper()
        + _PORIAN_DATA[1:]
        + ".",
        "Pearce & Song 2024: " + _steps_in_words(PEARCE_SONG_STEPS) + ".",
        "Exponents and ratios transfer between the papers; absolute losses do not.",
    ),
    citation=PORIAN_CITATION,
    url=PORIAN_URL,
    source_detail=(
        f"Kaplan et al. Table 6 ({KAPLAN_URL}); Porian et al.'s released results and plotting code; "
        f"Pearce & Song's script ({PEARCE_SONG_URL}); Chinchilla: {HOFFMANN_CITATION}"
    ),
    verified=True,
    conventions=(
        "Kaplan counts non-embedding parameters and FLOPs; Chinchilla and Porian's corrected fit count "
        "total parameters with the head's FLOPs."
    ),
    valid_range=(
        "Porian et al.: 5M to 901M parameters, 1.25e16 to 2.56e19 FLOPs; Kaplan: 768 to 1.5e9 "
        "non-embedding parameters"
    ),
    notes="The curves: engine.analysis.reconcile.allocation_curves; the steps: reconciliation_walk.",
)

PARAMETER_CONVENTIONS = Formula(
    id="parameter-flop-conventions",
    title="Counting conventions: total or non-embedding parameters, training FLOPs three ways",
    latex=(
        r"\begin{aligned}N_{total} &= N + V d\ \ (N + 2 V d\ \text{untied}) \approx N + \gamma N^{1/3}\\"
        r"C_{6ND} &= "
        + _K
        + r"ND,\quad C_{attn} = ("
        + _K
        + r"N + "
        + _K
        + r"\,n_{layer} n_{ctx} d_{attn})\,D,"
        r"\quad C_{head} = " + _K + r"\,(N + V d)\,D\end{aligned}"
    ),
    inputs=(
        ("N", "non-embedding parameters (Kaplan's count)"),
        ("N_total", "parameters with the embedding (Chinchilla's count)"),
        ("V", "vocabulary size (tokens)"),
        ("d", "model width d_model"),
        ("γ", f"Pearce & Song's coefficient, {PEARCE_SONG_GAMMA:,.0f}"),
        ("D", "training tokens"),
        ("n_layer, n_ctx, d_attn", "layers, context length (tokens) and attention width of the shape"),
    ),
    outputs=(("C", "training FLOPs under each convention"),),
    assumptions=(
        "Tied embeddings count V·d once; untied input and output matrices count it twice.",
        f"γ = {PEARCE_SONG_GAMMA:,.0f} fits Chinchilla's configurations: V = {PEARCE_SONG_VOCAB:,} and "
        f"d/n_layer ≈ {PEARCE_SONG_ASPECT} with N = 12·n_layer·d² give V·({PEARCE_SONG_ASPECT}/12)^(1/3).",
        "Training is 3 × the forward pass; the attention term is Kaplan's per-token context cost; "
        "the head term is the un-embedding matmul, which Kaplan leaves out.",
    ),
    citation=KAPLAN_CITATION,
    url=KAPLAN_URL,
    source_detail=(
        "Kaplan Eq. (2.1)-(2.2) and Table 1; Porian et al.'s FLOP counts (data.py: kaplan = 6·N "
        "non-embedding, standard = 6·N with vocab·width, attention = standard + 6·seq_len·width·depth); "
        "Pearce & Song's N + γ·N^(1/3)"
    ),
    verified=True,
    conventions="N non-embedding unless named N_total; FLOPs for training (forward + backward).",
    valid_range="Dense decoder-only Transformers.",
)


def convention_table(
    n_params: float, tokens: float, *, counted: str, arch: Architecture
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One model in every convention: its parameters (non-embedding, total, Pearce & Song's
    approximation of the total) and its training FLOPs on ``tokens`` (``FLOP_CONVENTIONS``).
    ``counted``: "non-embedding" or "total", how ``n_params`` was given; the embedding is
    ``arch.vocab_size × arch.d_model`` (twice, untied). Two frames with columns quantity, value."""
    if counted not in ("non-embedding", "total"):
        raise ConventionError(f"counted must be 'non-embedding' or 'total', got {counted!r}")
    vocab, width, tied = arch.vocab_size, arch.d_model, arch.tied_embeddings
    if counted == "total":
        nonemb = float(nonembedding_from_total(n_params, vocab=vocab, d_model=width, tied=tied))
    else:
        nonemb = float(positive("n_params", n_params, error=ConventionError))
    params = pd.DataFrame(
        {
            "quantity": [
                "non-embedding (Kaplan et al., Busbridge et al., Sun et al., Step Law)",
                f"total, with {'the tied' if tied else 'both untied'} embedding (Chinchilla, Gadre et al.)",
                "total by Pearce & Song's approximation N + 47,491·N^(1/3)",
            ],
            "value": [
                nonemb,
                float(total_from_nonembedding(nonemb, vocab=vocab, d_model=width, tied=tied)),
                float(pearce_song_total(nonemb)),
            ],
        }
    )
    flops = pd.DataFrame(
        {
            "quantity": [
                "6·N·D (N non-embedding; Kaplan §2.1, Chinchilla with total N)",
                "with attention: (6·N + 6·n_layer·n_ctx·d_attn)·D (Kaplan Eq. 2.1–2.2)",
                "with the last layer: 6·(N + V·d_model)·D (Porian et al. 2024)",
            ],
            "value": [
                float(training_flops(nonemb, tokens, convention=convention, arch=arch))
                for convention in FLOP_CONVENTIONS
            ],
        }
    )
    return params, flops
