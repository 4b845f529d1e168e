"""OptimalBalance's set-partition search: a proof for small, hard problems.

Given an assignment of objective ``D``, every group of an assignment at
least as good has its mean near the mean of all units: the sizes weight the
group means to that overall mean ``c``, so
``mean_g - c = sum_h (n_h / n) (mean_g - mean_h)`` and, in the objective's
l1 norm, ``|mean_g - c| <= (1 - n_g / n) D``. The groups whose mean is that
close are few (on bench_optimal_balance.py's 40-3-4, about 1300 of the
8.5e8 sets of 10 units at its best known objective), and a compiled branch
and bound lists them all (:func:`enumerate_groups`: units chosen in a fixed
order, a branch cut when the sums its remaining choices can reach, column by
column, stay farther than the radius). A second search
(:func:`combine_groups`) partitions the units into such groups, under
thresholds rising to ``D``: the first partition found is *proven* optimal,
and so is the given assignment when no threshold has one. The swap-based
searches reach such assignments only by chance (rare restarts); this
search's time depends on the number of units and columns, not on luck, and
it stops at a node budget or deadline where the lists grow too long (many
units).

The masks are 64-bit integers, so the search takes at most
``_MAX_UNITS`` free units; strata are left to the other searches.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
from numba import njit

from skassign.designs._optimal_problem import _make_problem

# The engine's name in fitted records.
_PARTITION = "set partition"

# Most free units: a group is a bit mask in one int64.
_MAX_UNITS = 62
# Relative slack of the radius: the enumeration's sums are incremental, so
# a group exactly on the radius must not be lost to rounding.
_SLACK = 1e-9
# Branch-and-bound nodes per call of the enumeration kernel; the deadline is
# checked between calls.
_CHUNK_NODES = 2_000_000
# Groups kept per list: beyond this, combining them would not end in time.
_MAX_GROUPS = 2_000_000

# Partition searches under thresholds rising from _START times the known
# objective by factors of _STEP.
_START = 0.6
_STEP = 1.08
# Groups the partition search tries per second (about 1.6e8 measured on one
# core), to turn a deadline into its budget.
_COMBINE_RATE = 1e8

_FULL, _DONE, _BUDGET = 1, 2, 3


@njit(cache=True, nogil=True)
def enumerate_groups(F, k, target, radius, lo, hi, state, partial, out, n_out, budget):
    """List the ``k``-subsets of the rows of ``F`` whose sum is near ``target``.

    Lists every subset whose column sums are within l1 distance ``radius``
    of ``target``, as bit masks in ``out`` (``n_out[0]`` of them so far).
    ``lo[i, r]`` and ``hi[i, r]`` are the smallest and largest sums of
    ``r`` rows among rows ``i:``, column by column: a partial subset whose
    target, less its sum, is farther than ``radius`` from that box cannot
    be completed. The search is resumable: ``state`` holds the level and
    the chosen rows (``state[0]``, ``state[1:]``), ``partial`` the partial
    sums.

    Returns
    -------
    code : int
        ``_DONE`` (every subset listed), ``_FULL`` (``out`` is full: grow it
        and call again) or ``_BUDGET`` (``budget`` nodes spent: call again).
    nodes : int
        Nodes visited in this call.
    """
    n, n_cols = F.shape
    level = state[0]
    idx = state[1:]
    nodes = 0
    while level >= 0:
        if nodes >= budget:
            state[0] = level
            return _BUDGET, nodes
        idx[level] += 1
        i = idx[level]
        if i > n - (k - level):
            level -= 1
            continue
        nodes += 1
        for c in range(n_cols):
            partial[level + 1, c] = partial[level, c] + F[i, c]
        r = k - level - 1
        if r == 0:
            distance = 0.0
            for c in range(n_cols):
                distance += abs(partial[level + 1, c] - target[c])
            if distance <= radius:
                if n_out[0] == out.shape[0]:
                    # Revisit this subset after the caller grows ``out``.
                    idx[level] -= 1
                    state[0] = level
                    return _FULL, nodes
                mask = np.int64(0)
                for t in range(level + 1):
                    mask |= np.int64(1) << idx[t]
                out[n_out[0]] = mask
                n_out[0] += 1
            continue
        bound = 0.0
        for c in range(n_cols):
            need = target[c] - partial[level + 1, c]
            if need < lo[i + 1, r, c]:
                bound += lo[i + 1, r, c] - need
            elif need > hi[i + 1, r, c]:
                bound += need - hi[i + 1, r, c]
        if bound > radius:
            continue
        level += 1
        idx[level] = i
    state[0] = level
    return _DONE, nodes


@njit(cache=True, nogil=True)
def combine_groups(
    masks,
    sums,
    means,
    first_unit,
    kind_start,
    unit_start,
    unit_items,
    level_kind,
    level_tail,
    level_prev,
    last_rest,
    last_size,
    last_prev,
    all_units,
    best_value,
    chosen_best,
    budget,
):
    """Partition the units into listed groups, minimising the largest discrepancy.

    Level ``l`` of the search chooses a listed group of kind
    ``level_kind[l]`` (ids ``kind_start[kind]`` to ``kind_start[kind + 1]``;
    those holding unit ``u`` are ``unit_items[unit_start[kind, u]:
    unit_start[kind, u + 1]]``) disjoint from the groups chosen so far; the
    units left form the last group, whose mean is ``last_rest`` less the
    chosen groups' column ``sums``, over ``last_size``. Groups of one
    symmetry class are chosen in increasing order of their first unit
    (``level_prev[l]``, ``last_prev``: the level of the class's previous
    group, or -1); when the levels left are all of one class
    (``level_tail``), the group holds the first unit left. A group whose
    discrepancy with a chosen one reaches the best value so far is cut.
    The search stops after ``budget`` groups tried.

    Returns
    -------
    best_value : float
        The best largest discrepancy found (the given one if none beat it);
        ``chosen_best`` then holds the ids of its groups, level by level.
    nodes : int
        Groups tried (more than ``budget``: the search did not end).
    """
    n_levels = level_kind.shape[0]
    n_cols = means.shape[1]
    chosen = np.full(n_levels, -1, dtype=np.int64)
    used = np.zeros(n_levels + 1, dtype=np.int64)
    worst = np.zeros(n_levels + 1)
    rest_sum = np.zeros((n_levels + 1, n_cols))
    pos = np.zeros(n_levels, dtype=np.int64)
    stop = np.zeros(n_levels, dtype=np.int64)
    last_mean = np.empty(n_cols)
    for c in range(n_cols):
        rest_sum[0, c] = last_rest[c]
    nodes = 0
    level = 0
    entering = True
    while level >= 0:
        kind = level_kind[level]
        if entering:
            entering = False
            if level_tail[level]:
                rest = all_units & ~used[level]
                u = 0
                while (rest >> u) & 1 == 0:
                    u += 1
                pos[level] = unit_start[kind, u]
                stop[level] = unit_start[kind, u + 1]
            else:
                pos[level] = kind_start[kind]
                stop[level] = kind_start[kind + 1]
        if pos[level] >= stop[level]:
            level -= 1
            if level >= 0:
                pos[level] += 1
            continue
        gid = pos[level]
        if level_tail[level]:
            gid = unit_items[gid]
        pos[level] += 1
        nodes += 1
        if nodes > budget:
            return best_value, nodes
        mask = masks[gid]
        if (mask & used[level]) != 0:
            continue
        if level_prev[level] >= 0:
            if first_unit[gid] <= first_unit[chosen[level_prev[level]]]:
                continue
        level_worst = worst[level]
        for t in range(level):
            distance = 0.0
            other = chosen[t]
            for c in range(n_cols):
                distance += abs(means[gid, c] - means[other, c])
            level_worst = max(level_worst, distance)
            if level_worst >= best_value:
                break
        if level_worst >= best_value:
            continue
        chosen[level] = gid
        used[level + 1] = used[level] | mask
        worst[level + 1] = level_worst
        for c in range(n_cols):
            rest_sum[level + 1, c] = rest_sum[level, c] - sums[gid, c]
        if level + 1 < n_levels:
            # pos[level] already points past this group: resume there.
            level += 1
            entering = True
            pos[level - 1] -= 1
            continue
        # The units left form the last group.
        if last_prev >= 0:
            rest = all_units & ~used[level + 1]
            u = 0
            while (rest >> u) & 1 == 0:
                u += 1
            if u <= first_unit[chosen[last_prev]]:
                continue
        for c in range(n_cols):
            last_mean[c] = rest_sum[level + 1, c] / last_size
        value = level_worst
        for t in range(n_levels):
            distance = 0.0
            for c in range(n_cols):
                distance += abs(last_mean[c] - means[chosen[t], c])
            value = max(value, distance)
        if value < best_value:
            best_value = value
            chosen_best[:] = chosen
    return best_value, nodes


def _sum_tables(F, k):
    """Smallest and largest sums of ``r <= k`` rows among rows ``i:``, by column."""
    n, n_cols = F.shape
    lo = np.zeros((n + 1, k + 1, n_cols))
    hi = np.zeros((n + 1, k + 1, n_cols))
    for i in range(n):
        ordered = np.sort(F[i:], axis=0)
        top = min(k, n - i)
        lo[i, 1 : top + 1] = np.cumsum(ordered[:top], axis=0)
        hi[i, 1 : top + 1] = np.cumsum(ordered[::-1][:top], axis=0)
    return lo, hi


def _list_groups(F, k, target, radius, deadline, budget):
    """Every ``k``-subset of the rows of ``F`` within ``radius`` of ``target``.

    Returns the masks (None when the node ``budget``, the deadline or
    ``_MAX_GROUPS`` stop the search first) and the nodes visited.
    """
    if k == 0:
        near = np.abs(target).sum() <= radius
        return np.zeros(int(near), dtype=np.int64), 0
    lo, hi = _sum_tables(F, k)
    state = np.full(k + 2, -1, dtype=np.int64)
    state[0] = 0
    partial = np.zeros((k + 1, F.shape[1]))
    out = np.empty(1024, dtype=np.int64)
    n_out = np.zeros(1, dtype=np.int64)
    nodes = 0
    while True:
        chunk = _CHUNK_NODES if budget is None else min(_CHUNK_NODES, budget - nodes)
        if chunk <= 0:
            return None, nodes
        code, done = enumerate_groups(
            F, k, target, radius, lo, hi, state, partial, out, n_out, chunk
        )
        nodes += done
        if code == _DONE:
            return out[: n_out[0]].copy(), nodes
        if code == _FULL:
            if out.shape[0] >= _MAX_GROUPS:
                return None, nodes
            out = np.concatenate([out, np.empty_like(out)])
        if deadline is not None and time.perf_counter() > deadline:
            return None, nodes


def _first_bits(masks):
    """Index of the lowest set bit of every mask (64 for 0)."""
    first = np.full(masks.shape[0], 64, dtype=np.int64)
    left = masks.copy()
    for bit in range(64):
        hit = (first == 64) & ((left >> bit) & 1 == 1)
        first[hit] = bit
    return first


def _kinds(problem):
    """Kind of every group: groups with equal places, size and fixed sums."""
    keys = np.column_stack([problem.caps, problem.sizes, problem.C])
    _, kind_of = np.unique(keys, axis=0, return_inverse=True)
    kind_of = kind_of.ravel().astype(np.int64)
    first = np.array(
        [np.flatnonzero(kind_of == k)[0] for k in range(kind_of.max() + 1)]
    )
    return kind_of, first


def _levels(problem, kind_of, lengths):
    """Order of the groups in the partition search, and its symmetry rules.

    The last group (the units left) is one of the longest list's, the last
    of its symmetry class, so that its list is never scanned and the levels
    before it can be tails of its class.
    """
    m = problem.n_groups
    class_of = np.arange(m)
    for groups in problem.classes:
        class_of[list(groups)] = min(groups)
    last = max(range(m), key=lambda g: (lengths[kind_of[g]], g))
    rest = sorted(
        (g for g in range(m) if g != last),
        key=lambda g: (class_of[g] == class_of[last], class_of[g], g),
    )
    tail = [
        all(class_of[h] == class_of[last] for h in rest[i:]) for i in range(len(rest))
    ]
    previous = {}
    level_prev = np.full(len(rest), -1, dtype=np.int64)
    for i, g in enumerate(rest):
        level_prev[i] = previous.get(class_of[g], -1)
        previous[class_of[g]] = i
    return (
        np.array(rest, dtype=np.int64),
        np.array(tail, dtype=np.bool_),
        level_prev,
        last,
        previous.get(class_of[last], -1),
    )


def _combine(problem, ordered, kind_of, first_of_kind, lists, value, budget):
    """Best partition into the listed groups better than ``value``.

    ``lists`` holds every kind's groups as (masks, their units as 0/1 rows,
    their column sums). Returns the labels (in the order of ``ordered``'s
    rows; None if no partition beats ``value``), whether the search ended
    within ``budget`` groups tried, and the groups tried.
    """
    C, sizes = problem.C, problem.sizes
    n_free = ordered.shape[0]
    n_kinds = len(lists)
    lengths = np.array([lst[0].shape[0] for lst in lists])
    if (lengths[kind_of] == 0).any():
        return None, True, 0
    masks = np.concatenate([lst[0] for lst in lists])
    bits = np.concatenate([lst[1] for lst in lists])
    sums = np.concatenate([lst[2] for lst in lists])
    kind_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    owner = first_of_kind[np.repeat(np.arange(n_kinds), lengths)]
    means = (C[owner] + sums) / sizes[owner, None]
    # Units -> the listed groups of every kind holding them.
    unit_start = np.zeros((n_kinds, n_free + 1), dtype=np.int64)
    unit_items = []
    offset = 0
    for kind in range(n_kinds):
        ids = np.arange(kind_start[kind], kind_start[kind + 1])
        for u in range(n_free):
            holding = ids[bits[ids, u] == 1]
            unit_start[kind, u] = offset
            unit_items.append(holding)
            offset += holding.shape[0]
        unit_start[kind, n_free] = offset
    levels, tail, level_prev, last, last_prev = _levels(problem, kind_of, lengths)
    chosen = np.full(levels.shape[0], -1, dtype=np.int64)
    _, nodes = combine_groups(
        masks,
        sums,
        np.ascontiguousarray(means),
        _first_bits(masks),
        kind_start,
        unit_start,
        np.concatenate(unit_items).astype(np.int64),
        kind_of[levels],
        tail,
        level_prev,
        C[last] + ordered.sum(axis=0),
        float(sizes[last]),
        last_prev,
        np.int64((1 << n_free) - 1),
        float(value),
        chosen,
        budget,
    )
    if nodes > budget:
        return None, False, nodes
    if chosen[0] < 0:
        return None, True, nodes
    labels = np.full(n_free, last, dtype=np.int64)
    for g, gid in zip(levels, chosen, strict=True):
        labels[bits[gid] == 1] = g
    return labels, True, nodes


def partition_search(problem, value, deadline=None, max_nodes=None):
    """Find the best assignment better than ``value``, or prove there is none.

    Lists the groups within the radius of ``value`` once
    (:func:`enumerate_groups`), then partitions the units into listed
    groups (:func:`combine_groups`) under thresholds rising from
    ``_START`` times ``value`` by factors of ``_STEP`` up to ``value``:
    under a low threshold the lists are short and the partition search
    fast, and a threshold under which no partition exists is a lower bound
    on the optimum. The first partition found is the optimum: every
    assignment at least as good is made of groups within that threshold's
    radius.

    Parameters
    ----------
    problem : _Problem
        The reduced problem (no strata, at most ``_MAX_UNITS`` free units).
    value : float
        Objective of a known assignment, in the problem's units.
    deadline : float or None, default=None
        ``time.perf_counter()`` value after which the search stops.
    max_nodes : int or None, default=None
        Node budget of the listing and of every partition search.

    Returns
    -------
    labels : ndarray of shape (n_free,) or None
        The best assignment better than ``value`` (None if there is none,
        or if the search did not end).
    complete : bool
        Whether the search ended: then no assignment is better than
        ``labels`` (or, without labels, than ``value``), up to a relative
        ``_SLACK``.
    bound : float
        A lower bound on the optimum (0 if none was proven; ``value``, or
        the objective of ``labels``, when complete).
    n_nodes : int
        Nodes of the listing and of the partition searches.
    """
    F, C, sizes, caps = problem.F, problem.C, problem.sizes, problem.caps
    n_free = F.shape[0]
    if problem.strata is not None or not 0 < n_free <= _MAX_UNITS:
        return None, False, 0.0, 0
    n = sizes.sum()
    centre = (C.sum(axis=0) + F.sum(axis=0)) / n
    # Far units first: their choices move the sums most, so the box bound
    # cuts early.
    order = np.argsort(-np.abs(F - centre).sum(axis=1), kind="stable")
    ordered = np.ascontiguousarray(F[order])
    kind_of, first_of_kind = _kinds(problem)
    # Distance of a kind's groups' means from the centre, per unit of the
    # objective's threshold.
    reach = (1.0 - sizes[first_of_kind] / n) * (1.0 + _SLACK)
    lists, distances, nodes = [], [], 0
    for kind, g in enumerate(first_of_kind):
        target = sizes[g] * centre - C[g]
        budget = None if max_nodes is None else max_nodes - nodes
        found, spent = _list_groups(
            ordered,
            int(caps[g]),
            target,
            sizes[g] * reach[kind] * value,
            deadline,
            budget,
        )
        nodes += spent
        if found is None:
            return None, False, 0.0, nodes
        # Units and column sums of every listed group, once for all
        # thresholds.
        bits = (found[:, None] >> np.arange(n_free)) & 1
        sums = bits.astype(np.float64) @ ordered
        lists.append((found, bits, sums))
        distances.append(np.abs(sums - target).sum(axis=1) / sizes[g])
    bound, threshold = 0.0, _START * value
    while True:
        threshold = min(threshold, value)
        budget = _combine_budget(deadline, max_nodes)
        kept = []
        for kind, (listed, dist) in enumerate(zip(lists, distances, strict=True)):
            near = dist <= reach[kind] * threshold
            kept.append(tuple(part[near] for part in listed))
        found, ended, spent = _combine(
            problem, ordered, kind_of, first_of_kind, kept, threshold, budget
        )
        nodes += spent
        if not ended:
            return None, False, bound, nodes
        if found is not None:
            labels = np.empty(n_free, dtype=np.int64)
            labels[order] = found
            return labels, True, None, nodes
        bound = threshold
        if threshold >= value:
            return None, True, value, nodes
        threshold *= _STEP


def _combine_budget(deadline, max_nodes):
    """Return the groups one partition search may try before the deadline."""
    budget = np.iinfo(np.int64).max if max_nodes is None else max_nodes
    if deadline is not None:
        left = max(deadline - time.perf_counter(), 0.0)
        budget = min(budget, int(left * _COMBINE_RATE))
    return budget


@lru_cache(maxsize=1)
def _compile_partition():
    """Compile (or load from numba's cache) the kernels, once per process.

    Runs the search on four units, so that a fit's time limit is not spent
    compiling.
    """
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    problem = _make_problem(
        X, np.array([2, 2]), np.full(4, -1), 0.5, "diagonal", [("free", 2)] * 2
    )
    partition_search(problem, 1.0)
