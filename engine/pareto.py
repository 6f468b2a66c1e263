"""Non-dominated (Pareto-optimal) points, all objectives minimised.

A point p dominates q when p is no worse in every objective and better in at least one.

Two objectives (the pages' fronts) in O(n log n): sort by (f1, f2); a point is non-dominated iff
its f2 is below every earlier point's f2, or it duplicates the last non-dominated point exactly
(equal points do not dominate each other). More objectives fall back to a pairwise filter.
"""

from __future__ import annotations

import numpy as np


def pareto_mask(objectives: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``objectives`` (n, k); NaN rows are excluded."""
    obj = np.asarray(objectives, dtype=float)
    if obj.ndim != 2:
        raise ValueError("objectives must be a 2-D array (points × objectives)")
    n, k = obj.shape
    mask = np.zeros(n, dtype=bool)
    finite = np.flatnonzero(np.all(np.isfinite(obj), axis=1))
    if finite.size == 0:
        return mask
    if k == 1:
        mask[finite] = obj[finite, 0] == obj[finite, 0].min()
        return mask
    if k == 2:
        f1, f2 = obj[finite, 0], obj[finite, 1]
        by_f2 = np.argsort(f2, kind="stable")  # two stable sorts: by f1, ties by f2 (faster than lexsort)
        order = by_f2[np.argsort(f1[by_f2], kind="stable")]
        s1, s2 = f1[order], f2[order]
        prev_min = np.concatenate([[np.inf], np.minimum.accumulate(s2)[:-1]])
        keep = s2 < prev_min
        # exact duplicates of a kept point are kept too (neither dominates the other)
        same = np.concatenate([[False], (s1[1:] == s1[:-1]) & (s2[1:] == s2[:-1])])
        for i in np.flatnonzero(same):
            keep[i] = keep[i - 1]
        mask[finite[order[keep]]] = True
        return mask
    pts = obj[finite]
    keep = np.ones(len(pts), dtype=bool)
    for i in range(len(pts)):
        if keep[i]:
            dominated = np.all(pts[i] <= pts, axis=1) & np.any(pts[i] < pts, axis=1)
            keep &= ~dominated
    mask[finite[keep]] = True
    return mask
