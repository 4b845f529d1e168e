"""Rerandomisation (Morgan & Rubin, 2012)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.exceptions import ConvergenceWarning

from skassign.base import BaseDesign, draw_assignments
from skassign.metrics._balance import _mahalanobis_total_batch, _whitened
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import Interval

__all__ = ["Rerandomization"]

_DEFAULT_ACCEPTANCE_PROB = 0.1


def _nothing_to_rerandomise(sizes, fixed, rank):
    """Why every assignment has the same imbalance, or None if they differ.

    With at most one group left with free places there is a single
    completion of ``fixed``; with covariates whose covariance has rank
    ``n_samples - 1`` (``n_features >= n_samples - 1`` in general position)
    the whitened covariates span every centred vector, so ``M`` depends on
    the group sizes only.
    """
    n_samples = fixed.shape[0]
    n_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0])
    if np.count_nonzero(sizes - n_fixed) <= 1:
        return (
            "fixed_labels leaves a single way to complete the assignment "
            f"({int(np.count_nonzero(fixed < 0))} free units, all in one group)"
        )
    if rank >= n_samples - 1:
        return (
            f"the covariates span all {n_samples - 1} directions the "
            f"{n_samples} units allow (n_features >= n_samples - 1); use fewer "
            "covariates, for example a few principal components"
        )
    return None


@fill_doc
class Rerandomization(BaseDesign):
    """Complete randomisation repeated until the groups are balanced.

    Morgan & Rubin (2012): draw complete randomisations until the Mahalanobis
    imbalance of the group means,
    ``M = (m_g - m_h)^T [S (1/n_g + 1/n_h)]^{-1} (m_g - m_h)`` with ``S`` the
    covariance of all units, is at most a threshold ``a``. The threshold is
    given directly (``threshold``) or as an acceptance probability
    ``p_a``, in which case ``a`` is the ``p_a`` quantile of the chi-square
    distribution whose degrees of freedom are the rank of the covariance of
    the units (``n_features`` unless a covariate is a linear combination of
    others, as with a full set of one-hot columns): the large-sample
    distribution of ``M`` under complete randomisation. With more than two
    groups the largest pairwise ``M`` must pass; its acceptance rate is then
    below ``p_a``. Draws are evaluated in vectorised batches. With
    ``strata`` given to ``fit``, every draw spreads every stratum evenly over
    the groups (rerandomisation within strata).

    Because the accepted assignment is still random, a randomisation test
    that re-draws from the same design is exact
    (:class:`~skassign.inference.RandomizationTest`).

    Read more in the :ref:`User Guide <designs>`.

    Parameters
    ----------
    %(n_groups)s
    %(group_sizes)s
    threshold : float or None, default=None
        Largest acceptable imbalance ``a``. Exclusive with
        ``acceptance_prob``.
    acceptance_prob : float in (0, 1] or None, default=None
        Acceptance probability ``p_a`` defining ``a``. If neither this nor
        ``threshold`` is given, ``p_a = 0.1``.
    max_draws : int, default=100_000
        Largest number of randomisations drawn. If none passes, the best one
        is returned with a :class:`~sklearn.exceptions.ConvergenceWarning`.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Attributes
    ----------
    %(fitted_labels)s
    objective_ : float
        Imbalance ``M`` of the accepted assignment (largest pairwise).
    threshold_ : float
        Threshold ``a`` used.
    n_draws_ : int
        Number of randomisations drawn, the accepted one included.
    %(fitted_features)s

    See Also
    --------
    CompleteRandomization : A single draw.
    skassign.metrics.mahalanobis_imbalance : The criterion
        (``covariance="total"``).

    References
    ----------
    .. [1] K. L. Morgan and D. B. Rubin, "Rerandomization to improve
       covariate balance in experiments", Annals of Statistics 40(2),
       1263-1282, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import Rerandomization
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> design = Rerandomization(acceptance_prob=0.05, random_state=0).fit(X)
    >>> bool(design.objective_ <= design.threshold_)
    True
    >>> f"{design.threshold_:.3f}"
    '0.103'
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "threshold": [Interval(Real, 0, None, closed="left"), None],
        "acceptance_prob": [Interval(Real, 0, 1, closed="right"), None],
        "max_draws": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        threshold=None,
        acceptance_prob=None,
        max_draws=100_000,
        random_state=None,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.threshold = threshold
        self.acceptance_prob = acceptance_prob
        self.max_draws = max_draws
        self.random_state = random_state

    def _check_params(self):
        if self.threshold is not None and self.acceptance_prob is not None:
            raise ValueError(
                "Give either threshold or acceptance_prob, not both "
                f"(got threshold={self.threshold}, "
                f"acceptance_prob={self.acceptance_prob})."
            )

    def _threshold(self, rank):
        if self.threshold is not None:
            return float(self.threshold)
        prob = self.acceptance_prob
        if prob is None:
            prob = _DEFAULT_ACCEPTANCE_PROB
        if rank == 0:
            # Constant covariates: every assignment has imbalance 0.
            return 0.0
        return float(stats.chi2.ppf(prob, df=rank))

    def _assign(self, X, sizes, fixed, rng, strata=None):
        # M lives in the span of the covariance: its rank, not n_features,
        # gives the chi-square degrees of freedom.
        Z = _whitened(X)
        self.threshold_ = self._threshold(Z.shape[1])
        reason = _nothing_to_rerandomise(sizes, fixed, Z.shape[1])
        if reason is not None:
            labels = draw_assignments(sizes, fixed, rng)
            self.n_draws_ = 1
            value = _mahalanobis_total_batch(
                Z, labels[None, :], sizes.astype(np.float64)
            )[0]
            if value > self.threshold_:
                warnings.warn(
                    f"{reason}: every assignment has the same imbalance "
                    f"({value:.4g}), above threshold={self.threshold_:.4g}, so "
                    "rerandomisation cannot improve balance and more draws "
                    "would not help. Returning one complete randomisation.",
                    UserWarning,
                    stacklevel=4,
                )
            return labels
        sizes_f = sizes.astype(np.float64)
        batch = int(np.clip(2**16 // X.shape[0], 16, 4096))
        best, best_value, drawn = None, np.inf, 0
        while drawn < self.max_draws:
            n_draws = min(batch, self.max_draws - drawn)
            if strata is None:
                draws = draw_assignments(sizes, fixed, rng, n_draws)
            else:
                draws = strata.draw(fixed, rng, n_draws)
            values = _mahalanobis_total_batch(Z, draws, sizes_f)
            accepted = np.flatnonzero(values <= self.threshold_)
            if accepted.size:
                self.n_draws_ = drawn + int(accepted[0]) + 1
                return draws[accepted[0]]
            k = int(np.argmin(values))
            if values[k] < best_value:
                best, best_value = draws[k], values[k]
            drawn += n_draws
        self.n_draws_ = drawn
        warnings.warn(
            f"No randomisation among max_draws={self.max_draws} had an imbalance "
            f"below threshold={self.threshold_:.4g}; returning the best one "
            f"(imbalance {best_value:.4g}). Increase max_draws or the acceptance "
            "probability.",
            ConvergenceWarning,
            stacklevel=4,
        )
        return best
