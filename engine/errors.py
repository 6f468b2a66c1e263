"""The root of every error the engine raises, and the one check of numbers given to it.

Every engine error is a :class:`FlopwiseError` (the CLI and the pages catch that one class to show
a clear message instead of a traceback); each also keeps the built-in base it had (``ValueError``
for bad input), so callers that catch that still work.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class FlopwiseError(Exception):
    """Something FLOPwise can explain to the user: bad input, an impossible request, a busy store."""


class LawError(FlopwiseError, ValueError):
    """A law was asked something outside what it can answer (bad input, unreachable loss)."""


def _requirement(low: float, high: float | None, low_inclusive: bool) -> str:
    """What a number must be, in words: 'a positive finite number', 'a finite number from 1 to 8'."""
    if high is None:
        if low == 0:
            return "a non-negative finite number" if low_inclusive else "a positive finite number"
        return f"a finite number {'at least' if low_inclusive else 'above'} {low:,g}"
    if low_inclusive:
        return f"a finite number from {low:,g} to {high:,g}"
    return f"a finite number above {low:,g} and at most {high:,g}"


def _is_text(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return True
    arr = np.asarray(value)
    if arr.dtype.kind in "USV":
        return True
    return arr.dtype.kind == "O" and any(isinstance(x, (str, bytes)) for x in arr.flat)


def number_problem(
    value: Any,
    low: float = 0.0,
    high: float | None = None,
    *,
    low_inclusive: bool = False,
    text: bool = False,
) -> str | None:
    """Why ``value`` (a number or an array of them) is not finite, above ``low`` (or at it with
    ``low_inclusive``) and at most ``high``, as words that follow its name ('must be a number',
    'must be a positive finite number', 'must be a finite number from 0 to 10'); None when it is.

    The one rule for numbers given to FLOPwise: the engine (:func:`positive`), the CLI's arguments
    and the pages' URL values all use it. Text ('1e22') is read as a number only with ``text`` (a
    command-line or URL value); otherwise a string is not a number."""
    try:
        if isinstance(value, (str, bytes)) and text:
            arr = np.asarray(float(value))
        elif value is None or _is_text(value):
            return "must be a number"
        else:
            arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return "must be a number"
    low_ok = arr >= low if low_inclusive else arr > low
    high_ok = True if high is None else arr <= high
    if not (np.all(np.isfinite(arr)) and np.all(low_ok) and np.all(high_ok)):
        return f"must be {_requirement(low, high, low_inclusive)}"
    return None


def positive(
    name: str,
    value: Any,
    *,
    error: type[FlopwiseError] = LawError,
    allow_zero: bool = False,
    high: float | None = None,
    text: bool = False,
) -> np.ndarray:
    """``value`` as a float array whose every entry is finite and > 0 (>= 0 with ``allow_zero``)
    and, with ``high``, at most ``high``; otherwise ``error`` naming ``name`` and the value
    (the words of :func:`number_problem`). Text is refused unless ``text`` (then read as a number)."""
    problem = number_problem(value, 0.0, high, low_inclusive=allow_zero, text=text)
    if problem:
        raise error(f"{name} {problem}, got {value!r}")
    return np.asarray(float(value) if text and isinstance(value, (str, bytes)) else value, dtype=float)
