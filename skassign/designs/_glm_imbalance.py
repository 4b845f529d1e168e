"""Compiled Mahalanobis cap of GLMOptimal: imbalance under moves.

The cap (the GLM allocation paper's eq. 5.1, section 6) bounds the largest
pairwise Mahalanobis imbalance between arms, each arm's mean scaled by its
own covariance: :func:`skassign.metrics.mahalanobis_imbalance` with
``covariance="separate"``. The search keeps per-arm counts, sums and sums of
outer products of the covariates (``counts, sums, outer``), so that
a move updates them in ``O(p^2)`` and the imbalance after it costs
``O(m^2 p^3)`` for ``m`` arms, without a pass over the units.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from skassign.metrics._glm_numerics import solve_small


@njit(cache=True, nogil=True)
def imbalance_stats(X, labels, n_arms):
    """Per-arm counts, sums and sums of outer products of the covariates."""
    n, p = X.shape
    counts = np.zeros(n_arms)
    sums = np.zeros((n_arms, p))
    outer = np.zeros((n_arms, p, p))
    for i in range(n):
        g = labels[i]
        counts[g] += 1.0
        for a in range(p):
            sums[g, a] += X[i, a]
            for b in range(p):
                outer[g, a, b] += X[i, a] * X[i, b]
    return counts, sums, outer


@njit(cache=True, nogil=True, inline="always")
def _stats_shift(X, i, g, sign, counts, sums, outer):
    p = X.shape[1]
    counts[g] += sign
    for a in range(p):
        sums[g, a] += sign * X[i, a]
        for b in range(p):
            outer[g, a, b] += sign * X[i, a] * X[i, b]


@njit(cache=True, nogil=True)
def imbalance(counts, sums, outer):
    """Largest pairwise Mahalanobis imbalance with the arms' own covariances.

    ``(m_g - m_h)^T (S_g / n_g + S_h / n_h)^-1 (m_g - m_h)``, ``S`` with
    divisor ``n`` (eq. 5.1's covariances); ``inf`` when the matrix is
    singular and the means differ.
    """
    n_arms, p = sums.shape
    worst = 0.0
    V = np.empty((p, p))
    Vc = np.empty((p, p))
    diff = np.empty((p, 1))
    sol = np.empty((p, 1))
    for g in range(n_arms):
        for h in range(g + 1, n_arms):
            ng, nh = counts[g], counts[h]
            if ng == 0.0 or nh == 0.0:
                return np.inf
            zero = True
            for a in range(p):
                diff[a, 0] = sums[g, a] / ng - sums[h, a] / nh
                if diff[a, 0] != 0.0:
                    zero = False
            if zero:
                continue
            for a in range(p):
                for b in range(p):
                    cg = outer[g, a, b] / ng - sums[g, a] * sums[g, b] / (ng * ng)
                    ch = outer[h, a, b] / nh - sums[h, a] * sums[h, b] / (nh * nh)
                    V[a, b] = cg / ng + ch / nh
            det = solve_small(V, diff, sol, Vc, p, 1)
            if det == 0.0:
                return np.inf
            m = 0.0
            for a in range(p):
                m += diff[a, 0] * sol[a, 0]
            if not (m >= 0.0):
                return np.inf
            if m > worst:
                worst = m
    return worst


@njit(cache=True, nogil=True, inline="always")
def apply_stats(X, units, old, new, nchg, counts, sums, outer):
    """Apply a move to the imbalance statistics."""
    for c in range(nchg):
        _stats_shift(X, units[c], old[c], -1.0, counts, sums, outer)
        _stats_shift(X, units[c], new[c], 1.0, counts, sums, outer)


@njit(cache=True, nogil=True)
def imbalance_after(X, units, old, new, nchg, counts, sums, outer):
    """Imbalance after a move (statistics restored afterwards)."""
    apply_stats(X, units, old, new, nchg, counts, sums, outer)
    value = imbalance(counts, sums, outer)
    apply_stats(X, units, new, old, nchg, counts, sums, outer)
    return value
