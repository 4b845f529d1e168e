"""Complete randomisation and randomisation within strata."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from sklearn.cluster import KMeans

from skassign.base import BaseDesign, draw_assignments
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import Interval, _fit_context
from skassign.utils._random import child_seed

__all__ = ["BlockRandomization", "CompleteRandomization"]


@fill_doc
class CompleteRandomization(BaseDesign):
    """Uniformly random assignment with exact group sizes.

    Every assignment with the requested group sizes (and the fixed units in
    place) is equally likely. The covariates are not used, but they are
    validated so that the design composes with the others.

    Read more in the :ref:`User Guide <designs>`.

    Parameters
    ----------
    %(n_groups)s
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units. ``None`` makes
        the sizes as equal as possible; which groups get an extra unit is
        random.
    random_state : int, RandomState instance or None, default=None
        Seed of the assignment.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each unit.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        Largest pairwise Mahalanobis imbalance (covariance of all units) of
        the assignment, for comparison with other designs.
    %(fitted_features)s

    See Also
    --------
    BlockRandomization : Complete randomisation within strata.
    Rerandomization : Complete randomisation until the groups are balanced.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import CompleteRandomization
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> labels = CompleteRandomization(n_groups=2, random_state=0).fit_predict(X)
    >>> np.bincount(labels)
    array([5, 5])
    """

    def __init__(self, n_groups=2, *, group_sizes=None, random_state=None):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.random_state = random_state

    def _assign(self, X, sizes, fixed, rng):
        return draw_assignments(sizes, fixed, rng)


def _stratum_counts(strata, n_strata, sizes, fixed, rng):
    """How many units of every stratum go to every group.

    The counts keep each group's size, respect the fixed units, and stay
    within one unit of the proportional share ``n_h * size_g / n`` wherever
    the fixed units allow (a controlled rounding of the proportional table,
    found as a small integer program). Random costs break ties, so which
    stratum gives a group its extra unit is random.

    Returns
    -------
    counts : ndarray of shape (n_strata, n_groups), int64
    """
    n_groups = sizes.shape[0]
    n_h = np.bincount(strata, minlength=n_strata)
    is_fixed = fixed >= 0
    f_hg = np.zeros((n_strata, n_groups), dtype=np.int64)
    np.add.at(f_hg, (strata[is_fixed], fixed[is_fixed]), 1)
    share = n_h[:, None] * sizes[None, :] / sizes.sum()
    floor, ceil = np.floor(share), np.ceil(share)
    cells = n_strata * n_groups
    # Variables: counts c (cells) and excess w (cells) beyond [floor, ceil].
    cost = np.concatenate([rng.random_sample(cells), np.full(cells, cells + 1.0)])
    eye = np.eye(cells)
    rows = np.kron(np.eye(n_strata), np.ones(n_groups))
    cols = np.kron(np.ones(n_strata), np.eye(n_groups))
    zeros = np.zeros((n_strata + n_groups, cells))
    constraints = [
        LinearConstraint(
            np.hstack([np.vstack([rows, cols]), zeros]),
            np.concatenate([n_h, sizes]),
            np.concatenate([n_h, sizes]),
        ),
        LinearConstraint(np.hstack([eye, -eye]), -np.inf, ceil.ravel()),
        LinearConstraint(np.hstack([eye, eye]), floor.ravel(), np.inf),
    ]
    upper = np.concatenate([np.repeat(n_h, n_groups), np.full(cells, np.inf)])
    lower = np.concatenate([f_hg.ravel(), np.zeros(cells)])
    result = milp(
        cost,
        constraints=constraints,
        integrality=np.concatenate([np.ones(cells), np.zeros(cells)]),
        bounds=Bounds(lower, upper),
    )
    if result.x is None:  # pragma: no cover - sizes were checked feasible
        raise RuntimeError(f"Allocating strata to groups failed: {result.message}")
    return np.rint(result.x[:cells]).astype(np.int64).reshape(n_strata, n_groups)


@fill_doc
class BlockRandomization(BaseDesign):
    """Complete randomisation within strata (blocks).

    Units are grouped into strata, either given to ``fit`` (``strata=``) or
    formed from the covariates by k-means with ``n_strata`` clusters (the
    "stratified random assignment with k-means strata" that Bertsimas et al.
    compare against). Within every stratum the units are completely
    randomised, and every stratum's units are spread over the groups as
    evenly as possible: each group receives its proportional share of the
    stratum, rounded up or down, with the overall group sizes kept exact.

    Read more in the :ref:`User Guide <designs>`.

    Parameters
    ----------
    %(n_groups)s
    group_sizes : array-like of int or None, default=None
        Size of every group, summing to the number of units. ``None`` makes
        the sizes as equal as possible.
    n_strata : int or None, default=None
        Number of k-means strata when ``strata`` is not given to ``fit``.
        ``None`` uses ``n_samples // (2 * n_groups)`` (at least 1), so that a
        stratum holds about two units per group. Capped at the number of
        distinct covariate rows.
    random_state : int, RandomState instance or None, default=None
        Seed of k-means and of the assignment.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each unit.
    strata_ : ndarray of shape (n_samples,), dtype int64
        Stratum of each unit, ``0..n_strata_-1``.
    n_strata_ : int
        Number of strata used.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        Largest pairwise Mahalanobis imbalance (covariance of all units).
    %(fitted_features)s

    See Also
    --------
    CompleteRandomization : No strata.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import BlockRandomization
    >>> X = np.arange(8.0).reshape(-1, 1)
    >>> design = BlockRandomization(n_strata=2, random_state=0).fit(X)
    >>> np.bincount(design.labels_[design.strata_ == 0])
    array([2, 2])
    >>> sex = ["f", "f", "m", "m", "m", "m", "f", "f"]
    >>> labels = BlockRandomization(random_state=0).fit_predict(X, strata=sex)
    >>> np.bincount(labels[np.array(sex) == "m"])
    array([2, 2])
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "n_strata": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self, n_groups=2, *, group_sizes=None, n_strata=None, random_state=None
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.n_strata = n_strata
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, strata=None, fixed_labels=None):
        """Assign the units of ``X`` to groups, randomising within strata.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates of the units to assign.
        y : None
            Ignored.
        strata : array-like of shape (n_samples,), default=None
            Stratum of every unit (any hashable values). ``None`` forms
            ``n_strata`` strata by k-means on ``X``.
        fixed_labels : array-like of shape (n_samples,), default=None
            Partial assignment, ``-1`` (or NaN/None) for units to assign.

        Returns
        -------
        self : object
            The fitted design.
        """
        return self._fit(X, fixed_labels=fixed_labels, strata=strata)

    def _assign(self, X, sizes, fixed, rng, strata=None):
        n_samples = X.shape[0]
        if strata is None:
            n_strata = self.n_strata
            if n_strata is None:
                n_strata = max(1, n_samples // (2 * sizes.shape[0]))
            n_strata = min(n_strata, np.unique(X, axis=0).shape[0])
            if n_strata > 1:
                kmeans = KMeans(
                    n_clusters=n_strata, n_init=10, random_state=child_seed(rng)
                )
                inverse = kmeans.fit_predict(X)
            else:
                inverse = np.zeros(n_samples, dtype=np.int64)
        else:
            values = np.asarray(strata)
            if values.ndim != 1 or values.shape[0] != n_samples:
                raise ValueError(
                    f"strata must give one stratum per unit ({n_samples}); got "
                    f"shape {values.shape}."
                )
            _, inverse = np.unique(values.astype(str), return_inverse=True)
        inverse = np.asarray(inverse, dtype=np.int64)
        n_strata = int(inverse.max()) + 1
        counts = _stratum_counts(inverse, n_strata, sizes, fixed, rng)
        labels = fixed.copy()
        for h in range(n_strata):
            in_h = inverse == h
            labels[in_h] = draw_assignments(counts[h], fixed[in_h], rng)
        self.strata_ = inverse
        self.n_strata_ = n_strata
        return labels
