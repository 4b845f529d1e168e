"""BatchLayout: designit-style batch and cage layouts, proven optimal where possible."""

from __future__ import annotations

import hashlib
import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from skassign.base import BaseDesign
from skassign.designs._batch_counts import CountModel, solve_transport
from skassign.designs._batch_optimise import LayoutSearchMixin, LayoutUnits
from skassign.designs._batch_plates import PlatePositionsMixin
from skassign.designs._batch_prepare import LayoutInputMixin
from skassign.designs._batch_realise import count_duplicates, realise_counts
from skassign.designs._batch_search import (
    LayoutSearch,
)
from skassign.exceptions import InfeasibleDesignError
from skassign.utils._param_validation import (
    Interval,
    StrOptions,
    _fit_context,
)
from skassign.utils._random import check_random_state
from skassign.utils._strata import check_strata, make_strata, split_strata_column
from skassign.utils.validation import check_fixed_labels, resolve_group_sizes

__all__ = ["BatchLayout"]


class BatchLayout(LayoutInputMixin, LayoutSearchMixin, PlatePositionsMixin, BaseDesign):
    """Batch, cage and plate layouts balanced on categorical covariates.

    The design of the designit R package, rebuilt on exact models: units
    (samples, animals) are laid out over batches (plates, runs, treatment
    arms) of given capacities so that their features are spread evenly,
    under constraints on how units may be grouped into cages.

    * The default score for categorical columns is designit's **OSAT score**
      (:func:`~skassign.metrics.osat_score`); it depends on a layout only
      through the counts of every feature combination in every batch, a
      tiny integer program that is solved exactly (SCIP), so the returned
      layout reaches a proven lower bound. Numeric columns are balanced by
      their batch means (:func:`~skassign.metrics.batch_means_score`) or
      binned into the OSAT cells; user scores are callables. Scores without
      an exact model are improved by a local search (strict improvement or
      simulated annealing) from the exact layout, with incremental score
      updates, until a lower bound, ``iterations`` or ``time_limit``.
    * **Cages** (designit's ``shuffle_grouped_data``): units are grouped into
      cages homogeneous in ``keep_together`` columns, of sizes
      ``subgroup_sizes=(n_min, n_ideal, n_max)``, every cage in one batch (a
      treatment is constant within a cage), and units of one cage should
      differ in the ``keep_separate`` columns. Keep-separate is soft: the
      layout has the fewest violations any layout can have (proven for one
      keep-separate column), and only then the best score.

    Read more in the :ref:`User Guide <batch_layout>`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of batches when neither ``capacities`` nor ``locations`` is
        given (then every batch is filled exactly).
    group_sizes : array-like of int or None, default=None
        Units per batch in that case (``None``: as equal as possible).
    capacities : array-like of int or None, default=None
        Places per batch; empty places are allowed (they count in the OSAT
        batch shares, as in designit). Overrides ``n_groups``.
    locations : DataFrame or None, default=None
        One row per usable place (excluded places left out), for example
        columns ``plate``, ``row``, ``column``; the batch of a place is its
        value in the ``batch`` column. Overrides ``n_groups`` and
        ``capacities``. Units are placed on the locations of their batch in
        random order; ``layout_`` reports them.
    batch : str or None, default=None
        Column of ``locations`` naming the batch (``None``: the first one).
    balance : list of str or None, default=None
        Columns the scores balance. ``None`` takes every column that no
        constraint names.
    scoring : {"auto", "osat", "means"}, callable or list, default="auto"
        The score(s) to minimise. ``"osat"``: OSAT on the joint cells of the
        categorical ``balance`` columns (and of binned numeric ones, see
        ``numeric``); ``"means"``: batch-means score of the numeric
        ``balance`` columns; a callable ``score(labels, X) -> float`` gets
        the batch of every unit and the DataFrame of all columns (lower is
        better). ``"auto"`` uses OSAT for categorical and means for numeric
        columns.
    aggregate : {"sum", "worst", "lexicographic"}, default="sum"
        How several scores combine: their sum, the largest, or in order
        (a later score only breaks ties of the earlier ones).
    autoscale : bool, default=False
        Centre and scale every score by its mean and standard deviation over
        200 random layouts before combining (designit's autoscaling).
    numeric : "means" or int, default="means"
        How ``"auto"`` treats numeric balance columns: by their means, or
        cut into this many quantile bins that join the OSAT cells.
    keep_together : list of str or None, default=None
        Every cage is homogeneous in these columns. Giving it (or
        ``subgroup_sizes``) forms cages.
    keep_separate : list of str or None, default=None
        Units in one cage should differ in these columns (soft).
    subgroup_sizes : tuple (n_min, n_ideal, n_max) or None, default=None
        Cage sizes; ``None`` with ``keep_together`` means 1 to the largest
        group, ideal halfway. Among equally good layouts the cages closest to
        ``n_ideal`` are taken.
    strict : bool, default=True
        Whether cage sizes outside ``[n_min, n_max]`` are forbidden. With
        ``False`` they are allowed where no layout avoids them, as few as
        possible.
    spatial : bool or list of str, default=False
        Place the units of every batch on its wells (``locations`` with
        ``row`` and ``column`` columns; every batch is one plate) so that the
        cells of these columns (``True``: the OSAT cells of ``balance``) are
        spread over rows, columns and the edge ring: the local search
        minimises :func:`~skassign.metrics.spatial_score`, down to its lower
        bound (the sum of the three directions' own exact minima). ``False``
        places units on their batch's wells at random.
    row, column : str, default="row", "column"
        Columns of ``locations`` holding a well's row and column.
    acceptance : {"strict", "annealing"}, default="strict"
        Local-search acceptance: improvements only, or simulated annealing.
    iterations : int, default=10_000
        Largest number of local-search moves.
    time_limit : float or None, default=None
        Seconds for the exact model and the local search each.
    random_state : int, RandomState instance or None, default=None
        Seed of every random choice (which units fill the counts, the
        search, the solver's tie-breaking).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Batch of every unit.
    group_sizes_ : ndarray of shape (n_batches,), dtype int64
        Units per batch.
    capacities_ : ndarray of shape (n_batches,), dtype int64
        Places per batch.
    batch_names_ : ndarray of shape (n_batches,)
        Name of every batch (values of the ``batch`` column, else 0, 1, ...).
    objective_ : float
        The (combined) score of the layout.
    lower_bound_ : float
        A proven lower bound on the (combined) score of every layout that
        meets the hard constraints with at most ``n_violations_``
        keep-separate violations (``-inf`` if a user score has none).
    scores_ : dict
        Value of every score at the layout.
    status_ : str
        ``"optimal"`` when the score equals ``lower_bound_``, else how the
        search stopped (``"iteration_limit"``, ``"time_limit"``, ...).
    subgroups_ : ndarray of shape (n_samples,), dtype int64
        Cage of every unit (``-1`` everywhere without cages).
    n_violations_ : int
        Keep-separate violations: units sharing a cage and a value (a cage
        with ``r`` units of one value adds ``r - 1``), summed over columns.
    layout_ : DataFrame
        One row per unit, indexed like ``X``: ``batch`` (label), the batch
        name and location columns, and ``cage`` when cages are formed.
    spatial_score_ : float
        Spatial score of the positions (NaN without ``spatial``).
    spatial_lower_bound_ : float
        Lower bound on it for the batches' units (NaN without ``spatial``).
    trace_ : ndarray
        Best score after every iteration of the local search (the shared
        engine's trace; one entry when the exact model settles the layout).
    n_iter_ : int
        Local-search iterations run.
    solve_time_ : float
        Seconds spent in ``fit``.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` has string column names.

    See Also
    --------
    skassign.metrics.osat_score : The OSAT score.
    skassign.plotting.plot_layout : Plate map and batch composition.

    References
    ----------
    designit: Blocking and randomization for experimental design, R package
    (Roche), vignettes "Shuffling with constraints" and "OSAT".

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.designs import BatchLayout
    >>> X = pd.DataFrame({"sex": list("FFFFMMMMMM"),
    ...                   "type": list("ababababab")})
    >>> design = BatchLayout(capacities=[6, 6], random_state=0).fit(X)
    >>> design.group_sizes_.sum(), design.objective_ == design.lower_bound_
    (np.int64(10), True)
    >>> round(design.objective_, 3)
    1.0
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "capacities": ["array-like", None],
        "locations": [pd.DataFrame, None],
        "batch": [str, None],
        "balance": [list, tuple, str, None],
        "scoring": [StrOptions({"auto", "osat", "means"}), callable, list, tuple],
        "aggregate": [StrOptions({"sum", "worst", "lexicographic"})],
        "autoscale": ["boolean"],
        "numeric": [StrOptions({"means"}), Interval(Integral, 2, None, closed="left")],
        "keep_together": [list, tuple, str, None],
        "keep_separate": [list, tuple, str, None],
        "subgroup_sizes": [tuple, list, None],
        "strict": ["boolean"],
        "spatial": ["boolean", list, tuple, str],
        "row": [str],
        "column": [str],
        "acceptance": [StrOptions({"strict", "annealing"})],
        "iterations": [Interval(Integral, 0, None, closed="left")],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        capacities=None,
        locations=None,
        batch=None,
        balance=None,
        scoring="auto",
        aggregate="sum",
        autoscale=False,
        numeric="means",
        keep_together=None,
        keep_separate=None,
        subgroup_sizes=None,
        strict=True,
        spatial=False,
        row="row",
        column="column",
        acceptance="strict",
        iterations=10_000,
        time_limit=None,
        random_state=None,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.capacities = capacities
        self.locations = locations
        self.batch = batch
        self.balance = balance
        self.scoring = scoring
        self.aggregate = aggregate
        self.autoscale = autoscale
        self.numeric = numeric
        self.keep_together = keep_together
        self.keep_separate = keep_separate
        self.subgroup_sizes = subgroup_sizes
        self.strict = strict
        self.spatial = spatial
        self.row = row
        self.column = column
        self.acceptance = acceptance
        self.iterations = iterations
        self.time_limit = time_limit
        self.random_state = random_state

    def _check_fitted_units(self, X, method):
        column = getattr(self, "_strata_column", None)
        if column is not None and column in getattr(X, "columns", ()):
            X = X.drop(columns=column)
        frame = self._validate_X(X, reset=False)
        self._check_complete(frame)
        if frame.shape[0] != self.labels_.shape[0] or (
            _frame_fingerprint(frame) != self._fit_fingerprint
        ):
            raise ValueError(
                f"{type(self).__name__}.{method}(X) only accepts the units the "
                f"design was fit on ({self.labels_.shape[0]} units); an "
                "assignment is a joint function of all units. Refit the design "
                "on the new units instead."
            )
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, fixed_labels=None, strata=None):
        """Lay the units of ``X`` out over the batches (and cages).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Covariates of the units; object and categorical columns are
            categorical (missing values allowed: left out of OSAT), numeric
            columns numeric (complete).
        y : None
            Ignored.
        fixed_labels : array-like of shape (n_samples,), default=None
            Batch of units already placed, ``-1`` (or NaN/None) for units to
            place. Fixed units keep their batch and count towards balance.
        strata : str or array-like of shape (n_samples,), default=None
            Stratum of every unit (a pandas Series is aligned with ``X`` by
            index), or the name of a column of ``X`` holding them (taken out
            of the covariates). Every stratum is spread over the batches as
            evenly as the capacities allow, as a hard constraint; the layout
            is optimised by exchanges within strata. With cages, the cages
            keep their constraints and may mix strata; the strata counts
            join the exact count model, and a stratum that no layout of
            such cages can spread evenly raises ``InfeasibleDesignError``
            naming it. A strata column that ``keep_together``,
            ``keep_separate`` or ``balance`` also names stays a column of
            the covariates. Strata need batches filled exactly
            (``ValueError`` otherwise).

        Returns
        -------
        self : object
            The fitted design.
        """
        start = time.perf_counter()
        X_in = X
        X, strata, self._strata_column = split_strata_column(X, strata)
        if self._strata_column in self._constraint_columns():
            # The constraints or scores use the strata column too: keep it.
            X, self._strata_column = X_in, None
        frame = self._validate_X(X, reset=True)
        n_samples = frame.shape[0]
        rng = check_random_state(self.random_state)
        capacities, exact, names, places = self._batches(n_samples)
        n_batches = capacities.shape[0]
        if n_samples < 2:
            raise ValueError(f"n_samples={n_samples}: a layout needs at least 2 units.")
        fixed = check_fixed_labels(fixed_labels, n_samples, n_batches)
        if exact and self.capacities is None and self.locations is None:
            capacities = resolve_group_sizes(
                n_samples, n_batches, self.group_sizes, fixed, rng
            ).astype(np.int64)
        n_fixed = np.bincount(fixed[fixed >= 0], minlength=n_batches)
        over = np.flatnonzero(n_fixed > capacities)
        if over.size:
            b = int(over[0])
            units = np.flatnonzero(fixed == b).tolist()
            raise InfeasibleDesignError(
                f"fixed_labels put {int(n_fixed[b])} units (units {units}) in "
                f"batch {b}, which has only {int(capacities[b])} places."
            )
        if capacities.sum() < n_samples:
            raise InfeasibleDesignError(
                f"The batches have {int(capacities.sum())} places for "
                f"{n_samples} units."
            )
        if strata is not None:
            if not exact:
                raise ValueError(
                    "strata need batches filled exactly: the capacities "
                    f"({int(capacities.sum())} places) must equal the number of "
                    f"units ({n_samples})."
                )
            codes, strata_names = check_strata(strata, X_in, n_samples)
            strata = make_strata(codes, strata_names, capacities, fixed, rng)
        labels = self._assign(frame, capacities, fixed, rng, exact=exact, strata=strata)
        if strata is not None:
            strata.check(labels, type(self).__name__)
        self._fit_params = {}
        if np.any(fixed >= 0):
            self._fit_params["fixed_labels"] = fixed
        if strata is not None:
            self._fit_params["strata"] = (
                strata.codes if self._strata_column is None else self._strata_column
            )
        self.labels_ = labels
        self.group_sizes_ = np.bincount(labels, minlength=n_batches).astype(np.int64)
        self.capacities_ = capacities.astype(np.int64)
        self.batch_names_ = names
        self.layout_ = self._layout_table(frame, names, places, rng)
        self._fit_fingerprint = _frame_fingerprint(frame)
        self.solve_time_ = time.perf_counter() - start
        return self

    def _assign(self, X, sizes, fixed, rng, *, exact=True, strata=None):
        """Lay out the units; set the score, cage and search attributes.

        ``sizes`` are the batch capacities, filled exactly when ``exact``.
        Given ``strata`` (exact filling) without cages, the search starts
        from a random layout meeting ``strata.counts`` and exchanges units
        only within a stratum; the OSAT bound is the unstratified optimum.
        With cages, the count model holds every stratum within its bounds
        (:meth:`~skassign.utils._strata.Strata.bounds`) beside the cage
        constraints, and the search exchanges units of one keep-together
        group and one stratum.
        """
        frame, capacities, n_samples = X, sizes, X.shape[0]
        spec = self._columns(frame)
        cells = self._cells(frame, spec)
        groups, separate = self._cage_codes(frame, spec)
        cage_sizes = (
            self._cage_sizes(groups, capacities) if groups is not None else None
        )
        scores = spec["scores"]
        use_osat = "osat" in scores
        if strata is not None and groups is None:
            labels = strata.draw(fixed, rng)
            cage_of = np.full(n_samples, -1, dtype=np.int64)
            osat_bound = 0.0
            if use_osat:
                model = CountModel(
                    np.where(cells >= 0, cells, -1),
                    None,
                    separate,
                    fixed,
                    capacities,
                    exact=exact,
                    osat=True,
                )
                osat_bound = solve_transport(model, rng)[1]
            self.count_stages_ = {}
        elif use_osat or groups is not None:
            model = CountModel(
                np.where(cells >= 0, cells, -1) if use_osat else np.full(n_samples, -1),
                groups,
                separate,
                fixed,
                capacities,
                exact=exact,
                cage_sizes=cage_sizes,
                strict=self.strict,
                osat=use_osat,
                strata=strata,
            )
            if groups is None:
                counts, value = solve_transport(model, rng)
                cages = None
                stages = {"osat": value, "osat_bound": value, "osat_status": "optimal"}
            else:
                counts, cages, stages = model.solve(rng, self.time_limit)
            labels, cage_of = realise_counts(model, counts, cages, rng)
            osat_bound = stages.get("osat_bound", 0.0)
            self.count_stages_ = stages
        else:
            labels = _random_fill(fixed, capacities, exact, rng)
            cage_of = np.full(n_samples, -1, dtype=np.int64)
            osat_bound = 0.0
            self.count_stages_ = {}
        units = LayoutUnits(
            frame, spec, cells, capacities, groups, separate, exact, fixed
        )
        labels, cage_of, search = self._search(
            units, labels, cage_of, osat_bound, rng, strata=strata
        )
        self.subgroups_ = _renumber(cage_of)
        self.n_violations_ = count_duplicates(self.subgroups_, separate)
        self.objective_ = search["objective"]
        self.lower_bound_ = search["lower_bound"]
        self.scores_ = search["scores"]
        self.trace_ = search["trace"]
        self.n_iter_ = search["n_iter"]
        self.status_ = search["status"]
        return labels.astype(np.int64)

    def _constraint_columns(self):
        """Columns that the constraints or ``balance`` name."""
        names = []
        for value in (self.keep_together, self.keep_separate, self.balance):
            names += [value] if isinstance(value, str) else list(value or ())
        return names

    def _batches(self, n_samples):
        """Capacities, whether batches fill exactly, names, locations table."""
        if self.locations is not None:
            table = self.locations
            if table.shape[0] == 0 or table.shape[1] == 0:
                raise ValueError("locations must have at least one row and column.")
            column = self.batch if self.batch is not None else table.columns[0]
            if column not in table.columns:
                raise ValueError(
                    f"batch={column!r} is not a column of locations "
                    f"({list(table.columns)})."
                )
            names = pd.unique(table[column])
            codes = pd.Categorical(table[column], categories=names).codes
            capacities = np.bincount(codes, minlength=len(names)).astype(np.int64)
            places = table.reset_index(drop=True).assign(_batch=codes)
            return capacities, capacities.sum() == n_samples, np.asarray(names), places
        if self.capacities is not None:
            capacities = np.asarray(self.capacities)
            if (
                capacities.ndim != 1
                or capacities.size < 1
                or not np.issubdtype(capacities.dtype, np.number)
                or np.any(capacities != np.round(capacities))
                or np.any(capacities < 1)
            ):
                raise ValueError(
                    f"capacities must be positive integers, one per batch; got "
                    f"{self.capacities!r}."
                )
            capacities = capacities.astype(np.int64)
            return (
                capacities,
                capacities.sum() == n_samples,
                np.arange(capacities.size),
                None,
            )
        return (
            np.zeros(self.n_groups, dtype=np.int64),
            True,
            np.arange(self.n_groups),
            None,
        )

    def _objective(self, X, labels):
        """Return the (combined) score of any layout of the fitted units."""
        check_is_fitted(self)
        frame = X if isinstance(X, pd.DataFrame) else self._validate_X(X, reset=False)
        labels = np.asarray(labels, dtype=np.int64)
        spec = self._columns(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            cells = self._cells(frame, spec)
        units = LayoutUnits(frame, spec, cells, self.capacities_)
        problems = self._problems(units, labels.copy(), labels.size, 0.0)
        combined = LayoutSearch(
            labels.copy(),
            None,
            np.full(labels.size, -1),
            problems,
            aggregate=self.aggregate,
            scales=None if self.aggregate == "lexicographic" else self._scales,
        )
        return combined.objective

    def _arm_classes(self, sizes, fixed):
        """Batches of equal capacity (and no fixed units) are interchangeable."""
        capacities = getattr(self, "capacities_", sizes)
        has_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0]) > 0
        return [
            ("fixed", g) if has_fixed[g] else ("free", int(capacities[g]))
            for g in range(sizes.shape[0])
        ]


def _frame_fingerprint(frame):
    digest = hashlib.sha1(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    )
    digest.update(repr(frame.shape).encode())
    return digest.hexdigest()


def _renumber(cage_of):
    """Cages numbered 0, 1, ... in order of first unit; -1 stays."""
    out = np.full_like(cage_of, -1)
    caged = cage_of >= 0
    if caged.any():
        _, first, inverse = np.unique(
            cage_of[caged], return_index=True, return_inverse=True
        )
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(first.size)
        out[caged] = rank[inverse.reshape(-1)]
    return out


def _random_fill(fixed, capacities, exact, rng):
    """Draw a random layout honouring capacities (filled exactly if ``exact``)."""
    n_fixed = np.bincount(fixed[fixed >= 0], minlength=capacities.shape[0])
    slots = np.repeat(np.arange(capacities.shape[0]), capacities - n_fixed)
    free = np.flatnonzero(fixed < 0)
    labels = fixed.copy()
    labels[free] = slots[rng.permutation(slots.size)[: free.size]]
    return labels
