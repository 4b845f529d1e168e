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
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from skassign._sampling import draw_assignments, sample_assignments, sampling_method
from skassign._solver_design import SolverDesignMixin
from skassign.metrics._balance import mahalanobis_imbalance
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    _fit_context,
    param_names,
    validate_estimator_params,
)
from skassign.utils._random import check_random_state
from skassign.utils._repr import DocLinkMixin
from skassign.utils._strata import (
    Strata,
    check_strata,
    make_strata,
    split_strata_column,
)
from skassign.utils.validation import (
    _checked_frame,
    _is_checked_matrix,
    _temporal_columns_error,
    check_assignment,
    check_fixed_labels,
    final_step,
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


def _fingerprint(X):
    """Digest of the validated covariates, to recognise the fitted units."""
    X = np.ascontiguousarray(X)
    digest = hashlib.sha1(X.tobytes())
    digest.update(repr((X.shape, X.dtype.str)).encode())
    return digest.hexdigest()


class DesignMixin:
    """Mixin for all designs: ``fit_predict``, ``score`` and the design tag."""

    @fill_doc
    def fit_predict(self, X, y=None, **fit_params):
        """Fit the design and return the assignment.

        Parameters
        ----------
        %(design_X_y)s
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


@fill_doc
class BaseDesign(
    DocLinkMixin, DesignMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for designs.

    Subclasses implement ``_assign(X, sizes, fixed, rng, **params)`` returning
    labels that honour ``sizes`` and ``fixed``; everything else (validation,
    sizes, relabeling, checks, fitted attributes, ``transform``) happens here.

    Parameters
    ----------
    %(n_groups)s
    %(group_sizes)s
    random_state : int, RandomState instance or None, default=None
        Controls every random choice, including which solved group becomes
        arm 0, 1, ...

    Attributes
    ----------
    %(fitted_labels)s
    objective_ : float
        The design's own criterion at ``labels_`` (lower is better).
    %(fitted_features)s
    """

    # The scaler recommended in front of the design (in error messages).
    _scaler_advice = "StandardScaler()"

    _parameter_constraints: dict = {
        "n_groups": [Interval(Integral, 2, None, closed="left")],
        "group_sizes": ["array-like", None],
        "random_state": ["random_state"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None, *, fixed_labels=None, strata=None):
        """Assign the units of ``X`` to groups.

        Parameters
        ----------
        %(design_X_y)s
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
        self._check_params()
        X_in = X
        X, strata, self._strata_column = split_strata_column(X, strata)
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        n_samples = X.shape[0]
        fixed = check_fixed_labels(fixed_labels, n_samples, self.n_groups)
        sizes = self._fit_group_sizes(n_samples, fixed, rng, strata)
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
        if sizes is None:
            # The design chose the sizes (see _fit_group_sizes).
            sizes = np.bincount(labels, minlength=self.n_groups)
        labels = check_assignment(labels, sizes, fixed)
        if isinstance(strata, Strata):
            strata.check(labels, type(self).__name__)
        labels = relabel_arms(labels, self._arm_classes(sizes, fixed), rng)
        self._record_fit_params(fixed, strata)
        self.labels_ = labels
        self.group_sizes_ = np.bincount(labels, minlength=sizes.shape[0])
        self.objective_ = float(self._objective(X, labels))
        self._fit_fingerprint = _fingerprint(X)
        self._finish_fit()
        return self

    def _fit_group_sizes(self, n_samples, fixed, rng, strata):
        """Size of every group for ``fit``, or None when ``_assign`` chooses them.

        By default the sizes follow ``group_sizes`` (as equal as possible
        for None). A design whose search also chooses the sizes returns
        None: ``_assign`` then receives ``sizes=None`` and the fitted sizes
        are those of its labels.
        """
        return resolve_group_sizes(
            n_samples, self.n_groups, self.group_sizes, fixed, rng
        )

    def _finish_fit(self):
        """Finish ``fit`` once the fitted attributes are set (a hook).

        Solver designs set their status attributes here, from ``objective_``.
        """

    def _record_fit_params(self, fixed, strata):
        """Keep what a refit of the same units needs (the randomness scorer's).

        The fixed units and the strata, as ``fit`` keyword arguments.
        """
        self._fit_params = {}
        if np.any(fixed >= 0):
            self._fit_params["fixed_labels"] = fixed
        if strata is not None:
            self._fit_params["strata"] = self._strata_column or strata.codes

    @classmethod
    def _get_param_names(cls):
        # Read once per class: a small design's whole fit is shorter than
        # reading the signature of __init__ (get_params, clone, set_params).
        return param_names(cls)

    def _validate_params(self):
        # scikit-learn's check against _parameter_constraints, with the
        # constraint objects built once per class.
        validate_estimator_params(self)

    def _check_params(self):
        """Check what ``_parameter_constraints`` cannot express, before any work.

        ``fit`` checks every parameter against ``_parameter_constraints``
        first and then calls this hook, before it even validates ``X``:
        designs override it for combinations of parameters (and solver
        designs for what their engine can honour). It raises ``ValueError``.
        """

    def _supports_strata(self):
        """Whether the assignment step takes a ``strata`` argument."""
        return "strata" in inspect.signature(self._assign).parameters

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
        if reset:
            # What validate_data does to a float64 array or DataFrame that
            # needs no conversion, without its machinery (refits are hot).
            frame = _checked_frame(X)
            if frame is not None:
                self.n_features_in_ = frame[0].shape[1]
                self.feature_names_in_ = frame[1]
                return frame[0]
            if _is_checked_matrix(X):
                self.n_features_in_ = X.shape[1]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
                return X
        try:
            return validate_data(self, X, dtype=np.float64, order="C", reset=reset)
        except TypeError as err:
            temporal = _temporal_columns_error(X)
            if temporal is not None:
                raise temporal from err
            raise
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
                    f"make_pipeline(SimpleImputer(), {self._scaler_advice}, "
                    "design), or drop the incomplete units."
                ) from err
            raise

    def _check_fitted_units(self, X, method):
        """Validate ``X`` and check that it holds exactly the fitted units."""
        Xv = self._validate_X(self._drop_strata_column(X), reset=False)
        self._check_same_units(Xv.shape[0], _fingerprint(Xv), method)
        return Xv

    def _drop_strata_column(self, X):
        """Return ``X`` without the strata column that ``fit`` took out of it."""
        column = getattr(self, "_strata_column", None)
        if column is not None and column in getattr(X, "columns", ()):
            X = X.drop(columns=column)
        return X

    def _check_same_units(self, n_samples, fingerprint, method):
        """Raise unless ``n_samples`` and ``fingerprint`` are the fitted units'."""
        if n_samples != self.labels_.shape[0] or fingerprint != self._fit_fingerprint:
            raise ValueError(
                f"{type(self).__name__}.{method}(X) only accepts the units the "
                f"design was fit on ({self.labels_.shape[0]} units); an "
                "assignment is a joint function of all units. Refit the design "
                "on the new units instead (in a grid search, use "
                "skassign.model_selection.DesignSearchCV, or cv=FullSample())."
            )

    sample_assignments = sampling_method()

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


@fill_doc
class BaseSolverDesign(SolverDesignMixin, BaseDesign):
    """Base class for designs that call an optimisation solver.

    It owns the solver parameters (``solver``, ``solver_params``,
    ``time_limit``, ``node_limit``, ``mip_gap``, ``verbose``), their checks
    (at the start of ``fit``, before any work: the solver must be installed,
    handle integer variables and honour the limits), the engine options, the
    fitted status attributes and the warning when a limit stopped the
    solver. A subclass implements ``_solve(X, sizes, fixed, rng)``, which
    returns the labels and a record of how the solve ended: the
    :class:`~skassign.utils._solver.SolveResult` of :meth:`_solve_mip` for a
    design that states its model as a :class:`~skassign.utils._mip.LinearMIP`
    (the usual case: the design writes only its model), or a
    :class:`~skassign.utils._solver.SolveOutcome` when it decided without a
    solver. ``_solve`` raises :class:`~skassign.exceptions.SolverError` when
    the solver returns no assignment. If the design has a ``fallback``
    design, that failure is not fatal: a clone of the fallback, seeded from
    the design's ``random_state`` and given the same group sizes and fixed
    units, assigns the units instead, with a
    :class:`~skassign.exceptions.SolverWarning`.

    Parameters
    ----------
    %(n_groups)s
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units.
    %(solver)s
    %(solver_params)s
    time_limit : float or None, default=60.0
        Wall-clock limit in seconds. Results stopped by it depend on the
        machine.
    %(node_limit)s
    %(mip_gap)s
    %(fallback)s
    random_state : int, RandomState instance or None, default=None
        Controls every random choice.
    %(solver_verbose)s

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
    This toy design's solver always fails, so its fallback assigns the
    units (with a ``SolverWarning``):

    >>> import warnings
    >>> import numpy as np
    >>> from skassign.base import BaseSolverDesign
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.exceptions import SolverError
    >>> class AlwaysFails(BaseSolverDesign):
    ...     def __init__(self, n_groups=2, *, group_sizes=None,
    ...                  solver="pyscipopt", solver_params=None, time_limit=60.0,
    ...                  node_limit=None, mip_gap=0.0, fallback=None,
    ...                  random_state=None, verbose=0):
    ...         self.n_groups, self.group_sizes = n_groups, group_sizes
    ...         self.solver, self.solver_params = solver, solver_params
    ...         self.time_limit, self.node_limit = time_limit, node_limit
    ...         self.mip_gap, self.fallback = mip_gap, fallback
    ...         self.random_state, self.verbose = random_state, verbose
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
        "solver": [str],
        "solver_params": [dict, None],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "node_limit": [Interval(Integral, 1, None, closed="left"), None],
        "mip_gap": [Interval(Real, 0, None, closed="left")],
        "fallback": [HasMethods(["fit", "get_params"]), None],
        "verbose": ["verbose"],
    }

    # Not skipping nested validation: ``fallback`` is itself an estimator.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, fixed_labels=None, strata=None):  # noqa: D102
        return self._fit(X, fixed_labels=fixed_labels, strata=strata)

    fit.__doc__ = BaseDesign.fit.__doc__

    @abstractmethod
    def _solve(self, X, sizes, fixed, rng):
        """Return the labels and the record of the solve.

        The record has ``status``, ``bound``, ``n_nodes`` and ``solver``
        (``None`` when no solver ran): the result of :meth:`_solve_mip`, or
        a :class:`~skassign.utils._solver.SolveOutcome`.
        """

    def _uses_solver(self):
        """Whether ``fit`` will call the solver (a design may solve without)."""
        return True
