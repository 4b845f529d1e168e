"""OptimalBalance's heuristic: a compiled tabu search, then an exchange search.

The tabu search swaps two units at a time (the iterations run in the compiled
kernel of :mod:`skassign.designs._optimal_kernels`); the exchange search
re-splits the units of two groups at a time exactly, by meet-in-the-middle.
Both work on the reduced problem of :mod:`skassign.designs._optimal_problem`
and give the solver its warm start, or serve alone with
``method="heuristic"``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from itertools import product

import numpy as np
from scipy.spatial import cKDTree

from skassign.designs._optimal_problem import (
    _make_problem,
    _pair_differences,
    _pair_indices,
    _Problem,
    _random_labels,
)
from skassign.utils._docstrings import fill_doc
from skassign.utils._random import child_seed

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
# half-subset. 2000 moves of 26 units take about 6 s on one core; on
# bench_optimal_balance.py's 40-1-4 (time_limit=10) 400 moves ended at
# 5.9e-4 to 1.4e-3 over seeds, 2000 at 5.8e-4 to 9.3e-4 (best known 5.8e-4).
# With a time_limit the moves stop at the heuristic's share of it.
_EXCHANGE_ITER = 2000
_EXCHANGE_MAX_COLUMNS = 2
_EXCHANGE_NEIGHBOURS = 3
# Consecutive moves without improvement, per pair of groups, after which the
# exchange search perturbs its assignment by random swaps, and their number.
_EXCHANGE_PATIENCE = 3
_EXCHANGE_KICK = 3
# Up to this many free units the solver proves optimality quickly, so the
# warm start only needs a short search.
_SMALL_PROBLEM = 24
# Free units times (groups - 1) beyond which, with several covariates, three
# or more groups and no exchange search, the solver's bound stays trivial
# within typical time limits and the solver does not improve on the tabu
# search's assignment. bench_optimal_balance.py's item 3 (time_limit=10):
# in its n = 40 and 60 configurations with 3 or 5 covariates and 3 or 4
# groups (6 configurations, seeds 0-4) the solver's 2-7 s never improved on
# the warm start and its bound stayed 0 or trivial. With time_limit=60 and
# 3 covariates in three groups, 33 and 36 units were proven optimal after
# 16 and 52 s, while the bound of 37 and 40 units was still 0 after 57 s.
# There, with a time_limit, running the tabu search alone until the
# heuristic's share of it, rather than a fixed number of iterations, was
# over those 30 runs never worse, better in 10 (40-3-3 ended at
# 0.050-0.061 instead of 0.059-0.068; 40-3-4 reached its best known 0.1262
# at 2 of 5 seeds instead of none) and within item 3's target in 19
# instead of 15. The search's length is then the automatic cap (about ten
# seconds' worth of work), so that a long time_limit still leaves the
# solver most of it.
_WEAK_MIP_SIZE = 72
# There, the heuristic is an iterated search (_iterated_search): rounds of
# at least _ROUND_ITER tabu iterations (_ROUND_SHARE: the tabu search of a
# round takes at least as long as the last round's re-splits), each
# followed by exact re-splits of pairs of groups (the exact path's branch
# and bound over the two groups' units, the others fixed), and started
# from the best assignment of the current run after _KICK_SWAPS random
# swaps; after _STALL_ROUNDS rounds without improving on it a new run
# starts from a random assignment. bench_optimal_balance.py's item 3, the
# heuristic alone for 8 s (seeds 0-29): 40-3-3 reached its best known
# 0.0484 in 15 of 30 runs, the tabu search alone in 1 of 25 (0.050-0.061
# otherwise); 40-3-4 reached its best known 0.1262 in 15 of 30, the tabu
# search alone in 12 of 25. The whole fit (time_limit=10, seeds 0 and 1)
# kept the other ten configurations with several covariates and three or
# four groups within their targets; 60-3-3 ended at 0.011-0.012 where the
# tabu search alone ended at 0.013-0.023 (seeds 0-4).
_ROUND_ITER = 2000
_KICK_SWAPS = 8
_STALL_ROUNDS = 30
_ROUND_SHARE = 1.0
# Node budget of one exact re-split of u units: _PAIR_NODES up to
# _PAIR_UNITS units, doubling every two more (the branch and bound's work
# grows about so), at most _PAIR_MAX_NODES (about half a second). Measured
# on item 3 (a prototype with fixed rounds of 2000 tabu iterations, seeds
# 0-9 or 0-4, 8 s; runs spread widely, see above):
# complete re-splits of 26-27 units took 8k-50k nodes, of 30 units 16k-280k,
# of 40 units 9-21 million. On 40-3-3 a budget of 20k reached the best
# known at 10 of 10 seeds, 200k and 2M at 6 of 10 (a re-split that stops
# early is less greedy); on 60-3-3 (40 units a pair) 20k and 200k reached
# the target at 1 of 5 seeds, 2M at 5 of 5 (0.009-0.014 against 0.0195).
_PAIR_NODES = 20_000
_PAIR_UNITS = 27
_PAIR_MAX_NODES = 2_000_000


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


@fill_doc
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
    %(search_start)s
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


@fill_doc
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
    %(search_start)s
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
            labels = _kick(labels, rng, _EXCHANGE_KICK)
            sums, worst, score = evaluate(labels)
            n_fails = 0
    return best, done


def _pair_problem(problem, labels, units):
    """Return the problem of re-splitting ``units`` (the other units fixed).

    Every group keeps as many of ``units`` as it holds; the other free units
    join the fixed units' sums, so the sub-problem's objective is the whole
    problem's. Its groups are not interchangeable (their fixed sums differ);
    with strata, every stratum keeps its count in every group.
    """
    m = problem.n_groups
    rest = np.ones(labels.shape[0], dtype=bool)
    rest[units] = False
    C = problem.C.copy()
    np.add.at(C, labels[rest], problem.F[rest])
    _, types = np.unique(problem.types[units], return_inverse=True)
    strata = stratum_caps = None
    if problem.strata is not None:
        strata = problem.strata[units]
        stratum_caps = np.zeros_like(problem.stratum_caps)
        np.add.at(stratum_caps, (strata, labels[units]), 1)
    return _Problem(
        F=problem.F[units],
        types=types.astype(np.int64),
        type_counts=np.bincount(types).astype(np.int64),
        C=C,
        sizes=problem.sizes,
        caps=np.bincount(labels[units], minlength=m).astype(np.int64),
        free=units,
        classes=[],
        strata=strata,
        stratum_caps=stratum_caps,
    )


def _objective(problem, labels):
    """Largest pairwise discrepancy of ``labels``, in the problem's units."""
    return float(np.abs(_pair_differences(problem, labels)).sum(axis=1).max())


def _pair_nodes(n_units):
    """Node budget of one exact re-split of ``n_units`` units."""
    doublings = max(n_units - _PAIR_UNITS, 0) / 2
    return int(min(_PAIR_NODES * 2.0**doublings, _PAIR_MAX_NODES))


def _pair_descent(problem, labels, rng, deadline=None):
    """Re-split pairs of groups exactly until no pair improves.

    Pairs of groups are visited in a random cyclic order; each time the
    units of the two groups are re-split by the exact path's branch and
    bound (:func:`~skassign.designs._optimal_exact.exact_search`), the other
    groups fixed, looking for an assignment better than the current one
    within :func:`_pair_nodes` nodes. The descent ends when every pair has
    failed in a row (or at the deadline).

    Returns
    -------
    labels : ndarray of shape (n_free,)
        The improved labels (a new array when improved).
    value : float
        Their objective, in the problem's units.
    n_moves : int
        Re-splits attempted.
    """
    from skassign.designs._optimal_exact import _exact_search

    first, second = _pair_indices(problem.n_groups)
    pairs = [
        (p, q)
        for p, q in zip(first, second, strict=True)
        if problem.caps[p] > 0 and problem.caps[q] > 0
    ]
    value = _objective(problem, labels)
    n_moves = n_fails = 0
    order = rng.permutation(len(pairs))
    while n_fails < len(pairs):
        if deadline is not None and time.perf_counter() > deadline:
            break
        p, q = pairs[order[n_moves % len(pairs)]]
        n_moves += 1
        units = np.flatnonzero((labels == p) | (labels == q))
        # The branch and bound's sums are incremental: require an
        # improvement beyond rounding.
        found, _, _, _ = _exact_search(
            _pair_problem(problem, labels, units),
            value * (1.0 - 1e-9),
            _pair_nodes(units.shape[0]),
            deadline,
        )
        if found is not None:
            trial = labels.copy()
            trial[units] = found
            trial_value = _objective(problem, trial)
            # Recomputed from scratch, the objective must have gone down
            # (so the descent ends).
            if trial_value < value:
                labels, value, n_fails = trial, trial_value, 0
                continue
        n_fails += 1
    return labels, value, n_moves


def _kick(labels, rng, n_swaps, strata=None):
    """Return a copy of ``labels`` after ``n_swaps`` random swaps.

    Each swap draws a unit, then a partner among the units of other groups
    (of the same stratum, with ``strata``; a unit without one is left
    alone), so every group keeps its size and every stratum its counts.
    """
    labels = labels.copy()
    for _ in range(n_swaps):
        i = rng.integers(labels.shape[0])
        others = labels != labels[i]
        if strata is not None:
            others &= strata == strata[i]
        candidates = np.flatnonzero(others)
        if candidates.size:
            j = rng.choice(candidates)
            labels[i], labels[j] = labels[j], labels[i]
    return labels


@fill_doc
def _iterated_search(problem, labels, rng, n_iter, deadline=None):
    """Run an iterated local search: tabu rounds, exact re-splits, kicks.

    Every round runs :func:`_tabu_search` (``_ROUND_ITER`` iterations, or
    more: as long as the last round's descent took) and then
    :func:`_pair_descent`, which re-splits pairs of groups exactly (a
    neighbourhood swaps cannot cover: one re-split may move a dozen units).
    The next round starts from the best assignment of the current run after
    ``_KICK_SWAPS`` random swaps; after ``_STALL_ROUNDS`` rounds without
    improving on it, a new run starts from a random assignment. Used where
    the solver's bound stays trivial and the heuristic has the time limit's
    share to itself (:func:`_search_fills_time`). The rounds' lengths follow
    the clock, so the result depends on the machine (as any result stopped
    by a deadline does).

    Parameters
    ----------
    %(search_start)s
    rng : numpy.random.Generator
        Source of randomness.
    n_iter : int
        Tabu iterations in all rounds.
    deadline : float or None, default=None
        ``time.perf_counter()`` value at which to stop early.

    Returns
    -------
    best : ndarray of shape (n_free,)
        Best labels found.
    n_done : int
        Tabu iterations performed.
    n_moves : int
        Pair re-splits attempted.
    """
    best, best_value = labels.copy(), _objective(problem, labels)
    current, current_value = None, np.inf
    done = n_moves = stall = 0
    n_round = _ROUND_ITER
    while done < n_iter:
        if current is None:
            start = labels if done == 0 else _random_labels(problem.caps, rng, problem)
        else:
            start = _kick(current, rng, _KICK_SWAPS, problem.strata)
        tick = time.perf_counter()
        found, n_done = _tabu_search(
            problem, start, rng, min(n_round, n_iter - done), deadline
        )
        done += n_done
        tabu_seconds = time.perf_counter() - tick
        found, value, n_pair = _pair_descent(problem, found, rng, deadline)
        n_moves += n_pair
        # The next round's tabu search takes at least as long as this
        # descent: where re-splits are slow (large groups, many columns),
        # the time stays shared between the two neighbourhoods.
        pair_seconds = time.perf_counter() - tick - tabu_seconds
        rate = n_done / max(tabu_seconds, 1e-9)
        n_round = max(_ROUND_ITER, int(_ROUND_SHARE * rate * pair_seconds))
        if value < current_value * (1.0 - 1e-9):
            current, current_value, stall = found, value, 0
        else:
            stall += 1
            if stall >= _STALL_ROUNDS:
                current, current_value, stall = None, np.inf, 0
        if value < best_value:
            best, best_value = found, value
        if deadline is not None and time.perf_counter() > deadline:
            break
    return best, done, n_moves


@fill_doc
def _parallel_iterated_search(problem, labels, rng, n_iter, deadline, n_threads):
    """Run ``n_threads`` independent iterated searches in threads; keep the best.

    The first search is :func:`_iterated_search` from ``labels`` with
    ``rng`` (so one thread is exactly the single search); every other one
    starts from a random assignment with a generator seeded from ``rng``.
    The compiled kernels release the GIL, so the searches run side by side
    (on two cores, two searches made 1.85 times the rounds of one). The
    searches' runs are independent restarts, so more of them in the same
    time is what raises the chance of reaching a rare best assignment:
    bench_optimal_balance.py's 40-3-4 and 40-3-3, the heuristic alone for
    8 s (seeds 0-29), reached their best known in 19 and 24 of 30 runs with
    two threads, 15 and 15 of 30 with one.

    Parameters
    ----------
    %(search_start)s
    rng : numpy.random.Generator
        Source of randomness of the first search, and of the others' seeds.
    n_iter : int
        Tabu iterations of every search.
    deadline : float
        ``time.perf_counter()`` value at which the searches stop.
    n_threads : int
        Number of searches (threads).

    Returns
    -------
    best : ndarray of shape (n_free,)
        Best labels found (the first search's among equals).
    n_done : int
        Tabu iterations performed, over all searches.
    n_moves : int
        Pair re-splits attempted, over all searches.
    """
    if n_threads <= 1:
        return _iterated_search(problem, labels, rng, n_iter, deadline)
    # Plain threads, not skassign.utils._parallel.parallel_in_order: that
    # runs tasks in the calling process until it has timed them, and every
    # search here lasts until the deadline, so they would run one after
    # the other.
    from concurrent.futures import ThreadPoolExecutor

    rngs = [rng] + [
        np.random.default_rng(child_seed(rng)) for _ in range(n_threads - 1)
    ]
    starts = [labels] + [_random_labels(problem.caps, r, problem) for r in rngs[1:]]

    def search(k):
        return _iterated_search(problem, starts[k], rngs[k], n_iter, deadline)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        results = list(pool.map(search, range(n_threads)))
    values = [_objective(problem, found) for found, _, _ in results]
    best = int(np.argmin(values))
    return (
        results[best][0],
        sum(done for _, done, _ in results),
        sum(moves for _, _, moves in results),
    )


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


def _default_heuristic_iter(problem, method, exchange=False, fills_time=False):
    """Return the tabu-search iterations used when ``heuristic_iter=None``.

    A short search for problems the solver proves quickly (its length grows
    with the number of distinct free units: duplicates add no assignments
    worth searching); otherwise ``2000 + 10000 n``, or 2000 when an exchange
    search follows, capped at ``_MAX_AUTO_WORK`` (see :func:`_neighbourhood`;
    about ten seconds), but at least ``n`` iterations. Where the search
    fills the time limit's share (``fills_time``, see
    :func:`_search_fills_time`), the cap itself: the iterated search then
    runs until the heuristic's deadline, or that much work.
    """
    n_free, n_cols = problem.F.shape
    if method == "mip" and n_free <= _SMALL_PROBLEM:
        return 20 + 2 * problem.type_counts.shape[0]
    _, per_iteration = _neighbourhood(n_free, problem.n_groups, n_cols)
    cap = max(int(_MAX_AUTO_WORK / max(per_iteration, 1.0)), n_free)
    if fills_time:
        return cap
    return min(2000 + _TABU_PER_UNIT[exchange] * n_free, cap)


def _search_fills_time(problem, method, exchange):
    """Whether the iterated search should run until the heuristic's deadline.

    True when a solver follows (``method == "mip"``), no exchange search
    does, the objective has more moment columns than the exchange search
    is meant for (several covariates), there are at least three groups and
    more than ``_WEAK_MIP_SIZE`` free units times (groups - 1): the
    solver's bound then stays trivial and its time is better spent
    searching (see ``_WEAK_MIP_SIZE``).
    """
    n_free, n_cols = problem.F.shape
    m = problem.n_groups
    return (
        method == "mip"
        and not exchange
        and n_cols > _EXCHANGE_MAX_COLUMNS
        and m >= 3
        and n_free > _SMALL_PROBLEM
        and n_free * (m - 1) > _WEAK_MIP_SIZE
    )


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
