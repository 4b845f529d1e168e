"""GLMOptimal's search: compiled descent and the hybrid VNS driving it.

:func:`local_search` is a compiled first-improvement descent over the moves
of a :class:`~skassign.designs._glm_problem.GLMProblem` (swaps, and single
moves with free sizes); :func:`hybrid_vns` alternates it with random shakes
and restarts (Hore et al., 2014, 2016).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from skassign.base import draw_assignments
from skassign.designs._glm_imbalance import apply_stats, imbalance_after
from skassign.designs._glm_kernels import (
    apply_move,
    draw_values,
    evaluate_move,
    make_scratch,
)
from skassign.exceptions import InfeasibleDesignError
from skassign.utils._random import check_random_state

__all__ = ["hybrid_vns", "local_search"]

# Largest shaking neighbourhood (number of random moves).
MAX_SHAKE = 8
# Random starts tried to reach max_imbalance before giving up.
MAX_FEASIBILITY_STARTS = 20


@njit(cache=True, nogil=True)
def local_search(draws, stats, crit, variant, moves, goal, seed, current):
    """First-improvement descent over swaps (and single moves with free sizes).

    ``moves = (free, free_sizes, min_size, classes)``: the units that may
    move, whether single moves are allowed (no arm below ``min_size``) and
    the swap class of every unit (swaps stay within a class).
    ``goal = (mode, max_imbalance, target, max_evals)``: mode 0 minimises the
    log criterion among allocations with imbalance at most
    ``max_imbalance``; mode 1 minimises the imbalance and stops once it is at
    most ``target``. Candidate moves are scanned in a random order (numba's
    generator seeded with ``seed``); the descent stops at a local optimum or
    after ``max_evals`` evaluations. Returns ``(value, n_evaluations,
    n_applied)``; ``current`` is the value at the start.
    """
    W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded = draws
    counts, sums, outer = stats
    free, free_sizes, min_size, classes = moves
    mode, max_imbalance, target, max_evals = goal
    np.random.seed(seed)
    N = W.shape[0]
    values = np.empty(N)
    scratch = make_scratch(n_arms + X.shape[1])
    units = np.empty(2, dtype=np.int64)
    old = np.empty(2, dtype=np.int64)
    new = np.empty(2, dtype=np.int64)
    nf = free.shape[0]
    # single moves (free sizes) to each arm, then swaps with every free unit
    n_single = n_arms if free_sizes else 0
    arm_counts = np.zeros(n_arms, dtype=np.int64)
    for i in range(labels.shape[0]):
        arm_counts[labels[i]] += 1
    constrained = max_imbalance < np.inf
    # draws by decreasing value: rejected moves stop after a few (see
    # evaluate_move)
    draw_order = np.argsort(-draw_values(ld, lt, crit))
    stop = current - 1e-10 * (1.0 + abs(current))
    n_eval = 0
    n_applied = 0
    improved = True
    while improved and n_eval < max_evals:
        improved = False
        order = np.random.permutation(nf)
        for ii in range(nf):
            if n_eval >= max_evals:
                break
            i = free[order[ii]]
            start = np.random.randint(nf)
            for t in range(n_single + nf):
                if t < n_single:
                    a, b, nchg = labels[i], t, 1
                    if b == a or arm_counts[a] <= min_size:
                        continue
                else:
                    j = free[(start + t - n_single) % nf]
                    # every unordered pair once: i in the lower arm; swaps
                    # stay within a swap class (stratum)
                    if (
                        labels[j] <= labels[i]
                        or classes[j] != classes[i]
                        or n_eval >= max_evals
                    ):
                        continue
                    a, b, nchg = labels[i], labels[j], 2
                    units[1], old[1], new[1] = j, b, a
                units[0], old[0], new[0] = i, a, b
                n_eval += 1
                if mode == 1 or constrained:
                    imb = imbalance_after(X, units, old, new, nchg, counts, sums, outer)
                else:
                    imb = 0.0
                if mode == 1:
                    val = imb
                else:
                    if constrained and imb > max_imbalance:
                        continue
                    val = evaluate_move(
                        units,
                        old,
                        new,
                        nchg,
                        W,
                        logw,
                        shift,
                        X,
                        geo,
                        labels,
                        n_arms,
                        S,
                        A,
                        ld,
                        lt,
                        graded,
                        crit,
                        variant,
                        values,
                        scratch,
                        draw_order,
                        stop,
                    )
                if val < stop:
                    apply_move(
                        units,
                        old,
                        new,
                        nchg,
                        W,
                        logw,
                        shift,
                        X,
                        geo,
                        labels,
                        n_arms,
                        S,
                        A,
                        ld,
                        lt,
                        graded,
                    )
                    apply_stats(X, units, old, new, nchg, counts, sums, outer)
                    if nchg == 1:
                        arm_counts[a] -= 1
                        arm_counts[b] += 1
                    current = val
                    stop = current - 1e-10 * (1.0 + abs(current))
                    if N > 1:
                        draw_order = np.argsort(-draw_values(ld, lt, crit))
                    improved = True
                    n_applied += 1
                    if mode == 1 and current <= target:
                        return current, n_eval, n_applied
    return current, n_eval, n_applied


def _shake(
    problem, free, n_moves, free_sizes, min_size, max_imbalance, rng, classes=None
):
    """Apply ``n_moves`` random feasible moves (swaps, or single moves)."""
    labels = problem.labels
    n_arms = problem.n_arms
    for _ in range(n_moves):
        for _attempt in range(20):
            i = free[rng.randint(free.shape[0])]
            if free_sizes and rng.rand() < 0.5:
                a = labels[i]
                if np.count_nonzero(labels == a) <= min_size:
                    continue
                b = (a + 1 + rng.randint(n_arms - 1)) % n_arms
                move = ([i], [b])
            else:
                others = free[labels[free] != labels[i]]
                if classes is not None:
                    others = others[classes[others] == classes[i]]
                if others.size == 0:
                    break
                j = others[rng.randint(others.size)]
                move = ([i, j], [labels[j], labels[i]])
            if max_imbalance < np.inf and problem.imbalance_after(move) > (
                max_imbalance
            ):
                continue
            problem.apply(move)
            break


def hybrid_vns(
    problem,
    sizes,
    fixed,
    *,
    free_sizes=False,
    min_size=1,
    max_imbalance=np.inf,
    max_iter=100,
    time_limit=None,
    rng=None,
    trace=None,
    strata=None,
):
    """Hybrid variable neighbourhood search (Hore et al., 2014, 2016).

    From a random allocation (made feasible for ``max_imbalance`` by a
    descent on the imbalance), alternate shaking (``k`` random moves, ``k``
    growing from 1 to ``MAX_SHAKE`` while shaking fails) and a compiled local
    search; an improvement is kept and resets ``k`` to 1. With a cap, half of
    the shakes ignore it and are repaired by a descent on the imbalance. When every
    neighbourhood failed, a stochastic restart draws a new random start. The
    best allocation over all restarts is returned. ``max_iter`` counts
    shake-and-descend iterations; ``time_limit`` (seconds) is checked between
    them.

    Returns ``(labels, log_criterion, n_iter, n_restarts, n_evaluations)``.
    """
    rng = check_random_state(rng)
    free = np.flatnonzero(fixed < 0).astype(np.int64)
    # with strata, swaps stay within a stratum (which keeps its counts)
    classes = None if strata is None else np.asarray(strata.codes, dtype=np.int64)
    start_time = time.perf_counter()
    deadline = np.inf if time_limit is None else start_time + time_limit
    best_labels, best_value = None, np.inf
    n_iter, n_restarts, n_eval = 0, 0, 0

    def search(mode=0, target=0.0):
        nonlocal n_eval
        value, evals = problem.local_search(
            free,
            free_sizes=free_sizes,
            min_size=min_size,
            max_imbalance=max_imbalance,
            seed=rng.randint(2**31 - 1),
            mode=mode,
            target=target,
            classes=classes,
        )
        n_eval += evals
        return value

    def start():
        for _ in range(MAX_FEASIBILITY_STARTS):
            problem.reset(
                draw_assignments(sizes, fixed, rng)
                if strata is None
                else strata.draw(fixed, rng)
            )
            if max_imbalance == np.inf or problem.imbalance() <= max_imbalance:
                return True
            if search(mode=1, target=max_imbalance) <= max_imbalance:
                problem.value = problem.objective()
                return True
        return False

    while True:
        if not start():
            if best_labels is None:
                raise InfeasibleDesignError(
                    f"No allocation with Mahalanobis imbalance <= {max_imbalance:.6g} "
                    f"was found from {MAX_FEASIBILITY_STARTS} random starts; "
                    "raise max_imbalance (or imbalance_quantile)."
                )
            break
        search()
        if trace is not None:
            trace.append((problem.value, problem.imbalance()))
        k = 1
        while k <= MAX_SHAKE and n_iter < max_iter:
            if time.perf_counter() > deadline:
                break
            snap = problem.snapshot()
            before = problem.value
            # With a cap, half of the shakes ignore it and a descent on the
            # imbalance repairs them: a move the criterion needs (an
            # influential unit changing arms) often breaks the cap alone and
            # is admissible only together with rebalancing moves.
            free_shake = max_imbalance < np.inf and rng.rand() < 0.5
            cap = np.inf if free_shake else max_imbalance
            _shake(problem, free, k, free_sizes, min_size, cap, rng, classes)
            if free_shake and problem.imbalance() > max_imbalance:
                search(mode=1, target=max_imbalance)
            feasible = problem.imbalance() <= max_imbalance
            if feasible:
                search()
            n_iter += 1
            if feasible and problem.value < before - 1e-10 * (1.0 + abs(before)):
                k = 1
            else:
                problem.restore(snap)
                k += 1
            if trace is not None:
                trace.append((problem.value, problem.imbalance()))
        if problem.value < best_value:
            best_value, best_labels = problem.value, problem.labels.copy()
        if n_iter >= max_iter or time.perf_counter() > deadline:
            break
        n_restarts += 1
    return best_labels, best_value, n_iter, n_restarts, n_eval
