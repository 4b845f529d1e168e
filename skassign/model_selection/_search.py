"""Splitters for hyper-parameter search over designs."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator, GridSearchCV
from sklearn.utils import indexable

from skassign.model_selection._experiment import _n_samples, _validate_constraints
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import (
    Interval,
)
from skassign.utils._random import check_random_state
from skassign.utils._repr import DocLinkMixin

__all__ = ["DesignSearchCV", "FullSample"]


class FullSample(BaseCrossValidator):
    """Splitter whose training and test sets are the same units.

    A design assigns, and can only be scored on, the units it was fit on, so
    a grid search over a design's parameters must fit and score every
    candidate on the same units. ``FullSample`` yields ``n_repeats`` splits
    ``(idx, idx)``: all units when ``subsample=1.0``, otherwise a random
    subsample of ``round(subsample * n_samples)`` units per repeat, which
    gives every candidate a mean and a standard deviation of its score over
    subsamples. (An ordinary ``cv=3`` scores units the design never saw: the
    design's ``score`` raises, and ``GridSearchCV`` silently turns every
    score into NaN unless ``error_score="raise"``.)

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    n_repeats : int, default=1
        Number of splits.
    subsample : float in (0, 1], default=1.0
        Share of the units in every split. With ``1.0`` every split holds all
        units (then repeats differ only if the design's own ``random_state``
        is ``None``).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsamples. An integer gives the same splits on every
        call to :meth:`split`.

    See Also
    --------
    Experiment : Leave-one-arm-out splitter for outcome models.
    skassign.metrics.make_balance_scorer : Scorers with a fixed yardstick.
    skassign.metrics.make_randomness_scorer : Scorer rewarding randomness.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skassign.designs import Rerandomization
    >>> from skassign.metrics import neg_max_abs_smd_scorer
    >>> from skassign.model_selection import FullSample
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> cv = FullSample(n_repeats=3, subsample=0.8, random_state=0)
    >>> [(train.size, bool((train == test).all())) for train, test in cv.split(X)]
    [(16, True), (16, True), (16, True)]
    >>> search = GridSearchCV(
    ...     Rerandomization(random_state=0),
    ...     {"acceptance_prob": [0.01, 1.0]},
    ...     scoring=neg_max_abs_smd_scorer,
    ...     cv=cv,
    ...     error_score="raise",
    ... ).fit(X)
    >>> search.best_params_
    {'acceptance_prob': 0.01}
    >>> search.best_estimator_.labels_.shape
    (20,)
    """

    _parameter_constraints: dict = {
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_repeats=1, *, subsample=1.0, random_state=None):
        self.n_repeats = n_repeats
        self.subsample = subsample
        self.random_state = random_state

    def _validate_params(self):
        _validate_constraints(self)

    @fill_doc
    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_repeats``.

        %(splitter_n_splits)s
        """
        self._validate_params()
        return int(self.n_repeats)

    @fill_doc
    def split(self, X, y=None, groups=None):
        """Generate ``(idx, idx)`` pairs: the same units to fit and to score.

        %(split_X_y)s
        groups : object
            Ignored, exists for compatibility.

        Yields
        ------
        train : ndarray
            Sorted indices of the units of this split.
        test : ndarray
            The same indices.
        """
        self._validate_params()
        X, y, groups = indexable(X, y, groups)
        n_samples = _n_samples(X)
        n_take = int(round(self.subsample * n_samples))
        if n_take < 1:
            raise ValueError(
                f"subsample={self.subsample} of n_samples={n_samples} keeps no "
                "unit; increase subsample."
            )
        rng = check_random_state(self.random_state)
        for _ in range(self.n_repeats):
            if n_take == n_samples:
                idx = np.arange(n_samples)
            else:
                idx = np.sort(rng.choice(n_samples, n_take, replace=False))
            yield idx, idx.copy()


def _prefer_randomness(min_randomness):
    """Refit rule: the best balance among the candidates random enough."""

    def choose(cv_results):
        balance = np.asarray(cv_results["mean_test_balance"], dtype=float)
        randomness = np.asarray(cv_results["mean_test_randomness"], dtype=float)
        enough = randomness >= min_randomness * np.nanmax(randomness)
        return int(np.flatnonzero(enough)[np.nanargmax(balance[enough])])

    return choose


class DesignSearchCV(DocLinkMixin, GridSearchCV):
    """Grid search over a design's parameters, with defaults made for designs.

    A :class:`~sklearn.model_selection.GridSearchCV` whose defaults are the
    right ones for designs: every candidate is fit and scored on the same
    units (``cv=FullSample()``), a scoring failure raises instead of
    silently becoming NaN (``error_score="raise"``), and candidates are
    scored on the balance–randomness trade-off: ``"balance"``, minus the
    imbalance of the assignment measured with a fixed yardstick
    (:func:`~skassign.metrics.make_balance_scorer`), and ``"randomness"``,
    how much the assignment changes when the design is refit with other
    seeds (:func:`~skassign.metrics.make_randomness_scorer`). Balance alone
    always favours the most deterministic setting; the refit therefore
    takes the best-balanced candidate among those keeping at least
    ``min_randomness`` of the largest randomness in the grid. The trade-off
    is :attr:`tradeoff_` (a table) and
    :func:`skassign.plotting.plot_tradeoff` (a plot).

    Fit parameters (``fixed_labels``, ``strata``, or ``step__fixed_labels``
    in a Pipeline) reach every fit, including the randomness scorer's refits.

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    estimator : design or Pipeline ending in one
        The design to tune.
    param_grid : dict or list of dict
        Parameter names (``step__name`` in a Pipeline) and values to try.
    balance : str or list of str, default="smd"
        Yardstick of the ``"balance"`` score, a ``metric`` of
        :func:`~skassign.metrics.make_balance_scorer` (a list takes the
        worst of several, e.g. ``["smd", "variance_ratio"]``). Ignored when
        ``scoring`` is given.
    min_randomness : float in [0, 1], default=0.5
        Share of the grid's largest randomness the refitted candidate must
        keep. ``0`` picks the best balance whatever its randomness. Used by
        ``refit=True`` with the default scoring.
    n_draws : int, default=10
        Refits per candidate of the randomness score.
    scoring : str, callable, dict or None, default=None
        As in ``GridSearchCV``; ``None`` scores ``"balance"`` and
        ``"randomness"`` as described above.
    refit : bool, str or callable, default=True
        As in ``GridSearchCV``; ``True`` with the default scoring uses the
        rule above.
    cv : int, cross-validation generator, iterable or None, default=None
        ``None`` is :class:`FullSample` ``()`` (all units, one split).
    n_jobs : int or None, default=None
        Candidates fit in parallel.
    verbose : int, default=0
        As in ``GridSearchCV``.
    pre_dispatch : int or str, default="2*n_jobs"
        As in ``GridSearchCV``.
    error_score : "raise" or float, default="raise"
        As in ``GridSearchCV``, but raising by default.
    return_train_score : bool, default=False
        As in ``GridSearchCV`` (train and test units are the same).
    random_state : int, RandomState instance or None, default=0
        Seeds of the randomness score's refits.

    Attributes
    ----------
    tradeoff_ : pandas.DataFrame
        One row per candidate: its parameters, ``imbalance`` (minus the
        mean balance score), ``randomness``, ``pareto`` (no other candidate
        is both better balanced and more random) and ``chosen`` (the refit
        one). Only with the default scoring.
    best_estimator_, best_params_, best_index_, cv_results_, ...
        As in ``GridSearchCV``.

    See Also
    --------
    FullSample : The splitter used.
    skassign.plotting.plot_tradeoff : Plot of :attr:`tradeoff_`.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import Rerandomization
    >>> from skassign.model_selection import DesignSearchCV
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> search = DesignSearchCV(
    ...     Rerandomization(random_state=0), {"acceptance_prob": [1.0, 0.1, 0.01]}
    ... ).fit(X)
    >>> search.tradeoff_.round(3)
       acceptance_prob  imbalance  randomness  pareto  chosen
    0             1.00      0.436       0.499    True   False
    1             0.10      0.163       0.489   False   False
    2             0.01      0.043       0.491    True    True
    >>> search.best_estimator_.labels_.shape
    (20,)
    """

    _parameter_constraints: dict = {
        **GridSearchCV._parameter_constraints,
        "balance": [str, list, tuple],
        "min_randomness": [Interval(Real, 0, 1, closed="both")],
        "n_draws": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        balance="smd",
        min_randomness=0.5,
        n_draws=10,
        scoring=None,
        refit=True,
        cv=None,
        n_jobs=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score="raise",
        return_train_score=False,
        random_state=0,
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            refit=refit,
            cv=cv,
            n_jobs=n_jobs,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.balance = balance
        self.min_randomness = min_randomness
        self.n_draws = n_draws
        self.random_state = random_state

    def fit(self, X, y=None, **params):
        """Fit every candidate on ``X`` and refit the chosen one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units.
        y : None
            Ignored.
        **params : dict
            Fit parameters of the estimator (e.g. ``fixed_labels``,
            ``strata``, or ``design__strata`` in a Pipeline).

        Returns
        -------
        self : object
            The fitted search.
        """
        from skassign.metrics import make_balance_scorer, make_randomness_scorer

        default = self.scoring is None
        resolved = {
            "cv": FullSample() if self.cv is None else self.cv,
            "scoring": self.scoring,
            "refit": self.refit,
        }
        if default:
            resolved["scoring"] = {
                "balance": make_balance_scorer(self.balance),
                "randomness": make_randomness_scorer(
                    self.n_draws, random_state=self.random_state
                ),
            }
            if self.refit is True:
                resolved["refit"] = _prefer_randomness(self.min_randomness)
        given = {key: getattr(self, key) for key in resolved}
        # GridSearchCV reads these attributes in fit; they are restored after,
        # so that get_params still returns what the user set.
        try:
            for key, value in resolved.items():
                setattr(self, key, value)
            with warnings.catch_warnings():
                # One warning per deterministic candidate would drown the
                # result; the table's randomness column says it.
                warnings.filterwarnings(
                    "ignore", message=".*deterministic up to the names of the arms"
                )
                super().fit(X, y, **params)
        finally:
            for key, value in given.items():
                setattr(self, key, value)
        if default:
            self.tradeoff_ = self._tradeoff_table()
        return self

    def _tradeoff_table(self):
        import pandas as pd

        results = self.cv_results_
        table = pd.DataFrame(list(results["params"]))
        table["imbalance"] = -np.asarray(results["mean_test_balance"], dtype=float)
        table["randomness"] = np.asarray(results["mean_test_randomness"], dtype=float)
        imbalance = table["imbalance"].to_numpy()
        randomness = table["randomness"].to_numpy()
        dominated = [
            bool(
                np.any(
                    (imbalance <= imbalance[i])
                    & (randomness >= randomness[i])
                    & ((imbalance < imbalance[i]) | (randomness > randomness[i]))
                )
            )
            for i in range(len(table))
        ]
        table["pareto"] = ~np.asarray(dominated, dtype=bool)
        chosen = np.zeros(len(table), dtype=bool)
        if hasattr(self, "best_index_"):
            chosen[self.best_index_] = True
        table["chosen"] = chosen
        return table
