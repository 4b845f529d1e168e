"""Exact path of the optimisation design: branch and bound over assignments.

For small experiments (the 20 mice of the case study, two groups of 12,
three groups of 6) every distinct assignment can be examined faster than a
MIP solver can be set up. The search here enumerates assignments unit by
unit in a compiled depth-first search and prunes every partial assignment
whose objective cannot beat the best one found so far, which makes the
search exact: the assignment it returns is a proven optimum.

Distinct assignments only
    Units with identical moment columns are interchangeable (bootstrap
    resamples have many): they are visited one after the other and take
    non-decreasing groups. Interchangeable groups (equal size, no fixed
    unit) are opened in order: a unit may join the second group of a class
    only when its first group holds a unit.

Lower bound
    After the first ``j`` units are placed, group ``g`` still takes ``r_g``
    of the remaining units, so each of its column sums lies between the sum
    of the ``r_g`` smallest and of the ``r_g`` largest remaining entries of
    that column (tabulated once per fit). The distance between two groups'
    intervals of means, summed over the columns, bounds their final
    discrepancy from below, and the largest such bound over pairs of groups
    bounds the objective. With every unit placed the bound is the objective
    itself.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["branch_and_bound", "count_assignments", "exact_search"]


@njit(cache=True, nogil=True)
def _suffix_bounds(F):
    """``low[j, r, k]`` (``high``): sum of the ``r`` smallest (largest) of ``F[j:, k]``."""
    n, n_cols = F.shape
    low = np.zeros((n + 1, n + 1, n_cols))
    high = np.zeros((n + 1, n + 1, n_cols))
    for k in range(n_cols):
        for j in range(n):
            values = np.sort(F[j:, k])
            size = n - j
            acc_low = 0.0
            acc_high = 0.0
            for r in range(1, size + 1):
                acc_low += values[r - 1]
                acc_high += values[size - r]
                low[j, r, k] = acc_low
                high[j, r, k] = acc_high
    return low, high


@njit(cache=True, nogil=True)
def _bound(sums, used, caps, inv_sizes, low, high, j):
    """Lower bound on the objective with units ``0 .. j - 1`` placed."""
    m, n_cols = sums.shape
    worst = 0.0
    for p in range(m):
        rp = caps[p] - used[p]
        for q in range(p + 1, m):
            rq = caps[q] - used[q]
            total = 0.0
            for k in range(n_cols):
                lo_p = (sums[p, k] + low[j, rp, k]) * inv_sizes[p]
                hi_p = (sums[p, k] + high[j, rp, k]) * inv_sizes[p]
                lo_q = (sums[q, k] + low[j, rq, k]) * inv_sizes[q]
                hi_q = (sums[q, k] + high[j, rq, k]) * inv_sizes[q]
                if lo_p > hi_q:
                    total += lo_p - hi_q
                elif lo_q > hi_p:
                    total += lo_q - hi_p
            if total > worst:
                worst = total
    return worst


@njit(cache=True, nogil=True)
def branch_and_bound(
    F, C, inv_sizes, caps, class_prev, same_prev, best_value, max_nodes, best_labels
):
    """Depth-first branch and bound over the assignments of the rows of ``F``.

    Parameters
    ----------
    F : ndarray of shape (n, n_cols)
        Moment columns of the free units, in the order in which they are
        placed.
    C : ndarray of shape (m, n_cols)
        Column sums of the fixed units of every group.
    inv_sizes : ndarray of shape (m,)
        One over the group sizes (fixed units included).
    caps : ndarray of shape (m,)
        Free places of every group (summing to ``n``).
    class_prev : ndarray of shape (m,)
        The group before this one in its class of interchangeable groups, or
        -1: a group is opened only after that group holds a free unit.
    same_prev : ndarray of shape (n,)
        Whether unit ``j`` is identical to unit ``j - 1`` (then its group is
        at least that of unit ``j - 1``).
    best_value : float
        Only assignments with a smaller objective are of interest (``inf``
        for any).
    max_nodes : int
        Stop after visiting this many partial assignments.
    best_labels : ndarray of shape (n,)
        Receives the best assignment found (untouched if none beats
        ``best_value``).

    Returns
    -------
    best_value : float
        Objective of the best assignment found, or the input value.
    n_nodes : int
        Partial assignments visited.
    complete : bool
        Whether the search finished (the result is then optimal).
    """
    n, n_cols = F.shape
    m = caps.shape[0]
    low, high = _suffix_bounds(F)
    sums = C.copy()
    used = np.zeros(m, dtype=np.int64)
    labels = np.full(n, -1, dtype=np.int64)
    order = np.empty((n + 1, m), dtype=np.int64)
    values = np.empty((n + 1, m))
    n_children = np.zeros(n + 1, dtype=np.int64)
    position = np.zeros(n + 1, dtype=np.int64)
    n_nodes = 0
    if n == 0:
        return _bound(sums, used, caps, inv_sizes, low, high, 0), 1, True
    j = 0
    expand = True
    while True:
        if expand:
            n_nodes += 1
            if n_nodes > max_nodes:
                return best_value, n_nodes, False
            # Children of the node with units 0 .. j - 1 placed, best first.
            count = 0
            for g in range(m):
                if used[g] >= caps[g]:
                    continue
                if same_prev[j] and g < labels[j - 1]:
                    continue
                if class_prev[g] >= 0 and used[class_prev[g]] == 0:
                    continue
                for k in range(n_cols):
                    sums[g, k] += F[j, k]
                used[g] += 1
                value = _bound(sums, used, caps, inv_sizes, low, high, j + 1)
                for k in range(n_cols):
                    sums[g, k] -= F[j, k]
                used[g] -= 1
                if value >= best_value:
                    continue
                slot = count
                while slot > 0 and values[j, slot - 1] > value:
                    values[j, slot] = values[j, slot - 1]
                    order[j, slot] = order[j, slot - 1]
                    slot -= 1
                values[j, slot] = value
                order[j, slot] = g
                count += 1
            n_children[j] = count
            position[j] = 0
            expand = False
        if position[j] < n_children[j] and values[j, position[j]] < best_value:
            g = order[j, position[j]]
            position[j] += 1
            if j == n - 1:
                # A leaf: the bound with every unit placed is the objective.
                best_value = values[j, position[j] - 1]
                labels[j] = g
                best_labels[:] = labels
                labels[j] = -1
                continue
            labels[j] = g
            used[g] += 1
            for k in range(n_cols):
                sums[g, k] += F[j, k]
            j += 1
            expand = True
            continue
        # Every child is done: back to the parent.
        if j == 0:
            return best_value, n_nodes, True
        j -= 1
        g = labels[j]
        labels[j] = -1
        used[g] -= 1
        for k in range(n_cols):
            sums[g, k] -= F[j, k]


def count_assignments(type_counts, caps, classes):
    """Estimated number of distinct assignments the exact search examines.

    The multinomial count of assignments of the free units to the free
    places, divided by the relabelings of interchangeable groups and by the
    permutations of identical units (exact without identical units; with
    them, an estimate, since a permutation of identical units within one
    group changes nothing). The switch between the exact path and the
    solver compares this count with a threshold.

    Parameters
    ----------
    type_counts : ndarray of shape (n_types,)
        Free units of every type.
    caps : ndarray of shape (m,)
        Free places of every group.
    classes : list of list of int
        Classes of interchangeable groups.

    Returns
    -------
    count : float
        The bound (a float: it overflows integers quickly).

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._optimal_exact import count_assignments
    >>> count_assignments(np.ones(20, dtype=int), np.array([10, 10]), [[0, 1]])
    92378.0
    """
    n = int(np.sum(caps))
    log_count = math.lgamma(n + 1) - sum(math.lgamma(int(c) + 1) for c in caps)
    for groups in classes:
        log_count -= math.lgamma(len(groups) + 1)
    # Identical units: permuting them gives the same assignment.
    log_count -= sum(math.lgamma(int(c) + 1) for c in type_counts)
    # Bounded below by one assignment.
    return float(round(math.exp(max(log_count, 0.0))))


def exact_search(problem, best_value=np.inf, max_nodes=10**7):
    """Search every distinct assignment of a ``_Problem`` by branch and bound.

    Parameters
    ----------
    problem : _Problem
        The problem (see ``skassign.designs._optimal``).
    best_value : float, default=inf
        Objective to beat (e.g. a heuristic's).
    max_nodes : int, default=10**7
        Budget of partial assignments.

    Returns
    -------
    labels : ndarray of shape (n_free,) or None
        Labels of the free units of the best assignment found, or None if
        none beats ``best_value``.
    value : float
        Its objective (``best_value`` when none was found).
    n_nodes : int
        Partial assignments visited.
    complete : bool
        Whether the search finished: the returned assignment (or
        ``best_value`` when none is returned) is then optimal.
    """
    F = problem.F
    n = F.shape[0]
    m = problem.n_groups
    # Large rows first (the bounds tighten fastest), identical rows adjacent.
    weight = np.abs(F).sum(axis=1)
    order = np.lexsort((problem.types, -weight))
    types = problem.types[order]
    same_prev = np.zeros(n, dtype=np.bool_)
    same_prev[1:] = types[1:] == types[:-1]
    class_prev = np.full(m, -1, dtype=np.int64)
    for groups in problem.classes:
        for before, group in zip(groups[:-1], groups[1:]):
            class_prev[group] = before
    found = np.full(n, -1, dtype=np.int64)
    value, n_nodes, complete = branch_and_bound(
        np.ascontiguousarray(F[order]),
        np.ascontiguousarray(problem.C, dtype=np.float64),
        1.0 / problem.sizes,
        np.ascontiguousarray(problem.caps, dtype=np.int64),
        class_prev,
        same_prev,
        float(best_value),
        int(max_nodes),
        found,
    )
    if n > 0 and found[0] < 0:
        return None, float(value), int(n_nodes), bool(complete)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = found
    return labels, float(value), int(n_nodes), bool(complete)
