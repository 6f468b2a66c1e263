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


def positive(name: str, value: Any, *, error: type[FlopwiseError] = LawError, allow_zero: bool = False,
             high: float | None = None) -> np.ndarray:
    """``value`` as a float array whose every entry is finite and > 0 (>= 0 with ``allow_zero``)
    and, with ``high``, at most ``high``; otherwise ``error`` naming ``name`` and the value."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise error(f"{name} must be a number, got {value!r}") from None
    low_ok = arr >= 0 if allow_zero else arr > 0
    if not np.all(np.isfinite(arr)) or not np.all(low_ok):
        kind = "non-negative" if allow_zero else "positive"
        raise error(f"{name} must be a {kind} finite number, got {value!r}")
    if high is not None and np.any(arr > high):
        raise error(f"{name} must be at most {high:g}, got {value!r}")
    return arr
