"""Scorers for ``GridSearchCV(scoring=...)`` over designs.

A scorer is a callable ``scorer(estimator, X, y=None) -> float`` (higher is
better). Balance scorers measure the fitted assignment with a fixed yardstick,
so that a grid over a design's own tuning parameters (``rho``, a temperature)
is not decided by the design's own objective; the randomness scorer measures
how much the assignment still varies with the seed, which randomisation
inference needs.
"""

from __future__ import annotations

from itertools import combinations
from numbers import Integral

import numpy as np
from sklearn.base import clone

from skassign.metrics._balance import (
    ks_statistic,
    mahalanobis_imbalance,
    standardized_mean_difference,
    variance_ratio,
)
from skassign.utils._param_validation import Interval, StrOptions, validate_params
from skassign.utils._random import set_random_states, spawn_seeds
from skassign.utils.validation import get_labels

__all__ = [
    "assignment_diversity",
    "make_balance_scorer",
    "make_randomness_scorer",
    "neg_mahalanobis_scorer",
    "neg_max_abs_smd_scorer",
    "neg_max_ks_scorer",
    "neg_max_log_variance_ratio_scorer",
]


def _design_input(estimator, X):
    """Covariates as the design saw them: X through every preprocessing step."""
    while getattr(estimator, "steps", None):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    return X


def _abs_log_ratio(X, labels):
    with np.errstate(divide="ignore"):
        return np.abs(np.log(variance_ratio(X, labels)))


_METRICS = {
    "smd": lambda X, labels: np.abs(standardized_mean_difference(X, labels)),
    "variance_ratio": _abs_log_ratio,
    "ks": ks_statistic,
    "mahalanobis": lambda X, labels: np.array([mahalanobis_imbalance(X, labels)]),
}
_AGGREGATES = {"max": np.max, "mean": np.mean}


class _BalanceScorer:
    """Minus an aggregate imbalance of a fitted design's assignment."""

    def __init__(self, metric, aggregate):
        self.metric = metric
        self.aggregate = aggregate

    def __call__(self, estimator, X, y=None):
        labels = get_labels(estimator)
        Xd = _design_input(estimator, X)
        if len(labels) != len(Xd):
            raise ValueError(
                f"The scorer got {len(Xd)} units but the design assigned "
                f"{len(labels)}; score designs on the units they were fit on "
                "(cv=FullSample(), not KFold)."
            )
        values = _METRICS[self.metric](Xd, labels)
        return -float(_AGGREGATES[self.aggregate](values))

    def __repr__(self):
        return (
            f"make_balance_scorer(metric={self.metric!r}, aggregate={self.aggregate!r})"
        )


@validate_params(
    {
        "metric": [StrOptions(set(_METRICS))],
        "aggregate": [StrOptions(set(_AGGREGATES))],
    },
    prefer_skip_nested_validation=True,
)
def make_balance_scorer(metric="smd", *, aggregate="max"):
    """Make a scorer measuring balance with a fixed yardstick.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    metric : {"smd", "variance_ratio", "ks", "mahalanobis"}, default="smd"
        Absolute standardised mean difference, absolute log variance ratio,
        Kolmogorov-Smirnov statistic, or (largest pairwise) Mahalanobis
        imbalance.
    aggregate : {"max", "mean"}, default="max"
        How per-covariate and per-pair values are combined.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None)`` returning minus the aggregate, so
        that higher is better. ``estimator`` is a fitted design or a Pipeline
        ending in one; ``X`` are the units it was fit on (the Pipeline's
        preprocessing is applied first).

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.metrics import make_balance_scorer
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> scorer = make_balance_scorer("smd")
    >>> design = CompleteRandomization(random_state=0).fit(X)
    >>> scorer(design, X) <= 0
    True
    """
    return _BalanceScorer(metric, aggregate)


neg_max_abs_smd_scorer = make_balance_scorer("smd")
neg_max_log_variance_ratio_scorer = make_balance_scorer("variance_ratio")
neg_max_ks_scorer = make_balance_scorer("ks")
neg_mahalanobis_scorer = make_balance_scorer("mahalanobis")


@validate_params({"assignments": ["array-like"]}, prefer_skip_nested_validation=True)
def assignment_diversity(assignments):
    """How much a set of assignments differ, ignoring the names of the arms.

    For two assignments, the share of unit pairs ``i < j`` that are together
    (same arm) in one and apart in the other; averaged over all pairs of
    assignments. 0 means every assignment splits the units identically.

    Parameters
    ----------
    assignments : array-like of shape (n_assignments, n_samples)
        Labels of several assignments of the same units.

    Returns
    -------
    diversity : float
        Mean pairwise co-assignment disagreement, in ``[0, 1]``.

    Examples
    --------
    >>> from skassign.metrics import assignment_diversity
    >>> assignment_diversity([[0, 0, 1, 1], [1, 1, 0, 0]])
    0.0
    >>> round(assignment_diversity([[0, 0, 1, 1], [0, 1, 0, 1]]), 3)
    0.667
    """
    A = np.asarray(assignments)
    if A.ndim != 2 or A.shape[0] < 2 or A.shape[1] < 2:
        raise ValueError(
            "assignments must be a 2-D array with at least two assignments of "
            "at least two units."
        )
    iu = np.triu_indices(A.shape[1], k=1)
    together = np.stack([(a[:, None] == a[None, :])[iu] for a in A])
    total = 0.0
    for r, s in combinations(range(A.shape[0]), 2):
        total += np.mean(together[r] != together[s])
    return float(total / (A.shape[0] * (A.shape[0] - 1) / 2))


class _RandomnessScorer:
    """Diversity of the assignments of reseeded clones of the estimator."""

    def __init__(self, n_draws, random_state):
        self.n_draws = n_draws
        self.random_state = random_state

    def __call__(self, estimator, X, y=None):
        draws = [
            get_labels(set_random_states(clone(estimator), seed).fit(X))
            for seed in spawn_seeds(self.random_state, self.n_draws)
        ]
        return float(assignment_diversity(np.vstack(draws)))

    def __repr__(self):
        return (
            f"make_randomness_scorer(n_draws={self.n_draws}, "
            f"random_state={self.random_state!r})"
        )


@validate_params(
    {
        "n_draws": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_randomness_scorer(n_draws=10, *, random_state=0):
    """Make a scorer measuring how much a design's assignment varies.

    The scorer refits ``n_draws`` clones of the estimator with fresh seeds on
    the same units and returns their :func:`assignment_diversity`. A design
    that always returns the same split scores 0 and cannot be analysed by a
    randomisation test; combine this with a balance scorer in a multi-metric
    grid search to trade balance for randomness.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    n_draws : int, default=10
        Number of reseeded refits.
    random_state : int, RandomState instance or None, default=0
        Seeds of the refits.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None)`` in ``[0, 1]``, higher is more random.

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.metrics import make_randomness_scorer
    >>> X = [[float(i)] for i in range(8)]
    >>> scorer = make_randomness_scorer(5)
    >>> scorer(CompleteRandomization().fit(X), X) > 0
    True
    """
    return _RandomnessScorer(n_draws, random_state)
