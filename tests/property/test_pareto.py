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


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(16_385, 60_000), ties=st.booleans())
@settings(max_examples=15, deadline=None)
def test_large_sets_take_the_prefiltered_path_and_agree_with_the_exact_one(seed, n, ties):
    from engine.pareto import _front_2d

    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2))
    if ties:
        pts = np.round(pts * 50) / 50  # many exact duplicates and equal coordinates
    assert np.array_equal(pareto_mask(pts), _front_2d(pts[:, 0].copy(), pts[:, 1].copy()))
