"""Scorers for ``GridSearchCV(scoring=...)`` over designs.

A scorer is a callable ``scorer(estimator, X, y=None) -> float`` (higher is
better). Balance scorers measure the fitted assignment with a fixed yardstick,
so that a grid over a design's own tuning parameters (``rho``, a temperature)
is not decided by the design's own objective; the randomness scorer measures
how much the assignment still varies with the seed, which randomisation
inference needs.
"""

from __future__ import annotations

import warnings
from itertools import combinations
from numbers import Integral

import numpy as np

from skassign.metrics._balance import (
    ks_statistic,
    mahalanobis_imbalance,
    standardized_mean_difference,
    variance_ratio,
)
from skassign.utils._param_validation import Interval, StrOptions, validate_params
from skassign.utils.validation import final_step, get_labels

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
                f"{len(labels)}; score designs on the units they were fit on: "
                "use skassign.model_selection.DesignSearchCV, or "
                "GridSearchCV(..., cv=FullSample()), not KFold."
            )
        design = final_step(estimator)
        if hasattr(design, "_check_fitted_units"):
            # Same length is not same units (KFold halves): check, and take
            # the covariates as the design saw them (a strata column out).
            Xd = design._check_fitted_units(Xd, "score")
        metrics = [self.metric] if isinstance(self.metric, str) else self.metric
        worst = max(
            float(_AGGREGATES[self.aggregate](_METRICS[metric](Xd, labels)))
            for metric in metrics
        )
        return -worst

    def __repr__(self):
        return (
            f"make_balance_scorer(metric={self.metric!r}, aggregate={self.aggregate!r})"
        )


@validate_params(
    {
        "metric": [StrOptions(set(_METRICS)), list, tuple],
        "aggregate": [StrOptions(set(_AGGREGATES))],
    },
    prefer_skip_nested_validation=True,
)
def make_balance_scorer(metric="smd", *, aggregate="max"):
    """Make a scorer measuring balance with a fixed yardstick.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    metric : {"smd", "variance_ratio", "ks", "mahalanobis"} or list of them, \
            default="smd"
        Absolute standardised mean difference, absolute log variance ratio,
        Kolmogorov-Smirnov statistic, or (largest pairwise) Mahalanobis
        imbalance. A list scores the worst of them (for example
        ``["smd", "variance_ratio"]``: means and spreads).
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
    if not isinstance(metric, str):
        unknown = [m for m in metric if m not in _METRICS]
        if unknown or not metric:
            raise ValueError(
                f"metric must be one of {sorted(_METRICS)} or a non-empty list of "
                f"them; got {metric!r}."
            )
        metric = list(metric)
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


def _refit_params(estimator):
    """Fit parameters the fitted design was given (fixed units, strata).

    Prefixed with the final step's name when ``estimator`` is a Pipeline
    (unless metadata routing is enabled), so that a refit of the whole
    estimator routes them to the design.
    """
    import sklearn

    # With metadata routing the Pipeline routes plain names to the design
    # (which requested them); without it, step names prefix them.
    routed = sklearn.get_config().get("enable_metadata_routing", False)
    params, prefix = {}, ""
    while getattr(estimator, "steps", None):
        if not routed:
            prefix += f"{estimator.steps[-1][0]}__"
        estimator = estimator.steps[-1][1]
    for key, value in getattr(estimator, "_fit_params", {}).items():
        params[prefix + key] = value
    return params


class _RandomnessScorer:
    """Diversity of the assignments of reseeded clones of the estimator."""

    def __init__(self, n_draws, n_jobs, random_state):
        self.n_draws = n_draws
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __call__(self, estimator, X, y=None):
        from skassign.base import sample_assignments

        draws = sample_assignments(
            estimator,
            X,
            self.n_draws,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            fit_params=_refit_params(estimator),
        )
        diversity = float(assignment_diversity(draws))
        if diversity == 0.0:
            warnings.warn(
                f"{type(estimator).__name__} split the units identically in all "
                f"{self.n_draws} refits with other seeds: it is deterministic up "
                "to the names of the arms, so its randomness score is 0 (and "
                "computing it cost those refits). A randomisation test cannot "
                "analyse such a design; use BootstrapTest, or compare balance "
                "only.",
                UserWarning,
                stacklevel=2,
            )
        return diversity

    def __repr__(self):
        return (
            f"make_randomness_scorer(n_draws={self.n_draws}, n_jobs={self.n_jobs}, "
            f"random_state={self.random_state!r})"
        )


@validate_params(
    {
        "n_draws": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_randomness_scorer(n_draws=10, *, n_jobs=None, random_state=0):
    """Make a scorer measuring how much a design's assignment varies.

    The scorer refits ``n_draws`` clones of the fitted estimator with fresh
    seeds on the same units, with the fit parameters the estimator was
    given (fixed units and strata, routed to the design step of a
    Pipeline), and returns their :func:`assignment_diversity`. A design that
    always returns the same split scores 0 (with a warning) and cannot be
    analysed by a randomisation test; combine this with a balance scorer to
    trade balance for randomness
    (:class:`~skassign.model_selection.DesignSearchCV` does by default).

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    n_draws : int, default=10
        Number of reseeded refits.
    n_jobs : int or None, default=None
        Number of refits run in parallel (joblib semantics); the score does
        not depend on it.
    random_state : int, RandomState instance or None, default=0
        Seeds of the refits.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None)`` in ``[0, 1]``, higher is more random.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.metrics import make_randomness_scorer
    >>> X = [[float(i)] for i in range(20)]
    >>> scorer = make_randomness_scorer(5)
    >>> round(scorer(CompleteRandomization().fit(X), X), 3)
    0.497

    Units already assigned stay assigned in every refit:

    >>> fixed = np.r_[np.repeat([0, 1], 9), -1, -1]
    >>> design = CompleteRandomization().fit(X, fixed_labels=fixed)
    >>> round(scorer(design, X), 3)
    0.114
    """
    return _RandomnessScorer(n_draws, n_jobs, random_state)
