"""Complete randomisation and randomisation within strata."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.cluster import KMeans

from skassign.base import BaseDesign, draw_assignments
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import Interval, _fit_context
from skassign.utils._random import child_seed
from skassign.utils._strata import make_strata

__all__ = ["BlockRandomization", "CompleteRandomization"]


@fill_doc
class CompleteRandomization(BaseDesign):
    """Uniformly random assignment with exact group sizes.

    Every assignment with the requested group sizes (and the fixed units in
    place) is equally likely. The covariates are not used, but they are
    validated so that the design composes with the others. With ``strata``
    given to ``fit``, every stratum is spread evenly over the groups and
    the units are randomised within strata (as :class:`BlockRandomization`
    with given strata).

    Read more in the :ref:`User Guide <designs>`.

    Parameters
    ----------
    %(n_groups)s
    %(group_sizes)s
        Which groups get an extra unit is random.
    random_state : int, RandomState instance or None, default=None
        Seed of the assignment.

    Attributes
    ----------
    %(fitted_labels)s
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

    def _assign(self, X, sizes, fixed, rng, strata=None):
        if strata is not None:
            return strata.draw(fixed, rng)
        return draw_assignments(sizes, fixed, rng)


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
    %(group_sizes)s
    n_strata : int or None, default=None
        Number of k-means strata when ``strata`` is not given to ``fit``.
        ``None`` uses ``n_samples // (2 * n_groups)`` (at least 1), so that a
        stratum holds about two units per group. Capped at the number of
        distinct covariate rows.
    random_state : int, RandomState instance or None, default=None
        Seed of k-means and of the assignment.

    Attributes
    ----------
    %(fitted_labels)s
    strata_ : ndarray of shape (n_samples,), dtype int64
        Stratum of each unit, ``0..n_strata_-1``.
    n_strata_ : int
        Number of strata used.
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

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, strata=None, fixed_labels=None):
        """Assign the units of ``X`` to groups, randomising within strata.

        Parameters
        ----------
        %(design_X_y)s
        strata : str or array-like of shape (n_samples,), default=None
            Stratum of every unit (any hashable values; a pandas Series is
            aligned with ``X`` by index), or the name of a column of the
            DataFrame ``X`` holding them. ``None`` forms ``n_strata`` strata
            by k-means on ``X``.
        fixed_labels : array-like of shape (n_samples,), default=None
            Partial assignment, ``-1`` (or NaN/None) for units to assign.

        Returns
        -------
        self : object
            The fitted design.
        """
        return self._fit(X, fixed_labels=fixed_labels, strata=strata)

    def _assign(self, X, sizes, fixed, rng, strata=None):
        if strata is None:
            n_samples = X.shape[0]
            n_strata = self.n_strata
            if n_strata is None:
                n_strata = max(1, n_samples // (2 * sizes.shape[0]))
            elif n_strata > n_samples:
                raise ValueError(
                    f"n_strata={n_strata} is larger than the number of units "
                    f"({n_samples}); strata of single units leave nothing to "
                    "randomise within them. Use at most n_samples // n_groups "
                    f"= {n_samples // sizes.shape[0]} strata."
                )
            n_strata = min(n_strata, np.unique(X, axis=0).shape[0])
            if n_strata > 1:
                kmeans = KMeans(
                    n_clusters=n_strata, n_init=10, random_state=child_seed(rng)
                )
                inverse = kmeans.fit_predict(X)
            else:
                inverse = np.zeros(n_samples, dtype=np.int64)
            _, inverse = np.unique(inverse, return_inverse=True)
            codes = np.asarray(inverse, dtype=np.int64).ravel()
            strata = make_strata(
                codes, np.arange(int(codes.max()) + 1), sizes, fixed, rng
            )
        self.strata_ = strata.codes
        self.n_strata_ = strata.n_strata
        return strata.draw(fixed, rng)
