"""Non-dominated (Pareto-optimal) points, all objectives minimised.

A point p dominates q when p is no worse in every objective and better in at least one.

Two objectives (the pages' fronts), exact, about O(n):
1. Prefilter: the front of an evenly spaced sample of 4,096 points gives "anchors" (real data
   points). Anchors sorted by f1 have falling f2, so for each point the last anchor with
   a1 <= f1 has the least a2 among those; the point is dominated if that a2 < f2, or a2 == f2 and
   a1 < f1. Dominated points are dropped. Used only when a probe sample shows it removes most
   points (it does for scattered sets, not for sets crowded near their front).
2. The survivors are sorted by f1 and grouped by equal f1: a group's points with its least f2 are
   non-dominated iff that least f2 is below every earlier group's least f2 (equal points do not
   dominate each other, so all copies are kept).
More objectives fall back to a pairwise filter.
"""

from __future__ import annotations

import numpy as np

_SAMPLE = 4096


def _front_2d(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Exact mask of the non-dominated points (step 2 of the module doc)."""
    order = np.argsort(f1)
    s1, s2 = f1[order], f2[order]
    new_value = s1[1:] != s1[:-1]
    mask = np.zeros(len(f1), dtype=bool)
    if new_value.all():  # no ties in f1 (the usual case): below every earlier f2
        before = np.empty_like(s2)
        before[0] = np.inf
        np.minimum.accumulate(s2[:-1], out=before[1:])
        mask[order[s2 < before]] = True
        return mask
    starts = np.flatnonzero(np.concatenate([[True], new_value]))
    group_min = np.minimum.reduceat(s2, starts)
    before = np.concatenate([[np.inf], np.minimum.accumulate(group_min)[:-1]])
    sizes = np.diff(np.concatenate([starts, [len(s1)]]))
    keep = (s2 == np.repeat(group_min, sizes)) & np.repeat(group_min < before, sizes)
    mask[order[keep]] = True
    return mask


def dominated_by(a1: np.ndarray, a2: np.ndarray, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Whether some anchor (a front, sorted by a1) dominates each point (f1, f2)."""
    pos = np.searchsorted(a1, f1, side="right") - 1
    has = pos >= 0
    p = np.where(has, pos, 0)
    return has & ((a2[p] < f2) | ((a2[p] == f2) & (a1[p] < f1)))


def _pareto_2d(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    n = len(f1)
    if n > 4 * _SAMPLE:
        sample = np.linspace(0, n - 1, _SAMPLE).astype(np.intp)
        anchors = sample[_front_2d(f1[sample], f2[sample])]
        anchors = anchors[np.argsort(f1[anchors], kind="stable")]
        a1, a2 = f1[anchors], f2[anchors]
        # Filter only when it pays: on a second sample, most points must fall to the anchors.
        probe = np.linspace(1, n - 2, _SAMPLE).astype(np.intp)
        if dominated_by(a1, a2, f1[probe], f2[probe]).mean() > 0.8:
            keep = np.flatnonzero(~dominated_by(a1, a2, f1, f2))
            mask = np.zeros(n, dtype=bool)
            mask[keep[_front_2d(f1[keep], f2[keep])]] = True
            return mask
    return _front_2d(f1, f2)


def pareto_mask_2d(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """``pareto_mask`` for two objectives given as separate 1-D arrays (no (n, 2) copy);
    points with a non-finite objective are excluded."""
    f1 = np.ascontiguousarray(f1, dtype=float)
    f2 = np.ascontiguousarray(f2, dtype=float)
    if f1.shape != f2.shape or f1.ndim != 1:
        raise ValueError("pareto_mask_2d needs two 1-D arrays of the same length")
    finite = np.isfinite(f1).all() and np.isfinite(f2).all()
    if finite:
        return _pareto_2d(f1, f2) if len(f1) else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(np.isfinite(f1) & np.isfinite(f2))
    mask = np.zeros(len(f1), dtype=bool)
    if len(idx):
        mask[idx[_pareto_2d(f1[idx], f2[idx])]] = True
    return mask


def pareto_mask(objectives: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``objectives`` (n, k); NaN rows are excluded."""
    obj = np.asarray(objectives, dtype=float)
    if obj.ndim != 2:
        raise ValueError("objectives must be a 2-D array (points × objectives)")
    n, k = obj.shape
    if k == 2:
        return pareto_mask_2d(obj[:, 0], obj[:, 1])
    mask = np.zeros(n, dtype=bool)
    # one reduction in the common all-finite case; per-row checks only when something is not finite
    idx = None if np.isfinite(obj).all() else np.flatnonzero(np.all(np.isfinite(obj), axis=1))
    pts = obj if idx is None else obj[idx]
    if len(pts) == 0:
        return mask
    if k == 1:
        sub = pts[:, 0] == pts[:, 0].min()
    else:
        sub = np.ones(len(pts), dtype=bool)
        for i in range(len(pts)):
            if sub[i]:
                dominated = np.all(pts[i] <= pts, axis=1) & np.any(pts[i] < pts, axis=1)
                sub &= ~dominated
    if idx is None:
        return sub
    mask[idx[sub]] = True
    return mask
