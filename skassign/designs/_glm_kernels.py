"""Compiled kernels of GLMOptimal's search: incremental criterion updates.

Every prior draw ``k`` (one "draw", the expected weights, for variant 1)
keeps its shifted information matrix ``S_k = sum_i exp(logw_kil - c_k) u_i
u_i^T`` (the shift ``c_k``, the largest log-weight of the draw over units and
arms, does not depend on the allocation), its inverse ``A_k``, its
log-determinant and the trace of its inverse. A move changes the rows of a
few units: moving unit ``i`` from arm ``a`` to arm ``b`` removes ``w_ia u_ia
u_ia^T`` and adds ``w_ib u_ib u_ib^T``, so a swap is a rank-4 and a single
move a rank-2 change ``Z C Z^T``. The determinant lemma and the Woodbury
identity give the new log-determinant and trace from the ``r x r`` matrix
``I + C Z^T A Z`` in ``O(r K^2)`` per draw instead of ``O(n K^2)``. Draws
whose shifted matrix is too ill-conditioned for doubles (weights spanning
hundreds of orders of magnitude) are "graded": they are re-evaluated exactly
by the graded QR of :mod:`skassign.metrics._glm_numerics` instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from skassign.metrics._glm_numerics import (
    fast_logdet_inverse,
    graded_logdet_logtrace,
)

# Low-rank updates lose digits to cancellation when a move removes most of a
# draw's information (a diagonal entry of I + C Z^T A Z near 0): such draws
# are recomputed exactly instead, and rebuilt after the move.
_CANCEL = 1e-2
_REBUILD_RATIO = 1e4


@njit(cache=True, nogil=True)
def _trace_g(Ak, G):
    """``tr(G A)`` (the inverse's trace in the original coordinates)."""
    K = G.shape[0]
    acc = 0.0
    for a in range(K):
        for b in range(K):
            acc += G[a, b] * Ak[b, a]
    return acc


@njit(cache=True, nogil=True)
def build_draw(k, W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded):
    """(Re)build draw ``k``'s matrix, inverse, log-determinant and log-trace.

    ``geo = (Xs, G, ldoff)``: the search works with centred and scaled
    covariates ``Xs`` (``u' = T u``, better conditioned); ``log|I| = log|I'|
    + ldoff`` and ``tr(I^-1) = tr(G I'^-1)`` with ``G = T T^T``.
    """
    Xs, G, ldoff = geo
    n, p = X.shape
    K = n_arms + p
    Sk = S[k]
    Sk[:, :] = 0.0
    u = np.empty(K)
    for i in range(n):
        w = W[k, i, labels[i]]
        if w == 0.0:
            continue
        u[:] = 0.0
        u[labels[i]] = 1.0
        for a in range(p):
            u[n_arms + a] = Xs[i, a]
        for a in range(K):
            wa = w * u[a]
            if wa == 0.0:
                continue
            for b in range(K):
                Sk[a, b] += wa * u[b]
    logdet, ok = fast_logdet_inverse(Sk, A[k])
    if ok:
        ld[k] = logdet + K * shift[k] + ldoff
        lt[k] = np.log(_trace_g(A[k], G)) - shift[k]
        graded[k] = False
    else:
        ld[k], lt[k] = graded_logdet_logtrace(logw[k], X, labels, n_arms)
        graded[k] = True


@njit(cache=True, nogil=True)
def build_all(W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded):
    """:func:`build_draw` for every draw."""
    for k in range(W.shape[0]):
        build_draw(k, W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded)


@njit(cache=True, nogil=True)
def _solve_small(M, B, out, Mc, r, nrhs):
    """Solve ``M out = B`` on the leading ``r x r`` block (partial pivoting).

    ``nrhs`` right-hand sides (0: determinant only); returns ``det(M)``.
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


@njit(cache=True, nogil=True)
def make_scratch(K):
    """Work arrays of :func:`_low_rank` (moves change at most two units)."""
    return (
        np.empty((K, 4)),
        np.empty((4, 4)),
        np.empty((4, K)),
        np.empty((4, K)),
        np.empty((4, 4)),
        np.empty(4),
        np.empty(4, dtype=np.int64),
        np.empty(4, dtype=np.int64),
    )


@njit(cache=True, nogil=True)
def _low_rank(k, units, old, new, nchg, W, X, n_arms, A, scratch, want_solve):
    """Rank-``2 nchg`` change of draw ``k``: returns ``det M``.

    Returns -1 when removing a unit cancels most of the draw's information
    (the update would lose digits): the caller recomputes exactly.

    ``M = I + C Z^T A Z``; fills ``AZ`` and, if ``want_solve``,
    ``Y = M^-1 C (AZ)^T`` in ``scratch``.
    """
    AZ, M, B, Y, Mc, coef, zunit, zarm = scratch
    p = X.shape[1]
    K = n_arms + p
    r = 2 * nchg
    for c in range(nchg):
        zunit[2 * c] = units[c]
        zarm[2 * c] = old[c]
        coef[2 * c] = -W[k, units[c], old[c]]
        zunit[2 * c + 1] = units[c]
        zarm[2 * c + 1] = new[c]
        coef[2 * c + 1] = W[k, units[c], new[c]]
    Ak = A[k]
    for q in range(r):
        i, arm = zunit[q], zarm[q]
        for a in range(K):
            acc = Ak[a, arm]
            for b in range(p):
                acc += Ak[a, n_arms + b] * X[i, b]
            AZ[a, q] = acc
    for q1 in range(r):
        i = zunit[q1]
        for q2 in range(r):
            acc = AZ[zarm[q1], q2]
            for b in range(p):
                acc += X[i, b] * AZ[n_arms + b, q2]
            M[q1, q2] = coef[q1] * acc + (1.0 if q1 == q2 else 0.0)
    for c in range(nchg):
        if M[2 * c, 2 * c] < _CANCEL:
            return -1.0
    if not want_solve:
        return _solve_small(M, B, Y, Mc, r, 0)
    for q in range(r):
        for a in range(K):
            B[q, a] = coef[q] * AZ[a, q]
    return _solve_small(M, B, Y, Mc, r, K)


@njit(cache=True, nogil=True)
def _exact_after(k, W, logw, shift, X, geo, labels, n_arms, units, new, nchg, try_fast):
    """Log-determinant and log-trace of draw ``k`` after a move, from the rows.

    The shifted matrix is summed afresh (``O(n K^2)``, no cancellation) and
    factorised if well conditioned; otherwise the graded QR decides.
    """
    Xs, G, ldoff = geo
    lab = labels.copy()
    for c in range(nchg):
        lab[units[c]] = new[c]
    if try_fast:
        n, p = X.shape
        K = n_arms + p
        Sk = np.zeros((K, K))
        inv = np.empty((K, K))
        u = np.empty(K)
        for i in range(n):
            w = W[k, i, lab[i]]
            if w == 0.0:
                continue
            u[:] = 0.0
            u[lab[i]] = 1.0
            for a in range(p):
                u[n_arms + a] = Xs[i, a]
            for a in range(K):
                wa = w * u[a]
                for b in range(a, K):
                    Sk[a, b] += wa * u[b]
        for a in range(K):
            for b in range(a):
                Sk[a, b] = Sk[b, a]
        logdet, ok = fast_logdet_inverse(Sk, inv)
        if ok:
            return (
                logdet + K * shift[k] + ldoff,
                np.log(_trace_g(inv, G)) - shift[k],
            )
    return graded_logdet_logtrace(logw[k], X, lab, n_arms)


@njit(cache=True, nogil=True)
def combine(values, variant):
    """Log criterion from per-draw log values (one draw, log-mean-exp, max)."""
    N = values.shape[0]
    if N == 1:
        return values[0]
    top = -np.inf
    for k in range(N):
        if values[k] > top:
            top = values[k]
    if variant == 3 or top == np.inf or top == -np.inf:
        return top
    acc = 0.0
    for k in range(N):
        acc += np.exp(values[k] - top)
    return top + np.log(acc / N)


@njit(cache=True, nogil=True)
def draw_values(ld, lt, crit):
    """Per-draw log criterion: ``-log|I|`` or ``log tr(I^-1)``."""
    return -ld if crit == 0 else lt.copy()


@njit(cache=True, nogil=True)
def evaluate_move(
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
    A,
    ld,
    lt,
    graded,
    crit,
    variant,
    values,
    scratch,
):
    """Log criterion after a move (state unchanged); ``values`` is scratch."""
    Xs, G, _ = geo
    N = W.shape[0]
    K = n_arms + X.shape[1]
    for k in range(N):
        det = -1.0
        if not graded[k]:
            det = _low_rank(
                k, units, old, new, nchg, W, Xs, n_arms, A, scratch, crit == 1
            )
        if det == -1.0:
            gl, gt = _exact_after(
                k,
                W,
                logw,
                shift,
                X,
                geo,
                labels,
                n_arms,
                units,
                new,
                nchg,
                not graded[k],
            )
            values[k] = -gl if crit == 0 else gt
            continue
        if not (det > 0.0):
            values[k] = np.inf
            continue
        if crit == 0:
            values[k] = -(ld[k] + np.log(det))
        else:
            # tr(G (A - AZ Y)) = tr(G A) - sum_q sum_a (G AZ)[a, q] Y[q, a]
            AZ, Y = scratch[0], scratch[3]
            acc = 0.0
            for q in range(2 * nchg):
                for a in range(K):
                    gaz = 0.0
                    for b in range(K):
                        gaz += G[a, b] * AZ[b, q]
                    acc += gaz * Y[q, a]
            t = np.exp(lt[k] + shift[k]) - acc
            values[k] = np.log(t) - shift[k] if t > 0.0 else np.inf
    return combine(values, variant)


@njit(cache=True, nogil=True)
def apply_move(
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
):
    """Apply a move to the labels and every draw's matrix, inverse and values."""
    Xs, G, _ = geo
    N = W.shape[0]
    p = X.shape[1]
    K = n_arms + p
    scratch = make_scratch(K)
    AZ, Y = scratch[0], scratch[3]
    dets = np.empty(N)
    for k in range(N):
        if graded[k]:
            dets[k] = -1.0
            continue
        det = _low_rank(k, units, old, new, nchg, W, Xs, n_arms, A, scratch, True)
        dets[k] = det
        if not (det > 1.0 / _REBUILD_RATIO) or det > _REBUILD_RATIO:
            continue
        Ak = A[k]
        for a in range(K):
            for b in range(K):
                acc = 0.0
                for q in range(2 * nchg):
                    acc += AZ[a, q] * Y[q, b]
                Ak[a, b] -= acc
        ld[k] += np.log(det)
        lt[k] = np.log(_trace_g(Ak, G)) - shift[k]
    for c in range(nchg):
        labels[units[c]] = new[c]
    u = np.empty(K)
    for k in range(N):
        if not (dets[k] > 1.0 / _REBUILD_RATIO) or dets[k] > _REBUILD_RATIO:
            build_draw(k, W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded)
            continue
        Sk = S[k]
        for c in range(nchg):
            i = units[c]
            for side in range(2):
                arm = old[c] if side == 0 else new[c]
                w = -W[k, i, arm] if side == 0 else W[k, i, arm]
                u[:] = 0.0
                u[arm] = 1.0
                for a in range(p):
                    u[n_arms + a] = Xs[i, a]
                for a in range(K):
                    for b in range(K):
                        Sk[a, b] += w * u[a] * u[b]


# ---------------------------------------------------------------- imbalance


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


@njit(cache=True, nogil=True)
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
            det = _solve_small(V, diff, sol, Vc, p, 1)
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


@njit(cache=True, nogil=True)
def imbalance_after(X, units, old, new, nchg, counts, sums, outer):
    """Imbalance after a move (statistics restored afterwards)."""
    for c in range(nchg):
        _stats_shift(X, units[c], old[c], -1.0, counts, sums, outer)
        _stats_shift(X, units[c], new[c], 1.0, counts, sums, outer)
    value = imbalance(counts, sums, outer)
    for c in range(nchg):
        _stats_shift(X, units[c], new[c], -1.0, counts, sums, outer)
        _stats_shift(X, units[c], old[c], 1.0, counts, sums, outer)
    return value


@njit(cache=True, nogil=True)
def apply_stats(X, units, old, new, nchg, counts, sums, outer):
    """Apply a move to the imbalance statistics."""
    for c in range(nchg):
        _stats_shift(X, units[c], old[c], -1.0, counts, sums, outer)
        _stats_shift(X, units[c], new[c], 1.0, counts, sums, outer)


# ------------------------------------------------------------- local search


@njit(cache=True, nogil=True)
def local_search(
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
    free,
    free_sizes,
    min_size,
    max_imbalance,
    counts,
    sums,
    outer,
    mode,
    target,
    seed,
    max_evals,
    current,
    classes,
):
    """First-improvement descent over swaps (and single moves with free sizes).

    ``mode`` 0 minimises the log criterion among allocations with imbalance at
    most ``max_imbalance``; mode 1 minimises the imbalance and stops once it
    is at most ``target``. Candidate moves are scanned in a random order
    (numba's generator seeded with ``seed``); the descent stops at a local
    optimum or after ``max_evals`` evaluations. Returns ``(value,
    n_evaluations, n_applied)``; ``current`` is the value at the start.
    """
    np.random.seed(seed)
    N = W.shape[0]
    values = np.empty(N)
    scratch = make_scratch(n_arms + X.shape[1])
    units = np.empty(2, dtype=np.int64)
    old = np.empty(2, dtype=np.int64)
    new = np.empty(2, dtype=np.int64)
    nf = free.shape[0]
    arm_counts = np.zeros(n_arms, dtype=np.int64)
    for i in range(labels.shape[0]):
        arm_counts[labels[i]] += 1
    constrained = max_imbalance < np.inf
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
            # single moves (free sizes)
            if free_sizes:
                for b in range(n_arms):
                    a = labels[i]
                    if b == a or arm_counts[a] <= min_size:
                        continue
                    units[0], old[0], new[0] = i, a, b
                    n_eval += 1
                    if mode == 1 or constrained:
                        imb = imbalance_after(
                            X, units, old, new, 1, counts, sums, outer
                        )
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
                            1,
                            W,
                            logw,
                            shift,
                            X,
                            geo,
                            labels,
                            n_arms,
                            A,
                            ld,
                            lt,
                            graded,
                            crit,
                            variant,
                            values,
                            scratch,
                        )
                    if val < current - 1e-10 * (1.0 + abs(current)):
                        apply_move(
                            units,
                            old,
                            new,
                            1,
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
                        apply_stats(X, units, old, new, 1, counts, sums, outer)
                        arm_counts[a] -= 1
                        arm_counts[b] += 1
                        current = val
                        improved = True
                        n_applied += 1
                        if mode == 1 and current <= target:
                            return current, n_eval, n_applied
            # swaps
            start = np.random.randint(nf)
            for jj in range(nf):
                j = free[(start + jj) % nf]
                # every unordered pair once: i in the lower arm; swaps stay
                # within a swap class (stratum)
                if (
                    labels[j] <= labels[i]
                    or classes[j] != classes[i]
                    or n_eval >= max_evals
                ):
                    continue
                a, b = labels[i], labels[j]
                units[0], old[0], new[0] = i, a, b
                units[1], old[1], new[1] = j, b, a
                n_eval += 1
                if mode == 1 or constrained:
                    imb = imbalance_after(X, units, old, new, 2, counts, sums, outer)
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
                        2,
                        W,
                        logw,
                        shift,
                        X,
                        geo,
                        labels,
                        n_arms,
                        A,
                        ld,
                        lt,
                        graded,
                        crit,
                        variant,
                        values,
                        scratch,
                    )
                if val < current - 1e-10 * (1.0 + abs(current)):
                    apply_move(
                        units,
                        old,
                        new,
                        2,
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
                    apply_stats(X, units, old, new, 2, counts, sums, outer)
                    current = val
                    improved = True
                    n_applied += 1
                    if mode == 1 and current <= target:
                        return current, n_eval, n_applied
    return current, n_eval, n_applied
