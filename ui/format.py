"""Human-readable numbers with units, for metrics, tables and hover text."""

from __future__ import annotations

import math

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def count(value: float, unit: str = "") -> str:
    """3.2189e10 -> '32.2 B' (+ unit). NaN -> '–'."""
    if value is None or not math.isfinite(value):
        return "–"
    for scale, suffix in _SUFFIXES:
        if abs(value) >= scale:
            text = f"{value / scale:.3g} {suffix}"
            break
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


def flops(value: float) -> str:
    """5.76e23 -> '5.76e23 FLOPs'."""
    if value is None or not math.isfinite(value):
        return "–"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)} FLOPs"


def loss(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.4f} nats/token"


def ratio(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1f}"
