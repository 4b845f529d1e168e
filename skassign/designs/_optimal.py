"""Optimisation design of Bertsimas, Johnson & Kallus (2015).

The units are split into groups by a mixed-integer program that minimises
the largest pairwise discrepancy between the groups' first and second
moments. A tabu search on the same objective, followed by an exchange
search that re-splits the units of two groups exactly, gives the solver a
warm start and is usable alone for samples too large to solve exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from numbers import Integral, Real

import numpy as np
from scipy.spatial import cKDTree

from skassign.base import BaseSolverDesign
from skassign.metrics._balance import (
    _group_moments,
    _max_pairwise_discrepancy,
    arm_pairs,
)
from skassign.utils._param_validation import Interval, StrOptions
from skassign.utils._solver import (
    DIRECT_SCIP,
    check_solve_result,
    check_solver,
    import_pyscipopt,
    relative_gap,
    scip_seed,
    solve_cvxpy,
    solve_scip,
    warn_at_limit,
)
from skassign.utils.validation import interchangeable_groups

__all__ = ["OptimalBalance"]

# Work of one neighbourhood scan of the tabu search, in moment differences
# (see _neighbourhood; about 1.4 ns each on one core): the largest scan, about
# 15 ms (larger neighbourhoods are sampled), the cost of a swap's
# bookkeeping, and the budget of the automatic heuristic_iter (about 10 s).
_MAX_BLOCK = 1e7
_SWAP_COST = 3
_MAX_AUTO_WORK = 7e9
# Tabu iterations in the first call of the compiled kernel; the deadline is
# checked between calls, and a call shorter than _CHUNK_SECONDS doubles the
# next one.
_TABU_CHUNK = 1
_CHUNK_SECONDS = 0.01
# Iterations per free unit without improving on the best assignment since
# the last restart, after which the tabu search restarts from a random one.
_PATIENCE = 1600
# Weight of the mean pairwise discrepancy in the tabu search's move score:
# it breaks ties between moves with the same largest discrepancy, which
# otherwise leave the search on plateaus.
_TIE_WEIGHT = 0.05
# Tabu tenure of swapped units: uniform between 1 + a n and 3 + (a + b) n
# for n free units. With one or two moment columns (one covariate) the
# search needs a longer memory to leave the many near-equal local optima.
_TENURE = {True: (0.02, 0.3), False: (0.02, 0.1)}
# Tabu iterations per unit with ``heuristic_iter=None`` when no exchange
# search follows (the tabu search then does the heuristic's work alone) and
# when one does (it only gives the exchange search a start).
_TABU_PER_UNIT = {False: 10000, True: 0}
# Exchange search (pairs of groups re-split exactly): default number of
# moves, the largest number of moment columns for which it is on by default
# (with at least three groups: two groups are served better by the tabu
# search and the two-group model), and the nearest candidates kept per
# half-subset.
_EXCHANGE_ITER = 400
_EXCHANGE_MAX_COLUMNS = 2
_EXCHANGE_NEIGHBOURS = 3
# Consecutive moves without improvement, per pair of groups, after which the
# exchange search perturbs its assignment by random swaps, and their number.
_EXCHANGE_PATIENCE = 3
_EXCHANGE_KICK = 3
# Largest share of ``time_limit`` the warm-start heuristic may use; the
# solver gets the rest.
_HEURISTIC_SHARE = 0.8
# Up to this many free units the solver proves optimality quickly, so the
# warm start only needs a short search.
_SMALL_PROBLEM = 24
# Largest number of moment columns modelled by enumerating sign patterns
# (2**K constraints per pair of groups) instead of absolute-value variables.
_MAX_SIGN_COLUMNS = 2
# Models with at most this many binary variables are solved with SCIP's
# presolving, cutting planes and primal heuristics switched off: on such
# models their set-up costs more than it saves, the warm start is
# (near-)optimal and branching closes the gap fastest.
_SMALL_MODEL = 30

# Options through which each cvxpy solver takes OptimalBalance's limits.
_CVXPY_LIMITS = {
    "HIGHS": lambda t, n, g, s, tol: {
        **({"time_limit": t} if t is not None else {}),
        **({"mip_max_nodes": n} if n is not None else {}),
        "mip_rel_gap": g,
        "random_seed": s,
        "mip_feasibility_tolerance": tol,
        "primal_feasibility_tolerance": tol,
    },
    "SCIP": lambda t, n, g, s, tol: {
        "scip_params": {
            **({"limits/time": t} if t is not None else {}),
            **({"limits/nodes": n} if n is not None else {}),
            "limits/gap": g,
            "randomization/randomseedshift": s,
            "numerics/feastol": tol,
        }
    },
    "SCIPY": lambda t, n, g, s, tol: {
        "scipy_options": {
            **({"time_limit": t} if t is not None else {}),
            **({"node_limit": n} if n is not None else {}),
            "mip_rel_gap": g,
        }
    },
}


def _moment_columns(X, rho, second_moments):
    """Weighted moment columns whose group means enter the objective.

    The discrepancy between groups ``p`` and ``q`` is
    ``sum_k |mean_p(F[:, k]) - mean_q(F[:, k])|`` with these columns: the
    covariates, then ``rho`` times the squares (``"diagonal"``) or the
    products ``x_s x_s'`` for ``s <= s'`` with weight ``rho`` on the diagonal
    and ``2 rho`` off it (``"full"``: the entrywise l1 norm of the difference
    of the symmetric second-moment matrices). Columns are centred (which
    leaves differences of means unchanged), constant columns are dropped and
    proportional columns merged, as happens with binary or one-hot
    covariates.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Covariates.
    rho : float
        Weight of the second moments.
    second_moments : {"diagonal", "full"}
        Which second moments enter.

    Returns
    -------
    F : ndarray of shape (n_samples, n_columns)
        The reduced, weighted, centred columns (at least one column).
    """
    cols, weights = [X], [np.ones(X.shape[1])]
    if rho > 0:
        if second_moments == "diagonal":
            cols.append(X * X)
            weights.append(np.full(X.shape[1], float(rho)))
        else:
            iu, ju = np.triu_indices(X.shape[1])
            cols.append(X[:, iu] * X[:, ju])
            weights.append(np.where(iu == ju, float(rho), 2.0 * rho))
    F = np.hstack(cols) * np.concatenate(weights)
    magnitude = np.abs(F).max(axis=0)
    F = F - F.mean(axis=0)
    scale = np.abs(F).max(axis=0)
    keep = scale > 1e-12 * np.maximum(magnitude, 1.0)
    if not keep.any():
        return np.zeros((X.shape[0], 1))
    F, scale = F[:, keep], scale[keep]
    unit = F / scale
    # Fix the sign by the first clearly non-zero entry: |diff| ignores sign.
    first = np.argmax(np.abs(unit) > 1e-9, axis=0)
    unit *= np.sign(unit[first, np.arange(unit.shape[1])])
    _, first_of, inverse = np.unique(
        np.round(unit, 12).T, axis=0, return_index=True, return_inverse=True
    )
    merged = np.bincount(inverse.ravel(), weights=scale)
    return unit[:, first_of] * merged


@dataclass
class _Problem:
    """The optimisation problem over the free units, as plain arrays."""

    F: np.ndarray  # (n_free, K) moment columns of the free units
    types: np.ndarray  # (n_free,) type of every free unit: equal rows of F
    type_counts: np.ndarray  # (n_types,) free units of every type
    C: np.ndarray  # (m, K) column sums of the fixed units of every group
    sizes: np.ndarray  # (m,) group sizes, float
    caps: np.ndarray  # (m,) free places per group
    free: np.ndarray  # indices of the free units
    classes: list  # lists of interchangeable groups (>= 2 each)
    # With strata: stratum of every free unit, and free places per stratum
    # and group (swaps stay within a stratum, the model counts them).
    strata: np.ndarray | None = None
    stratum_caps: np.ndarray | None = None

    @property
    def n_groups(self):
        return self.sizes.shape[0]


def _make_problem(X, sizes, fixed, rho, second_moments, arm_classes, strata=None):
    """Moment columns, fixed-unit sums, capacities and symmetry classes.

    With ``strata`` (a :class:`~skassign.utils._strata.Strata`), units of
    different strata are never of one type, and no symmetry between groups
    is assumed (the strata's counts need not be symmetric).
    """
    F = _moment_columns(X, rho, second_moments)
    m = sizes.shape[0]
    is_fixed = fixed >= 0
    C = np.zeros((m, F.shape[1]))
    np.add.at(C, fixed[is_fixed], F[is_fixed])
    n_fixed = np.bincount(fixed[is_fixed], minlength=m)
    groups = interchangeable_groups(arm_classes).values()
    classes = [arms for arms in groups if len(arms) > 1]
    free = np.flatnonzero(~is_fixed)
    codes = caps_h = None
    keys = F[free]
    if strata is not None:
        codes = strata.codes[free]
        f_hg = np.zeros_like(strata.counts)
        np.add.at(f_hg, (strata.codes[is_fixed], fixed[is_fixed]), 1)
        caps_h = (strata.counts - f_hg).astype(np.int64)
        keys = np.column_stack([keys, codes])
        classes = []
    types, type_counts = _unit_types(keys)
    return _Problem(
        F=F[free],
        types=types,
        type_counts=type_counts,
        C=C,
        sizes=sizes.astype(np.float64),
        caps=(sizes - n_fixed).astype(np.int64),
        free=free,
        classes=classes,
        strata=codes,
        stratum_caps=caps_h,
    )


def _unit_types(F):
    """Group units with identical moment columns (duplicates are interchangeable).

    Types are numbered in order of first appearance, so the first unit has
    type 0. Bootstrap resamples and discrete covariates have many duplicates;
    the two-group model counts the units of each type in group 0 instead of
    deciding unit by unit, which removes the symmetric solutions that
    swapping identical units creates.
    """
    if F.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first_of, inverse = np.unique(F, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first_of, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    types = rank[inverse.ravel()].astype(np.int64)
    return types, np.bincount(types).astype(np.int64)


def _pair_indices(m):
    pairs = np.array(arm_pairs(m), dtype=np.int64).reshape(-1, 2)
    # Contiguous copies: the compiled kernel is specialised on memory layout.
    return np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])


def _pair_differences(problem, labels):
    """Differences of group means, one row per pair of groups."""
    m = problem.n_groups
    sums = problem.C.copy()
    np.add.at(sums, labels, problem.F)
    means = sums / problem.sizes[:, None]
    first, second = _pair_indices(m)
    return means[first] - means[second]


def _canonical_labels(labels, problem):
    """Rename interchangeable groups to the representative the model keeps.

    With two interchangeable groups, group 0 holds at least half of the
    units of type 0 (the two-group model bounds that count). Otherwise,
    within a class, the group holding the earliest free unit comes first
    (the model's bounds let the ``j``-th free unit join only the class's
    first ``j + 1`` groups).
    """
    classes = problem.classes
    if problem.n_groups == 2:
        if classes and labels.shape[0]:
            in_zero = np.count_nonzero(labels[problem.types == 0] == 0)
            if 2 * in_zero < problem.type_counts[0]:
                return 1 - labels
        return labels.copy()
    labels = labels.copy()
    mapping = np.arange(int(labels.max(initial=0)) + 1)
    for groups in classes:
        first = [int(np.argmax(labels == g)) for g in groups]
        order = np.argsort(first, kind="stable")
        mapping[np.asarray(groups)[order]] = groups
    if classes:
        labels = mapping[labels]
    return labels


def _random_labels(caps, rng, problem=None):
    """Return random labels of the free units filling ``caps``.

    With strata (``problem.strata``), every stratum fills its own places in
    every group.
    """
    if problem is None or problem.strata is None:
        return rng.permutation(np.repeat(np.arange(caps.shape[0]), caps))
    labels = np.empty(problem.strata.shape[0], dtype=np.int64)
    for h, caps_h in enumerate(problem.stratum_caps):
        in_h = np.flatnonzero(problem.strata == h)
        labels[in_h] = rng.permutation(np.repeat(np.arange(caps.shape[0]), caps_h))
    return labels


def _stratum_equalities(problem, two_groups):
    """Rows ``A y = b`` fixing every stratum's count in every group (or None)."""
    if problem.strata is None:
        return None
    n_strata, m = problem.stratum_caps.shape
    if two_groups:
        first_of = np.unique(problem.types, return_index=True)[1]
        of_type = problem.strata[first_of]
        A = (of_type[None, :] == np.arange(n_strata)[:, None]).astype(np.float64)
        return A, problem.stratum_caps[:, 0].astype(np.float64)
    S = (problem.strata[None, :] == np.arange(n_strata)[:, None]).astype(np.float64)
    return np.kron(S, np.eye(m)), problem.stratum_caps.ravel().astype(np.float64)


def _swap_coefficients(problem):
    """Pairs touched by a swap between two groups, and their coefficients.

    Returns
    -------
    touched : ndarray of shape (m, m, 2 m - 3)
        ``touched[p, q]``: indices of the pairs of groups containing ``p`` or
        ``q`` (padded with -1 on the diagonal).
    coef : ndarray of shape (m, m, n_pairs)
        Change of every pair difference per unit of ``F[j] - F[i]`` when unit
        ``i`` moves from group ``p`` to ``q`` and unit ``j`` from ``q`` to
        ``p``.
    """
    m = problem.n_groups
    inv = 1.0 / problem.sizes
    first, second = _pair_indices(m)
    change = np.zeros((m, m, m))
    touched = np.full((m, m, max(2 * m - 3, 1)), -1, dtype=np.int64)
    for p, q in product(range(m), repeat=2):
        if p != q:
            change[p, q, p] += inv[p]
            change[p, q, q] -= inv[q]
            pairs = np.flatnonzero(
                (first == p) | (first == q) | (second == p) | (second == q)
            )
            touched[p, q, : pairs.shape[0]] = pairs
    coef = change[:, :, first] - change[:, :, second]
    return touched, np.ascontiguousarray(coef)


@lru_cache(maxsize=1)
def _compile_search():
    """Compile (or load from numba's cache) the tabu kernel, once per process.

    Runs a one-iteration search on four units, so that a fit's time limit is
    not spent compiling.
    """
    X = np.arange(4.0)[:, None]
    problem = _make_problem(
        X, np.array([2, 2]), np.full(4, -1), 0.5, "diagonal", [("free", 2)] * 2
    )
    rng = np.random.default_rng(0)
    _tabu_search(problem, _random_labels(problem.caps, rng), rng, 1)


def _tenure_bounds(n_free, n_cols):
    """Smallest and largest tabu tenure (iterations), from ``_TENURE``."""
    short, long = _TENURE[n_cols <= 2]
    low = 1 + int(short * n_free)
    return low, low + 2 + int(long * n_free)


def _tabu_search(problem, labels, rng, n_iter, deadline=None):
    """Swap-based tabu search on the largest pairwise moment discrepancy.

    Every iteration evaluates the objective after swapping every pair of
    units in different groups (the pairs within a random subset of units
    when the neighbourhood is large), using incremental updates of the
    pairwise mean differences, and makes the best swap whose units are not
    tabu (a tabu swap is allowed if it beats the best assignment so far).
    Moves are scored by the largest discrepancy plus ``_TIE_WEIGHT`` times
    the mean one, which breaks ties that would otherwise leave the search
    on plateaus. Swapped units stay tabu for a random number of iterations,
    which lets the search climb out of local optima. The iterations run in
    a compiled kernel (:func:`~skassign.designs._optimal_kernels.tabu_iterations`),
    in chunks between which the deadline is checked.

    Parameters
    ----------
    problem : _Problem
        The problem.
    labels : ndarray of shape (n_free,)
        Starting labels of the free units (honouring the capacities).
    rng : numpy.random.Generator
        Source of randomness (samples and tabu tenures).
    n_iter : int
        Number of iterations (moves).
    deadline : float or None, default=None
        ``time.perf_counter()`` value at which to stop early.

    Returns
    -------
    best : ndarray of shape (n_free,)
        Best labels found.
    n_done : int
        Iterations performed.
    """
    F = np.ascontiguousarray(problem.F)
    n_free, n_cols = F.shape
    m = problem.n_groups
    best = np.array(labels, dtype=np.int64)
    if n_free < 2 or m < 2 or n_iter <= 0:
        return best, 0
    labels = best.copy()
    first, second = _pair_indices(m)
    touched, coef = _swap_coefficients(problem)
    n_sample, _ = _neighbourhood(n_free, m, n_cols)
    # Imported here, so that importing skassign.designs does not import
    # numba.
    from skassign.designs._optimal_kernels import tabu_iterations

    diff = np.ascontiguousarray(_pair_differences(problem, labels))
    best_value = float(np.abs(diff).sum(axis=1).max())
    tabu = np.zeros(n_free, dtype=np.int64)
    # Swap classes: units swap only within their stratum (one class without).
    swap_class = np.zeros(n_free, dtype=np.int64)
    if problem.strata is not None:
        swap_class = np.ascontiguousarray(problem.strata, dtype=np.int64)
    class_order = np.argsort(swap_class, kind="stable").astype(np.int64)
    class_start = np.searchsorted(
        swap_class[class_order], np.arange(int(swap_class.max()) + 2)
    ).astype(np.int64)
    low, high = _tenure_bounds(n_free, n_cols)
    args = (
        F,
        problem.types,
        np.ascontiguousarray(problem.C),
        1.0 / problem.sizes,
        first,
        second,
        touched,
        coef,
        labels,
        best,
        tabu,
        diff,
        np.arange(n_free),
        np.array([best_value, 0.0]),
        swap_class,
        class_order,
        class_start,
    )
    # The kernel's result does not depend on where the chunks end, so their
    # length may follow the clock: long enough to make the calls' overhead
    # negligible, short enough to check the deadline often.
    done, chunk = 0, _TABU_CHUNK
    while done < n_iter:
        stop = min(n_iter, done + chunk)
        tick = time.perf_counter()
        best_value = tabu_iterations(
            *args,
            best_value,
            done,
            stop,
            n_sample,
            low,
            high,
            _TIE_WEIGHT,
            _PATIENCE * n_free,
            rng,
        )
        done = stop
        now = time.perf_counter()
        if deadline is not None and now > deadline:
            break
        if now - tick < _CHUNK_SECONDS:
            chunk *= 2
    return best, done


def _exchange_union(n_cols):
    """Largest number of units one exchange move re-splits.

    A move enumerates ``2 ** (u / 2)`` subsets of each half of its ``u``
    units. The balance a larger union can reach improves only like (number
    of splits) ** (-1 / n_cols), while the nearest-neighbour search over the
    subsets slows with the number of columns: many columns get smaller
    unions and more moves.
    """
    if n_cols <= 2:
        return 26
    if n_cols <= 6:
        return 20
    return 16


@lru_cache(maxsize=32)
def _subset_bits(h):
    """Every subset of ``h`` units as a 0/1 row, and the size of each subset."""
    masks = np.arange(1 << h)
    bits = ((masks[:, None] >> np.arange(h)) & 1).astype(np.float64)
    counts = bits.sum(axis=1).astype(np.int64)
    bits.flags.writeable = False
    counts.flags.writeable = False
    return bits, counts


def _pair_values(sums, sizes, first, second):
    """Discrepancy of every pair of groups from group sums ``(..., m, K)``."""
    means = sums / sizes[:, None]
    return np.abs(means[..., first, :] - means[..., second, :]).sum(axis=-1)


def _move_score(values):
    """Return the largest discrepancy, ties broken by the mean one (as in tabu)."""
    if values.shape[-1] == 1:
        return values[..., 0]
    return values.max(axis=-1) + _TIE_WEIGHT * values.mean(axis=-1)


def _exchange_move(problem, labels, sums, p, q, rng, n_union, first, second):
    """Best re-split between groups ``p`` and ``q`` of (a sample of) their units.

    Takes all free units of the two groups, or a random sample of at most
    ``n_union`` of them, and finds by meet-in-the-middle the split (same
    number to each group as before) whose group ``p`` sum is nearest, in the
    objective's l1 norm, to the one that makes the two groups' moments
    equal: the units are halved, the sums of all subsets of each half
    enumerated, and for every left subset a k-d tree gives the
    ``_EXCHANGE_NEIGHBOURS`` nearest right subsets of the complementary
    size. With two groups the nearest split is the best one; with more, the
    candidates are ranked by the whole objective.

    Returns
    -------
    score : float
        :func:`_move_score` of the best candidate.
    units : ndarray
        The units re-split.
    to_p : ndarray
        Those of ``units`` that go to group ``p`` (the others go to ``q``).
    """
    F, sizes = problem.F, problem.sizes
    in_p = np.flatnonzero(labels == p)
    in_q = np.flatnonzero(labels == q)
    n_p = min(in_p.size, max(n_union // 2, n_union - in_q.size))
    n_q = min(in_q.size, n_union - n_p)
    if n_p < in_p.size:
        in_p = rng.choice(in_p, n_p, replace=False)
    if n_q < in_q.size:
        in_q = rng.choice(in_q, n_q, replace=False)
    units = rng.permutation(np.concatenate([in_p, in_q]))
    rest_p = sums[p] - F[in_p].sum(axis=0)
    pair_sum = sums[p] + sums[q]
    # Groups p and q have equal moment means when p's sum is pair_sum
    # n_p / (n_p + n_q); the chosen subset should supply the difference.
    target = pair_sum * sizes[p] / (sizes[p] + sizes[q]) - rest_p
    left, right = units[: units.size // 2], units[units.size // 2 :]
    bits_left, count_left = _subset_bits(left.size)
    bits_right, count_right = _subset_bits(right.size)
    sums_left, sums_right = bits_left @ F[left], bits_right @ F[right]
    pick_left, pick_right = [], []
    for k in range(max(0, n_p - right.size), min(n_p, left.size) + 1):
        rows_left = np.flatnonzero(count_left == k)
        rows_right = np.flatnonzero(count_right == n_p - k)
        n_near = min(_EXCHANGE_NEIGHBOURS, rows_right.size)
        _, near = cKDTree(sums_right[rows_right]).query(
            target - sums_left[rows_left], k=n_near, p=1
        )
        pick_left.append(np.repeat(rows_left, n_near))
        pick_right.append(rows_right[np.reshape(near, -1)])
    pick_left = np.concatenate(pick_left)
    pick_right = np.concatenate(pick_right)
    new_p = rest_p + sums_left[pick_left] + sums_right[pick_right]
    new_sums = np.repeat(sums[None], new_p.shape[0], axis=0)
    new_sums[:, p] = new_p
    new_sums[:, q] = pair_sum - new_p
    scores = _move_score(_pair_values(new_sums, sizes, first, second))
    k = int(np.argmin(scores))
    to_p = np.concatenate(
        [
            left[bits_left[pick_left[k]] > 0],
            right[bits_right[pick_right[k]] > 0],
        ]
    )
    return float(scores[k]), units, to_p


def _exchange_search(problem, labels, rng, n_iter, deadline=None):
    """Improve ``labels`` by an iterated local search re-splitting pairs of groups.

    Every move picks a random pair of groups and replaces the split of (a
    random sample of at most ``_exchange_union`` of) their units by the best
    one (:func:`_exchange_move`): a neighbourhood of millions of
    assignments, where a swap-based search sees hundreds. It pays off most
    with few moment columns, where the optimum is a fine-grained
    partition that single swaps cannot approach. After
    ``_EXCHANGE_PATIENCE`` moves per pair without improvement the search
    keeps the better of this local optimum and the previous one, and
    continues from it after ``_EXCHANGE_KICK`` random swaps.

    Parameters
    ----------
    problem : _Problem
        The problem.
    labels : ndarray of shape (n_free,)
        Starting labels of the free units (honouring the capacities).
    rng : numpy.random.Generator
        Source of randomness (samples, pairs and perturbations).
    n_iter : int
        Number of moves.
    deadline : float or None, default=None
        ``time.perf_counter()`` value at which to stop early.

    Returns
    -------
    best : ndarray of shape (n_free,)
        Best labels found (never worse than ``labels``).
    n_done : int
        Moves performed.
    """
    best = labels.copy()
    first, second = _pair_indices(problem.n_groups)
    open_ = problem.caps > 0
    pairs = [
        (p, q) for p, q in zip(first, second, strict=True) if open_[p] and open_[q]
    ]
    if not pairs or n_iter <= 0:
        return best, 0
    n_union = _exchange_union(problem.F.shape[1])
    sizes = problem.sizes

    def evaluate(labels):
        sums = problem.C.copy()
        np.add.at(sums, labels, problem.F)
        values = _pair_values(sums, sizes, first, second)
        return sums, float(values.max()), float(_move_score(values))

    labels = labels.copy()
    sums, worst, score = evaluate(labels)
    best_value = worst
    home, home_score = labels.copy(), score
    n_fails, done = 0, 0
    for it in range(n_iter):
        if deadline is not None and time.perf_counter() > deadline:
            break
        done = it + 1
        p, q = pairs[rng.integers(len(pairs))]
        new_score, units, to_p = _exchange_move(
            problem, labels, sums, p, q, rng, n_union, first, second
        )
        # Sums are recomputed after every move, so require an improvement
        # beyond rounding.
        if new_score < score * (1.0 - 1e-9):
            labels[units] = q
            labels[to_p] = p
            sums, worst, score = evaluate(labels)
            n_fails = 0
            if worst < best_value:
                best_value, best = worst, labels.copy()
            continue
        n_fails += 1
        if n_fails > _EXCHANGE_PATIENCE * len(pairs):
            if score < home_score:
                home, home_score = labels.copy(), score
            else:
                labels = home.copy()
            for _ in range(_EXCHANGE_KICK):
                i = rng.integers(labels.shape[0])
                j = rng.choice(np.flatnonzero(labels != labels[i]))
                labels[i], labels[j] = labels[j], labels[i]
            sums, worst, score = evaluate(labels)
            n_fails = 0
    return best, done


def _default_exchange_iter(problem, method):
    """Return the exchange moves used when ``exchange_iter=None``.

    ``_EXCHANGE_ITER`` moves when the objective has at most
    ``_EXCHANGE_MAX_COLUMNS`` moment columns (one covariate) and there are
    at least three groups, where the exchange search is far stronger than
    swaps; none otherwise, or when the solver proves small problems quickly.
    """
    n_free, n_cols = problem.F.shape
    if (
        n_cols > _EXCHANGE_MAX_COLUMNS
        or problem.n_groups < 3
        or (method == "mip" and n_free <= _SMALL_PROBLEM)
    ):
        return 0
    return _EXCHANGE_ITER


def _default_heuristic_iter(problem, method, exchange=False):
    """Return the tabu-search iterations used when ``heuristic_iter=None``.

    A short search for problems the solver proves quickly (its length grows
    with the number of distinct free units: duplicates add no assignments
    worth searching); otherwise ``2000 + 10000 n``, or 2000 when an exchange
    search follows, capped at ``_MAX_AUTO_WORK`` (see :func:`_neighbourhood`;
    about ten seconds), but at least ``n`` iterations.
    """
    n_free, n_cols = problem.F.shape
    if method == "mip" and n_free <= _SMALL_PROBLEM:
        return 20 + 2 * problem.type_counts.shape[0]
    _, per_iteration = _neighbourhood(n_free, problem.n_groups, n_cols)
    cap = max(int(_MAX_AUTO_WORK / max(per_iteration, 1.0)), n_free)
    return min(2000 + _TABU_PER_UNIT[exchange] * n_free, cap)


def _neighbourhood(n_free, m, n_cols):
    """Units whose swaps one tabu iteration scans, and the work that takes.

    Work is counted in moment differences: pruning stops most swaps within
    the first pair of groups they change, so a swap costs about ``n_cols``
    differences plus ``_SWAP_COST`` for its bookkeeping. All free units are
    scanned while that is at most ``_MAX_BLOCK``, otherwise a random subset
    of units that large.

    Returns
    -------
    n_sample : int
        Number of units among which swaps are scanned.
    work : float
        Work per iteration: swaps between different groups times their cost.
    """
    per_swap = (1 - 1 / m) * (n_cols + _SWAP_COST)
    n_sample = n_free
    if n_free * (n_free - 1) / 2 * per_swap > _MAX_BLOCK:
        n_sample = max(2, int(np.sqrt(2.0 * _MAX_BLOCK / per_swap)))
    return n_sample, n_sample * (n_sample - 1) / 2 * per_swap


def _sign_patterns(n_cols):
    return np.array(list(product((1.0, -1.0), repeat=n_cols)))


def _model_structure(problem):
    """Binary layout, objective rows and bounds shared by every engine.

    Two groups use one integer per type of free unit: how many of the
    type's units join group 0 (a binary per unit when all units differ);
    more groups use one binary per unit and group. Each pair of groups ``r``
    has moment differences ``A[r] @ y + b[r]``. Symmetry between
    interchangeable groups is removed with variable bounds: with two groups,
    group 0 holds at least half of the units of type 0; otherwise, within a
    class ordered by first unit, the ``j``-th free unit can only join the
    class's first ``j + 1`` groups.

    Returns
    -------
    two_groups : bool
    A : ndarray of shape (n_pairs, K, n_binaries)
    b : ndarray of shape (n_pairs, K)
    lb, ub : ndarray of shape (n_binaries,)
    """
    F, C, sizes = problem.F, problem.C, problem.sizes
    n_free, n_cols = F.shape
    m = problem.n_groups
    if m == 2:
        both = 1.0 / sizes[0] + 1.0 / sizes[1]
        counts = problem.type_counts
        first_of = np.unique(problem.types, return_index=True)[1]
        A = (F[first_of].T * both)[None]
        b = (C[0] / sizes[0] - (C[1] + F.sum(axis=0)) / sizes[1])[None]
        lb, ub = np.zeros(counts.shape[0]), counts.astype(np.float64)
        if problem.classes and n_free:
            lb[0] = np.ceil(counts[0] / 2.0)
        return True, A, b, lb, ub
    first, second = _pair_indices(m)
    A = np.zeros((first.shape[0], n_cols, n_free, m))
    for r, (p, q) in enumerate(zip(first, second, strict=True)):
        A[r, :, :, p] = F.T / sizes[p]
        A[r, :, :, q] = -F.T / sizes[q]
    b = C[first] / sizes[first, None] - C[second] / sizes[second, None]
    ub = np.ones((n_free, m))
    for groups in problem.classes:
        for rank, g in enumerate(groups):
            ub[:rank, g] = 0.0
    return (
        False,
        A.reshape(first.shape[0], n_cols, -1),
        b,
        np.zeros(n_free * m),
        ub.ravel(),
    )


def _warm_values(problem, labels, two_groups):
    if two_groups:
        return np.bincount(
            problem.types,
            weights=(labels == 0).astype(np.float64),
            minlength=problem.type_counts.shape[0],
        )
    y = np.zeros((labels.shape[0], problem.n_groups))
    y[np.arange(labels.shape[0]), labels] = 1.0
    return y.ravel()


def _labels_from_values(values, problem, two_groups, rng):
    """Free-unit labels from the solver's values.

    With two groups the values count the units of each type in group 0;
    which units of a type those are is drawn at random (they are identical
    in every moment the design balances).
    """
    if not two_groups:
        return values.reshape(-1, problem.n_groups).argmax(axis=1).astype(np.int64)
    in_zero = np.rint(values).astype(np.int64)
    labels = np.ones(problem.types.shape[0], dtype=np.int64)
    for t in np.flatnonzero(in_zero):
        units = rng.permutation(np.flatnonzero(problem.types == t))
        labels[units[: in_zero[t]]] = 0
    return labels


def _configure_scip(model, ps, n_binaries):
    """Choose SCIP's settings for the model's size."""
    if n_binaries <= _SMALL_MODEL:
        model.setPresolve(ps.SCIP_PARAMSETTING.OFF)
        model.setHeuristics(ps.SCIP_PARAMSETTING.OFF)
        model.setSeparating(ps.SCIP_PARAMSETTING.OFF)


def _solve_scip(
    problem,
    warm,
    *,
    seed,
    tolerance,
    time_limit,
    node_limit,
    mip_gap,
    params,
    verbose,
):
    """Build the model with PySCIPOpt's matrix API and solve it."""
    ps = import_pyscipopt()
    two_groups, A, b, lb, ub = _model_structure(problem)
    n_pairs, n_cols, n_bin = A.shape
    model = ps.Model()
    if verbose < 2:
        model.hideOutput()
    y = model.addMatrixVar((n_bin,), vtype="I" if two_groups else "B", lb=lb, ub=ub)
    d = model.addVar(lb=0.0, obj=1.0)
    if two_groups:
        model.addCons(y.sum() == int(problem.caps[0]))
    else:
        y2 = y.reshape(-1, problem.n_groups)
        model.addMatrixCons(y2.sum(axis=1) == 1)
        model.addMatrixCons(y2.sum(axis=0) == problem.caps)
    equalities = _stratum_equalities(problem, two_groups)
    if equalities is not None:
        model.addMatrixCons(equalities[0] @ y == equalities[1])
    signs = _sign_patterns(n_cols) if n_cols <= _MAX_SIGN_COLUMNS else None
    abs_vars = []
    for r in range(n_pairs):
        expr = A[r] @ y + b[r]
        if signs is not None:
            for sign in signs:
                model.addCons(ps.quicksum(sign * expr) <= d)
        else:
            t = model.addMatrixVar((n_cols,), lb=0.0)
            model.addMatrixCons(expr <= t)
            model.addMatrixCons(-expr <= t)
            model.addCons(t.sum() <= d)
            abs_vars.append(t)
    _configure_scip(model, ps, n_bin)
    settings = {
        "randomization/randomseedshift": seed,
        "randomization/lpseed": seed,
        "limits/gap": float(mip_gap),
        "numerics/feastol": tolerance,
    }
    if time_limit is not None:
        settings["limits/time"] = max(float(time_limit), 1e-3)
    if node_limit is not None:
        settings["limits/nodes"] = int(node_limit)
    settings.update(params or {})
    model.setParams(settings)
    if warm is not None:
        values = _warm_values(problem, warm, two_groups)
        solution = model.createSol()
        for var, value in zip(np.ravel(y), values, strict=True):
            model.setSolVal(solution, var, value)
        diffs = np.abs(A @ values + b)
        for r, t in enumerate(abs_vars):
            for var, value in zip(np.ravel(t), diffs[r], strict=True):
                model.setSolVal(solution, var, value)
        model.setSolVal(solution, d, float(diffs.sum(axis=1).max()))
        model.addSol(solution, free=True)
    # Releasing the GIL lets thread-based joblib backends solve in parallel.
    return two_groups, solve_scip(model, y, nogil=True)


def _solve_with_cvxpy(
    problem,
    *,
    solver,
    seed,
    tolerance,
    time_limit,
    node_limit,
    mip_gap,
    params,
    verbose,
):
    """Build the same model in cvxpy and solve it with ``solver``."""
    import cvxpy as cp

    two_groups, A, b, lb, ub = _model_structure(problem)
    n_pairs, n_cols, n_bin = A.shape
    y = (
        cp.Variable(n_bin, integer=True)
        if two_groups
        else cp.Variable(n_bin, boolean=True)
    )
    d = cp.Variable(nonneg=True)
    t = cp.Variable((n_pairs, n_cols), nonneg=True)
    constraints = [y >= lb, y <= ub]
    if two_groups:
        constraints.append(cp.sum(y) == int(problem.caps[0]))
    else:
        n_free = n_bin // problem.n_groups
        y2 = cp.reshape(y, (n_free, problem.n_groups), order="C")
        constraints += [
            cp.sum(y2, axis=1) == np.ones(n_free),
            cp.sum(y2, axis=0) == problem.caps,
        ]
    equalities = _stratum_equalities(problem, two_groups)
    if equalities is not None:
        constraints.append(equalities[0] @ y == equalities[1])
    for r in range(n_pairs):
        expr = A[r] @ y + b[r]
        constraints += [expr <= t[r], -expr <= t[r], cp.sum(t[r]) <= d]
    limited = time_limit is not None or node_limit is not None or mip_gap > 0
    options = {}
    if solver in _CVXPY_LIMITS:
        options = _CVXPY_LIMITS[solver](
            time_limit, node_limit, float(mip_gap), seed, tolerance
        )
    elif limited:
        raise ValueError(
            f"OptimalBalance passes time_limit, node_limit and mip_gap to the "
            f"cvxpy solvers {sorted(_CVXPY_LIMITS)} only; for solver={solver!r} "
            "set time_limit=None, node_limit=None and mip_gap=0 and give the "
            "solver's own limit options in solver_params."
        )
    for key, value in (params or {}).items():
        if isinstance(value, dict) and isinstance(options.get(key), dict):
            options[key] = {**options[key], **value}
        else:
            options[key] = value
    if verbose >= 2:
        options.setdefault("verbose", True)
    problem_ = cp.Problem(cp.Minimize(d), constraints)
    limits = {"time_limit": time_limit, "node_limit": node_limit}
    return two_groups, solve_cvxpy(problem_, y, solver, options, limits)


class OptimalBalance(BaseSolverDesign):
    r"""Optimal balance of means and second moments (Bertsimas et al., 2015).

    Splits the units into groups by solving the mixed-integer program of
    Bertsimas, Johnson & Kallus: with binary ``x[i, p]`` (unit ``i`` in
    group ``p``), every unit in one group and exact group sizes, minimise
    ``d`` subject to, for every pair of groups ``p < q``,

    .. math:: d \ge \sum_s |\mu_{ps} - \mu_{qs}|
              + \rho \sum_{s, s'} |M_{pss'} - M_{qss'}|

    where ``mu_ps`` is group ``p``'s mean of covariate ``s`` and ``M_pss'``
    its mean of ``x_s x_s'`` (``s = s'`` only with
    ``second_moments="diagonal"``). The objective is
    :func:`~skassign.metrics.moment_discrepancy`. Which solved group becomes
    arm 0, 1, ... is then drawn at random, as the method prescribes.

    A heuristic on the same objective gives the solver a warm start: a tabu
    search over swaps of two units (compiled with numba, and restarted from
    a random assignment when it stagnates), followed, with one covariate
    and three or more groups, by an exchange search that re-splits the
    units of two groups at a time exactly. With ``method="heuristic"`` it
    is used alone, for samples too large to solve exactly. Covariates are
    used as given: standardise them first (a ``StandardScaler`` in a
    Pipeline). With ``strata`` given to ``fit``, the model also fixes how
    many units of every stratum each group receives (each stratum spread
    evenly) and the tabu search only swaps units of the same stratum.

    Read more in the :ref:`User Guide <optimal_balance>`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups (arms).
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units. ``None`` makes
        the sizes as equal as possible. Each group's moments are averages
        over its own size.
    rho : float, default=0.5
        Weight of the second moments against the means. ``rho=0`` balances
        the means only.
    second_moments : {"diagonal", "full"}, default="diagonal"
        ``"diagonal"`` balances the mean square of every covariate;
        ``"full"`` balances all cross-products (the covariance structure).
    method : {"mip", "heuristic"}, default="mip"
        ``"mip"`` solves the model exactly (within the limits), warm-started
        by the heuristic; ``"heuristic"`` runs the heuristic alone.
    solver : str, default="pyscipopt"
        ``"pyscipopt"`` builds the model directly in SCIP (fastest); any
        other name is a cvxpy solver with integer support, for example
        ``"HIGHS"`` or ``"SCIP"``.
    solver_params : dict or None, default=None
        Solver options. With ``solver="pyscipopt"``, SCIP parameters such as
        ``{"limits/solutions": 10}``; otherwise keyword arguments of
        ``cvxpy.Problem.solve``, such as ``{"verbose": True}``. They override
        the options set from the parameters below.
    time_limit : float or None, default=60.0
        Wall-clock limit in seconds for the whole optimisation (not
        counting the one-time compilation of the heuristic's kernel).
        Results stopped by it depend on the machine.
    node_limit : int or None, default=None
        Branch-and-bound node limit. Unlike ``time_limit`` it gives the same
        assignment on every machine.
    mip_gap : float, default=0.0
        Relative optimality gap at which the solver may stop; reaching it is
        not treated as a limit.
    heuristic_iter : int or None, default=None
        Iterations of the tabu search. ``None`` runs a short search when the
        solver will prove optimality quickly (at most 24 units to assign)
        and otherwise ``2000 + 10000 n`` iterations (2000 when an exchange
        search follows), capped at about ten seconds' worth of work.
        With a ``time_limit`` the whole heuristic stops after 80% of it at
        the latest.
    exchange_iter : int or None, default=None
        Moves of the exchange search that follows the tabu search. Each move
        takes two groups and re-splits their units (a random sample of at
        most 26 of them) exactly, by meet-in-the-middle over all subsets.
        ``None`` makes 400 moves when the objective has at most two moment
        columns (one covariate, or two with ``rho=0``), there are at least
        three groups and more than 24 units are to be assigned, and none
        otherwise: there the optimum is a fine-grained partition that swaps
        of two units approach slowly. ``0`` switches it off.
    fallback : design or None, default=None
        Design used if the solver fails without an assignment; ``None``
        raises :class:`~skassign.exceptions.SolverError`.
    random_state : int, RandomState instance or None, default=None
        Seeds the heuristic, the solver (``randomization/randomseedshift``)
        and the random choice of which group becomes which arm.
    verbose : int, default=0
        0 is silent, 1 prints a summary of each stage, 2 also shows the
        solver log.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each unit.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        :func:`~skassign.metrics.moment_discrepancy` of ``labels_``.
    bound_ : float
        Lower bound on the optimal objective proven by the solver (NaN for
        the heuristic).
    gap_ : float
        Relative gap ``(objective_ - bound_) / objective_``; 0 when proven
        optimal (NaN for the heuristic).
    status_ : str
        ``"optimal"``, ``"gap_limit"``, ``"time_limit"``, ``"node_limit"``,
        ... for the solver; ``"heuristic"`` for ``method="heuristic"``;
        ``"fallback"`` if the fallback design was used.
    solve_time_ : float
        Seconds spent optimising (heuristic, model building and solving).
    n_nodes_ : int
        Branch-and-bound nodes processed (0 for the heuristic, -1 if the
        solver does not say).
    n_iter_ : int
        Iterations of the tabu search performed.
    n_exchange_iter_ : int
        Moves of the exchange search performed.
    fallback_ : estimator or None
        The fitted fallback design, if it was used.
    n_features_in_ : int
        Number of covariates seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Covariate names, when ``X`` has string column names.

    See Also
    --------
    skassign.metrics.moment_discrepancy : The objective.
    Rerandomization : Random assignments filtered by balance.

    Notes
    -----
    Balance MIPs find excellent assignments quickly but prove optimality
    slowly: beyond about 30 units expect the time limit to stop the solver
    (with a :class:`~skassign.exceptions.SolverWarning` stating the gap).
    Use ``node_limit`` rather than ``time_limit`` when the assignment must
    be reproducible across machines.

    References
    ----------
    .. [1] D. Bertsimas, M. Johnson and N. Kallus, "The power of optimization
       over randomization in designing experiments involving small samples",
       Operations Research 63(4), 868-876, 2015.

    Examples
    --------
    The 20 mice of the case study, split into two groups of 10 on their
    standardised initial tumour weight:

    >>> from skassign.datasets import make_tumor_mice
    >>> from skassign.designs import OptimalBalance
    >>> mice = make_tumor_mice()
    >>> w = mice[["initial_weight"]]
    >>> X = (w - w.mean()) / w.std()
    >>> design = OptimalBalance(rho=0.5, random_state=0).fit(X)
    >>> design.status_, f"{design.objective_:.6f}", f"{design.gap_:.1f}"
    ('optimal', '0.212663', '0.0')
    >>> stats = w.groupby(design.labels_)["initial_weight"].agg(["mean", "std"])
    >>> sorted(map(tuple, stats.round(2).to_numpy().tolist()))
    [(302.79, 202.54), (303.61, 162.12)]
    """

    _parameter_constraints: dict = {
        **BaseSolverDesign._parameter_constraints,
        "rho": [Interval(Real, 0, None, closed="left")],
        "second_moments": [StrOptions({"diagonal", "full"})],
        "method": [StrOptions({"mip", "heuristic"})],
        "solver": [str],
        "solver_params": [dict, None],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "node_limit": [Interval(Integral, 1, None, closed="left"), None],
        "mip_gap": [Interval(Real, 0, None, closed="left")],
        "heuristic_iter": [Interval(Integral, 0, None, closed="left"), None],
        "exchange_iter": [Interval(Integral, 0, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        rho=0.5,
        second_moments="diagonal",
        method="mip",
        solver=DIRECT_SCIP,
        solver_params=None,
        time_limit=60.0,
        node_limit=None,
        mip_gap=0.0,
        heuristic_iter=None,
        exchange_iter=None,
        fallback=None,
        random_state=None,
        verbose=0,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.rho = rho
        self.second_moments = second_moments
        self.method = method
        self.solver = solver
        self.solver_params = solver_params
        self.time_limit = time_limit
        self.node_limit = node_limit
        self.mip_gap = mip_gap
        self.heuristic_iter = heuristic_iter
        self.exchange_iter = exchange_iter
        self.fallback = fallback
        self.random_state = random_state
        self.verbose = verbose

    def _objective(self, X, labels):
        means, seconds = _group_moments(
            X, labels, int(labels.max()) + 1, self.second_moments
        )
        return _max_pairwise_discrepancy(means, seconds, self.rho)

    def _solve(self, X, sizes, fixed, rng, strata=None):
        _compile_search()
        start = time.perf_counter()
        engine = None
        if self.method == "mip":
            engine = check_solver(self.solver, integer=True)
        heuristic_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        seed = scip_seed(rng)
        deadline = None if self.time_limit is None else start + self.time_limit
        problem = _make_problem(
            X,
            sizes,
            fixed,
            self.rho,
            self.second_moments,
            self._arm_classes(sizes, fixed),
            strata,
        )
        n_free = problem.free.shape[0]

        def full(free_labels):
            labels = fixed.copy()
            labels[problem.free] = free_labels
            return labels

        # Heuristic: tabu search, then exchange search.
        n_exchange = self.exchange_iter
        if n_exchange is None:
            n_exchange = _default_exchange_iter(problem, self.method)
        if strata is not None:
            # Re-splitting two groups exactly would ignore the strata.
            n_exchange = 0
        n_iter = self.heuristic_iter
        if n_iter is None:
            n_iter = _default_heuristic_iter(problem, self.method, n_exchange > 0)
        heuristic_deadline = deadline
        if deadline is not None and self.method == "mip":
            heuristic_deadline = start + _HEURISTIC_SHARE * self.time_limit
        warm = _random_labels(problem.caps, heuristic_rng, problem)
        warm, self.n_iter_ = _tabu_search(
            problem, warm, heuristic_rng, n_iter, heuristic_deadline
        )
        warm, self.n_exchange_iter_ = _exchange_search(
            problem, warm, heuristic_rng, n_exchange, heuristic_deadline
        )
        warm = _canonical_labels(warm, problem)
        warm_value = self._objective(X, full(warm))
        if self.verbose:
            print(
                f"[OptimalBalance] heuristic: objective {warm_value:.6g} after "
                f"{self.n_iter_} tabu iterations and {self.n_exchange_iter_} "
                f"exchange moves ({time.perf_counter() - start:.3f} s)"
            )
        if self.method == "heuristic" or n_free == 0 or warm_value == 0:
            # Nothing left to prove when no unit is free or the heuristic
            # reached zero; the heuristic alone offers no bound.
            exact = self.method == "mip" or n_free == 0
            self.status_ = "heuristic"
            if exact:
                self.status_ = "optimal"
            elif self.n_iter_ < n_iter or self.n_exchange_iter_ < n_exchange:
                self.status_ = "time_limit"
            self.bound_ = float(warm_value) if exact else float("nan")
            self.gap_ = 0.0 if exact else float("nan")
            self.n_nodes_ = 0
            self.solve_time_ = time.perf_counter() - start
            return full(warm)

        remaining = None
        if deadline is not None:
            remaining = max(deadline - time.perf_counter(), 1e-3)
        # Solvers accept constraint violations up to a feasibility tolerance
        # (1e-6 by default), which would let them report an objective near 0
        # for any assignment once the optimum is that small; tighten it to
        # well below the warm start's objective.
        tolerance = float(np.clip(1e-3 * warm_value, 1e-9, 1e-6))
        common = dict(
            seed=seed,
            tolerance=tolerance,
            time_limit=remaining,
            node_limit=self.node_limit,
            mip_gap=self.mip_gap,
            params=self.solver_params,
            verbose=self.verbose,
        )
        if engine == DIRECT_SCIP:
            two_groups, result = _solve_scip(problem, warm, **common)
        else:
            two_groups, result = _solve_with_cvxpy(problem, solver=engine, **common)
        check_solve_result(result)
        labels = _labels_from_values(result.values, problem, two_groups, heuristic_rng)
        value = self._objective(X, full(labels))
        if warm_value < value:
            # Only cvxpy engines, which get no warm start, can end here.
            labels, value = warm, warm_value
        bound = result.bound
        bound = min(bound, value) if np.isfinite(bound) else np.nan
        self.status_ = result.status
        self.bound_ = float(bound)
        self.gap_ = relative_gap(value, bound) if np.isfinite(bound) else np.nan
        if result.status == "optimal":
            self.gap_ = 0.0
        self.n_nodes_ = int(result.n_nodes)
        self.solve_time_ = time.perf_counter() - start
        if self.verbose:
            print(
                f"[OptimalBalance] {engine}: status {result.status}, objective "
                f"{value:.6g}, bound {self.bound_:.6g}, {self.n_nodes_} nodes "
                f"({self.solve_time_:.3f} s)"
            )
        warn_at_limit(self.status_, value, bound, solver=engine, stacklevel=6)
        return full(labels)
