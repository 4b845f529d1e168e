"""Compiled numerics of the GLM optimality criteria (log space throughout).

The information matrix of an allocation is ``I = sum_i w_i u_i u_i^T`` with
``u_i = [e_arm(i), x_i]``. Under the priors of the GLM allocation paper the
weights ``w_i`` span thousands of orders of magnitude (``exp(250 * 10)``), so
neither ``I`` nor its entries fit a double. :func:`graded_logdet_logtrace`
works on the rows ``sqrt(w_i) u_i`` instead, each kept as a log-scale and a
direction of unit largest entry, and triangularises them by Givens rotations
(a row-wise stable QR). A rotation of two rows of very different scale keeps
the small row's remainder at its own scale, so nothing under- or overflows,
and ``log|I|`` and ``log tr(I^-1)`` come out finite whenever ``I`` is
nonsingular. :func:`fast_logdet_inverse` is the plain Cholesky of a shifted
``I`` that the search uses while it is well conditioned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "design_row",
    "fast_logdet_inverse",
    "graded_batch",
    "graded_logdet_logtrace",
    "solve_small",
]

# A Cholesky pivot smaller than this share of its diagonal entry means the
# shifted matrix lost too many digits: the graded QR takes over.
ILL_CONDITIONED = 1e-9


@njit(cache=True, nogil=True, inline="always")
def design_row(u, arm, X, i, n_arms):
    """Write the design row ``u = [e_arm, x_i]`` of unit ``i`` in ``arm`` into ``u``."""
    u[:] = 0.0
    u[arm] = 1.0
    for a in range(X.shape[1]):
        u[n_arms + a] = X[i, a]


@njit(cache=True, nogil=True)
def _normalise(vec):
    """Scale ``vec`` to largest absolute entry 1 in place; return log of the factor."""
    big = 0.0
    for a in range(vec.shape[0]):
        v = abs(vec[a])
        if v > big:
            big = v
    if big == 0.0:
        return -np.inf
    for a in range(vec.shape[0]):
        vec[a] /= big
    return np.log(big)


@njit(cache=True, nogil=True)
def graded_logdet_logtrace(logw, X, labels, n_arms):
    """``log|I|`` and ``log tr(I^-1)`` of ``I = sum_i exp(logw_i) u_i u_i^T``.

    Parameters
    ----------
    logw : ndarray of shape (n_samples, n_arms)
        Log-weight of every unit in every arm.
    X : ndarray of shape (n_samples, n_features)
        Covariates.
    labels : ndarray of shape (n_samples,)
        Arm of every unit.
    n_arms : int
        Number of arms.

    Returns
    -------
    logdet, logtrace : float
        ``-inf`` and ``inf`` when ``I`` is singular.
    """
    n, p = X.shape
    K = n_arms + p
    scales = np.empty(n)
    for i in range(n):
        scales[i] = 0.5 * logw[i, labels[i]]
    order = np.argsort(-scales)
    T = np.zeros((K, K))
    t = np.zeros(K)
    present = np.zeros(K, dtype=np.bool_)
    v = np.empty(K)
    newr = np.empty(K)
    for idx in range(n):
        i = order[idx]
        s = scales[i]
        if s == -np.inf:
            continue
        design_row(v, labels[i], X, i, n_arms)
        s += _normalise(v)
        for j in range(K):
            vj = v[j]
            if vj == 0.0:
                continue
            if not present[j]:
                T[j, :] = v
                t[j] = s
                present[j] = True
                break
            xj = T[j, j]
            if s <= t[j]:
                d = np.exp(s - t[j])
                rho = np.hypot(xj, d * vj)
                for a in range(K):
                    newr[a] = (xj * T[j, a] + d * d * vj * v[a]) / rho
                    v[a] = (xj * v[a] - vj * T[j, a]) / rho
                rscale, vscale = t[j], s
            else:
                d = np.exp(t[j] - s)
                rho = np.hypot(d * xj, vj)
                for a in range(K):
                    newr[a] = (d * d * xj * T[j, a] + vj * v[a]) / rho
                    v[a] = (xj * v[a] - vj * T[j, a]) / rho
                rscale, vscale = s, t[j]
            v[j] = 0.0
            for a in range(K):
                T[j, a] = newr[a]
            t[j] = rscale + _normalise(T[j])
            gone = _normalise(v)
            if gone == -np.inf:
                break
            s = vscale + gone
    logdet = 0.0
    for j in range(K):
        if not present[j] or T[j, j] == 0.0:
            return -np.inf, np.inf
        logdet += 2.0 * (t[j] + np.log(abs(T[j, j])))
    # tr(I^-1) = ||R^-1||_F^2 with R = diag(exp(t)) T: column j of R^-1 is
    # exp(-t_j) T^-1 e_j.
    terms = np.empty(K)
    y = np.empty(K)
    for j in range(K):
        for a in range(K):
            y[a] = 0.0
        y[j] = 1.0 / T[j, j]
        for a in range(j - 1, -1, -1):
            acc = 0.0
            for b in range(a + 1, j + 1):
                acc += T[a, b] * y[b]
            y[a] = -acc / T[a, a]
        sq = 0.0
        for a in range(j + 1):
            sq += y[a] * y[a]
        terms[j] = -2.0 * t[j] + np.log(sq)
    top = terms.max()
    acc = 0.0
    for j in range(K):
        acc += np.exp(terms[j] - top)
    return logdet, top + np.log(acc)


@njit(cache=True, nogil=True)
def graded_batch(logw, X, labels, n_arms):
    """:func:`graded_logdet_logtrace` for every prior draw.

    ``logw`` has shape (n_draws, n_samples, n_arms); returns two arrays of
    shape (n_draws,).
    """
    n_draws = logw.shape[0]
    ld = np.empty(n_draws)
    lt = np.empty(n_draws)
    for k in range(n_draws):
        ld[k], lt[k] = graded_logdet_logtrace(logw[k], X, labels, n_arms)
    return ld, lt


@njit(cache=True, nogil=True)
def fast_logdet_inverse(S, inverse):
    """Cholesky ``log|S|`` and ``S^-1`` (written to ``inverse``).

    Returns ``(logdet, ok)``; ``ok`` is False when a pivot falls under
    ``ILL_CONDITIONED`` times its diagonal entry (too few digits left).
    """
    K = S.shape[0]
    L = np.zeros((K, K))
    logdet = 0.0
    for j in range(K):
        acc = S[j, j]
        for a in range(j):
            acc -= L[j, a] * L[j, a]
        if not (acc > ILL_CONDITIONED * S[j, j]) or not (S[j, j] > 0.0):
            return -np.inf, False
        L[j, j] = np.sqrt(acc)
        logdet += np.log(acc)
        for r in range(j + 1, K):
            acc2 = S[r, j]
            for a in range(j):
                acc2 -= L[r, a] * L[j, a]
            L[r, j] = acc2 / L[j, j]
    # inverse = L^-T L^-1
    Linv = np.zeros((K, K))
    for j in range(K):
        Linv[j, j] = 1.0 / L[j, j]
        for r in range(j + 1, K):
            acc = 0.0
            for a in range(j, r):
                acc -= L[r, a] * Linv[a, j]
            Linv[r, j] = acc / L[r, r]
    for a in range(K):
        for b in range(a, K):
            acc = 0.0
            for r in range(b, K):
                acc += Linv[r, a] * Linv[r, b]
            inverse[a, b] = acc
            inverse[b, a] = acc
    return logdet, True


@njit(cache=True, nogil=True)
def solve_small(M, B, out, Mc, r, nrhs):
    """Solve ``M out = B`` on the leading ``r x r`` block (partial pivoting).

    ``nrhs`` right-hand sides (0: determinant only); ``Mc`` is scratch of at
    least ``r x r``. Returns ``det(M)`` (0 when ``M`` is singular).
    """
    for a in range(r):
        for b in range(r):
            Mc[a, b] = M[a, b]
        for b in range(nrhs):
            out[a, b] = B[a, b]
    det = 1.0
    for c in range(r):
        piv = c
        big = abs(Mc[c, c])
        for q in range(c + 1, r):
            if abs(Mc[q, c]) > big:
                big = abs(Mc[q, c])
                piv = q
        if big == 0.0:
            return 0.0
        if piv != c:
            det = -det
            for q in range(r):
                tmp = Mc[c, q]
                Mc[c, q] = Mc[piv, q]
                Mc[piv, q] = tmp
            for q in range(nrhs):
                tmp = out[c, q]
                out[c, q] = out[piv, q]
                out[piv, q] = tmp
        d = Mc[c, c]
        det *= d
        for q in range(c + 1, r):
            f = Mc[q, c] / d
            if f != 0.0:
                for s in range(c, r):
                    Mc[q, s] -= f * Mc[c, s]
                for s in range(nrhs):
                    out[q, s] -= f * out[c, s]
    for c in range(r - 1, -1, -1):
        for s in range(nrhs):
            acc = out[c, s]
            for q in range(c + 1, r):
                acc -= Mc[c, q] * out[q, s]
            out[c, s] = acc / Mc[c, c]
    return det
