"""Human-readable numbers with units, for metrics, tables and hover text.

Counts use the page's own suffixes (k, M, B, T: thousand, million, billion, trillion), never the
SI letters Plotly's ``%{x:.3s}`` would print (G for a billion). Nothing shows more digits than the
inputs justify: three significant figures unless a function says otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_WORDS = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
DASH = "–"


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def count(value: float | None, unit: str = "") -> str:
    """3.2189e10 -> '32.2 B' (+ unit); past a thousand T in powers of ten, 1.73e15 -> '1.73e15'.
    NaN or None -> '–'."""
    if _missing(value):
        return DASH
    if abs(value) >= 999.5e12:  # past the last suffix: '1.73e15', not '1.73e+03 T'
        return f"{sci(value)} {unit}".strip() if unit else sci(value)
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
    """Dollars to three significant figures, short enough for a metric: '$652,000', '$3.54 M',
    '$1.2 B', '$0.0421'."""
    if _missing(value):
        return DASH
    sign = "-" if value < 0 else ""
    value = abs(value)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if value >= scale * 0.9995:
            return f"{sign}${value / scale:.3g} {suffix}"
    return f"{sign}${sig(value)}"


def tonnes(value_t: float | None) -> str:
    """A mass in tonnes of CO2e: '93.2 t', '0.0511 t'."""
    return DASH if _missing(value_t) else f"{sig(value_t)} t"


def rate(value: float | None, unit: str) -> str:
    """A rate that must not round to zero: 0.31 -> '0.31 tokens/s', 1234.5 -> '1,230 tokens/s'."""
    return DASH if _missing(value) else f"{short(value)} {unit}"


def size(value: float | None) -> str:
    """Bytes in decimal units, three significant figures: 163840 -> '164 kB', 1.67e10 -> '16.7 GB'."""
    if _missing(value):
        return DASH
    for scale, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(value) >= scale * 0.9995:
            return f"{short(value / scale)} {unit}"
    return f"{short(value)} bytes"


def plural(value: float, singular: str, plural_form: str | None = None) -> str:
    """1 -> '1 FLOP per byte'-style agreement: '1 expert', '16 experts'."""
    word = singular if abs(value) == 1 else (plural_form or singular + "s")
    return f"{sig(value)} {word}"


def configuration(experts: float, bits: float, sparsity: float = 0.0, fp8_training: bool = False) -> str:
    """'dense, 16-bit', '16 experts, 4-bit' or 'dense, 8-bit, 2:4 sparse, FP8-trained' (whole
    numbers, never '16.0000-bit'; sparsity 0.5 is the 2:4 pattern, another share is in per cent)."""
    kind = "dense" if int(experts) == 1 else f"{int(experts)} experts"
    text = f"{kind}, {bits:g}-bit"
    if sparsity:  # the words of engine.analysis.serving_strategy.sparsity_words
        text += ", 2:4 sparse" if sparsity == 0.5 else f", {sparsity:.0%} of weights zero"
    return f"{text}, FP8-trained" if fp8_training else text


_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


# GitHub-flavoured Markdown turns bare URLs, www. names and e-mail addresses into links even when
# their punctuation is backslash-escaped; an invisible word joiner after ':', 'www' and '@' stops it.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(:(?=\\?/)|(?i:www)(?=\\?\.)|@)")


def plain(text: object) -> str:
    """``text`` escaped for Streamlit's Markdown (captions, messages), so that user text (a file or
    fit name, a value from a link) shows as typed: no emphasis, links, autolinks, HTML or LaTeX from it."""
    escaped = "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))
    return _AUTOLINK.sub(lambda m: m.group(0) + _WORD_JOINER, escaped)


def short(value: float | None, digits: int = 3) -> str:
    """``digits`` significant figures without trailing zeros: 1.0 -> '1', 2.50 -> '2.5',
    1234.5 -> '1,230', 0.012345 -> '0.0123' (``sig`` keeps the zeros: '1.00')."""
    if _missing(value):
        return DASH
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits}g}")
    if abs(rounded) >= 10 ** (digits - 1):
        return f"{rounded:,.0f}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def power_of_ten(exponent: float, unit: str = "") -> str:
    """A slider's log10 value and what it is: 23.76 -> '10^23.76 = 5.75e23' (+ unit)."""
    text = f"10^{exponent:g} = {sci(10.0**exponent)}"
    return f"{text} {unit}" if unit else text


def bits(value: float | None) -> str:
    """A precision as a whole number of bits: 4.0 -> '4-bit', 7.0021 -> '7-bit'; 4.5 -> '4.5-bit'."""
    return DASH if _missing(value) else f"{short(value)}-bit"


_RATE_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def flop_rate(value: float | None) -> str:
    """Throughput with the SI prefixes FLOP/s is quoted in: 9.894e14 -> '989 TFLOP/s',
    2.4e10 -> '24 GFLOP/s'."""
    if _missing(value):
        return DASH
    for scale, prefix in _RATE_PREFIXES:
        if abs(value) >= scale * 0.9995:
            return f"{short(value / scale)} {prefix}FLOP/s"
    return f"{short(value)} FLOP/s"


def intensity(value: float | None) -> str:
    """Arithmetic intensity with agreement: 1 -> '1 FLOP per byte', 295.3 -> '295 FLOPs per byte'."""
    if _missing(value):
        return DASH
    text = short(value)
    return f"{text} FLOP per byte" if text == "1" else f"{text} FLOPs per byte"


def whole(value: float, singular: str, plural_form: str | None = None) -> str:
    """A whole count with agreement: 1 -> '1 model', 37 -> '37 models', 1024 -> '1,024 models'
    (``plural`` shows three significant figures: '37.0 models')."""
    n = round(value)
    return f"{n:,} {singular if n == 1 else (plural_form or singular + 's')}"


def constant(value: float | None) -> str:
    """A law's fitted constant as printed in a paper, to six significant figures: 406.4 -> '406.4',
    6.4e13 -> '6.4e13', 0.0598 -> '0.0598', 1.2e-05 -> '1.2e-5' (no '+', no padded exponent)."""
    if _missing(value):
        return DASH
    text = f"{value:.6g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"
