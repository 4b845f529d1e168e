"""Splitters for hyper-parameter search over designs."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state, indexable

from skassign.model_selection._experiment import _n_samples
from skassign.utils._param_validation import (
    Interval,
    validate_parameter_constraints,
)

__all__ = ["FullSample"]


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
        validate_parameter_constraints(
            self._parameter_constraints,
            {
                "n_repeats": self.n_repeats,
                "subsample": self.subsample,
                "random_state": self.random_state,
            },
            caller_name=type(self).__name__,
        )

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_repeats``.

        Parameters
        ----------
        X : object
            Ignored, exists for compatibility.
        y : object
            Ignored, exists for compatibility.
        groups : object
            Ignored, exists for compatibility.

        Returns
        -------
        n_splits : int
            ``n_repeats``.
        """
        self._validate_params()
        return int(self.n_repeats)

    def split(self, X, y=None, groups=None):
        """Generate ``(idx, idx)`` pairs: the same units to fit and to score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units.
        y : array-like of shape (n_samples,), default=None
            Ignored apart from its length.
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
