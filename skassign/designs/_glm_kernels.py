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

The state of every draw is ``draws = (W, logw, shift, X, geo, labels,
n_arms, S, A, ld, lt, graded)`` (see
:attr:`~skassign.designs._glm_problem.GLMProblem.draws`); its arrays are
updated in place. The per-move kernels (:func:`evaluate_move`,
:func:`apply_move`) take its entries as separate arguments, in that order
(``f(*move, *draws, ...)`` from Python): unpacking the tuple in every call
costs about 0.3 us, half the time of a move with one draw. A move is
``(units, old, new, nchg)``: ``nchg`` units (1 or 2) leave arms ``old`` for
arms ``new``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from skassign.metrics._glm_numerics import (
    design_row,
    fast_logdet_inverse,
    graded_logdet_logtrace,
    solve_small,
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


@njit(cache=True, nogil=True, inline="always")
def _add_row(Sk, w, u, upper):
    """``Sk += w u u^T`` (only the upper triangle if ``upper``)."""
    K = u.shape[0]
    for a in range(K):
        wa = w * u[a]
        if wa == 0.0:
            continue
        for b in range(a if upper else 0, K):
            Sk[a, b] += wa * u[b]


@njit(cache=True, nogil=True, inline="always")
def _sum_rows(Sk, Wk, Xs, labels, n_arms, upper):
    """``Sk = sum_i Wk[i, labels_i] u_i u_i^T`` (upper triangle mirrored)."""
    K = Sk.shape[0]
    Sk[:, :] = 0.0
    u = np.empty(K)
    for i in range(Xs.shape[0]):
        w = Wk[i, labels[i]]
        if w == 0.0:
            continue
        design_row(u, labels[i], Xs, i, n_arms)
        _add_row(Sk, w, u, upper)
    if upper:
        for a in range(K):
            for b in range(a):
                Sk[a, b] = Sk[b, a]


@njit(cache=True, nogil=True)
def _factorise(Sk, inv, shift_k, geo):
    """``(log|I|, log tr(I^-1), ok)`` of a draw from its shifted matrix."""
    _, G, ldoff = geo
    logdet, ok = fast_logdet_inverse(Sk, inv)
    if not ok:
        return -np.inf, np.inf, False
    K = Sk.shape[0]
    return logdet + K * shift_k + ldoff, np.log(_trace_g(inv, G)) - shift_k, True


@njit(cache=True, nogil=True)
def build_draw(k, draws):
    """(Re)build draw ``k``'s matrix, inverse, log-determinant and log-trace.

    ``geo = (Xs, G, ldoff)``: the search works with centred and scaled
    covariates ``Xs`` (``u' = T u``, better conditioned); ``log|I| = log|I'|
    + ldoff`` and ``tr(I^-1) = tr(G I'^-1)`` with ``G = T T^T``.
    """
    W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded = draws
    _sum_rows(S[k], W[k], geo[0], labels, n_arms, False)
    ldk, ltk, ok = _factorise(S[k], A[k], shift[k], geo)
    if not ok:
        ldk, ltk = graded_logdet_logtrace(logw[k], X, labels, n_arms)
    ld[k], lt[k], graded[k] = ldk, ltk, not ok


@njit(cache=True, nogil=True)
def build_all(draws):
    """:func:`build_draw` for every draw."""
    for k in range(draws[0].shape[0]):
        build_draw(k, draws)


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
        return solve_small(M, B, Y, Mc, r, 0)
    for q in range(r):
        for a in range(K):
            B[q, a] = coef[q] * AZ[a, q]
    return solve_small(M, B, Y, Mc, r, K)


@njit(cache=True, nogil=True)
def _exact_after(k, state, units, new, nchg, try_fast):
    """Log-determinant and log-trace of draw ``k`` after a move, from the rows.

    The shifted matrix is summed afresh (``O(n K^2)``, no cancellation) and
    factorised if well conditioned; otherwise the graded QR decides.
    """
    W, logw, shift, X, geo, labels, n_arms = state
    lab = labels.copy()
    for c in range(nchg):
        lab[units[c]] = new[c]
    if try_fast:
        K = n_arms + X.shape[1]
        Sk = np.empty((K, K))
        _sum_rows(Sk, W[k], geo[0], lab, n_arms, True)
        ldk, ltk, ok = _factorise(Sk, np.empty((K, K)), shift[k], geo)
        if ok:
            return ldk, ltk
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
    S,
    A,
    ld,
    lt,
    graded,
    crit,
    variant,
    values,
    scratch,
    order,
    stop,
):
    """Log criterion after a move (state unchanged); ``values`` is scratch.

    Draws are evaluated in ``order``. With several draws the criterion is
    their maximum (variant 3) or log-mean-exp (variant 2), which the draws
    evaluated so far bound from below: once that bound reaches ``stop`` the
    move cannot bring the criterion below ``stop``, and the bound is returned
    without evaluating the other draws. A descent passes its acceptance
    threshold as ``stop`` and the draws by decreasing current value, so that
    most rejected moves are decided by a few draws; the decisions, hence the
    search, are those of the full evaluation. ``stop = inf`` evaluates every
    draw.
    """
    Xs, G, _ = geo
    K = n_arms + X.shape[1]
    N = W.shape[0]
    top = -np.inf
    acc = 0.0
    for idx in range(N):
        k = order[idx]
        det = -1.0
        if not graded[k]:
            det = _low_rank(
                k, units, old, new, nchg, W, Xs, n_arms, A, scratch, crit == 1
            )
        if det == -1.0:
            state = (W, logw, shift, X, geo, labels, n_arms)
            gl, gt = _exact_after(k, state, units, new, nchg, not graded[k])
            values[k] = -gl if crit == 0 else gt
        elif not (det > 0.0):
            values[k] = np.inf
        elif crit == 0:
            values[k] = -(ld[k] + np.log(det))
        else:
            # tr(G (A - AZ Y)) = tr(G A) - sum_q sum_a (G AZ)[a, q] Y[q, a]
            AZ, Y = scratch[0], scratch[3]
            tr = 0.0
            for q in range(2 * nchg):
                for a in range(K):
                    gaz = 0.0
                    for b in range(K):
                        gaz += G[a, b] * AZ[b, q]
                    tr += gaz * Y[q, a]
            t = np.exp(lt[k] + shift[k]) - tr
            values[k] = np.log(t) - shift[k] if t > 0.0 else np.inf
        if idx + 1 < N:
            # lower bound from the draws evaluated so far
            v = values[k]
            if v > top:
                acc = acc * np.exp(top - v) + 1.0 if top > -np.inf else 1.0
                top = v
            else:
                acc += np.exp(v - top)
            bound = top if variant == 3 or top == np.inf else top + np.log(acc / N)
            if bound >= stop:
                return bound
    return combine(values, variant)


@njit(cache=True, nogil=True)
def apply_move(
    units, old, new, nchg, W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded
):
    """Apply a move to the labels and every draw's matrix, inverse and values."""
    Xs, G, _ = geo
    N = W.shape[0]
    K = n_arms + X.shape[1]
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
            draws = (W, logw, shift, X, geo, labels, n_arms, S, A, ld, lt, graded)
            build_draw(k, draws)
            continue
        for c in range(nchg):
            i = units[c]
            design_row(u, old[c], Xs, i, n_arms)
            _add_row(S[k], -W[k, i, old[c]], u, False)
            design_row(u, new[c], Xs, i, n_arms)
            _add_row(S[k], W[k, i, new[c]], u, False)
