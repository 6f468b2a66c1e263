"""How a formula that is not a law describes itself: the cost models (footprint, serving, lifetime,
memory) and the allocation rules the Plan page applies.

Each is declared once, as a :class:`Formula`, in the module whose code evaluates it (for example
``engine.cost.inference.SERVING_ROOFLINE`` beside ``estimate``); its assumptions are written from
that module's own constants, so a page's "how it is computed" expander and the Methodology page,
which show the Formula, cannot disagree with the code. Laws describe themselves with
``engine.laws.base.LawInfo`` instead (they also carry fitted constants).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Formula:
    """One formula the engine evaluates, as the pages and the Methodology page show it."""

    id: str  # stable, like a law's id: "serving-roofline"
    title: str
    latex: str  # what st.latex draws (KaTeX)
    inputs: tuple[tuple[str, str], ...]  # (symbol as in the LaTeX, meaning with its unit)
    outputs: tuple[tuple[str, str], ...] = ()  # what it gives, the same way
    assumptions: tuple[str, ...] = ()  # what the code assumes, written from its constants
    citation: str = ""
    url: str = ""
    source_detail: str = ""  # equation / section / code the form comes from
    verified: bool = False  # the form checked against the primary source (or the authors' code)
    conventions: str = ""  # counting conventions: what N means, which FLOPs, which bytes
    valid_range: str = ""
    notes: str = ""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The inputs' symbols, in order."""
        return tuple(symbol for symbol, _ in self.inputs)
