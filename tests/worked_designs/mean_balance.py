"""A search-backed design in a few lines: mean balance by local search."""

from numbers import Integral

import numpy as np

from skassign._sampling import draw_assignments
from skassign.base import BaseDesign
from skassign.designs._search import LocalSearch
from skassign.designs._search_problems import SwapProblem
from skassign.utils._param_validation import Interval, StrOptions


class _MeanGaps(SwapProblem):
    """Sum over groups of the squared gaps of standardised means to the sample's."""

    def __init__(self, Z, sizes):
        self.Z, self.sizes, self.zbar = Z, sizes, Z.mean(axis=0)

    def init(self, labels):  # statistics: the groups' sums
        self.S = np.stack([self.Z[labels == g].sum(0) for g in range(len(self.sizes))])

    def objective(self, labels):
        S = np.stack([self.Z[labels == g].sum(0) for g in range(len(self.sizes))])
        return float(((S / self.sizes[:, None] - self.zbar) ** 2).sum())

    def deltas(self, labels, i, j):  # i leaves group p for q, j goes the other way
        p, q, step = labels[i], labels[j], self.Z[j] - self.Z[i]
        n_p, n_q = self.sizes[p][:, None], self.sizes[q][:, None]
        gap_p, gap_q = self.S[p] / n_p - self.zbar, self.S[q] / n_q - self.zbar
        change_p = ((gap_p + step / n_p) ** 2 - gap_p**2).sum(axis=1)
        return change_p + ((gap_q - step / n_q) ** 2 - gap_q**2).sum(axis=1)

    def apply(self, labels, i, j):
        self.S[labels[i]] += self.Z[j] - self.Z[i]
        self.S[labels[j]] -= self.Z[j] - self.Z[i]


class MeanBalance(BaseDesign):
    """Assignment whose standardised group means are closest to the sample's.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups.
    group_sizes : array-like of int or None, default=None
        Size of every group; ``None`` makes them as equal as possible.
    method : {"anneal", "descent", "tabu"}, default="anneal"
        Acceptance rule of the local search.
    max_iter : int, default=2000
        Iterations of the search.
    random_state : int, RandomState instance or None, default=None
        Seed of the start and of the search.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Group of each unit.
    objective_ : float
        Sum over groups of the squared standardised mean gaps.
    trace_ : ndarray of shape (n_iter_ + 1,)
        Best objective after every iteration of the search.
    n_iter_ : int
        Iterations run.

    Examples
    --------
    >>> import numpy as np
    >>> from tests.worked_designs.mean_balance import MeanBalance
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> design = MeanBalance(random_state=0).fit(X)
    >>> np.bincount(design.labels_).tolist(), design.objective_ < 0.01
    ([10, 10], True)
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "method": [StrOptions({"anneal", "descent", "tabu"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_groups=2, *, group_sizes=None, method="anneal",
                 max_iter=2000, random_state=None):  # fmt: skip
        self.n_groups, self.group_sizes, self.method = n_groups, group_sizes, method
        self.max_iter, self.random_state = max_iter, random_state

    def _problem(self, X, sizes):
        return _MeanGaps(X / np.where(X.std(0) > 0, X.std(0), 1.0), sizes)

    def _assign(self, X, sizes, fixed, rng):
        start, free = draw_assignments(sizes, fixed, rng), np.flatnonzero(fixed < 0)
        search = LocalSearch(self.method, max_iter=self.max_iter)
        result = search.run(self._problem(X, sizes), start, free, rng)
        self.trace_, self.n_iter_ = result.trace, result.n_iter
        return result.labels

    def _objective(self, X, labels):
        sizes = np.bincount(labels, minlength=self.n_groups)
        return self._problem(X, sizes).objective(labels)
