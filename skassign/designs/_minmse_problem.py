"""The minMSE objective as a local-search problem (whitened covariates).

The objective is a weighted sum over arms of ``xbar' (X_g' X_g)^{-1} xbar``.
It is evaluated in whitened coordinates ``Z`` (``Z'Z = n I``, the column
space of ``X``), where the objective is unchanged for arms of full rank and a
small ridge keeps every arm's inverse defined. A move re-assigns a few units,
which changes each arm's ``Z_g'Z_g`` by a few rank-one terms, so the change of
the objective follows from the Woodbury identity with ``change x change``
systems and the arms' small inverses, instead of new inverses from all
units. :class:`_Annealer` implements the batched protocol of the local-search
engine (:mod:`skassign.designs._search`), which draws the proposals, decides
acceptance and keeps the best: proposals are evaluated in vectorised batches
from the current state, or as a chain of accepted moves (cumulative rank-one
updates of the Gram matrices, one batched inverse). After an accepted move
the arms' inverses are re-derived from the updated Gram matrices, which does
not drift, and everything is recomputed from the labels periodically.
"""

from __future__ import annotations

import numpy as np

from skassign.designs._search import (
    _MAX_BATCH,  # noqa: F401 (re-exported)
    LocalSearch,
    temperatures,
)
from skassign.designs._search import draw_units as _draw_units  # noqa: F401
from skassign.designs._search import replay as _replay
from skassign.designs._search_problems import SearchProblem

__all__: list = []

# Ridge added to every arm's Z_g'Z_g, relative to Z'Z / n = I. It changes the
# objective of arms of full rank by a relative O(1e-7) and charges an arm that
# misses a direction of the covariates ~|zbar|^2 / _RIDGE.
_RIDGE = 1e-6
# Directions of X whose singular value is below this fraction of the largest
# are dropped, as MASS::ginv (tolerance sqrt(eps) on X'X) drops them.
_RANK_RTOL = float(np.finfo(np.float64).eps ** 0.25)
# Accepted moves between recomputations of the Gram matrices from the labels
# (their rank-one updates accumulate rounding, slowly).
_REFRESH_EVERY = 2000
# Below this many matrix entries a batched LAPACK solve beats the closed forms.
_CLOSED_FORM_MIN = 600
_GRAM_CHUNK = 2**22
# t0="auto": the starting temperature is a factor times the median absolute
# change of the objective over 256 random moves from the start (the engine's
# rule); the factor falls with the number of free units (see _auto_factor).


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


def _temperatures(t0, cooling, tmax, iters):
    """Temperature at (1-based) iterations ``iters``, as in the R package."""
    return temperatures(t0, _COOLING[cooling], tmax, iters)


_COOLING = {1: "log", 2: "inverse"}


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


class _Annealer(SearchProblem):
    """Incremental state of the minMSE annealing on whitened covariates.

    For arm ``g`` it keeps the Gram matrix ``A_g = Z_g'Z_g + ridge I``, its
    inverse ``M_g`` and ``u_g = M_g zbar``. Moving units changes ``A_g`` by
    ``Zc' S Zc`` (``S = diag(s)``, ``s = +1`` for units entering the arm,
    ``-1`` for units leaving it), and Woodbury's identity gives
    ``q_g' = q_g - v' (S + Zc M_g Zc')^{-1} v`` with ``v = Zc u_g``,
    restricted to the moved units: rows of units an arm does not exchange are
    zeroed, which decouples them (their diagonal entry is set to 1).

    ``classes`` lists groups of arms whose labels may be swapped (see
    :class:`_Relabeler`): the search keeps the best over the visited
    assignments and their best relabellings; the chain itself is unchanged.
    """

    supports_chain = True

    def __init__(self, Z, coef, labels, classes=()):
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
        self.relabel = _Relabeler(coef, classes)
        self.reset(labels)

    @property
    def value(self):
        return self.f

    def reset(self, labels):
        """Make ``labels`` (a copy) the current assignment."""
        self.labels = np.array(labels, dtype=np.int64)
        self.refresh()

    def refresh(self):
        """Recompute everything from the labels (bounds the drift of updates)."""
        self.A, self.M, self.u, self.q = _arm_state(self.Z, self.labels, self.n_groups)
        self.f = float(self.coef @ self.q)

    def best_value(self):
        """Return the objective of the current assignment's best relabelling."""
        if not self.relabel.active:
            return self.f
        return float(self.relabel.values(self.q))

    def current_best(self):
        if not self.relabel.active:
            return self.f, self.labels.copy()
        return self.best_value(), self.relabel.mapping(self.q)[self.labels]

    def chain_best_values(self, values, pieces, n):
        if not self.relabel.active:
            return values[:n]
        return self.relabel.values(pieces[-1][:n])

    def chain_best_labels(self, labels, pieces, k):
        if not self.relabel.active:
            return labels
        return self.relabel.mapping(pieces[-1][k])[labels]

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

    apply_proposal = apply

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
    """Anneal from ``labels``; moves rotate the labels of ``change`` free units.

    With ``strata`` (the stratum of every unit) the strata are the engine's
    swap classes: a move rotates units of one stratum, so the start's counts
    per stratum and group are kept.

    The local-search engine runs the R package's annealing on an
    :class:`_Annealer`: ``cooling`` 1 or 2, ``t0`` ``"auto"`` (scaled by
    :func:`_auto_factor`), negative (relative to the start) or positive.
    ``classes`` lists groups of arms whose labels may be swapped (see
    :class:`_Relabeler`).

    Returns the best labels, the best-so-far and the current objective after
    every iteration (index 0 is the start), the number of accepted moves that
    changed the assignment, and the starting temperature.
    """
    search = LocalSearch(
        "anneal",
        n_change=change,
        max_iter=iterations,
        t0=t0,
        t0_factor=_auto_factor(free.shape[0]),
        cooling=_COOLING[cooling],
        tmax=tmax,
        refresh_every=_REFRESH_EVERY,
    )
    problem = _Annealer(Z, coef, labels, classes)
    result = search.run(problem, labels, free, rng, classes=strata, progress=progress)
    return (
        result.labels,
        result.trace,
        result.current_trace,
        result.n_moved,
        result.t0,
    )
