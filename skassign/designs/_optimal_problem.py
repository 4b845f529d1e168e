"""The problem OptimalBalance solves, reduced to plain arrays.

The objective's moment columns (reduced: constant columns dropped,
proportional ones merged), the fixed units' sums, the free places of every
group, the types of identical free units and the classes of interchangeable
groups, which the search and the model share; and the canonical labelling
that removes the symmetry between interchangeable groups.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from skassign.metrics._balance import arm_pairs
from skassign.utils.validation import interchangeable_groups


def _power_of_two(value):
    """Return the power of two at or above ``value`` (1 for 0 or non-finite)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    return float(2.0 ** np.ceil(np.log2(value)))


def _check_representable(X, rho, second_moments):
    """Refuse covariates whose moments overflow double precision.

    The objective is in the covariates' units (squared for the second
    moments), so with values near 1e155 (or a huge ``rho``) it cannot be
    represented; every assignment would look equally good.
    """
    largest = float(np.abs(X).max(initial=0.0))
    n_samples, n_features = X.shape
    # Python floats overflow to inf silently (no numpy error state to set).
    size = largest * n_samples * n_features
    if rho > 0:
        terms = n_features if second_moments == "diagonal" else n_features**2
        size = size + 2.0 * float(rho) * largest * largest * n_samples * terms
    if not math.isfinite(size):
        raise ValueError(
            f"OptimalBalance cannot represent its objective for these covariates "
            f"(largest |x| = {largest:.3g}, rho={rho:g}): the sums of squares "
            "overflow double precision. Standardise the covariates first (a "
            "StandardScaler in a Pipeline), as the method prescribes."
        )


def _distinct_rows(A):
    """Distinct rows of a float matrix, in lexicographic order.

    Returns what ``np.unique(A, axis=0, return_index=True,
    return_inverse=True)`` returns after the unique rows, several times
    faster on the small matrices of a fit (every bootstrap resample makes
    two): the index of every distinct row's first occurrence and the
    distinct row of every row.
    """
    order = np.lexsort(A.T[::-1])
    ordered = A[order]
    new = np.ones(A.shape[0], dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(A.shape[0], dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def _moment_columns(X, rho, second_moments):
    """Weighted moment columns whose group means enter the objective.

    The discrepancy between groups ``p`` and ``q`` is
    ``sum_k |mean_p(F[:, k]) - mean_q(F[:, k])|`` with these columns: the
    covariates, then ``rho`` times the squares (``"diagonal"``) or the
    products ``x_s x_s'`` for ``s <= s'`` with weight ``rho`` on the diagonal
    and ``2 rho`` off it (``"full"``: the entrywise l1 norm of the difference
    of the symmetric second-moment matrices). Columns are centred (which
    leaves differences of means unchanged), constant columns are dropped and
    proportional columns merged, as happens with binary or one-hot
    covariates.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Covariates.
    rho : float
        Weight of the second moments.
    second_moments : {"diagonal", "full"}
        Which second moments enter.

    Returns
    -------
    F : ndarray of shape (n_samples, n_columns)
        The reduced, weighted, centred columns (at least one column).
    """
    cols, weights = [X], [np.ones(X.shape[1])]
    if rho > 0:
        if second_moments == "diagonal":
            cols.append(X * X)
            weights.append(np.full(X.shape[1], float(rho)))
        else:
            iu, ju = np.triu_indices(X.shape[1])
            cols.append(X[:, iu] * X[:, ju])
            weights.append(np.where(iu == ju, float(rho), 2.0 * rho))
    F = np.hstack(cols) * np.concatenate(weights)
    # Columns below 1e-12 of the largest are dropped as noise, whatever the
    # covariates' units (powers of two rescale exactly).
    scale = _power_of_two(np.abs(F).max(initial=0.0))
    F = F / scale
    magnitude = np.abs(F).max(axis=0)
    F = F - F.mean(axis=0)
    spread = np.abs(F).max(axis=0)
    keep = spread > 1e-12 * np.maximum(magnitude, 1.0)
    if not keep.any():
        return np.zeros((X.shape[0], 1))
    F, spread = F[:, keep], spread[keep]
    unit = F / spread
    # Fix the sign by the first clearly non-zero entry: |diff| ignores sign.
    first = np.argmax(np.abs(unit) > 1e-9, axis=0)
    unit *= np.sign(unit[first, np.arange(unit.shape[1])])
    first_of, inverse = _distinct_rows(np.round(unit, 12).T)
    merged = np.bincount(inverse, weights=spread)
    return unit[:, first_of] * (merged * scale)


# The scaled moment columns of the last few covariate matrices, by content:
# a design refit on the same units with other seeds (repeated fits,
# sample_assignments, a randomisation test) computes them once. They are
# read-only; the problem holds copies.
_MOMENTS_CACHE_SIZE = 8
_moments_cache = OrderedDict()
_moments_lock = threading.Lock()


def _scaled_moment_columns(X, rho, second_moments):
    """Return the checked, scaled moment columns of ``X`` and their scale.

    Returns :func:`_moment_columns` divided by ``scale``, a power of two, so
    that the solver sees coefficients of order 1 whatever the covariates'
    units (the problem's objective is the design's divided by ``scale``,
    exactly). The result depends only on the bytes of ``X``, its shape,
    ``rho`` and ``second_moments``, which key the cache.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    key = (hashlib.sha1(X).digest(), X.shape, float(rho), second_moments)
    with _moments_lock:
        cached = _moments_cache.get(key)
        if cached is not None:
            _moments_cache.move_to_end(key)
            return cached
    _check_representable(X, rho, second_moments)
    F = _moment_columns(X, rho, second_moments)
    scale = _power_of_two(np.abs(F).max(initial=0.0))
    F = F / scale
    F.flags.writeable = False
    with _moments_lock:
        _moments_cache[key] = (F, scale)
        while len(_moments_cache) > _MOMENTS_CACHE_SIZE:
            _moments_cache.popitem(last=False)
    return F, scale


@dataclass
class _Problem:
    """The optimisation problem over the free units, as plain arrays."""

    F: np.ndarray  # (n_free, K) moment columns of the free units
    types: np.ndarray  # (n_free,) type of every free unit: equal rows of F
    type_counts: np.ndarray  # (n_types,) free units of every type
    C: np.ndarray  # (m, K) column sums of the fixed units of every group
    sizes: np.ndarray  # (m,) group sizes, float
    caps: np.ndarray  # (m,) free places per group
    free: np.ndarray  # indices of the free units
    classes: list  # lists of interchangeable groups (>= 2 each)
    scale: float = 1.0  # the design's objective is scale times the problem's
    # With strata: stratum of every free unit, and free places per stratum
    # and group (swaps stay within a stratum, the model counts them).
    strata: np.ndarray | None = None
    stratum_caps: np.ndarray | None = None

    @property
    def n_groups(self):
        return self.sizes.shape[0]


def _make_problem(X, sizes, fixed, rho, second_moments, arm_classes, strata=None):
    """Moment columns, fixed-unit sums, capacities and symmetry classes.

    With ``strata`` (a :class:`~skassign.utils._strata.Strata`), units of
    different strata are never of one type, and no symmetry between groups
    is assumed (the strata's counts need not be symmetric).
    """
    F, scale = _scaled_moment_columns(X, rho, second_moments)
    m = sizes.shape[0]
    is_fixed = fixed >= 0
    C = np.zeros((m, F.shape[1]))
    n_fixed = np.zeros(m, dtype=np.int64)
    if is_fixed.any():
        np.add.at(C, fixed[is_fixed], F[is_fixed])
        n_fixed = np.bincount(fixed[is_fixed], minlength=m)
    groups = interchangeable_groups(arm_classes).values()
    classes = [arms for arms in groups if len(arms) > 1]
    free = np.flatnonzero(~is_fixed)
    codes = caps_h = None
    keys = F[free]
    if strata is not None:
        codes = strata.codes[free]
        f_hg = np.zeros_like(strata.counts)
        np.add.at(f_hg, (strata.codes[is_fixed], fixed[is_fixed]), 1)
        caps_h = (strata.counts - f_hg).astype(np.int64)
        keys = np.column_stack([keys, codes])
        classes = []
    types, type_counts = _unit_types(keys)
    return _Problem(
        F=F[free],
        types=types,
        type_counts=type_counts,
        C=C,
        sizes=sizes.astype(np.float64),
        caps=(sizes - n_fixed).astype(np.int64),
        free=free,
        classes=classes,
        scale=scale,
        strata=codes,
        stratum_caps=caps_h,
    )


def _unit_types(F):
    """Group units with identical moment columns (duplicates are interchangeable).

    Types are numbered in order of first appearance, so the first unit has
    type 0. Bootstrap resamples and discrete covariates have many duplicates;
    the two-group model counts the units of each type in group 0 instead of
    deciding unit by unit, which removes the symmetric solutions that
    swapping identical units creates.
    """
    if F.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first_of, inverse = _distinct_rows(F)
    order = np.argsort(first_of, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    types = rank[inverse].astype(np.int64)
    return types, np.bincount(types).astype(np.int64)


def _pair_indices(m):
    pairs = np.array(arm_pairs(m), dtype=np.int64).reshape(-1, 2)
    # Contiguous copies: the compiled kernel is specialised on memory layout.
    return np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])


def _pair_differences(problem, labels):
    """Differences of group means, one row per pair of groups."""
    m = problem.n_groups
    sums = problem.C.copy()
    np.add.at(sums, labels, problem.F)
    means = sums / problem.sizes[:, None]
    first, second = _pair_indices(m)
    return means[first] - means[second]


def _canonical_labels(labels, problem):
    """Rename interchangeable groups to the representative the model keeps.

    With two interchangeable groups, group 0 holds at least half of the
    units of type 0 (the two-group model bounds that count). Otherwise,
    within a class, the group holding the earliest free unit comes first
    (the model's bounds let the ``j``-th free unit join only the class's
    first ``j + 1`` groups).
    """
    classes = problem.classes
    if problem.n_groups == 2:
        if classes and labels.shape[0]:
            in_zero = np.count_nonzero(labels[problem.types == 0] == 0)
            if 2 * in_zero < problem.type_counts[0]:
                return 1 - labels
        return labels.copy()
    labels = labels.copy()
    mapping = np.arange(int(labels.max(initial=0)) + 1)
    for groups in classes:
        first = [int(np.argmax(labels == g)) for g in groups]
        order = np.argsort(first, kind="stable")
        mapping[np.asarray(groups)[order]] = groups
    if classes:
        labels = mapping[labels]
    return labels


def _random_labels(caps, rng, problem=None):
    """Return random labels of the free units filling ``caps``.

    With strata (``problem.strata``), every stratum fills its own places in
    every group.
    """
    if problem is None or problem.strata is None:
        return rng.permutation(np.repeat(np.arange(caps.shape[0]), caps))
    labels = np.empty(problem.strata.shape[0], dtype=np.int64)
    for h, caps_h in enumerate(problem.stratum_caps):
        in_h = np.flatnonzero(problem.strata == h)
        labels[in_h] = rng.permutation(np.repeat(np.arange(caps.shape[0]), caps_h))
    return labels
