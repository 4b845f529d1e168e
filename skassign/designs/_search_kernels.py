"""Compiled kernels of the local-search problems (numba, cached, nogil).

Imported on first use, so that importing :mod:`skassign.designs` does not
import numba.
"""

from __future__ import annotations

from numba import njit

__all__ = ["group_sums_deltas", "group_sums_walk"]


@njit(cache=True, nogil=True)
def group_sums_deltas(F, W, S, T, labels, first, second, out):
    """Change of ``sum_gk W[g,k] (S[g,k] - T[g,k])**2`` per exchange."""
    n_features = F.shape[1]
    for r in range(first.shape[0]):
        i, j = first[r], second[r]
        p, q = labels[i], labels[j]
        total = 0.0
        if p != q:
            for k in range(n_features):
                step = F[j, k] - F[i, k]
                if step == 0.0:
                    continue
                dp = S[p, k] - T[p, k]
                dq = S[q, k] - T[q, k]
                total += W[p, k] * step * (2.0 * dp + step)
                total += W[q, k] * step * (step - 2.0 * dq)
        out[r] = total


@njit(cache=True, nogil=True)
def group_sums_walk(
    F, W, S, T, labels, units, limits, value, best_value, best_labels, stop_at, current
):
    """Walk the exchanges ``units`` (rows ``i, j``) one at a time, in place.

    An exchange is accepted when its change of the objective is at most
    ``limits[r]``; ``S`` and ``labels`` follow the accepted ones, and
    ``current[r]`` is the objective after proposal ``r``. The walk stops after
    the proposal at which the best objective reaches ``stop_at``.

    Returns
    -------
    value, best_value : float
        Objective of the current and of the best assignment.
    n_done, n_accepted, n_moved : int
        Proposals walked, accepted, and accepted that changed the labels.
    """
    n_features = F.shape[1]
    n_accepted = 0
    n_moved = 0
    n_done = 0
    for r in range(units.shape[0]):
        i, j = units[r, 0], units[r, 1]
        p, q = labels[i], labels[j]
        n_done += 1
        if p == q:
            # Always accepted (no change), as the batched path counts it.
            if limits[r] >= 0.0:
                n_accepted += 1
            current[r] = value
            continue
        total = 0.0
        for k in range(n_features):
            step = F[j, k] - F[i, k]
            if step == 0.0:
                continue
            total += W[p, k] * step * (2.0 * (S[p, k] - T[p, k]) + step)
            total += W[q, k] * step * (step - 2.0 * (S[q, k] - T[q, k]))
        if total <= limits[r]:
            n_accepted += 1
            n_moved += 1
            for k in range(n_features):
                step = F[j, k] - F[i, k]
                S[p, k] += step
                S[q, k] -= step
            labels[i], labels[j] = q, p
            value += total
            if value < best_value:
                best_value = value
                best_labels[:] = labels
        current[r] = value
        if best_value <= stop_at:
            break
    return value, best_value, n_done, n_accepted, n_moved
