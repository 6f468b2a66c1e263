"""Reading numbers back from what a page shows ('29.4 B', '$3.54 million', '1,300')."""

from __future__ import annotations

SCALES = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def number(text: str) -> float:
    """'29.4 B' -> 2.94e10, '$3.54 million' -> 3.54e6, '1,300' -> 1300.0, '17.6 ms/token' -> 17.6."""
    words = text.replace("$", "").replace(",", "").split()
    return float(words[0]) * (SCALES.get(words[1], 1.0) if len(words) > 1 else 1.0)
