"""Pareto extraction: nothing returned is dominated; everything left out is dominated."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from engine.analysis.pareto import pareto_mask
from tests.strategies import large_set_sizes, point_sets, seeds, tie_flags


def dominates(p: np.ndarray, q: np.ndarray) -> bool:
    return bool(np.all(p <= q) and np.any(p < q))


@given(points=point_sets)
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


@given(seed=seeds, n=large_set_sizes, ties=tie_flags)
@settings(max_examples=15, deadline=None)
def test_large_sets_take_the_prefiltered_path_and_agree_with_the_exact_one(seed, n, ties):
    from engine.analysis.pareto import _front_2d

    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2))
    if ties:
        pts = np.round(pts * 50) / 50  # many exact duplicates and equal coordinates
    assert np.array_equal(pareto_mask(pts), _front_2d(pts[:, 0].copy(), pts[:, 1].copy()))
