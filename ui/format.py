"""Human-readable numbers with units, for metrics, tables and hover text.

Counts use the page's own suffixes (k, M, B, T: thousand, million, billion, trillion), never the
SI letters Plotly's ``%{x:.3s}`` would print (G for a billion). Nothing shows more digits than the
inputs justify: three significant figures unless a function says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_WORDS = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
DASH = "–"


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def count(value: float | None, unit: str = "") -> str:
    """3.2189e10 -> '32.2 B' (+ unit). NaN or None -> '–'."""
    if _missing(value):
        return DASH
    for scale, suffix in _SUFFIXES:
        if abs(value) >= scale * 0.9995:  # 999.96e9 rounds to '1 T', not '1e+03 B'
            text = f"{value / scale:.3g} {suffix}"
            break
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


def counts(values: Iterable[float], unit: str = "") -> list[str]:
    """``count`` for each value (hover text for a trace)."""
    return [count(float(v), unit) for v in values]


def flops(value: float | None) -> str:
    """5.76e23 -> '5.76e23 FLOPs'."""
    return DASH if _missing(value) else f"{sci(value)} FLOPs"


def sci(value: float | None, digits: int = 3) -> str:
    """1397236736293715700 -> '1.40e18' (``digits`` significant figures, no '+' in the exponent)."""
    if _missing(value):
        return DASH
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def loss(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:.4f} nats/token"


def ratio(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:,.1f}"


def sig(value: float | None, digits: int = 3) -> str:
    """A plain number to ``digits`` significant figures with thousands separators:
    1838108.1 -> '1.84 million', 6543.2 -> '6,540', 0.01234 -> '0.0123'."""
    if _missing(value):
        return DASH
    if value == 0:
        return "0"
    for scale, word in _WORDS:
        if abs(value) >= scale * 0.9995:
            return f"{value / scale:.{digits}g} {word}"
    rounded = float(f"{value:.{digits}g}")
    if abs(rounded) >= 10 ** (digits - 1):
        return f"{rounded:,.0f}"
    return f"{rounded:,.{max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)}f}"


def money(value: float | None) -> str:
    """Dollars: '$652,938', '$4.12 million', '$0.0421' (three significant figures)."""
    if _missing(value):
        return DASH
    return ("-" if value < 0 else "") + "$" + sig(abs(value))


def tonnes(value_t: float | None) -> str:
    """A mass in tonnes of CO2e: '93.2 t', '0.0511 t'."""
    return DASH if _missing(value_t) else f"{sig(value_t)} t"


def rate(value: float | None, unit: str) -> str:
    """A rate that must not round to zero: 0.31 -> '0.31 tokens/s', 1234.5 -> '1,230 tokens/s'."""
    return DASH if _missing(value) else f"{sig(value)} {unit}"


def plural(value: float, singular: str, plural_form: str | None = None) -> str:
    """1 -> '1 FLOP per byte'-style agreement: '1 expert', '16 experts'."""
    word = singular if abs(value) == 1 else (plural_form or singular + "s")
    return f"{sig(value)} {word}"


def configuration(experts: float, bits: float) -> str:
    """'dense, 16-bit' or '16 experts, 4-bit' (whole numbers, never '16.0000-bit')."""
    kind = "dense" if int(experts) == 1 else f"{int(experts)} experts"
    return f"{kind}, {bits:g}-bit"


_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def plain(text: object) -> str:
    """``text`` escaped for Streamlit's Markdown (captions, messages), so that user text (a file or
    fit name, a value from a link) shows as typed: no emphasis, links, HTML or LaTeX from it."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))
