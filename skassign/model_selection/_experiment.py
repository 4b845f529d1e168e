"""The Experiment splitter: leave-one-arm-out splits of a design's assignment."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import indexable

from skassign.base import is_design
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    validate_parameter_constraints,
)
from skassign.utils._random import set_random_states
from skassign.utils.validation import check_labels, final_step, get_labels

__all__ = ["Experiment"]


def _n_samples(X):
    """Return the number of rows of an array, DataFrame, sparse matrix or list."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def _validate_constraints(splitter):
    """Check a splitter's parameters against its ``_parameter_constraints``.

    Splitters are not estimators (no ``get_params``): the parameters checked
    are the attributes named in the constraints.
    """
    validate_parameter_constraints(
        splitter._parameter_constraints,
        {name: getattr(splitter, name) for name in splitter._parameter_constraints},
        caller_name=type(splitter).__name__,
    )


class Experiment(BaseCrossValidator):
    """Leave-one-arm-out splitter over the assignment of a design.

    ``Experiment`` fits a clone of ``design`` (a design or a Pipeline ending in
    one) on the units and splits them by arm: every split tests one arm and
    trains on the others. It is a scikit-learn cross-validator, so it works as
    ``cv=`` in :func:`~sklearn.model_selection.cross_validate`,
    :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_val_predict`. Because the arms
    partition the units, ``cross_val_predict(regressor, X, y, cv=experiment)``
    predicts every unit's outcome from the model fit on the other arm(s): with
    two arms this imputes each unit's missing potential outcome (a T-learner).

    The clone is reseeded with :func:`~skassign.utils.set_random_states` from
    the integer ``random_state``, so every call to :meth:`split`,
    :meth:`arms` and :meth:`assignment` sees the same assignment; the split
    equals :class:`~sklearn.model_selection.PredefinedSplit` with
    ``test_fold=labels``.

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    design : estimator or None, default=None
        A design, or a Pipeline whose last step is a design. It is cloned,
        never fitted in place. ``None`` with ``labels``.
    labels : array-like of shape (n_samples,) or None, default=None
        The arms of an assignment already made, instead of a design (see
        :meth:`from_assignment`).
    random_state : int, default=0
        Seed of the assignment. It must be an integer: the assignment has to
        be the same on every call, since scikit-learn's tools call
        :meth:`split` and :meth:`get_n_splits` separately.
    fit_params : dict or None, default=None
        Passed to the design's ``fit``, for example ``{"fixed_labels": ...}``
        or, for a Pipeline, ``{"<step>__strata": ...}``.

    See Also
    --------
    FullSample : Splitter for grid searches over designs (train equals test).
    sklearn.model_selection.PredefinedSplit : The same splits from given
        labels.

    Notes
    -----
    ``get_n_splits`` reads ``n_groups`` from the design's parameters (the last
    step of a Pipeline) without fitting. With more than two arms each
    training set pools all other arms; fit per-arm models explicitly from
    :meth:`arms` when the arms must stay apart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.model_selection import cross_val_predict
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.model_selection import Experiment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 2))
    >>> experiment = Experiment(CompleteRandomization(), random_state=0)
    >>> experiment.get_n_splits()
    2
    >>> [arm.size for arm in experiment.arms(X)]
    [6, 6]
    >>> treated = experiment.assignment(X) == 1
    >>> y = X @ [1.0, 2.0] + 3.0 * treated + rng.normal(scale=0.1, size=12)
    >>> predicted = cross_val_predict(LinearRegression(), X, y, cv=experiment)
    >>> effect = np.where(treated, y - predicted, predicted - y).mean()
    >>> f"{effect:.1f}"
    '3.0'
    """

    _parameter_constraints: dict = {
        "design": [HasMethods(["fit", "get_params"]), None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both")],
        "fit_params": [dict, None],
    }

    def __init__(self, design=None, *, labels=None, random_state=0, fit_params=None):
        self.design = design
        self.labels = labels
        self.random_state = random_state
        self.fit_params = fit_params

    @classmethod
    def from_assignment(cls, labels):
        """Experiment over an assignment already made (and perhaps run).

        The splits follow the given arms: no design is fit. Use it to
        analyse an experiment whose assignment came from elsewhere, or from
        a design fit earlier.

        Parameters
        ----------
        labels : array-like of shape (n_samples,)
            Arm of every unit, ``0..n_groups-1`` (every arm present).

        Returns
        -------
        experiment : Experiment
            ``Experiment(labels=labels)``.

        Examples
        --------
        >>> import numpy as np
        >>> from skassign.model_selection import Experiment
        >>> experiment = Experiment.from_assignment([0, 1, 1, 0, 1, 0])
        >>> X = np.zeros((6, 1))
        >>> [test.tolist() for _, test in experiment.split(X)]
        [[0, 3, 5], [1, 2, 4]]
        """
        return cls(labels=labels)

    def _validate_params(self):
        if self.labels is not None:
            if self.design is not None:
                raise ValueError(
                    "Give Experiment either a design or the labels of an "
                    "assignment already made, not both."
                )
            check_labels(self.labels, name="labels")
            return
        if self.design is None:
            raise ValueError(
                "Experiment needs a design (Experiment(design)) or the labels of "
                "an assignment already made (Experiment.from_assignment(labels))."
            )
        _validate_constraints(self)
        if not is_design(self.design):
            raise ValueError(
                "Experiment needs a skassign design or a Pipeline ending in one; "
                f"got {type(self.design).__name__}. Put the design last, e.g. "
                "make_pipeline(StandardScaler(), Rerandomization())."
            )
        if isinstance(self.random_state, bool):
            raise ValueError(
                "Experiment needs an integer random_state so that every split "
                f"sees the same assignment; got {self.random_state!r}."
            )

    @fill_doc
    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits: the design's number of arms.

        %(splitter_n_splits)s
        """
        self._validate_params()
        if self.labels is not None:
            return int(check_labels(self.labels, name="labels").max()) + 1
        n_groups = final_step(self.design).get_params().get("n_groups")
        if not isinstance(n_groups, Integral) or isinstance(n_groups, bool):
            raise ValueError(
                f"The design's n_groups must be an integer; got {n_groups!r}."
            )
        return int(n_groups)

    @fill_doc
    def assignment(self, X, y=None, groups=None):
        """Fit a reseeded clone of the design on ``X`` and return its labels.

        With ``labels`` given instead of a design, return them (checked
        against ``X``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units (raw, if the design is a Pipeline).
        %(ignored_y_groups)s

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            Arm of every unit, ``0..n_groups-1``; the same on every call.
        """
        n_groups = self.get_n_splits()
        if self.labels is not None:
            return check_labels(
                self.labels, _n_samples(X), n_groups=n_groups, name="labels"
            )
        design = set_random_states(clone(self.design), self.random_state)
        design.fit(X, **(self.fit_params or {}))
        labels = check_labels(
            get_labels(design), _n_samples(X), n_groups=n_groups, name="labels_"
        )
        return labels

    @fill_doc
    def arms(self, X, y=None, groups=None):
        """Return the indices of the units of every arm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units.
        %(ignored_y_groups)s

        Returns
        -------
        arms : list of ndarray
            ``arms[g]`` holds the sorted indices of the units in arm ``g``,
            for ``g = 0..n_groups-1``.
        """
        labels = self.assignment(X)
        return [np.flatnonzero(labels == g) for g in range(self.get_n_splits())]

    @fill_doc
    def split(self, X, y=None, groups=None):
        """Generate leave-one-arm-out ``(train, test)`` index pairs.

        %(split_X_y)s
        groups : object
            Ignored: an Experiment splits by the design's arms.

        Yields
        ------
        train : ndarray
            Indices of the units in the other arms.
        test : ndarray
            Indices of the units in one arm, arm 0 first.
        """
        if groups is not None:
            warnings.warn(
                f"The groups parameter is ignored by {type(self).__name__}: it "
                "splits by the arms of its design.",
                UserWarning,
                stacklevel=2,
            )
        X, y, groups = indexable(X, y, groups)
        arms = self.arms(X)
        indices = np.arange(sum(arm.size for arm in arms))
        for test in arms:
            train = np.setdiff1d(indices, test, assume_unique=True)
            yield train, test
