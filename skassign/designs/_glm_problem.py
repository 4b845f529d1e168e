"""Evaluation state of GLMOptimal's search (:class:`GLMProblem`).

The current allocation, every prior draw's information matrix, inverse and
log-determinant, and the per-arm covariate statistics of the Mahalanobis
cap, with incremental ``delta``/``apply`` of moves by the compiled kernels
of :mod:`~skassign.designs._glm_kernels` and
:mod:`~skassign.designs._glm_imbalance`.
"""

from __future__ import annotations

import numpy as np

from skassign.designs import _glm_imbalance as imb
from skassign.designs import _glm_kernels as kern

__all__ = ["NO_LIMIT", "GLMProblem"]

NO_LIMIT = np.iinfo(np.int64).max // 2

# The arrays a move changes in place, in the order of snapshot and restore.
_MUTABLE = ("labels", "S", "A", "ld", "lt", "graded", "counts", "sums", "outer")


class GLMProblem:
    """Evaluation state of an allocation under a :class:`GLMModel`.

    Holds the current labels, every prior draw's shifted information matrix,
    its inverse, log-determinant and inverse trace, and the per-arm covariate
    statistics of the Mahalanobis imbalance. ``delta(move)`` evaluates a move
    by a low-rank update (rank 4 for a swap, rank 2 for a single move) and
    ``apply(move)`` performs it. A move is ``(units, new_arms)``.

    Parameters
    ----------
    model : GLMModel
        Log-weights of every unit in every arm (and the criterion).
    labels : ndarray of shape (n_samples,)
        Starting allocation.
    """

    def __init__(self, model, labels):
        self.model = model
        self.X = np.ascontiguousarray(model.X)
        self.n_arms = model.n_arms
        self.crit = 0 if model.criterion == "D" else 1
        self.variant = model.variant
        self.logw = np.ascontiguousarray(model.logw)
        self.shift = self.logw.reshape(self.logw.shape[0], -1).max(axis=1)
        with np.errstate(under="ignore"):
            self.W = np.exp(self.logw - self.shift[:, None, None])
        N, K = self.logw.shape[0], model.n_params
        self.geo = _geometry(self.X, self.n_arms)
        self.S = np.zeros((N, K, K))
        self.A = np.zeros((N, K, K))
        self.ld = np.zeros(N)
        self.lt = np.zeros(N)
        self.graded = np.zeros(N, dtype=np.bool_)
        self.reset(labels)

    @property
    def draws(self):
        """The draws' state as the kernels take it (arrays shared, not copied)."""
        return (
            self.W,
            self.logw,
            self.shift,
            self.X,
            self.geo,
            self.labels,
            self.n_arms,
            self.S,
            self.A,
            self.ld,
            self.lt,
            self.graded,
        )

    @property
    def stats(self):
        """Per-arm ``(counts, sums, outer)`` of the imbalance (shared arrays)."""
        return self.counts, self.sums, self.outer

    def reset(self, labels):
        """Rebuild everything from ``labels`` (the full ``O(N n K^2)`` build)."""
        self.labels = np.array(labels, dtype=np.int64)
        kern.build_all(self.draws)
        self.counts, self.sums, self.outer = imb.imbalance_stats(
            self.X, self.labels, self.n_arms
        )
        self.value = self.objective()

    def objective(self):
        """Log criterion of the current allocation."""
        values = kern.draw_values(self.ld, self.lt, self.crit)
        return float(kern.combine(values, self.variant))

    def _move(self, move):
        units, new = move
        units = np.asarray(units, dtype=np.int64)
        new = np.asarray(new, dtype=np.int64)
        return units, self.labels[units].copy(), new, units.shape[0]

    def delta(self, move):
        """Change of the log criterion if ``move`` were applied."""
        after = kern.evaluate_move(
            *self._move(move),
            *self.draws,
            self.crit,
            self.variant,
            np.empty(self.W.shape[0]),
            kern.make_scratch(self.model.n_params),
            np.arange(self.W.shape[0]),
            np.inf,
        )
        return float(after) - self.value

    def imbalance(self):
        """Mahalanobis imbalance (arms' own covariances) of the allocation."""
        return float(imb.imbalance(*self.stats))

    def imbalance_after(self, move):
        """Imbalance if ``move`` were applied."""
        return float(imb.imbalance_after(self.X, *self._move(move), *self.stats))

    def apply(self, move):
        """Apply ``move``; returns the new log criterion."""
        units, old, new, nchg = self._move(move)
        kern.apply_move(units, old, new, nchg, *self.draws)
        imb.apply_stats(self.X, units, old, new, nchg, *self.stats)
        self.value = self.objective()
        return self.value

    def snapshot(self):
        """Copy of the state, for :meth:`restore`."""
        return tuple(getattr(self, name).copy() for name in _MUTABLE) + (self.value,)

    def restore(self, snap):
        """Return to a :meth:`snapshot`."""
        for name, array in zip(_MUTABLE, snap[:-1], strict=True):
            setattr(self, name, array.copy())
        self.value = snap[-1]

    def local_search(
        self,
        free,
        *,
        free_sizes,
        min_size,
        max_imbalance,
        seed,
        mode=0,
        target=0.0,
        max_evals=NO_LIMIT,
        classes=None,
    ):
        """Compiled first-improvement descent (``_glm_search.local_search``)."""
        from skassign.designs._glm_search import local_search

        if classes is None:
            classes = np.zeros(self.labels.shape[0], dtype=np.int64)
        current = self.value if mode == 0 else self.imbalance()
        moves = (free, free_sizes, min_size, classes)
        goal = (mode, max_imbalance, target, max_evals)
        value, n_eval, _ = local_search(
            self.draws, self.stats, self.crit, self.variant, moves, goal, seed, current
        )
        self.value = self.objective()
        return float(value), int(n_eval)


def _geometry(X, n_arms):
    """Centred, scaled covariates and the matching corrections.

    ``u' = T u`` with ``x' = (x - mean) / sd`` (the arm indicators sum to 1,
    so centring is a change of coordinates): ``log|I| = log|I'| + 2 sum log
    sd`` and ``tr(I^-1) = tr(G I'^-1)`` with ``G = T T^T``.
    """
    n, p = X.shape
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[~(sd > 0)] = 1.0
    Xs = np.ascontiguousarray((X - mean) / sd)
    K = n_arms + p
    T = np.eye(K)
    T[n_arms:, :n_arms] = -(mean / sd)[:, None]
    T[n_arms:, n_arms:] = np.diag(1.0 / sd)
    return Xs, np.ascontiguousarray(T @ T.T), float(2.0 * np.log(sd).sum())
