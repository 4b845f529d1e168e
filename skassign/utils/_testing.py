"""Oracles for tests and benchmarks: exhaustive enumeration of small designs."""

from __future__ import annotations

from itertools import combinations

import numpy as np

__all__ = ["all_assignments"]


def all_assignments(sizes, fixed):
    """Every assignment with the given group sizes that keeps the fixed units.

    Brute force over all of them is the exact oracle of an optimising design
    on small samples (a few tens of thousands of assignments for 16 units in
    two groups or 12 in three).

    Parameters
    ----------
    sizes : array-like of int, shape (n_groups,)
        Group sizes, fixed units included.
    fixed : array-like of int, shape (n_samples,)
        Fixed group of every unit, ``-1`` for units to assign.

    Returns
    -------
    assignments : ndarray of shape (n_assignments, n_samples), dtype int64
        One assignment per row, without repetitions.

    Examples
    --------
    >>> from skassign.utils._testing import all_assignments
    >>> all_assignments([1, 2], [-1, -1, 1]).tolist()
    [[0, 1, 1], [1, 0, 1]]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    fixed = np.asarray(fixed, dtype=np.int64)
    capacity = sizes - np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0])
    out = []

    def fill(group, remaining, labels):
        if group == sizes.shape[0] - 1:
            labels = labels.copy()
            labels[remaining] = group
            out.append(labels)
            return
        for chosen in combinations(remaining, int(capacity[group])):
            nxt = labels.copy()
            nxt[list(chosen)] = group
            fill(group + 1, [i for i in remaining if i not in chosen], nxt)

    fill(0, np.flatnonzero(fixed < 0).tolist(), fixed.copy())
    return np.array(out, dtype=np.int64)
