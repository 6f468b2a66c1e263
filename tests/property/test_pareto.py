"""Pareto extraction: nothing returned is dominated; everything left out is dominated."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.pareto import pareto_mask


def dominates(p: np.ndarray, q: np.ndarray) -> bool:
    return bool(np.all(p <= q) and np.any(p < q))


values = st.sampled_from([0.0, 1.0, 2.0, 3.0]) | st.floats(-1e6, 1e6, allow_nan=False)


@given(points=st.integers(1, 3).flatmap(lambda k: arrays(float, st.tuples(st.integers(1, 60), st.just(k)), elements=values)))
@settings(max_examples=300, deadline=None)
def test_front_is_exactly_the_non_dominated_set(points):
    mask = pareto_mask(points)
    front, rest = points[mask], points[~mask]
    assert mask.any()
    for p in front:
        assert not any(dominates(q, p) for q in points)
    for p in rest:
        assert any(dominates(q, p) for q in front)


def test_nan_rows_are_left_out():
    mask = pareto_mask(np.array([[1.0, np.nan], [2.0, 2.0], [3.0, 1.0]]))
    assert mask.tolist() == [False, True, True]
