"""What every law in the registry shares: its metadata, its result type and its interface.

A law answers three questions, each vectorized over numpy arrays (inputs broadcast):

* ``loss(n_params, n_tokens, **inputs)``: predicted loss in nats/token on the law's own data set.
* ``optimal(flops, **inputs)``: the allocation (N*, D*) that minimises loss at training compute
  C = 6·N·D FLOPs, and the loss there.
* ``target(loss, **inputs)``: the least compute whose optimum reaches a given loss.

Laws that are only allocation rules (the Chinchilla Approach 1/2 power laws) have no loss; they
say so through ``has_loss`` and raise :class:`LawError` from ``loss`` and ``target``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError, positive
from engine.formula import Formula
from engine.laws.optimize import least_flops_for_loss


@dataclass(frozen=True)
class LawInfo:
    """Provenance and conventions of one law: everything the Methodology page and CLI show."""

    id: str
    title: str
    citation: str
    url: str
    equation: str  # LaTeX of the loss (or allocation) form
    source_detail: str  # equation / table numbers in the paper the constants come from
    conventions: str  # parameter and loss conventions (total vs non-embedding, data set)
    valid_range: str
    verified: bool  # constants checked against the primary source
    family: str
    extra_inputs: tuple[str, ...] = ()  # law-specific inputs beyond N and D, e.g. unique_tokens
    notes: str = ""
    compute_model: str = "C = 6·N·D"  # how the law counts training compute
    params_meaning: str = "parameters"  # what n_params means for this law (e.g. active parameters)
    user_fit: bool = False  # fitted by a user in FLOPwise: never verified, its data in fitted_on
    fitted_on: str = ""  # for a user fit: the runs, sources, uploads and options it was fitted on
    problems: tuple[str, ...] = ()  # reasons the constants are not usable, shown wherever it is used
    symbols: tuple[tuple[str, str], ...] = ()  # (constant, its symbol in ``equation``) where they differ
    # Whether optimal() minimises loss() along the budget's isoFLOP line. False for a published
    # allocation rule whose loss is evaluated at its allocation, not minimised (Kaplan Table 6):
    # no point of an isoFLOP line beating the optimum does not hold for it, and its card says why.
    optimum_minimises_loss: bool = True
    optimum_note: str = ""  # how optimal() obtains its allocation, said beside it (the CLI's "note")


@dataclass(frozen=True)
class Allocation:
    """A (possibly vectorized) point in allocation space: N params, D tokens, C FLOPs, loss."""

    n_params: np.ndarray
    n_tokens: np.ndarray
    flops: np.ndarray
    loss: np.ndarray  # NaN where the law gives no loss
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.n_tokens / self.n_params

    def scalar(self) -> dict[str, float]:
        """The allocation as plain floats (for a scalar query, e.g. the CLI)."""
        out = {
            "n_params": float(np.squeeze(self.n_params)),
            "n_tokens": float(np.squeeze(self.n_tokens)),
            "flops": float(np.squeeze(self.flops)),
            "tokens_per_param": float(np.squeeze(self.tokens_per_param)),
            "loss": float(np.squeeze(self.loss)),
        }
        out.update({k: float(np.squeeze(v)) for k, v in self.extras.items()})
        return out


def as_positive_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, raising LawError naming ``name`` if any entry is not > 0."""
    return positive(name, value, error=LawError)


class Law(ABC):
    """Base class: subclasses are frozen dataclasses with ``info`` and a ``constants`` record."""

    info: LawInfo
    constants: Any  # a frozen dataclass of the law's fitted constants

    has_loss: bool = True

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def parameters(self) -> dict[str, float]:
        return dataclasses.asdict(self.constants)

    def with_constants(self, **overrides: float) -> Law:
        """A copy with some constants replaced (user edits of unverified constants)."""
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise LawError(f"law {self.id} has no constant(s) {sorted(unknown)}")
        # every concrete law is a frozen dataclass (the ABC itself is not, hence the ignore)
        return dataclasses.replace(self, constants=dataclasses.replace(self.constants, **overrides))  # type: ignore[type-var]

    @property
    def loss_floor(self) -> float:
        """The irreducible loss: no finite compute reaches a loss at or below it."""
        return 0.0

    def optimum_problem(self) -> str | None:
        """Why the law's constants give no compute-optimal allocation (None: they give one)."""
        return None

    @abstractmethod
    def loss(self, n_params: Any, n_tokens: Any, **inputs: Any) -> np.ndarray:
        """Predicted loss (nats/token) for N parameters trained on D tokens."""

    @abstractmethod
    def optimal(self, flops: Any, **inputs: Any) -> Allocation:
        """Loss-minimising allocation at a training budget of ``flops`` FLOPs (C = 6ND)."""

    @abstractmethod
    def target(self, loss: Any, **inputs: Any) -> Allocation:
        """Least-compute allocation whose predicted loss equals ``loss``."""

    def target_by_search(self, loss: Any, *, hi_flops: float = 1e40, **inputs: Any) -> Allocation:
        """``target`` for laws without a closed form: the least C whose optimum reaches the loss,
        by bisection on the non-increasing frontier loss L*(C) (engine.laws.optimize)."""
        l_arr = self.check_target_loss(loss)
        flops = least_flops_for_loss(lambda c_: self.optimal(c_, **inputs).loss, l_arr, hi_flops=hi_flops)
        alloc = self.optimal(flops, **inputs)
        return Allocation(alloc.n_params, alloc.n_tokens, flops, alloc.loss, alloc.extras)

    def check_target_loss(self, loss: Any) -> np.ndarray:
        arr = as_positive_array("loss", loss)
        if np.any(arr <= self.loss_floor):
            raise LawError(
                f"target loss {loss!r} is at or below law {self.id}'s irreducible loss "
                f"E={self.loss_floor:.4g}: no finite compute reaches it"
            )
        return arr


# --- what every law's optimal() and target() compute, as the Plan page and Methodology show it ---

_K = f"{FLOPS_PER_PARAM_TOKEN:g}"  # the 6 of C = 6·N·D
_ALLOCATION_INPUTS = (
    ("C", "training compute (FLOPs)"),
    ("N", "parameters, as the chosen law counts them (total, non-embedding or active)"),
    ("D", "training tokens"),
    ("L", "the chosen law's predicted loss (nats/token, on the law's own data set)"),
)
_COMPUTE_RULE = (
    f"Training compute C = {_K}·N·D FLOPs (2 per multiply-accumulate in the forward pass, twice that "
    "backward), unless the law counts it otherwise (Kumar et al.: (6/16)·N·D·P)."
)

COMPUTE_OPTIMAL = Formula(
    id="compute-optimal-allocation",
    title="Compute-optimal model for a training budget",
    latex=rf"N^*,\ D^* = \arg\min_{{{_K}ND\, =\, C}} L(N, D)",
    inputs=_ALLOCATION_INPUTS,
    assumptions=(
        _COMPUTE_RULE,
        "Closed form where the law has one (Chinchilla, Kaplan, Kumar); otherwise N is searched numerically "
        "at each budget: a log-spaced grid over N, then golden-section search in log N "
        "(engine.laws.optimize).",
        "Every token is trained on once, unless the law discounts repeated data (Muennighoff et al.).",
    ),
    citation="Hoffmann, J. et al. (2022). Training Compute-Optimal Large Language Models. arXiv:2203.15556",
    url="https://arxiv.org/abs/2203.15556",
    source_detail="Eq. (3): N_opt(C), D_opt(C) = argmin over FLOPs(N, D) = C of L(N, D); C = 6·N·D from "
    "Kaplan et al. 2020 §2.1",
    verified=True,
    conventions="N, D and L as the chosen law defines them; the law's own card states its conventions.",
    valid_range="The chosen law's valid range; outside it the allocation is an extrapolation.",
)

LEAST_COMPUTE_FOR_LOSS = Formula(
    id="least-compute-for-loss",
    title="Least compute that reaches a target loss",
    latex=r"C^* = \min\{\, C : L^*(C) \le \ell \,\},\quad L^*(C) = \min_{" + _K + r"ND\, =\, C} L(N, D)",
    inputs=(
        ("ℓ", "target loss (nats/token, on the law's own data set)"),
        ("L*(C)", "the law's least loss at compute C (its compute-optimal frontier)"),
        *_ALLOCATION_INPUTS,
    ),
    assumptions=(
        _COMPUTE_RULE,
        "The frontier loss L*(C) never rises with C, so the least C is unique: closed form where the law has "
        "one (Chinchilla, Kaplan), otherwise bisection in log C (engine.laws.optimize); the model is then "
        "N*(C*), D*(C*).",
        "A target at or below the law's irreducible loss E is refused: no finite compute reaches it.",
    ),
    citation="Hoffmann, J. et al. (2022). Training Compute-Optimal Large Language Models. arXiv:2203.15556",
    url="https://arxiv.org/abs/2203.15556",
    source_detail="The inverse of the compute-optimal frontier, Eq. (3); the closed forms are derived in "
    "each law's module",
    verified=True,
    conventions="N, D and L as the chosen law defines them.",
    valid_range="The chosen law's valid range.",
)
