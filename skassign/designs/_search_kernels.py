"""Compiled kernels of the local-search problems (numba, cached, nogil).

Imported on first use, so that importing :mod:`skassign.designs` does not
import numba.
"""

from __future__ import annotations

from numba import njit

__all__ = ["group_sums_deltas"]


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
