"""What a design gives the local search (:mod:`skassign.designs._search`).

The engine moves units between groups; a *problem* knows the objective and
how a move changes it. Two levels:

- :class:`SwapProblem`: the small interface a new design writes. It keeps
  whatever statistics make the change of its objective cheap, and implements
  ``init(labels)``, ``objective(labels)``, ``delta(labels, i, j)`` (change of
  the objective if units ``i`` and ``j`` exchange groups) and
  ``apply(labels, i, j)`` (update the statistics for that exchange); a
  vectorised ``deltas(labels, i, j)`` over arrays of pairs and a
  ``lower_bound`` are optional.
- :class:`SearchProblem`: the batched protocol the engine drives
  (``reset``, ``evaluate``, ``apply_proposal``, optional ``chain``), which
  :class:`SwapProblem` implements from the small interface. Problems whose
  moves rotate the labels of more than two units, or that evaluate many
  proposals in one call with linear algebra (``MinMSE``), implement it
  directly.

:class:`GroupSumsProblem` is a ready problem for the common family of
objectives that are quadratic in every group's sums of unit features (mean
balance, counts of categories per group, OSAT-like scores): its moves are
evaluated by a compiled kernel.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GroupSumsProblem", "SearchProblem", "SwapProblem"]


class SearchProblem:
    """Batched protocol between the local-search engine and an objective.

    The problem holds the current assignment ``labels`` (int64 array) and
    its objective ``value`` (lower is better). A proposal moves units:
    ``units`` (``n_proposals, n_change``) and the label each of them would
    get, ``new``. Implementations provide:

    - ``reset(labels)``: make ``labels`` (a copy) the current assignment and
      compute ``value`` and any statistics from scratch;
    - ``evaluate(units, new)``: the change of the objective of every
      proposal from the current state, whether each changes the assignment,
      and any pieces ``apply_proposal`` can reuse;
    - ``apply_proposal(k, units, new, pieces)``: accept proposal ``k``;
    - ``refresh()``: recompute the statistics from ``labels`` (bounds the
      drift of incremental updates; default: ``reset(labels)``).

    Optional, for searches that accept most moves: ``chain(units)`` (the
    objective after each of the consecutive rotations ``units``, assuming
    every one is accepted) and ``accept_chain``. Optional for problems with
    symmetries the moves cannot reach (arms that may exchange labels):
    ``best_value``, ``current_best``, ``chain_best_values`` and ``chain_best_labels``.

    ``lower_bound`` (``None`` if unknown): the search stops once it reaches
    it.
    """

    lower_bound = None
    supports_chain = False

    def reset(self, labels):  # pragma: no cover - interface
        raise NotImplementedError

    def evaluate(self, units, new):  # pragma: no cover - interface
        raise NotImplementedError

    def apply_proposal(self, k, units, new, pieces):  # pragma: no cover
        raise NotImplementedError

    def refresh(self):
        """Recompute the statistics from the current labels."""
        self.reset(self.labels)

    def best_value(self):
        """Objective of the current state as the best may keep it."""
        return self.value

    def current_best(self):
        """Objective and labels of the current state as the best may keep them."""
        return self.value, self.labels.copy()

    def chain_best_values(self, values, pieces, n):
        """Objective of the first ``n`` states of a chain, as kept for the best."""
        return values[:n]

    def chain_best_labels(self, labels, pieces, k):
        """Labels kept for the best when state ``k`` of a chain is the best."""
        return labels


class SwapProblem(SearchProblem):
    """A design's objective with its change under the exchange of two units.

    Subclasses implement:

    ``init(labels)``
        Compute the statistics of assignment ``labels`` from scratch (the
        engine calls it at the start, after restarts and periodically).
    ``objective(labels)``
        The objective of any assignment (lower is better), from scratch.
    ``delta(labels, i, j)``
        Change of the objective if units ``i`` and ``j`` (in different
        groups, ``labels`` the current assignment) exchange groups.
    ``apply(labels, i, j)``
        Update the statistics for that exchange; the engine then swaps
        ``labels[i]`` and ``labels[j]`` itself.

    and may override ``deltas(labels, i, j)`` (arrays of pairs; the default
    loops over ``delta``; a problem that overrides it need not write
    ``delta``) and set ``lower_bound``.

    Examples
    --------
    Balance of one covariate's group sums (two groups of equal size):

    >>> import numpy as np
    >>> from skassign.designs._search_problems import SwapProblem
    >>> class SumGap(SwapProblem):
    ...     def __init__(self, x):
    ...         self.x = x
    ...     def init(self, labels):
    ...         self.gap = self.x[labels == 0].sum() - self.x[labels == 1].sum()
    ...     def objective(self, labels):
    ...         return abs(self.x[labels == 0].sum() - self.x[labels == 1].sum())
    ...     def delta(self, labels, i, j):
    ...         sign = 1.0 if labels[i] == 0 else -1.0
    ...         step = 2.0 * sign * (self.x[j] - self.x[i])
    ...         return abs(self.gap + step) - abs(self.gap)
    ...     def apply(self, labels, i, j):
    ...         sign = 1.0 if labels[i] == 0 else -1.0
    ...         self.gap += 2.0 * sign * (self.x[j] - self.x[i])
    >>> problem = SumGap(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> problem.reset(np.array([0, 0, 1, 1]))
    >>> problem.value
    4.0
    >>> float(problem.delta(problem.labels, 0, 3))
    -2.0
    """

    def init(self, labels):
        """Compute the statistics of ``labels`` from scratch (default: none)."""

    def objective(self, labels):  # pragma: no cover - interface
        raise NotImplementedError

    def delta(self, labels, i, j):
        """Change of the objective if ``i`` and ``j`` exchange groups.

        The default calls an overridden :meth:`deltas`, or else recomputes
        the objective (correct, slow).
        """
        if type(self).deltas is not SwapProblem.deltas:
            return float(self.deltas(labels, np.array([i]), np.array([j]))[0])
        swapped = labels.copy()
        swapped[i], swapped[j] = labels[j], labels[i]
        return self.objective(swapped) - self.objective(labels)

    def apply(self, labels, i, j):
        """Update the statistics for the exchange of ``i`` and ``j``."""
        swapped = labels.copy()
        swapped[i], swapped[j] = labels[j], labels[i]
        self.init(swapped)

    def deltas(self, labels, i, j):
        """Vectorised :meth:`delta` over arrays of pairs ``i``, ``j``."""
        return np.array([self.delta(labels, a, b) for a, b in zip(i, j, strict=True)])

    # -- the batched protocol, from the methods above --------------------
    def reset(self, labels):
        self.labels = np.array(labels, dtype=np.int64)
        self.init(self.labels)
        self.value = float(self.objective(self.labels))

    def evaluate(self, units, new):
        if units.shape[1] != 2:
            raise ValueError("SwapProblem moves exchange two units (n_change=2).")
        i, j = units[:, 0], units[:, 1]
        changed = self.labels[i] != self.labels[j]
        delta = np.zeros(units.shape[0])
        if changed.any():
            delta[changed] = self.deltas(self.labels, i[changed], j[changed])
        return delta, changed, delta

    def apply_proposal(self, k, units, new, pieces):
        i, j = int(units[k, 0]), int(units[k, 1])
        if pieces is None:
            pieces = self.evaluate(units[k : k + 1], None)[0]
            k = 0
        self.value += float(pieces[k])
        self.apply(self.labels, i, j)
        self.labels[i], self.labels[j] = self.labels[j], self.labels[i]

    def refresh(self):
        self.init(self.labels)
        self.value = float(self.objective(self.labels))


class GroupSumsProblem(SwapProblem):
    """Objectives quadratic in the groups' sums of unit features.

    ``f(labels) = sum_g sum_k W[g, k] (S[g, k] - T[g, k])**2`` with
    ``S[g] = sum_{i in g} F[i]``. Exchanging two units changes two groups'
    sums by ``F[j] - F[i]``, so a move costs ``O(n_features)`` and is
    evaluated by a compiled kernel. Mean balance (``F = X``,
    ``T[g] = n_g xbar``, ``W[g] = 1 / n_g**2``), counts of categories per
    group (``F`` one-hot) and OSAT-like scores of batch layouts are of this
    form. The objective is never negative, so ``lower_bound`` is 0.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        ``F``, one row per unit.
    targets : ndarray of shape (n_groups, n_features)
        ``T``.
    weights : ndarray of shape (n_groups, n_features)
        ``W``, non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search_problems import GroupSumsProblem
    >>> F = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> problem = GroupSumsProblem(F, np.full((2, 1), 5.0), np.ones((2, 1)))
    >>> problem.reset(np.array([0, 0, 1, 1]))
    >>> problem.value, float(problem.delta(problem.labels, 1, 2))
    (8.0, -6.0)
    """

    lower_bound = 0.0

    def __init__(self, features, targets, weights):
        self.F = np.ascontiguousarray(features, dtype=np.float64)
        self.T = np.ascontiguousarray(targets, dtype=np.float64)
        self.W = np.ascontiguousarray(weights, dtype=np.float64)

    def _sums(self, labels):
        S = np.zeros_like(self.T)
        np.add.at(S, labels, self.F)
        return S

    def init(self, labels):
        self.S = self._sums(labels)

    def objective(self, labels):
        return float((self.W * (self._sums(labels) - self.T) ** 2).sum())

    def deltas(self, labels, i, j):
        from skassign.designs._search_kernels import group_sums_deltas

        out = np.empty(np.shape(i)[0])
        group_sums_deltas(
            self.F,
            self.W,
            self.S,
            self.T,
            labels,
            np.asarray(i, dtype=np.int64),
            np.asarray(j, dtype=np.int64),
            out,
        )
        return out

    def apply(self, labels, i, j):
        step = self.F[j] - self.F[i]
        self.S[labels[i]] += step
        self.S[labels[j]] -= step

    def walk(self, units, limits, best_value, stop_at, current):
        """Walk exchanges one at a time in a compiled loop (the engine's fast path).

        Proposal ``r`` (units ``units[r]``) is accepted when its change of
        the objective is at most ``limits[r]``; ``current[r]`` receives the
        objective after it. Stops once the best objective reaches
        ``stop_at``. Returns the number of proposals walked, the number of
        accepted exchanges, the best objective and its labels (``None`` if
        it did not improve on ``best_value``).
        """
        from skassign.designs._search_kernels import group_sums_walk

        best_labels = self.labels.copy()
        value, best, n_done, _, n_moved = group_sums_walk(
            self.F,
            self.W,
            self.S,
            self.T,
            self.labels,
            np.ascontiguousarray(units, dtype=np.int64),
            np.ascontiguousarray(limits, dtype=np.float64),
            self.value,
            best_value,
            best_labels,
            stop_at,
            current,
        )
        self.value = float(value)
        return n_done, n_moved, float(best), best_labels if best < best_value else None
