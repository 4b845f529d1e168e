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
import time
from functools import lru_cache

import numpy as np
from numba import njit

__all__ = [
    "branch_and_bound",
    "count_assignments",
    "exact_search",
    "spread_identical",
]

# Nodes per call of the compiled search: about a millisecond.
_CHUNK_NODES = 20_000
# Name of the exact path in status messages.
_EXACT = "branch and bound"
# method="auto": the exact path for at most this many distinct assignments
# (count_assignments), within this many nodes (about half a second); past
# the budget the solver path takes over. Measured in
# benchmarks/bench_optimal_balance.py (item 6, idle machine): the branch and
# bound beat the solver path in every case, 1.2-117 ms against 15 ms-3.3 s,
# up to 1.6e9 assignments (three groups of 8, three covariates: 227k nodes).
_EXACT_MAX_COUNT = 1e10
_EXACT_MAX_NODES = 1_000_000


@njit(cache=True, nogil=True)
def _suffix_bounds(F):
    """Tabulate the sums of the ``r`` smallest and largest of ``F[j:, k]``."""
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
    F,
    C,
    inv_sizes,
    caps,
    class_prev,
    same_prev,
    stratum,
    stratum_caps,
    low,
    high,
    sums,
    used,
    stratum_used,
    labels,
    order,
    values,
    n_children,
    position,
    state,
    best,
    best_labels,
    max_nodes,
):
    """Resume a depth-first branch and bound over the assignments of ``F``'s rows.

    All search state lives in the arrays passed in, so that the search can
    run in calls of ``max_nodes`` nodes (the caller checks the clock between
    calls) and give the same result however it is split.

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
    stratum : ndarray of shape (n,)
        Stratum of every unit (all 0 without strata).
    stratum_caps : ndarray of shape (n_strata, m)
        Free places of every stratum in every group (``caps[None]`` without
        strata).
    low, high : ndarray of shape (n + 1, n + 1, n_cols)
        :func:`_suffix_bounds` of ``F``.
    sums, used, stratum_used, labels, order, values, n_children, position : ndarray
        Search state: column sums (fixed units included) and free units of
        every group (and of every stratum in every group), labels of the
        placed units (-1 otherwise), children of every depth best first with
        their bounds, their number and the next one to visit.
    state : ndarray of shape (3,), dtype int64
        Depth, whether the node at that depth is still to expand, and nodes
        visited so far.
    best : ndarray of shape (1,)
        Objective to beat; lowered as better assignments are found.
    best_labels : ndarray of shape (n,)
        Receives every better assignment found.
    max_nodes : int
        Nodes to visit in this call.

    Returns
    -------
    complete : bool
        Whether the search has finished (the best assignment, if any beats
        the initial ``best``, is then optimal).
    """
    n, n_cols = F.shape
    m = caps.shape[0]
    j, expand = state[0], state[1] == 1
    budget = state[2] + max_nodes
    best_value = best[0]
    while True:
        if expand:
            if state[2] >= budget:
                state[0], state[1] = j, 1
                best[0] = best_value
                return False
            state[2] += 1
            # Children of the node with units 0 .. j - 1 placed, best first.
            count = 0
            for g in range(m):
                if used[g] >= caps[g]:
                    continue
                if same_prev[j] and g < labels[j - 1]:
                    continue
                if class_prev[g] >= 0 and used[class_prev[g]] == 0:
                    continue
                if stratum_used[stratum[j], g] >= stratum_caps[stratum[j], g]:
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
            stratum_used[stratum[j], g] += 1
            for k in range(n_cols):
                sums[g, k] += F[j, k]
            j += 1
            expand = True
            continue
        # Every child is done: back to the parent.
        if j == 0:
            state[0], state[1] = 0, 0
            best[0] = best_value
            return True
        j -= 1
        g = labels[j]
        labels[j] = -1
        used[g] -= 1
        stratum_used[stratum[j], g] -= 1
        for k in range(n_cols):
            sums[g, k] -= F[j, k]


@lru_cache(maxsize=1)
def _compile_exact():
    """Compile (or load from numba's cache) the kernels, once per process."""
    problem_F = np.array([[1.0], [0.0], [2.0], [3.0]])
    low, high = _suffix_bounds(problem_F)
    args = (
        problem_F,
        np.zeros((2, 1)),
        np.full(2, 0.5),
        np.array([2, 2]),
        np.array([-1, 0]),
        np.zeros(4, dtype=np.bool_),
        np.zeros(4, dtype=np.int64),
        np.array([[2, 2]]),
        low,
        high,
        np.zeros((2, 1)),
        np.zeros(2, dtype=np.int64),
        np.zeros((1, 2), dtype=np.int64),
        np.full(4, -1),
        np.empty((5, 2), dtype=np.int64),
        np.empty((5, 2)),
        np.zeros(5, dtype=np.int64),
        np.zeros(5, dtype=np.int64),
        np.array([0, 1, 0]),
        np.array([np.inf]),
        np.full(4, -1),
    )
    branch_and_bound(*args, 100)


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
    caps : ndarray of shape (m,) or (n_strata, m)
        Free places of every group (of every stratum in every group).
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
    log_count = 0.0
    for row in np.atleast_2d(caps):
        log_count += math.lgamma(int(np.sum(row)) + 1)
        log_count -= sum(math.lgamma(int(c) + 1) for c in row)
    for groups in classes:
        log_count -= math.lgamma(len(groups) + 1)
    # Identical units: permuting them gives the same assignment.
    log_count -= sum(math.lgamma(int(c) + 1) for c in type_counts)
    # Bounded below by one assignment.
    return float(round(math.exp(max(log_count, 0.0))))


def exact_search(problem, best_value=np.inf, max_nodes=None, deadline=None):
    """Search every distinct assignment of a ``_Problem`` by branch and bound.

    Values (``best_value`` and the returned ``value``) are in the design's
    units; the search runs on the problem's columns, which are divided by
    ``problem.scale`` (a power of two, so the conversion is exact).

    Parameters
    ----------
    problem : _Problem
        The problem (see ``skassign.designs._optimal_problem``).
    best_value : float, default=inf
        Objective to beat (e.g. a heuristic's).
    max_nodes : int or None, default=None
        Budget of partial assignments (nodes); ``None`` for no budget.
    deadline : float or None, default=None
        ``time.perf_counter()`` value at which to stop. The clock is read
        between calls of the compiled search, about every
        ``_CHUNK_NODES`` nodes.

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
    scale = getattr(problem, "scale", 1.0)
    labels, value, n_nodes, complete = _exact_search(
        problem, best_value / scale, max_nodes, deadline
    )
    return labels, value * scale, n_nodes, complete


def _exact_search(problem, best_value=np.inf, max_nodes=None, deadline=None):
    """:func:`exact_search` in the problem's own units."""
    F = problem.F
    n, n_cols = F.shape
    m = problem.n_groups
    # Large rows first (the bounds tighten fastest), identical rows adjacent.
    weight = np.abs(F).sum(axis=1)
    order = np.lexsort((problem.types, -weight))
    types = problem.types[order]
    same_prev = np.zeros(n, dtype=np.bool_)
    same_prev[1:] = types[1:] == types[:-1]
    class_prev = np.full(m, -1, dtype=np.int64)
    for groups in problem.classes:
        for before, group in zip(groups[:-1], groups[1:], strict=True):
            class_prev[group] = before
    caps = np.ascontiguousarray(problem.caps, dtype=np.int64)
    C = np.ascontiguousarray(problem.C, dtype=np.float64)
    inv_sizes = 1.0 / problem.sizes
    if n == 0:
        sums = C
        value = max(
            (
                float(np.abs(sums[p] * inv_sizes[p] - sums[q] * inv_sizes[q]).sum())
                for p in range(m)
                for q in range(p + 1, m)
            ),
            default=0.0,
        )
        if value < best_value:
            return np.zeros(0, dtype=np.int64), value, 1, True
        return None, float(best_value), 1, True
    if problem.strata is None:
        stratum = np.zeros(n, dtype=np.int64)
        stratum_caps = caps[None, :].copy()
    else:
        stratum = np.ascontiguousarray(problem.strata[order], dtype=np.int64)
        stratum_caps = np.ascontiguousarray(problem.stratum_caps, dtype=np.int64)
    F = np.ascontiguousarray(F[order])
    low, high = _suffix_bounds(F)
    found = np.full(n, -1, dtype=np.int64)
    state = np.array([0, 1, 0], dtype=np.int64)
    best = np.array([float(best_value)])
    args = (
        F,
        C,
        inv_sizes,
        caps,
        class_prev,
        same_prev,
        stratum,
        stratum_caps,
        low,
        high,
        C.copy(),
        np.zeros(m, dtype=np.int64),
        np.zeros(stratum_caps.shape, dtype=np.int64),
        np.full(n, -1, dtype=np.int64),
        np.empty((n + 1, m), dtype=np.int64),
        np.empty((n + 1, m)),
        np.zeros(n + 1, dtype=np.int64),
        np.zeros(n + 1, dtype=np.int64),
        state,
        best,
        found,
    )
    budget = np.inf if max_nodes is None else int(max_nodes)
    while True:
        chunk = int(min(_CHUNK_NODES, budget - state[2]))
        complete = branch_and_bound(*args, chunk)
        if complete or state[2] >= budget:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
    if found[0] < 0:
        return None, float(best[0]), int(state[2]), bool(complete)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = found
    return labels, float(best[0]), int(state[2]), bool(complete)


def spread_identical(labels, types, rng):
    """Permute the labels of identical units at random.

    The search gives identical units non-decreasing groups; which of them
    joins which group is drawn here, as the solver path does, so that
    re-drawing the design varies the assignment of identical units.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        Labels of the free units.
    types : ndarray of shape (n,)
        Type of every free unit (equal types: identical units).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    labels : ndarray of shape (n,)
        The labels, permuted within every type.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._optimal_exact import spread_identical
    >>> labels = np.array([0, 0, 1, 1, 2])
    >>> types = np.array([0, 0, 0, 0, 1])
    >>> out = spread_identical(labels, types, np.random.default_rng(0))
    >>> sorted(out[:4].tolist()), int(out[4])
    ([0, 0, 1, 1], 2)
    """
    by_type = np.argsort(types, kind="stable")
    shuffled = np.lexsort((rng.random(types.shape[0]), types))
    out = np.empty_like(labels)
    out[shuffled] = labels[by_type]
    return out
