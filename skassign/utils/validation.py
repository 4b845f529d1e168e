"""Input validation shared by every design, metric and test.

Group sizes, partial assignments, labels and the random relabeling of arms are
handled here once; designs call these helpers instead of re-implementing them.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from sklearn.utils import check_array

from skassign.exceptions import InfeasibleDesignError

__all__ = [
    "check_assignment",
    "check_covariates",
    "check_fixed_labels",
    "check_labels",
    "final_step",
    "get_labels",
    "interchangeable_groups",
    "relabel_arms",
    "resolve_group_sizes",
]


def _integer_vector(values, name):
    """Convert ``values`` to int64, returning it with a mask of missing entries.

    Missing entries (NaN, None, pandas NA) are returned as ``-1``.
    """
    if hasattr(values, "to_numpy"):
        kind = getattr(values.dtype, "kind", "O")
        values = (
            values.to_numpy()
            if kind in "iub"
            else values.to_numpy(dtype=np.float64, na_value=np.nan)
        )
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = np.array([np.nan if v is None else v for v in arr.ravel()]).reshape(
            arr.shape
        )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}.")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64), np.zeros(arr.shape, dtype=bool)
    if arr.dtype.kind != "f":
        raise ValueError(
            f"{name} must contain integer group numbers; got values of dtype "
            f"{arr.dtype}."
        )
    infinite = np.flatnonzero(np.isinf(arr))
    if infinite.size:
        raise ValueError(
            f"{name} has an infinite value at position {int(infinite[0])}; use a "
            "group number, or -1 (or NaN) for a unit still to assign."
        )
    missing = np.isnan(arr)
    present = arr[~missing]
    if not np.all(np.floor(present) == present):
        raise ValueError(f"{name} must contain integers; got non-integral values.")
    return np.where(missing, -1, arr).astype(np.int64), missing


def check_fixed_labels(fixed_labels, n_samples, n_groups):
    """Validate a partial assignment.

    Parameters
    ----------
    fixed_labels : array-like of shape (n_samples,) or None
        Group of each unit that is already assigned, and ``-1`` (or NaN /
        None, as R's ``NA`` and Stata's ``.``) for units still to assign.
    n_samples : int
        Number of units.
    n_groups : int
        Number of groups.

    Returns
    -------
    fixed : ndarray of shape (n_samples,), dtype int64
        ``-1`` for free units, the fixed group otherwise.

    Examples
    --------
    >>> from skassign.utils import check_fixed_labels
    >>> check_fixed_labels([0, None, 1, -1], 4, 2)
    array([ 0, -1,  1, -1])
    """
    if fixed_labels is None:
        return np.full(n_samples, -1, dtype=np.int64)
    fixed, _ = _integer_vector(fixed_labels, "fixed_labels")
    if fixed.shape[0] != n_samples:
        raise ValueError(
            f"fixed_labels has {fixed.shape[0]} entries but X has {n_samples} "
            "units; give one entry per unit (-1 for units still to assign)."
        )
    bad = np.flatnonzero((fixed < -1) | (fixed >= n_groups))
    if bad.size:
        raise ValueError(
            f"fixed_labels must be -1 (to assign) or a group in 0..{n_groups - 1}; "
            f"got {fixed[bad[0]]} at position {bad[0]}. Increase n_groups or fix "
            "the label."
        )
    return fixed


def resolve_group_sizes(n_samples, n_groups, group_sizes, fixed, rng):
    """Resolve the size of every group, checking it against the data.

    Parameters
    ----------
    n_samples : int
        Number of units.
    n_groups : int
        Number of groups.
    group_sizes : array-like of int or None
        Explicit sizes (summing to ``n_samples``). With ``None`` the sizes are
        as equal as possible (differing by at most one) and the groups that
        get an extra unit are drawn from ``rng``, among those the fixed units
        allow.
    fixed : ndarray of shape (n_samples,)
        Output of :func:`check_fixed_labels`.
    rng : numpy.random.RandomState
        Source of randomness.

    Returns
    -------
    sizes : ndarray of shape (n_groups,), dtype int64
        The size of each group, fixed units included.

    Raises
    ------
    ValueError
        If the sizes do not match ``n_groups`` or do not sum to ``n_samples``.
    InfeasibleDesignError
        If fixed units already exceed a group's size.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils.validation import resolve_group_sizes
    >>> free = np.full(7, -1)
    >>> sorted(resolve_group_sizes(7, 2, None, free, np.random.RandomState(0)).tolist())
    [3, 4]
    >>> resolve_group_sizes(7, 2, [2, 5], free, np.random.RandomState(0)).tolist()
    [2, 5]
    """
    if n_samples < n_groups:
        raise ValueError(
            f"n_samples={n_samples} is smaller than n_groups={n_groups}: every "
            "group needs at least one unit. Use fewer groups or more units."
        )
    n_fixed = np.bincount(fixed[fixed >= 0], minlength=n_groups)
    if group_sizes is None:
        base, extra = divmod(n_samples, n_groups)
        over = np.flatnonzero(n_fixed > base + 1)
        required = np.flatnonzero(n_fixed == base + 1) if extra else np.array([], int)
        if (
            over.size
            or (extra == 0 and np.any(n_fixed > base))
            or required.size > extra
        ):
            raise InfeasibleDesignError(
                f"The fixed units ({n_fixed.tolist()} per group) do not fit groups "
                f"of as equal as possible sizes for n_samples={n_samples}; pass "
                "group_sizes explicitly."
            )
        sizes = np.full(n_groups, base, dtype=np.int64)
        others = np.ones(n_groups, dtype=bool)
        others[required] = False
        chosen = rng.permutation(np.flatnonzero(others))[: extra - required.size]
        sizes[required] += 1
        sizes[chosen] += 1
        return sizes
    sizes = np.asarray(group_sizes)
    if sizes.ndim != 1 or sizes.dtype.kind not in "iuf":
        raise ValueError(
            f"group_sizes must be a 1-D sequence of integers; got {group_sizes!r}."
        )
    if sizes.dtype.kind == "f" and not np.all(np.floor(sizes) == sizes):
        raise ValueError(f"group_sizes must be integers; got {group_sizes!r}.")
    sizes = sizes.astype(np.int64)
    if sizes.shape[0] != n_groups:
        raise ValueError(
            f"group_sizes has {sizes.shape[0]} entries but n_groups={n_groups}; "
            f"set n_groups={sizes.shape[0]} or give one size per group."
        )
    if np.any(sizes < 1):
        raise ValueError(f"Every group size must be at least 1; got {sizes.tolist()}.")
    if sizes.sum() != n_samples:
        raise ValueError(
            f"group_sizes {sizes.tolist()} sum to {int(sizes.sum())} but X has "
            f"n_samples={n_samples} units; the sizes must add up to the number "
            "of units."
        )
    if np.any(n_fixed > sizes):
        g = int(np.flatnonzero(n_fixed > sizes)[0])
        raise InfeasibleDesignError(
            f"fixed_labels puts {int(n_fixed[g])} units in group {g}, whose size "
            f"is {int(sizes[g])}; enlarge that group or fix fewer units."
        )
    return sizes


def check_assignment(labels, sizes, fixed):
    """Check that an assignment honours the sizes and the fixed units.

    Every design's result passes through this check before it is stored, so a
    solver's rounding error or a search bug can never produce a silently
    wrong assignment.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Proposed group of each unit.
    sizes : ndarray of shape (n_groups,)
        Required group sizes.
    fixed : ndarray of shape (n_samples,)
        Fixed groups (``-1`` for free units).

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        The validated labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils.validation import check_assignment
    >>> check_assignment([0, 1, 1, 0], np.array([2, 2]), np.array([0, -1, -1, -1]))
    array([0, 1, 1, 0])
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        labels = np.rint(labels)
    labels = labels.astype(np.int64)
    n_groups = sizes.shape[0]
    if labels.shape != fixed.shape or labels.min() < 0 or labels.max() >= n_groups:
        raise RuntimeError(
            "The design produced labels outside 0..n_groups-1; please report this."
        )
    counts = np.bincount(labels, minlength=n_groups)
    if not np.array_equal(counts, sizes):
        raise RuntimeError(
            f"The design produced group sizes {counts.tolist()} instead of "
            f"{sizes.tolist()}; please report this."
        )
    is_fixed = fixed >= 0
    if not np.array_equal(labels[is_fixed], fixed[is_fixed]):
        raise RuntimeError("The design moved a fixed unit; please report this.")
    return labels


def interchangeable_groups(arm_classes):
    """Return the groups a design treats alike: those sharing each class.

    Parameters
    ----------
    arm_classes : sequence of hashable, length n_groups
        Class of every group (see ``BaseDesign._arm_classes``); groups with
        equal classes may swap labels.

    Returns
    -------
    groups : dict
        For every class, in order of its first group, the list of its groups
        (ascending).

    Examples
    --------
    >>> from skassign.utils.validation import interchangeable_groups
    >>> interchangeable_groups([("free", 2), ("fixed", 1), ("free", 2)])
    {('free', 2): [0, 2], ('fixed', 1): [1]}
    """
    groups = {}
    for arm, key in enumerate(arm_classes):
        groups.setdefault(key, []).append(arm)
    return groups


def relabel_arms(labels, arm_classes, rng):
    """Randomly permute interchangeable groups.

    Which solved group becomes arm 0, 1, ... is drawn at random among groups
    that the design treats alike (same ``arm_classes`` value), as step 3 of
    Bertsimas et al.'s procedure does.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Assignment before relabeling.
    arm_classes : sequence of hashable, length n_groups
        Groups with equal classes may be swapped.
    rng : numpy.random.RandomState
        Source of randomness.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        The relabeled assignment.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils.validation import relabel_arms
    >>> labels = np.array([0, 0, 1, 1, 2])
    >>> classes = [("free", 2), ("free", 2), ("free", 1)]
    >>> out = relabel_arms(labels, classes, np.random.RandomState(0))
    >>> int(out[4])  # group 2 has no interchangeable partner
    2
    """
    mapping = np.arange(len(arm_classes))
    classes = interchangeable_groups(arm_classes)
    for key in sorted(classes, key=repr):
        arms = np.asarray(classes[key])
        if arms.size > 1:
            mapping[arms] = arms[rng.permutation(arms.size)]
    return mapping[labels].astype(np.int64)


def check_labels(labels, n_samples=None, *, n_groups=None, name="labels"):
    """Validate an assignment given by the user.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Integer group of each unit.
    n_samples : int, default=None
        Expected length.
    n_groups : int, default=None
        If given, the labels must lie in ``0..n_groups-1``.
    name : str, default="labels"
        Name used in error messages.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        The labels.

    Examples
    --------
    >>> from skassign.utils import check_labels
    >>> check_labels([0, 1, 1, 0])
    array([0, 1, 1, 0])
    """
    converted, missing = _integer_vector(labels, name)
    if missing.any():
        raise ValueError(f"{name} contains NaN or inf; every unit needs a group.")
    if n_samples is not None and converted.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {converted.shape[0]} entries but there are {n_samples} "
            "units; give one label per unit."
        )
    if converted.size and converted.min() < 0:
        raise ValueError(f"{name} must be non-negative group numbers.")
    if n_groups is not None and converted.size and converted.max() >= n_groups:
        raise ValueError(
            f"{name} contains group {int(converted.max())}, but the design has "
            f"n_groups={n_groups} (groups 0..{n_groups - 1})."
        )
    if np.unique(converted).size < 2:
        raise ValueError(
            f"{name} has a single group; a comparison needs at least two arms."
        )
    return converted


def _temporal_columns_error(X, name="X"):
    """Return a ValueError naming the date/time columns of ``X``, or None.

    numpy cannot convert dates and times to covariates (it raises a
    ``DTypePromotionError`` that names no column); this says which columns
    to convert.

    Parameters
    ----------
    X : array-like
        Covariates as given by the user.
    name : str, default="X"
        Name used in the message.

    Returns
    -------
    error : ValueError or None
        The error to raise, or ``None`` if ``X`` holds no dates or times.

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.utils.validation import _temporal_columns_error
    >>> X = pd.DataFrame({"w": [1.0, 2.0], "day": pd.to_datetime(["2024-01-01"] * 2)})
    >>> print(_temporal_columns_error(X))  # doctest: +ELLIPSIS
    X has date or time values in column(s) 'day'; ...
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        columns = [str(c) for c, dtype in dtypes.items() if dtype.kind in "mM"]
        where = f"in column(s) {', '.join(map(repr, columns))}"
    else:
        kind = np.asarray(X).dtype.kind if not hasattr(X, "tocsr") else "f"
        columns = [name] if kind in "mM" else []
        where = ""
    if not columns:
        return None
    return ValueError(
        f"{name} has date or time values {where}".rstrip()
        + "; convert them to numbers first (for example days since a reference "
        "date, or the month as a category) or drop them."
    )


def _is_checked_matrix(X):
    """Whether scikit-learn's checks would return ``X`` itself, unchanged.

    That is, ``check_array(X, dtype=np.float64, order="C")`` accepts ``X``
    and returns it as it is: a C-ordered float64 ndarray (not a subclass)
    with at least one row and one column and only finite values. A design
    refit a thousand times on such arrays (a bootstrap) skips scikit-learn's
    checks, which take longer than assigning a few dozen units; anything
    else goes through them and gets their errors.

    Parameters
    ----------
    X : object
        Candidate covariates.

    Returns
    -------
    out : bool
        True if ``X`` needs no conversion and no check.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils.validation import _is_checked_matrix
    >>> _is_checked_matrix(np.ones((3, 2))), _is_checked_matrix(np.ones(3))
    (True, False)
    >>> _is_checked_matrix(np.array([[1.0], [np.nan]]))
    False
    """
    return (
        type(X) is np.ndarray
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[0] > 0
        and X.shape[1] > 0
        and X.flags.c_contiguous
        # A finite sum means finite entries (NaN and inf propagate).
        and math.isfinite(X.sum())
    )


def _checked_frame(X):
    """Return what scikit-learn's checks would make of a float64 DataFrame.

    For a pandas DataFrame with at least one row and one column, numpy
    float64 columns only, string column names and finite values, returns
    ``(values, names)``: the C-ordered float64 values that
    ``check_array(X, dtype=np.float64, order="C")`` returns and the
    ``feature_names_in_`` scikit-learn would set. Anything else returns
    ``None`` and goes through scikit-learn's checks (and their errors).
    """
    pd = sys.modules.get("pandas")
    if pd is None or type(X) is not pd.DataFrame:
        return None
    if X.shape[0] == 0 or X.shape[1] == 0:
        return None
    names = list(X.columns)
    if not all(type(name) is str for name in names):
        return None
    if not all(dtype == np.float64 for dtype in X.dtypes):
        return None
    values = np.ascontiguousarray(X.to_numpy(dtype=np.float64))
    if not _is_checked_matrix(values):
        return None
    return values, np.asarray(names, dtype=object)


def check_covariates(X, name="X"):
    """Validate covariates for a metric: numeric, 2-D, finite.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        The covariates.
    feature_names : list of str
        Column names of a DataFrame, else ``x0, x1, ...``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.utils.validation import check_covariates
    >>> X, names = check_covariates(pd.DataFrame({"weight": [1, 2]}))
    >>> X.dtype, names
    (dtype('float64'), ['weight'])
    """
    if hasattr(X, "columns"):
        names = [str(c) for c in X.columns]
    else:
        names = None
    try:
        Xv = check_array(X, dtype=np.float64, ensure_2d=False, input_name=name)
    except TypeError as err:
        temporal = _temporal_columns_error(X, name)
        if temporal is not None:
            raise temporal from err
        raise
    except ValueError as err:
        if "convert" in str(err):
            raise ValueError(
                f"{name} has non-numeric values ({err}); encode categorical "
                "covariates first, e.g. with OneHotEncoder."
            ) from err
        raise
    if Xv.ndim == 1:
        Xv = Xv.reshape(-1, 1)
    if names is None:
        names = [f"x{j}" for j in range(Xv.shape[1])]
    return Xv, names


def final_step(estimator):
    """Return the last step of a Pipeline (nested ones too), or the estimator.

    Parameters
    ----------
    estimator : estimator instance
        A design, or a Pipeline whose last step is a design or such a Pipeline.

    Returns
    -------
    final : estimator instance
        The estimator at the end of the chain of last steps.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.utils.validation import final_step
    >>> inner = make_pipeline(StandardScaler(), CompleteRandomization())
    >>> final_step(make_pipeline(StandardScaler(), inner))
    CompleteRandomization()
    """
    while getattr(estimator, "steps", None):
        estimator = estimator.steps[-1][1]
    return estimator


def get_labels(estimator):
    """Return the fitted assignment of a design or of a Pipeline ending in one.

    Parameters
    ----------
    estimator : fitted design or Pipeline
        An object with ``labels_``, or a Pipeline whose last step (at any
        depth of nesting) has it.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The fitted labels.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.utils import get_labels
    >>> pipe = make_pipeline(StandardScaler(), CompleteRandomization(random_state=0))
    >>> get_labels(pipe.fit([[1.0], [2.0], [3.0], [4.0]])).shape
    (4,)
    """
    final = final_step(estimator)
    if hasattr(final, "labels_"):
        return final.labels_
    raise ValueError(
        f"{type(estimator).__name__} has no fitted labels_: fit a design (or a "
        "Pipeline ending in one) first."
    )
