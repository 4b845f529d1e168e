"""Compiled kernels of the optimisation design's heuristic.

They are compiled by numba on first use and cached next to this file, and
release the GIL, so thread-based joblib backends run them in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sync_differences", "tabu_iterations"]


@njit(cache=True, nogil=True)
def sync_differences(F, C, inv_sizes, first, second, labels, diff):
    """Recompute the pair differences of group means from the labels."""
    n_free, n_cols = F.shape
    sums = C.copy()
    for i in range(n_free):
        for k in range(n_cols):
            sums[labels[i], k] += F[i, k]
    for r in range(first.shape[0]):
        p, q = first[r], second[r]
        for k in range(n_cols):
            diff[r, k] = sums[p, k] * inv_sizes[p] - sums[q, k] * inv_sizes[q]


@njit(cache=True, nogil=True)
def tabu_iterations(
    F,
    types,
    C,
    inv_sizes,
    first,
    second,
    touched,
    coef,
    labels,
    best,
    tabu,
    diff,
    pool,
    run,
    swap_class,
    class_order,
    class_start,
    best_value,
    start,
    stop,
    n_sample,
    tenure_low,
    tenure_high,
    tie_weight,
    patience,
    rng,
):
    """Run tabu iterations ``start`` to ``stop`` in place.

    ``touched[p, q]`` lists the pairs of groups whose difference changes when
    a unit of group ``p`` and one of group ``q`` swap (those containing ``p``
    or ``q``; -1 pads), and ``coef[p, q, r]`` is the change of pair ``r``'s
    difference per unit of ``F[j] - F[i]``. Candidate swaps are scanned with
    pruning: a swap is abandoned as soon as the discrepancy of one of its
    pairs reaches the best score so far (scores never fall below the largest
    discrepancy), or, for a tabu swap, the best objective so far (it could
    then not be allowed). After ``patience`` iterations without improving
    on the best objective since the last restart (``patience > 0``), the
    search restarts from a random permutation of the labels; ``run`` holds
    that best objective and the iteration it was reached.

    Only units of the same ``swap_class`` swap (strata); a restart shuffles
    the labels within every class (``class_order[class_start[c]:
    class_start[c + 1]]`` lists class ``c``'s units).

    ``labels``, ``best``, ``tabu``, the pair differences ``diff`` and the
    order ``pool`` of the units (whose first ``n_sample`` are the candidates)
    are the search's state, updated in place; ``diff`` is recomputed from
    the labels every 256 iterations, counted from 0, so the result does not
    depend on how the iterations are split into calls.

    Returns
    -------
    best_value : float
        Objective of ``best``.
    """
    n_free, n_cols = F.shape
    m = C.shape[0]
    n_pairs = first.shape[0]
    base = np.empty(n_pairs)
    rest_max = np.empty((m, m))
    rest_sum = np.empty((m, m))
    counts = np.zeros(m, dtype=np.int64)
    members = np.empty((m, n_sample), dtype=np.int64)
    for it in range(start, stop):
        for r in range(n_pairs):
            value = 0.0
            for k in range(n_cols):
                value += abs(diff[r, k])
            base[r] = value
        # Largest and total discrepancy of the pairs a swap between groups
        # p < q leaves alone.
        for p in range(m):
            for q in range(p + 1, m):
                rest_max[p, q] = 0.0
                rest_sum[p, q] = 0.0
                for r in range(n_pairs):
                    if first[r] != p and first[r] != q:
                        if second[r] != p and second[r] != q:
                            rest_max[p, q] = max(rest_max[p, q], base[r])
                            rest_sum[p, q] += base[r]
        if n_sample < n_free:
            # Partial Fisher-Yates shuffle: a fresh random subset of units.
            for a in range(n_sample):
                b = rng.integers(a, n_free)
                pool[a], pool[b] = pool[b], pool[a]
        # Candidates by group (in pool order), so that only swaps between
        # groups are scanned.
        counts[:] = 0
        for a in range(n_sample):
            g = labels[pool[a]]
            members[g, counts[g]] = pool[a]
            counts[g] += 1
        best_score = np.inf
        best_i, best_j, best_worst = -1, -1, np.inf
        for p in range(m):
            for q in range(p + 1, m):
                for a in range(counts[p]):
                    i = members[p, a]
                    free_i = tabu[i] <= it
                    for b in range(counts[q]):
                        j = members[q, b]
                        if types[i] == types[j] or swap_class[i] != swap_class[j]:
                            continue
                        limit = best_score
                        if not (free_i and tabu[j] <= it):
                            # A tabu swap is allowed only if it beats the best.
                            limit = min(limit, best_value)
                        worst = rest_max[p, q]
                        if worst >= limit:
                            continue
                        total = rest_sum[p, q]
                        pruned = False
                        for t in range(touched.shape[2]):
                            r = touched[p, q, t]
                            if r < 0:
                                break
                            c = coef[p, q, r]
                            value = 0.0
                            for k in range(n_cols):
                                value += abs(diff[r, k] + c * (F[j, k] - F[i, k]))
                            if value >= limit:
                                pruned = True
                                break
                            worst = max(worst, value)
                            total += value
                        if pruned:
                            continue
                        score = worst
                        if n_pairs > 1:
                            score += tie_weight * total / n_pairs
                        if score < best_score:
                            best_score, best_i, best_j, best_worst = score, i, j, worst
        if best_i >= 0:
            p, q = labels[best_i], labels[best_j]
            for t in range(touched.shape[2]):
                r = touched[p, q, t]
                if r < 0:
                    break
                c = coef[p, q, r]
                for k in range(n_cols):
                    diff[r, k] += c * (F[best_j, k] - F[best_i, k])
            labels[best_i], labels[best_j] = q, p
            tabu[best_i] = it + rng.integers(tenure_low, tenure_high + 1)
            tabu[best_j] = it + rng.integers(tenure_low, tenure_high + 1)
            if best_worst < best_value:
                best_value = best_worst
                best[:] = labels
            if best_worst < run[0]:
                run[0] = best_worst
                run[1] = it
        if patience > 0 and it - run[1] >= patience:
            # Stagnation: start afresh from a random assignment (within every
            # swap class, so that each class keeps its counts per group).
            if class_start.shape[0] <= 2:
                rng.shuffle(labels)
            else:
                for c in range(class_start.shape[0] - 1):
                    a, b = class_start[c], class_start[c + 1]
                    for k in range(b - a - 1, 0, -1):
                        r = rng.integers(0, k + 1)
                        u, v = class_order[a + k], class_order[a + r]
                        labels[u], labels[v] = labels[v], labels[u]
            tabu[:] = 0
            sync_differences(F, C, inv_sizes, first, second, labels, diff)
            run[0] = np.inf
            run[1] = it
            continue
        if it % 256 == 255:
            # Incremental updates accumulate rounding error; resynchronise.
            sync_differences(F, C, inv_sizes, first, second, labels, diff)
    return best_value
