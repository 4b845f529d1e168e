"""Test statistics evaluated on many assignments (and resamples) at once.

Every kernel takes outcomes ``Y`` of shape ``(n_draws, n_samples)`` (or one
row broadcast to all draws) and labels ``L`` of the same shape, and returns
one value per draw and comparison ``(treated arm, control arm)``.
"""

from __future__ import annotations

import numpy as np

from skassign.utils._docstrings import fill_doc

__all__ = ["STATISTICS", "StatisticEvaluator"]

STATISTICS = ("mean_difference", "regression_adjusted", "t")


def _flat_groups(L, n_groups):
    """Index of (draw, group) for every cell of ``L``, for ``np.bincount``."""
    n_draws = L.shape[0]
    return (np.arange(n_draws)[:, None] * n_groups + L).ravel()


def group_moments(Y, L, n_groups, *, variances=False):
    """Per-draw group counts, means and (optionally) variances with ddof=1.

    Parameters
    ----------
    Y : ndarray of shape (n_draws, n_samples)
        Outcomes of every draw.
    L : ndarray of shape (n_draws, n_samples)
        Labels of every draw, ``0..n_groups-1``.
    n_groups : int
        Number of groups.
    variances : bool, default=False
        Also return the within-group variances (two-pass, so that large
        outcome levels do not cancel).

    Returns
    -------
    counts : ndarray of shape (n_draws, n_groups)
    means : ndarray of shape (n_draws, n_groups)
    var : ndarray of shape (n_draws, n_groups), only if ``variances``
    """
    n_draws = L.shape[0]
    flat = _flat_groups(L, n_groups)
    size = n_draws * n_groups
    counts = np.bincount(flat, minlength=size).reshape(n_draws, n_groups)
    sums = np.bincount(flat, weights=Y.ravel(), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums.reshape(n_draws, n_groups) / counts
    if not variances:
        return counts, means
    resid = Y - np.take_along_axis(means, L, axis=1)
    ss = np.bincount(flat, weights=(resid * resid).ravel(), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = ss.reshape(n_draws, n_groups) / (counts - 1)
    return counts, means, var


def _welch_t(counts, means, var, treated, control):
    """Welch's t of every treated arm against the control, draw by draw.

    A zero standard error gives t = 0 when the means are equal and +-inf
    otherwise, so that ties and perfect separation stay comparable.
    """
    diff = means[:, treated] - means[:, [control]]
    se2 = (
        var[:, treated] / counts[:, treated] + var[:, [control]] / counts[:, [control]]
    )
    se = np.sqrt(se2)
    out = np.where(diff == 0, 0.0, np.copysign(np.inf, diff))
    np.divide(diff, se, out=out, where=se > 0)
    return out


@fill_doc
def lin_weights(X, L, n_groups, treated, control):
    """Weights of Lin's regression-adjusted effect estimates.

    Lin (2013): the OLS coefficient of the arm indicator in a regression of
    y on the arm indicators, the covariates centred at their overall mean and
    all their interactions. The fully interacted regression is a separate
    regression of y on the covariates in every arm, so the estimate of arm
    ``g`` is its fitted value at the overall covariate mean,
    ``mean_g(y) + (mean(x) - mean_g(x)) @ beta_g``, and the effect is the
    treated arm's minus the control's. Both are linear in y: the returned
    weights ``w`` give ``effect = w @ y`` for any outcome vector. A
    rank-deficient arm (a covariate constant within the arm, duplicated
    units in a bootstrap resample) uses the minimum-norm slopes.

    Parameters
    ----------
    X : ndarray of shape (n_draws, n_samples, n_features)
        Covariates of the units of every draw.
    L : ndarray of shape (n_draws, n_samples)
        Labels of every draw.
    %(compared_arms)s

    Returns
    -------
    weights : ndarray of shape (n_draws, n_comparisons, n_samples)
    """
    xbar = X.mean(axis=1)
    arm_weights = {}
    for g in {*treated.tolist(), control}:
        member = L == g
        n_g = member.sum(axis=1)
        xbar_g = np.einsum("bn,bnp->bp", member, X) / n_g[:, None]
        # Rows of other arms are zero, so the pseudo-inverse has zero columns
        # there: a batch of per-arm regressions with one shape for all draws.
        centred = member[..., None] * (X - xbar_g[:, None, :])
        slopes = np.linalg.pinv(centred)
        arm_weights[g] = member / n_g[:, None] + np.einsum(
            "bp,bpn->bn", xbar - xbar_g, slopes
        )
    return np.stack([arm_weights[k] - arm_weights[control] for k in treated], axis=1)


@fill_doc
class StatisticEvaluator:
    """The statistic of every comparison on a fixed set of assignments.

    Built once per set of assignments (the observed one, or all resamples);
    calling it with outcomes returns the statistics, so that the same
    assignments can be reused for many outcome vectors (as the inversion of
    the test for a confidence interval does).

    Parameters
    ----------
    statistic : {"mean_difference", "t", "regression_adjusted"} or callable
        The statistic; a callable is called as ``statistic(y_treated,
        y_control)`` and returns a float.
    labels : ndarray of shape (n_draws, n_samples)
        Assignments.
    %(compared_arms)s
    X : ndarray of shape (n_draws, n_samples, n_features) or None
        Covariates of every draw (``"regression_adjusted"`` only).
    """

    def __init__(self, statistic, labels, n_groups, treated, control, X=None):
        self.statistic = statistic
        self.labels = labels
        self.n_groups = n_groups
        self.treated = treated
        self.control = control
        self._weights = None
        if statistic == "regression_adjusted":
            self._weights = lin_weights(X, labels, n_groups, treated, control)

    def __call__(self, Y):
        """Statistics for outcomes ``Y`` (one row, or one row per draw).

        Parameters
        ----------
        Y : ndarray of shape (n_samples,) or (n_draws, n_samples)
            Outcomes.

        Returns
        -------
        values : ndarray of shape (n_draws, n_comparisons)
        """
        Y = np.broadcast_to(np.asarray(Y, dtype=np.float64), self.labels.shape)
        if self._weights is not None:
            return np.einsum("bmn,bn->bm", self._weights, Y)
        if self.statistic == "mean_difference":
            return self._mean_difference(Y)
        if self.statistic == "t":
            counts, means, var = group_moments(
                Y, self.labels, self.n_groups, variances=True
            )
            return _welch_t(counts, means, var, self.treated, self.control)
        return self._call_user(Y)

    def effect(self, Y):
        """Additive effect estimates in outcome units.

        Lin's estimate for ``"regression_adjusted"``, the difference in means
        otherwise: for the outcomes ``Y`` of :meth:`__call__`, an array of
        the same shape as its statistics, ``(n_draws, n_comparisons)``.
        """
        if self._weights is not None:
            return self(Y)
        Y = np.broadcast_to(np.asarray(Y, dtype=np.float64), self.labels.shape)
        return self._mean_difference(Y)

    def _mean_difference(self, Y):
        _, means = group_moments(Y, self.labels, self.n_groups)
        return means[:, self.treated] - means[:, [self.control]]

    def _call_user(self, Y):
        out = np.empty((self.labels.shape[0], self.treated.shape[0]))
        control_masks = self.labels == self.control
        for j, arm in enumerate(self.treated):
            arm_masks = self.labels == arm
            for b in range(out.shape[0]):
                value = self.statistic(Y[b, arm_masks[b]], Y[b, control_masks[b]])
                try:
                    out[b, j] = float(value)
                except (TypeError, ValueError) as err:
                    raise ValueError(
                        "A callable statistic must return one number for "
                        f"(y_treated, y_control); got {value!r}."
                    ) from err
        return out
