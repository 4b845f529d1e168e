"""Base classes of every design: the assignment contract written once.

A design assigns the units it is fit on to groups (it is transductive, like
clustering). :class:`BaseDesign` owns everything designs share: input
validation, group sizes, partial assignment (``fixed_labels``), the random
relabeling of interchangeable groups, the feasibility check of the result,
``labels_``/``group_sizes_``/``objective_``, and the transformer face
(``transform`` returns the labels as a ``group`` column for the fitted units).
A concrete design implements :meth:`BaseDesign._assign` and, if it optimises
something, :meth:`BaseDesign._objective`.
"""

from __future__ import annotations

import hashlib
import inspect
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from skassign.exceptions import SolverError, SolverWarning
from skassign.metrics._balance import mahalanobis_imbalance
from skassign.utils._parallel import parallel_in_order
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    _fit_context,
    validate_params,
)
from skassign.utils._random import set_random_states, spawn_seeds
from skassign.utils._repr import DocLinkMixin
from skassign.utils._strata import (
    Strata,
    check_strata,
    make_strata,
    split_strata_column,
)
from skassign.utils.validation import (
    check_assignment,
    check_fixed_labels,
    final_step,
    get_labels,
    relabel_arms,
    resolve_group_sizes,
)

__all__ = [
    "BaseDesign",
    "BaseSolverDesign",
    "DesignMixin",
    "draw_assignments",
    "is_design",
    "sample_assignments",
]


def is_design(estimator):
    """Return True if ``estimator`` is a design (or a Pipeline ending in one).

    Parameters
    ----------
    estimator : object
        Estimator to test.

    Returns
    -------
    out : bool
        True if the estimator's tags say ``estimator_type="design"``.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skassign.base import is_design
    >>> from skassign.designs import CompleteRandomization
    >>> is_design(CompleteRandomization()), is_design(StandardScaler())
    (True, False)
    """
    estimator = final_step(estimator)
    tags = getattr(estimator, "__sklearn_tags__", None)
    return tags is not None and tags().estimator_type == "design"


def draw_assignments(sizes, fixed, rng, n_draws=None):
    """Complete randomisations honouring group sizes and fixed units.

    Free units are spread uniformly at random over the free places of every
    group (``sizes`` minus the fixed units), so every completion is equally
    likely.

    Parameters
    ----------
    sizes : ndarray of shape (n_groups,)
        Group sizes, fixed units included.
    fixed : ndarray of shape (n_samples,)
        Fixed group of each unit, ``-1`` for free units.
    rng : numpy.random.RandomState
        Source of randomness.
    n_draws : int or None, default=None
        Number of assignments; ``None`` returns a single 1-D assignment.

    Returns
    -------
    labels : ndarray of shape (n_samples,) or (n_draws, n_samples), int64
        The assignments.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.base import draw_assignments
    >>> sizes, fixed = np.array([2, 2]), np.array([0, -1, -1, -1])
    >>> labels = draw_assignments(sizes, fixed, np.random.RandomState(0))
    >>> int(labels[0]), np.bincount(labels).tolist()
    (0, [2, 2])
    >>> draw_assignments(sizes, fixed, np.random.RandomState(0), n_draws=3).shape
    (3, 4)
    """
    free = fixed < 0
    n_fixed = np.bincount(fixed[~free], minlength=sizes.shape[0])
    slots = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes - n_fixed)
    if n_draws is None:
        labels = fixed.copy()
        labels[free] = rng.permutation(slots)
        return labels
    order = rng.random_sample((n_draws, slots.shape[0])).argsort(axis=1)
    labels = np.repeat(fixed[None, :], n_draws, axis=0)
    labels[:, free] = slots[order]
    return labels


def _refit_labels(estimator, X, seed, fit_params):
    """Labels of a clone of ``estimator`` reseeded from ``seed`` and fit on X.

    ``fit_predict`` makes any clusterer-like estimator (and a Pipeline ending
    in one) usable, not only skassign's designs.
    """
    model = set_random_states(clone(estimator), seed)
    return np.asarray(model.fit_predict(X, **fit_params)).astype(np.int64, copy=False)


def _draw_labels(draw, estimator, X, seed, fit_params):
    """:func:`_refit_labels` for draw number ``draw``, named in any error."""
    try:
        return _refit_labels(estimator, X, seed, fit_params)
    except Exception as err:
        _add_note(err, f"Raised while refitting the design for draw {draw}.")
        raise


def _add_note(err, note):
    """Attach context to an exception raised in a parallel task (Python 3.11+).

    A failure in one of thousands of refits (a solver error on one draw) is
    then traceable to its draw without changing the exception's type.
    """
    if hasattr(err, "add_note"):
        err.add_note(note)


@validate_params(
    {
        "design": [HasMethods(["fit_predict", "get_params"])],
        "X": ["array-like"],
        "n_assignments": [Interval(Integral, 1, None, closed="left")],
        "max_duplicate_fraction": [Interval(Real, 0, 1, closed="both")],
        "max_draws": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "progress": ["boolean"],
        "verbose": ["verbose"],
        "fit_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def sample_assignments(
    design,
    X,
    n_assignments,
    *,
    max_duplicate_fraction=1.0,
    max_draws=None,
    n_jobs=None,
    random_state=None,
    progress=False,
    verbose=0,
    fit_params=None,
):
    """Draw assignments of the same units from a design with fresh seeds.

    Every draw refits a clone of ``design`` (a design or a Pipeline ending in
    one) whose ``random_state`` parameters are reseeded from its own child
    :class:`numpy.random.SeedSequence`, so the result is identical for any
    ``n_jobs`` and joblib backend. These are the assignments a randomisation
    test compares the observed one with (the R minMSE tool's
    ``desired_test_vectors``).

    Read more in the :ref:`User Guide <inference>`.

    Parameters
    ----------
    design : estimator
        A design or a Pipeline ending in one; any estimator with
        ``fit_predict`` whose ``random_state`` parameters drive its
        randomness works.
    X : array-like of shape (n_samples, n_features)
        Covariates of the units.
    n_assignments : int
        Number of assignments wanted.
    max_duplicate_fraction : float in [0, 1], default=1.0
        Largest share of the returned assignments that may repeat an earlier
        one (the R tool's ``percentage_equal_treatments``, as a fraction).
        With less than 1, draws continue until enough distinct assignments
        are found or ``max_draws`` is reached.
    max_draws : int or None, default=None
        Largest number of fits; ``None`` means ``10 * n_assignments``.
    n_jobs : int or None, default=None
        Number of parallel jobs (joblib semantics).
    random_state : int, RandomState instance or None, default=None
        Root seed of the draws.
    progress : bool, default=False
        Show a progress bar (tqdm) that advances as fits finish.
    verbose : int, default=0
        joblib's verbosity.
    fit_params : dict or None, default=None
        Passed to every ``fit`` (for example ``{"fixed_labels": ...}`` or, in
        a Pipeline, ``{"design__fixed_labels": ...}``).

    Returns
    -------
    assignments : ndarray of shape (n_found, n_samples), dtype int64
        The assignments in the order drawn; ``n_found`` is ``n_assignments``
        unless ``max_draws`` ran out (then a warning says so).

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.base import sample_assignments
    >>> from skassign.designs import CompleteRandomization
    >>> X = np.arange(8.0).reshape(-1, 1)
    >>> A = sample_assignments(CompleteRandomization(), X, 20,
    ...                        max_duplicate_fraction=0.0, random_state=0)
    >>> A.shape, len({tuple(a) for a in A})
    ((20, 8), 20)
    """
    fit_params = {} if fit_params is None else fit_params
    if max_draws is None:
        max_draws = 10 * n_assignments
    max_duplicates = int(np.floor(max_duplicate_fraction * n_assignments))
    root = spawn_seeds(random_state, 1)[0]
    kept, seen, n_duplicates, n_drawn = [], set(), 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=0, desc="assignments", unit="fit")
    while len(kept) < n_assignments and n_drawn < max_draws:
        n_round = min(n_assignments - len(kept), max_draws - n_drawn)
        seeds = root.spawn(n_round)
        if bar is not None:
            bar.total += n_round
            bar.refresh()
        draws = parallel_in_order(
            _draw_labels,
            [
                (n_drawn + i, design, X, seed, fit_params)
                for i, seed in enumerate(seeds)
            ],
            n_jobs=n_jobs,
            verbose=verbose,
            bar=bar,
        )
        n_drawn += n_round
        for labels in draws:
            key = labels.tobytes()
            if key in seen:
                if n_duplicates >= max_duplicates:
                    continue
                n_duplicates += 1
            seen.add(key)
            kept.append(labels)
            if len(kept) == n_assignments:
                break
    if bar is not None:
        bar.close()
    if len(kept) < n_assignments:
        warnings.warn(
            f"Only {len(kept)} of the n_assignments={n_assignments} assignments "
            f"were found within max_draws={max_draws} fits with at most "
            f"{max_duplicates} duplicates: the design produces few distinct "
            "assignments. Loosen the design (fewer iterations, a larger "
            "threshold) or allow more duplicates.",
            UserWarning,
            stacklevel=2,
        )
    return np.vstack(kept).astype(np.int64)


def _fingerprint(X):
    """Digest of the validated covariates, to recognise the fitted units."""
    X = np.ascontiguousarray(X)
    digest = hashlib.sha1(X.tobytes())
    digest.update(repr((X.shape, X.dtype.str)).encode())
    return digest.hexdigest()


class DesignMixin:
    """Mixin for all designs: ``fit_predict``, ``score`` and the design tag."""

    def fit_predict(self, X, y=None, **fit_params):
        """Fit the design and return the assignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units to assign.
        y : None
            Ignored.
        **fit_params : dict
            Passed to ``fit`` (for example ``fixed_labels``).

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            Group of each unit, ``0..n_groups-1``.
        """
        return self.fit(X, y, **fit_params).labels_

    def score(self, X, y=None):
        """Minus the design's own imbalance of the fitted assignment.

        Higher is better. Only the units the design was fit on can be scored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The covariates the design was fit on.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-objective`` of the fitted labels on ``X``.
        """
        check_is_fitted(self)
        Xv = self._check_fitted_units(X, "score")
        return -float(self._objective(Xv, self.labels_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "design"
        return tags


class BaseDesign(
    DocLinkMixin, DesignMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for designs.

    Subclasses implement ``_assign(X, sizes, fixed, rng, **params)`` returning
    labels that honour ``sizes`` and ``fixed``; everything else (validation,
    sizes, relabeling, checks, fitted attributes, ``transform``) happens here.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups (arms).
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units. ``None`` makes
        the sizes as equal as possible; which groups get an extra unit is
        drawn from ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Controls every random choice, including which solved group becomes
        arm 0, 1, ...

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each fitted unit.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        The design's own criterion at ``labels_`` (lower is better).
    n_features_in_ : int
        Number of covariates seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Covariate names, when ``X`` has string column names.
    """

    _parameter_constraints: dict = {
        "n_groups": [Interval(Integral, 2, None, closed="left")],
        "group_sizes": ["array-like", None],
        "random_state": ["random_state"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, fixed_labels=None, strata=None):
        """Assign the units of ``X`` to groups.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units to assign.
        y : None
            Ignored.
        fixed_labels : array-like of shape (n_samples,), default=None
            Partial assignment: the group of units already assigned and
            ``-1`` (or NaN/None) for units to assign. Fixed units keep their
            group and count towards balance.
        strata : str or array-like of shape (n_samples,), default=None
            Stratum of every unit (any hashable values; a pandas Series is
            aligned with ``X`` by index), or the name of a column of the
            DataFrame ``X`` holding them (taken out of the covariates). Every
            stratum is spread over the groups as evenly as the group sizes
            allow, as a hard constraint.

        Returns
        -------
        self : object
            The fitted design.
        """
        return self._fit(X, fixed_labels=fixed_labels, strata=strata)

    def _fit(self, X, *, fixed_labels=None, strata=None, **assign_params):
        """Shared fitting logic; ``assign_params`` go to :meth:`_assign`.

        Given ``strata``, the design's ``_assign`` (``_solve`` for solver
        designs) receives a :class:`~skassign.utils._strata.Strata` as its
        ``strata`` argument and must meet its counts; designs without such
        an argument refuse strata.
        """
        X_in = X
        X, strata, self._strata_column = split_strata_column(X, strata)
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        n_samples = X.shape[0]
        fixed = check_fixed_labels(fixed_labels, n_samples, self.n_groups)
        sizes = resolve_group_sizes(
            n_samples, self.n_groups, self.group_sizes, fixed, rng
        )
        if strata is not None:
            if not self._supports_strata():
                raise ValueError(
                    f"{type(self).__name__} does not support strata: its "
                    "assignment step takes no 'strata' argument."
                )
            codes, names = check_strata(strata, X_in, n_samples)
            strata = make_strata(codes, names, sizes, fixed, rng)
            assign_params["strata"] = strata
        labels = self._assign(X, sizes, fixed, rng, **assign_params)
        labels = check_assignment(labels, sizes, fixed)
        if isinstance(strata, Strata):
            strata.check(labels, type(self).__name__)
        labels = relabel_arms(labels, self._arm_classes(sizes, fixed), rng)
        # What a refit of the same units needs (the randomness scorer's).
        self._fit_params = {}
        if np.any(fixed >= 0):
            self._fit_params["fixed_labels"] = fixed
        if strata is not None:
            self._fit_params["strata"] = self._strata_column or strata.codes
        self.labels_ = labels
        self.group_sizes_ = np.bincount(labels, minlength=sizes.shape[0])
        self.objective_ = float(self._objective(X, labels))
        self._fit_fingerprint = _fingerprint(X)
        return self

    @abstractmethod
    def _assign(self, X, sizes, fixed, rng, **assign_params):
        """Return labels honouring ``sizes`` and ``fixed`` (before relabeling).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated covariates.
        sizes : ndarray of shape (n_groups,)
            Group sizes, fixed units included.
        fixed : ndarray of shape (n_samples,)
            Fixed group of each unit, ``-1`` for free units.
        rng : numpy.random.RandomState
            The design's only source of randomness.
        **assign_params : dict
            Design-specific fit parameters.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Group of each unit.
        """

    def _supports_strata(self):
        """Whether the assignment step takes a ``strata`` argument."""
        return "strata" in inspect.signature(self._assign).parameters

    def _objective(self, X, labels):
        """Return the design's criterion (lower is better).

        The default is the largest pairwise Mahalanobis imbalance with the
        covariance of all units (Morgan & Rubin, 2012).
        """
        return mahalanobis_imbalance(X, labels, covariance="total")

    def _arm_classes(self, sizes, fixed):
        """Key of every group; groups with equal keys are interchangeable.

        By default groups of equal size without fixed units can be swapped.
        Designs whose criterion treats arms differently (a control arm,
        per-arm weights) refine the keys.
        """
        has_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0]) > 0
        return [
            ("fixed", g) if has_fixed[g] else ("free", int(size))
            for g, size in enumerate(sizes)
        ]

    def _validate_X(self, X, *, reset):
        """Validate covariates (numeric, finite); designs on other data override."""
        try:
            return validate_data(self, X, dtype=np.float64, order="C", reset=reset)
        except ValueError as err:
            message = str(err)
            if "could not convert" in message:
                raise ValueError(
                    f"X has non-numeric values ({message}). Encode categorical "
                    "covariates first, e.g. with OneHotEncoder in a Pipeline."
                ) from err
            if "infinity" in message:
                raise ValueError(
                    f"{message} Replace infinite covariates (for example by NaN "
                    "and a SimpleImputer) before assigning."
                ) from err
            if "contains NaN" in message:
                # scikit-learn's own advice names supervised estimators.
                raise ValueError(
                    f"Input X contains NaN. {type(self).__name__} needs complete "
                    "covariates: impute them in a Pipeline, e.g. "
                    "make_pipeline(SimpleImputer(), StandardScaler(), design), "
                    "or drop the incomplete units."
                ) from err
            raise

    def _check_fitted_units(self, X, method):
        """Validate ``X`` and check that it holds exactly the fitted units."""
        column = getattr(self, "_strata_column", None)
        if column is not None and column in getattr(X, "columns", ()):
            X = X.drop(columns=column)
        Xv = self._validate_X(X, reset=False)
        if Xv.shape[0] != self.labels_.shape[0] or (
            _fingerprint(Xv) != self._fit_fingerprint
        ):
            raise ValueError(
                f"{type(self).__name__}.{method}(X) only accepts the units the "
                f"design was fit on ({self.labels_.shape[0]} units); an "
                "assignment is a joint function of all units. Refit the design "
                "on the new units instead (in a grid search, use "
                "skassign.model_selection.DesignSearchCV, or cv=FullSample())."
            )
        return Xv

    def sample_assignments(
        self,
        X,
        n_assignments,
        *,
        max_duplicate_fraction=1.0,
        max_draws=None,
        n_jobs=None,
        random_state=None,
        progress=False,
        fixed_labels=None,
        strata=None,
    ):
        """Draw assignments of the units of ``X`` with fresh seeds.

        See :func:`skassign.base.sample_assignments`, which this calls with
        ``design=self``; ``random_state=None`` uses the design's own
        ``random_state`` as root seed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units.
        n_assignments : int
            Number of assignments wanted.
        max_duplicate_fraction : float in [0, 1], default=1.0
            Largest share of repeated assignments.
        max_draws : int or None, default=None
            Largest number of fits (``None``: ``10 * n_assignments``).
        n_jobs : int or None, default=None
            Number of parallel jobs.
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
            The assignments.
        """
        return sample_assignments(
            self,
            X,
            n_assignments,
            max_duplicate_fraction=max_duplicate_fraction,
            max_draws=max_draws,
            n_jobs=n_jobs,
            random_state=self.random_state if random_state is None else random_state,
            progress=progress,
            fit_params={
                key: value
                for key, value in (("fixed_labels", fixed_labels), ("strata", strata))
                if value is not None
            },
        )

    def transform(self, X):
        """Return the fitted assignment as a one-column integer array.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The covariates the design was fit on (any other ``X`` raises
            ``ValueError``).

        Returns
        -------
        group : ndarray of shape (n_samples, 1), dtype int64
            The labels, as a column named ``group`` (see
            :meth:`get_feature_names_out`).
        """
        check_is_fitted(self)
        self._check_fitted_units(X, "transform")
        return self.labels_.reshape(-1, 1).copy()

    def get_feature_names_out(self, input_features=None):
        """Name of the output column of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["group"]``.
        """
        check_is_fitted(self)
        return np.asarray(["group"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


class BaseSolverDesign(BaseDesign):
    """Base class for designs that call an optimisation solver.

    Subclasses implement ``_solve(X, sizes, fixed, rng)``, which returns
    labels honouring ``sizes`` and ``fixed`` and sets the solver attributes
    below, and raises :class:`~skassign.exceptions.SolverError` when the
    solver returns no assignment. If the design has a ``fallback`` design,
    that failure is not fatal: a clone of the fallback, seeded from the
    design's ``random_state`` and given the same group sizes and fixed units,
    assigns the units instead, with a
    :class:`~skassign.exceptions.SolverWarning`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups (arms).
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units.
    fallback : design or None, default=None
        Design used when the solver fails. ``None`` raises instead.
    random_state : int, RandomState instance or None, default=None
        Controls every random choice.

    Attributes
    ----------
    status_ : str
        How the solver stopped (``"optimal"``, ``"time_limit"``, ...), or
        ``"fallback"``.
    bound_ : float
        Lower bound on the optimal objective proven by the solver (NaN if
        none).
    gap_ : float
        Relative gap ``(objective_ - bound_) / objective_`` (NaN if no bound).
    solve_time_ : float
        Seconds spent optimising.
    n_nodes_ : int
        Branch-and-bound nodes processed (``-1`` if unknown).
    fallback_ : estimator or None
        The fitted clone of ``fallback`` if it was used, else ``None``.

    Examples
    --------
    A solver design implements ``_solve``. This toy one always fails, so its
    fallback assigns the units (with a ``SolverWarning``):

    >>> import warnings
    >>> import numpy as np
    >>> from skassign.base import BaseSolverDesign
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.exceptions import SolverError
    >>> class AlwaysFails(BaseSolverDesign):
    ...     def __init__(self, n_groups=2, *, group_sizes=None, fallback=None,
    ...                  random_state=None):
    ...         self.n_groups = n_groups
    ...         self.group_sizes = group_sizes
    ...         self.fallback = fallback
    ...         self.random_state = random_state
    ...
    ...     def _solve(self, X, sizes, fixed, rng):
    ...         raise SolverError("no assignment found")
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     design = AlwaysFails(fallback=CompleteRandomization()).fit(X)
    >>> design.status_, np.bincount(design.labels_).tolist()
    ('fallback', [3, 3])
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "fallback": [HasMethods(["fit", "get_params"]), None],
    }

    # Not skipping nested validation: ``fallback`` is itself an estimator.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, fixed_labels=None, strata=None):
        """Assign the units of ``X`` to groups.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units to assign.
        y : None
            Ignored.
        fixed_labels : array-like of shape (n_samples,), default=None
            Partial assignment: the group of units already assigned and
            ``-1`` (or NaN/None) for units to assign. Fixed units keep their
            group and count towards balance.
        strata : str or array-like of shape (n_samples,), default=None
            Stratum of every unit (any hashable values; a pandas Series is
            aligned with ``X`` by index), or the name of a column of the
            DataFrame ``X`` holding them (taken out of the covariates). Every
            stratum is spread over the groups as evenly as the group sizes
            allow, as a hard constraint.

        Returns
        -------
        self : object
            The fitted design.
        """
        return self._fit(X, fixed_labels=fixed_labels, strata=strata)

    @abstractmethod
    def _solve(self, X, sizes, fixed, rng):
        """Return labels from the solver and set the solver attributes."""

    def _supports_strata(self):
        return "strata" in inspect.signature(self._solve).parameters

    def _assign(self, X, sizes, fixed, rng, strata=None):
        self.fallback_ = None
        start = time.perf_counter()
        try:
            if strata is None:
                return self._solve(X, sizes, fixed, rng)
            return self._solve(X, sizes, fixed, rng, strata=strata)
        except SolverError as err:
            if self.fallback is None:
                raise
            labels = self._fit_fallback(X, sizes, fixed, rng, err, strata)
            self.status_ = "fallback"
            self.bound_ = float("nan")
            self.gap_ = float("nan")
            self.n_nodes_ = -1
            self.solve_time_ = time.perf_counter() - start
            return labels

    def _fit_fallback(self, X, sizes, fixed, rng, err, strata=None):
        """Assign with a clone of ``fallback`` after a solver failure."""
        design = clone(self.fallback)
        params = design.get_params(deep=True)
        sized = {}
        for key in params:
            if key == "n_groups" or key.endswith("__n_groups"):
                sized[key] = int(sizes.shape[0])
            if key == "group_sizes" or key.endswith("__group_sizes"):
                sized[key] = sizes.tolist()
        design.set_params(**sized)
        set_random_states(design, int(rng.randint(np.iinfo(np.int32).max)))
        warnings.warn(
            f"{type(self).__name__}: {err} Falling back to {type(design).__name__}.",
            SolverWarning,
            stacklevel=6,
        )
        steps = getattr(design, "steps", None)
        prefix = f"{steps[-1][0]}__" if steps else ""
        params = {}
        if np.any(fixed >= 0):
            params[f"{prefix}fixed_labels"] = fixed
        if strata is not None:
            params[f"{prefix}strata"] = strata.codes
        design.fit(X, **params)
        labels = np.asarray(get_labels(design))
        counts = np.bincount(labels, minlength=sizes.shape[0])
        if labels.shape != fixed.shape or not np.array_equal(counts, sizes):
            raise ValueError(
                f"The fallback design {type(design).__name__} returned group "
                f"sizes {counts.tolist()} instead of {sizes.tolist()}; use a "
                "fallback with n_groups and group_sizes parameters, such as "
                "CompleteRandomization()."
            ) from err
        if strata is not None:
            # The fallback spread the strata itself (ties may fall elsewhere).
            strata.counts = strata.table(labels)
        self.fallback_ = design
        return labels
