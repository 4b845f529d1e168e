"""minMSE treatment assignment (Schneider & Schlather, 2017) by simulated annealing.

The objective is a weighted sum over arms of ``xbar' (X_g' X_g)^{-1} xbar``.
The kernel works in whitened coordinates ``Z`` (``Z'Z = n I``, the column
space of ``X``), where the objective is unchanged for arms of full rank and a
small ridge keeps every arm's inverse defined. A move re-assigns a few units,
which changes each arm's ``Z_g'Z_g`` by a few rank-one terms, so the change of
the objective follows from the Woodbury identity with ``change x change``
systems and the arms' small inverses, instead of new inverses from all
units. Proposals are evaluated in vectorised batches drawn ahead: from the
current state, cut at the first accepted move (every earlier proposal was
rejected, so its evaluation was exact), or, when most moves are accepted, as
a chain of accepted moves (cumulative rank-one updates of the Gram matrices,
one batched inverse) cut at the first rejection. Either way the chain is the
one a one-move-at-a-time implementation walks. After an accepted move the
arms' inverses are re-derived from the updated Gram matrices, which does not
drift, and everything is recomputed from the labels periodically.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
from threadpoolctl import ThreadpoolController

from skassign.base import BaseDesign, draw_assignments
from skassign.metrics._minmse import _minmse_coefficients
from skassign.utils._param_validation import Interval, Options, StrOptions
from skassign.utils.validation import interchangeable_groups

__all__ = ["MinMSE"]

# Ridge added to every arm's Z_g'Z_g, relative to Z'Z / n = I. It changes the
# objective of arms of full rank by a relative O(1e-7) and charges an arm that
# misses a direction of the covariates ~|zbar|^2 / _RIDGE.
_RIDGE = 1e-6
# Directions of X whose singular value is below this fraction of the largest
# are dropped, as MASS::ginv (tolerance sqrt(eps) on X'X) drops them.
_RANK_RTOL = float(np.finfo(np.float64).eps ** 0.25)
# A column whose mean is below this fraction of its root mean square is
# considered centred.
_CENTRED_RTOL = 1e-10
# Accepted moves between recomputations of the Gram matrices from the labels
# (their rank-one updates accumulate rounding, slowly).
_REFRESH_EVERY = 2000
_MAX_BATCH = 1024
_CHAIN_BATCH = 256
# Batch sizes: evaluating a batch costs about _BATCH_OVERHEAD proposals' worth
# of fixed numpy overhead plus one unit per proposal, and a batch of size B
# advances the chain by min(B, G) iterations, G geometric with the
# probability p that a proposal ends the batch. The table holds, for p on a
# log grid, the B minimising (_BATCH_OVERHEAD + B) / E[min(B, G)].
_BATCH_OVERHEAD = 20.0
_STOP_GRID = np.logspace(-4.0, 0.0, 161)


def _optimal_batch_sizes(stop_grid, limit):
    sizes = np.arange(1, limit + 1)
    cost = [
        (_BATCH_OVERHEAD + sizes) * p / -np.expm1(sizes * np.log1p(-min(p, 1 - 1e-12)))
        for p in stop_grid
    ]
    return np.array([int(sizes[np.argmin(c)]) for c in cost])


_BATCH_TABLE = _optimal_batch_sizes(_STOP_GRID, _MAX_BATCH).tolist()
_STOP_GRID_LIST = _STOP_GRID.tolist()
# Below this many matrix entries a batched LAPACK solve beats the closed forms.
_CLOSED_FORM_MIN = 600
_GRAM_CHUNK = 2**22
# t0="auto": the starting temperature is a factor times the median absolute
# change of the objective over _AUTO_T0_PROPOSALS random moves from the start;
# the factor falls with the number of free units (see _auto_factor).
_AUTO_T0_PROPOSALS = 256


def _auto_factor(n_free):
    """Factor of the median move for t0="auto", given the number of free units.

    Tuned on simulated data (9 to 300 units, 1 to 5 covariates, 2 to 4
    arms): small problems are solved exactly more often when the search
    starts hot enough to leave local minima, larger ones reach lower
    objectives within a few thousand iterations when it starts colder.
    """
    return float(np.clip(np.sqrt(25.0 / max(n_free, 1)), 0.3, 1.5))


def _whiten(X):
    """Whitened coordinates of the covariates: ``Z = sqrt(n) U_r``.

    ``U_r`` spans the column space of ``X`` (rank by the pseudo-inverse's
    tolerance, after dividing every column by its root mean square so that
    the rank does not depend on the columns' units), so ``Z'Z = n I`` and
    the minMSE objective of any assignment whose arms have full rank is the
    same on ``Z`` as on ``X``.
    """
    n_samples = X.shape[0]
    rms = np.sqrt((X * X).mean(axis=0))
    active = rms > 0.0
    if not active.any():
        return np.zeros((n_samples, 0))
    U, s, _ = np.linalg.svd(X[:, active] / rms[active], full_matrices=False)
    keep = s > _RANK_RTOL * s[0]
    return np.sqrt(n_samples) * U[:, keep]


def _arm_state(Z, labels, n_groups):
    """Every arm's ``A_g = Z_g'Z_g + ridge I``, ``M_g = A_g^{-1}``, ``u_g``, ``q_g``.

    ``u_g = M_g zbar`` and ``q_g = zbar' u_g``.
    """
    rank = Z.shape[1]
    zbar = Z.mean(axis=0)
    gram = np.empty((n_groups, rank, rank))
    for g in range(n_groups):
        Zg = Z[labels == g]
        gram[g] = Zg.T @ Zg
    gram += _RIDGE * np.eye(rank)
    M = np.linalg.inv(gram)
    M = 0.5 * (M + M.swapaxes(-1, -2))
    u = M @ zbar
    return gram, M, u, u @ zbar


def _ridge_objective(Z, labels, coef):
    """Return the penalised minMSE objective of one assignment on whitened ``Z``."""
    if Z.shape[1] == 0:
        return 0.0
    *_, q = _arm_state(Z, labels, coef.shape[0])
    return float(coef @ q)


def _ridge_objective_batch(Z, assignments, coef):
    """Return the penalised objective of many assignments, shape (n_draws,)."""
    n_samples, rank = Z.shape
    n_groups = coef.shape[0]
    zbar = Z.mean(axis=0)
    ZZ = (Z[:, :, None] * Z[:, None, :]).reshape(n_samples, rank * rank)
    out = np.empty(assignments.shape[0])
    chunk = max(1, _GRAM_CHUNK // max(n_samples * n_groups, 1))
    for start in range(0, assignments.shape[0], chunk):
        block = assignments[start : start + chunk]
        gram = np.stack(
            [(block == g).astype(np.float64) @ ZZ for g in range(n_groups)], axis=1
        ).reshape(block.shape[0], n_groups, rank, rank)
        gram += _RIDGE * np.eye(rank)
        u = np.linalg.solve(gram, np.broadcast_to(zbar, gram.shape[:-1])[..., None])
        out[start : start + chunk] = (u[..., 0] @ zbar) @ coef
    return out


def _draw_units(free, n_change, n_draws, rng, strata=None):
    """``n_draws`` rows of ``n_change`` distinct free units, in random order.

    With ``strata`` (the stratum of every unit), the units of a row share a
    stratum, so that rotating their labels keeps every stratum's count in
    every group: a row's stratum is drawn in proportion to its free units,
    among the strata with at least ``n_change`` of them.
    """
    if strata is not None:
        codes = strata[free]
        counts = np.bincount(codes)
        eligible = np.flatnonzero(counts >= n_change)
        which = rng.choice(
            eligible.shape[0], size=n_draws, p=counts[eligible] / counts[eligible].sum()
        )
        out = np.empty((n_draws, n_change), dtype=free.dtype)
        for k, h in enumerate(eligible):
            rows = np.flatnonzero(which == k)
            if rows.size:
                out[rows] = _draw_units(free[codes == h], n_change, rows.size, rng)
        return out
    n_free = free.shape[0]
    p_distinct = np.prod(1.0 - np.arange(n_change) / n_free)
    if p_distinct < 0.5:
        return free[rng.random_sample((n_draws, n_free)).argsort(axis=1)[:, :n_change]]
    idx = rng.randint(n_free, size=(n_draws, n_change))
    rows = np.arange(n_draws)
    while rows.size:
        srt = np.sort(idx[rows], axis=1)
        rows = rows[(srt[:, 1:] == srt[:, :-1]).any(axis=1)]
        idx[rows] = rng.randint(n_free, size=(rows.size, n_change))
    return free[idx]


def _temperatures(t0, cooling, tmax, iters):
    """Temperature at (1-based) iterations ``iters``, as in the R package."""
    level = np.floor((iters - 1) / tmax) * tmax
    if cooling == 1:
        return t0 / np.log(level + np.e)
    return t0 / (level + 1.0)


def _quadratic_inverse(K, v):
    """``v' K^{-1} v`` for stacks of small symmetric matrices ``K``.

    Large stacks of 2x2 and 3x3 matrices use closed forms (adjugate over
    determinant), which are much faster than one LAPACK call per matrix;
    small stacks use one batched solve, which costs fewer numpy calls.
    """
    size = K.shape[-1]
    if size == 2 and K.size > _CLOSED_FORM_MIN:
        a, b, d = K[..., 0, 0], K[..., 0, 1], K[..., 1, 1]
        v0, v1 = v[..., 0], v[..., 1]
        return (v0 * v0 * d - 2.0 * v0 * v1 * b + v1 * v1 * a) / (a * d - b * b)
    if size == 3 and K.size > _CLOSED_FORM_MIN:
        a, b, c = K[..., 0, 0], K[..., 0, 1], K[..., 0, 2]
        d, e, f = K[..., 1, 1], K[..., 1, 2], K[..., 2, 2]
        v0, v1, v2 = v[..., 0], v[..., 1], v[..., 2]
        adj_a, adj_b, adj_c = d * f - e * e, c * e - b * f, b * e - c * d
        adj_d, adj_e, adj_f = a * f - c * c, b * c - a * e, a * d - b * b
        det = a * adj_a + b * adj_b + c * adj_c
        quad = (
            v0 * (v0 * adj_a + 2.0 * (v1 * adj_b + v2 * adj_c))
            + v1 * (v1 * adj_d + 2.0 * v2 * adj_e)
            + v2 * v2 * adj_f
        )
        return quad / det
    return (v * np.linalg.solve(K, v[..., None])[..., 0]).sum(axis=-1)


def _replay(labels, units, new):
    """Labels after the moves ``units[k] -> new[k]``, applied in order."""
    labels = labels.copy()
    flat_units = units.ravel()[::-1]
    last, first = np.unique(flat_units, return_index=True)
    labels[last] = new.ravel()[::-1][first]
    return labels


class _Annealer:
    """Incremental state of the minMSE annealing on whitened covariates.

    For arm ``g`` it keeps the Gram matrix ``A_g = Z_g'Z_g + ridge I``, its
    inverse ``M_g`` and ``u_g = M_g zbar``. Moving units changes ``A_g`` by
    ``Zc' S Zc`` (``S = diag(s)``, ``s = +1`` for units entering the arm,
    ``-1`` for units leaving it), and Woodbury's identity gives
    ``q_g' = q_g - v' (S + Zc M_g Zc')^{-1} v`` with ``v = Zc u_g``,
    restricted to the moved units: rows of units an arm does not exchange are
    zeroed, which decouples them (their diagonal entry is set to 1).
    """

    def __init__(self, Z, coef, labels):
        self.Z = Z
        self.zbar = Z.mean(axis=0)
        self.coef = coef
        n_groups = coef.shape[0]
        self.n_groups = n_groups
        self.onehot = np.eye(n_groups)
        old, new = np.divmod(np.arange(n_groups * n_groups), n_groups)
        arms = np.arange(n_groups)
        # Indexed by old * n_groups + new: whether arm g gains or loses the
        # unit, and the diagonal entry of S (1 for a decoupled unit).
        self.moved_table = ((old[:, None] == arms) != (new[:, None] == arms)).astype(
            np.float64
        )
        self.sign_table = np.where(
            (old[:, None] == arms) & (new[:, None] != arms), -1.0, 1.0
        )
        self.labels = labels.copy()
        self.refresh()

    def refresh(self):
        """Recompute everything from the labels (bounds the drift of updates)."""
        self.A, self.M, self.u, self.q = _arm_state(self.Z, self.labels, self.n_groups)
        self.f = float(self.coef @ self.q)

    def evaluate(self, units, new):
        """Change of the objective if ``units`` (n_proposals, n_change) get ``new``.

        Every proposal is evaluated from the current state by Woodbury's
        identity. Returns the changes (n_proposals,), whether each proposal
        changes the assignment, and the pieces :meth:`apply` reuses.
        """
        old = self.labels[units]
        code = old * self.n_groups + new
        moved = self.moved_table[code].swapaxes(1, 2)
        sign = self.sign_table[code].swapaxes(1, 2)
        Zc = self.Z[units][:, None] * moved[..., None]
        P = np.matmul(Zc, self.M)
        K = np.matmul(P, Zc.swapaxes(-1, -2))
        n_change = units.shape[1]
        diagonal = K.reshape(K.shape[:2] + (n_change * n_change,))[..., :: n_change + 1]
        diagonal += sign
        v = np.matmul(Zc, self.u[..., None])[..., 0]
        delta = _quadratic_inverse(K, v) @ -self.coef
        return delta, (old != new).any(axis=1), (Zc, sign)

    def apply(self, j, units, new, pieces):
        """Accept proposal ``j`` of the last :meth:`evaluate` call.

        The Gram matrices get the move's rank-one terms and are inverted
        afresh: chaining Woodbury updates of the inverses amplifies rounding
        when arms are small (a move then changes a large share of an arm),
        whereas a batched ``r x r`` inverse costs the same and does not drift.
        """
        Zc, sign = pieces[0][j], pieces[1][j]
        self.A += np.matmul((Zc * sign[..., None]).swapaxes(-1, -2), Zc)
        self.M = np.linalg.inv(self.A)
        self.u = self.M @ self.zbar
        self.q = self.u @ self.zbar
        self.f = float(self.coef @ self.q)
        self.labels[units[j]] = new[j]

    def chain(self, units):
        """Objective after each of the consecutive moves ``units`` (rotations).

        Speculates that every move is accepted: the Gram matrices of the
        successive states are cumulative sums of the moves' rank-one terms and
        are inverted in one batched call. Returns the labels each move gives
        its units, the objective after each move and the pieces
        :meth:`accept_chain` reuses.
        """
        touched, local = np.unique(units, return_inverse=True)
        local = local.reshape(units.shape).tolist()
        current = self.labels[touched].tolist()
        old_rows, new_rows = [], []
        for row in local:
            old = [current[i] for i in row]
            new = old[1:] + old[:1]
            for i, label in zip(row, new, strict=True):
                current[i] = label
            old_rows.append(old)
            new_rows.append(new)
        old, new = np.array(old_rows), np.array(new_rows)
        Zc = self.Z[units][:, None]
        signed = Zc * (self.onehot[new] - self.onehot[old]).swapaxes(1, 2)[..., None]
        dA = np.matmul(signed.swapaxes(-1, -2), Zc)
        A = self.A + np.cumsum(dA, axis=0)
        M = np.linalg.inv(A)
        u = M @ self.zbar
        q = u @ self.zbar
        return new, q @ self.coef, (A, M, u, q)

    def accept_chain(self, n_moves, units, new, f, pieces):
        """Keep the first ``n_moves`` moves of the last :meth:`chain` call."""
        A, M, u, q = pieces
        k = n_moves - 1
        self.A, self.M, self.u, self.q = A[k].copy(), M[k].copy(), u[k].copy(), q[k]
        self.f = float(f[k])
        self.labels = _replay(self.labels, units[:n_moves], new[:n_moves])


def _auto_temperature(state, free, n_change, rng, strata=None):
    """Return a starting temperature from the changes moves of the start cause.

    :func:`_auto_factor` times the median absolute change of the objective
    over ``_AUTO_T0_PROPOSALS`` random moves from the starting assignment, so
    that a median worsening move is first accepted with probability between
    ``exp(-1 / 0.3)`` (4%, many free units) and ``exp(-1 / 1.5)`` (51%, few),
    whatever the scale of the objective.
    """
    units = _draw_units(free, n_change, _AUTO_T0_PROPOSALS, rng, strata)
    new = np.roll(state.labels[units], -1, axis=1)
    delta, moves, _ = state.evaluate(units, new)
    changes = np.abs(delta[moves])
    changes = changes[changes > 0.0]
    if not changes.size:
        return 0.0
    return _auto_factor(free.shape[0]) * float(np.median(changes))


class _Relabeler:
    """Best labelling of an assignment's arms among interchangeable ones.

    The objective is ``sum_g coef[g] q_g`` with ``q_g`` depending on arm
    ``g``'s units only. Arms of equal size without fixed units can swap
    labels; when their coefficients differ (a control, weights), the best
    labelling gives the largest ``q`` the smallest coefficient
    (rearrangement inequality). Moves that rotate a few units' labels rarely
    swap whole arms, so the search keeps the best relabelled assignment.
    """

    def __init__(self, coef, classes):
        self.coef = coef
        self.classes = [
            np.asarray(arms)
            for arms in classes
            if len(arms) > 1 and np.ptp(coef[np.asarray(arms)]) > 0
        ]
        self.active = bool(self.classes)
        swappable = np.zeros(coef.shape[0], dtype=bool)
        for arms in self.classes:
            swappable[arms] = True
        self.rest = np.flatnonzero(~swappable)
        self.sorted_coef = [np.sort(coef[arms]) for arms in self.classes]

    def values(self, q):
        """Best objective over relabellings, for arm terms ``q`` (..., n_groups)."""
        out = q[..., self.rest] @ self.coef[self.rest]
        for arms, sorted_coef in zip(self.classes, self.sorted_coef, strict=True):
            out = out + np.sort(q[..., arms], axis=-1)[..., ::-1] @ sorted_coef
        return out

    def mapping(self, q):
        """Return the new label of every arm in the best relabelling of ``q``."""
        mapping = np.arange(self.coef.shape[0])
        for arms in self.classes:
            by_q = arms[np.argsort(-q[arms], kind="stable")]
            by_coef = arms[np.argsort(self.coef[arms], kind="stable")]
            mapping[by_q] = by_coef
        return mapping


def _anneal(
    Z,
    coef,
    labels,
    free,
    *,
    iterations,
    change,
    cooling,
    t0,
    tmax,
    rng,
    classes=(),
    progress=None,
    strata=None,
):
    """Anneal from ``labels``; moves rotate the labels of free units.

    With ``strata`` (the stratum of every unit) a move rotates units of one
    stratum only, so the start's counts per stratum and group are kept.

    The chain is simulated exactly, in batches of proposals drawn ahead. When
    few moves are accepted, a batch is evaluated from the current state
    (Woodbury) and cut at the first accepted move that changes the
    assignment; when most are accepted, the batch is evaluated as a chain of
    accepted moves and cut at the first rejection. The mode with the longer
    expected run is used.

    ``classes`` lists groups of arms whose labels may be swapped (see
    :class:`_Relabeler`): the best assignment is kept over the visited ones
    and their best relabellings; the chain itself is unchanged.

    Returns the best labels, the best-so-far and the current objective after
    every iteration (index 0 is the start), the number of accepted moves that
    changed the assignment, and the starting temperature.
    """
    n_change = min(change, free.shape[0])
    if strata is not None:
        n_change = min(change, int(np.bincount(strata[free]).max()))
    state = _Annealer(Z, coef, labels)
    relabel = _Relabeler(coef, classes)

    def best_of_state():
        if not relabel.active:
            return state.f, state.labels.copy()
        return float(relabel.values(state.q)), relabel.mapping(state.q)[state.labels]

    best_f, best_labels = best_of_state()
    trace = np.empty(iterations + 1)
    current = np.empty(iterations + 1)
    current[0] = state.f
    trace[0] = best_f
    if t0 == "auto":
        t0 = _auto_temperature(state, free, n_change, rng, strata)
    elif t0 < 0:
        t0 = state.f / abs(t0)
    t0 = float(t0)
    rotate = np.roll(np.arange(n_change), -1)
    pool_units = pool_limits = None
    pos = pool_size = 0
    done, n_moved, since_refresh = 0, 0, 0
    # Running counts of proposals, accepted proposals and accepted proposals
    # that changed the assignment (exponentially forgotten).
    seen, accepted, effective = 4.0, 2.0, 1.0
    while done < iterations:
        if pos == pool_size:
            pool_size = min(8 * _MAX_BATCH, iterations - done)
            pool_units = _draw_units(free, n_change, pool_size, rng, strata)
            # Metropolis: accept when rand <= exp(-delta / T), i.e. when
            # delta <= -T log(rand), with rand uniform on (0, 1].
            pool_limits = -_temperatures(
                t0, cooling, tmax, np.arange(done + 1, done + pool_size + 1)
            ) * np.log1p(-rng.random_sample(pool_size))
            pos = 0
        p_stop_reject = effective / seen
        p_stop_chain = 1.0 - accepted / seen
        chain_mode = p_stop_chain < p_stop_reject
        p_stop = min(p_stop_reject, p_stop_chain)
        size = _BATCH_TABLE[min(bisect_left(_STOP_GRID_LIST, p_stop), 160)]
        size = min(size, _CHAIN_BATCH if chain_mode else _MAX_BATCH, pool_size - pos)
        units = pool_units[pos : pos + size]
        limits = pool_limits[pos : pos + size]
        if chain_mode:
            new, f, pieces = state.chain(units)
            delta = np.diff(f, prepend=state.f)
            ok = delta <= limits
            j = int(ok.argmin())
            if ok[j]:
                j = size
            consumed = min(j + 1, size)
            changed = (new[:j] != state.labels[units[:j]]).any(axis=1)
            if j:
                before = state.labels
                q = pieces[-1][:j]
                visited = relabel.values(q) if relabel.active else f[:j]
                current[done + 1 : done + j + 1] = f[:j]
                trace[done + 1 : done + j + 1] = np.minimum.accumulate(
                    np.concatenate([[best_f], visited])
                )[1:]
                k = int(visited.argmin())
                state.accept_chain(j, units, new, f, pieces)
                if visited[k] < best_f:
                    best_f = float(visited[k])
                    best_labels = _replay(before, units[: k + 1], new[: k + 1])
                    if relabel.active:
                        best_labels = relabel.mapping(q[k])[best_labels]
            if j < size:
                trace[done + j + 1] = best_f
                current[done + j + 1] = state.f
            n_accepted, n_effective = j, int(changed.sum())
        else:
            new = state.labels[units][:, rotate]
            delta, moves, pieces = state.evaluate(units, new)
            ok = delta <= limits
            accept = ok & moves
            j = int(accept.argmax())
            if not accept[j]:
                j = size
            trace[done + 1 : done + j + 1] = best_f
            current[done + 1 : done + j + 1] = state.f
            consumed = min(j + 1, size)
            n_accepted = int(ok[:consumed].sum())
            n_effective = int(j < size)
            if j < size:
                state.apply(j, units, new, pieces)
                visited = float(relabel.values(state.q)) if relabel.active else state.f
                if visited < best_f:
                    best_f, best_labels = best_of_state()
                trace[done + j + 1] = best_f
                current[done + j + 1] = state.f
        n_moved += n_effective
        since_refresh += n_effective
        if since_refresh >= _REFRESH_EVERY:
            state.refresh()
            since_refresh = 0
        seen = 0.9 * seen + consumed
        accepted = 0.9 * accepted + n_accepted
        effective = 0.9 * effective + n_effective
        done += consumed
        pos += consumed
        if progress is not None:
            progress.update(consumed)
    return best_labels, trace, current, n_moved, t0


def _default_n_starts(iterations, n_samples):
    """Random starting assignments: R's rule, capped at 100."""
    r_rule = min(
        max(round(iterations / 100 * 5) - 1, n_samples - 1),
        round(iterations / 100 * 10) - 1,
    )
    return int(np.clip(r_rule + 1, 1, 100))


@lru_cache(maxsize=1)
def _blas_controller():
    """Return a controller of the BLAS thread pools (discovered once)."""
    return ThreadpoolController()


def _check_uncentred(X):
    """Refuse covariates whose means all vanish (the minMSE centring trap)."""
    means = X.mean(axis=0)
    rms = np.sqrt((X * X).mean(axis=0))
    active = rms > 0.0
    if not active.any():
        raise ValueError(
            "Every covariate of X is zero, so the minMSE objective is 0 for every "
            "assignment; give MinMSE covariates that vary."
        )
    centred = active & (np.abs(means) <= _CENTRED_RTOL * rms)
    if centred[active].all():
        raise ValueError(
            "Every covariate of X has mean zero (as StandardScaler() produces), "
            "so the minMSE objective xbar' [...] xbar is 0 for every assignment "
            "and MinMSE cannot balance anything. The objective is scale-invariant "
            "and needs uncentred covariates: drop the scaler, or use "
            "StandardScaler(with_mean=False) or skassign.metrics.minmse_scale, "
            "or set fit_intercept=True for an objective that ignores shifts."
        )
    if centred.any():
        warnings.warn(
            f"Covariates {np.flatnonzero(centred).tolist()} of X have mean zero; "
            "the minMSE objective balances them only through their correlation "
            "with the other covariates. If a scaler centred them, use "
            "StandardScaler(with_mean=False) instead.",
            UserWarning,
            stacklevel=8,
        )


class MinMSE(BaseDesign):
    r"""Minimum-MSE treatment assignment (Schneider & Schlather, 2017).

    Chooses the assignment that minimises the mean squared error of the
    treatment-effect estimates in a linear model of the outcome on the
    covariates (without intercept), fitted separately in every arm. Arm 0 is
    the control and arms ``1..K`` (``K = n_groups - 1``) are treated; the
    objective (see :func:`~skassign.metrics.minmse_objective`) is

    .. math:: \bar x^\top \Big[ c_0 (X_0^\top X_0)^{-1}
              + \sum_{g=1}^{K} c_g (X_g^\top X_g)^{-1} \Big] \bar x

    with :math:`c_0 = K`, :math:`c_g = 1` by default, or the coefficients
    given by ``weights``. It is small when every arm's covariates spread
    like those of the whole sample and its mean is near the sample mean.

    The search is the simulated annealing of the R package ``minMSE`` and
    the Stata command ``minmse``: start from the best of a few random
    assignments; a move picks ``change`` units and rotates their labels
    (group sizes stay fixed, fixed units never move); a move that raises the
    objective by :math:`\Delta` is accepted with probability
    :math:`\exp(-\Delta / T_k)`; the best assignment seen is returned. The
    temperature at iteration :math:`k` is
    :math:`T_k = t_0 / \ln(\lfloor (k-1)/t_{max} \rfloor t_{max} + e)`
    (``cooling=1``) or
    :math:`T_k = t_0 / (\lfloor (k-1)/t_{max} \rfloor t_{max} + 1)`
    (``cooling=2``). Each proposal is evaluated by low-rank (Woodbury)
    updates of the arms' small inverse matrices, and proposals are
    evaluated in vectorised batches, so an iteration costs microseconds.

    The covariates are used as given (impute missing values in a Pipeline
    first). The objective does not change when covariates are rescaled, but
    it needs them **uncentred**: with column means of zero, as a
    ``StandardScaler()`` produces, it is 0 for every assignment, and ``fit``
    raises a ``ValueError``. Use ``StandardScaler(with_mean=False)``, no
    scaler, or :func:`~skassign.metrics.minmse_scale` (the R package's
    preprocessing), or set ``fit_intercept=True``.

    With ``strata`` given to ``fit``, the starting assignments spread every
    stratum evenly over the groups and every move rotates the labels of
    units of one stratum, so the spread is kept.

    Read more in the :ref:`User Guide <minmse>`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups: the control (arm 0) and ``n_groups - 1`` treated
        arms (the R argument ``n_treatments`` plus one).
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units. ``None`` makes
        the sizes as equal as possible.
    weights : array-like, default=None
        Importance of the treated arms (the R argument ``mse_weights``), of
        shape ``(n_groups - 1,)`` or ``(n_outcomes, n_groups - 1)``. A
        vector ``w`` gives arm ``g`` the coefficient ``w_g`` and the control
        ``sum(w)``; an integer matrix (one row per outcome) gives arm ``g``
        the coefficient ``sum_k W[k, g]`` and the control the product of the
        sums of the greatest common divisors of its columns and of its rows.
        ``None`` weighs every treated arm 1.
    iterations : int, default=5000
        Number of annealing moves. The R default, 50, rarely comes near the
        optimum; 5000 take a few hundredths of a second for up to a few
        hundred units. Fewer iterations leave more randomness in the
        assignment (see Notes).
    change : int, default=3
        Number of units whose labels each move rotates (at most the number
        of units free to move).
    cooling : {1, 2}, default=1
        Cooling scheme: 1 divides ``t0`` by a logarithm, 2 (faster) by the
        iteration count; see above.
    t0 : "auto" or float, default="auto"
        Starting temperature. ``"auto"`` sets it to the median absolute
        change of the objective over 256 random moves from the starting
        assignment, times ``clip(sqrt(25 / n_free), 0.3, 1.5)`` with
        ``n_free`` the number of units free to move: hot enough for small
        problems to leave local minima, cool enough for larger ones to
        settle within a few thousand iterations, whatever the scale of the
        objective. A negative value sets it relative to the objective of the
        starting assignment, :math:`f_{start} / |t_0|`, as in R and Stata. A
        positive value is used as given; R's default, 10, is far above the
        objective's scale after the R preprocessing, so that nearly every
        move is accepted.
    tmax : int, default=10
        Number of iterations at each temperature.
    fit_intercept : bool, default=False
        Whether the linear model behind the objective has an intercept. The
        R and Stata tools have none (``False``): their objective needs
        uncentred covariates, and with several treated arms or weights it
        favours giving the more heavily weighted arms (the control) the
        units with the largest covariate values, which leaves the arms'
        means apart (see Notes). With ``True`` a constant covariate is
        added: the objective then balances every arm's mean with the
        sample's, does not change when covariates are shifted, and accepts
        centred covariates (a ``StandardScaler()`` in front); ``objective_``
        is the objective of ``X`` with a column of ones. Recommended with
        more than two groups or with weights, unless the R or Stata
        assignment must be reproduced.
    random_state : int, RandomState instance or None, default=None
        Seed of the starting assignments, the moves and the acceptances.
    verbose : int, default=0
        Show a progress bar of the annealing if positive.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each unit; 0 is the control.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        The minMSE objective of ``labels_`` (penalised for rank-deficient
        arms, see Notes); lower is better.
    trace_ : ndarray of shape (`n_iter_` + 1,)
        Best objective found after every iteration (index 0: the starting
        assignment), the curve the R and Stata tools plot; see
        :func:`~skassign.plotting.plot_trace`. Arms of equal size whose
        coefficients differ are also tried with their labels exchanged (the
        moves rarely exchange whole arms), and the better labelling is kept.
    current_trace_ : ndarray of shape (`n_iter_` + 1,)
        Objective of the current assignment after every iteration.
    n_iter_ : int
        Number of annealing iterations run (0 if no move can change the
        assignment, e.g. when at most one unit is free).
    t0_ : float
        Starting temperature used (``t0`` resolved if ``"auto"`` or
        negative).
    acceptance_rate_ : float
        Share of the moves that were accepted and changed the assignment.
    n_features_in_ : int
        Number of covariates seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Covariate names, when ``X`` has string column names.

    See Also
    --------
    skassign.metrics.minmse_objective : The objective, exactly as the R
        package computes it.
    skassign.metrics.minmse_scale : The R package's preprocessing.
    skassign.plotting.plot_trace : Convergence plot of a fitted design.
    OptimalBalance : Mixed-integer optimisation of mean and second-moment
        discrepancies (Bertsimas et al.).

    Notes
    -----
    Partial assignment (the R argument ``prev_treatment``, Stata's
    ``assignment()``): pass ``fixed_labels`` to ``fit``, with the arm of the
    units already assigned and -1 for the others. Fixed units keep their arm
    and count towards balance, which re-balances after attrition or assigns
    a second day's units given the first day's.

    The objective is evaluated in whitened coordinates of ``X`` (directions
    that the pseudo-inverse of the R package would ignore are dropped). An
    arm whose :math:`X_g^\top X_g` is singular, e.g. a binary covariate that
    is constant within the arm, makes the R package's pseudo-inverse
    objective falsely small, so the R tool can prefer exactly such splits.
    Here every arm's matrix gets a small ridge, :math:`10^{-6}` times the
    average :math:`X^\top X / n`: this changes the objective of arms of full
    rank by a relative amount of order :math:`10^{-6}` or less, and makes a
    rank-deficient arm cost about :math:`10^{6}` times more. A warning says
    when arms are smaller than the rank of ``X`` (singular in every
    assignment) or when the best assignment found still has a
    rank-deficient arm (for example a binary covariate with fewer ones than
    groups).

    Without intercept, :math:`(X_g^\top X_g)^{-1}` shrinks as an arm's
    covariates grow in magnitude. With one treated arm and no weights the
    trade-off between the arms is symmetric and the minimum balances them;
    with several treated arms the control's coefficient exceeds the others'
    and the objective gains from giving the control the units with the
    largest covariate values. This is a property of the R and Stata tools'
    objective, not of the search; ``fit_intercept=True`` removes it.

    Differences from the R package, beyond the ridge: group sizes are as
    equal as possible (R draws them when ``n`` is not a multiple of the
    number of groups); the starting assignment is the best of R's number of
    random draws, capped at 100; ``change`` is capped at the number of free
    units. For randomisation inference, draw many optimised assignments with
    :meth:`sample_assignments` (the R arguments ``desired_test_vectors`` and
    ``percentage_equal_treatments``) and keep ``iterations`` low enough for
    the annealing not to converge to a single assignment.

    References
    ----------
    .. [1] S. O. Schneider and M. Schlather, "A new approach to treatment
       assignment for one and multiple treatment groups", Courant Research
       Centre: Poverty, Equity and Growth, Discussion Paper 228, 2017.
    .. [2] C. J. P. Belisle, "Convergence theorems for a class of simulated
       annealing algorithms on R^d", Journal of Applied Probability 29(4),
       885-895, 1992.

    Examples
    --------
    The example of the R package: ten pupils, three covariates, two treated
    arms weighted 1 and 2, pupils 1 and 5 already assigned.

    >>> import numpy as np
    >>> from skassign.designs import MinMSE
    >>> X = np.array([[10, 2, 1], [20, 6, 0], [30, 2, 2], [40, 8, 1],
    ...               [130, 1, 0], [40, 10, 1], [120, 9, 0], [5, 8, 2],
    ...               [10, 7, 1], [80, 5, 0]], dtype=float)
    >>> fixed = [0, -1, -1, -1, 1, -1, -1, -1, -1, -1]
    >>> design = MinMSE(n_groups=3, weights=[1, 2], iterations=2000,
    ...                 random_state=0).fit(X, fixed_labels=fixed)
    >>> design.labels_[[0, 4]]
    array([0, 1])
    >>> np.bincount(design.labels_)
    array([3, 3, 4])
    >>> f"{design.objective_:.4f}"
    '2.0808'
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "weights": ["array-like", None],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "change": [Interval(Integral, 2, None, closed="left")],
        "cooling": [Options(Integral, {1, 2})],
        "t0": [Real, StrOptions({"auto"})],
        "tmax": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        weights=None,
        iterations=5000,
        change=3,
        cooling=1,
        t0="auto",
        tmax=10,
        fit_intercept=False,
        random_state=None,
        verbose=0,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.weights = weights
        self.iterations = iterations
        self.change = change
        self.cooling = cooling
        self.t0 = t0
        self.tmax = tmax
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.verbose = verbose

    def _coefficients(self):
        return _minmse_coefficients(self.weights, self.n_groups - 1)

    def _assign(self, X, sizes, fixed, rng, strata=None):
        # The search does many small matrix products; threaded BLAS only adds
        # overhead there (and contention when fits run in parallel).
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._search(X, sizes, fixed, rng, strata)

    def _search(self, X, sizes, fixed, rng, strata=None):
        coef = self._coefficients()
        if self.t0 != "auto" and (self.t0 == 0 or not np.isfinite(self.t0)):
            raise ValueError(
                f"t0={self.t0} is not a temperature; give a positive starting "
                "temperature "
                "or a negative one relative to the starting objective (t0=-5 "
                "means f_start / 5)."
            )
        Z = self._whitened(X)
        rank = Z.shape[1]
        small = np.flatnonzero(sizes < rank)
        if small.size:
            g = int(small[0])
            warnings.warn(
                f"Group {g} has {int(sizes[g])} units but the covariates span "
                f"{rank} dimensions, so X_g'X_g is singular in every assignment: "
                "the minMSE objective is then dominated by the penalty for "
                "rank-deficient groups and says little about balance. Use fewer "
                "covariates (e.g. PCA(n_components=...) in a Pipeline) or fewer, "
                "larger groups.",
                UserWarning,
                stacklevel=6,
            )
        n_samples = X.shape[0]
        n_starts = _default_n_starts(self.iterations, n_samples)
        if strata is None:
            starts = draw_assignments(sizes, fixed, rng, n_starts)
        else:
            # Starts meet the strata's counts and moves keep them.
            starts = strata.draw(fixed, rng, n_starts)
        labels = starts[np.argmin(_ridge_objective_batch(Z, starts, coef))]
        free = np.flatnonzero(fixed < 0)
        n_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0])
        movable = free.shape[0] >= 2
        if strata is not None and movable:
            movable = np.bincount(strata.codes[free]).max() >= 2
        if not movable or np.count_nonzero(sizes > n_fixed) < 2:
            value = _ridge_objective(Z, labels, coef)
            self.trace_ = np.array([value])
            self.current_trace_ = self.trace_.copy()
            self.n_iter_, self.t0_, self.acceptance_rate_ = 0, 0.0, 0.0
            return labels
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.iterations, desc="MinMSE", unit="it")
        try:
            labels, trace, current, n_moved, t0 = _anneal(
                Z,
                coef,
                labels,
                free,
                iterations=self.iterations,
                change=self.change,
                cooling=self.cooling,
                t0=self.t0,
                tmax=self.tmax,
                rng=rng,
                # Arms of equal size without fixed units, whatever their
                # coefficients: the relabeling the search keeps the best of.
                classes=list(
                    interchangeable_groups(super()._arm_classes(sizes, fixed)).values()
                ),
                progress=bar,
                strata=None if strata is None else strata.codes,
            )
        finally:
            if bar is not None:
                bar.close()
        self.trace_, self.current_trace_ = trace, current
        self.n_iter_, self.t0_ = self.iterations, t0
        self.acceptance_rate_ = n_moved / self.iterations
        if not small.size:
            _warn_rank_deficient(Z, labels, sizes.shape[0])
        return labels

    def _whitened(self, X):
        """Whitened covariates, with the intercept or the centring check."""
        if self.fit_intercept:
            return _whiten(np.column_stack([np.ones(X.shape[0]), X]))
        _check_uncentred(X)
        return _whiten(X)

    def _objective(self, X, labels):
        """Return the penalised minMSE objective of ``labels`` (lower is better)."""
        if self.fit_intercept:
            X = np.column_stack([np.ones(X.shape[0]), X])
        return _ridge_objective(_whiten(X), labels, self._coefficients())

    def _arm_classes(self, sizes, fixed):
        """Arms are interchangeable if they have equal size and coefficient.

        The control's coefficient differs from the treated arms' unless there
        is a single treated arm with symmetric weights.
        """
        coef = self._coefficients()
        return [
            key if key[0] == "fixed" else (*key, float(coef[g]))
            for g, key in enumerate(super()._arm_classes(sizes, fixed))
        ]

    def sample_assignments(
        self,
        X,
        n_assignments,
        *,
        max_duplicate_fraction=0.01,
        max_draws=None,
        n_jobs=None,
        random_state=None,
        progress=False,
        fixed_labels=None,
        strata=None,
    ):
        """Draw optimised assignments of the units of ``X`` with fresh seeds.

        The R package's ``desired_test_vectors`` (``n_assignments``) and
        ``percentage_equal_treatments`` (``max_duplicate_fraction``, as a
        fraction): every assignment is a fit of this design with its own
        seed, and at most ``max_duplicate_fraction`` of them may repeat an
        earlier one. These are the assignments a randomisation test compares
        the observed one with (:class:`~skassign.inference.RandomizationTest`).
        See :func:`skassign.base.sample_assignments`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units.
        n_assignments : int
            Number of assignments wanted.
        max_duplicate_fraction : float in [0, 1], default=0.01
            Largest share of repeated assignments (the R default: 1%). If
            the annealing converges to few distinct assignments, fewer are
            returned with a warning: lower ``iterations``.
        max_draws : int or None, default=None
            Largest number of fits (``None``: ``10 * n_assignments``).
        n_jobs : int or None, default=None
            Number of parallel jobs (joblib semantics).
        random_state : int, RandomState instance or None, default=None
            Root seed; ``None`` uses ``self.random_state``.
        progress : bool, default=False
            Show a progress bar.
        fixed_labels : array-like of shape (n_samples,), default=None
            Partial assignment kept in every draw.
        strata : str or array-like of shape (n_samples,), default=None
            Strata spread evenly in every draw (see :meth:`fit`).

        Returns
        -------
        assignments : ndarray of shape (n_found, n_samples), dtype int64
            The assignments, one per row.

        Examples
        --------
        >>> import numpy as np
        >>> from skassign.designs import MinMSE
        >>> X = np.random.default_rng(0).normal(3.0, 1.0, size=(12, 2))
        >>> A = MinMSE(iterations=200, random_state=0).sample_assignments(X, 5)
        >>> A.shape
        (5, 12)
        """
        return super().sample_assignments(
            X,
            n_assignments,
            max_duplicate_fraction=max_duplicate_fraction,
            max_draws=max_draws,
            n_jobs=n_jobs,
            random_state=random_state,
            progress=progress,
            fixed_labels=fixed_labels,
            strata=strata,
        )


def _warn_rank_deficient(Z, labels, n_groups):
    """Warn if an arm of the chosen assignment has rank-deficient covariates."""
    for g in range(n_groups):
        Zg = Z[labels == g]
        eig = np.linalg.eigvalsh(Zg.T @ Zg)
        if eig.size and eig[0] <= np.sqrt(np.finfo(np.float64).eps) * eig[-1]:
            warnings.warn(
                f"The covariates of group {g} are rank deficient in the best "
                "assignment found (e.g. a binary covariate constant within the "
                "group, or one with fewer distinct values than groups): the "
                "minMSE objective cannot balance that direction. Drop or merge "
                "such covariates, or use larger groups.",
                UserWarning,
                stacklevel=7,
            )
            return
